"""Configuration from environment variables, with defaults relative to the repo.

Every setting is documented in the README (a test checks that).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GEO_DIR = REPO_ROOT / "geo"
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

# name -> (default, description); the README's configuration table lists exactly these.
SETTINGS: dict[str, tuple[str, str]] = {
    "VEILIGHEID_WAREHOUSE": ("data/warehouse.duckdb", "Path of the DuckDB warehouse file."),
    "VEILIGHEID_INBOX": ("data/inbox", "Folder where the weekly extract files arrive."),
    "VEILIGHEID_PROCESSED": ("", "Folder for loaded files (default: `processed/` beside the inbox)."),
    "VEILIGHEID_REFUSED": ("", "Folder for refused files (default: `refused/` beside the inbox)."),
    "VEILIGHEID_MAX_BAD_ROWS_PCT": ("20", "A file with more bad rows than this percentage is refused whole."),
    "VEILIGHEID_KEEP_VERSIONS": ("4", "How many warehouse versions are kept for `restore`."),
    "VEILIGHEID_LOCK_TIMEOUT": ("600", "Seconds an ingest waits for another ingest to finish."),
    "VEILIGHEID_PORT": ("8501", "Port of the app started by run.sh (read by run.sh)."),
}


def _get(name: str) -> str:
    value = os.environ.get(name, "").strip()
    return value if value else SETTINGS[name][0]


def _path(value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p)


class ConfigError(ValueError):
    """A setting has a value that cannot be used (exit code 2)."""


@dataclass(frozen=True)
class Config:
    warehouse: Path
    inbox: Path
    processed: Path
    refused: Path
    max_bad_rows_pct: float
    keep_versions: int
    lock_timeout: float

    @classmethod
    def from_env(cls, warehouse: str | None = None, inbox: str | None = None) -> "Config":
        inbox_path = _path(inbox) if inbox else _path(_get("VEILIGHEID_INBOX"))
        processed = _get("VEILIGHEID_PROCESSED")
        refused = _get("VEILIGHEID_REFUSED")
        try:
            pct = float(_get("VEILIGHEID_MAX_BAD_ROWS_PCT").replace(",", "."))
            keep = int(_get("VEILIGHEID_KEEP_VERSIONS"))
            timeout = float(_get("VEILIGHEID_LOCK_TIMEOUT"))
        except ValueError as exc:
            raise ConfigError(f"ongeldige instelling: {exc}") from exc
        if not 0 <= pct <= 100:
            raise ConfigError("VEILIGHEID_MAX_BAD_ROWS_PCT moet tussen 0 en 100 liggen")
        if keep < 1:
            raise ConfigError("VEILIGHEID_KEEP_VERSIONS moet minstens 1 zijn")
        return cls(
            warehouse=_path(warehouse) if warehouse else _path(_get("VEILIGHEID_WAREHOUSE")),
            inbox=inbox_path,
            processed=_path(processed) if processed else inbox_path.parent / "processed",
            refused=_path(refused) if refused else inbox_path.parent / "refused",
            max_bad_rows_pct=pct,
            keep_versions=keep,
            lock_timeout=timeout,
        )

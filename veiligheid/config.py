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
# the source line under every map, chart page and export (CC BY 4.0 asks for it)
ATTRIBUTION = "Bron: CBS, PDOK (CC BY 4.0); incidenten: politie Oost-Nederland en gemeente."

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
    "VEILIGHEID_AUTH": ("lokaal", "Login: `lokaal` (local accounts) or `oidc` (OpenID Connect via `st.login`, see below)."),
    "VEILIGHEID_USERS": ("data/users.sqlite", "Local accounts (argon2 password hashes); outside the warehouse."),
    "VEILIGHEID_ROLE_MAP": (".streamlit/roles.toml", "OIDC: which user or group gets which role."),
    "VEILIGHEID_AUDIT_LOG": ("data/audit.jsonl", "The append-only audit log (logins, exports, refused access)."),
    "VEILIGHEID_AUDIT_KEY": ("", "Secret key file that seals every audit-log line (HMAC-SHA256); created on first use "
                             "(default: `audit.key` beside the log). Keep it where the log's readers cannot write."),
    "VEILIGHEID_IDLE_MINUTES": ("30", "A session ends after this many minutes without activity."),
    "VEILIGHEID_LOGIN_MAX_FAILURES": ("5", "Failed logins in a row before an account is locked."),
    "VEILIGHEID_LOCKOUT_MINUTES": ("15", "How long a locked account stays locked."),
    "VEILIGHEID_LOGIN_DELAY": ("1", "Seconds a failed login waits (doubling with each failure, at most 8 s)."),
    "VEILIGHEID_REGISTER": ("data/register.sqlite", "The priorities register of the wijkteams; outside the warehouse."),
    "VEILIGHEID_TEAMS": ("", "Optional TOML file grouping stadsdelen into teams (default: one team per stadsdeel)."),
    "VEILIGHEID_MIN_COUNT": ("5", "Disclosure control for the `wijkteam` role: counts below this are shown as `<5`."),
    "VEILIGHEID_MIN_COUNT_CYBER": ("10", "The same threshold for cybercrime victims (`<10`)."),
    "VEILIGHEID_MIN_COUNT_HENNEP": ("5", "The same threshold for hennep cases."),
    "VEILIGHEID_READ_MEMORY_MB": ("256", "Memory limit (MB) of the app's DuckDB per open warehouse version: what it "
                                 "read stays cached up to this limit."),
    "VEILIGHEID_WARMUP_SECONDS": ("60", "Every this many seconds the app looks for a new warehouse version and computes "
                                 "its slow figures (disclosure control of every period) before users ask; 0 = off."),
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


_MIN_COUNT_VARS = {"default": "VEILIGHEID_MIN_COUNT", "cyber": "VEILIGHEID_MIN_COUNT_CYBER",
                   "hennep": "VEILIGHEID_MIN_COUNT_HENNEP"}


def min_count(domain: str = "default") -> int:
    """Disclosure threshold for a kind of data; a bad value falls back to the safe default."""
    name = _MIN_COUNT_VARS[domain]
    try:
        value = int(_get(name))
    except ValueError:
        value = int(SETTINGS[name][0])
    return max(value, 1)


def setting(name: str) -> str:
    """The value of a setting (environment variable or its default)."""
    return _get(name)


def setting_path(name: str) -> Path:
    """A path setting, relative paths taken from the repo root."""
    return _path(_get(name))


def setting_number(name: str) -> float:
    """A numeric setting; a bad value falls back to the default (never crash the app on a typo)."""
    try:
        return float(_get(name).replace(",", "."))
    except ValueError:
        return float(SETTINGS[name][0])

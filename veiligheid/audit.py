"""The append-only audit log: logins (success and failure), exports and refused access.

One JSON object per line in VEILIGHEID_AUDIT_LOG (outside the warehouse, so the weekly ingest and
`restore` never touch it). Lines are only ever appended (O_APPEND, under an exclusive file lock,
fsynced), and every line carries the SHA-256 of the line before it, so an edited or deleted line
breaks the chain (`verify`). Every line is also sealed with an HMAC-SHA256 under a secret key
(VEILIGHEID_AUDIT_KEY, created on first use, mode 0600): without the key nobody can rewrite the log
and recompute the chain. Passwords are never passed to this module.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import pandas as pd

from .config import setting_path

EVENTS = {
    "login": "Ingelogd",
    "login_mislukt": "Inloggen mislukt",
    "login_geblokkeerd": "Inloggen geblokkeerd",
    "uitgelogd": "Uitgelogd",
    "sessie_verlopen": "Sessie verlopen",
    "export": "Export",
    "geweigerd": "Toegang geweigerd",
    "gebruikers": "Gebruikersbeheer",
    "prioriteit": "Prioriteitenregister",
}
GENESIS = "0" * 64


def log_path() -> Path:
    return setting_path("VEILIGHEID_AUDIT_LOG")


def key_path(log: Path | None = None) -> Path:
    p = setting_path("VEILIGHEID_AUDIT_KEY")
    return p if os.environ.get("VEILIGHEID_AUDIT_KEY") else (log or log_path()).with_name("audit.key")


def _key(log: Path | None = None) -> bytes:
    """The sealing key; made once (32 random bytes, hex, mode 0600; two processes at once: the first wins)."""
    p = key_path(log)
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
                f.flush()
                os.fsync(f.fileno())
        except FileExistsError:
            pass
    return p.read_text().strip().encode()


def _seal(record: dict, key: bytes) -> str:
    body = json.dumps({k: v for k, v in record.items() if k != "zegel"}, ensure_ascii=False, default=str,
                      sort_keys=True)
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def _last_hash(f) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    if size == 0:
        return GENESIS
    f.seek(max(0, size - 65536))
    tail = f.read().splitlines()
    return hashlib.sha256(tail[-1]).hexdigest() if tail else GENESIS


def log(event: str, user: str | None, role: str | None = None, path: Path | None = None, **details) -> None:
    """Append one event. details: what was exported, which filters, why access was refused, ..."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    if any("password" in k or "wachtwoord" in k for k in details):
        raise ValueError("passwords never go into the audit log")
    p = path or log_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    key = _key(p)
    fd = os.open(p, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(fd, "rb+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            record = {"tijd": dt.datetime.now().isoformat(timespec="seconds"), "gebeurtenis": event,
                      "gebruiker": user or "", "rol": role or "", "details": details, "vorige": _last_hash(f)}
            record = json.loads(json.dumps(record, ensure_ascii=False, default=str))  # as it will read back
            record["zegel"] = _seal(record, key)
            f.write((json.dumps(record, ensure_ascii=False, default=str, sort_keys=True) + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read(path: Path | None = None, limit: int | None = None) -> pd.DataFrame:
    """The log, newest first, as a table (tijd, gebeurtenis, gebruiker, rol, details as text)."""
    p = path or log_path()
    cols = ["tijd", "gebeurtenis", "gebruiker", "rol", "details"]
    if not p.exists():
        return pd.DataFrame(columns=cols)
    rows = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        rows.append({"tijd": pd.Timestamp(r["tijd"]), "gebeurtenis": EVENTS.get(r["gebeurtenis"], r["gebeurtenis"]),
                     "gebruiker": r.get("gebruiker", ""), "rol": r.get("rol", ""),
                     "details": "; ".join(f"{k}: {v}" for k, v in (r.get("details") or {}).items())})
    df = pd.DataFrame(rows, columns=cols).iloc[::-1].reset_index(drop=True)
    return df.head(limit) if limit else df


def verify(path: Path | None = None) -> tuple[bool, int | None]:
    """Check the hash chain and the seals: (True, None) when intact, else (False, number of the first broken
    line). Lines from before the seals (none carries one) are covered by the chain into the first sealed line;
    after a sealed line every line must be sealed."""
    p = path or log_path()
    if not p.exists():
        return True, None
    key = _key(p) if key_path(p).exists() else None
    prev, sealed = GENESIS, False
    for i, line in enumerate(p.read_bytes().splitlines(), start=1):
        try:
            r = json.loads(line)
        except ValueError:
            return False, i
        if r.get("vorige") != prev:
            return False, i
        if "zegel" in r or sealed:
            sealed = True
            if key is None or not hmac.compare_digest(str(r.get("zegel", "")), _seal(r, key)):
                return False, i
        prev = hashlib.sha256(line).hexdigest()
    return True, None

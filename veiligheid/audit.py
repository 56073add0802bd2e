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


class KeyMissing(RuntimeError):
    """The log has sealed lines but its key is gone: refuse to make a new one (every line would then fail)."""


def _read_key(p: Path) -> tuple[bytes, int]:
    """(key, number of log lines from before the key, which carry no seal)."""
    lines = p.read_text().split()
    if not lines or len(lines[0]) < 64:
        raise KeyMissing(f"audit key {p} is empty or damaged")
    return lines[0].encode(), int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else 0


def _key(log: Path) -> tuple[bytes, int]:
    """The sealing key, made once: 32 random bytes (hex, mode 0600) and the number of lines the log had then.
    Written to a temporary file and linked into place, so a second process or thread never reads a half-written
    key (the first link wins). A log with sealed lines and no key raises KeyMissing."""
    p = key_path(log)
    if not p.exists():
        lines = log.read_bytes().splitlines() if log.exists() else []
        if any(b'"zegel"' in line for line in lines):
            raise KeyMissing(f"the audit log {log} is sealed, but its key {p} is missing")
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{secrets.token_hex(32)}\n{len(lines)}\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, p)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return _read_key(p)


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
    try:
        key = _key(p)[0]
    except KeyMissing:  # never lose an event: written without a seal; verify() reports the missing key
        key = None
    fd = os.open(p, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(fd, "rb+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            record = {"tijd": dt.datetime.now().isoformat(timespec="seconds"), "gebeurtenis": event,
                      "gebruiker": user or "", "rol": role or "", "details": details, "vorige": _last_hash(f)}
            record = json.loads(json.dumps(record, ensure_ascii=False, default=str))  # as it will read back
            if key is not None:
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
    line); (False, 0) when the log is sealed but its key is missing. Only the lines the log had before its key
    was made may go without a seal (they are covered by the chain into the first sealed line)."""
    p = path or log_path()
    if not p.exists():
        return True, None
    lines = p.read_bytes().splitlines()
    if key_path(p).exists():
        try:
            key, unsealed = _read_key(key_path(p))
        except KeyMissing:
            return False, 0
    elif any(b'"zegel"' in line for line in lines):
        return False, 0
    else:  # a log from before the seals, never written since
        key, unsealed = None, len(lines)
    prev = GENESIS
    for i, line in enumerate(lines, start=1):
        try:
            r = json.loads(line)
        except ValueError:
            return False, i
        if r.get("vorige") != prev:
            return False, i
        if i > unsealed or "zegel" in r:
            if key is None or not hmac.compare_digest(str(r.get("zegel", "")), _seal(r, key)):
                return False, i
        prev = hashlib.sha256(line).hexdigest()
    return True, None

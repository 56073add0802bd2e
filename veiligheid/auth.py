"""Login: the gate in front of every page, local accounts, OpenID Connect and idle timeout.

Two ways in (VEILIGHEID_AUTH):
- `lokaal` (default): local accounts in a small SQLite file outside the warehouse (VEILIGHEID_USERS),
  passwords hashed with argon2id (argon2-cffi). Managed with `python -m pipelines users ...`.
- `oidc`: OpenID Connect through Streamlit's `st.login` (provider configured in .streamlit/secrets.toml,
  e.g. Microsoft Entra ID); the role comes from a mapping file (VEILIGHEID_ROLE_MAP): user or group -> role,
  and a wijkteam member's Veiliger Wijkteam from the same file ([teams.users], [teams.groups]).

A `wijkteam` account can belong to one Veiliger Wijkteam (the `team` column; `users add --team`, `users team`);
only then can it record and end that team's priorities (veiligheid.register.allowed_teams).

Failed logins wait longer with each failure and lock the account after VEILIGHEID_LOGIN_MAX_FAILURES;
a session ends after VEILIGHEID_IDLE_MINUTES without activity. Passwords never reach a log.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import sqlite3
import time
import tomllib
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import audit
from .access import ROLES, Viewer
from .config import setting, setting_number, setting_path

_LOG = logging.getLogger(__name__)
MIN_PASSWORD = 10
LAST_SEEN = "auth_last_seen"
NOTICE = "auth_notice"
_HASHER = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))  # unknown users cost the same time as known ones


class AuthError(ValueError):
    """A user-management command that cannot be carried out (Dutch message)."""


# ------------------------------------------------------------------ the account store
@dataclass(frozen=True)
class Account:
    name: str
    role: str
    disabled: bool
    failed: int
    locked_until: dt.datetime | None
    created_at: dt.datetime
    last_login: dt.datetime | None
    team: str | None = None  # the Veiliger Wijkteam (wijkteam accounts only)


@dataclass(frozen=True)
class LoginResult:
    viewer: Viewer | None
    message: str = ""  # Dutch, for the login form (never says whether the name exists)
    reason: str = ""  # for the audit log and tests, never shown: onbekend, wachtwoord, geblokkeerd, uitgeschakeld


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"het wachtwoord moet minstens {MIN_PASSWORD} tekens hebben")
    if password.strip() != password or not password.strip():
        raise AuthError("het wachtwoord mag niet met een spatie beginnen of eindigen")


class Users:
    """Local accounts in SQLite (one small file, safe for several app processes)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else setting_path("VEILIGHEID_USERS")

    def _con(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None, detect_types=0)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("""CREATE TABLE IF NOT EXISTS users (
            name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created_at TEXT NOT NULL, last_login TEXT,
            demo INTEGER NOT NULL DEFAULT 0, team TEXT)""")
        # files from before teams existed: add the column (another process may be doing the same right now)
        if "team" not in {r[1] for r in con.execute("PRAGMA table_info(users)")}:
            try:
                con.execute("ALTER TABLE users ADD COLUMN team TEXT")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc).lower():
                    raise
        # failures of names that are no account, by fingerprint: they slow down exactly like an account's
        con.execute("CREATE TABLE IF NOT EXISTS unknown_failures (fingerprint TEXT PRIMARY KEY, "
                    "failed INTEGER NOT NULL, last TEXT NOT NULL)")
        return con

    def exists(self) -> bool:
        return self.path.exists()

    def add(self, name: str, role: str, password: str, demo: bool = False, team: str | None = None) -> None:
        """A new account. team: the Veiliger Wijkteam of a wijkteam account (validated by the caller: the
        CLI checks it against the teams of the current areas)."""
        name = name.strip()
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise AuthError("een gebruikersnaam is 1 tot 64 tekens zonder spaties")
        if role not in ROLES:
            raise AuthError(f"onbekende rol {role!r}; kies uit {', '.join(ROLES)}")
        team = _team_value(role, team)
        check_password(password)
        with closing(self._con()) as con:
            try:
                con.execute("INSERT INTO users (name, role, hash, created_at, demo, team) VALUES (?, ?, ?, ?, ?, ?)",
                            [name, role, _HASHER.hash(password), _now().isoformat(), int(demo), team])
            except sqlite3.IntegrityError:
                raise AuthError(f"gebruiker {name} bestaat al") from None

    def set_team(self, name: str, team: str | None) -> str | None:
        """Link a wijkteam account to a Veiliger Wijkteam (None or empty: unlink). Returns the previous team.
        Takes effect at the account's next login."""
        with closing(self._con()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                row = con.execute("SELECT role, team FROM users WHERE name = ?", [name]).fetchone()
                if row is None:
                    raise AuthError(f"gebruiker {name} bestaat niet")
                con.execute("UPDATE users SET team = ? WHERE name = ?", [_team_value(row[0], team), name])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return row[1]

    def reset(self, name: str, password: str) -> None:
        check_password(password)
        with closing(self._con()) as con:
            n = con.execute("UPDATE users SET hash = ?, failed = 0, locked_until = NULL WHERE name = ?",
                            [_HASHER.hash(password), name]).rowcount
        if not n:
            raise AuthError(f"gebruiker {name} bestaat niet")

    def disable(self, name: str, disabled: bool = True) -> None:
        """Switch an account off (or on again with disabled=False; a password reset does not do that)."""
        with closing(self._con()) as con:
            n = con.execute("UPDATE users SET disabled = ? WHERE name = ?", [int(disabled), name]).rowcount
        if not n:
            raise AuthError(f"gebruiker {name} bestaat niet")

    def list(self) -> list[Account]:
        with closing(self._con()) as con:
            rows = con.execute("SELECT name, role, disabled, failed, locked_until, created_at, last_login, team "
                               "FROM users ORDER BY name").fetchall()
        return [Account(n, r, bool(d), f, _ts(lu), _ts(c), _ts(ll), t or None)
                for n, r, d, f, lu, c, ll, t in rows]

    def count(self) -> int:
        if not self.exists():
            return 0
        with closing(self._con()) as con:
            return con.execute("SELECT count(*) FROM users").fetchone()[0]

    def authenticate(self, name: str, password: str, sleep=time.sleep) -> LoginResult:
        """Check a login; counts failures, locks after too many, and slows every failure down.

        The read, the check and the update of the failure count are one IMMEDIATE transaction, so
        parallel attempts cannot slip past the lockout; the delay comes after the commit.
        """
        name = (name or "").strip()
        max_failures = int(setting_number("VEILIGHEID_LOGIN_MAX_FAILURES"))
        lock_minutes = setting_number("VEILIGHEID_LOCKOUT_MINUTES")
        # one answer for every refusal (unknown name, wrong password, locked, switched off): the form must
        # not tell whether an account exists; the audit log records the real reason
        wrong = LoginResult(None, "Onjuiste gebruikersnaam of wachtwoord. Na "
                                  f"{max_failures} mislukte pogingen wordt een account {fmt_minutes(lock_minutes)} "
                                  "geblokkeerd; lukt inloggen dan nog niet, vraag functioneel beheer om hulp.")
        delay = setting_number("VEILIGHEID_LOGIN_DELAY")
        wait = delay
        with closing(self._con()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                result, wait = self._check(con, name, password, wrong, max_failures, lock_minutes, delay)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        if result.viewer is None:
            sleep(wait)
        return result

    def _check(self, con, name, password, wrong, max_failures, lock_minutes, delay) -> tuple[LoginResult, float]:
        row = con.execute("SELECT role, hash, disabled, failed, locked_until, team FROM users WHERE name = ?",
                          [name]).fetchone()
        now = _now()

        def slower(failed: int) -> float:  # the same growth for every name, known or not
            return min(delay * 2 ** (max(failed, 1) - 1), 8.0)

        if row is None:
            _verify(_DUMMY_HASH, password)  # same cost as a real check: no user enumeration by timing
            fp = _masked(name)
            con.execute("INSERT INTO unknown_failures VALUES (?, 1, ?) ON CONFLICT (fingerprint) DO UPDATE "
                        "SET failed = failed + 1, last = excluded.last", [fp, now.isoformat()])
            failed = con.execute("SELECT failed FROM unknown_failures WHERE fingerprint = ?", [fp]).fetchone()[0]
            # never the typed name itself: it may be a password typed in the wrong field
            audit.log("login_mislukt", fp, None, reden="onbekende gebruiker")
            return replace(wrong, reason="onbekend"), slower(failed)
        role, hashed, disabled, failed, locked_until, team = row
        team = (team or None) if role == "wijkteam" else None
        locked = _ts(locked_until)
        if locked is not None and locked > now:
            _verify(_DUMMY_HASH, password)  # the same cost as any other answer
            failed += 1  # attempts while locked count too: the delay grows as for an unknown name
            con.execute("UPDATE users SET failed = ? WHERE name = ?", [failed, name])
            audit.log("login_geblokkeerd", name, role, reden="account tijdelijk geblokkeerd",
                      tot=locked.isoformat(timespec="minutes"))
            return replace(wrong, reason="geblokkeerd"), slower(failed)
        ok = _verify(hashed, password)
        if ok and not disabled:
            if _HASHER.check_needs_rehash(hashed):
                con.execute("UPDATE users SET hash = ? WHERE name = ?", [_HASHER.hash(password), name])
            con.execute("UPDATE users SET failed = 0, locked_until = NULL, last_login = ? WHERE name = ?",
                        [now.isoformat(), name])
            audit.log("login", name, role, methode="lokaal", **({"team": team} if team else {}))
            return LoginResult(Viewer(name, role, "lokaal", team=team)), 0.0
        if ok and disabled:
            audit.log("geweigerd", name, role, reden="account uitgeschakeld")
            return replace(wrong, reason="uitgeschakeld"), slower(failed + 1)
        failed += 1
        lock = now + dt.timedelta(minutes=lock_minutes) if failed >= max_failures else None
        con.execute("UPDATE users SET failed = ?, locked_until = ? WHERE name = ?",
                    [failed, lock.isoformat() if lock else None, name])
        audit.log("login_mislukt", name, role, reden="onjuist wachtwoord", pogingen=failed,
                  **({"geblokkeerd_tot": lock.isoformat(timespec="minutes")} if lock else {}))
        return replace(wrong, reason="geblokkeerd" if lock else "wachtwoord"), slower(failed)


def _team_value(role: str, team: str | None) -> str | None:
    """The team column's value: stripped, None for no team; only wijkteam accounts have one (analist and
    beheer record priorities for every team)."""
    team = str(team or "").strip() or None
    if team is not None and role != "wijkteam":
        raise AuthError(f"alleen een account met rol wijkteam hoort bij een Veiliger Wijkteam (deze heeft rol {role}; "
                        "analist en beheer leggen prioriteiten vast voor elk team)")
    return team


def fmt_minutes(m: float) -> str:
    return f"{int(m)} minuten" if m != 1 else "1 minuut"


def _masked(name: str) -> str:
    """An unknown login name in the audit log: a short fingerprint, not the text (it may be a password)."""
    return f"onbekend ({hashlib.sha256(name.encode('utf-8')).hexdigest()[:10]})" if name else "onbekend (leeg)"


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _ts(v) -> dt.datetime | None:
    return dt.datetime.fromisoformat(v) if v else None


def create_demo_accounts(users: Users | None = None, team: str | None = None) -> dict[str, tuple[str, str]]:
    """One demo account per role with a random password, only when there are no accounts yet.

    team: the Veiliger Wijkteam of demo-wijkteam (the caller picks one, e.g. the first by name).
    Returns {role: (name, password)} (empty when accounts exist); the caller prints them once.
    """
    users = users or Users()
    if users.count():
        return {}
    out = {}
    for role in ROLES:
        name, password = f"demo-{role}", secrets.token_urlsafe(12)
        users.add(name, role, password, demo=True, team=team if role == "wijkteam" else None)
        out[role] = (name, password)
    audit.log("gebruikers", "systeem", None, actie="demo-accounts aangemaakt", accounts=", ".join(n for n, _ in out.values()),
              **({"team_demo_wijkteam": team} if team else {}))
    return out


# ------------------------------------------------------------------ OIDC role mapping
def _role_map(mapping_file: Path | None) -> dict | None:
    path = mapping_file or setting_path("VEILIGHEID_ROLE_MAP")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None


def _table(mapping: dict, *keys: str) -> dict[str, object]:
    """A [section] (or [section.sub]) of the mapping, keys lower-cased; {} when missing or not a table."""
    t = mapping
    for k in keys:
        t = t.get(k) if isinstance(t, dict) else None
    return {str(k).lower(): v for k, v in t.items()} if isinstance(t, dict) else {}


def _user_matches(user: dict, table: dict[str, object]) -> list:
    return [table[str(user[k]).lower()] for k in ("email", "preferred_username", "sub")
            if user.get(k) and str(user[k]).lower() in table]


def _group_matches(user: dict, table: dict[str, object]) -> list:
    claim = user.get("groups") or []
    if isinstance(claim, str):
        claim = [claim]
    return [table[str(g).lower()] for g in claim if str(g).lower() in table]


def role_for_oidc(user: dict, mapping_file: Path | None = None) -> str | None:
    """The role of an OIDC user from the mapping file; the highest role wins; None = no access.

    The file (TOML):
        [users]                       # e-mail address (or the 'sub' claim) -> role
        "a.jansen@gemeente.nl" = "analist"
        [groups]                      # group id or name from the token's 'groups' claim -> role
        "3f2b...-entra-group-id" = "wijkteam"
    """
    mapping = _role_map(mapping_file)
    if mapping is None:
        return None
    found = _user_matches(user, _table(mapping, "users")) + _group_matches(user, _table(mapping, "groups"))
    rank = list(ROLES)
    found = [r for r in found if r in ROLES]
    return max(found, key=rank.index) if found else None


def oidc_team_candidates(user: dict, mapping_file: Path | None = None) -> list[str]:
    """The Veiliger Wijkteams the mapping file gives an OIDC user, at the level that decides:

        [teams.users]                 # e-mail address (or preferred_username, sub) -> team name
        "a.jansen@gemeente.nl" = "Veiliger Wijkteam Oost"
        [teams.groups]                # group id or name from the 'groups' claim -> team name
        "3f2b...-entra-group-id" = "Veiliger Wijkteam Centrum-Oost"

    Rule: a [teams.users] entry names the user personally and wins over any group; without one, the groups
    decide. Returns the distinct team names of that level (case kept from the file, duplicates that differ
    only in case counted once): one = the team, none = no team, more = ambiguous (see team_for_oidc)."""
    mapping = _role_map(mapping_file)
    if mapping is None:
        return []
    for found in (_user_matches(user, _table(mapping, "teams", "users")),
                  _group_matches(user, _table(mapping, "teams", "groups"))):
        names: dict[str, str] = {}
        for t in found:
            if isinstance(t, str) and t.strip():
                names.setdefault(t.strip().casefold(), t.strip())
        if names:
            return list(names.values())
    return []


def team_for_oidc(user: dict, mapping_file: Path | None = None) -> str | None:
    """The Veiliger Wijkteam of an OIDC user, or None: no match, or several teams at the deciding level
    (ambiguous: the user gets no team rather than a guessed one; the login logs the candidates)."""
    found = oidc_team_candidates(user, mapping_file)
    return found[0] if len(found) == 1 else None


# ------------------------------------------------------------------ the Streamlit gate
def mode() -> str:
    m = setting("VEILIGHEID_AUTH").strip().lower()
    return m if m in ("lokaal", "oidc") else "lokaal"


def idle_seconds() -> float:
    return max(setting_number("VEILIGHEID_IDLE_MINUTES"), 1.0) * 60


def current() -> Viewer | None:
    """The logged-in viewer of this session, or None (ends the session after the idle timeout). Renders nothing."""
    import streamlit as st

    from .ui import VIEWER

    v = st.session_state.get(VIEWER)
    if not isinstance(v, Viewer):
        return None
    now = time.time()
    last = st.session_state.get(LAST_SEEN, 0.0)
    if now - last > idle_seconds():
        audit.log("sessie_verlopen", v.user, v.role, minuten_inactief=round((now - last) / 60))
        _logout(st, f"Uw sessie is verlopen na {fmt_minutes(idle_seconds() // 60)} zonder activiteit. Log opnieuw in.")
        if v.method == "oidc":  # else the identity cookie would log the user straight back in
            st.logout()
        return None
    st.session_state[LAST_SEEN] = now
    return v


def gate() -> Viewer:
    """Return the logged-in viewer, or render only the login and stop the script run."""
    import streamlit as st

    from .ui import VIEWER

    v = current()
    if v is not None:
        return v
    now = time.time()
    if mode() == "oidc":
        v = _oidc_gate(st)
        if v is not None:
            st.session_state[VIEWER] = v
            st.session_state[LAST_SEEN] = now
            return v
    else:
        _login_form(st)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def _login_page_header(st) -> None:
    st.title("Dashboards Veiligheid")
    st.markdown("De dashboards tonen politie- en gemeentegegevens die onder het convenant vallen. "
                "**Log in** om verder te gaan.")
    if st.session_state.get(NOTICE):
        st.info(st.session_state[NOTICE], icon=":material/schedule:")


def _login_form(st) -> None:
    from .ui import VIEWER

    _login_page_header(st)
    with st.form("login", clear_on_submit=False, width=420):
        name = st.text_input("Gebruikersnaam", autocomplete="username")
        password = st.text_input("Wachtwoord", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Inloggen", type="primary")
    if submitted:
        result = Users().authenticate(name, password)
        if result.viewer is not None:
            st.session_state[VIEWER] = result.viewer
            st.session_state[LAST_SEEN] = time.time()
            st.session_state.pop(NOTICE, None)
            st.rerun()
        st.error(result.message, icon=":material/lock:")
    st.caption("Geen account of wachtwoord vergeten? Functioneel beheer maakt accounts aan en zet wachtwoorden "
               "terug (`python -m pipelines users`).")


def _oidc_gate(st) -> Viewer | None:
    user = st.user
    if not user.is_logged_in:
        _login_page_header(st)
        st.button("Inloggen met uw organisatie-account", type="primary", on_click=st.login)
        return None
    info = user.to_dict()
    who = str(info.get("email") or info.get("preferred_username") or info.get("sub") or "onbekend")
    role = role_for_oidc(info)
    if role is None:
        if not st.session_state.get("auth_refused_logged"):
            audit.log("geweigerd", who, None, reden="geen rol in de rollentabel", methode="oidc")
            st.session_state["auth_refused_logged"] = True
        _login_page_header(st)
        st.error(f"U bent aangemeld als {who}, maar uw account heeft geen rol voor deze dashboards. "
                 "Vraag functioneel beheer om toegang.", icon=":material/block:")
        st.button("Afmelden", on_click=st.logout)
        return None
    team = None
    details: dict[str, str] = {}
    if role == "wijkteam":  # analist and beheer act for every team: a team would mean nothing
        candidates = oidc_team_candidates(info)
        if len(candidates) == 1:
            team = details["team"] = candidates[0]
        elif candidates:
            details["team_onduidelijk"] = "; ".join(sorted(candidates))
            _LOG.warning("OIDC user %s matches several teams (%s): no team", who, details["team_onduidelijk"])
    audit.log("login", who, role, methode="oidc", **details)
    return Viewer(who, role, "oidc", str(info.get("name") or ""), team=team)


def _logout(st, notice: str | None = None) -> None:
    from .ui import VIEWER

    keep = {}
    for k in list(st.session_state.keys()):
        del st.session_state[k]
    st.session_state.update(keep)
    if notice:
        st.session_state[NOTICE] = notice
    st.session_state.pop(VIEWER, None)


def idle_watch() -> None:
    """End an idle session also when nobody touches the page: a fragment checks every minute (or every half idle time), and once the
    idle time is over it reruns the app, whose gate then logs out and shows only the login (the figures
    leave the screen). Its own runs do not count as activity."""
    import streamlit as st

    @st.fragment(run_every=min(60.0, idle_seconds() / 2))
    def _watch() -> None:
        if time.time() - st.session_state.get(LAST_SEEN, 0.0) > idle_seconds():
            st.rerun(scope="app")

    _watch()


def account_sidebar(v: Viewer) -> None:
    """Who is logged in, and the logout button."""
    import streamlit as st

    st.sidebar.divider()
    st.sidebar.caption(f"Ingelogd als **{v.label}**")
    if st.sidebar.button("Uitloggen", icon=":material/logout:", key="auth_logout"):
        audit.log("uitgelogd", v.user, v.role)
        _logout(st, "U bent uitgelogd.")
        if v.method == "oidc":
            st.logout()
        st.rerun()

"""Local accounts, password hashing, lockout, the users CLI, OIDC role mapping and the audit log."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest_app import app_warehouse, demo_warehouse  # noqa: F401  (fixtures)
from veiligheid import audit
from veiligheid.auth import AuthError, Users, create_demo_accounts, role_for_oidc

REPO = Path(__file__).resolve().parent.parent
GOOD = "een-lang-wachtwoord"


@pytest.fixture
def users(tmp_path, monkeypatch) -> Users:
    monkeypatch.setenv("VEILIGHEID_USERS", str(tmp_path / "users.sqlite"))
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("VEILIGHEID_LOGIN_DELAY", "1")
    monkeypatch.setenv("VEILIGHEID_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("VEILIGHEID_LOCKOUT_MINUTES", "15")
    return Users()


def test_passwords_are_stored_as_argon2_hashes(users, tmp_path):
    users.add("anna", "analist", GOOD)
    raw = (tmp_path / "users.sqlite").read_bytes()
    assert GOOD.encode() not in raw
    import sqlite3
    h = sqlite3.connect(tmp_path / "users.sqlite").execute("SELECT hash FROM users").fetchone()[0]
    assert h.startswith("$argon2id$")
    ok = users.authenticate("anna", GOOD, sleep=lambda s: None)
    assert ok.viewer is not None and ok.viewer.role == "analist" and ok.viewer.user == "anna"


def test_rules_for_accounts(users):
    with pytest.raises(AuthError, match="minstens 10"):
        users.add("bob", "wijkteam", "kort")
    with pytest.raises(AuthError, match="onbekende rol"):
        users.add("bob", "baas", GOOD)
    users.add("bob", "wijkteam", GOOD)
    with pytest.raises(AuthError, match="bestaat al"):
        users.add("bob", "analist", GOOD)
    with pytest.raises(AuthError, match="bestaat niet"):
        users.disable("niemand")


def test_failed_logins_slow_down_and_lock_out(users, tmp_path):
    users.add("anna", "analist", GOOD)
    waits = []
    for i in range(3):
        r = users.authenticate("anna", f"fout-wachtwoord-{i}", sleep=waits.append)
        assert r.viewer is None
    assert waits == [1, 2, 4]  # doubling delay
    assert r.reason == "geblokkeerd" and "geblokkeerd" in r.message  # the message names the rule, for everyone
    # locked: even the right password is refused now, with the same answer as any refusal
    r = users.authenticate("anna", GOOD, sleep=waits.append)
    assert r.viewer is None and r.reason == "geblokkeerd"
    assert r.message == users.authenticate("niemand", GOOD, sleep=lambda s: None).message
    assert users.list()[0].locked_until is not None
    # a reset by beheer lifts the lock
    users.reset("anna", "nog-een-ander-wachtwoord")
    assert users.authenticate("anna", "nog-een-ander-wachtwoord", sleep=lambda s: None).viewer is not None
    assert users.authenticate("anna", GOOD, sleep=lambda s: None).viewer is None  # old password gone


def test_lock_expires(users, monkeypatch):
    users.add("anna", "analist", GOOD)
    for i in range(3):
        users.authenticate("anna", "fout-wachtwoord", sleep=lambda s: None)
    import veiligheid.auth as auth
    later = dt.datetime.now() + dt.timedelta(minutes=16)
    monkeypatch.setattr(auth, "_now", lambda: later.replace(microsecond=0))
    assert users.authenticate("anna", GOOD, sleep=lambda s: None).viewer is not None


def test_unknown_user_and_wrong_password_get_the_same_answer(users):
    users.add("anna", "analist", GOOD)
    a = users.authenticate("anna", "verkeerd-wachtwoord", sleep=lambda s: None)
    b = users.authenticate("onbekend", "verkeerd-wachtwoord", sleep=lambda s: None)
    assert a.message == b.message and a.message.startswith("Onjuiste gebruikersnaam of wachtwoord.")
    assert (a.reason, b.reason) == ("wachtwoord", "onbekend")


def test_unknown_names_slow_down_like_accounts(users):
    """The delay may not tell a known name from an unknown one: both double per failure."""
    users.add("anna", "analist", GOOD)
    known, unknown = [], []
    for i in range(4):
        users.authenticate("anna", f"fout-{i}-wachtwoord", sleep=known.append)
        users.authenticate("bestaat-niet", f"fout-{i}-wachtwoord", sleep=unknown.append)
    assert known == unknown == [1, 2, 4, 8]


def test_disabled_account_cannot_log_in(users):
    users.add("anna", "analist", GOOD)
    users.disable("anna")
    r = users.authenticate("anna", GOOD, sleep=lambda s: None)
    assert r.viewer is None and r.reason == "uitgeschakeld"
    assert r.message == users.authenticate("niemand", GOOD, sleep=lambda s: None).message  # no hint it exists
    users.reset("anna", "nog-een-ander-wachtwoord")  # a new password does not switch it back on
    assert users.authenticate("anna", "nog-een-ander-wachtwoord", sleep=lambda s: None).viewer is None
    users.disable("anna", disabled=False)
    assert users.authenticate("anna", "nog-een-ander-wachtwoord", sleep=lambda s: None).viewer is not None


def test_audit_log_records_logins_without_passwords(users, tmp_path):
    users.add("anna", "analist", GOOD)
    users.authenticate("anna", GOOD, sleep=lambda s: None)
    users.authenticate("anna", "Geheim-Fout-123", sleep=lambda s: None)
    text = (tmp_path / "audit.jsonl").read_text()
    assert GOOD not in text and "Geheim-Fout-123" not in text
    events = [json.loads(line)["gebeurtenis"] for line in text.splitlines()]
    assert events == ["login", "login_mislukt"]
    with pytest.raises(ValueError):
        audit.log("export", "anna", "analist", wachtwoord="x")


def test_audit_log_is_a_hash_chain(tmp_path):
    p = tmp_path / "audit.jsonl"
    for i in range(4):
        audit.log("export", f"user{i}", "analist", path=p, wat="tabel")
    assert audit.verify(p) == (True, None)
    lines = p.read_text().splitlines()
    lines[1] = lines[1].replace("user1", "iemand-anders")  # tampering with one line...
    p.write_text("\n".join(lines) + "\n")
    assert audit.verify(p) == (False, 3)  # ...breaks the chain at the next line
    del lines[1]
    p.write_text("\n".join(lines) + "\n")
    assert audit.verify(p)[0] is False  # so does deleting one
    assert list(audit.read(p)["gebruiker"])[:1] == ["user3"]  # newest first


def test_demo_accounts_once(users):
    created = create_demo_accounts(users)
    assert set(created) == {"wijkteam", "analist", "beheer"}
    for role, (name, password) in created.items():
        assert users.authenticate(name, password, sleep=lambda s: None).viewer.role == role
    assert create_demo_accounts(users) == {}  # never again, never printed again


def _cli(args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "pipelines", *args], input=stdin, text=True, capture_output=True,
                          cwd=REPO, env=env, timeout=120)


def test_users_cli(tmp_path):
    import os
    env = dict(os.environ, VEILIGHEID_USERS=str(tmp_path / "u.sqlite"), VEILIGHEID_AUDIT_LOG=str(tmp_path / "a.jsonl"))
    r = _cli(["users", "add", "kees", "--role", "wijkteam"], env, GOOD + "\n")
    assert r.returncode == 0, r.stderr
    assert GOOD not in r.stdout + r.stderr
    # the password is never an argument
    r = _cli(["users", "add", "kees2", "--role", "wijkteam", "--password", GOOD], env)
    assert r.returncode == 2
    r = _cli(["users", "add", "piet", "--role", "wijkteam"], env, "kort\n")
    assert r.returncode == 2 and "minstens 10" in r.stderr
    r = _cli(["users", "list"], env)
    assert "kees" in r.stdout and "wijkteam" in r.stdout and "actief" in r.stdout and "piet" not in r.stdout
    assert _cli(["users", "disable", "kees"], env).returncode == 0
    assert "uitgeschakeld" in _cli(["users", "list"], env).stdout
    assert _cli(["users", "reset", "kees"], env, "nieuw-wachtwoord-1\n").returncode == 0
    assert "uitgeschakeld" in _cli(["users", "list"], env).stdout  # a reset does not switch it back on
    assert _cli(["users", "enable", "kees"], env).returncode == 0
    assert "actief" in _cli(["users", "list"], env).stdout
    assert _cli(["users", "disable", "niemand"], env).returncode == 2
    log = (tmp_path / "a.jsonl").read_text()
    assert "account aangemaakt" in log and GOOD not in log


def test_oidc_role_mapping(tmp_path):
    f = tmp_path / "roles.toml"
    f.write_text('[users]\n"A.Jansen@gemeente.example" = "analist"\n'
                 '[groups]\n"grp-wijkteam" = "wijkteam"\n"grp-beheer" = "beheer"\n"grp-raar" = "baas"\n')
    assert role_for_oidc({"email": "a.jansen@gemeente.example"}, f) == "analist"
    assert role_for_oidc({"email": "x@y", "groups": ["grp-wijkteam"]}, f) == "wijkteam"
    assert role_for_oidc({"email": "a.jansen@gemeente.example", "groups": ["grp-beheer"]}, f) == "beheer"  # highest
    assert role_for_oidc({"email": "x@y", "groups": ["grp-raar"]}, f) is None  # unknown role: no access
    assert role_for_oidc({"email": "x@y"}, f) is None
    assert role_for_oidc({"email": "a.jansen@gemeente.example"}, tmp_path / "missing.toml") is None
    (tmp_path / "bad.toml").write_text("[users\n")
    assert role_for_oidc({"email": "a.jansen@gemeente.example"}, tmp_path / "bad.toml") is None


def test_first_run_prints_demo_accounts_once(app_warehouse):
    """run.sh's `firstrun` on a demo warehouse without accounts: one account per role, shown once."""
    import os
    env = dict(os.environ)
    r = _cli(["firstrun"], env)
    assert r.returncode == 0, r.stderr
    assert "DEMO-ACCOUNTS" in r.stdout
    lines = [line for line in r.stdout.splitlines() if "wachtwoord" in line and "gebruiker demo-" in line]
    assert len(lines) == 3
    name, password = lines[0].split("gebruiker ")[1].split()[0], lines[0].split("wachtwoord ")[1].strip()
    assert Users().authenticate(name, password, sleep=lambda s: None).viewer is not None
    again = _cli(["firstrun"], env)
    assert again.returncode == 0 and "DEMO-ACCOUNTS" not in again.stdout and password not in again.stdout
    assert password not in Path(os.environ["VEILIGHEID_AUDIT_LOG"]).read_text()


def test_parallel_wrong_passwords_still_lock_the_account(users, monkeypatch):
    """Read, check and count are one transaction: 20 simultaneous guesses cannot slip past the lockout."""
    from concurrent.futures import ThreadPoolExecutor

    users.add("anna", "analist", GOOD)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: users.authenticate("anna", f"fout-{i}-wachtwoord", sleep=lambda s: None),
                                range(20)))
    assert all(r.viewer is None for r in results)
    account = users.list()[0]
    assert account.locked_until is not None and account.failed == 20  # locked at the 3rd; the rest refused, counted
    assert sum(r.reason == "geblokkeerd" for r in results) == 18  # the 3rd locked it, 17 came after


def test_unknown_login_names_are_not_logged_verbatim(users, tmp_path):
    users.authenticate("MijnGeheimeWachtwoord!", "x", sleep=lambda s: None)  # a password typed in the name field
    text = (tmp_path / "audit.jsonl").read_text()
    assert "MijnGeheimeWachtwoord" not in text and "onbekend (" in text

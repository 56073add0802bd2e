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
from veiligheid.auth import (AuthError, Users, create_demo_accounts, oidc_team_candidates, role_for_oidc,
                             team_for_oidc)

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
    assert audit.verify(p) == (False, 2)  # ...breaks its seal (and the chain at the next line)
    del lines[1]
    p.write_text("\n".join(lines) + "\n")
    assert audit.verify(p)[0] is False  # so does deleting one
    assert list(audit.read(p)["gebruiker"])[:1] == ["user3"]  # newest first


def test_audit_log_lines_are_sealed_with_a_secret_key(tmp_path):
    """Rewriting a line and recomputing the whole chain (possible without a key) still fails: each line carries
    an HMAC under a key the writer of the log made (mode 0600), which a forger does not have."""
    import hashlib
    import stat

    p = tmp_path / "audit.jsonl"
    for i in range(3):
        audit.log("export", f"user{i}", "analist", path=p, wat="tabel")
    key = audit.key_path(p)
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().split()[0]) == 64
    assert audit.verify(p) == (True, None)
    records = [json.loads(line) for line in p.read_text().splitlines()]
    assert all(len(r["zegel"]) == 64 for r in records)

    def rewrite(recs, seal=True):  # the forger's tool: recompute every 'vorige'
        prev, lines = audit.GENESIS, []
        for r in recs:
            r = {k: v for k, v in r.items() if seal or k != "zegel"}
            r["vorige"] = prev
            line = json.dumps(r, ensure_ascii=False, sort_keys=True)
            lines.append(line)
            prev = hashlib.sha256(line.encode()).hexdigest()
        p.write_text("\n".join(lines) + "\n")

    records[1]["gebruiker"] = "iemand-anders"
    rewrite(records)
    assert audit.verify(p) == (False, 2)  # the chain is whole again, but not the seal of the edited line
    rewrite(records[1:], seal=False)  # dropping the first line and every seal does not help either
    assert audit.verify(p) == (False, 1)


def test_audit_key_is_made_once_and_a_lost_key_is_reported_not_replaced(tmp_path):
    import hashlib
    import threading

    # many first uses at once: one key, and every line verifies with it
    p = tmp_path / "audit.jsonl"
    threads = [threading.Thread(target=audit.log, args=("export", f"u{i}", "analist"), kwargs={"path": p, "wat": "x"})
               for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert audit.verify(p) == (True, None) and len(p.read_text().splitlines()) == 12
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".audit.key")]  # no temporary key left
    # the key is lost: no new key is made, the event is still written (unsealed), verify says so (line 0)
    audit.key_path(p).unlink()
    audit.log("export", "u99", "analist", path=p, wat="x")
    assert not audit.key_path(p).exists() and "u99" in p.read_text()
    assert audit.verify(p) == (False, 0)
    # a log from before the seals still verifies by its chain; its old lines stay unsealed, new ones are sealed
    old = tmp_path / "oud" / "audit.jsonl"
    old.parent.mkdir()
    prev, lines = audit.GENESIS, []
    for i in range(2):
        line = json.dumps({"tijd": "2026-11-01T10:00:00", "gebeurtenis": "login", "gebruiker": f"u{i}", "rol": "",
                           "details": {}, "vorige": prev}, sort_keys=True)
        lines.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    old.write_text("\n".join(lines) + "\n")
    assert audit.verify(old) == (True, None)
    audit.log("export", "u9", "analist", path=old, wat="tabel")
    assert audit.verify(old) == (True, None) and "zegel" in old.read_text().splitlines()[-1]
    assert audit.key_path(old).read_text().split()[1] == "2"  # the two old lines may go without a seal


def test_demo_accounts_once(users):
    created = create_demo_accounts(users, team="Veiliger Wijkteam Centrum")
    assert set(created) == {"wijkteam", "analist", "beheer"}
    for role, (name, password) in created.items():
        v = users.authenticate(name, password, sleep=lambda s: None).viewer
        assert v.role == role
        assert v.team == ("Veiliger Wijkteam Centrum" if role == "wijkteam" else None)  # only wijkteam has a team
    assert create_demo_accounts(users) == {}  # never again, never printed again


def test_accounts_carry_a_team(users):
    users.add("kees", "wijkteam", GOOD, team="  Veiliger Wijkteam Oost ")
    users.add("jan", "wijkteam", GOOD)
    with pytest.raises(AuthError, match="alleen een account met rol wijkteam"):
        users.add("anna", "analist", GOOD, team="Veiliger Wijkteam Oost")
    assert {a.name: a.team for a in users.list()} == {"kees": "Veiliger Wijkteam Oost", "jan": None}
    kees = users.authenticate("kees", GOOD, sleep=lambda s: None).viewer
    assert kees.team == "Veiliger Wijkteam Oost" and kees.label == "kees (wijkteam, Veiliger Wijkteam Oost)"
    jan = users.authenticate("jan", GOOD, sleep=lambda s: None).viewer
    assert jan.team is None and jan.label == "jan (wijkteam)"
    assert users.set_team("jan", "Veiliger Wijkteam Zuid") is None  # returns the previous team
    assert users.set_team("kees", "") == "Veiliger Wijkteam Oost"  # empty: unlinked
    assert {a.name: a.team for a in users.list()} == {"kees": None, "jan": "Veiliger Wijkteam Zuid"}
    assert users.authenticate("jan", GOOD, sleep=lambda s: None).viewer.team == "Veiliger Wijkteam Zuid"
    with pytest.raises(AuthError, match="bestaat niet"):
        users.set_team("niemand", "Veiliger Wijkteam Zuid")


OLD_USERS_TABLE = """CREATE TABLE users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created_at TEXT NOT NULL, last_login TEXT,
    demo INTEGER NOT NULL DEFAULT 0)"""


def test_an_accounts_file_from_before_teams_is_migrated(tmp_path, monkeypatch):
    """A users file without the team column keeps its accounts and passwords and gets the column."""
    import sqlite3

    from argon2 import PasswordHasher
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(OLD_USERS_TABLE)
        con.execute("INSERT INTO users (name, role, hash, created_at) VALUES ('oud', 'wijkteam', ?, "
                    "'2025-01-01T09:00:00')", [PasswordHasher().hash(GOOD)])
    con.close()
    users = Users(path)
    assert [(a.name, a.role, a.team) for a in users.list()] == [("oud", "wijkteam", None)]
    with sqlite3.connect(path) as con:
        assert "team" in [r[1] for r in con.execute("PRAGMA table_info(users)")]
    con.close()
    assert users.authenticate("oud", GOOD, sleep=lambda s: None).viewer.team is None
    users.set_team("oud", "Veiliger Wijkteam Noord")
    assert Users(path).authenticate("oud", GOOD, sleep=lambda s: None).viewer.team == "Veiliger Wijkteam Noord"
    assert len(Users(path).list()) == 1  # opening it again migrates nothing twice


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


def _team_env(tmp_path):
    import os
    # no warehouse at this path: the CLI checks teams against the bundled reference areas in geo/
    return dict(os.environ, VEILIGHEID_USERS=str(tmp_path / "u.sqlite"), VEILIGHEID_AUDIT_LOG=str(tmp_path / "a.jsonl"),
                VEILIGHEID_WAREHOUSE=str(tmp_path / "geen-warehouse.duckdb"), VEILIGHEID_TEAMS="")


def test_users_cli_teams(tmp_path):
    env = _team_env(tmp_path)
    r = _cli(["users", "add", "kees", "--role", "wijkteam", "--team", "Veiliger Wijkteam Centrum"], env, GOOD + "\n")
    assert r.returncode == 0, r.stderr
    assert "team Veiliger Wijkteam Centrum" in r.stdout
    # a stadsdeel name or a CBS wijkcode resolves to its team
    assert _cli(["users", "add", "jan", "--role", "wijkteam", "--team", "dukenburg"], env, GOOD + "\n").returncode == 0
    assert _cli(["users", "add", "piet", "--role", "wijkteam", "--team", "WK026809"], env, GOOD + "\n").returncode == 0
    # an unknown team is refused in Dutch, with the teams to choose from, and no account is made
    r = _cli(["users", "add", "truus", "--role", "wijkteam", "--team", "Veiliger Wijkteam Atlantis"], env, GOOD + "\n")
    assert r.returncode == 2
    assert "onbekend team 'Veiliger Wijkteam Atlantis'" in r.stderr and "Veiliger Wijkteam Oost" in r.stderr
    r = _cli(["users", "add", "anna", "--role", "analist", "--team", "Centrum"], env, GOOD + "\n")
    assert r.returncode == 2 and "alleen bij rol wijkteam" in r.stderr
    # without a team: allowed, with a warning what it cannot do
    r = _cli(["users", "add", "bob", "--role", "wijkteam"], env, GOOD + "\n")
    assert r.returncode == 0 and "geen prioriteiten vastleggen" in r.stdout
    rows = {line.split()[0]: line for line in _cli(["users", "list"], env).stdout.splitlines()}
    assert set(rows) == {"kees", "jan", "piet", "bob"}
    assert "Veiliger Wijkteam Centrum" in rows["kees"] and "Veiliger Wijkteam Dukenburg" in rows["jan"]
    assert "Veiliger Wijkteam Noord" in rows["piet"] and "geen team" in rows["bob"]
    # change, refuse an unknown one (nothing changes), unlink
    r = _cli(["users", "team", "bob", "Oud-West"], env)
    assert r.returncode == 0 and "Veiliger Wijkteam Oud-West" in r.stdout
    r = _cli(["users", "team", "kees", "Atlantis"], env)
    assert r.returncode == 2 and "onbekend team 'Atlantis'" in r.stderr
    assert _cli(["users", "team", "jan", "--geen"], env).returncode == 0
    assert _cli(["users", "team", "piet", ""], env).returncode == 0
    assert _cli(["users", "team", "piet"], env).returncode == 2  # neither a team nor --geen
    assert _cli(["users", "team", "niemand", "Centrum"], env).returncode == 2
    assert {a.name: a.team for a in Users(tmp_path / "u.sqlite").list()} == {
        "kees": "Veiliger Wijkteam Centrum", "jan": None, "piet": None, "bob": "Veiliger Wijkteam Oud-West"}
    # every change is in the audit log, with the team before and after
    events = [json.loads(line)["details"] for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert {"account": "kees", "actie": "account aangemaakt", "rol": "wijkteam",
            "team": "Veiliger Wijkteam Centrum"} in events
    assert {"account": "bob", "actie": "team gewijzigd", "team": "Veiliger Wijkteam Oud-West", "vorig_team": ""} in events
    assert {"account": "jan", "actie": "team ontkoppeld", "team": "", "vorig_team": "Veiliger Wijkteam Dukenburg"} in events
    assert not [e for e in events if e.get("account") in ("truus", "anna")]


def test_users_cli_teams_follow_the_teams_file_and_the_warehouse(tmp_path, demo_warehouse):  # noqa: F811
    env = _team_env(tmp_path)
    teams = tmp_path / "teams.toml"
    teams.write_text('[[team]]\nnaam = "Veiliger Wijkteam Zuid-West"\nstadsdelen = ["Dukenburg", "Lindenholt"]\n',
                     encoding="utf-8")
    env["VEILIGHEID_TEAMS"] = str(teams)
    env["VEILIGHEID_WAREHOUSE"] = str(demo_warehouse)  # read-only: the areas the app shows
    r = _cli(["users", "add", "kees", "--role", "wijkteam", "--team", "Lindenholt"], env, GOOD + "\n")
    assert r.returncode == 0 and "team Veiliger Wijkteam Zuid-West" in r.stdout, r.stderr
    r = _cli(["users", "team", "kees", "Veiliger Wijkteam Dukenburg"], env)  # grouped away by the file
    assert r.returncode == 2 and "onbekend team" in r.stderr
    teams.write_text("[[team]\n", encoding="utf-8")  # an unusable teams file: nothing is guessed
    r = _cli(["users", "team", "kees", "Centrum"], env)
    assert r.returncode == 2 and "teambestand" in r.stderr
    assert Users(tmp_path / "u.sqlite").list()[0].team == "Veiliger Wijkteam Zuid-West"


def test_oidc_team_mapping(tmp_path):
    f = tmp_path / "roles.toml"
    f.write_text('[groups]\n"grp-wijkteam" = "wijkteam"\n'
                 '[teams.users]\n"K.Kok@gemeente.example" = "Veiliger Wijkteam Zuid"\n'
                 '[teams.groups]\n"grp-oost" = "Veiliger Wijkteam Oost"\n"grp-centrum" = "Veiliger Wijkteam Centrum"\n'
                 '"grp-oost-2" = "veiliger wijkteam oost"\n')
    assert team_for_oidc({"email": "x@y", "groups": ["grp-wijkteam", "grp-oost"]}, f) == "Veiliger Wijkteam Oost"
    assert team_for_oidc({"email": "x@y", "groups": ["grp-oost", "grp-oost-2"]}, f) == "Veiliger Wijkteam Oost"  # same team
    # two different teams: ambiguous, so none (the login logs both)
    both = {"email": "x@y", "groups": ["grp-oost", "grp-centrum"]}
    assert team_for_oidc(both, f) is None
    assert sorted(oidc_team_candidates(both, f)) == ["Veiliger Wijkteam Centrum", "Veiliger Wijkteam Oost"]
    # a personal entry wins over the groups (also over two of them)
    assert team_for_oidc({"email": "k.kok@gemeente.example", "groups": ["grp-oost", "grp-centrum"]}, f) == \
        "Veiliger Wijkteam Zuid"
    assert team_for_oidc({"preferred_username": "K.KOK@gemeente.example"}, f) == "Veiliger Wijkteam Zuid"
    assert team_for_oidc({"email": "x@y", "groups": ["grp-wijkteam"]}, f) is None  # a role, no team
    assert team_for_oidc({"email": "x@y", "groups": "grp-centrum"}, f) == "Veiliger Wijkteam Centrum"  # one group as text
    assert team_for_oidc({"email": "x@y", "groups": ["grp-oost"]}, tmp_path / "missing.toml") is None
    # the role table is untouched by the team tables
    assert role_for_oidc({"email": "k.kok@gemeente.example"}, f) is None
    assert role_for_oidc({"email": "x@y", "groups": ["grp-wijkteam", "grp-oost"]}, f) == "wijkteam"


def test_oidc_login_gives_the_viewer_its_team_and_logs_ambiguity(app_warehouse, tmp_path, monkeypatch):  # noqa: F811
    from streamlit.testing.v1 import AppTest

    from veiligheid.ui import VIEWER
    roles = tmp_path / "roles.toml"
    roles.write_text('[groups]\n"grp-wijkteam" = "wijkteam"\n"grp-analist" = "analist"\n'
                     '[teams.groups]\n"grp-oost" = "Veiliger Wijkteam Oost"\n"grp-zuid" = "Veiliger Wijkteam Zuid"\n')
    monkeypatch.setenv("VEILIGHEID_AUTH", "oidc")
    monkeypatch.setenv("VEILIGHEID_ROLE_MAP", str(roles))

    def login(groups):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
        at.user = {"is_logged_in": True, "email": "w@gemeente.example", "groups": groups}
        return at.run()

    at = login(["grp-wijkteam", "grp-oost"])
    assert not at.exception and at.session_state[VIEWER].team == "Veiliger Wijkteam Oost"
    assert any("(wijkteam, Veiliger Wijkteam Oost)" in c.value for c in at.sidebar.caption)
    assert json.loads(audit.log_path().read_text().splitlines()[-1])["details"]["team"] == "Veiliger Wijkteam Oost"
    at = login(["grp-wijkteam", "grp-oost", "grp-zuid"])
    assert not at.exception and at.session_state[VIEWER].team is None
    last = json.loads(audit.log_path().read_text().splitlines()[-1])
    assert last["gebeurtenis"] == "login"
    assert last["details"]["team_onduidelijk"] == "Veiliger Wijkteam Oost; Veiliger Wijkteam Zuid"
    at = login(["grp-analist", "grp-oost"])  # analist: acts for every team, so no team
    assert at.session_state[VIEWER].role == "analist" and at.session_state[VIEWER].team is None


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
    # demo-wijkteam belongs to the first team by name (one team per stadsdeel: Centrum), and says so
    assert "demo-wijkteam hoort bij Veiliger Wijkteam Centrum" in r.stdout
    assert {a.name: a.team for a in Users().list()} == {"demo-wijkteam": "Veiliger Wijkteam Centrum",
                                                       "demo-analist": None, "demo-beheer": None}
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

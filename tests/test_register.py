"""The priorities register (SQLite outside the warehouse), the results of a priority (difference-in-
differences, by hand), the grouping of stadsdelen into teams, and the page's register tab (AppTest)."""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import sqlite3
from pathlib import Path

import duckdb
import pytest
import streamlit

from conftest import write
from pipelines.ingest import run_ingest
from tests.conftest_app import app_test, app_warehouse, demo_warehouse  # noqa: F401  (fixtures)
from veiligheid import disclosure
from veiligheid import register as R
from veiligheid import teams as T
from veiligheid.warehouse import connect_readonly

PAGE = "views/prioriteiten.py"
D = dt.date


# ------------------------------------------------------------------ the register
def test_create_list_end(tmp_path):
    reg = R.Register(tmp_path / "sub" / "register.sqlite")  # created on first use, folder included
    a = reg.add("Veiliger Wijkteam Oost", "incidenten:Fietsdiefstal", "stadsdeel", "WK026802", D(2026, 7, 1), None,
                "  Extra fietscontroles bij het station.  ", "jan", allowed_teams=None)
    b = reg.add("Veiliger Wijkteam Oost", "registraties:Jeugdoverlast", "wijk", "BU02680204", D(2026, 12, 1),
                D(2027, 3, 31), "", "piet", allowed_teams=None)
    c = reg.add("Veiliger Wijkteam Zuid", "incidenten:Woninginbraak", "stadsdeel", "WK026806", D(2026, 1, 1),
                D(2026, 6, 30), "donkere dagen", "kees", allowed_teams=None)
    assert (a, b, c) == (1, 2, 3)
    today = D(2026, 11, 28)
    oost = reg.list("Veiliger Wijkteam Oost", today=today)
    assert list(oost["id"]) == [2, 1]  # newest start first
    assert list(oost["status"]) == ["gepland", "actief"]
    assert oost.set_index("id").at[1, "note"] == "Extra fietscontroles bij het station."  # trimmed
    assert oost.set_index("id").at[1, "recorded_by"] == "jan" and oost.set_index("id").at[1, "end_date"] is None
    everything = reg.list(today=today)
    assert len(everything) == 3 and everything.set_index("id").at[3, "status"] == "afgelopen"
    reg.end(1, D(2026, 11, 1), "marie", allowed_teams=None)
    row = reg.list(today=today).set_index("id").loc[1]
    assert row["end_date"] == D(2026, 11, 1) and row["ended_by"] == "marie" and row["ended_at"]
    assert row["status"] == "beëindigd"
    with pytest.raises(R.RegisterError, match="al beëindigd"):
        reg.end(1, D(2026, 11, 2), "marie", allowed_teams=None)
    with pytest.raises(R.RegisterError, match="vóór de startdatum"):
        reg.end(2, D(2026, 11, 1), "marie", allowed_teams=None)
    with pytest.raises(R.RegisterError, match="bestaat niet"):
        reg.end(99, D(2026, 11, 1), "marie", allowed_teams=None)


def test_a_wijkteam_member_acts_only_for_their_own_team(tmp_path):
    """The team comes from who the user is (Viewer.team), not from the stadsdeel being viewed; the data layer
    refuses any other team (not only the page's buttons). An analist acts for every team."""
    from veiligheid.access import Viewer
    reg = R.Register(tmp_path / "register.sqlite")
    wijkteam = Viewer("w", "wijkteam", team="Veiliger Wijkteam Oost")
    analist = Viewer("a", "analist")
    # viewing Zuid's stadsdeel changes nothing: still only Oost
    oost = R.allowed_teams(wijkteam, "Veiliger Wijkteam Zuid")
    assert oost == R.allowed_teams(wijkteam) == frozenset({"Veiliger Wijkteam Oost"})
    assert R.allowed_teams(analist, "Veiliger Wijkteam Oost") is None
    assert R.may_act(wijkteam, "Veiliger Wijkteam Oost") and R.may_act(wijkteam, " veiliger wijkteam oost ")
    assert not R.may_act(wijkteam, "Veiliger Wijkteam Zuid") and R.may_act(analist, "Veiliger Wijkteam Zuid")
    with pytest.raises(R.RegisterError, match=r"alleen prioriteiten van uw eigen team vastleggen "
                                              r"\(Veiliger Wijkteam Oost\), niet van Veiliger Wijkteam Zuid"):
        reg.add("Veiliger Wijkteam Zuid", "incidenten:Geweld", "stadsdeel", "WK026806", D(2026, 7, 1), None, "",
                "w", allowed_teams=R.allowed_teams(wijkteam, "Veiliger Wijkteam Zuid"))
    assert reg.list().empty  # nothing written
    own = reg.add("Veiliger Wijkteam Oost", "incidenten:Geweld", "stadsdeel", "WK026802", D(2026, 7, 1), None, "",
                  "w", allowed_teams=oost)
    zuid = reg.add("Veiliger Wijkteam Zuid", "incidenten:Geweld", "stadsdeel", "WK026806", D(2026, 7, 1), None, "",
                   "a", allowed_teams=R.allowed_teams(analist, "Veiliger Wijkteam Oost"))
    with pytest.raises(R.RegisterError, match="alleen prioriteiten van uw eigen team beëindigen"):
        reg.end(zuid, D(2026, 9, 1), "w", allowed_teams=R.allowed_teams(wijkteam, "Veiliger Wijkteam Zuid"))
    assert reg.list().set_index("id").at[zuid, "ended_at"] is None  # not ended
    reg.end(own, D(2026, 9, 1), "w", allowed_teams=oost)
    reg.end(zuid, D(2026, 9, 1), "a", allowed_teams=None)
    ended = reg.list().set_index("id")
    assert ended.at[own, "ended_by"] == "w" and ended.at[zuid, "ended_by"] == "a"
    with pytest.raises(TypeError):  # the check cannot be forgotten: allowed_teams is required
        reg.add("Veiliger Wijkteam Oost", "incidenten:Geweld", "stadsdeel", "WK026802", D(2026, 7, 1), None, "", "w")


def test_a_wijkteam_member_without_a_team_records_and_ends_nothing(tmp_path):
    from veiligheid.access import Viewer
    reg = R.Register(tmp_path / "register.sqlite")
    nobody = Viewer("w", "wijkteam")
    assert Viewer("w", "wijkteam", team="  ").team is None  # an empty team is no team
    assert R.allowed_teams(nobody, "Veiliger Wijkteam Oost") == frozenset()  # not None: None would mean "all"
    assert not R.may_act(nobody, "Veiliger Wijkteam Oost")
    with pytest.raises(R.RegisterError, match="niet aan een Veiliger Wijkteam gekoppeld"):
        reg.add("Veiliger Wijkteam Oost", "incidenten:Geweld", "stadsdeel", "WK026802", D(2026, 7, 1), None, "",
                "w", allowed_teams=R.allowed_teams(nobody, "Veiliger Wijkteam Oost"))
    assert reg.list().empty
    pid = reg.add("Veiliger Wijkteam Oost", "incidenten:Geweld", "stadsdeel", "WK026802", D(2026, 7, 1), None, "",
                  "a", allowed_teams=None)
    with pytest.raises(R.RegisterError, match="niet aan een Veiliger Wijkteam gekoppeld"):
        reg.end(pid, D(2026, 9, 1), "w", allowed_teams=R.allowed_teams(nobody))
    assert reg.get(pid)["ended_at"] is None


@pytest.mark.parametrize("kwargs, message", [
    ({"team": ""}, "team"),
    ({"theme": " "}, "thema"),
    ({"area_level": "buurt"}, "stadsdeel of een wijk"),
    ({"area_code": ""}, "gebied"),
    ({"end_date": D(2026, 6, 1)}, "vóór de startdatum"),
    ({"note": "x" * (R.NOTE_MAX + 1)}, "te lang"),
    ({"recorded_by": ""}, "Onbekend wie"),
])
def test_bad_input_is_refused_in_dutch(tmp_path, kwargs, message):
    reg = R.Register(tmp_path / "register.sqlite")
    args = dict(team="T", theme="incidenten:Geweld", area_level="stadsdeel", area_code="WK026801",
                start_date=D(2026, 7, 1), end_date=None, note="", recorded_by="jan")
    args.update(kwargs)
    with pytest.raises(R.RegisterError, match=message):
        reg.add(**args, allowed_teams=None)
    assert reg.list().empty  # nothing half-written


def test_survives_a_restart_with_schema_version_and_wal(tmp_path):
    path = tmp_path / "register.sqlite"
    first = R.Register(path)
    pid = first.add("T", "incidenten:Geweld", "stadsdeel", "WK026801", D(2026, 7, 1), None, "n", "jan", allowed_teams=None)
    del first
    again = R.Register(path)  # a new process would do exactly this
    assert again.get(pid)["theme"] == "incidenten:Geweld"
    assert again.schema_version() == R.SCHEMA_VERSION == 1
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        cols = [r[1] for r in con.execute("PRAGMA table_info(priorities)")]
    assert cols == R.COLUMNS
    # a register from a newer app version is refused, not damaged
    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO schema_version VALUES (2, 'later')")
    with pytest.raises(R.RegisterError, match="schemaversie 2"):
        R.Register(path).list()


def _files(path: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(path.parent.glob(path.name + "*"))}


def test_weekly_ingest_never_touches_the_register(env):
    """The register lives beside the warehouse (the default layout: data/) and survives ingests untouched."""
    path = env.warehouse.parent / "register.sqlite"
    reg = R.Register(path)
    pid = reg.add("T", "incidenten:Woninginbraak", "wijk", "BU02680101", D(2024, 10, 28), None, "", "jan", allowed_teams=None)
    before = _files(path)
    assert list(before) == ["register.sqlite"]  # WAL checkpointed and closed: one file at rest
    write(env.inbox, "incidenten_2024-W47.csv", "registratienummer;pleegdatum;soort_code;buurtcode\n"
                                                 "A1;01-11-2024;1.1.1;BU02680101\n")
    assert run_ingest(env).exit_code == 0
    write(env.inbox, "incidenten_2024-W48.csv", "registratienummer;pleegdatum;soort_code;buurtcode\n"
                                                 "A2;25-11-2024;1.1.1;BU02680101\n")
    assert run_ingest(env).exit_code == 0
    assert _files(path) == before
    assert R.Register(path).get(pid)["area_code"] == "BU02680101"


# ------------------------------------------------------------------ results: difference-in-differences by hand
def test_windows_by_hand():
    before, after = R.windows(D(2024, 10, 28), None, D(2024, 1, 1), D(2024, 11, 24))
    assert after == (D(2024, 10, 28), D(2024, 11, 24)) and before == (D(2024, 9, 30), D(2024, 10, 27))  # 28 days each
    before, after = R.windows(D(2024, 10, 28), D(2024, 11, 10), None, D(2024, 11, 24))  # ended: 14 days
    assert after == (D(2024, 10, 28), D(2024, 11, 10)) and before == (D(2024, 10, 14), D(2024, 10, 27))
    before, _ = R.windows(D(2024, 10, 28), None, D(2024, 10, 1), D(2024, 11, 24))  # data start later
    assert before == (D(2024, 10, 1), D(2024, 10, 27))


def test_difference_in_differences_known_counts():
    # area 40 -> 20, rest 1000 -> 1000 over equal windows: RRR = (20/40) / (1000/1000) = 0.5
    # se = sqrt(1/40 + 1/20 + 1/1000 + 1/1000) = sqrt(0.077) = 0.27749; CI = 0.5 exp(-/+ 1.96 x 0.27749)
    ca, cr, ratio, lo, hi = R.did(40, 20, 1000, 1000, 28, 28)
    assert ca == pytest.approx(-0.5) and cr == pytest.approx(0.0) and ratio == pytest.approx(0.5)
    se = math.sqrt(0.077)
    assert lo == pytest.approx(0.5 * math.exp(-1.959964 * se), rel=1e-5) and lo == pytest.approx(0.29023, abs=1e-4)
    assert hi == pytest.approx(0.5 * math.exp(1.959964 * se), rel=1e-5) and hi == pytest.approx(0.86136, abs=1e-4)
    # unequal windows: the changes are per day, the ratio does not depend on the lengths
    ca, _, ratio2, _, _ = R.did(40, 20, 1000, 1000, 28, 14)
    assert ca == pytest.approx(0.0) and ratio2 == pytest.approx(0.5)
    # a zero count: 0.5 added to all four (Haldane): (0.5/20.5) / (1000.5/1000.5)
    _, _, ratio0, _, _ = R.did(20, 0, 1000, 1000, 28, 28)
    assert ratio0 == pytest.approx(0.5 / 20.5)


@pytest.mark.parametrize("counts, status, verdict", [
    ((40, 20, 1000, 1000), "beter", "daling, terwijl de rest van de stad gelijk bleef of steeg"),
    # RRR 0.625, se 0.199: 95 % up to 0.92
    ((80, 40, 1000, 800), "beter", "daling groter dan in de rest van de stad"),
    # RRR 0.75, se 0.135: up to 0.98
    ((100, 150, 1000, 2000), "beter", "minder stijging dan in de rest van de stad"),
    ((20, 40, 1000, 1000), "slechter", "stijging, terwijl de rest van de stad gelijk bleef of daalde"),
    # RRR 1.67, se 0.178: from 1.18
    ((50, 100, 1000, 1200), "slechter", "stijging groter dan in de rest van de stad"),
    # RRR 1.5, se 0.162: from 1.09
    ((100, 75, 1000, 500), "slechter", "minder daling dan in de rest van de stad"),
    # the same fall as the rest of the city would need a much bigger difference to count
    ((40, 20, 1000, 800), "geen_verschil", "geen duidelijk verschil met de rest van de stad"),
    ((40, 36, 1000, 1000), "geen_verschil", "geen duidelijk verschil met de rest van de stad"),
    ((4, 5, 1000, 1000), "te_weinig", "te weinig meldingen"),
])
def test_verdict_in_plain_dutch(counts, status, verdict):
    before, after = (D(2024, 9, 30), D(2024, 10, 27)), (D(2024, 10, 28), D(2024, 11, 24))
    r = R.assess(*counts, before, after, D(2024, 10, 28), D(2024, 11, 24))
    assert r.status == status and r.verdict.startswith(verdict)


def test_too_early_and_not_started():
    r = R.assess(5, 5, 100, 100, (D(2024, 11, 4), D(2024, 11, 13)), (D(2024, 11, 14), D(2024, 11, 24)),
                 D(2024, 11, 14), D(2024, 11, 24))
    assert r.status == "te_vroeg" and "nog te vroeg" in r.verdict and "11 dagen" in r.verdict
    r = R.assess(0, 0, 0, 0, (D(2025, 1, 1),) * 2, (D(2025, 1, 1),) * 2, D(2025, 1, 1), D(2024, 11, 24))
    assert r.status == "niet_begonnen" and "nog te vroeg" in r.verdict
    r = R.assess(10, 10, 100, 100, (D(2024, 10, 20), D(2024, 10, 27)), (D(2024, 10, 28), D(2024, 11, 24)),
                 D(2024, 10, 28), D(2024, 11, 24))
    assert r.status == "geen_voorperiode"


def test_shown_hides_small_counts_and_what_follows_from_them():
    before, after = (D(2024, 9, 30), D(2024, 10, 27)), (D(2024, 10, 28), D(2024, 11, 24))
    r = R.assess(12, 3, 1000, 1000, before, after, D(2024, 10, 28), D(2024, 11, 24))
    assert r.has_estimate
    wijkteam = R.shown(r, disclosure.Policy(5, True))
    assert wijkteam["Hier (voor → na)"] == "12 → <5"
    assert wijkteam["Verschil met de rest van de stad"] == "–" and "te kleine aantallen" in wijkteam["Resultaat"]
    early = R.assess(2, 1, 100, 100, (D(2024, 11, 4), D(2024, 11, 13)), (D(2024, 11, 14), D(2024, 11, 24)),
                     D(2024, 11, 14), D(2024, 11, 24))
    shown_early = R.shown(early, disclosure.Policy(5, True))
    assert shown_early["Resultaat"].startswith("nog te vroeg") and shown_early["Hier (voor → na)"] == "<5 → <5"
    analist = R.shown(r, disclosure.Policy(5, False))
    assert analist["Hier (voor → na)"] == "12 → 3 (−75%)"
    assert analist["Verschil met de rest van de stad"].startswith("−75% (95%-interval ")
    assert analist["Resultaat"] == r.verdict


def test_result_counts_from_a_warehouse(env):
    head = "registratienummer;pleegdatum;soort_code;buurtcode;status\n"
    rows = [
        ("A1", "01-10-2024", "1.1.1", "BU02680101", "actief"),     # area (Stadscentrum), before
        ("A2", "20-10-2024", "1.1.1", "BU02680101", "actief"),     # area, before
        ("A3", "01-11-2024", "1.1.1", "BU02680101", "actief"),     # area, after
        ("A4", "02-11-2024", "1.1.1", "BU02680101", "actief"),     # area, after
        ("A5", "20-11-2024", "1.1.1", "BU02680101", "actief"),     # area, after
        ("A6", "21-11-2024", "1.1.1", "BU02680101", "vervallen"),  # withdrawn: never counted
        ("A7", "22-11-2024", "1.4.5", "BU02680101", "actief"),     # another theme
        ("A8", "05-10-2024", "1.1.1", "BU02680100", "actief"),     # Benedenstad (same stadsdeel): rest, before
        ("A9", "10-10-2024", "1.1.1", "BU02680202", "actief"),     # Oost: rest, before
        ("B1", "19-11-2024", "1.1.1", "BU02680202", "actief"),     # rest, after
        ("B2", "15-09-2024", "1.1.1", "BU02680101", "actief"),     # before the before-window
    ]
    write(env.inbox, "incidenten_2024-W47.csv", head + "".join(";".join(r) + "\n" for r in rows))
    write(env.inbox, "registraties_2024-W47.csv",
          "registratie_id;datum;bron;categorie;buurtcode\n"
          "R1;01-10-2024;MOR;Jeugdoverlast;BU02680101\nR2;01-11-2024;MOR;Jeugdoverlast;BU02680101\n"
          "R3;02-11-2024;BOA;Jeugdoverlast;BU02680101\nR4;03-11-2024;MOR;Afval en dumping;BU02680101\n"
          "R5;04-11-2024;MOR;Jeugdoverlast;BU02680202\n")
    assert run_ingest(env).exit_code == 0
    before, after = R.windows(D(2024, 10, 28), None, None, D(2024, 11, 24))
    con = connect_readonly(env.warehouse)
    try:
        assert R.result_counts(con, "incidenten:Woninginbraak", "wijk", "BU02680101", before, after) == (2, 3, 2, 1)
        assert R.result_counts(con, "incidenten:Woninginbraak", "stadsdeel", "WK026801", before, after) == (3, 3, 1, 1)
        assert R.result_counts(con, "registraties:Jeugdoverlast", "wijk", "BU02680101", before, after) == (1, 2, 0, 1)
        r = R.result(con, "incidenten:Woninginbraak", "wijk", "BU02680101", D(2024, 10, 28), None, None,
                     D(2024, 11, 24))
        assert (r.area_before, r.area_after, r.rest_before, r.rest_after) == (2, 3, 2, 1)
        assert r.status == "te_weinig"  # 5 in the area: too few to say anything
    finally:
        con.close()


# ------------------------------------------------------------------ teams
STADSDELEN = {"WK026801": "Centrum", "WK026802": "Oost", "WK026807": "Dukenburg", "WK026808": "Lindenholt"}


def test_default_one_team_per_stadsdeel():
    teams = T.default(STADSDELEN)
    assert [t.naam for t in teams] == ["Veiliger Wijkteam Centrum", "Veiliger Wijkteam Dukenburg",
                                       "Veiliger Wijkteam Lindenholt", "Veiliger Wijkteam Oost"]
    assert T.team_of(teams, "WK026808").stadsdelen == ("WK026808",)


def test_teams_file_groups_stadsdelen(tmp_path):
    f = tmp_path / "teams.toml"
    f.write_text('[[team]]\nnaam = "Veiliger Wijkteam Dukenburg-Lindenholt"\nstadsdelen = ["Dukenburg", "WK026808"]\n',
                 encoding="utf-8")
    teams, warning = T.load(STADSDELEN, f)
    assert warning is None
    assert teams[0] == T.Team("Veiliger Wijkteam Dukenburg-Lindenholt", ("WK026807", "WK026808"))
    assert T.team_of(teams, "WK026808").naam == "Veiliger Wijkteam Dukenburg-Lindenholt"
    assert T.team_of(teams, "WK026801").naam == "Veiliger Wijkteam Centrum"  # not named: a team of its own
    assert T.load(STADSDELEN, "") == (T.default(STADSDELEN), None)


def test_a_team_by_name_stadsdeel_or_code(tmp_path):
    f = tmp_path / "teams.toml"
    f.write_text('[[team]]\nnaam = "Veiliger Wijkteam Zuid-West"\nstadsdelen = ["Lindenholt", "Dukenburg"]\n',
                 encoding="utf-8")
    teams, _ = T.load(STADSDELEN, f)
    zw = T.Team("Veiliger Wijkteam Zuid-West", ("WK026808", "WK026807"))  # the file's order
    assert T.find(teams, " veiliger wijkteam zuid-west ") == zw and T.find(teams, "Zuid-West") is None
    assert T.find(teams, None) is None and T.find(teams, "") is None
    for text in ("Veiliger Wijkteam Zuid-West", "dukenburg", "Lindenholt", "wk026807"):
        assert T.resolve(teams, STADSDELEN, text) == zw, text
    assert T.resolve(teams, STADSDELEN, "oost").naam == "Veiliger Wijkteam Oost"
    assert T.resolve(teams, STADSDELEN, "Veiliger Wijkteam Dukenburg") is None  # grouped away by the file
    assert T.resolve(teams, STADSDELEN, "Atlantis") is None and T.resolve(teams, STADSDELEN, "") is None


def test_reference_stadsdelen_without_a_warehouse_come_from_geo(tmp_path):
    sds, source = T.reference_stadsdelen(tmp_path / "geen.duckdb")
    # geo/*_stadsdelen.csv: 9 CBS wijken, each its own stadsdeel
    assert len(sds) == 9 and sds["WK026801"] == "Centrum" and sds["WK026807"] == "Dukenburg"
    assert "meegeleverde" in source


@pytest.mark.parametrize("text, reason", [
    ("[[team]\nnaam = 'x'", "geen geldige TOML"),
    ("titel = 'teams'", "geen enkel [[team]]"),
    ("[[team]]\nstadsdelen = ['Oost']", "geen naam"),
    ("[[team]]\nnaam = 'A'\nstadsdelen = 'Oost'", "geen lijst stadsdelen"),
    ("[[team]]\nnaam = 'A'\nstadsdelen = ['Hatert-Noord']", "onbekend stadsdeel: 'Hatert-Noord'"),
    ("[[team]]\nnaam = 'A'\nstadsdelen = ['Oost']\n[[team]]\nnaam = 'B'\nstadsdelen = ['WK026802']",
     "stadsdeel Oost staat bij twee teams"),
    ("[[team]]\nnaam = 'A'\nstadsdelen = ['Oost']\n[[team]]\nnaam = 'a'\nstadsdelen = ['Centrum']", "twee keer"),
])
def test_a_bad_teams_file_falls_back_with_a_clear_message(tmp_path, text, reason):
    f = tmp_path / "teams.toml"
    f.write_text(text, encoding="utf-8")
    teams, warning = T.load(STADSDELEN, f)
    assert teams == T.default(STADSDELEN)
    assert warning.startswith("Het teambestand teams.toml (VEILIGHEID_TEAMS) is niet bruikbaar: ")
    assert reason in warning and "Elk stadsdeel is nu een eigen team" in warning


def test_a_missing_teams_file_falls_back(tmp_path):
    teams, warning = T.load(STADSDELEN, tmp_path / "bestaat-niet.toml")
    assert teams == T.default(STADSDELEN) and "bestaat niet" in warning


# ------------------------------------------------------------------ the page: record, end, export; no warehouse write
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_page_records_and_ends_priorities_without_writing_the_warehouse(app_warehouse, monkeypatch,  # noqa: F811
                                                                         tmp_path):
    reg_path = tmp_path / "register.sqlite"
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(reg_path))
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    opened: list[tuple] = []
    original = duckdb.connect

    def spy(database=":memory:", read_only=False, *args, **kwargs):
        opened.append((str(database), read_only))
        return original(database, read_only, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", spy)
    streamlit.cache_resource.clear()  # every warehouse connection of this test is opened under the spy
    wh_before = _sha(app_warehouse)
    at = app_test("wijkteam", page=PAGE, team="Veiliger Wijkteam Dukenburg", stadsdeel="WK026807")
    _ok(at)
    assert any("nog geen prioriteiten" in i.value for i in at.info)
    at.text_area[0].input("Extra toezicht rond het winkelcentrum op vrijdagavond.")
    next(b for b in at.button if b.label == "Prioriteit vastleggen").click().run()
    _ok(at)
    assert any("vastgelegd" in s.value for s in at.success)
    rows = R.Register(reg_path).list()
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["team"] == "Veiliger Wijkteam Dukenburg" and row["recorded_by"] == "test-wijkteam"
    assert row["area_level"] == "stadsdeel" and row["area_code"] == "WK026807" and row["start_date"] == dt.date.today()
    assert row["note"] == "Extra toezicht rond het winkelcentrum op vrijdagavond."
    shown = next(d.value for d in at.dataframe if "Resultaat" in d.value.columns and "Team" not in d.value.columns)
    assert len(shown) == 1 and "nog te vroeg" in shown.iloc[0]["Resultaat"]
    # end it
    next(b for b in at.button if b.label == "Beëindigen").click().run()
    _ok(at)
    row = R.Register(reg_path).list().iloc[0]
    assert row["ended_by"] == "test-wijkteam" and row["end_date"] == dt.date.today()
    # the overview of all teams, exportable (CSV through the audited download)
    overview = next(d.value for d in at.dataframe if "Team" in d.value.columns and "Resultaat" in d.value.columns)
    assert list(overview["Team"]) == ["Veiliger Wijkteam Dukenburg"]
    assert any(b.proto.label == "Download overzicht (CSV)" for b in at.get("download_button"))
    # the warehouse was only ever opened read-only, and is byte for byte what it was
    mine = [o for o in opened if Path(o[0]).resolve().parent == app_warehouse.resolve().parent
            or app_warehouse.name in o[0]]
    assert mine, opened
    assert all(ro for _, ro in mine), mine
    assert _sha(app_warehouse) == wh_before
    streamlit.cache_resource.clear()


def _buttons(at) -> list[str]:
    return [b.label for b in at.button]


def test_page_wijkteam_records_only_for_its_own_team(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    """Team A (Dukenburg) sees Zuid's priorities read-only, with a line why and no form; on its own stadsdeel it
    records, for its own team. Who the user is decides, not the stadsdeel on screen."""
    reg_path = tmp_path / "register.sqlite"
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(reg_path))
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    zuid = R.Register(reg_path).add("Veiliger Wijkteam Zuid", "incidenten:Fietsdiefstal", "stadsdeel", "WK026806",
                                    dt.date.today(), None, "fietsen", "analist-1", allowed_teams=None)
    at = app_test("wijkteam", page=PAGE, team="Veiliger Wijkteam Dukenburg", stadsdeel="WK026806")
    _ok(at)
    assert "Stadsdeel Zuid" in "\n".join(m.value for m in at.markdown)  # may view another team's stadsdeel
    shown = next(d.value for d in at.dataframe if "Resultaat" in d.value.columns and "Team" not in d.value.columns)
    assert list(shown["Nr"]) == [zuid]  # Zuid's list, read-only
    assert any(i.value == "U kunt alleen prioriteiten vastleggen voor uw eigen team, Veiliger Wijkteam Dukenburg."
               for i in at.info)
    assert "Prioriteit vastleggen" not in _buttons(at) and "Beëindigen" not in _buttons(at)
    assert not at.text_area  # no form at all
    assert any("Ingelogd als **test-wijkteam (wijkteam, Veiliger Wijkteam Dukenburg)**" in c.value
               for c in at.sidebar.caption)
    # one click to the own team's stadsdeel: the form is there and records for Dukenburg
    at.button(key="prio_naar_eigen_team").click().run()
    _ok(at)
    assert at.session_state["filters"].stadsdeel == "WK026807"
    assert "Stadsdeel Dukenburg" in "\n".join(m.value for m in at.markdown)
    assert not any("alleen prioriteiten vastleggen" in i.value for i in at.info)
    at.text_area[0].input("Eigen team.")
    next(b for b in at.button if b.label == "Prioriteit vastleggen").click().run()
    _ok(at)
    rows = R.Register(reg_path).list().set_index("id")
    assert len(rows) == 2 and rows.drop(index=zuid).iloc[0]["team"] == "Veiliger Wijkteam Dukenburg"
    assert rows.at[zuid, "ended_at"] is None


def test_page_wijkteam_without_a_team_reads_only(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    reg_path = tmp_path / "register.sqlite"
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(reg_path))
    pid = R.Register(reg_path).add("Veiliger Wijkteam Dukenburg", "incidenten:Fietsdiefstal", "stadsdeel",
                                   "WK026807", dt.date.today(), None, "", "analist-1", allowed_teams=None)
    at = app_test("wijkteam", page=PAGE, stadsdeel="WK026807")  # no team
    _ok(at)
    assert any(i.value == "Uw account is niet aan een Veiliger Wijkteam gekoppeld; vraag functioneel beheer om dat "
                          "te doen." for i in at.info)
    assert "Prioriteit vastleggen" not in _buttons(at) and "Beëindigen" not in _buttons(at)
    assert "prio_naar_eigen_team" not in [b.key for b in at.button]
    shown = next(d.value for d in at.dataframe if "Resultaat" in d.value.columns and "Team" not in d.value.columns)
    assert list(shown["Nr"]) == [pid]
    # a team that is no longer in the teams' grouping: read-only too, and said so
    at = app_test("wijkteam", page=PAGE, team="Veiliger Wijkteam Atlantis", stadsdeel="WK026807")
    _ok(at)
    assert any("'Veiliger Wijkteam Atlantis'" in i.value and "teamindeling" in i.value for i in at.info)
    assert "Prioriteit vastleggen" not in _buttons(at)


def test_page_opens_on_the_own_teams_stadsdeel(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    teams = tmp_path / "teams.toml"
    # the team's first stadsdeel is the file's first, not the first by name or code
    teams.write_text('[[team]]\nnaam = "Veiliger Wijkteam Zuid-West"\nstadsdelen = ["Lindenholt", "Dukenburg"]\n',
                     encoding="utf-8")
    monkeypatch.setenv("VEILIGHEID_TEAMS", str(teams))
    at = app_test("wijkteam", page=PAGE, team="Veiliger Wijkteam Zuid-West")
    _ok(at)
    assert at.session_state["filters"].stadsdeel == "WK026808"
    assert at.selectbox(key="prio_stadsdeel").value == "WK026808"
    assert "Stadsdeel Lindenholt" in "\n".join(m.value for m in at.markdown)
    assert "Lindenholt (Veiliger Wijkteam Zuid-West) · uw team" in at.selectbox(key="prio_stadsdeel").options
    assert "Prioriteit vastleggen" in _buttons(at)
    # a link with a stadsdeel wins over the default
    at = app_test("wijkteam", page=PAGE, team="Veiliger Wijkteam Zuid-West", stadsdeel="WK026801")
    _ok(at)
    assert at.session_state["filters"].stadsdeel == "WK026801"
    assert any(i.value.startswith("U kunt alleen prioriteiten vastleggen voor uw eigen team, Veiliger Wijkteam "
                                  "Zuid-West") for i in at.info)
    # an analist and a wijkteam member without a team still choose themselves
    for kwargs in ({"role": "analist"}, {"role": "wijkteam"}):
        at = app_test(page=PAGE, **kwargs)
        _ok(at)
        assert at.session_state["filters"].stadsdeel is None
        assert any("Kies hierboven het stadsdeel" in i.value for i in at.info)


def test_page_results_of_an_older_priority_and_the_teams_file(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    reg_path = tmp_path / "register.sqlite"
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(reg_path))
    teams = tmp_path / "teams.toml"
    teams.write_text('[[team]]\nnaam = "Veiliger Wijkteam Zuid-West"\nstadsdelen = ["Dukenburg", "Lindenholt"]\n',
                     encoding="utf-8")
    monkeypatch.setenv("VEILIGHEID_TEAMS", str(teams))
    con = connect_readonly(app_warehouse)
    try:
        end = con.execute("SELECT max(pleegdatum) FROM incidenten").fetchone()[0]
    finally:
        con.close()
    start = end - dt.timedelta(days=120)
    R.Register(reg_path).add("Veiliger Wijkteam Zuid-West", "incidenten:Fietsdiefstal", "stadsdeel", "WK026807",
                             start, None, "fietsen", "analist-1", allowed_teams=None)
    at = app_test("analist", page=PAGE, stadsdeel="WK026808")
    _ok(at)
    assert "Lindenholt (Veiliger Wijkteam Zuid-West)" in at.selectbox(key="prio_stadsdeel").options
    shown = next(d.value for d in at.dataframe if "Resultaat" in d.value.columns and "Team" not in d.value.columns)
    row = shown.iloc[0]
    assert row["Thema"] == "Fietsdiefstal" and row["Gebied"] == "stadsdeel Dukenburg"
    assert "→" in row["Hier (voor → na)"] and row["Resultaat"] != ""
    # a broken teams file: a Dutch warning, and the page still works with one team per stadsdeel
    teams.write_text("[[team]\n", encoding="utf-8")
    at = app_test("wijkteam", page=PAGE, stadsdeel="WK026808")
    _ok(at)
    assert any("teambestand" in w.value and "eigen team" in w.value for w in at.warning)

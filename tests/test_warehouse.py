"""Warehouse guarantees: atomic runs (SIGKILL), readers during ingests, kept versions and restore."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from conftest import REPO, cli, inside, write
from veiligheid.warehouse import connect_readonly, list_versions


def incident_file(inbox, week: int, keys: range, xy, name_suffix="") -> None:
    lines = ["registratienummer;pleegdatum;soort_code;x_rd;y_rd"]
    lines += [f"K{k};01-09-2024;1.1.1;{xy[0]};{xy[1]}" for k in keys]
    write(inbox, f"incidenten_2024-W{week}{name_suffix}.csv", "\n".join(lines) + "\n")


def state(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (con.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0],
                con.execute("SELECT count(*), sum(_hash) FROM incidenten").fetchone(),
                con.execute("SELECT count(*) FROM ingest_files").fetchone()[0])
    finally:
        con.close()


def start_ingest(cfg) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines", "ingest", "--inbox", str(cfg.inbox),
                             "--warehouse", str(cfg.warehouse)], cwd=REPO, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)


@pytest.mark.parametrize("moment", ["copy", "file 1", "file 3", "publish"])
def test_sigkill_leaves_warehouse_as_before_and_rerun_completes(env, buurten_rd, moment):
    xy = inside(buurten_rd, "BU02680101")
    incident_file(env.inbox, 47, range(0, 60_000), xy)
    incident_file(env.inbox, 48, range(30_000, 90_000), xy)
    incident_file(env.inbox, 48, range(90_000, 120_000), xy, "_b")
    before = state(env.warehouse)
    ino = env.warehouse.stat().st_ino
    inbox_before = sorted(p.name for p in env.inbox.iterdir())

    proc = start_ingest(env)
    marker = {"copy": "werkkopie van versie", "file 1": "incidenten_2024-W47.csv: lezen",
              "file 3": "incidenten_2024-W48_b.csv: lezen", "publish": "wordt gepubliceerd"}[moment]
    for line in proc.stderr:
        if marker in line:
            break
    else:
        pytest.fail(f"the ingest never logged {marker!r}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    after_kill = state(env.warehouse)
    if moment != "publish":
        assert after_kill == before and env.warehouse.stat().st_ino == ino
        assert sorted(p.name for p in env.inbox.iterdir()) == inbox_before
    else:  # killed at the commit point: either all or nothing, never a mix
        assert after_kill == before or after_kill[1][0] == 120_000
    # a rerun completes, and the result is the full run
    out = cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse), "--json")
    assert out.returncode == 0, out.stderr
    assert state(env.warehouse)[1][0] == 120_000
    assert list(env.inbox.iterdir()) == []
    # no temporary leftovers survive a completed run
    assert not [p for p in (env.warehouse.parent / "warehouse.duckdb.versions").iterdir() if p.name.startswith(".tmp")]


READER = textwrap.dedent("""
    import sys, time, json
    sys.path.insert(0, {repo!r})
    from veiligheid.warehouse import connect_readonly
    path, stop_file = sys.argv[1], sys.argv[2]
    seen, errors, n = set(), [], 0
    import os
    while not os.path.exists(stop_file):
        try:
            con = connect_readonly(path)
            v = con.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0]
            rows = con.execute("SELECT count(*) FROM incidenten").fetchone()[0]
            runs = con.execute("SELECT coalesce(sum(files_loaded), 0) FROM ingest_runs").fetchone()[0]
            time.sleep(0.01)  # hold it open a little while the writer works
            rows2 = con.execute("SELECT count(*) FROM incidenten").fetchone()[0]
            con.close()
            if rows != 1000 * runs or rows2 != rows:
                errors.append(f"half run seen: version {{v}} rows {{rows}}/{{rows2}} runs {{runs}}")
            seen.add(v)
            n += 1
        except Exception as exc:
            errors.append(repr(exc))
    print(json.dumps({{"versions": sorted(seen), "errors": errors, "reads": n}}))
""")


def test_a_version_pruned_while_listing_is_skipped(env, buurten_rd, monkeypatch):
    """A reader lists the versions while an ingest prunes the oldest: a file listed but gone before its stat
    (or its note) is no version, never a FileNotFoundError (seen once in CI under load, 2026-12-07)."""
    from veiligheid import warehouse as W

    incident_file(env.inbox, 40, range(0, 10), inside(buurten_rd, "BU02680101"))
    assert cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse), "--json").returncode == 0
    vdir = W.versions_dir(env.warehouse)
    real = sorted(vdir.iterdir())
    assert any(W._VERSION_RE.match(p.name) for p in real)
    gone = vdir / "v999999.duckdb"  # listed, then pruned before it is looked at
    monkeypatch.setattr(type(vdir), "iterdir", lambda self: iter([*real, gone]) if self == vdir else iter(()))
    versions = W.list_versions(env.warehouse)
    assert gone not in [v.path for v in versions] and any(v.current for v in versions)
    con = W.connect_readonly(env.warehouse)
    try:
        assert con.execute("SELECT count(*) FROM meta").fetchone()[0] > 0
    finally:
        con.close()


def test_readers_never_fail_and_never_see_half_runs(env, buurten_rd, tmp_path):
    xy = inside(buurten_rd, "BU02680101")
    script = tmp_path / "reader.py"
    script.write_text(READER.format(repo=str(REPO)))
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, str(script), str(env.warehouse), str(stop)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    # a dashboard-like reader that keeps one connection open during all ingests
    holder = connect_readonly(env.warehouse)
    try:
        time.sleep(1.0)
        for i in range(6):
            incident_file(env.inbox, 40 + i, range(i * 1000, (i + 1) * 1000), xy)
            out = cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse), "--json")
            assert out.returncode == 0, out.stderr  # an open dashboard never makes the ingest fail
            assert json.loads(out.stdout)["files"][0]["rows_new"] == 1000
        time.sleep(0.5)
        assert holder.execute("SELECT count(*) FROM incidenten").fetchone()[0] == 0  # its own snapshot
    finally:
        stop.write_text("x")
        holder.close()
    for r in readers:
        report = json.loads(r.communicate(timeout=60)[0])
        assert report["errors"] == []
        assert report["reads"] > 10
        assert len(report["versions"]) >= 3  # it saw the versions change while reading
    assert state(env.warehouse)[1][0] == 6000


def test_last_four_versions_kept_and_restore(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    for i in range(6):
        incident_file(env.inbox, 40 + i, range(i * 10, (i + 1) * 10), xy)
        assert cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse)).returncode == 0
    versions = list_versions(env.warehouse)
    assert len(versions) == 4 and versions[-1].current
    out = cli("restore", "--list", "--warehouse", str(env.warehouse))
    assert out.returncode == 0
    listed = [ln.lstrip("* ").split()[0] for ln in out.stdout.splitlines() if ln.strip()]
    assert listed == [str(v.version) for v in versions]
    assert out.stdout.splitlines()[-1].startswith("*")
    target = versions[1]
    out = cli("restore", "--to", str(target.version), "--warehouse", str(env.warehouse))
    assert out.returncode == 0, out.stderr
    assert state(env.warehouse)[1][0] == 10 * (target.version - (versions[-1].version - 6))
    assert [v.version for v in list_versions(env.warehouse) if v.current] == [target.version]
    # the next ingest builds on the restored version and gets a new, higher number
    incident_file(env.inbox, 47, range(1000, 1010), xy)
    assert cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse)).returncode == 0
    assert list_versions(env.warehouse)[-1].version == versions[-1].version + 1
    bad = cli("restore", "--to", "999", "--warehouse", str(env.warehouse))
    assert bad.returncode == 2 and "bestaat niet" in bad.stderr


def test_first_command_creates_warehouse_with_bundled_areas(tmp_path):
    wh = tmp_path / "nieuw" / "warehouse.duckdb"
    out = cli("export", "--kind", "incidenten", "--by", "stadsdeel", "--warehouse", str(wh))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "stadsdeel,aantal"
    con = connect_readonly(wh)
    assert con.execute("SELECT count(*) FROM buurten").fetchone()[0] == 44
    assert con.execute("SELECT count(*) FROM wijken").fetchone()[0] == 9
    assert con.execute("SELECT sum(inwoners) FROM buurten").fetchone()[0] == 187_050
    con.close()


def test_one_process_sees_a_new_version_while_an_old_connection_is_open(env, buurten_rd):
    """DuckDB caches a database per path per process; readers must still see the newest version."""
    xy = inside(buurten_rd, "BU02680101")
    incident_file(env.inbox, 40, range(0, 10), xy)
    assert cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse)).returncode == 0
    old = connect_readonly(env.warehouse)
    assert old.execute("SELECT count(*) FROM incidenten").fetchone()[0] == 10
    incident_file(env.inbox, 41, range(10, 30), xy)
    assert cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse)).returncode == 0
    new = connect_readonly(env.warehouse)
    assert new.execute("SELECT count(*) FROM incidenten").fetchone()[0] == 30
    assert old.execute("SELECT count(*) FROM incidenten").fetchone()[0] == 10  # its own snapshot
    old.close()
    new.close()


# ------------------------------------------------------------------ day counts (the pages' source of incident counts)
def _raw_day_counts(con):
    """The day counts computed in pandas from the incident rows (independent of the SQL that builds them)."""
    inc = con.execute("SELECT pleegdatum, buurtcode, wijkcode, soort_code, status FROM incidenten").df()
    sm = con.execute("SELECT code AS soort_code, thema, stadsbrede_prioriteit AS prio, high_impact_crime AS hic "
                     "FROM soort_misdrijf").df()
    inc = inc[inc["status"].fillna("actief") != "vervallen"].merge(sm, on="soort_code")
    inc["hic"] = inc["hic"].astype(int)
    keys = ["pleegdatum", "buurtcode", "wijkcode", "thema", "prio"]
    out = inc.groupby(keys, dropna=False).agg(n=("hic", "size"), n_hic=("hic", "sum")).reset_index()
    return _sorted_counts(out)


def _sorted_counts(df):
    df = df.astype({"n": "int64", "n_hic": "int64", "prio": bool})
    df["pleegdatum"] = df["pleegdatum"].astype("datetime64[us]")
    return df.sort_values(["pleegdatum", "buurtcode", "wijkcode", "thema"], na_position="first").reset_index(drop=True)


def _day_table(con):
    return _sorted_counts(con.execute("SELECT pleegdatum, buurtcode, wijkcode, thema, prio, n, n_hic "
                                      "FROM incidenten_dag").df())


def test_day_counts_equal_the_incidents_in_every_version(demo_warehouse, tmp_path):
    """Every version's incidenten_dag holds exactly its own active incidents per day, area and theme: after the
    demo ingest, and after a write that withdraws, moves and removes incidents."""
    import pandas as pd

    from tests.conftest_app import copy_warehouse
    from veiligheid.warehouse import write_version

    wh = copy_warehouse(demo_warehouse, tmp_path / "data")
    con = connect_readonly(wh)
    before = _day_table(con)
    pd.testing.assert_frame_equal(before, _raw_day_counts(con))
    assert before["n"].sum() > 1000
    con.close()

    with write_version(wh) as w:
        w.con.execute("UPDATE incidenten SET status = 'vervallen' WHERE registratienummer IN "
                      "(SELECT registratienummer FROM incidenten ORDER BY registratienummer LIMIT 50)")
        w.con.execute("UPDATE incidenten SET buurtcode = NULL WHERE registratienummer IN "
                      "(SELECT registratienummer FROM incidenten ORDER BY registratienummer DESC LIMIT 40)")
        w.con.execute("DELETE FROM incidenten WHERE pleegdatum = (SELECT max(pleegdatum) FROM incidenten)")
    con = connect_readonly(wh)
    after = _day_table(con)
    pd.testing.assert_frame_equal(after, _raw_day_counts(con))
    assert after["n"].sum() < before["n"].sum() - 50 and after["buurtcode"].isna().any()  # also without a wijk
    con.close()


def test_pages_read_the_same_counts_from_a_version_without_day_counts(demo_warehouse, tmp_path):
    """A version written before incidenten_dag existed (say an old version restored) gives the same figures,
    computed from the incidents; so does a version whose table was not built for it. The next start
    (`pipelines firstrun`) adds the table in a new version."""
    import datetime as dt

    import pandas as pd

    from tests.conftest_app import copy_warehouse
    from veiligheid import filters as F
    from veiligheid import priorities as P
    from veiligheid import queries as Q
    from veiligheid import signals
    from veiligheid.warehouse import current_file, ensure_day_counts

    def figures(path):
        con = connect_readonly(path)
        fresh = Q.freshness(con)
        out = {}
        for preset, sd, themes in (("13w", None, ()), ("52w", "WK026801", ("Overvallen", "Geweld")), ("4w", None, ("Auto-inbraken",))):
            p = F.resolve_period(F.FilterState(preset=preset), fresh.data_end)
            out[preset, "tiles"] = Q.tiles(con, p, themes, sd, None, fresh.data_start)
            out[preset, "stadsdelen"] = Q.area_table(con, p, "stadsdeel", themes, None, fresh.data_start)
            out[preset, "wijken"] = Q.area_table(con, p, "wijk", themes, sd, fresh.data_start)
            out[preset, "weekly"] = Q.weekly(con, fresh.data_end - dt.timedelta(weeks=51), fresh.data_end, themes, sd,
                                             None, fresh.data_start)
        out["blocks"] = Q.block_counts(con, fresh.data_end).sort_values(["wijk", "thema", "blok"]).reset_index(drop=True)
        q = P.Quarter.of(fresh.data_end)
        out["prio"] = P.counts(con, q.shift(-5), q).sort_values(
            ["bron", "thema", "buurtcode", "wijkcode", "kwartaal"], na_position="first").reset_index(drop=True)
        out["signals"] = signals.weekly_counts(con, "WK026803", fresh.data_end, 30)
        con.close()
        return out

    def source(path):
        con = connect_readonly(path)
        try:
            return Q.day_counts(con)
        finally:
            con.close()

    wh = copy_warehouse(demo_warehouse, tmp_path / "data")
    assert source(wh) == "incidenten_dag"
    with_table = figures(wh)
    assert with_table["13w", "tiles"]["n"].sum() > 0 and with_table["prio"]["n"].sum() > 0
    # a version published by a writer that did not rebuild the table (an older release): the table is not used
    raw = duckdb.connect(str(current_file(wh)))
    raw.execute("UPDATE incidenten_dag SET n = n + 1")
    raw.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS VARCHAR) WHERE key = 'version'")
    raw.close()
    assert source(wh) != "incidenten_dag"
    stale = figures(wh)
    # and one without the table at all
    raw = duckdb.connect(str(current_file(wh)))
    raw.execute("DROP TABLE incidenten_dag")
    raw.close()
    assert source(wh) != "incidenten_dag"
    without = figures(wh)
    for k, df in with_table.items():
        pd.testing.assert_frame_equal(df, without[k], obj=str(k))
        pd.testing.assert_frame_equal(df, stale[k], obj=str(k))

    # the start adds them in a new version, but never waits long for the weekly ingest's lock, nor fails
    from veiligheid.warehouse import exclusive_lock
    env = {"VEILIGHEID_WAREHOUSE": str(wh), "VEILIGHEID_INBOX": str(tmp_path / "inbox"),
           "VEILIGHEID_USERS": str(tmp_path / "users.sqlite")}
    with exclusive_lock(wh, 1):
        t = time.monotonic()
        held = cli("firstrun", env_extra=env)
        assert held.returncode == 0 and "dagtellingen niet toegevoegd" in held.stdout, held.stdout + held.stderr
        assert time.monotonic() - t < 60
    assert source(wh) != "incidenten_dag"
    ok = cli("firstrun", env_extra=env)
    assert ok.returncode == 0 and "dagtellingen van de incidenten toegevoegd" in ok.stdout, ok.stdout + ok.stderr
    assert source(wh) == "incidenten_dag" and ensure_day_counts(wh) is False
    con = connect_readonly(wh)
    pd.testing.assert_frame_equal(_day_table(con), _raw_day_counts(con))
    con.close()
    for k, df in figures(wh).items():
        pd.testing.assert_frame_equal(with_table[k], df, obj=str(k))

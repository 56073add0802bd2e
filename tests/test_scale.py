"""Issue 8: the cheaper version copy of the writer and the bulk scale builder of the demo (no timings here)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

import veiligheid.warehouse as W
from conftest import inside, write
from pipelines.ingest import run_ingest
from veiligheid.warehouse import connect_readonly, write_version


def _blob(path, size):
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("size", [0, 1, 3 * (1 << 20) + 17])
def test_copy_file_is_byte_exact_with_clone_copy_range_and_plain_fallbacks(tmp_path, monkeypatch, size):
    data = _blob(tmp_path / "src", size)
    how = W._copy_file(tmp_path / "src", tmp_path / "a")
    assert how in ("reflink", "copy")
    assert (tmp_path / "a").read_bytes() == data

    def no_clone(*a, **k):
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(W.fcntl, "ioctl", no_clone)
    (tmp_path / "b").write_bytes(b"old content that must disappear" * 1000)
    assert W._copy_file(tmp_path / "src", tmp_path / "b") == "copy"
    assert (tmp_path / "b").read_bytes() == data

    monkeypatch.setattr(W.os, "copy_file_range", no_clone)  # e.g. an older kernel or another filesystem
    (tmp_path / "c").write_bytes(b"x" * (size + 5000))
    assert W._copy_file(tmp_path / "src", tmp_path / "c") == "copy"
    assert (tmp_path / "c").read_bytes() == data


def _counts(con):
    return (con.execute("SELECT count(*) FROM incidenten").fetchone()[0],
            con.execute("SELECT count(*) FROM quarantine").fetchone()[0])


@pytest.mark.parametrize("clone", [True, False])
def test_reader_during_a_write_sees_the_old_version_whole_and_then_the_new_one_whole(env, monkeypatch, clone):
    """Both tables change in one run: a reader sees (0, 0) before and during the run, (3, 2) after, never a mix."""
    if not clone:  # force the copy + background flush path (the one this machine's ext4 takes)
        monkeypatch.setattr(W.fcntl, "ioctl", lambda *a, **k: (_ for _ in ()).throw(OSError(95, "no")))
    flushed = []
    real_flush = W._background_flush
    monkeypatch.setattr(W, "_background_flush", lambda p: flushed.append(p) or real_flush(p))
    before = connect_readonly(env.warehouse)
    assert _counts(before) == (0, 0)
    with write_version(env.warehouse) as w:
        w.con.execute("""INSERT INTO incidenten (registratienummer, bron_bestand, bron_week, bron_weeknr, ingest_seq,
                         run_id, _hash) SELECT 'K' || i, 'f', '2024-W01', 202401, 1, 'r', i FROM range(3) t(i)""")
        during = connect_readonly(env.warehouse)
        assert _counts(during) == (0, 0)
        w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f'), ('r', 'g')")
        assert _counts(during) == (0, 0)
        during.close()
    after = connect_readonly(env.warehouse)
    assert _counts(after) == (3, 2)
    assert _counts(before) == (0, 0)  # an open reader keeps its own complete snapshot
    before.close()
    after.close()
    if clone:
        assert len(flushed) <= 1
    else:
        assert len(flushed) == 1
    # the published file is a complete, consistent database on its own
    con = duckdb.connect(str(W.current_file(env.warehouse)), read_only=True)
    assert _counts(con) == (3, 2)
    con.close()


def test_failed_write_with_background_flush_leaves_no_temporary_file(env, monkeypatch):
    monkeypatch.setattr(W.fcntl, "ioctl", lambda *a, **k: (_ for _ in ()).throw(OSError(95, "no")))
    with pytest.raises(RuntimeError):
        with write_version(env.warehouse) as w:
            w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f')")
            raise RuntimeError("boom")
    assert not list(W.versions_dir(env.warehouse).glob(".tmp-*"))
    con = connect_readonly(env.warehouse)
    assert _counts(con) == (0, 0)
    con.close()


def test_weekly_ingest_still_replaces_and_adds_through_the_copy_path(env, buurten_rd, monkeypatch):
    monkeypatch.setattr(W.fcntl, "ioctl", lambda *a, **k: (_ for _ in ()).throw(OSError(95, "no")))
    x, y = inside(buurten_rd, "BU02680101")
    rows = ["registratienummer;pleegdatum;soort_code;x_rd;y_rd"] + [f"K{k};01-09-2024;1.1.1;{x};{y}" for k in range(5)]
    write(env.inbox, "incidenten_2024-W40.csv", "\n".join(rows) + "\n")
    assert run_ingest(env).files[0].rows_new == 5
    rows = ["registratienummer;pleegdatum;soort_code;x_rd;y_rd"] + [f"K{k};02-09-2024;1.1.1;{x};{y}" for k in range(3, 8)]
    write(env.inbox, "incidenten_2024-W41.csv", "\n".join(rows) + "\n")
    res = run_ingest(env).files[0]
    assert (res.rows_new, res.rows_replaced) == (3, 2)
    con = connect_readonly(env.warehouse)
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE pleegdatum = DATE '2024-09-02') FROM incidenten"
                       ).fetchone() == (8, 5)
    con.close()


def test_bulk_scale_builder_multiplies_every_kind_with_unique_keys(tmp_path):
    from pipelines.demo import SCALE_KEYS, build_scaled_warehouse

    base_file = tmp_path / "base.duckdb"
    wh1 = tmp_path / "a" / "warehouse.duckdb"
    wh1.parent.mkdir()
    info1 = build_scaled_warehouse(wh1, 1, weeks=6, seed=2, today=dt.date(2026, 6, 30), base_scale=0.3,
                                   base_cache=base_file)
    assert info1["copies"] == 1 and base_file.exists()
    base = info1["counts"]
    assert base["incidenten"] > 50 and base["registraties"] > 50
    # an incident without a registration date (optional in the contract): its copies keep none
    import duckdb

    con = duckdb.connect(str(base_file))
    con.execute("UPDATE incidenten SET registratiedatum = NULL WHERE registratienummer = "
                "(SELECT min(registratienummer) FROM incidenten)")
    con.close()
    wh3 = tmp_path / "b" / "warehouse.duckdb"
    wh3.parent.mkdir()
    info3 = build_scaled_warehouse(wh3, 3 * base["incidenten"], weeks=6, seed=2, today=dt.date(2026, 6, 30),
                                   base_scale=0.3, base_cache=base_file)
    assert info3["copies"] == 3
    assert info3["counts"] == {k: 3 * v for k, v in base.items()}
    c1, c3 = connect_readonly(wh1), connect_readonly(wh3)
    try:
        for kind, key in SCALE_KEYS.items():
            assert c3.execute(f"SELECT count(DISTINCT {key}) FROM {kind}").fetchone()[0] == 3 * base[kind]
        # same places, kinds, weekdays and times, three times over
        q = ("SELECT buurtcode, soort_code, isodow(pleegdatum), pleegtijd, count(*) FROM incidenten "
             "GROUP BY ALL ORDER BY ALL")
        assert [(*r[:4], 3 * r[4]) for r in c1.execute(q).fetchall()] == c3.execute(q).fetchall()
        # but the copies are spread over the weeks: the per-day counts fill up as real data of that size would,
        # within the data's days, and each copy keeps its registration lag (capped at the last registration)
        days = "SELECT count(*) FROM (SELECT DISTINCT pleegdatum, buurtcode, soort_code FROM incidenten)"
        assert c3.execute(days).fetchone()[0] > 1.5 * c1.execute(days).fetchone()[0]
        span = "SELECT min(pleegdatum), max(pleegdatum), max(registratiedatum) FROM incidenten"
        assert c3.execute(span).fetchone() == c1.execute(span).fetchone()
        assert c3.execute("SELECT count(*) FROM incidenten WHERE registratiedatum IS NULL").fetchone()[0] == 3
        assert c3.execute("SELECT count(*) FROM incidenten WHERE registratiedatum < pleegdatum "
                          "OR CAST(pleegmoment AS DATE) <> pleegdatum").fetchone()[0] == 0
        moved = c3.execute("""SELECT count(*) FROM incidenten c JOIN incidenten o
                              ON c.registratienummer LIKE o.registratienummer || '-k%'
                              WHERE c.pleegdatum <> o.pleegdatum""").fetchone()[0]
        assert moved > base["incidenten"]  # most of the 2 x base copies moved
        # stored in arrival order (as weekly ingests append them), not copy after copy
        for kind, order in (("incidenten", "coalesce(registratiedatum, pleegdatum)"), ("hennep", "signaaldatum")):
            assert c3.execute(f"""SELECT count(*) FROM (SELECT {order} AS d, lag({order}) OVER (ORDER BY rowid) AS e
                                  FROM {kind}) WHERE d < e""").fetchone()[0] == 0
        if base["hennep"]:
            ids = c3.execute("SELECT adres_id FROM hennep WHERE adres_id IS NOT NULL").fetchall()
            assert all(len(a) == 16 and a.isdigit() for (a,) in ids)
            assert (c3.execute("SELECT count(DISTINCT adres_id) FROM hennep").fetchone()[0]
                    == 3 * c1.execute("SELECT count(DISTINCT adres_id) FROM hennep").fetchone()[0])
        assert c3.execute("SELECT value FROM meta WHERE key = 'demo'").fetchone()[0] == "ja"
    finally:
        c1.close()
        c3.close()


def test_snapshot_pins_one_version_for_a_whole_run_across_a_swap(env):
    """A page run that resolves the version once reads the old version for all its queries, even when an
    ingest publishes in the middle of the run; the next run gets the new version."""
    from veiligheid.warehouse import connect_snapshot, snapshot, version_token

    with write_version(env.warehouse) as w:  # a published version (the test warehouse is a plain copy)
        w.note = "eerste versie"
    snap = snapshot(env.warehouse)
    assert snap.token == version_token(env.warehouse)
    assert snap.file != env.warehouse and snap.file.parent == W.versions_dir(env.warehouse)
    con = connect_snapshot(snap)
    first = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]
    with write_version(env.warehouse) as w:  # the swap happens "during the run"
        w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f')")
    # the rest of the run: same version, same data
    assert con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0] == first
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    con.close()
    again = connect_snapshot(snap)  # a second connection on the pinned snapshot: still the old version
    assert again.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    again.close()
    nxt = snapshot(env.warehouse)
    assert nxt.token != snap.token and nxt.token == version_token(env.warehouse)
    con = connect_snapshot(nxt)
    assert int(con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]) == int(first) + 1
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
    con.close()


def test_snapshot_of_a_warehouse_without_versions_is_the_path_itself(tmp_path):
    from veiligheid.warehouse import snapshot

    assert snapshot(tmp_path / "none.duckdb").token == "missing"
    f = tmp_path / "plain.duckdb"
    duckdb.connect(str(f)).close()
    assert snapshot(f).file == f


def test_a_connection_opened_for_a_token_reads_that_version_even_after_a_swap(tmp_path):
    """The app's cache key is the version token; the connection behind it must read that version, not
    whichever version is current when it is opened (an ingest can swap in between)."""
    from veiligheid import warehouse as W

    path = tmp_path / "w.duckdb"
    with W.write_version(path, init=lambda con: con.execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")):
        pass
    old = W.version_token(path)
    with W.write_version(path) as w:
        w.con.execute("UPDATE t SET x = 2")
    new = W.version_token(path)
    assert old != new
    assert W.connect_token(path, old).execute("SELECT x FROM t").fetchone() == (1,)
    assert W.connect_token(path, new).execute("SELECT x FROM t").fetchone() == (2,)
    # a token whose file is gone: the current version
    assert W.connect_token(path, "123:456:789").execute("SELECT x FROM t").fetchone() == (2,)


def test_a_page_run_keeps_reading_its_version_when_an_ingest_publishes_during_the_run(tmp_path, monkeypatch):
    """app.py pins the version at the start of every run (`ui.pin_version`); every `ui.query` of that run
    reads it, also after an ingest published a new one halfway (the soak found runs showing two weeks).
    The next run reads the new version."""
    from streamlit.testing.v1 import AppTest

    from veiligheid import warehouse as W

    path = tmp_path / "w.duckdb"
    with W.write_version(path):  # schema and version 1
        pass
    monkeypatch.setenv("VEILIGHEID_WAREHOUSE", str(path))

    def page():
        import streamlit as st

        from veiligheid import ui, warehouse

        ui.pin_version()
        st.session_state.setdefault("seen", []).append(("start", ui.query("meta")["version"]))
        if len(st.session_state["seen"]) == 1:  # the first run: an ingest publishes in the middle of it
            with warehouse.write_version(ui.warehouse_path()) as w:
                w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f')")
        st.session_state["seen"].append(("end", ui.query("meta")["version"]))

    at = AppTest.from_function(page, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.session_state["seen"] == [("start", "1"), ("end", "1")]  # one version for the whole run
    at.run()
    assert at.session_state["seen"][2:] == [("start", "2"), ("end", "2")]  # the next run: the new week


@pytest.mark.parametrize("setting, mib", [(None, "244.1 MiB"), ("100", "95.3 MiB"), ("veel", "244.1 MiB"),
                                          ("1", "61.0 MiB"), ("nan", "244.1 MiB"), ("inf", "244.1 MiB")])
def test_every_read_connection_of_a_version_has_the_memory_limit(tmp_path, monkeypatch, setting, mib):
    """A read-only version keeps what it read in its own buffer pool; without a limit (80 % of the machine)
    the two or three versions the app holds around a weekly load each kept up to their tables in memory.
    A bad value falls back to the default (256 MB), a tiny one to 64 MB."""
    from veiligheid import warehouse as W

    if setting is None:
        monkeypatch.delenv("VEILIGHEID_READ_MEMORY_MB", raising=False)
    else:
        monkeypatch.setenv("VEILIGHEID_READ_MEMORY_MB", setting)
    path = tmp_path / "w.duckdb"
    with W.write_version(path):
        pass
    token = W.version_token(path)
    for con in (W.connect_readonly(path), W.connect_token(path, token), W.connect_snapshot(W.snapshot(path))):
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == mib
        # above the limit DuckDB spills; never into the versions folder (its default is beside the file)
        spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
        assert W.versions_dir(path) not in spill.parents and path.parent not in spill.parents
        assert spill.parent.is_dir()  # DuckDB creates only the last folder itself
        con.close()


def test_streamlit_reads_the_servers_settings_from_the_repo():
    """`.streamlit/config.toml` as Streamlit itself parses it (a misspelt section or key is silently ignored):
    offline and local only, no file watcher under running sessions, and no full garbage collection after
    every page run (a third of the server's CPU under load, see docs/performance.md)."""
    import json
    import subprocess
    import sys

    code = ("import json; from streamlit import config; config.get_config_options(force_reparse=True); "
            "print(json.dumps({k: config.get_option(k) for k in ('runner.postScriptGC', 'server.fileWatcherType', "
            "'browser.gatherUsageStats', 'server.address', 'client.toolbarMode')}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}  # only the file counts here
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                         capture_output=True, text=True, check=True, timeout=60, env=env)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "runner.postScriptGC": False, "server.fileWatcherType": "none", "browser.gatherUsageStats": False,
        "server.address": "127.0.0.1", "client.toolbarMode": "viewer"}

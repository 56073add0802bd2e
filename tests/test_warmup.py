"""Issue 8: the warm-up after a weekly load (veiligheid.warmup) computes what the pages would compute, so that
the first wijkteam click after a load finds its disclosure control ready."""
from __future__ import annotations

import threading
import time

import pytest
import streamlit as st

from tests.conftest_app import app_test, app_warehouse, demo_warehouse  # noqa: F401  (fixtures)

PAGES = ["views/dashboards_veiligheid.py", "views/prioriteiten.py", "views/cybercrime.py", "views/hennepteelt.py"]


def _clear_caches() -> None:
    from veiligheid import overview

    st.cache_data.clear()
    st.cache_resource.clear()
    overview._CACHE.clear()


@pytest.fixture
def slow_calls(monkeypatch) -> dict:
    """Counts the calls of the slow computations: the city-wide disclosure control of each page, and the
    warehouse queries of the Dashboards page."""
    from veiligheid import cyber, hennep, overview, queries, signals
    from veiligheid import priorities as P

    counts: dict = {}

    def spy(module, name):
        original = getattr(module, name)

        def wrapper(*a, **k):
            counts[name] = counts.get(name, 0) + 1
            return original(*a, **k)

        monkeypatch.setattr(module, name, wrapper)

    spy(overview, "protect_city")  # Dashboards veiligheid (and the tiles Prioriteiten hides with it)
    spy(P, "protect_city")  # Prioriteiten per stadsdeel: the quarter's hidden cells ...
    spy(P, "area_view")  # ... and a stadsdeel's view of it
    spy(cyber, "protection")
    spy(cyber, "build")  # a Cybercrime view of one selection (area and period)
    spy(cyber, "group_tables")  # ... and its tables per group
    spy(hennep, "city_protection")
    spy(hennep, "build_overview")  # a Hennepteelt view of one selection
    for q in ("tiles", "area_table", "weekly", "weekday_hour"):
        spy(queries, q)
    spy(signals, "weekly_counts")  # Prioriteiten per stadsdeel: what changed in the stadsdeel
    return counts


def _visit_every_page(role: str, **params) -> None:
    for page in PAGES:
        at = app_test(role, page=page, stadsdeel="WK026803", **params)
        assert not at.exception, (page, at.exception)


def test_after_the_warm_up_a_wijkteam_computes_no_disclosure_control_on_any_page(app_warehouse, slow_calls):
    from veiligheid import warmup
    from veiligheid.warehouse import version_token

    _clear_caches()
    _visit_every_page("wijkteam")  # cold: every page computes its city-wide protection
    assert {"protect_city", "area_view", "protection", "city_protection", "build", "group_tables", "build_overview",
            "weekly_counts"} <= set(slow_calls)

    _clear_caches()
    slow_calls.clear()
    done = warmup.warm(str(app_warehouse), version_token(app_warehouse))
    assert len(done) == len(warmup.steps(str(app_warehouse), version_token(app_warehouse)))
    assert all(seconds is not None for _, seconds in done), done  # no step failed
    assert slow_calls["protect_city"] >= 2  # what the warm-up computed: the overview's and the quarter's
    slow_calls.clear()
    _visit_every_page("wijkteam")  # a stadsdeel chosen, default period: all from the warm caches
    _visit_every_page("wijkteam", periode="52w")  # and another period
    assert not {"protect_city", "area_view", "protection", "city_protection", "build", "group_tables",
                "build_overview", "weekly_counts", "tiles", "area_table"} & set(slow_calls), slow_calls


def test_after_the_warm_up_the_analist_default_dashboard_runs_no_query(app_warehouse, slow_calls):
    from veiligheid import warmup
    from veiligheid.warehouse import version_token

    _clear_caches()
    warmup.warm(str(app_warehouse), version_token(app_warehouse))
    slow_calls.clear()
    at = app_test("analist")  # the default page, whole city, default period
    assert not at.exception
    assert not slow_calls, slow_calls
    at.sidebar.selectbox[0].select("13w").run()  # another period: warm too
    assert not at.exception and not slow_calls, slow_calls
    for page in ("views/dashboards_veiligheid.py", "views/cybercrime.py", "views/hennepteelt.py"):
        for preset in ("4w", "52w"):  # a stadsdeel in any fixed period: warm too
            at = app_test("analist", page=page, stadsdeel="WK026803", periode=preset)
            assert not at.exception, (page, at.exception)
    assert not slow_calls, slow_calls
    # a wijk is not warmed: the page computes it (the cache is per selection)
    at = app_test("analist", page="views/dashboards_veiligheid.py", stadsdeel="WK026803", wijk="BU02680320")
    assert not at.exception
    assert slow_calls.get("tiles") == 1
    at = app_test("analist", page="views/cybercrime.py", stadsdeel="WK026803", wijk="BU02680320")
    assert not at.exception
    assert slow_calls.get("build") == 1


def test_after_the_warm_up_another_quarter_on_prioriteiten_solves_no_disclosure_control(app_warehouse, monkeypatch):
    """The warm-up also computes the hidden cells of every quarter a reader can pick on Prioriteiten (from the
    counts of all quarters, read once) and every stadsdeel's view of it: a wijkteam that picks an older quarter
    waits only for the page to be drawn."""
    from veiligheid import priorities as P
    from veiligheid import warmup
    from veiligheid.warehouse import version_token

    from veiligheid import queries, shared
    from veiligheid.warehouse import connect_readonly

    _clear_caches()
    P._CITY_CACHE.clear()
    warmed, hidden = [], shared.prio_hidden
    monkeypatch.setattr(shared, "prio_hidden", lambda *a, **k: warmed.append(a[2]) or hidden(*a, **k))
    made, area_view = [], P.area_view
    monkeypatch.setattr(P, "area_view", lambda raw, sd: made.append((raw.quarter, sd)) or area_view(raw, sd))
    warmup.warm(str(app_warehouse), version_token(app_warehouse))
    monkeypatch.setattr(P, "area_view", area_view)
    # every stadsdeel of every quarter, computed once for both roles
    assert len(made) == len(set(made)) and len({q for q, _ in made}) >= 3 and len({sd for _, sd in made}) >= 8
    con = connect_readonly(app_warehouse)
    try:
        f = queries.freshness(con)
    finally:
        con.close()
    assert sorted(set(warmed)) == sorted(q.code for q in P.available_quarters(f.data_start, f.data_end))
    solved, read, viewed = [], [], []
    original, load, view = P.protect_cells_modular, P.counts, P.area_view
    monkeypatch.setattr(P, "protect_cells_modular", lambda *a, **k: solved.append(1) or original(*a, **k))
    monkeypatch.setattr(P, "counts", lambda *a, **k: read.append(1) or load(*a, **k))
    monkeypatch.setattr(P, "area_view", lambda *a, **k: viewed.append(a[1]) or view(*a, **k))
    at = app_test("wijkteam", page="views/prioriteiten.py", stadsdeel="WK026803")
    box = next(b for b in at.selectbox if b.label == "Kwartaal")
    assert len(box.options) >= 3
    # the oldest ones (at 5M the default quarter's trend covers the QUARTERS_TREND quarters before it; older
    # ones add one quarter each to solve, ~0.1 s, which the warm-up did)
    for i in (len(box.options) - 1, len(box.options) - 2):
        at.selectbox(key=box.key).select_index(i).run()
        assert not at.exception, at.exception
        assert at.selectbox(key=box.key).value != box.value  # another quarter is shown
    assert solved == [] and read == []  # neither solved again nor read from the warehouse again
    assert viewed == []  # and the stadsdeel's view of each quarter was made by the warm-up too


def test_a_failing_step_is_logged_and_the_rest_still_runs(app_warehouse, monkeypatch, caplog):
    from veiligheid import cyber, warmup
    from veiligheid.warehouse import version_token

    _clear_caches()

    def broken(*a, **k):
        raise RuntimeError("kapot")

    monkeypatch.setattr(cyber, "protection", broken)
    token = version_token(app_warehouse)
    with caplog.at_level("ERROR", logger="veiligheid.warmup"):
        done = warmup.warm(str(app_warehouse), token)
    failed = [label for label, s in done if s is None]
    assert failed and all(label.startswith("Cybercrime") for label in failed)
    assert any(label.startswith("Hennepteelt") and s is not None for label, s in done)  # the steps after it ran
    assert any(label.startswith("Hennepteelt: WK") and s is not None for label, s in done)  # also per stadsdeel
    assert "Cybercrime: onderdrukking laatste 4 weken mislukt" in caplog.text


def test_the_thread_warms_each_new_version_once(app_warehouse):
    from veiligheid import warehouse as W
    from veiligheid import warmup

    seen: list[str] = []
    warmed = threading.Event()

    def fake_warm(path, token):
        seen.append(token)
        warmed.set()
        return [("stap", 0.1), ("kapotte stap", None)]

    t = warmup.Warmer(app_warehouse, 0.05, fake_warm)
    t.start()
    try:
        assert warmed.wait(10)
        time.sleep(0.3)  # several looks at the same version: still one warm-up
        assert seen == [W.version_token(app_warehouse)]
        warmed.clear()
        with W.write_version(app_warehouse) as w:  # a weekly load publishes a new version
            w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f')")
        assert warmed.wait(10)
        assert seen == [seen[0], W.version_token(app_warehouse)] and seen[0] != seen[1]
        time.sleep(0.1)
        assert t.busy is None and t.last["token"] == seen[1] and (t.last["steps"], t.last["done"]) == (2, 1)
    finally:
        t.stop.set()
        t.join(5)
    assert not t.is_alive()


def test_a_new_version_drops_the_cached_figures_of_the_old_one_before_warming(app_warehouse, monkeypatch):
    """After a weekly load, nothing asks for the old version's figures again; they are dropped (st.cache_data
    and the city models) right before the new version is warmed, not on the first version or a new day."""
    from veiligheid import shared, warmup
    from veiligheid import warehouse as W

    computed: list[str] = []

    @st.cache_data(show_spinner=False)
    def figure(token: str) -> int:
        computed.append(token)
        return len(computed)

    monkeypatch.setattr(warmup, "_seen", {})  # this process has met no version yet
    models_cleared: list[int] = []
    monkeypatch.setattr(shared.city_model, "clear", lambda *a: models_cleared.append(1))
    events: list[str] = []
    warmed = threading.Event()

    def fake_warm(path, token):
        events.append(f"warm {token}")
        figure(token)  # the warm-up fills the cache with the new version's figure
        warmed.set()
        return []

    def forget():
        events.append("forget")
        warmup.forget_old_versions()

    old = W.version_token(app_warehouse)
    t = warmup.Warmer(app_warehouse, 0.05, fake_warm, forget)
    t.start()
    try:
        assert warmed.wait(10)
        time.sleep(0.3)
        assert events == [f"warm {old}"] and models_cleared == []  # first version: nothing to drop
        figure(old)
        assert computed == [old]  # cached
        warmed.clear()
        with W.write_version(app_warehouse) as w:
            w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f')")
        assert warmed.wait(10)
        new = W.version_token(app_warehouse)
        assert events == [f"warm {old}", "forget", f"warm {new}"] and models_cleared == [1]
        figure(new)
        assert computed == [old, new]  # the new version's figure is the warm-up's, not dropped
        figure(old)
        assert computed == [old, new, old]  # the old version's figure was dropped: computed again
    finally:
        t.stop.set()
        t.join(5)


def test_a_failing_cleanup_is_logged_and_the_new_version_is_still_warmed(app_warehouse, caplog, monkeypatch):
    from veiligheid import warmup
    from veiligheid import warehouse as W

    monkeypatch.setattr(warmup, "_seen", {})

    seen: list[str] = []
    warmed = threading.Event()

    def fake_warm(path, token):
        seen.append(token)
        warmed.set()
        return []

    def broken():
        raise RuntimeError("kapot")

    t = warmup.Warmer(app_warehouse, 0.05, fake_warm, broken)
    t.start()
    try:
        assert warmed.wait(10)
        warmed.clear()
        with W.write_version(app_warehouse) as w:
            w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f')")
        assert warmed.wait(10)
        assert seen == [seen[0], W.version_token(app_warehouse)]
        assert "oude versies uit de caches halen mislukt" in caplog.text
    finally:
        t.stop.set()
        t.join(5)


def test_only_a_version_not_met_before_drops_the_old_figures(monkeypatch):
    """Versions come one after another: a run still on the old version after the new one was met drops
    nothing again, and neither does the first version a process meets (or another warehouse's first)."""
    from veiligheid import warmup

    monkeypatch.setattr(warmup, "_seen", {})
    dropped: list[int] = []

    def note(path, token):
        return warmup.note_version(path, token, lambda: dropped.append(1))

    assert [note("/a", "v1"), note("/a", "v1"), note("/b", "w1"), note("/a", "missing")] == [False] * 4
    assert note("/a", "v2") and dropped == [1]
    assert [note("/a", "v1"), note("/a", "v2"), note("/b", "w1")] == [False] * 3 and dropped == [1]
    assert note("/b", "w2") and note("/a", "v3") and dropped == [1, 1, 1]


def test_the_first_page_run_on_a_new_version_drops_the_old_versions_figures(app_warehouse, monkeypatch):
    """Without waiting for the warm-up (which looks once a minute, and may be busy): app.py notes the version
    of every run."""
    from veiligheid import shared, warmup
    from veiligheid import warehouse as W

    monkeypatch.setattr(warmup, "_seen", {})
    computed: list[str] = []

    @st.cache_data(show_spinner=False)
    def figure(token: str) -> int:
        computed.append(token)
        return len(computed)

    at = app_test("wijkteam", page="views/data.py")
    assert not at.exception
    old = W.version_token(app_warehouse)
    figure(old)
    cases = shared.hennep_inputs(str(app_warehouse), old)  # a cache_resource: the same object while kept
    at.run()  # the same version again: nothing dropped
    figure(old)
    assert computed == [old] and shared.hennep_inputs(str(app_warehouse), old) is cases
    with W.write_version(app_warehouse) as w:
        w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('r', 'f')")
    at.run()
    assert not at.exception
    figure(old)
    assert computed == [old, old]
    assert shared.hennep_inputs(str(app_warehouse), old) is not cases  # read again: it had been dropped


def test_a_warm_up_that_raises_does_not_stop_the_thread_or_leave_it_busy(app_warehouse):
    from veiligheid import warmup

    calls = []

    def broken(path, token):
        calls.append(token)
        raise RuntimeError("kapot")

    t = warmup.Warmer(app_warehouse, 0.05, broken)
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert calls and t.is_alive() and t.busy is None and t.last is None
        assert len(calls) == 1  # not again every look: once per version and day
    finally:
        t.stop.set()
        t.join(5)


@pytest.mark.parametrize("value, runs", [("0", False), ("-5", False), ("30", True), ("nan", True), ("veel", True),
                                         ("0.01", True)])
def test_the_setting_turns_the_thread_on_and_off(monkeypatch, tmp_path, value, runs):
    from veiligheid import warmup

    monkeypatch.setenv("VEILIGHEID_WARMUP_SECONDS", value)
    monkeypatch.setattr(warmup, "_thread", None)
    started = []
    monkeypatch.setattr(warmup.Warmer, "start", lambda self: started.append(self.every))
    monkeypatch.setattr(warmup.Warmer, "is_alive", lambda self: bool(started))
    first = warmup.start(tmp_path / "w.duckdb")
    again = warmup.start(tmp_path / "w.duckdb")
    assert (first is not None) == runs
    # started once; typo/nan: 60 s; at most one look a second
    assert started == ([30.0] if value == "30" else [1.0] if value == "0.01" else [60.0] if runs else [])
    assert again is first


def test_the_data_page_tells_beheer_whether_the_current_version_is_warmed(app_warehouse, monkeypatch):
    import datetime as dt

    from veiligheid import warmup
    from veiligheid.warehouse import version_token

    def captions(at) -> str:
        return " ".join(c.value for c in at.caption)

    monkeypatch.setattr(warmup, "_thread", None)  # the tests run with VEILIGHEID_WARMUP_SECONDS=0: no thread
    at = app_test("beheer", page="views/data.py")
    assert not at.exception
    assert "Voorverwarmen staat uit" in captions(at)

    last = {"token": version_token(app_warehouse), "finished": dt.datetime(2026, 11, 30, 6, 1), "steps": 11,
            "done": 10, "seconds": 34.31}
    monkeypatch.setattr(warmup, "status", lambda: {"on": True, "every": 60.0, "busy": None, "last": last})
    at.run()
    text = captions(at)
    assert "Voorverwarmd: deze versie, klaar op 30-11-2026 06:01 in 34,3 s (10 van 11 stappen)" in text
    assert "Niet alle stappen lukten" in text

    last["token"] = "een-andere-versie"
    at.run()
    assert "Voorverwarmd: een eerdere versie" in captions(at)

    at = app_test("wijkteam", page="views/data.py")  # not for other roles
    assert "Voorverwarm" not in captions(at)


def test_rss_is_measured_and_memory_release_reports_a_number():
    import numpy as np

    from veiligheid import warmup

    before = warmup.rss_mb()
    block = np.ones(50_000_000 // 8)  # 50 MB, written so it is resident
    during = warmup.rss_mb()
    assert before and during - before > 40, (before, during)
    del block
    released = warmup.release_memory()
    assert isinstance(released, float) and warmup.rss_mb() < during - 40  # numpy's big block went back

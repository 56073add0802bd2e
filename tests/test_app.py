"""The Streamlit app on a demo warehouse, headless (AppTest): pages, filters, URL state, freshness."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest_app import app_test, app_warehouse, demo_warehouse, map_specs  # noqa: F401  (fixtures)
from veiligheid import filters as F
from veiligheid import queries
from veiligheid.warehouse import connect_readonly, write_version

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DATA_PAGE = "views/data.py"


def _app(role: str = "analist", **params) -> AppTest:
    """The app as a logged-in viewer (analist: true counts; roles and login are tested in test_access.py)."""
    return app_test(role, **params)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _md(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _tiles(at: AppTest) -> list[int]:
    """The big numbers of the tiles, in order (4 priorities, then the total)."""
    return [int(re.search(r">([\d.]+)<", m.value).group(1).replace(".", ""))
            for m in at.markdown if "font-size:2rem" in m.value]


def _expected_tiles(wh: Path, state: F.FilterState) -> list[int]:
    con = connect_readonly(wh)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(state, fresh.data_end)
        t = queries.tiles(con, p, state.themes, state.stadsdeel, state.wijk, fresh.data_start)
        return [int(x) for x in t["n"]]
    finally:
        con.close()


def test_dashboard_runs(app_warehouse):
    at = _app()
    _ok(at)
    assert at.title[0].value == "Dashboards veiligheid"
    assert len(map_specs(at)) == 1
    assert len(at.get("vega_lite_chart")) == 3  # map, trend, weekday x hour
    md = _md(at)
    assert "Demodata" in md and "Data t/m **week" in md
    assert any("Bron: CBS, PDOK (CC BY 4.0)" in c.value for c in at.caption)
    tiles = _tiles(at)
    assert len(tiles) == 5 and tiles == _expected_tiles(app_warehouse, F.FilterState())
    assert len(at.dataframe) == 1
    assert not at.warning  # fresh data, clean URL


def test_data_page_runs(app_warehouse):
    from veiligheid import audit
    audit.log("login", "test-analist", "analist", methode="lokaal")
    at = _app("beheer")
    at.switch_page(DATA_PAGE).run()
    _ok(at)
    assert at.title[0].value == "Data"
    assert "Demodata" in _md(at)  # the label is on every page
    cols = {c for df in at.dataframe for c in df.value.columns}
    assert {"Rijen in quarantaine", "Reden", "Bestand", "Gebeurtenis"} <= cols  # beheer: runs, quarantine, audit
    assert {"Waarde", "Hele regel"} <= cols  # beheer may see the quarantined rows themselves
    # a wijkteam member gets the counts only: no values, no records, no runs, no audit log
    at = _app("wijkteam")
    at.switch_page(DATA_PAGE).run()
    _ok(at)
    cols = {c for df in at.dataframe for c in df.value.columns}
    assert "Reden" in cols
    assert not cols & {"Waarde", "Hele regel", "Rijen in quarantaine", "Gebeurtenis", "Bestanden geladen"}


def test_filters_change_figures(app_warehouse):
    at = _app()
    base = _tiles(at)
    at.selectbox(key="w_stadsdeel").set_value("WK026801").run()
    _ok(at)
    centrum = _tiles(at)
    assert centrum[-1] < base[-1]
    assert centrum == _expected_tiles(app_warehouse, F.FilterState(stadsdeel="WK026801"))
    assert at.query_params["stadsdeel"] == "WK026801"
    assert "stadsdeel Centrum" in _md(at)

    at.multiselect(key="w_thema").set_value(["Fietsdiefstal"]).run()
    _ok(at)
    fiets = _tiles(at)
    assert fiets[-1] < centrum[-1] and fiets[:4] == centrum[:4]  # priority tiles keep their own theme
    assert at.query_params["thema"] == "Fietsdiefstal"

    at.selectbox(key="w_periode").set_value("52w").run()
    _ok(at)
    assert _tiles(at)[-1] > fiets[-1]
    assert at.query_params["periode"] == "52w"
    # a wijk narrows further and keeps its stadsdeel
    at.selectbox(key="w_wijk").set_value("BU02680101").run()
    _ok(at)
    assert at.selectbox(key="w_stadsdeel").value == "WK026801"
    assert at.query_params["wijk"] == "BU02680101"


def test_url_restores_view(app_warehouse):
    at = _app(periode="13w", thema="Fietsdiefstal,Woninginbraak", stadsdeel="WK026807", kaart="stadsdeel",
              maat="index")
    _ok(at)
    assert not at.warning
    assert at.selectbox(key="w_periode").value == "13w"
    assert at.multiselect(key="w_thema").value == ["Fietsdiefstal", "Woninginbraak"]
    assert at.selectbox(key="w_stadsdeel").value == "WK026807"
    assert at.radio(key="w_kaart").value == "stadsdeel"
    assert at.radio(key="w_maat").value == "index"
    state = F.FilterState(preset="13w", themes=("Fietsdiefstal", "Woninginbraak"), stadsdeel="WK026807")
    assert _tiles(at) == _expected_tiles(app_warehouse, state)
    assert "stadsdeel Dukenburg" in _md(at)


def test_custom_period_from_url(app_warehouse):
    at = _app(periode="aangepast", van="2026-01-05", tot="2026-03-01")
    _ok(at)
    assert at.selectbox(key="w_periode").value == "aangepast"
    assert "05-01-2026 t/m 01-03-2026" in _md(at)
    state = F.FilterState(preset="aangepast", start=dt.date(2026, 1, 5), end=dt.date(2026, 3, 1))
    assert _tiles(at) == _expected_tiles(app_warehouse, state)


@pytest.mark.parametrize("params", [
    {"periode": "eeuwig", "stadsdeel": "WK999999"},
    {"periode": "aangepast", "van": "31-02-2026", "tot": "kapot"},
    {"thema": "Kattenkwaad,Overvallen", "wijk": "'; DROP TABLE incidenten; --", "kaart": "3d", "maat": "??"},
])
def test_bad_url_params_show_notice(app_warehouse, params):
    at = _app(**params)
    _ok(at)
    assert at.warning, "a bad link must be told, not silently ignored"
    assert len(map_specs(at)) == 1
    assert len(_tiles(at)) == 5


def test_state_survives_page_change(app_warehouse):
    at = _app()
    at.selectbox(key="w_stadsdeel").set_value("WK026803").run()
    at.switch_page(DATA_PAGE).run()
    _ok(at)
    assert at.query_params["stadsdeel"] == "WK026803"  # written back to the URL on every page
    at.switch_page("views/dashboards_veiligheid.py").run()
    _ok(at)
    assert at.selectbox(key="w_stadsdeel").value == "WK026803"
    assert "stadsdeel Oud-West" in _md(at)


def test_new_warehouse_version_shows_without_restart(app_warehouse):
    at = _app()
    before = _tiles(at)
    with write_version(app_warehouse) as w:  # a new weekly load swaps the file
        w.con.execute("DELETE FROM incidenten WHERE soort_code IN "
                      "(SELECT code FROM soort_misdrijf WHERE thema = 'Overvallen')")
    at.run()
    _ok(at)
    after = _tiles(at)
    overvallen = queries.priority_themes(connect_readonly(app_warehouse)).index("Overvallen")
    assert after[overvallen] == 0
    assert after[-1] == before[-1] - before[overvallen]


def test_stale_ingest_warns(app_warehouse):
    with write_version(app_warehouse) as w:
        w.con.execute("UPDATE ingest_runs SET finished_at = finished_at - INTERVAL 10 DAY, "
                      "started_at = started_at - INTERVAL 10 DAY")
    at = _app()
    _ok(at)
    assert any("werkt waarschijnlijk niet" in x.value for x in at.warning)
    at.switch_page(DATA_PAGE).run()
    assert any("werkt waarschijnlijk niet" in x.value for x in at.warning)


def test_real_data_has_no_demo_label(app_warehouse):
    with write_version(app_warehouse) as w:
        w.con.execute("DELETE FROM meta WHERE key = 'demo'")
    at = _app()
    _ok(at)
    assert "Demodata" not in _md(at)


def test_no_legacy_pages_folder():
    """A `pages/` folder beside app.py makes deep links after a restart skip the app shell (see app.py)."""
    assert not (Path(APP).parent / "pages").exists(), "put page files in views/ and register them in app.py"


def _all_text(at: AppTest) -> str:
    """Everything a viewer can read on the page: text elements, tables, chart data and tooltips."""
    parts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "warning", "info", "success", "error",
                 "metric", "text", "code", "expander"):
        for el in at.get(kind):
            parts.append(str(getattr(el, "value", "")) + str(getattr(el, "label", "")))
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    for el in at.get("vega_lite_chart"):  # the map too
        parts.append(str(el.proto))
    return "\n".join(parts)


def test_free_text_quarantined_values_and_refused_content_never_reach_the_page(app_warehouse):
    """Free text (omschrijving), quarantined values and records, and the content of a refused file
    may hold personal data: a marker planted in each must not appear anywhere on either page."""
    import datetime as _dt

    from pipelines.ingest import run_ingest
    from veiligheid.config import Config

    inbox = app_warehouse.parent / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    y, w, _ = _dt.date.today().isocalendar()
    day = _dt.date.today().strftime("%d-%m-%Y")
    rows = "".join(f"PRIV{i};{day};MOR;Overig;Geheim-OMSCHRIJVING-{i};BU02680101\n" for i in range(10))
    rows += f"PRIVX;{day};GEHEIM-WAARDE;Overig;tekst;BU02680101\n"  # a bad value: to quarantine
    (inbox / f"registraties_{y}-W{w:02d}_privacy.csv").write_text(
        "registratie_id;datum;bron;categorie;omschrijving;buurtcode\n" + rows, encoding="utf-8")
    (inbox / f"registraties_{y}-W{w:02d}_zonderkop.csv").write_text(  # headerless: a record as "header"
        f"R1;{day};MOR;Overig;GEHEIM-KOPREGEL bij Jansen;BU02680101\n", encoding="utf-8")
    res = run_ingest(Config.from_env(warehouse=str(app_warehouse), inbox=str(inbox)))
    assert sorted(f.status for f in res.files) == ["loaded", "refused"]
    assert sum(f.rows_quarantined for f in res.files if f.status == "loaded") == 1

    for role in ("wijkteam", "analist", "beheer"):
        for page in (None, DATA_PAGE):
            at = _app(role)
            if page:
                at.switch_page(page).run()
            _ok(at)
            text = _all_text(at)
            assert len(text) > 1000  # the page really rendered
            # free text of loaded rows and the content of a refused file: nobody, ever
            for marker in ("Geheim-OMSCHRIJVING", "GEHEIM-KOPREGEL", "Jansen"):
                assert marker not in text, (role, page, marker)
            # quarantined values: only analist and beheer, only on the Data page
            assert ("GEHEIM-WAARDE" in text) == (role != "wijkteam" and page == DATA_PAGE), (role, page)
            # that something was quarantined is visible to everyone; refused files only to beheer
            if page:
                assert "onbekende waarde voor bron" in text
                assert ("zonderkop" in text) == (role == "beheer"), role


def test_filters_survive_between_pages_with_filters(app_warehouse):
    """Dashboard -> cybercrime -> hennepteelt -> dashboard: the same filter widgets on every page keep their values."""
    at = _app(periode="13w", stadsdeel="WK026807")
    _ok(at)
    for page in ("views/cybercrime.py", "views/hennepteelt.py", "views/dashboards_veiligheid.py"):
        at.switch_page(page).run()
        _ok(at)
        assert at.sidebar.selectbox(key="w_periode").value == "13w", page
        assert at.sidebar.selectbox(key="w_stadsdeel").value == "WK026807", page
        assert at.query_params["stadsdeel"] in ("WK026807", ["WK026807"]), page

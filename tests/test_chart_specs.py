"""The pages draw their charts through ui.altair_chart, which skips Altair's validation on every rerun
(issue 8, session 9). These tests do that validation instead: every chart every page draws, for both
roles, is a valid Vega-Lite spec, and the helper sends exactly the spec st.altair_chart would."""
from __future__ import annotations

import copy
import importlib
import json

import pytest
from altair.vegalite.v6.schema import core as vl

from tests.conftest_app import app_test, app_warehouse, demo_warehouse  # noqa: F401  (fixtures)
from tests.test_priorities import demo_city  # noqa: F401  (fixture)

PAGES = ["views/dashboards_veiligheid.py", "views/prioriteiten.py", "views/cybercrime.py", "views/hennepteelt.py"]


def _specs(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


@pytest.mark.parametrize("role", ["analist", "wijkteam"])
def test_every_chart_of_every_page_is_valid_vega_lite(app_warehouse, role):
    drawn = {}
    for page in PAGES:
        at = app_test(role, page=page, stadsdeel="WK026803")
        assert not at.exception, (page, at.exception)
        specs = _specs(at)
        drawn[page] = len(specs)
        for spec in specs:
            vl.Root.validate(spec)  # raises jsonschema.ValidationError with the offending property
    assert all(drawn.values()), drawn  # every page drew charts, so the check above checked something


def test_the_validation_finds_a_broken_chart():
    import altair as alt
    from jsonschema import ValidationError

    spec = alt.Chart(alt.Data(values=[{"a": 1}])).mark_bar().encode(x="a:Q").to_dict()
    vl.Root.validate(spec)
    spec["encoding"]["x"]["type"] = "getal"  # not a Vega-Lite type
    with pytest.raises(ValidationError):
        vl.Root.validate(spec)


def _draw_both_ways():
    import altair as alt
    import pandas as pd
    import streamlit as st

    from veiligheid import ui

    def chart():
        df = pd.DataFrame({"week": pd.date_range("2026-01-05", periods=6, freq="7D"), "n": [3, 5, 2, 8, 4, 6]})
        line = alt.Chart(df).mark_line().encode(x=alt.X("week:T", title=None), y=alt.Y("n:Q", title="aantal"))
        return alt.layer(line, line.mark_point()).properties(height=200).configure(
            locale={"number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["€", ""]}})

    st.altair_chart(chart(), width="stretch")
    ui.altair_chart(chart(), width="stretch")


def test_the_helper_sends_the_same_chart_as_st_altair_chart():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_draw_both_ways, default_timeout=60).run()
    assert not at.exception, at.exception
    a, b = at.get("vega_lite_chart")
    assert json.loads(a.proto.spec) == json.loads(b.proto.spec)
    assert [d.data.data for d in a.proto.datasets] == [d.data.data for d in b.proto.datasets]
    assert len(a.proto.datasets) == 1 and '"values"' not in a.proto.spec  # the data went as Arrow, not inline


def test_dutch_config_equals_altairs_configure_chain_and_is_not_shared_mutably():
    import altair as alt
    import pandas as pd

    from veiligheid import charts, fmt

    def chart():
        return alt.Chart(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})).mark_bar().encode(x="a:Q", y="b:N", color="b:N")

    legend = {"labelFontSize": 11, "titleFontSize": 11}
    old = chart().configure(locale=fmt.altair_locale()).configure_axis(labelFontSize=11, titleFontSize=12) \
        .configure_legend(**legend).configure_view(stroke=None).to_dict()
    new = charts.dutch(chart(), axis=(11, 12), legend=legend, view_stroke=False).to_dict()
    assert new == old
    assert new["config"]["locale"]["number"]["decimal"] == ","
    plain = charts.dutch(chart()).to_dict()  # no legend or view settings: none in the spec either
    assert plain["config"] == chart().configure(locale=fmt.altair_locale()).configure_axis(
        labelFontSize=12, titleFontSize=12).to_dict()["config"]
    # one Config object serves many charts; configuring one chart further must not change the others
    a, b = charts.dutch(chart()), charts.dutch(chart())
    assert a.configure_view(strokeWidth=3).to_dict()["config"]["view"]["strokeWidth"] == 3
    assert "strokeWidth" not in b.to_dict()["config"].get("view", {})


BUILDS: list[int] = []


def counted_trend_chart(df, height):
    """A module-level chart builder for ui.cached_chart that counts its calls."""
    import altair as alt

    from veiligheid import charts

    BUILDS.append(height)
    line = alt.Chart(df).mark_line().encode(x=alt.X("week:T", title=None), y=alt.Y("n:Q", title="aantal"))
    return charts.dutch(alt.layer(line, line.mark_point()).properties(height=height))


def _draw_cached_and_plain():
    import pandas as pd
    import streamlit as st

    from tests.test_chart_specs import counted_trend_chart
    from veiligheid import ui

    n = st.session_state.get("n", [3, 5, 2, 8, 4, 6])
    df = pd.DataFrame({"week": pd.date_range("2026-01-05", periods=6, freq="7D"), "n": n})
    st.altair_chart(counted_trend_chart(df, 200), width="stretch")
    ui.cached_chart(counted_trend_chart, df, 200, width="stretch")


def test_a_cached_chart_is_the_same_element_and_is_built_once_per_content():
    """ui.cached_chart sends what st.altair_chart sends (spec, data as Arrow), and builds the chart again only
    when what it shows changes (here: the counts)."""
    from streamlit.testing.v1 import AppTest

    from veiligheid import ui

    # the counter of the module the app's run imports (pytest may have imported this file under another name)
    BUILDS = importlib.import_module("tests.test_chart_specs").BUILDS
    ui._chart_spec.clear()
    BUILDS.clear()
    at = AppTest.from_function(_draw_cached_and_plain, default_timeout=60).run()
    assert not at.exception, at.exception
    plain, cached = at.get("vega_lite_chart")
    assert json.loads(cached.proto.spec) == json.loads(plain.proto.spec)
    assert [d.data.data for d in cached.proto.datasets] == [d.data.data for d in plain.proto.datasets]
    assert len(cached.proto.datasets) == 1 and '"values"' not in cached.proto.spec
    assert len(BUILDS) == 2  # st.altair_chart's and the cached one
    at.run()
    assert len(BUILDS) == 3  # only st.altair_chart's again: the same counts come from the cache
    at.session_state["n"] = [3, 5, 2, 8, 4, 7]
    at.run()
    assert len(BUILDS) == 5  # new counts: built again
    plain, cached = at.get("vega_lite_chart")
    assert [d.data.data for d in cached.proto.datasets] == [d.data.data for d in plain.proto.datasets]


def test_altairs_class_table_is_built_once_and_charts_stay_the_same(monkeypatch):
    """ui reuses Altair's schema-to-class table (built on every shorthand channel otherwise, ~4 ms each): the
    specs of the pages' kind of chart (shorthand channels, conditions, tooltips, layers) are the same as with a
    table built per call, and the schemas are hashed once, not per chart."""
    import altair as alt
    import pandas as pd
    from altair.utils import schemapi

    from veiligheid import charts, ui  # noqa: F401  (ui installs the reuse)

    def chart():
        df = pd.DataFrame({"wijk": ["a", "b"], "thema": ["x", "y"], "kleur": [80.0, 150.0], "tekst": ["80", "150"]})
        base = alt.Chart()
        rect = base.mark_rect().encode(x="thema:N", y="wijk:N", color="kleur:Q",
                                       tooltip=[alt.Tooltip("wijk:N", title="Wijk"), "tekst:N"])
        text = base.mark_text().encode(x="thema:N", y="wijk:N", text="tekst:N",
                                       color=alt.condition("datum.kleur > 100", alt.value("white"), alt.value("#222")))
        return charts.dutch(alt.layer(rect, text, data=df)).to_dict(validate=False)

    hashed = []
    original = schemapi._FromDict.hash_schema.__func__

    def counting(cls, schema, use_json=True):
        hashed.append(1)
        return original(cls, schema, use_json)

    chart()  # the first chart of the process may build the table
    monkeypatch.setattr(schemapi._FromDict, "hash_schema", classmethod(counting))
    reused = chart()
    assert 0 < len(hashed) < 50  # only the dicts being converted; not ~570 class schemas per channel
    monkeypatch.setattr(schemapi._FromDict, "__init__", _build_every_time())
    hashed.clear()
    assert chart() == reused
    assert len(hashed) > 5 * 500  # a table per channel: every class schema hashed again (what the reuse saves)


def _build_every_time():
    """Altair's own _FromDict.__init__ (before ui's reuse): builds the table on every call."""
    from collections import defaultdict

    def __init__(self, wrapper_classes, /):
        self.class_dict = defaultdict(list)
        for tp in wrapper_classes:
            if tp._schema is not None:
                self.class_dict[self.hash_schema(tp._schema)].append(tp)

    return __init__


# ------------------------------------------------------------------ specs from a template (ui.spec_from_template)
def _pairs(demo_city):
    """(view, theme order) of the demo's last full quarter: a wijkteam's (hidden cells) and an analist's, for a
    stadsdeel with few wijken and one with many."""
    from tests.test_priorities import OPEN, WIJKTEAM
    from veiligheid import priorities as P

    raw, hidden = demo_city
    for sd in ("WK026801", "WK026807"):
        view = P.area_view(raw, sd)
        for pv in (P.protect(view, WIJKTEAM, hidden), P.protect(view, OPEN, frozenset())):
            yield pv, tuple(P.score(pv.themes, P.WEIGHTS, exclude=pv.themes["n_verborgen"])["key"])


def test_a_template_spec_equals_the_altair_built_one(demo_city):
    """The page's grid and trend charts come from a template (Altair builds each kind once, then the values and
    data are filled in): exactly the spec Altair builds for the same figures, for both sources, both roles,
    hidden cells, every theme's trend."""
    from veiligheid import priorities as P
    from veiligheid import ui

    grids = trends = hidden = 0
    for pv, order in _pairs(demo_city):
        for bron in P.BRONNEN:
            own = tuple(k for k in order if P.split_key(k)[0] == bron)
            built = ui._altair_spec(P.dutch_grid_chart(pv.grids[bron], pv.policy, own))
            frames, structure = P.grid_display(pv.grids[bron], pv.policy, own)
            assert ui.spec_from_template(P.dutch_grid_layers, frames, structure) == built
            grids += 1
            g = pv.grids[bron]
            hidden += int(g["verborgen"].sum()) if "verborgen" in g.columns else 0
        for k in order:
            built = ui._altair_spec(P.dutch(P.trend_chart(pv, k, height=300)))
            made = ui.spec_from_template(P.dutch_trend_layers, *P.trend_display(
                P.trend_frame(pv, k), f"Stadsdeel {pv.naam}", f"Heel {pv.gemeente}", 300, P.label(k)))
            assert made == built
            trends += 1
    assert grids == 8 and trends > 40 and hidden > 0  # the wijkteam's grids had hidden cells to show as '<5'
    # without a title (the meeting pack's trend): another kind of chart, also equal
    pv, order = next(_pairs(demo_city))
    (long,), structure = P.trend_display(P.trend_frame(pv, order[0]), "a", "b", 220)
    assert "title" not in structure
    assert ui.spec_from_template(P.trend_layers, (long,), structure) == ui._altair_spec(
        P.trend_layers(long, **structure))


def test_altair_builds_each_kind_of_template_once(monkeypatch, demo_city):
    from veiligheid import priorities as P
    from veiligheid import ui

    ui._skeletons.clear()
    calls = []
    real = P.grid_layers
    monkeypatch.setattr(P, "grid_layers", lambda *a, **k: calls.append(1) or real(*a, **k))
    specs = [ui.spec_from_template(P.dutch_grid_layers, *P.grid_display(pv.grids[b], pv.policy, order))
             for pv, order in _pairs(demo_city) for b in P.BRONNEN]
    assert len(calls) == 1 and len(specs) == 8
    # and every spec carries its own data: the names are the hashes of the Arrow bytes
    names = [next(iter(s["datasets"])) for s in specs]
    assert len(set(names)) == 8 and all(s["data"] == {"name": n} for s, n in zip(specs, names))


def _computes_with_its_structure(frame, order: list[str], height: int):
    import altair as alt

    return alt.Chart(frame).mark_bar().encode(x=alt.X("a:N", sort=sorted(order)), y="b:Q").properties(
        height=height * 2)


def _sorts_its_structure(frame, order: list[str]):
    import altair as alt

    return alt.Chart(frame).mark_bar().encode(x=alt.X("a:N", sort=sorted(order)), y="b:Q")


def _writes_its_structure_into_a_text(frame, name: str):
    import altair as alt

    return alt.Chart(frame).mark_bar().encode(x="a:N", y="b:Q").transform_filter(f"datum.a != '{name}'")


def _ignores_its_structure(frame, order: list[str]):
    import altair as alt

    return alt.Chart(frame).mark_bar().encode(x="a:N", y="b:Q")


def test_a_builder_that_does_not_pass_its_structure_through_is_refused():
    """A marker that does not reach the spec whole and as given (the builder computed with it, sorted it, wrote it
    into a longer text, or left it out) would give a wrong chart when filled: refused when the template is made."""
    import pandas as pd

    from veiligheid import ui

    frame = pd.DataFrame({"a": ["x", "y"], "b": [1, 2]})
    with pytest.raises(ValueError, match="height"):
        ui.spec_from_template(_computes_with_its_structure, (frame,), {"order": ["y", "x"], "height": 100})
    with pytest.raises(ValueError, match="order"):
        ui.spec_from_template(_ignores_its_structure, (frame,), {"order": ["y", "x"]})
    with pytest.raises(ValueError, match="order"):  # sorted: the list reaches the spec, but not as given
        ui.spec_from_template(_sorts_its_structure, (frame,), {"order": ["y", "x"]})
    with pytest.raises(ValueError):  # inside a longer text, where filling in would not reach it
        ui.spec_from_template(_writes_its_structure_into_a_text, (frame,), {"name": "x"})
    with pytest.raises(TypeError):
        ui.spec_from_template(_ignores_its_structure, (frame,), {"order": {"x": 1}})


@pytest.mark.parametrize("role", ["wijkteam", "analist"])
def test_every_template_chart_the_pages_draw_equals_its_altair_build(app_warehouse, monkeypatch, role):
    """Every chart the pages draw through ui.template_chart (Prioriteiten: grids and trend; Cybercrime: risk and
    trend, per quarter and per year; Hennepteelt: the chain and the months) is exactly the spec Altair builds from
    the same frames and structure."""
    from veiligheid import ui

    calls = []
    made = ui.spec_from_template

    def recording(layers, frames, structure):
        spec = made(layers, frames, structure)
        calls.append((layers, frames, structure, copy.deepcopy(spec)))  # (Streamlit edits the spec it is given)
        return spec

    monkeypatch.setattr(ui, "spec_from_template", recording)
    ui._template_spec.clear()
    at = app_test(role, page="views/prioriteiten.py", stadsdeel="WK026803")
    assert not at.exception, at.exception
    at = app_test(role, page="views/cybercrime.py")  # the whole city: groups large enough for a risk chart
    assert not at.exception, at.exception
    at.radio(key="cy_per").set_value("jaar").run()
    assert not at.exception, at.exception
    at = app_test(role, page="views/hennepteelt.py", periode="52w")  # the whole city: the chain and the months
    assert not at.exception, at.exception
    drawn = {layers.__name__ for layers, *_ in calls}
    assert drawn == {"dutch_grid_layers", "dutch_trend_layers", "cyber_risk_layers", "cyber_trend_layers",
                     "hennep_funnel_layers", "hennep_monthly_layers"}, drawn
    if role == "wijkteam":  # small monthly counts are hidden: their markers are a third layer of their own
        assert any(len(frames) == 3 for layers, frames, *_ in calls if layers.__name__ == "hennep_monthly_layers")
    assert {s["title"] for layers, _, s, _ in calls if layers.__name__ == "cyber_trend_layers"} == {"Kwartaal", "Jaar"}
    for layers, frames, structure, spec in calls:
        assert spec == ui._altair_spec(layers(*frames, **structure)), layers.__name__


def test_the_cyber_trend_template_with_and_without_hidden_counts():
    """The trend's hidden counts are a third layer with its own data: a template of its own, equal to Altair's."""
    import pandas as pd

    from veiligheid import charts, ui

    shown = pd.DataFrame({"bucket": ["2025", "2026"], "n": [40, 12], "tekst": ["40", "12"],
                          "volledigheid": [charts.CYBER_FULL[0], charts.CYBER_FULL[1]]})
    hidden = pd.DataFrame({"bucket": ["2024"], "tekst": ["<5"], "volledigheid": [charts.CYBER_FULL[1]], "y0": [0.0]})
    for hid in (hidden, hidden.iloc[:0]):
        args = (shown, hid, ("2024", "2025", "2026"), "jaar")
        spec = ui.spec_from_template(charts.cyber_trend_layers, *charts.cyber_trend_display(*args))
        assert spec == ui._altair_spec(charts.cyber_trend(*args))
        assert len(spec["layer"]) == (3 if len(hid) else 2) and len(spec["datasets"]) == (2 if len(hid) else 1)
    # the risk chart's own dataset (the dashed line at 1) is kept beside the filled-in frame
    data = pd.DataFrame({"groep": ["a", "b"], "indeling": ["x", "x"], "x_rr": [0.5, 2.0], "x_rr_lo": [0.3, 1.5],
                         "x_rr_hi": [0.9, 2.6], "uitkomst": [charts.RISK_OUTCOMES[2], charts.RISK_OUTCOMES[0]],
                         "tt_n": ["5", "9"], "tt_rate": ["1", "2"], "tt_rr": ["0,5", "2"], "tt_bi": ["", ""]})
    args = (data, ("b", "a"), (0.27, 2.86))
    spec = ui.spec_from_template(charts.cyber_risk_layers, *charts.cyber_risk_display(*args))
    assert spec == ui._altair_spec(charts.cyber_risk(*args)) and len(spec["datasets"]) == 2


def test_a_template_takes_any_column_type_of_its_frame():
    """The placeholder is the frame itself without rows, so any column type works (a dictionary-encoded Arrow
    column could not be rebuilt from its dtype's name)."""
    import pandas as pd
    import pyarrow as pa

    from veiligheid import ui

    frame = pd.DataFrame({"a": pd.Series(["x", "y"], dtype=pd.ArrowDtype(pa.dictionary(pa.int8(), pa.string()))),
                          "b": [1, 2]})
    spec = ui.spec_from_template(_sorted_by_its_structure, (frame,), {"order": ["y", "x"]})
    assert spec == ui._altair_spec(_sorted_by_its_structure(frame, ["y", "x"]))


def _sorted_by_its_structure(frame, order: list[str]):
    import altair as alt

    return alt.Chart(frame).mark_bar().encode(x=alt.X("a:N", sort=list(order)), y="b:Q")

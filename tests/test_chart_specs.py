"""The pages draw their charts through ui.altair_chart, which skips Altair's validation on every rerun
(issue 8, session 9). These tests do that validation instead: every chart every page draws, for both
roles, is a valid Vega-Lite spec, and the helper sends exactly the spec st.altair_chart would."""
from __future__ import annotations

import importlib
import json

import pytest
from altair.vegalite.v6.schema import core as vl

from tests.conftest_app import app_test, app_warehouse, demo_warehouse  # noqa: F401  (fixtures)

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

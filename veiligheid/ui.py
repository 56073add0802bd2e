"""Shared Streamlit bits: the warehouse connection and caches, the filter state, the banner.

The warehouse is opened read-only, one connection per warehouse version (st.cache_resource);
every query runs on its own cursor (see queries._df) and its result is cached keyed on the
version token, so a new weekly load shows on the next rerun without restarting the server.
"""
from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd
import streamlit as st
from altair.utils import schemapi

from . import audit, fmt, queries
from . import filters as F
from .access import Viewer
from .config import ATTRIBUTION, Config  # noqa: F401  (ATTRIBUTION: used by the pages as ui.ATTRIBUTION)
from .warehouse import connect_token, version_token

VIEWER = "viewer"  # session_state key of the logged-in Viewer (set only by veiligheid.auth)
STATE = "filters"  # session_state key of the FilterState (never a widget key)
NOTICES = "filter_notices"

# Altair checks every schema object against the Vega-Lite JSON schema as it is built ("debug mode": better
# tracebacks while writing chart code). The pages build the same fixed charts on every rerun, so in the app
# that is pure cost; tests/test_chart_specs.py validates every chart the pages draw instead.
schemapi.disable_debug_mode()


def _reuse_altair_class_tables() -> None:
    """Altair 6.3 builds a new `_FromDict` for every `SchemaBase.from_dict` call, which is every shorthand channel
    of every chart ("n:Q", alt.condition(...)): it hashes the JSON schema of all ~570 Vega-Lite classes (~4 ms)
    to find the class of one dict. That table depends only on the classes, fixed after import, so it is built
    once per set of classes and reused (upstream: vega/altair#3547, open). Charts and specs are unchanged
    (tests/test_chart_specs.py)."""
    cls = schemapi._FromDict
    if getattr(cls, "_veiligheid_tables", None) is not None:
        return
    build = cls.__init__
    tables: dict[tuple, dict] = {}

    def __init__(self, wrapper_classes, /) -> None:
        classes = tuple(wrapper_classes)
        table = tables.get(classes)
        if table is None:
            build(self, classes)
            tables[classes] = self.class_dict
        else:
            self.class_dict = table

    cls.__init__ = __init__
    cls._veiligheid_tables = tables


_reuse_altair_class_tables()


# ------------------------------------------------------------------ charts
def altair_chart(chart: alt.TopLevelMixin, **kwargs) -> None:
    """st.altair_chart without the JSON-schema validation of the finished chart.

    Streamlit converts the chart with `chart.to_dict()`, which validates the whole spec against the
    Vega-Lite schema: with the checks while building, about a fifth of a page rerun at 5M (py-spy, session
    9), the same work for the same chart code on every rerun. The spec itself is unchanged
    (tests/test_chart_specs.py: equal to st.altair_chart's, and every page's charts valid)."""
    # an instance attribute, so Streamlit's own call of chart.to_dict() gets validate=False
    object.__setattr__(chart, "to_dict", functools.partial(chart.to_dict, validate=False))
    st.altair_chart(chart, **kwargs)


def cached_chart(build: Callable[..., alt.TopLevelMixin], *args, **kwargs) -> None:
    """altair_chart(build(*args), **kwargs), with the finished spec kept per content of `args`.

    Building an Altair chart (channel objects, layers, to_dict) cost a third of a page rerun that hits the data
    caches (py-spy, session 11): the same chart rebuilt from the same figures on every click. Here the spec that
    st.altair_chart would send (data as Arrow) is built once per content of the arguments (st.cache_data hashes
    them, DataFrames by content, not their `attrs`: they must hold everything the chart shows, and the builder
    must not read `DataFrame.attrs`) and sent with st.vega_lite_chart;
    tests/test_chart_specs.py checks that the element equals st.altair_chart's. `build` must be a module-level
    function."""
    st.vega_lite_chart(spec=_chart_spec(f"{build.__module__}:{build.__qualname__}", *args), **kwargs)


@st.cache_data(max_entries=256, show_spinner=False)
def _chart_spec(builder: str, *args) -> dict:
    return _altair_spec(_function(builder)(*args))


def _function(name: str) -> Callable:
    module, qualname = name.split(":")
    return getattr(importlib.import_module(module), qualname)


def _name(fn: Callable) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _altair_spec(chart: alt.TopLevelMixin) -> dict:
    """What st.altair_chart sends for `chart` (data as Arrow datasets), without the schema validation."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    object.__setattr__(chart, "to_dict", functools.partial(chart.to_dict, validate=False))
    return _convert_altair_to_vega_lite_spec(chart)


def template_chart(display: Callable[..., tuple[tuple[pd.DataFrame, ...], dict]],
                   layers: Callable[..., alt.TopLevelMixin], *args, **kwargs) -> None:
    """cached_chart for a chart whose Altair build is the slow part: `display(*args)` gives the frames the chart
    shows and its structure (sort orders, height, names), `layers(*frames, **structure)` the Altair chart. The
    spec is `spec_from_template` (Altair builds each kind of chart once), kept per content of `args` like
    cached_chart. Both must be module-level functions."""
    st.vega_lite_chart(spec=_template_spec(_name(display), _name(layers), *args), **kwargs)


@st.cache_data(max_entries=256, show_spinner=False)
def _template_spec(display: str, layers: str, *args) -> dict:
    frames, structure = _function(display)(*args)
    return spec_from_template(_function(layers), frames, structure)


def spec_from_template(layers: Callable[..., alt.TopLevelMixin], frames: tuple[pd.DataFrame, ...],
                       structure: dict) -> dict:
    """The spec st.altair_chart would send for `layers(*frames, **structure)`, without building it in Altair.

    Building an Altair chart (channel objects checked against the schema, layers deep-copied, to_dict) costs
    ~20-40 ms for the pages' larger charts (py-spy, session 14), while the spec of one kind of chart differs only
    in its data and a few values. So Altair builds it once per kind (`layers`, the frames' columns and dtypes,
    the names and types of the structure) from placeholders: the frames without rows, and in place of each
    structure value a unique marker (a list of two marker strings in descending order, a string, an int or float
    nobody uses). Each call then fills in the real values and the frames as Arrow, named by the hash of their
    bytes as Streamlit names them. `layers` must put every structure value into the spec as it is (a sort list,
    a domain, a height, a name), never compute with it or look at the data: the tests compare the result with
    the Altair-built spec, and a marker that does not reach the spec whole and unchanged raises here."""
    from streamlit import dataframe_util
    from streamlit.util import calc_hash

    key = (_name(layers), tuple(_frame_kind(f) for f in frames),
           tuple((k, _value_kind(v)) for k, v in structure.items()))
    with _skeletons_lock:
        made = _skeletons.get(key)
    if made is None:
        made = _skeleton(layers, tuple(f.iloc[:0] for f in frames), key[2])
        with _skeletons_lock:
            if len(_skeletons) >= 64:
                _skeletons.clear()
            _skeletons[key] = made
    skeleton, names, markers = made
    data = [dataframe_util.convert_anything_to_arrow_bytes(f) for f in frames]
    real = [calc_hash(b) for b in data]
    subs = {m: structure[k] for k, m in markers.items()} | dict(zip(names, real))
    spec = _fill({k: v for k, v in skeleton.items() if k != "datasets"}, subs)
    # datasets the builder makes itself (a constant line) stay; the placeholders' give way to the real frames'
    spec["datasets"] = {k: v for k, v in skeleton.get("datasets", {}).items() if k not in names} | dict(zip(real, data))
    return spec


_skeletons: dict[tuple, tuple[dict, list[str], dict]] = {}
_skeletons_lock = threading.Lock()


def _frame_kind(frame: pd.DataFrame) -> tuple:
    return tuple((str(c), str(t)) for c, t in frame.dtypes.items())


def _value_kind(value) -> str:
    if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
        return "strings"
    for kind in (str, float, int):
        if isinstance(value, kind) and not isinstance(value, bool):
            return kind.__name__
    raise TypeError(f"no template marker for {type(value).__name__}: {value!r}")


def _skeleton(layers: Callable[..., alt.TopLevelMixin], empty: tuple[pd.DataFrame, ...],
              structure: tuple) -> tuple[dict, list[str], dict]:
    """The spec of `layers` built by Altair from placeholders (`empty`: the frames without rows); the placeholder
    frames' dataset names; the marker of each structure value."""
    from streamlit import dataframe_util
    from streamlit.util import calc_hash

    names = [calc_hash(dataframe_util.convert_anything_to_arrow_bytes(f)) for f in empty]
    markers, values = {}, {}
    for i, (k, kind) in enumerate(structure):
        if kind == "strings":  # two, descending: a builder that sorts, reverses or drops one changes them
            markers[k] = (f"\x00{k}\x002", f"\x00{k}\x001")
        else:
            markers[k] = {"str": f"\x00{k}", "int": 987_654_301 + i, "float": 987_654.321 + i}[kind]
        values[k] = list(markers[k]) if kind == "strings" else markers[k]
    if len(set(names)) != len(names):
        raise ValueError("frames of the same columns and types: their datasets could not be told apart")
    spec = _altair_spec(layers(*empty, **values))
    found: set = set()
    probe = _fill({k: v for k, v in spec.items() if k != "datasets"},
                  {m: ["ok"] if isinstance(m, tuple) else "ok" for m in [*markers.values(), *names]}, found)
    missing = [k for k, m in markers.items() if m not in found] + [n for n in names if n not in found]
    if missing or "\\u0000" in json.dumps(probe):  # a marker not in the spec whole, or changed, or in a text
        raise ValueError(f"{_name(layers)}: {missing or 'a marker'} not in the spec as given (computed with, "
                         "or unused)")
    return spec, names, markers


def _fill(node, subs: dict, found: set | None = None):
    """A copy of the spec `node` with every marker replaced (a marker list as a whole)."""
    if isinstance(node, dict):
        return {k: _fill(v, subs, found) for k, v in node.items()}
    if isinstance(node, list):
        if len(node) == 2 and all(isinstance(x, str) for x in node) and tuple(node) in subs:
            if found is not None:
                found.add(tuple(node))
            return list(subs[tuple(node)])
        return [_fill(v, subs, found) for v in node]
    if isinstance(node, (str, int, float)) and not isinstance(node, bool) and node in subs:
        if found is not None:
            found.add(node)
        return subs[node]
    return node


# ------------------------------------------------------------------ warehouse
def warehouse_path() -> Path:
    return Config.from_env().warehouse


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(path: str, token: str) -> duckdb.DuckDBPyConnection:
    """One read-only connection per warehouse version; treat as read-only, use cursors.

    It opens the version file that `token` names, never simply the current one: an ingest may swap in a
    new version between reading the token and opening, and the new data must not be cached under the
    old version's key."""
    return connect_token(Path(path), token)


@st.cache_data(max_entries=512, show_spinner=False)
def _query(path: str, token: str, name: str, *args):
    return getattr(queries, name)(_connection(path, token), *args)


PINNED = "_warehouse_version"  # (path, token) of the version this script run reads


def pin_version() -> None:
    """Called by app.py at the start of every run: every query of the run reads this one version, so a
    run never shows the old week in one figure and the new week in the next when an ingest swaps versions
    in between."""
    path = warehouse_path()
    st.session_state[PINNED] = (str(path), version_token(path))


def token() -> str:
    path = warehouse_path()
    pinned = st.session_state.get(PINNED)
    if pinned and pinned[0] == str(path) and pinned[1] != "missing":
        return pinned[1]
    return version_token(path)


def query(name: str, *args):
    """Run queries.<name>(con, *args), cached on the warehouse version (pinned per run) and the arguments."""
    return _query(str(warehouse_path()), token(), name, *args)


def require_warehouse() -> None:
    path = warehouse_path()
    if not path.exists():
        st.error(f"Er is nog geen warehouse ({path}). Start de app met `./run.sh` (bouwt demodata) "
                 "of laad eerst extractbestanden met `python -m pipelines ingest`.")
        st.stop()


def viewer() -> Viewer:
    """The logged-in viewer; app.py's gate guarantees there is one before any page runs."""
    v = st.session_state.get(VIEWER)
    if not isinstance(v, Viewer):  # never render data for nobody
        st.error("U bent niet ingelogd.")
        st.stop()
    return v


# ------------------------------------------------------------------ freshness banner
def freshness() -> queries.Freshness:
    return freshness_at(str(warehouse_path()), token())


def freshness_at(path: str, token: str, today: dt.date | None = None) -> queries.Freshness:
    """The freshness of one warehouse version (also outside a page run: veiligheid.warmup)."""
    today = today or dt.date.today()
    f = _query(path, token, "freshness", today, dt.datetime.combine(today, dt.time()))
    # the age of the last ingest moves with the clock, not with the warehouse: recompute
    if f.last_ingest is not None:
        age = (dt.datetime.now() - f.last_ingest).total_seconds() / 86400
        f = replace(f, ingest_age_days=age, stale=age > queries.STALE_DAYS)
    return f


def banner(f: queries.Freshness) -> None:
    parts = []
    if f.demo:
        parts.append(":orange-badge[Demodata]")
    if f.data_week:
        week = fmt.week_label(f.data_week)
        if f.incomplete_week == f.data_week:
            week += " :gray-badge[week nog niet compleet]"
        parts.append(f"Data t/m **{week}** (t/m {fmt.date(f.data_end)})")
    else:
        parts.append("**Nog geen incidenten ingeladen**")
    parts.append(f"laatste inlading {fmt.datetime(f.last_ingest) if f.last_ingest else 'nooit'}")
    st.markdown(" · ".join(parts))
    if f.demo:
        st.caption("Deze omgeving toont **demodata**: verzonnen incidenten, geijkt op openbare cijfers. "
                   "Trek er geen conclusies uit.")
    if f.stale:
        if f.last_ingest is None:
            st.warning("Er is nog nooit data ingeladen. Controleer de wekelijkse inlaadtaak.", icon=":material/warning:")
        else:
            st.warning(f"De laatste inlading is van {fmt.datetime(f.last_ingest)}, "
                       f"{fmt.integer(f.ingest_age_days)} dagen geleden. De wekelijkse inlaadtaak (cron) werkt "
                       "waarschijnlijk niet: de cijfers zijn niet actueel. Meld dit bij functioneel beheer.",
                       icon=":material/warning:")


# ------------------------------------------------------------------ filter state
def valid(f: queries.Freshness) -> F.Valid:
    return valid_at(str(warehouse_path()), token(), f)


def valid_at(path: str, token: str, f: queries.Freshness) -> F.Valid:
    """The valid filter values of one warehouse version (also outside a page run: veiligheid.warmup)."""
    sd = _query(path, token, "stadsdelen")
    wk = _query(path, token, "wijken")
    th = _query(path, token, "themes")
    return F.Valid(themes=tuple(th["thema"]), stadsdelen=dict(zip(sd["code"], sd["naam"])),
                   wijken=dict(zip(wk["code"], wk["stadsdeel_code"])), data_end=f.data_end,
                   wijk_names=dict(zip(wk["code"], wk["naam"])))


def init_state(v: F.Valid) -> F.FilterState:
    """The session's filter state; parsed from the URL on the first run of a session."""
    if STATE not in st.session_state:
        state, notices = F.parse_params(_url_params(), v)
        st.session_state[STATE] = state
        st.session_state[NOTICES] = notices
    return st.session_state[STATE]


def _url_params() -> dict:
    qp = st.query_params
    return {k: qp.get_all(k) for k in qp.keys()}


def get_state() -> F.FilterState:
    return st.session_state.get(STATE, F.FilterState())


def set_state(state: F.FilterState) -> None:
    if state != st.session_state.get(STATE):
        st.session_state[NOTICES] = []  # the user moved on: old link notices no longer apply
    st.session_state[STATE] = state


def write_url(state: F.FilterState) -> None:
    """Write the state to the URL (also after a page change cleared it)."""
    params = F.to_params(state)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def show_notices() -> None:
    for n in st.session_state.get(NOTICES, []):
        st.warning(n, icon=":material/link:")


# widget keys
W_PRESET, W_RANGE, W_THEMES, W_SD, W_WIJK, W_LEVEL, W_MEASURE = (
    "w_periode", "w_van_tot", "w_thema", "w_stadsdeel", "w_wijk", "w_kaart", "w_maat")


def _seed(key: str, value) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def sync_widgets(state: F.FilterState) -> None:
    """Put the state into the widget keys (after a map click or a restored link)."""
    st.session_state[W_PRESET] = state.preset
    st.session_state[W_THEMES] = list(state.themes)
    st.session_state[W_SD] = state.stadsdeel or ""
    st.session_state[W_WIJK] = state.wijk or ""
    st.session_state[W_LEVEL] = state.level
    st.session_state[W_MEASURE] = state.measure
    if state.start and state.end:
        st.session_state[W_RANGE] = (state.start, state.end)


def map_key(name: str, state: F.FilterState) -> str:
    """The widget key of a clickable map, new for every area shown: Streamlit reports a selection only when it
    differs from the map's last one, so with one fixed key, clicking an area again after choosing another one in
    the sidebar (or "Toon hele stad") did nothing."""
    return f"{name}-{state.level}-{state.stadsdeel or ''}-{state.wijk or ''}"


def select_area_from_map(key: str, v: F.Valid) -> None:
    """Callback of a clickable area map (a `maps.chart` with key=`key`): a click selects that area and filters
    the page; a click beside the areas goes back one level."""
    from . import maps

    state = get_state()
    selection = st.session_state.get(key, {}).get("selection")
    if maps.picked_other(selection):  # a click on a dot (to read it) keeps the page as it is
        return
    code = maps.selected_code(selection)
    if code is None:
        new = state.with_area(state.stadsdeel, None) if state.level == "wijk" else state.with_area(None, None)
    elif code in v.stadsdelen:
        new = state.with_area(code, None)
    elif code in v.wijken:
        new = state.with_area(v.wijken[code], code)
    else:
        return
    set_state(new)
    sync_widgets(new)


def _on_wijk_change(parents: dict[str, str]) -> None:
    w = st.session_state.get(W_WIJK)
    if w:
        st.session_state[W_SD] = parents.get(w)


def _on_sd_change(parents: dict[str, str]) -> None:
    w, sd = st.session_state.get(W_WIJK), st.session_state.get(W_SD)
    if w and parents.get(w) != sd:
        st.session_state[W_WIJK] = ""


def filter_sidebar(v: F.Valid, f: queries.Freshness, presets: tuple[str, ...] | None = None,
                   themes: tuple[str, ...] | None = None) -> tuple[F.FilterState, F.Period]:
    """The shared filters in the sidebar; returns the (stored) state and its period.

    presets: the periods this page offers (default all). Another one in the state (a link, another page)
    becomes the first of them, with a notice. themes: the themes this page offers, one at a time (default:
    any combination of all themes); another choice in the state becomes all themes, with a notice."""
    state = get_state()
    if presets and state.preset not in presets:
        st.info(f"De periode '{F.PRESETS[state.preset].lower()}' is hier voor uw rol niet beschikbaar: u ziet "
                f"{F.PRESETS[presets[0]].lower()}. Met onderdrukking van kleine aantallen kiest u uit vaste "
                "periodes; wie perioden kan verschuiven, kan anders verborgen aantallen terugrekenen.")
        state = replace(state, preset=presets[0], start=None, end=None)
        set_state(state)
        st.session_state[W_PRESET] = state.preset
    if themes is not None and state.themes and (len(state.themes) > 1 or state.themes[0] not in themes):
        st.info(f"De themakeuze '{', '.join(state.themes)}' is hier voor uw rol niet beschikbaar: u ziet alle "
                f"thema's. Met onderdrukking van kleine aantallen kiest u hier alle thema's of één van de "
                f"stadsbrede prioriteiten ({', '.join(themes)}): wie themakeuzes naast elkaar legt, kan anders "
                "verborgen aantallen terugrekenen. De pagina Prioriteiten per stadsdeel toont elk thema.")
        state = replace(state, themes=())
        set_state(state)
        st.session_state[W_THEMES] = []
    # Coming from another page with the same filter widgets, Streamlit gives them new identities and would
    # reset them to their first option (and so the shared period and area to the defaults). Re-assigning
    # the values keeps them (Streamlit's idiom for widgets across pages).
    for key in (W_PRESET, W_RANGE, W_THEMES, W_SD, W_WIJK):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    _seed(W_PRESET, state.preset)
    _seed(W_THEMES, list(state.themes))
    _seed(W_SD, state.stadsdeel or "")  # "" = no selection (None would show as an empty box)
    _seed(W_WIJK, state.wijk or "")
    _seed(W_RANGE, (state.start, state.end) if state.start and state.end
          else (f.data_end - dt.timedelta(days=27), f.data_end))
    sb = st.sidebar
    sb.header("Filters")
    preset = sb.selectbox("Periode", list(presets or F.PRESETS), format_func=F.PRESETS.get, key=W_PRESET)
    start = end = None
    if preset == "aangepast":
        rng = sb.date_input("Van – tot en met", key=W_RANGE, format="DD-MM-YYYY",
                            min_value=f.data_start or F.MIN_DATE, max_value=f.data_end)
        if isinstance(rng, (tuple, list)) and len(rng) == 2:
            start, end = rng
        else:  # the user picked only the first day so far: keep the previous range
            start, end = state.start or f.data_end - dt.timedelta(days=27), state.end or f.data_end
    if themes is None:
        sb.multiselect("Thema's", list(v.themes), key=W_THEMES, placeholder="Alle thema's",
                       help="Leeg = alle thema's. De vier stadsbrede prioriteiten staan bovenaan.")
    else:
        sb.multiselect("Thema", list(themes), key=W_THEMES, placeholder="Alle thema's", max_selections=1,
                       help="Leeg = alle thema's, of één stadsbrede prioriteit. De andere thema's staan voor uw "
                            "rol per stadsdeel op de pagina Prioriteiten per stadsdeel.")
    sd_opts = ["", *sorted(v.stadsdelen, key=v.stadsdelen.get)]
    sb.selectbox("Stadsdeel", sd_opts, key=W_SD, format_func=lambda c: v.stadsdelen.get(c, "Hele stad"),
                 on_change=_on_sd_change, args=(dict(v.wijken),))
    sd = st.session_state.get(W_SD) or ""
    wijk_codes = [c for c in v.wijken if not sd or v.wijken[c] == sd]
    wijk_opts = ["", *sorted(wijk_codes, key=lambda c: v.wijk_names.get(c, c))]
    if st.session_state.get(W_WIJK) not in wijk_opts:
        st.session_state[W_WIJK] = ""
    sb.selectbox("Wijk", wijk_opts, key=W_WIJK,
                 format_func=lambda c: v.wijk_names.get(c, c) if c else
                 ("Alle wijken" if not sd else "Alle wijken van het stadsdeel"),
                 on_change=_on_wijk_change, args=(dict(v.wijken),))
    new = replace(state, preset=preset, start=start, end=end, themes=tuple(st.session_state[W_THEMES]),
                  stadsdeel=st.session_state.get(W_SD) or None, wijk=st.session_state.get(W_WIJK) or None)
    if new.wijk:
        new = replace(new, stadsdeel=v.wijken[new.wijk])
    set_state(new)
    period = F.resolve_period(new, f.data_end)
    sb.caption(f"{fmt.period(period.start, period.end)} ({fmt.integer(period.days)} dagen)")
    if any(st.session_state.get(k) for k in (W_THEMES, W_SD, W_WIJK)) or preset != F.DEFAULT_PRESET:
        sb.button("Alle filters wissen", on_click=_reset_filters, width="stretch")
    sb.caption("De filters staan ook in de adresbalk: kopieer de link om deze weergave te delen.")
    return new, period


def _reset_filters() -> None:
    state = replace(get_state(), preset=F.DEFAULT_PRESET, start=None, end=None, themes=(), stadsdeel=None, wijk=None)
    set_state(state)
    sync_widgets(state)


def footer() -> None:
    st.sidebar.divider()
    st.sidebar.caption(ATTRIBUTION)


# ------------------------------------------------------------------ small display helpers
def area_label(state: F.FilterState, v: F.Valid) -> str:
    if state.wijk:
        return f"wijk {v.wijk_names.get(state.wijk, state.wijk)} (stadsdeel {v.stadsdelen.get(state.stadsdeel, '')})"
    if state.stadsdeel:
        return f"stadsdeel {v.stadsdelen.get(state.stadsdeel, state.stadsdeel)}"
    return f"heel {query('gemeentenaam')}"


def themes_label(state: F.FilterState) -> str:
    if not state.themes:
        return "alle thema's"
    return ", ".join(state.themes)


def download_button(label: str, data, file_name: str, mime: str, what: str, key: str | None = None, **kwargs) -> None:
    """st.download_button that writes every export to the audit log (who, when, what, which filters).

    `data` must already have passed the disclosure rules of the viewer (veiligheid.disclosure).
    """
    v = viewer()
    filters = F.to_params(get_state())
    st.download_button(label, data, file_name=file_name, mime=mime, key=key,
                       on_click=lambda: audit.log("export", v.user, v.role, wat=what, bestand=file_name,
                                                  filters=filters or "geen"), **kwargs)


def _no_formula(v):
    """Text that Excel would run as a formula (=, +, @, or - not followed by a digit) gets a leading quote."""
    if isinstance(v, str) and v[:1] in ("=", "+", "@", "-", "\t", "\r") and not v[1:2].isdigit():
        return "'" + v
    return v


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV as Dutch Excel expects it: ';' separated, UTF-8 with BOM; no cell can act as a formula."""
    safe = df.copy()
    for c in safe.columns:
        if safe[c].dtype == object or str(safe[c].dtype) in ("string", "str"):
            safe[c] = safe[c].map(_no_formula)
    return safe.to_csv(index=False, sep=";").encode("utf-8-sig")

"""The slow, city-wide figures of the pages, cached in the app's process and shared by every session.

Disclosure control protects all areas of a period together: one consistent set of hidden cells per
warehouse version, period and policy, whatever stadsdeel, wijk or person looks (see veiligheid.overview,
priorities, cyber and hennep). Computing such a set takes seconds at regional scale. The pages call the
functions here, and so does veiligheid.warmup, which computes them for a new warehouse version before the
first user asks: the same function with the same arguments is one cache entry.

Every function takes the warehouse `path` and version `token` explicitly (the pages pass the version
their run is pinned to), so that they also work outside a page run (the warm-up thread); they read through
the app's one read-only connection per version (`ui._connection`).
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping

import pandas as pd
import streamlit as st

from . import cyber, disclosure, hennep, overview, queries, signals, ui
from . import filters as F
from . import priorities as P


# the entries of a per-selection view: the warm-up fills 80 in Nijmegen (its 9 stadsdelen and the whole city, 4 periods,
# 2 roles; veiligheid.warmup), and as many are left for the readers' own selections (a wijk, an own period)
VIEWS = 160


# ------------------------------------------------------------------ Dashboards veiligheid (and Prioriteiten)
def dashboard_queries(state: F.FilterState, period: F.Period, fresh: queries.Freshness) -> dict[str, tuple]:
    """The warehouse queries of the Dashboards veiligheid page for a selection, as {part: (name, *args)} for
    `ui.query`. The page runs exactly these, so the warm-up (which runs them for every stadsdeel and fixed period) fills the
    cache entries the page reads. The trend and time-of-day queries are only run without disclosure control."""
    themes = state.themes
    first = max(min(period.start, fresh.data_end - dt.timedelta(weeks=51)), fresh.data_start or F.MIN_DATE)
    first = first - dt.timedelta(days=first.isoweekday() - 1)
    if fresh.data_start and first < fresh.data_start:
        first += dt.timedelta(days=7)  # never start with a half week
    table_level = "wijk" if state.stadsdeel or state.level == "wijk" else "stadsdeel"
    return {"tiles": ("tiles", period, themes, state.stadsdeel, state.wijk, fresh.data_start),
            "map": ("area_table", period, state.level, themes, None, fresh.data_start),
            "geo": ("area_geojson", state.level),
            "weekly": ("weekly", first, fresh.data_end, themes, state.stadsdeel, state.wijk, fresh.data_start),
            "weekday_hour": ("weekday_hour", period, themes, state.stadsdeel, state.wijk),
            "table": ("area_table", period, table_level, themes, state.stadsdeel, fresh.data_start)}


@st.cache_resource(max_entries=8, show_spinner=False)
def city_model(path: str, token: str, data_start: dt.date | None, data_end: dt.date, parent: Mapping[str, str],
               themes: tuple[str, ...], policy: disclosure.Policy) -> overview.CityModel:
    """The protected city-wide model of the overview (every area, preset and theme of the all-themes model).

    Kept by reference (st.cache_resource: no copy per run; the pages only read it) and keyed on the version,
    so a rerun does not even read the counts again. Behind it, `overview.city_protection` keys on the content
    of the counts, so a reload of the same data costs the queries but not the protection."""
    # read first, then compute without holding the connection (see overview.city_inputs)
    inputs = overview.city_inputs(ui._connection(path, token), data_start, data_end, themes, policy)
    return overview.city_protection(None, data_start, data_end, dict(parent), themes, policy, inputs)


# ------------------------------------------------------------------ Prioriteiten per stadsdeel
@st.cache_resource(max_entries=2, show_spinner=False)
def prio_base(path: str, token: str) -> P.Base:
    """The counts of every quarter, the catalog and the areas: read once per version, then every selected
    quarter is a slice of it (st.cache_resource: kept by reference, read only)."""
    return P.load_base(ui._connection(path, token))


@st.cache_data(max_entries=16, show_spinner=False)
def prio_raw(path: str, token: str, quarter: str, data_start: dt.date | None) -> P.Raw:
    return P.raw_of(prio_base(path, token), P.Quarter.parse(quarter), data_start)


@st.cache_data(max_entries=16,
               show_spinner="Cijfers van alle stadsdelen samen beveiligen (alleen de eerste keer per kwartaal)…")
def prio_hidden(path: str, token: str, quarter: str, data_start: dt.date | None, threshold: int,
                active: bool) -> frozenset:
    """The hidden cells of ALL stadsdelen together (one consistent set: the city counts every view shows
    would otherwise give a hidden stadsdeel count away). Slow the first time per warehouse version, quarter
    and policy; shared by all sessions after that."""
    return P.protect_city(prio_raw(path, token, quarter, data_start), disclosure.Policy(threshold, active))


@st.cache_resource(max_entries=32, show_spinner=False)
def prio_area(path: str, token: str, quarter: str, data_start: dt.date | None, stadsdeel: str) -> P.AreaView:
    """One stadsdeel's view of a quarter before disclosure control, which both roles' views (prio_view) are
    protected from: computed once for the two (~60 ms at 5M). Kept by reference and never shown; `P.protect`
    copies what it changes."""
    return P.area_view(prio_raw(path, token, quarter, data_start), stadsdeel)


# the warm-up makes every quarter x stadsdeel x role (216 in Nijmegen, ~75 kB each at 5M): room for twice that
@st.cache_data(max_entries=512, show_spinner=False)
def prio_view(path: str, token: str, quarter: str, data_start: dt.date | None, stadsdeel: str, threshold: int,
              active: bool) -> P.AreaView:
    """One stadsdeel's view of a quarter (figures per theme and wijk, trend), protected with the city-wide
    hidden cells."""
    view = prio_area(path, token, quarter, data_start, stadsdeel)
    hidden = prio_hidden(path, token, quarter, data_start, threshold, active) if active else frozenset()
    return P.protect(view, disclosure.Policy(threshold, active), hidden)


@st.cache_data(max_entries=64, show_spinner=False)
def prio_ranking(path: str, token: str, quarter: str, data_start: dt.date | None, stadsdeel: str, threshold: int,
                 active: bool, weights: tuple[tuple[str, float], ...]):
    """The ranking of a view (prio_view) with `weights`: (scored, the table with numbers for the progress bars, the
    table as text, why the first is first). Once per view and weights, not on every rerun (~25 ms at 5M)."""
    view = prio_view(path, token, quarter, data_start, stadsdeel, threshold, active)
    scored = P.score(view.themes, dict(weights), exclude=view.themes["n_verborgen"])
    policy = disclosure.Policy(threshold, active)
    return scored, P.ranking_table(scored, policy, numeric=True), P.ranking_table(scored, policy), P.explain(scored)


SIGNAL_WEEKS, SIGNAL_RECENT_WEEKS = 65, 13  # weeks read, and the recent ones compared with the rest


@st.cache_data(max_entries=32, show_spinner=False)
def prio_signals(path: str, token: str, stadsdeel: str, data_start: dt.date | None, data_end: dt.date):
    """What changed in a stadsdeel (signals.detect over the last SIGNAL_WEEKS weeks), unprotected: the page
    protects it for the viewer. Once per version and stadsdeel (the warm-up does every stadsdeel)."""
    last = signals.last_full_week(data_end)
    weeks = SIGNAL_WEEKS
    if data_start is not None:  # never count weeks before the data as zeros
        first = data_start + dt.timedelta(days=(7 - data_start.isoweekday() + 1) % 7)
        weeks = min(weeks, (last - first).days // 7 + 1)
    if weeks < SIGNAL_RECENT_WEEKS + signals.MIN_BASELINE_WEEKS:
        out = signals.detect(pd.DataFrame(), SIGNAL_RECENT_WEEKS)
        need = SIGNAL_RECENT_WEEKS + signals.MIN_BASELINE_WEEKS
        out.attrs["message"] = f"Te weinig weken data voor signalen (nodig: {need}, er zijn er {max(weeks, 0)})."
        return out
    weekly = signals.weekly_counts(ui._connection(path, token), stadsdeel, data_end, weeks)
    return signals.detect(weekly, recent_weeks=SIGNAL_RECENT_WEEKS, fdr=0.10)


# ------------------------------------------------------------------ Cybercrime
@st.cache_data(max_entries=2, show_spinner=False)
def cyber_base(path: str, token: str) -> cyber.Base:
    """Population, first report date and victims per area and quarter: once per warehouse version, shared by
    every period, area and role."""
    return cyber.base(ui._connection(path, token))


@st.cache_data(max_entries=16, show_spinner=False)
def cyber_counts(path: str, token: str, start, end):
    """The victims of a period per area and profile (`cyber.victim_counts`): the protection of the period and
    every area's profile read the same counts. (Up to ~4 MB each with every combination filled.)"""
    return cyber.victim_counts(ui._connection(path, token), start, end)


@st.cache_data(max_entries=4, show_spinner=False)
def cyber_trend_protection(path: str, token: str, threshold: int, active: bool, data_end):
    """Suppression of the trend cells: depends only on the warehouse version (and the policy)."""
    return cyber.trend_protection(ui._connection(path, token), disclosure.Policy(threshold, active), data_end,
                                  cyber_base(path, token))


@st.cache_data(max_entries=32, show_spinner=False)
def cyber_protection(path: str, token: str, start, end, threshold: int, active: bool, data_end):
    """Suppression for a period, the same for every area filter (so switching areas reveals nothing)."""
    if not active:
        return cyber.Protection()
    trend = cyber_trend_protection(path, token, threshold, active, data_end)
    return cyber.protection(ui._connection(path, token), start, end, disclosure.Policy(threshold, active),
                            data_end, trend, cyber_base(path, token), cyber_counts(path, token, start, end))


@st.cache_data(max_entries=VIEWS, show_spinner="Cijfers berekenen…")
def cyber_profile(path: str, token: str, start, end, stadsdeel, wijk, threshold: int, active: bool, data_end):
    prot = cyber_protection(path, token, start, end, threshold, active, data_end)
    return cyber.build(ui._connection(path, token), start, end, stadsdeel, wijk,
                       disclosure.Policy(threshold, active), data_end, prot, cyber_base(path, token),
                       cyber_counts(path, token, start, end))


@st.cache_data(max_entries=VIEWS, show_spinner=False)
def cyber_tables(path: str, token: str, start, end, stadsdeel, wijk, threshold: int, active: bool, data_end):
    """What the Cybercrime page derives from a profile: the check of the 2017 finding, the table per group and
    their CSV (bytes). Once per profile: made on every rerun they were ~15 % of it (py-spy, session 15)."""
    pr = cyber_profile(path, token, start, end, stadsdeel, wijk, threshold, active, data_end)
    tables = cyber.group_tables(pr.groups, disclosure.Policy(threshold, active))
    return cyber.check_2017(pr), tables, ui.csv_bytes(cyber.profile_csv(tables))


# ------------------------------------------------------------------ Hennepteelt
@st.cache_resource(max_entries=2, show_spinner=False)
def hennep_inputs(path: str, token: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, bool]:
    """The version's hennep cases (read and typed: ~0.2 s at 5M), wijken and stadsdelen, and whether homes are
    known: once per version, shared by every view and period (they only filter it). One object for all
    sessions (cache_resource, no copy per call), so read-only: tests/test_hennep.py checks that views leave
    it as loaded."""
    con = ui._connection(path, token)
    return (*hennep.protection_input(con), hennep.homes_available(con))


@st.cache_data(max_entries=64, show_spinner=False)
def hennep_list(path: str, token: str, name: str, *args) -> pd.DataFrame:
    """An analist's list of a selection (hennep.points, closures or stuck_list with `args`), cut from the
    version's cases (hennep_inputs) instead of reading them from the warehouse again (~0.2 s each at 5M)."""
    if name not in ("points", "closures", "stuck_list"):
        raise ValueError(name)
    cases, wijken, sds, _homes = hennep_inputs(path, token)
    return getattr(hennep, name)(None, *args, cases=cases, areas=(wijken, sds))


@st.cache_data(max_entries=8, show_spinner=False)
def hennep_arrays(path: str, token: str, period, data_end):
    """The masks every area view of a period needs (hennep.period_arrays): once per version and period, for
    the period's protection and every area view of both roles (~0.1 s a view at 5M when each made its own;
    2.3 MB at 5M, hence few entries)."""
    cases, wijken, sds, _ = hennep_inputs(path, token)
    return hennep.period_arrays(cases, wijken, sds, period.start, period.end, data_end)


@st.cache_data(max_entries=16, show_spinner="Onderdrukking voor alle gebieden berekenen…")
def hennep_protection(path: str, token: str, period, data_end, policy):
    """The city-wide disclosure control of one period (every area view at once): once per warehouse version,
    period and policy; every area view of that period takes its hidden cells from it."""
    cases, wijken, sds, _ = hennep_inputs(path, token)
    return hennep.city_protection(cases, wijken, sds, period.start, period.end, data_end, policy,
                                  hennep_arrays(path, token, period, data_end))


@st.cache_data(max_entries=VIEWS, show_spinner="Cijfers hennepteelt berekenen…")
def hennep_overview(path: str, token: str, period, stadsdeel, wijk, data_end, policy):
    prot = hennep_protection(path, token, period, data_end, policy) if policy.active else None
    cases, wijken, sds, homes = hennep_inputs(path, token)
    return hennep.build_overview(cases, wijken, sds, period.start, period.end, stadsdeel, wijk, data_end, policy,
                                 homes, protection=prot, arrays=hennep_arrays(path, token, period, data_end))

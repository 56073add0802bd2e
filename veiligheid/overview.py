"""Disclosure control for the page "Dashboards veiligheid" (plain Python, no Streamlit).

The page shows the same counts in several places: the wijken map, the stadsdelen map, the area table,
the total tile, the weekly trend and the weekday x hour grid. A reader could subtract one from another,
so they are protected together here, with the relations between them declared to
`disclosure.protect`:
- area counts: wijken inside stadsdelen inside the city (`disclosure.protect_hierarchy`), per count
  column (current period, previous period, year earlier); the total tile of the selected area is one
  of those cells;
- tiles: the total of the selection and the priority tiles that make it up (when the selection is
  exactly a set of shown priorities);
- weekly trend: the weeks inside the period add up to the total tile; 4-week averages are sums of
  four weeks;
- weekday x hour: the cells plus "zonder tijdstip" add up to the total tile.
Hidden counts become NaN (with a bool column `onderdrukt...`); everything derived from them too.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from .disclosure import TOTAL, Policy, protect, protect_hierarchy

COUNT_COLS = {"n": "onderdrukt", "n_vorige": "onderdrukt_vorige", "n_jaar": "onderdrukt_jaar"}
DERIVED = {
    "n": ("per_1000", "index", "verandering_vorige", "p_vorige", "verandering_jaar", "p_jaar"),
    "n_vorige": ("verandering_vorige", "p_vorige"),
    "n_jaar": ("verandering_jaar", "p_jaar"),
}


def area_masks(wijk_table: pd.DataFrame, parent: Mapping[str, str], policy: Policy) -> dict:
    """Hidden cells of the area hierarchy, per count column.

    wijk_table: queries.area_table(level='wijk') for the whole city (code, n, n_vorige, n_jaar).
    parent: buurtcode -> wijkcode. Returns {col: (set of hidden wijk codes, set of hidden stadsdeel
    codes, grand total hidden)}.
    """
    out = {}
    for col in COUNT_COLS:
        counts = pd.to_numeric(wijk_table.set_index("code")[col], errors="coerce").fillna(0)
        wmask, smask, total = protect_hierarchy(counts, parent, policy)
        out[col] = (set(wmask[wmask].index), set(smask[smask].index), bool(total))
    return out


def hide(table: pd.DataFrame, hidden: Mapping[str, set], key: str = "code") -> pd.DataFrame:
    """Mark and blank the hidden counts of a table and everything derived from them.

    hidden: {count column: set of keys whose count is hidden}. Adds bool columns `onderdrukt`,
    `onderdrukt_vorige`, `onderdrukt_jaar`; hidden counts become <NA>, derived figures NaN and
    significance False, so no chart, tooltip, table or CSV can show them.
    """
    t = table.copy()
    for col, flag in COUNT_COLS.items():
        if col not in t.columns:
            continue
        mask = t[key].isin(hidden.get(col, set())) if key in t.columns else pd.Series(False, index=t.index)
        t[flag] = mask.to_numpy()
        t[col] = t[col].astype("Float64").mask(mask)
        for d in DERIVED[col]:
            if d in t.columns:
                t[d] = t[d].astype("float64").mask(mask)
        which = {"n_vorige": "vorige", "n_jaar": "jaar"}.get(col)
        for w in ([which] if which else ["vorige", "jaar"]):
            if f"significant_{w}" in t.columns:
                t[f"significant_{w}"] = t[f"significant_{w}"].astype(bool) & ~mask.to_numpy()
                t[f"richting_{w}"] = t[f"richting_{w}"].where(~mask.to_numpy(), 0)
    return t


def area_hidden(masks: dict, level: str) -> dict[str, set]:
    """The hidden codes of one map/table level ('wijk' or 'stadsdeel')."""
    i = 0 if level == "wijk" else 1
    return {col: m[i] for col, m in masks.items()}


def selection_total_hidden(masks: dict, stadsdeel: str | None, wijk: str | None) -> dict[str, bool]:
    """Is the total of the selected area (the total tile) hidden, per count column?"""
    out = {}
    for col, (w, s, total) in masks.items():
        out[col] = (wijk in w) if wijk else ((stadsdeel in s) if stadsdeel else total)
    return out


def tile_hidden(tiles: pd.DataFrame, total_hidden: Mapping[str, bool], selected_themes: tuple[str, ...],
                total_key: str, policy: Policy) -> dict[str, set]:
    """Hidden tiles per count column: {col: set of thema}. The total tile follows the area hierarchy."""
    out = {}
    shown = [t for t in tiles["thema"] if t != total_key]
    for col in COUNT_COLS:
        if col not in tiles.columns:
            continue
        values = {th: float(v) if not pd.isna(v) else 0.0 for th, v in zip(tiles["thema"], tiles[col])}
        rels = []
        if selected_themes and set(selected_themes) <= set(shown):
            rels.append((total_key, list(selected_themes)))
        hide_ = {total_key} if total_hidden.get(col) else set()
        out[col] = protect(values, rels, policy, hide=hide_) if policy.active else set()
    return out


def weekly_hidden(weekly: pd.DataFrame, period_start: dt.date, period_end: dt.date, total_hidden: bool,
                  total: float, policy: Policy) -> tuple[set, set, set]:
    """Hidden weeks of the trend: (weeks with n hidden, weeks whose 4-week average is hidden, weeks with last year's n hidden).

    Relations: the weeks of the period add up (about) to the total tile; each 4-week average is the sum
    of four weeks / 4. (A declared relation that is only approximately true can only hide more.)
    """
    if not policy.active:
        return set(), set(), set()
    weeks = list(weekly["week"])
    values: dict = {("w", w): float(n) for w, n in zip(weeks, weekly["n"])}
    rels = []
    for i, w in enumerate(weeks):
        if i >= 3 and not pd.isna(weekly["gemiddelde_4w"].iloc[i]):
            values[("a", w)] = float(sum(weekly["n"].iloc[i - 3:i + 1]))
            rels.append((("a", w), [("w", x) for x in weeks[i - 3:i + 1]]))
    inside = [("w", w) for w in weeks if w + dt.timedelta(days=6) >= period_start and w <= period_end]
    values[TOTAL] = float(total)
    if inside:
        rels.append((TOTAL, inside))
    hidden = protect(values, rels, policy, hide={TOTAL} if total_hidden else set())
    last_year = {w for w, n in zip(weeks, weekly["n_vorig_jaar"]) if policy.small(n)}
    cells = [x for x in hidden if x != TOTAL]  # ("w", week) and ("a", week)
    return {w for k, w in cells if k == "w"}, {w for k, w in cells if k == "a"}, last_year


def heatmap_hidden(cells: pd.DataFrame, without_time: int, total_hidden: bool, total: float,
                   policy: Policy) -> set[tuple[int, int]]:
    """Hidden (dag, uur) cells; the cells plus 'zonder tijdstip' add up to the total tile."""
    if not policy.active:
        return set()
    values: dict = {(int(d), int(u)): float(n) for d, u, n in zip(cells["dag"], cells["uur"], cells["n"])}
    values["zonder_tijd"] = float(without_time)
    values[TOTAL] = float(total)
    hidden = protect(values, [(TOTAL, [k for k in values if k != TOTAL])], policy,
                     hide={TOTAL} if total_hidden else set())
    return {k for k in hidden if isinstance(k, tuple)} | ({"zonder_tijd"} if "zonder_tijd" in hidden else set())

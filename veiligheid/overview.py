"""Disclosure control for the page "Dashboards veiligheid" (plain Python, no Streamlit).

The page shows the same counts in several places and in several views: the wijken map, the stadsdelen
map, the area table, the tiles, the weekly trend and the weekday x hour grid, for the city, each
stadsdeel and each wijk. A reader could subtract one from another, also across views, so every figure of
every area view is modelled at once as sums of counts per area per 7-day block (`city_model`) and
protected once (`protect_city`, with `disclosure.protect_modular`); a view cuts its cells from that one
result (`model_masks`, `model_tiles_hidden`, `model_weekly`, `model_heatmap`). Relations declared:
- every figure over the area hierarchy: wijken inside stadsdelen inside the city;
- the tiles (period, period before, a year earlier) are sums of an area's blocks; the trend shows
  blocks 0-51, its last-year line blocks 52-103; a 4-week average is shown only where its four weeks are;
- the total tile is the sum of the priority tiles when the selection is a set of priorities, else the sum of
  the priority tiles inside it and the other crimes (a cell no view shows, protected when small);
- weekday x hour (city and stadsdelen) plus "zonder tijdstip" add up to the total tile.
Hidden counts become NaN (with a bool column `onderdrukt...`); everything derived from them too.
"""
from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import fmt
from .disclosure import Policy, protect_modular

COUNT_COLS = {"n": "onderdrukt", "n_vorige": "onderdrukt_vorige", "n_jaar": "onderdrukt_jaar"}
DERIVED = {
    "n": ("per_1000", "index", "verandering_vorige", "p_vorige", "verandering_jaar", "p_jaar"),
    "n_vorige": ("verandering_vorige", "p_vorige"),
    "n_jaar": ("verandering_jaar", "p_jaar"),
}


def hide(table: pd.DataFrame, hidden: Mapping[str, set], key: str = "code", city_hidden: bool = False
         ) -> pd.DataFrame:
    """Mark and blank the hidden counts of a table and everything derived from them.

    hidden: {count column: set of keys whose count is hidden}. Adds bool columns `onderdrukt`,
    `onderdrukt_vorige`, `onderdrukt_jaar`; hidden counts become <NA>, derived figures NaN and
    significance False, so no chart, tooltip, table or CSV can show them. city_hidden: the city's count
    is hidden, so no index (area rate / city rate) is shown either: with the inhabitants it would give
    the city's count back.
    """
    t = table.copy()
    if city_hidden and "index" in t.columns:
        t["index"] = float("nan")
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


# ------------------------------------------------------------------ one model of every view, city-wide
# The same figure appears in many views: a stadsdeel's tile, its wijken's tiles (each in its own view),
# the weeks of its trend, the last-year line, the weekday x hour grid. Protecting each view on its own
# lets a reader subtract views from each other (stadsdeel tile - its wijken's tiles = a hidden wijk).
# So, for a role with disclosure control, every figure of every area view of the week presets is modelled
# together as sums of one set of cells, the counts per area per 7-day block ending on the last day with
# data (block 0 = the last 7 days), and protected once (disclosure.protect_modular); each view then shows
# its own cells of that one result. Week presets are whole blocks: 4 weeks = blocks 0-3, the 4 weeks before
# = blocks 4-7, a year earlier = blocks 52-55; the trend shows blocks 0-51 and, as last year, 52-103.
PRESET_BLOCKS = {"4w": 4, "13w": 13, "52w": 52}
WINDOW = 52  # blocks in the trend
SPAN = 104  # blocks in the model: the trend and the year before it
CITY = "stad"
NO_TIME = -1  # `uur` of incidents without a time in the weekday x hour model
HOURS = 4  # weekday x hour in blocks of 4 hours (00-04, 04-08, ...): per hour nearly every cell of a
# stadsdeel is below the threshold, and the 168 cells per view would link most of the model together
HOUR_STARTS = tuple(range(0, 24, HOURS))


def block_range(preset: str, col: str) -> range:
    """The blocks of a tile: n = the period, n_vorige = the period before, n_jaar = 52 weeks earlier."""
    k = PRESET_BLOCKS[preset]
    return {"n": range(0, k), "n_vorige": range(k, 2 * k), "n_jaar": range(WINDOW, WINDOW + k)}[col]


def block_start(data_end: dt.date, j: int) -> dt.date:
    return data_end - dt.timedelta(days=7 * j + 6)


@dataclass
class CityModel:
    """Every figure of every area view (keys below), its relations (as modules) and what is hidden.

    Keys: ("b", area, blok) (the city and the stadsdelen), ("T", area, preset, col) = a total tile / map / table cell,
    ("P", area, preset, col, thema) = a priority tile, ("R", area, preset, col) = the total minus the priority
    tiles inside it (not shown, but a reader can compute it), ("h", area, preset, dag, uur) = weekday x hour
    (stadsdelen and the city only; uur NO_TIME with dag 0 = without a time). area = wijk code,
    stadsdeel code or CITY.
    """
    values: dict
    modules: list
    unshown: set
    hidden: set = field(default_factory=set)
    other_hidden: set = field(default_factory=set)  # cells of another page (see link_runs), as it shows them
    other_shown: set = field(default_factory=set)
    failed_closed: bool = False  # the protection could not finish: every non-zero count hidden
    unprotected: set = field(default_factory=set)  # unshown differences between two ways of counting (no figure)

    def hid(self, key) -> bool:
        return key in self.hidden

    def shown(self, key) -> bool:
        return key in self.values and key not in self.unshown


def city_model(blocks: pd.DataFrame, heat: Mapping[str, pd.DataFrame], parent: Mapping[str, str],
               themes: tuple[str, ...], priorities: list[str], data_start: dt.date | None,
               data_end: dt.date) -> CityModel:
    """The model of all area views for one theme selection (see above); not yet protected.

    blocks: queries.block_counts; heat: preset -> queries.stadsdeel_weekday_hour; parent: wijk -> stadsdeel.
    """
    wijken = sorted(parent)
    children: dict[str, list[str]] = {}
    for w in wijken:
        children.setdefault(parent[w], []).append(w)
    sds = sorted(children)
    areas = [CITY, *sds, *wijken]

    def rolled(counts: Mapping[tuple, float], key_rest) -> dict:
        """{area: count} for all areas from {wijk: count}."""
        out = {w: float(counts.get(w, 0.0)) for w in wijken}
        for s in sds:
            out[s] = sum(out[w] for w in children[s])
        out[CITY] = sum(out[s] for s in sds)
        return out

    def hier(key) -> list:
        return [(key(CITY), [key(s) for s in sds]), *((key(s), [key(w) for w in children[s]]) for s in sds)]

    values: dict = {}
    modules: list = []
    unshown: set = set()
    unprotected: set = set()  # differences between the grid's and the tiles' way of counting
    covered_block = [data_start is None or block_start(data_end, j) >= data_start for j in range(SPAN)]
    sel = blocks[blocks["thema"].isin(themes)] if themes else blocks
    by_block = sel.groupby(["blok", "wijk"])["n"].sum()
    per_block = {j: rolled(by_block.loc[j].to_dict() if j in by_block.index.get_level_values(0) else {}, None)
                 for j in range(SPAN)}
    # the trend is shown for the city and the stadsdelen; for one wijk the weekly counts are nearly all
    # below the threshold, so a wijk's view shows no trend (and its blocks are in no figure)
    for j in range(SPAN):
        for a in [CITY, *sds]:
            values[("b", a, j)] = per_block[j][a]
            if not covered_block[j]:
                unshown.add(("b", a, j))
        modules.append([(("b", CITY, j), [("b", s, j) for s in sds])])
    covered = {(p, c): all(covered_block[j] for j in block_range(p, c)) or c == "n"
               for p in PRESET_BLOCKS for c in COUNT_COLS}
    prio_blocks = blocks[blocks["thema"].isin(priorities)].groupby(["thema", "blok", "wijk"])["n"].sum()
    exact_prio = bool(themes) and set(themes) <= set(priorities)
    inside = [t for t in priorities if not themes or t in themes]  # priority tiles that are parts of the total
    for (p, c), ok in covered.items():
        if not ok:
            continue
        rng = block_range(p, c)
        for a in areas:
            values[("T", a, p, c)] = sum(per_block[j][a] for j in rng)
        modules.append(hier(lambda a, p=p, c=c: ("T", a, p, c)))
        for t in priorities:
            sub = prio_blocks.loc[t] if t in prio_blocks.index.get_level_values(0) else pd.Series(dtype="int64")
            wsum = sub[sub.index.get_level_values(0).isin(list(rng))].groupby(level=1).sum().to_dict() \
                if len(sub) else {}
            for a, v in rolled(wsum, None).items():
                values[("P", a, p, c, t)] = v
            modules.append(hier(lambda a, p=p, c=c, t=t: ("P", a, p, c, t)))
        if exact_prio:
            for a in areas:
                modules.append([(("T", a, p, c), [("P", a, p, c, t) for t in themes])])
        elif inside:  # the total minus the priority tiles inside it: the other crimes, never shown but computable
            for a in areas:
                values[("R", a, p, c)] = values[("T", a, p, c)] - sum(values[("P", a, p, c, t)] for t in inside)
                unshown.add(("R", a, p, c))
                modules.append([(("T", a, p, c), [*(("P", a, p, c, t) for t in inside), ("R", a, p, c)])])
    # two tiles of one period (52 weeks: "vorige 52 weken" and "een jaar eerder" are both blocks 52-103) are one
    # figure: hidden in both places or in neither
    for p, (c1, c2) in ((p, cs) for p in PRESET_BLOCKS for cs in itertools.combinations(COUNT_COLS, 2)):
        if covered.get((p, c1)) and covered.get((p, c2)) and block_range(p, c1) == block_range(p, c2):
            for a in areas:
                modules.append([(("T", a, p, c1), [("T", a, p, c2)]),
                                *((("P", a, p, c1, t), [("P", a, p, c2, t)]) for t in priorities)])
    for a in [CITY, *sds]:  # a view's trend: the tiles are sums of its blocks
        modules.append([(("T", a, p, c), [("b", a, j) for j in block_range(p, c)])
                        for (p, c), ok in covered.items() if ok])
    for p, df in heat.items():  # weekday x hour, for the city and the stadsdelen
        cells = df.assign(dag=df["dag"].where(df["uur"] != NO_TIME, 0),
                          uur=df["uur"].where(df["uur"] == NO_TIME, df["uur"] // HOURS * HOURS)
                          ).groupby(["dag", "uur", "stadsdeel"])["n"].sum()
        keys = [(d, u) for d in range(1, 8) for u in HOUR_STARTS] + [(0, NO_TIME)]
        for d, u in keys:
            got = cells.loc[(d, u)].to_dict() if (d, u) in cells.index.droplevel(2) else {}
            vals = {s: float(got.get(s, 0)) for s in sds}
            values[("h", CITY, p, d, u)] = sum(vals.values())
            for s in sds:
                values[("h", s, p, d, u)] = vals[s]
            modules.append([(("h", CITY, p, d, u), [("h", s, p, d, u) for s in sds])])
        # the grid counts by stadsdeel (wijkcode), the tiles by wijk (buurtcode): a record placed only on a
        # stadsdeel, or whose wijk and stadsdeel disagree, is in one and not the other
        for a in [CITY, *sds]:
            modules.append(_meet(values, unshown, unprotected, ("T", a, p, "n"),
                                 [("h", a, p, d, u) for d, u in keys], ("X", a, p), ("H", a, p)))
    return CityModel(values, modules, unshown, unprotected=unprotected)


def _meet(values: dict, unshown: set, unprotected: set, total, parts: list, diff, both) -> list:
    """The relations for total = sum(parts) where two ways of counting may differ by a few records: the
    difference is the cell `diff`, which no view shows and which needs no protection, never negative (beside
    the side that counts fewer; when that is `total`, `both` is the parts' sum)."""
    rest = values[total] - sum(values[p] for p in parts)
    if not rest:
        return [(total, list(parts))]
    values[diff] = abs(rest)
    unshown.add(diff)
    unprotected.add(diff)
    if rest > 0:
        return [(total, [*parts, diff])]
    values[both] = values[total] + abs(rest)
    unshown.add(both)
    return [(both, list(parts)), (both, [total, diff])]


def protect_city(model: CityModel, policy: Policy) -> CityModel:
    """Protect the whole model at once; every view takes its cells' hidden flags from the result. When the
    protection cannot prove every small count safe, it fails closed (every non-zero count hidden).
    Cells of another page (`link_runs`) keep that page's flags: its hidden ones stay hidden, its shown
    ones are never complements."""
    if not policy.active:
        model.hidden = set()
        return model
    try:
        model.hidden = protect_modular(model.values, model.modules, policy, unshown=model.unshown, strict=True,
                                       hide=model.other_hidden, fixed=model.other_shown,
                                       unprotected=model.unprotected)
    except AssertionError:  # fail closed: every count that is not zero is hidden
        model.hidden = {k for k, v in model.values.items() if v != 0 and k not in model.other_shown} \
            | set(model.unshown) | model.other_hidden
        model.failed_closed = True
    return model


# ------------------------------------------------------------------ the same figures on "Prioriteiten per stadsdeel"
# That page counts the same incidents (pleegdatum, themes from soort_misdrijf) per calendar quarter: per wijk
# and theme, per stadsdeel and theme, the stadsdeel's total, the city per theme. A run of consecutive quarters
# whose days are whole blocks of this model (a quarter of 91 days that ends on a block's last day; two quarters
# of 182 days, Q4 + Q1 outside leap years; three of 273 days; ...) is a sum of blocks: then a stadsdeel's
# weekly counts of those blocks add up to its wijken's quarter totals there, and where the run is a sum or a
# difference of tiles (13 weeks; 13 weeks + the 13 before; 52 weeks - 13 weeks; ...) a wijk's tiles meet its
# quarter totals and its priority tiles its theme counts. A figure one page hides could then be computed from
# the other. That page protects each quarter once, for all its views and whatever the week
# (priorities.protect_quarter); so this model takes those quarters' cells as they are (hidden stays hidden,
# shown stays shown) and hides more of its own where needed. Where the pages count a record differently (a
# record with a wijk but no stadsdeel is in a wijk's blocks here and nowhere there), the difference is a cell
# of its own that neither page shows.
PRIO = "prio"  # key prefix of the other page's cells: (PRIO, cell of priorities.quarter_system)


def aligned_runs(data_start: dt.date | None, data_end: dt.date) -> list[tuple[tuple, int, int]]:
    """(quarters oldest first, lo, hi): the runs of consecutive quarters "Prioriteiten per stadsdeel" shows whose
    days are exactly the blocks lo .. hi - 1 of this model."""
    from . import priorities as P
    last = P.last_full_quarter(data_end)
    shown, q = [], last
    while q.start >= block_start(data_end, SPAN - 1) and (q == last or P.covered(q, data_start)):
        shown.append(q)
        q = q.shift(-1)

    def edge(day: dt.date) -> int | None:  # the block index of a block boundary just after `day`
        gap = (data_end - day).days
        return gap // 7 if gap % 7 == 0 else None
    out = []
    for i, newest in enumerate(shown):
        lo = edge(newest.end)
        if lo is None:
            continue
        for j in range(i, len(shown)):
            hi = edge(shown[j].start - dt.timedelta(days=1))
            if hi is not None and hi <= SPAN:
                out.append((tuple(reversed(shown[i:j + 1])), lo, hi))
    return out


def tile_ranges(model: CityModel, area: str) -> dict[tuple, range]:
    """The block range of every tile of `area` in the model: {(preset, col): range}."""
    return {(p, c): block_range(p, c) for p in PRESET_BLOCKS for c in COUNT_COLS if ("T", area, p, c) in model.values}


def decompose(run: range, tiles: Mapping[tuple, range], size: int = 4) -> tuple[list, list] | None:
    """Tiles whose ranges add up to `run`: (added, subtracted) with sum(added) - sum(subtracted) = run, using at
    most `size` tiles (the fewest); None when no such combination exists."""
    target = set(run)
    names = sorted(tiles)
    for n in range(1, size + 1):
        for combo in itertools.combinations(names, n):
            for signs in itertools.product((1, -1), repeat=n):
                count: dict = {}
                for name, sign in zip(combo, signs):
                    for j in tiles[name]:
                        count[j] = count.get(j, 0) + sign
                if all(count.get(j, 0) == (1 if j in target else 0) for j in set(count) | target):
                    return ([t for t, sg in zip(combo, signs) if sg > 0], [t for t, sg in zip(combo, signs) if sg < 0])
    return None


def link_runs(model: CityModel, runs: list, systems: Mapping, parent: Mapping[str, str],
              priorities: list[str]) -> None:
    """Add the aligned runs of quarters of "Prioriteiten per stadsdeel" to the model (see above).

    systems: quarter -> (priorities.quarter_system(...)["incidenten"], its hidden cells there). Relations true
    of the data: per stadsdeel, its blocks of a run add up to its known wijken's quarter totals there (plus the
    difference cell); per wijk, the tiles that add up to the run meet its quarter totals there (all themes) and
    its priority tiles its theme counts."""
    from . import priorities as P

    def k(cell):
        return (PRIO, cell)
    for q in dict.fromkeys(q for qs, _, _ in runs for q in qs):
        system, hidden = systems[q]
        for cell, v in system.values.items():
            model.values[k(cell)] = v
            (model.other_hidden if cell in hidden or cell in system.unshown else model.other_shown).add(k(cell))
        model.unshown |= {k(c) for c in system.unshown}
        model.modules += [[(k(t), [k(p) for p in parts]) for t, parts in m] for m in system.modules]

    def meet(cell, parts: list, tag) -> list:
        """cell (a figure of this model or a sum of them) = parts (the other page's), up to a difference."""
        return _meet(model.values, model.unshown, model.unprotected, cell, parts, ("D", *tag), ("DH", *tag))

    sds = sorted(set(parent.values()))
    for quarters, lo, hi in runs:
        tag = (quarters[0].start, quarters[-1].end)
        for sd in sds:  # the stadsdeel's blocks of the run: computable from the trend, not shown as such
            wijken = [w for w in sorted(parent) if parent[w] == sd and k(("g", sd, w, P.ALL, quarters[0].start))
                      in model.values]
            link = ("L", sd, *tag)
            model.values[link] = sum(model.values[("b", sd, j)] for j in range(lo, hi))
            model.unshown.add(link)
            model.modules.append([(link, [("b", sd, j) for j in range(lo, hi)]),
                                  *meet(link, [k(("g", sd, w, P.ALL, q.start)) for w in wijken for q in quarters],
                                        ("L", sd, *tag))])
        combo = decompose(range(lo, hi), tile_ranges(model, CITY))  # every area has the same tiles
        if combo is None:
            continue
        added, subtracted = combo
        for w, sd in parent.items():
            if k(("g", sd, w, P.ALL, quarters[0].start)) not in model.values:
                continue
            rels: list = []
            for kind in (None, *priorities):
                def tile(pc, kind=kind):
                    return ("T", w, *pc) if kind is None else ("P", w, *pc, kind)
                theme = P.ALL if kind is None else P.key(P.INCIDENTEN, kind)
                if not all(tile(pc) in model.values for pc in added + subtracted) or \
                        any(k(("g", sd, w, theme, q.start)) not in model.values for q in quarters):
                    continue
                run_cell = ("V", w, kind, *tag)  # the run's count of the wijk, as the tiles give it
                model.values[run_cell] = (sum(model.values[tile(pc)] for pc in added)
                                          - sum(model.values[tile(pc)] for pc in subtracted))
                model.unshown.add(run_cell)
                if len(added) == 1:
                    rels.append((tile(added[0]), [run_cell, *(tile(pc) for pc in subtracted)]))
                else:
                    both = ("W", w, kind, *tag)  # the added tiles together
                    model.values[both] = sum(model.values[tile(pc)] for pc in added)
                    model.unshown.add(both)
                    rels += [(both, [tile(pc) for pc in added]), (both, [run_cell, *(tile(pc) for pc in subtracted)])]
                rels += meet(run_cell, [k(("g", sd, w, theme, q.start)) for q in quarters], ("V", w, kind, *tag))
            model.modules.append(rels)


_CACHE: dict = {}
_CACHE_GUARD = threading.Lock()
_CACHE_SIZE = 64
# The data generations the cache keeps: (data end, data start, digest of the weekly counts), the newest
# data last. Only the current and the previous version are asked for (a session pinned to the old version
# during a swap), so entries of older data are dropped when a newer generation arrives, and the cache does
# not fill up to _CACHE_SIZE with weeks nobody reads (~1.5 MB an entry at city scale, so up to ~100 MB).
_GENERATIONS: list = []
KEEP_GENERATIONS = 2


def _generation(key: tuple) -> tuple:
    (blocks, _heat), data_start, data_end = key[:3]  # (the heat maps follow the theme selection: not the data)
    return (data_end, str(data_start), blocks)


def _store(key: tuple, out) -> None:
    with _CACHE_GUARD:  # sessions and the warm-up thread (veiligheid.warmup) may finish at the same time
        gen = _generation(key)
        if gen not in _GENERATIONS:
            _GENERATIONS.append(gen)
            _GENERATIONS.sort()  # by data end: a late store of an old week does not push out a newer one
            del _GENERATIONS[:-KEEP_GENERATIONS]
        if gen not in _GENERATIONS:  # older than both kept generations: computed, returned, not kept
            return
        for k in [k for k in _CACHE if _generation(k) not in _GENERATIONS]:
            del _CACHE[k]
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = out


@dataclass(frozen=True, eq=False)  # holds DataFrames: compared by identity, never by value
class CityInputs:
    """What `city_protection` reads from the warehouse (see `city_inputs`)."""
    blocks: pd.DataFrame
    heat: dict
    prio: tuple
    runs: list
    quarters: list
    raw: object  # priorities.Raw of the linked quarters, or None


def city_inputs(con, data_start: dt.date | None, data_end: dt.date, themes: tuple[str, ...],
                policy: Policy) -> CityInputs:
    """Everything the protection of the overview needs from the warehouse, read in one go, so that a caller
    can let go of the connection before the computation (seconds): a warehouse version that a computation
    still holds keeps its DuckDB buffers in memory after the next weekly load."""
    from . import filters as F, queries  # (queries imports nothing from here; kept local to stay light)
    from . import priorities as P
    blocks = queries.block_counts(con, data_end)
    heat = {p: queries.stadsdeel_weekday_hour(con, F.resolve_period(F.FilterState(preset=p), data_end), themes)
            for p in PRESET_BLOCKS}
    prio = tuple(queries.priority_themes(con))
    runs = aligned_runs(data_start, data_end) if policy.active and not themes else []
    quarters = sorted({q for qs, _, _ in runs for q in qs})  # the other page's figures of them, in one query
    raw = P.load(con, quarters[-1], data_start, (quarters[-1].year - quarters[0].year) * 4 + quarters[-1].q
                 - quarters[0].q + 1) if quarters else None
    return CityInputs(blocks, heat, prio, runs, quarters, raw)


def city_protection(con, data_start: dt.date | None, data_end: dt.date, parent: Mapping[str, str],
                    themes: tuple[str, ...], policy: Policy, inputs: CityInputs | None = None) -> CityModel:
    """The protected city-wide model for a theme selection, computed once per content (cached in memory).

    The key is the content of the counts, not the warehouse file, so a reload of the same data (or a copy)
    costs nothing; a new week of data gives a new key. `inputs`: `city_inputs(...)` read beforehand (then
    `con` is not used and may be None)."""
    from . import priorities as P
    i = inputs or city_inputs(con, data_start, data_end, themes, policy)
    del con  # not needed any more (and not kept alive by this frame during the computation)
    digest = (int(pd.util.hash_pandas_object(i.blocks, index=False).sum()),
              tuple(int(pd.util.hash_pandas_object(h, index=False).sum()) for h in i.heat.values()))
    key = (digest, data_start, data_end, tuple(sorted(parent.items())), tuple(themes), i.prio, policy)
    key += tuple((q.code, P._quarter_digest(i.raw, q)) for q in i.quarters)
    found = _CACHE.get(key)
    if found is not None:
        return found
    model = city_model(i.blocks, i.heat, parent, tuple(themes), list(i.prio), data_start, data_end)
    if i.runs:  # its protection of those quarters (cached there; seconds the first time)
        systems = {q: (P.quarter_system(i.raw, q)[P.INCIDENTEN],
                       {c for b, c in P.protect_quarter(i.raw, q, policy) if b == P.INCIDENTEN})
                   for q in i.quarters}
        link_runs(model, i.runs, systems, parent, list(i.prio))
    out = protect_city(model, policy)
    _store(key, out)
    return out


def area_key(stadsdeel: str | None, wijk: str | None) -> str:
    return wijk or stadsdeel or CITY


def _count_key(area: str, preset: str, col: str, thema: str | None) -> tuple:
    """The model's cell of an area's count: the total, or (thema: one priority, from the all-themes model)
    that priority's tile, which is the same figure."""
    return ("P", area, preset, col, thema) if thema else ("T", area, preset, col)


def model_masks(model: CityModel, preset: str, codes: Mapping[str, list[str]], thema: str | None = None) -> dict:
    """area_masks() in the shape the page uses, cut from the city-wide model (thema: see _count_key)."""
    out = {}
    for col in COUNT_COLS:
        hid = {c for c in codes["wijk"] if model.hid(_count_key(c, preset, col, thema))}
        shid = {c for c in codes["stadsdeel"] if model.hid(_count_key(c, preset, col, thema))}
        out[col] = (hid, shid, model.hid(_count_key(CITY, preset, col, thema)))
    return out


def model_tiles_hidden(model: CityModel, area: str, preset: str, priorities: list[str], total_key: str,
                       thema: str | None = None) -> dict:
    """Hidden tiles per count column ({col: set of thema}), cut from the city-wide model (thema: see _count_key)."""
    return {col: {t for t in priorities if model.hid(("P", area, preset, col, t))}
            | ({total_key} if model.hid(_count_key(area, preset, col, thema)) else set()) for col in COUNT_COLS}


def model_weekly(model: CityModel, area: str, data_end: dt.date) -> pd.DataFrame:
    """The trend of an area from the model: blocks 0-51, last year = blocks 52-103, hidden ones NaN.

    The 4-block average is shown only where its four blocks are shown (then it tells nothing new)."""
    def val(j):
        k = ("b", area, j)
        return model.values[k] if model.shown(k) and not model.hid(k) else float("nan")

    rows = []
    for j in range(WINDOW - 1, -1, -1):
        if not model.shown(("b", area, j)):
            continue
        start = block_start(data_end, j)
        four = [val(x) for x in range(j, j + 4)]
        rows.append({"week": start, "week_id": fmt.iso_week(start),
                     "weeklabel": f"{fmt.date(start)} t/m {fmt.date(start + dt.timedelta(days=6))}",
                     "n": val(j), "n_vorig_jaar": val(j + WINDOW),
                     "gemiddelde_4w": float(np.mean(four)) if not np.isnan(four).any() else float("nan")})
    return pd.DataFrame(rows, columns=["week", "week_id", "weeklabel", "n", "n_vorig_jaar", "gemiddelde_4w"])


def model_heatmap(model: CityModel, area: str, preset: str) -> tuple[pd.DataFrame, int, bool]:
    """(dag, uur, n, onderdrukt) for the city or a stadsdeel, the count without a time and whether it is hidden.

    uur is the first hour of a block of HOURS hours (attrs["uren"] = HOURS, for the chart)."""
    rows = [{"dag": d, "uur": u, "n": int(model.values[("h", area, preset, d, u)]),
             "onderdrukt": model.hid(("h", area, preset, d, u))} for d in range(1, 8) for u in HOUR_STARTS]
    k = ("h", area, preset, 0, NO_TIME)
    df = pd.DataFrame(rows)
    df.attrs["uren"] = HOURS
    return df, int(model.values[k]), model.hid(k)

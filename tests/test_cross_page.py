"""Figures two pages share: "Dashboards veiligheid" (7-day blocks ending on the last day with data) and
"Prioriteiten per stadsdeel" (calendar quarters) count the same incidents. A run of consecutive quarters whose
days are whole blocks (one quarter of 91 days; Q4 + Q1 outside leap years, 182 days; three quarters, 273
days; ...) is a sum of blocks, and sometimes a sum or difference of tiles; then one page's hidden count can
be computed from the other's shown figures unless the two are protected together (veiligheid/overview.py,
`aligned_runs`, `link_runs`).

The reader here finds those relations on its own, from days: every run of quarters the priorities page
shows against every 7-day block and every tile's period (filters.resolve_period). The demo's figures are
read as on another last day with data (the overview's model and the priorities page both take it as an
argument): 31-03-2026 makes Q4 2025 + Q1 2026 the tiles "laatste 13 weken" + "vorige 13 weken".
"""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

import tests.test_priorities as TP
from tests.conftest_app import demo_warehouse  # noqa: F401  (fixture)
from veiligheid import disclosure, filters as F, overview as O, priorities as P, queries
from veiligheid.warehouse import connect_readonly

WIJKTEAM = disclosure.Policy(5, True)


def test_aligned_runs_by_hand():
    q = P.Quarter

    def runs(start, end):
        return [([x.code for x in qs], lo, hi) for qs, lo, hi in O.aligned_runs(start, end)]
    # Sunday 29-09-2024: Q2 2024 (91 days) is blocks 13-25, Q1 2024 (91 days, leap year) 26-38, and both together
    assert runs(None, dt.date(2024, 9, 29)) == [(["2024-K2"], 13, 26), (["2024-K1", "2024-K2"], 13, 39),
                                               (["2024-K1"], 26, 39)]
    assert runs(dt.date(2024, 2, 1), dt.date(2024, 9, 29)) == [(["2024-K2"], 13, 26)]  # Q1 not fully in the data
    assert runs(None, dt.date(2026, 11, 29)) == []  # the demo's own day: nothing lines up
    # 31-03-2026: Q4 2025 + Q1 2026 = 92 + 90 days = 26 blocks; with Q1-Q3 2025 (273 days) 65 blocks
    assert runs(None, dt.date(2026, 3, 31)) == [(["2025-K4", "2026-K1"], 0, 26),
                                               (["2025-K1", "2025-K2", "2025-K3", "2025-K4", "2026-K1"], 0, 65),
                                               (["2025-K1", "2025-K2", "2025-K3"], 26, 65)]
    assert runs(dt.date(2026, 1, 1), dt.date(2026, 6, 30)) == [(["2026-K2"], 0, 13)]  # the 13-week tile itself
    assert runs(dt.date(2026, 5, 1), dt.date(2026, 6, 30)) == [(["2026-K2"], 0, 13)]  # the page's last quarter
    assert runs(None, dt.date(2026, 10, 1)) == []
    assert O.aligned_runs(None, dt.date(2026, 12, 1))[0] == ((q(2026, 2),), 22, 35)  # a Tuesday: 154 days


def test_decompose_a_run_into_tiles():
    tiles = {(p, c): O.block_range(p, c) for p in O.PRESET_BLOCKS for c in O.COUNT_COLS}
    assert O.decompose(range(0, 13), tiles) == ([("13w", "n")], [])
    assert O.decompose(range(0, 26), tiles) == ([("13w", "n"), ("13w", "n_vorige")], [])
    assert O.decompose(range(13, 52), tiles) == ([("52w", "n")], [("13w", "n")])
    assert O.decompose(range(26, 39), tiles) is None  # no tile ends at 26 or starts at 39
    # blocks 26-64 = 52 weeks + 13 weeks a year earlier - 13 weeks - the 13 before (29-12-2025, for example)
    assert O.decompose(range(26, 65), tiles) == ([("13w", "n_jaar"), ("52w", "n")], [("13w", "n"), ("13w", "n_vorige")])


def _days(a: dt.date, b: dt.date) -> set:
    return {a + dt.timedelta(days=i) for i in range((b - a).days + 1)}


def _reader(con, model: O.CityModel, data_end: dt.date) -> tuple[dict, list, set, set]:
    """What one reader collects from both pages on `data_end`, with the relations true of the data, found here
    from days: the overview's figures and relations (an unlinked model) with the page's hidden flags, every
    stadsdeel view of every selectable quarter of the priorities page (tests/test_priorities.py), and where
    they meet. Returns (values,
    relations, hidden, unknown cells no page shows)."""
    f = queries.freshness(con)
    parent = dict(queries.wijken(con)[["code", "stadsdeel_code"]].itertuples(index=False))
    heat = {p: queries.stadsdeel_weekday_hour(con, F.resolve_period(F.FilterState(preset=p), data_end), ())
            for p in O.PRESET_BLOCKS}
    prio = queries.priority_themes(con)
    plain = O.city_model(queries.block_counts(con, data_end), heat, parent, (), prio, f.data_start, data_end)
    values = dict(plain.values)
    rels = [r for m in plain.modules for r in m]
    unshown = set(plain.unshown)
    hidden = {k for k in values if k in model.hidden} | unshown
    raws = [P.load(con, q, f.data_start) for q in P.available_quarters(f.data_start, data_end)]  # any selectable
    views = [P.protected_view(raw, sd, WIJKTEAM) for raw in raws for sd in raw.stadsdelen["code"]]
    pv, prels, phid = TP._shown_union(views)
    values.update(pv)
    rels += prels
    hidden |= phid
    # the quarters the page shows, and every run of them that is a union of whole blocks
    quarters = sorted({c[-1] for c in pv if c[0] == "g"})  # whose grid (wijk totals, themes) a view shows
    blocks = {j: _days(O.block_start(data_end, j), O.block_start(data_end, j) + dt.timedelta(days=6))
              for j in range(O.SPAN)}
    tiles = {}
    for p in O.PRESET_BLOCKS:
        per = F.resolve_period(F.FilterState(preset=p), data_end)
        for col, (a, b) in {"n": (per.start, per.end), "n_vorige": (per.prev_start, per.prev_end),
                            "n_jaar": (per.ya_start, per.ya_end)}.items():
            if ("T", O.CITY, p, col) in values:
                tiles[(p, col)] = _days(a, b)
    for i, j in itertools.combinations_with_replacement(range(len(quarters)), 2):
        qs = quarters[i:j + 1]
        days = _days(qs[0], P.Quarter.of(qs[-1]).end)
        inside = [b for b, d in blocks.items() if d <= days]
        if sum(len(blocks[b]) for b in inside) != len(days):
            continue
        tag = (qs[0], qs[-1])
        for sd in sorted(set(parent.values())):
            link = ("L", sd, *tag)
            values[link] = sum(values[("b", sd, b)] for b in inside)
            unshown.add(link)
            hidden.add(link)
            rels.append((link, [("b", sd, b) for b in inside]))
            rels.append((link, [("g", P.INCIDENTEN, sd, w, P.ALL, d) for w in parent if parent[w] == sd for d in qs]))
        for n in (1, 2, 3, 4):  # tiles whose periods add up to the run's days
            hits = [(combo, signs) for combo in itertools.combinations(sorted(tiles), n)
                    for signs in itertools.product((1, -1), repeat=n)
                    if all(sum(s for t, s in zip(combo, signs) if day in tiles[t]) == (day in days)
                           for day in set().union(days, *(tiles[t] for t in combo)))]
            if hits:
                break
        for combo, signs in hits[:1]:
            for w, sd in parent.items():
                for kind, theme in [(None, P.ALL), *((t, P.key(P.INCIDENTEN, t)) for t in prio)]:
                    cells = [("T", w, *t) if kind is None else ("P", w, *t, kind) for t in combo]
                    v = ("V", w, kind, *tag)
                    values[v] = sum(s * values[c] for c, s in zip(cells, signs))
                    unshown.add(v)
                    hidden.add(v)
                    rels.append((v, [("g", P.INCIDENTEN, sd, w, theme, d) for d in qs]))
                    plus = [c for c, s in zip(cells, signs) if s > 0]
                    minus = [c for c, s in zip(cells, signs) if s < 0]
                    if len(plus) == 1:
                        rels.append((plus[0], [v, *minus]))
                    else:
                        both = ("W", w, kind, *tag)
                        values[both] = sum(values[c] for c in plus)
                        unshown.add(both)
                        hidden.add(both)
                        rels += [(both, plus), (both, [v, *minus])]
    for total, parts in rels:  # every relation is true of the data
        assert values[total] == sum(values[p] for p in parts), total
    return values, rels, hidden, unshown


def _given_away(values: dict, rels: list, hidden: set, unshown: set) -> tuple[set, set]:
    """(hidden figures computed exactly, small hidden counts pinned by the bounds a reader knows: a hidden count
    is at least 1, no upper bound). A figure no page shows may be computed when it is not small."""
    small = {c for c in hidden if 0 < values[c] < WIJKTEAM.threshold}
    exact = {c for c in disclosure.recoverable(values, rels, hidden) if c not in unshown or c in small}
    unknown = set(hidden)
    while known := disclosure.recoverable(values, rels, unknown):  # large unshown figures a reader computes
        unknown -= known
    return exact, disclosure.recoverable(values, rels, unknown, None, bounds=True, targets=small)


def _shown_hidden(model: O.CityModel) -> set:
    return {k for k in model.hidden - model.unshown if k[0] != O.PRIO}


@pytest.mark.parametrize("data_end", [dt.date(2026, 3, 31), dt.date(2026, 6, 30)])
def test_overview_and_priorities_together_give_no_hidden_count_away(demo_warehouse, monkeypatch,  # noqa: F811
                                                                     data_end):
    """31-03-2026: Q4 2025 + Q1 2026 are the tiles "laatste 13 weken" + "vorige 13 weken" (the overview on its
    own gave 2 hidden wijk totals of Q1 away and pinned 8 small counts). 30-06-2026: Q2 is the 13-week tile,
    Q4 + Q1 + Q2 blocks 0-38 (on its own: 7 hidden figures computed, 11 small counts pinned)."""
    con = connect_readonly(demo_warehouse)
    try:
        f = queries.freshness(con)
        parent = dict(queries.wijken(con)[["code", "stadsdeel_code"]].itertuples(index=False))
        assert O.aligned_runs(f.data_start, data_end), "a day with quarters that line up"
        model = O.city_protection(con, f.data_start, data_end, parent, (), WIJKTEAM)
        assert not model.failed_closed and model.other_shown and model.other_hidden
        assert not model.hidden & model.other_shown, "a figure the other page shows is never hidden here"
        exact, pinned = _given_away(*_reader(con, model, data_end))
        # protected on its own, the overview gives figures of the other page away on this day
        monkeypatch.setattr(O, "aligned_runs", lambda *a: [])
        alone = O.city_protection(con, f.data_start, data_end, parent, (), WIJKTEAM)
        monkeypatch.undo()
        assert not alone.other_shown and not alone.failed_closed
        exact_alone, pinned_alone = _given_away(*_reader(con, alone, data_end))
        assert exact_alone, "the check can fail"
        assert exact == set()
        # 30-06-2026 leaves one weekly count pinned, a gap of the overview on its own (also pinned there): its
        # check stops at figures no view shows that a reader computes exactly (issue 7's note)
        assert pinned <= pinned_alone and (pinned == set() if data_end.month == 3 else len(pinned) <= 1)
        # the price: a few more of the overview's own figures hidden, not everything
        assert _shown_hidden(alone) <= _shown_hidden(model)
        assert len(_shown_hidden(model)) < 1.2 * len(_shown_hidden(alone))
    finally:
        con.close()


def test_a_record_the_two_pages_place_differently_is_a_cell_of_its_own():
    """A record with a wijk (buurtcode) but no stadsdeel (wijkcode) after new area boundaries counts in its
    wijk's blocks on the overview and in no stadsdeel on the priorities page. The link then holds with a
    difference cell neither page shows (it raised an error and broke the overview for a wijkteam)."""
    q = P.Quarter(2026, 2)
    model = O.CityModel({("b", "S", j): 0.0 for j in range(O.SPAN)} | {("T", "w", "13w", "n"): 3.0,
                                                                          ("T", O.CITY, "13w", "n"): 3.0}, [], set())
    model.values[("b", "S", 0)] = 3.0
    g = ("g", "S", "w", P.ALL, q.start)
    system = P.CitySystem({g: 2.0}, [], set())
    O.link_runs(model, [((q,), 0, 13)], {q: (system, set())}, {"w": "S"}, [])
    rels = [r for m in model.modules for r in m]
    for total, parts in rels:
        assert model.values[total] == sum(model.values[p] for p in parts), total
    diffs = {k: v for k, v in model.values.items() if k[0] == "D"}
    assert sorted(diffs.values()) == [1.0, 1.0] and set(diffs) <= model.unshown

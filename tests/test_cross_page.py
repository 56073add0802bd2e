"""Figures two pages share: "Dashboards veiligheid" (7-day blocks ending on the last day with data) and
"Prioriteiten per stadsdeel" (calendar quarters) count the same incidents. A quarter of 91 days that ends on
a block's last day is exactly 13 blocks; then one page's hidden count can be computed from the other's shown
figures unless the two are protected together (veiligheid/overview.py, `link_quarter`).

The demo for this module is extracted on Sunday 29-09-2024: the 2nd quarter of 2024 is then the overview's
"vorige 13 weken" (blocks 13-25) and the 1st (2024 is a leap year) blocks 26-38 of the trend.
"""
from __future__ import annotations

import datetime as dt

import pytest

import tests.test_priorities as TP
from tests.conftest_app import build_demo_warehouse
from veiligheid import disclosure, filters as F, overview as O, priorities as P, queries
from veiligheid.warehouse import connect_readonly

WIJKTEAM = disclosure.Policy(5, True)
DAY = dt.date(2024, 9, 29)


def test_aligned_quarters_by_hand():
    q = P.Quarter
    assert O.aligned_quarters(None, DAY) == [(q(2024, 2), 13), (q(2024, 1), 26)]
    assert O.aligned_quarters(None, dt.date(2026, 11, 29)) == []  # the main demo: no quarter lines up
    assert O.aligned_quarters(None, dt.date(2026, 12, 1)) == [(q(2026, 2), 22)]  # a Tuesday: 154 days = 22 weeks
    assert O.aligned_quarters(None, dt.date(2026, 6, 30)) == [(q(2026, 2), 0)]  # the 13-week tile itself
    assert O.aligned_quarters(dt.date(2026, 5, 1), dt.date(2026, 6, 30)) == [(q(2026, 2), 0)]  # the page's last quarter
    assert O.aligned_quarters(dt.date(2024, 2, 1), DAY) == [(q(2024, 2), 13)]  # Q1 2024 has no full data
    assert O.aligned_quarters(None, dt.date(2026, 10, 1)) == []  # Q3 has 92 days; Q2 ends 93 days before


@pytest.fixture(scope="module")
def aligned_demo(tmp_path_factory):
    return build_demo_warehouse(tmp_path_factory.mktemp("demo_20240929"), today=DAY)


def _reader(con, model: O.CityModel) -> tuple[dict, list, set, set]:
    """What one reader collects from both pages, with the relations true of the data, written here on their own:
    the overview's figures and relations (an unlinked model) with the page's hidden flags, every stadsdeel view
    of the priorities page (tests/test_priorities.py), and where they meet: a stadsdeel's 13 blocks of an
    aligned quarter = the sum of its wijken's totals there; a wijk's 13-week tile = its total, a priority tile
    = its theme count. Returns (values, relations, hidden, unknown cells no page shows)."""
    f = queries.freshness(con)
    parent = dict(queries.wijken(con)[["code", "stadsdeel_code"]].itertuples(index=False))
    heat = {p: queries.stadsdeel_weekday_hour(con, F.resolve_period(F.FilterState(preset=p), f.data_end), ())
            for p in O.PRESET_BLOCKS}
    prio = queries.priority_themes(con)
    plain = O.city_model(queries.block_counts(con, f.data_end), heat, parent, (), prio, f.data_start, f.data_end)
    values = dict(plain.values)
    rels = [r for m in plain.modules for r in m]
    unshown = set(plain.unshown)
    hidden = {k for k in values if k in model.hidden} | unshown
    raw = P.load(con, P.last_full_quarter(f.data_end), f.data_start)
    views = [P.protected_view(raw, sd, WIJKTEAM) for sd in raw.stadsdelen["code"]]
    pv, prels, phid = TP._shown_union(views)
    values.update(pv)
    rels += prels
    hidden |= phid
    for q, first in O.aligned_quarters(f.data_start, f.data_end):
        blocks = range(first, first + 13)
        for sd in sorted(set(parent.values())):
            link = ("L", sd, q.start)
            values[link] = sum(values[("b", sd, j)] for j in blocks)
            unshown.add(link)
            hidden.add(link)
            rels.append((link, [("b", sd, j) for j in blocks]))
            rels.append((link, [("g", P.INCIDENTEN, sd, w, P.ALL, q.start) for w in parent if parent[w] == sd]))
        for col in O.COUNT_COLS:
            if list(O.block_range("13w", col)) == list(blocks):
                for w, sd in parent.items():
                    rels.append((("T", w, "13w", col), [("g", P.INCIDENTEN, sd, w, P.ALL, q.start)]))
                    rels += [(("P", w, "13w", col, t), [("g", P.INCIDENTEN, sd, w, P.key(P.INCIDENTEN, t), q.start)])
                             for t in prio]
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


def test_overview_and_priorities_together_give_no_hidden_count_away(aligned_demo, monkeypatch):
    con = connect_readonly(aligned_demo)
    try:
        f = queries.freshness(con)
        assert f.data_end == DAY and [q for q, _ in O.aligned_quarters(f.data_start, f.data_end)] == [
            P.Quarter(2024, 2), P.Quarter(2024, 1)]
        parent = dict(queries.wijken(con)[["code", "stadsdeel_code"]].itertuples(index=False))
        model = O.city_protection(con, f.data_start, f.data_end, parent, (), WIJKTEAM)
        assert model.other_shown and model.other_hidden, "the quarters' cells are in the model"
        assert not model.hidden & model.other_shown, "a figure the other page shows is never hidden here"
        exact, pinned = _given_away(*_reader(con, model))
        assert exact == set() and pinned == set()
        # without the link the pages give figures away on this demo (so the check above can fail)
        monkeypatch.setattr(O, "aligned_quarters", lambda *a: [])
        alone = O.city_protection(con, f.data_start, f.data_end, parent, (), WIJKTEAM)
        assert not alone.other_shown
        monkeypatch.undo()
        exact, _ = _given_away(*_reader(con, alone))
        assert exact and all(c[0] == "g" for c in exact), exact  # wijk totals of Q2 2024: its "vorige 13 weken"
        assert len(model.hidden - model.other_hidden) > len(alone.hidden)
    finally:
        con.close()

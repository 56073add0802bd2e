"""Priorities per stadsdeel: quarters, the score and its explanation, the grid's uncertainty, disclosure,
and the page (AppTest: the wijkteam never sees a small count, the analist can change the weights, the
meeting pack is a real PDF with the expected sections, a signal opens the overview page filtered)."""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import zipfile

import pandas as pd
import pypdf
import pytest
import streamlit

from tests.conftest_app import app_test, app_warehouse, demo_warehouse, map_specs, map_texts, record_downloads  # noqa: F401
from veiligheid import disclosure, queries, signals
from veiligheid import priorities as P
from veiligheid.warehouse import connect_readonly

PAGE = "views/prioriteiten.py"
WIJKTEAM = disclosure.Policy(5, True)
OPEN = disclosure.Policy(5, False)


# ------------------------------------------------------------------ quarters
def test_quarters_by_hand():
    q = P.Quarter.of(dt.date(2026, 11, 28))
    assert (q.year, q.q) == (2026, 4) and q.start == dt.date(2026, 10, 1) and q.end == dt.date(2026, 12, 31)
    assert P.Quarter(2026, 1).shift(-1) == P.Quarter(2025, 4)
    assert P.Quarter(2025, 4).shift(1) == P.Quarter(2026, 1)
    assert P.Quarter(2026, 3).shift(-4) == P.Quarter(2025, 3)
    assert P.Quarter(2024, 1).days == 91 and P.Quarter(2025, 1).days == 90  # leap year
    assert P.Quarter(2026, 3).label == "3e kwartaal 2026" and P.Quarter.parse("2026-K3") == P.Quarter(2026, 3)
    assert P.Quarter.parse("2026-K5") is None and P.Quarter.parse("rommel") is None
    # the last FULL quarter before the data's last day
    assert P.last_full_quarter(dt.date(2026, 11, 28)) == P.Quarter(2026, 3)
    assert P.last_full_quarter(dt.date(2026, 9, 30)) == P.Quarter(2026, 3)
    assert P.last_full_quarter(dt.date(2026, 9, 29)) == P.Quarter(2026, 2)
    # only quarters the data cover completely
    assert P.available_quarters(dt.date(2025, 8, 18), dt.date(2026, 11, 28)) == [
        P.Quarter(2026, 3), P.Quarter(2026, 2), P.Quarter(2026, 1), P.Quarter(2025, 4)]
    p = P.quarter_period(P.Quarter(2026, 3))
    assert (p.start, p.end, p.prev_start, p.prev_end, p.ya_start, p.ya_end) == (
        dt.date(2026, 7, 1), dt.date(2026, 9, 30), dt.date(2026, 4, 1), dt.date(2026, 6, 30),
        dt.date(2025, 7, 1), dt.date(2025, 9, 30))


# ------------------------------------------------------------------ uncertainty
def test_exact_poisson_interval_known_values():
    lo, hi = P.poisson_ci([0, 1, 10])
    # n = 0: upper = -ln(0.025) = 3.689; n = 1: (-ln(0.975), 5.572); n = 10: (4.795, 18.390) (Garwood tables)
    assert lo[0] == 0 and hi[0] == pytest.approx(-math.log(0.025), rel=1e-6)
    assert lo[1] == pytest.approx(-math.log(0.975), rel=1e-6) and hi[1] == pytest.approx(5.5716, abs=1e-4)
    assert lo[2] == pytest.approx(4.7954, abs=1e-4) and hi[2] == pytest.approx(18.3904, abs=1e-4)


def test_marshall_shrinkage_by_hand():
    # three areas: 10 in 1000, 0 in 1000, 20 in 2000 inhabitants; m = 30 / 4000 = 0.0075
    # s2 = [1000 (0.0025)^2 + 1000 (0.0075)^2 + 2000 (0.0025)^2] / 4000 - 0.0075 / (4000 / 3) = 1.3125e-5
    # C1 = s2 / (s2 + m / 1000) = 1.3125 / 2.0625 = 0.63636; r1* = 0.0075 + C1 * 0.0025 = 0.0090909
    rates, s2 = P.marshall_eb([10, 0, 20], [1000, 1000, 2000])
    assert s2 == pytest.approx(1.3125e-5)
    assert rates[0] == pytest.approx(0.0075 + 1.3125 / 2.0625 * 0.0025)
    assert rates[1] == pytest.approx(0.0075 - 1.3125 / 2.0625 * 0.0075)
    c3 = 1.3125e-5 / (1.3125e-5 + 0.0075 / 2000)
    assert rates[2] == pytest.approx(0.0075 + c3 * 0.0025)
    # no variation between areas beyond chance: every rate becomes the mean
    same, s2 = P.marshall_eb([5, 5], [1000, 1000])
    assert s2 == 0 and list(same) == pytest.approx([0.005, 0.005])
    # an area without inhabitants gets no rate and is left out
    r, _ = P.marshall_eb([3, 4], [0, 1000])
    assert math.isnan(r[0]) and r[1] == pytest.approx(0.004)


# ------------------------------------------------------------------ the score, by hand
def _themes() -> pd.DataFrame:
    """Five themes with known components (see the comments for the hand computation)."""
    rows = [
        # key, bron, n, index, aandeel, ernst, n_vorige, change, significant
        ("incidenten:A", "incidenten", 40, 200.0, 0.04, 0.5, pd.NA, math.nan, False),
        ("incidenten:B", "incidenten", 10, 100.0, 0.01, 1.0, 5, 1.0, True),
        ("registraties:C", "registraties", 20, 50.0, 0.02, 0.25, 40, -0.5, True),
        ("incidenten:D", "incidenten", 4, 400.0, 0.004, 1.0, 1, 3.0, False),
        ("incidenten:E", "incidenten", 30, 100.0, 0.03, 0.5, 30, 0.0, False),
    ]
    t = pd.DataFrame(rows, columns=["key", "bron", "n", "index", "aandeel", "ernst", "n_vorige", "verandering_vorige",
                                    "significant_vorige"])
    t["n_vorige"] = t["n_vorige"].astype("Int64")
    t["label"] = [P.split_key(k)[1] for k in t["key"]]
    t["prioriteit"] = False
    t["hic"] = [0.0, 1.0, 0.0, 1.0, 0.0]
    t["n_jaar"] = pd.array([pd.NA] * len(t), dtype="Int64")
    t["verandering_jaar"] = math.nan
    t["significant_jaar"] = False
    t["richting_vorige"] = [0, 1, -1, 0, 0]
    t["richting_jaar"] = 0
    return t


def test_score_known_inputs_known_ranking():
    s = P.score(_themes()).set_index("key")
    # A: niveau 200/200 = 1, trend 0.5 (no comparison), volume 0.04/0.04 = 1, ernst 0.5
    #    -> 100 x (0.35 + 0.125 + 0.2 + 0.1) = 77.5
    # B: niveau 0.5, trend 0.5 + 0.5 x 1.0 = 1 (significant +100%), volume 0.25, ernst 1 -> 67.5
    # E: niveau 0.5, trend 0.5 (0%, not significant), volume 0.75, ernst 0.5 -> 55
    # C: niveau 0.25, trend 0.5 - 0.5 x 0.5 = 0.25 (significant -50%), volume 0.5, ernst 0.25 -> 30
    # D: only 4 this quarter: no score, whatever its index
    assert s.loc["incidenten:A", "score"] == pytest.approx(77.5)
    assert s.loc["incidenten:B", "score"] == pytest.approx(67.5)
    assert s.loc["incidenten:E", "score"] == pytest.approx(55.0)
    assert s.loc["registraties:C", "score"] == pytest.approx(30.0)
    assert math.isnan(s.loc["incidenten:D", "score"]) and not s.loc["incidenten:D", "gescoord"]
    ranked = P.score(_themes())
    assert list(ranked["key"]) == ["incidenten:A", "incidenten:B", "incidenten:E", "registraties:C", "incidenten:D"]
    assert list(ranked["rang"][:4]) == [1, 2, 3, 4] and ranked["rang"].isna().iloc[4]
    assert s.loc["incidenten:B", "c_trend"] == pytest.approx(1.0)
    assert s.loc["registraties:C", "c_trend"] == pytest.approx(0.25)


def test_a_trend_that_is_not_significant_counts_half_and_small_comparisons_not_at_all():
    t = _themes()
    t.loc[1, "significant_vorige"] = False  # B: +100 % but not significant -> 0.5 + 0.5 x 1 x 0.5 = 0.75
    s = P.score(t).set_index("key")
    assert s.loc["incidenten:B", "c_trend"] == pytest.approx(0.75)
    t.loc[1, "n_vorige"] = 4  # fewer than 5 before: no trend at all (neutral 0.5)
    s = P.score(t).set_index("key")
    assert s.loc["incidenten:B", "c_trend"] == pytest.approx(0.5) and not s.loc["incidenten:B", "trend_bruikbaar"]


def test_weights_change_the_ranking():
    only_ernst = P.score(_themes(), {"niveau": 0, "trend": 0, "volume": 0, "ernst": 1})
    # B is high impact crime (1.0); A and E tie at 0.5: the larger count (A, 40) first; C is a registration
    assert list(only_ernst["key"][:4]) == ["incidenten:B", "incidenten:A", "incidenten:E", "registraties:C"]
    only_trend = P.score(_themes(), {"trend": 2.0})
    assert only_trend.iloc[0]["key"] == "incidenten:B" and only_trend.iloc[3]["key"] == "registraties:C"
    assert P.normalise_weights({k: 0 for k in P.COMPONENTS}) == {k: 0.25 for k in P.COMPONENTS}
    assert sum(P.normalise_weights({"niveau": 3, "trend": 1}).values()) == pytest.approx(1.0)


def test_excluded_rows_get_no_score_and_the_rest_is_ranked_without_gaps():
    s = P.score(_themes(), exclude=pd.Series([True, False, False, False, False]))
    assert list(s["key"][:3]) == ["incidenten:B", "incidenten:E", "registraties:C"]
    assert list(s["rang"][:3]) == [1, 2, 3]
    # the volume is relative to the largest SHOWN theme (E, 0.03), so nothing about A can be read from it
    assert s.set_index("key").loc["incidenten:E", "c_volume"] == pytest.approx(1.0)


def test_explanation_in_words():
    s = P.score(_themes())
    text = P.explain(s)
    # A: contributions niveau 35, volume 20, trend 12.5, ernst 10; against B the niveau differs most (35 vs 17.5)
    assert text[0].startswith("A staat bovenaan (score 78 van 100) vooral door het niveau: per 1.000 inwoners "
                              "2,0 keer zo vaak als in de hele stad (index 200), en het volume: 40 incidenten, "
                              "4,0% van alle incidenten in de stad.")
    assert text[1] == ("Het verschil met nummer 2, B (score 68), zit vooral in het niveau: bij B per 1.000 inwoners "
                       "ongeveer even vaak als in de hele stad (index 100).")
    b = P.explain(s, "incidenten:B")
    assert b[0].startswith("B staat op plaats 2 (score 68 van 100) vooral door de trend: +100% t.o.v. het vorige "
                           "kwartaal (significant), en de ernst: high impact crime (weegt zwaarder).")
    assert b[1].startswith("Nummer 1, A (score 78), scoort vooral hoger op het niveau")
    assert "geen score" in P.explain(s, "incidenten:D")[0]
    empty = P.score(_themes().assign(n=1))
    assert "Geen enkel thema" in P.explain(empty)[0]


def test_ranking_table_shows_hidden_counts_as_label():
    t = _themes()
    t["n_verborgen"] = t["n"] < 5
    t["per_1000"] = 1.0
    s = P.score(t, exclude=t["n_verborgen"])
    table = P.ranking_table(s, WIJKTEAM)
    row = table[table["Thema"] == "D"].iloc[0]
    assert row["Aantal"] == "<5" and row["Score"] == "–" and "te weinig" in row["Opmerking"]
    assert table.iloc[0]["Aantal"] == "40" and table.iloc[0]["Score"] == "78"
    assert table[table["Thema"] == "B"].iloc[0]["Vorig kwartaal"] == "5"


# ------------------------------------------------------------------ a hand-made area: index, grid, disclosure
def _raw() -> P.Raw:
    """Two stadsdelen: S1 = W1 (1000) + W2 (1000) + W0 (50 inhabitants); S2 = W3 (2000)."""
    q = P.Quarter(2026, 3)
    prev = q.shift(-1)
    rows = [  # bron, thema, buurt, wijk(code of stadsdeel), quarter, n, n_hic
        ("incidenten", "A", "W1", "S1", q, 10, 0), ("incidenten", "A", "W2", "S1", q, 3, 0),
        ("incidenten", "A", "W3", "S2", q, 20, 0), ("incidenten", "A", "W1", "S1", prev, 6, 0),
        ("incidenten", "B", "W1", "S1", q, 2, 2), ("incidenten", "B", "W3", "S2", q, 8, 8),
        ("incidenten", "B", "W0", "S1", q, 1, 1),
        ("registraties", "R", "W1", "S1", q, 7, 0), ("registraties", "R", "W2", "S1", q, 0, 0),
        ("registraties", "R", "W3", "S2", q, 9, 0),
    ]
    counts = pd.DataFrame([(b, t, bu, w, qq.start, n, h) for b, t, bu, w, qq, n, h in rows],
                          columns=["bron", "thema", "buurtcode", "wijkcode", "kwartaal", "n", "n_hic"])
    catalog = pd.DataFrame({"key": ["incidenten:A", "incidenten:B", "registraties:R"],
                            "thema": ["A", "B", "R"], "prioriteit": [False, True, False], "hic": [0.0, 1.0, 0.0],
                            "bron": ["incidenten", "incidenten", "registraties"]})
    wijken = pd.DataFrame({"code": ["W0", "W1", "W2", "W3"], "naam": ["Nul", "Een", "Twee", "Drie"],
                           "stadsdeel_code": ["S1", "S1", "S1", "S2"], "stadsdeel": ["Sa", "Sa", "Sa", "Sb"],
                           "inwoners": [50, 1000, 1000, 2000]})
    stadsdelen = pd.DataFrame({"code": ["S1", "S2"], "naam": ["Sa", "Sb"], "inwoners": [2050, 2000]})
    return P.Raw(q, counts, catalog, wijken, stadsdelen, dt.date(2026, 1, 1), "Teststad")


def test_area_view_by_hand():
    v = P.area_view(_raw(), "S1")
    t = v.themes.set_index("key")
    # A: 13 in S1 (2050 inhabitants), 33 in the city (4050): index = (13/2050) / (33/4050) x 100 = 77.83
    assert t.loc["incidenten:A", "n"] == 13 and t.loc["incidenten:A", "n_stad"] == 33
    assert t.loc["incidenten:A", "index"] == pytest.approx(13 / 2050 / (33 / 4050) * 100)
    assert t.loc["incidenten:A", "n_vorige"] == 6
    # the previous quarter is covered (data from 2026-01-01), a year earlier is not
    assert v.covered_prev and not v.covered_ya and pd.isna(t.loc["incidenten:A", "n_jaar"])
    assert t.loc["incidenten:B", "ernst"] == 1.0 and t.loc["registraties:R", "ernst"] == P.ERNST_REG
    # share of the city's incidents: 13 of 33 + 11 = 44
    assert t.loc["incidenten:A", "aandeel"] == pytest.approx(13 / 44)
    g = v.grids["incidenten"].set_index(["wijk", "key"])
    # W1, A: expected at the city rate 33 / 4050 x 1000 = 8.148; index 10 / 8.148 = 122.7; 95 % interval
    e = 33 / 4050 * 1000
    assert g.loc[("W1", "incidenten:A"), "index"] == pytest.approx(100 * 10 / e)
    assert g.loc[("W1", "incidenten:A"), "index_lo"] == pytest.approx(100 * 4.7954 / e, abs=0.01)
    assert g.loc[("W1", "incidenten:A"), "index_hi"] == pytest.approx(100 * 18.3904 / e, abs=0.01)
    assert g.loc[("W1", "incidenten:A"), "onzeker"]  # the interval includes 100: could be chance
    # W0 has 50 inhabitants: its count is kept, but no index
    assert g.loc[("W0", "incidenten:B"), "n"] == 1 and math.isnan(g.loc[("W0", "incidenten:B"), "index"])
    assert g.loc[("W1", P.ALL), "n"] == 12  # all themes of the wijk


def test_view_counts_equal_plain_sums_per_quarter(demo_warehouse):  # noqa: F811
    """area_view reads its counts per quarter from one table per source (session 12); every count of the
    themes and of the trend equals a plain filter-and-sum of the records, for every stadsdeel, the newest and
    the oldest quarter; and a Raw without the precomputed theme keys gives the same view."""
    import dataclasses

    con = connect_readonly(demo_warehouse)
    try:
        f = queries.freshness(con)
        quarters = P.available_quarters(f.data_start, f.data_end)
        raws = [P.load(con, q, f.data_start) for q in (quarters[0], quarters[-1])]
    finally:
        con.close()
    checked = 0
    for raw in raws:
        assert "key" in raw.counts
        bare = dataclasses.replace(raw, counts=raw.counts.drop(columns="key"))
        c = P._keyed(raw)
        for sd in raw.stadsdelen["code"]:
            v = P.area_view(raw, sd)
            pd.testing.assert_frame_equal(v.themes, P.area_view(bare, sd).themes)
            t = v.themes.set_index("key")

            def plain(q, col="n", city=False):
                part = c[c["kwartaal"] == q.start]
                part = part if city else part[part["wijkcode"] == sd]
                return part.groupby("key")[col].sum().reindex(t.index, fill_value=0).astype("int64")

            q = raw.quarter
            assert (t["n"] == plain(q)).all() and (t["n_stad"] == plain(q, city=True)).all()
            assert (t["n_hic"] == plain(q, "n_hic")).all()
            if v.covered_prev:
                assert (t["n_vorige"] == plain(q.shift(-1))).all()
            if v.covered_ya:
                assert (t["n_jaar"] == plain(q.shift(-4))).all()
            for start, rows in v.quarterly.groupby("kwartaal"):
                qq = P.Quarter.of(start)
                r = rows.set_index("key")
                assert (r["n"] == plain(qq)).all() and (r["n_stad"] == plain(qq, city=True)).all()
                checked += int(r["n"].sum())
    assert checked > 1000  # the sums above compared real records


def _grid_reference(c, all_wijken, mine, themes, q, bron, stadsdeel) -> pd.DataFrame:
    """The grid's counts, expected counts and shrunken index, one key and one wijk at a time: how P.grid
    computed them until session 9 (now whole matrices at once), kept as the reference; the counts of the
    stadsdeel's own records (until session 9 the row "(wijk onbekend)" counted the whole city's)."""
    import numpy as np

    cq = c[(c["kwartaal"] == q.start) & (c["bron"] == bron)]
    cp = c[(c["kwartaal"] == q.shift(-1).start) & (c["bron"] == bron)]
    pop = all_wijken.set_index("code")["inwoners"].fillna(0).astype("float64")
    rows = []
    for k in [*themes["key"], P.ALL]:
        f = cq if k == P.ALL else cq[cq["key"] == k]
        fp = cp if k == P.ALL else cp[cp["key"] == k]
        by_wijk = f[f["wijkcode"] == stadsdeel].groupby("buurtcode")["n"].sum()
        prev_by_wijk = fp[fp["wijkcode"] == stadsdeel].groupby("buurtcode")["n"].sum()
        city = f.groupby("buurtcode")["n"].sum().reindex(pop.index, fill_value=0).astype("float64")
        m = float(f["n"].sum()) / float(pop.sum()) if pop.sum() > 0 else math.nan
        use = pop >= P.MIN_INHABITANTS
        shrunk = pd.Series(np.nan, index=pop.index)
        if m > 0 and use.any():
            shrunk[use] = P.marshall_eb(city[use].to_numpy(), pop[use].to_numpy(), m)[0]
        for _, w in mine.iterrows():
            p = float(w["inwoners"])
            rows.append({"wijk": w["code"], "wijk_naam": w["naam"], "inwoners": int(p), "key": k,
                         "thema": P.split_key(k)[1] if k != P.ALL else "Alle thema's",
                         "n": int(by_wijk.get(w["code"], 0)), "n_vorige": int(prev_by_wijk.get(w["code"], 0)),
                         "verwacht": m * p if p > 0 and m == m else math.nan,
                         "index_eb": shrunk.get(w["code"], math.nan) * 100.0 / m
                         if m and m == m and p >= P.MIN_INHABITANTS else math.nan})
    return pd.DataFrame(rows)


def _grid_inputs(raw: P.Raw, sd: str):
    v = P.area_view(raw, sd)
    return P._keyed(raw), raw.wijken, v.wijken, v.themes


def test_grid_equals_the_one_key_at_a_time_reference(demo_warehouse):
    """Every stadsdeel (with its records without a known wijk), both sources, a quarter with data, the
    first quarter of the data (no quarter before it) and one without any records."""
    con = connect_readonly(demo_warehouse)
    try:
        f = queries.freshness(con)
        quarters = P.available_quarters(f.data_start, f.data_end)
        raws = [P.load(con, q, f.data_start) for q in (quarters[0], quarters[-1], quarters[0].shift(8))]
    finally:
        con.close()
    assert raws[0].counts["n"].sum() > 0 and raws[2].counts.query("kwartaal == @raws[2].quarter.start").empty
    compared = 0
    for raw in raws:
        for sd in raw.stadsdelen["code"]:
            c, all_wijken, mine, themes = _grid_inputs(raw, sd)
            for bron in P.BRONNEN:
                th = themes[themes["bron"] == bron]
                got = P.grid(c, all_wijken, mine, th, raw.quarter, bron, sd)
                want = _grid_reference(c, all_wijken, mine, th, raw.quarter, bron, sd)
                pd.testing.assert_frame_equal(got[want.columns].reset_index(drop=True), want, check_exact=False,
                                              rtol=1e-12, atol=0)
                compared += len(want)
    assert compared > 1000


def _raw_with_unknown_wijken() -> P.Raw:
    """_raw() plus records without a known wijk: 6 in S1, 3 in S2, and 1 without a stadsdeel at all."""
    raw = _raw()
    qs = raw.quarter.start
    extra = pd.DataFrame([("incidenten", "A", P.WIJK_ONBEKEND, "S1", qs, 6, 0),
                          ("incidenten", "A", P.WIJK_ONBEKEND, "S2", qs, 3, 0),
                          ("incidenten", "A", P.WIJK_ONBEKEND, "??", qs, 1, 0)], columns=raw.counts.columns)
    return P.Raw(raw.quarter, pd.concat([raw.counts, extra], ignore_index=True), raw.catalog, raw.wijken,
                 raw.stadsdelen, raw.data_start, raw.gemeente)


def test_grid_by_hand_matrix_edge_cases():
    """The hand-made city: W0 (50 inhabitants) gets no shrunken index, an unknown wijk no expected count, and
    each stadsdeel's "(wijk onbekend)" row counts its own records only (S1: 6, not the city's 10)."""
    raw = _raw_with_unknown_wijken()
    for sd, own in (("S1", 6), ("S2", 3)):
        c, all_wijken, mine, themes = _grid_inputs(raw, sd)
        assert P.WIJK_ONBEKEND in set(mine["code"])  # area_view adds the row when the stadsdeel has such records
        th = themes[themes["bron"] == "incidenten"]
        got = P.grid(c, all_wijken, mine, th, raw.quarter, "incidenten", sd)
        want = _grid_reference(c, all_wijken, mine, th, raw.quarter, "incidenten", sd)
        pd.testing.assert_frame_equal(got[want.columns], want, check_exact=False, rtol=1e-12, atol=0)
        g = got.set_index(["wijk", "key"])
        assert g.loc[(P.WIJK_ONBEKEND, "incidenten:A"), "n"] == own
        assert math.isnan(g.loc[(P.WIJK_ONBEKEND, P.ALL), "verwacht"])
    g = P.area_view(raw, "S1").grids["incidenten"].set_index(["wijk", "key"])
    assert math.isnan(g.loc[("W0", "incidenten:B"), "index_eb"]) and g.loc[("W0", "incidenten:B"), "n"] == 1
    assert g.loc[("W1", P.ALL), "n"] == 12 and g.loc[("W1", "incidenten:A"), "n_vorige"] == 6
    # the city rate still counts every record (33 + 10 for A): the index reference is the whole city
    assert g.loc[("W1", "incidenten:A"), "verwacht"] == pytest.approx(43 / 4050 * 1000)


def test_every_grid_count_is_the_cell_disclosure_control_judges():
    """What a view shows in its grid is exactly the value of its cell in the quarter's disclosure system,
    for every wijk (also "(wijk onbekend)"), theme and stadsdeel: otherwise a cell could be judged safe on one
    number while the page shows another (the unknown-wijk row once showed the city's count)."""
    raw = _raw_with_unknown_wijken()
    systems = P.quarter_system(raw, raw.quarter)
    qs = raw.quarter.start
    checked = 0
    for sd in raw.stadsdelen["code"]:
        view = P.area_view(raw, sd)
        for bron, g in view.grids.items():
            for r in g.itertuples():
                cell = ("g", sd, r.wijk, r.key, qs)
                # (a source without unknown-wijk records in the stadsdeel has no such cell: the row shows 0)
                assert r.n == systems[bron].values.get(cell, 0), (sd, r.wijk, r.key)
                checked += cell in systems[bron].values
    assert checked > 10


def test_the_share_of_high_impact_crime_gives_no_count_away_under_disclosure_control():
    """Theme A in S1: 13 incidents, 3 of them high impact crime by their codes. "voor 23% high impact crime"
    beside the shown 13 gives the small count 3 away; under disclosure control the seriousness weight comes
    from the theme's code list (half of A's codes are HIC), the same for every area."""
    raw = _raw()
    raw.counts.loc[(raw.counts["thema"] == "A") & (raw.counts["buurtcode"] == "W1") & (raw.counts["kwartaal"] ==
                                                                                   raw.quarter.start), "n_hic"] = 3
    raw.catalog.loc[raw.catalog["thema"] == "A", "hic"] = 0.5
    analist = P.protect(P.area_view(raw, "S1"), OPEN, frozenset()).themes.set_index("key")
    assert analist.loc["incidenten:A", "hic"] == pytest.approx(3 / 13)
    assert "voor 23% high impact crime" == P._ernst_words(analist.loc["incidenten:A"])
    team = P.protected_view(raw, "S1", WIJKTEAM).themes.set_index("key")
    assert team.loc["incidenten:A", "n"] == 13
    assert team.loc["incidenten:A", "hic"] == 0.5 and pd.isna(team.loc["incidenten:A", "n_hic"])
    assert team.loc["incidenten:A", "ernst"] == pytest.approx(P.ERNST_CRIME + (P.ERNST_HIC - P.ERNST_CRIME) * 0.5)
    assert P._ernst_words(team.loc["incidenten:A"]) == "voor 50% van zijn delictcodes high impact crime"


def test_protect_hides_small_cells_and_nothing_can_be_subtracted():
    v = P.protected_view(_raw(), "S1", WIJKTEAM)
    g = v.grids["incidenten"].set_index(["wijk", "key"])
    assert g.loc[("W2", "incidenten:A"), "verborgen"] and g.loc[("W1", "incidenten:B"), "verborgen"]
    assert math.isnan(g.loc[("W2", "incidenten:A"), "index"])  # derived from a hidden count: hidden too
    # 13 = W1 + W2 + W0 with W2 = 3 hidden: a second cell of that relation must be hidden as well
    assert g.loc[("W1", "incidenten:A"), "verborgen"] or g.loc[("W0", "incidenten:A"), "verborgen"] \
        or v.themes.set_index("key").loc["incidenten:A", "n_verborgen"]
    # zero is shown as zero
    assert not g.loc[("W2", "incidenten:B"), "verborgen"]
    assert not v.grids["registraties"].set_index(["wijk", "key"]).loc[("W2", "registraties:R"), "verborgen"]
    values, rels, hidden = P.grid_cells(v)
    assert hidden and disclosure.recoverable(values, rels, hidden) == set()
    # B has 3 in S1 (a count of 1..4) in the ranking table: hidden, and so is everything derived from it
    b = v.themes.set_index("key").loc["incidenten:B"]
    assert b["n_verborgen"] and math.isnan(b["index"]) and math.isnan(b["per_1000"])
    # the analist sees everything
    open_view = P.protected_view(_raw(), "S1", OPEN)
    assert not open_view.grids["incidenten"]["verborgen"].any() and not open_view.themes["n_verborgen"].any()


def test_map_table_hides_this_and_the_previous_quarter():
    v = P.protected_view(_raw(), "S1", WIJKTEAM)
    m = P.map_table(v, "incidenten:A").set_index("code")
    # W2 had 3 this quarter: hidden on the map, distinct from zero; W1 had 6 the quarter before (shown)
    assert m.loc["W2", "onderdrukt"] and math.isnan(m.loc["W2", "n"]) and math.isnan(m.loc["W2", "per_1000"])
    assert not m.loc["W2", "onderdrukt_vorige"] and m.loc["W2", "n_vorige"] == 0
    assert math.isnan(m.loc["W2", "verandering_vorige"]) and not m.loc["W2", "significant_vorige"]
    assert set(m.index) == {"W0", "W1", "W2"}
    values, rels, hidden = P.grid_cells(v)
    assert ("gp", "incidenten", "W1", "incidenten:A") in values  # the previous quarter is checked too
    assert disclosure.recoverable(values, rels, hidden) == set()


def test_grid_chart_sends_no_raw_counts_to_the_browser():
    v = P.protected_view(_raw(), "S1", WIJKTEAM)
    spec = P.grid_chart(v, P.INCIDENTEN).to_dict()
    data = [r for ds in spec["datasets"].values() for r in ds]
    assert data and all("n" not in r and "verwacht" not in r for r in data)
    hidden = [r for r in data if r["wijk_naam"] == "Twee" and r["thema"] == "A"][0]
    assert hidden["tekst"] == "<5" and hidden["tt_aantal"] == "<5" and hidden["kleur"] is None


@pytest.fixture(scope="module")
def demo_city(demo_warehouse):  # noqa: F811
    """The demo's last full quarter with the city-wide hidden cells for a wijkteam (computed once)."""
    con = connect_readonly(demo_warehouse)
    try:
        f = queries.freshness(con)
        raw = P.load(con, P.last_full_quarter(f.data_end), f.data_start)
    finally:
        con.close()
    return raw, P.protect_city(raw, WIJKTEAM)


@pytest.mark.parametrize("sd", ["WK026801", "WK026807"])
def test_real_grid_cannot_be_subtracted(demo_city, sd):
    raw, hidden_cells = demo_city
    v = P.protect(P.area_view(raw, sd), WIJKTEAM, hidden_cells)
    values, rels, hidden = P.grid_cells(v)
    assert hidden, "the demo has small cells"
    assert disclosure.recoverable(values, rels, hidden) == set()
    for g in v.grids.values():
        shown = g[~g["verborgen"]]
        assert not shown["n"].between(1, 4).any()
    t = v.themes
    assert not t.loc[~t["n_verborgen"], "n"].between(1, 4).any()
    # the stadsdeel total per theme equals the sum of its wijken (nothing lost between the two)
    inc = v.grids["incidenten"]
    sums = inc[inc["key"] != P.ALL].groupby("key")["n"].sum()
    assert (t.set_index("key").loc[sums.index, "n"] == sums).all()


# ------------------------------------------------------------------ across views: the city count (issue 4)
def _shown_union(views: list[P.AreaView]) -> tuple[dict, list, set]:
    """Everything the stadsdeel views show, as one reader collecting them all would have it: (values,
    true relations, hidden). A figure that two views show (the city count per theme per quarter; a quarter's
    grid, which the view of the next quarter shows as the map's tooltip) is one cell; it must have the same
    value and the same hidden flag in every view. Views of several quarters may be mixed."""
    values: dict = {}
    hidden: set = set()
    rels: dict = {}

    def add(cell, n, h):
        n = float(n)
        if cell in values:
            assert values[cell] == n, cell
            assert (cell in hidden) == bool(h), f"hidden in one view, shown in another: {cell}"
        values[cell] = n
        if h:
            hidden.add(cell)

    def rel(total, parts):
        rels[(total, tuple(parts))] = (total, list(parts))

    for v in views:
        sd = v.stadsdeel
        q, prev, ya = v.quarter, v.quarter.shift(-1), v.quarter.shift(-4)
        grid_quarters = [q, prev] if v.covered_prev else [q]
        tot = v.totals.set_index("bron")
        for bron, g in v.grids.items():
            wijken = list(dict.fromkeys(g["wijk"]))
            keys = list(v.themes.loc[v.themes["bron"] == bron, "key"])
            for w, k, n, h, npv, hp in zip(g["wijk"], g["key"], g["n"], g["verborgen"], g["n_vorige"],
                                           g["vorige_verborgen"]):
                add(("g", bron, sd, w, k, q.start), n, h)
                if v.covered_prev:  # the map's tooltip: the quarter before
                    add(("g", bron, sd, w, k, prev.start), npv, hp)
            for d in (x.start for x in grid_quarters):
                for k in keys:
                    rel(("s", sd, k, d), [("g", bron, sd, w, k, d) for w in wijken])
                for w in wijken:
                    rel(("g", bron, sd, w, P.ALL, d), [("g", bron, sd, w, k, d) for k in keys])
            add(("t", bron, sd, q.start), tot.at[bron, "n"], tot.at[bron, "verborgen"])
            rel(("t", bron, sd, q.start), [("g", bron, sd, w, P.ALL, q.start) for w in wijken])
            rel(("t", bron, sd, q.start), [("s", sd, k, q.start) for k in keys])
        t = v.themes
        for k, n, h, ns, hs in zip(t["key"], t["n"], t["n_verborgen"], t["n_stad"], t["n_stad_verborgen"]):
            add(("s", sd, k, q.start), n, h)  # tiles and the ranking table
            add(("c", k, q.start), ns, hs)  # the city's rate and the index reference
        if v.covered_prev:
            for k, n, h in zip(t["key"], t["n_vorige"], t["n_vorige_verborgen"]):
                add(("s", sd, k, prev.start), n, h)
        if v.covered_ya:
            for k, n, h in zip(t["key"], t["n_jaar"], t["n_jaar_verborgen"]):
                add(("s", sd, k, ya.start), n, h)
        qt = v.quarterly  # the trend: the stadsdeel and the city per quarter
        for k, d, n, h, ns, hs in zip(qt["key"], qt["kwartaal"], qt["n"], qt["verborgen"], qt["n_stad"],
                                      qt["verborgen_stad"]):
            add(("s", sd, k, d), n, h)
            add(("c", k, d), ns, hs)
    sds = list(dict.fromkeys(v.stadsdeel for v in views))
    for cell in [c for c in values if c[0] == "c"]:  # the city = the sum of all stadsdelen, every quarter shown
        rel(cell, [("s", sd, cell[1], cell[2]) for sd in sds])
    out = list(rels.values())
    for total, parts in out:  # the relations are true (also: every record of the demo lies in a stadsdeel)
        assert all(p in values for p in parts), total
        assert values[total] == sum(values[p] for p in parts), total
    return values, out, hidden


def _pinned_without_any_shown_figure(values: dict, rels: list, hidden: set, cells: set) -> set:
    """Of `cells` (pinned with the bounds), those still pinned when every figure of every relation around
    their hidden group is hidden too: pinned by the reader model's bounds alone ("<5" cells known to be
    1..4 and non-zero), so no shown figure, and no further suppression, is involved. A zero stays shown: the
    product never hides one (a wijk total of 4 over four themes of "<5" and the rest 0 pins each at 1)."""
    groups = disclosure.components({k: None for k in values if k in hidden},
                                   [(t, [p for p in ps if p in hidden]) if t in hidden
                                    else ([p for p in ps if p in hidden][0], [p for p in ps if p in hidden][1:])
                                    for t, ps in rels if t in hidden or any(p in hidden for p in ps)])
    around: set = set()
    for group, _ in groups:
        if cells & set(group):
            g = set(group)
            for t, ps in rels:
                if t in g or g.intersection(ps):
                    around |= {c for c in (t, *ps) if values[c] != 0}  # a zero stays a zero on screen
    # Hiding everything around can make a cell out there computable from figures further out: a reader then
    # knows it like a shown one (and recoverable() would report only those exact ones, not the bounds).
    unknown = hidden | around
    while exact := disclosure.recoverable(values, rels, unknown):
        unknown -= exact
    return cells & disclosure.recoverable(values, rels, unknown, WIJKTEAM.threshold, bounds=True)


def test_city_count_does_not_give_a_hidden_stadsdeel_count_away_by_hand():
    """S1 has 3 of theme B (hidden), S2 has 8 (one wijk), the city 11: S1 = 11 - 8 if each view were
    protected on its own (both views show the city's 11)."""
    raw = _raw()
    hidden = P.protect_city(raw, WIJKTEAM)
    views = [P.protect(P.area_view(raw, sd), WIJKTEAM, hidden) for sd in ("S1", "S2")]
    s1 = views[0].themes.set_index("key").loc["incidenten:B"]
    assert s1["n"] == 3 and s1["n_verborgen"] and s1["n_stad"] == 11
    s2 = views[1].themes.set_index("key").loc["incidenten:B"]
    assert s2["n"] == 8
    assert s2["n_verborgen"] or s1["n_stad_verborgen"], "3 = 11 - 8: one of the two must be hidden"
    values, rels, hid = _shown_union(views)
    assert disclosure.recoverable(values, rels, hid) == set()
    # the analist: nothing hidden, no city-wide computation needed
    assert P.protect_city(raw, OPEN) == frozenset()
    with pytest.raises(ValueError):  # a view protected on its own would leak: not allowed any more
        P.protect(P.area_view(raw, "S1"), WIJKTEAM)


def test_all_stadsdeel_views_together_give_no_hidden_count_away(demo_city):
    """The attack of issue 4 on the demo: collect what every stadsdeel view shows (a wijkteam member can
    open them all), add the true relations (city = sum of the stadsdelen per theme per quarter, stadsdeel =
    sum of its wijken, ...) and try to compute a hidden count back."""
    raw, hidden_cells = demo_city
    views = [P.protect(P.area_view(raw, sd), WIJKTEAM, hidden_cells) for sd in raw.stadsdelen["code"]]
    values, rels, hidden = _shown_union(views)  # also asserts: a figure is hidden in every view or in none
    assert len(views) == 9 and any(c[0] == "c" for c in values)
    assert hidden and any(c[0] == "s" for c in hidden), "the demo quarter has hidden stadsdeel counts"
    assert disclosure.recoverable(values, rels, hidden) == set()
    pinned = disclosure.recoverable(values, rels, hidden, WIJKTEAM.threshold, bounds=True)
    assert pinned == _pinned_without_any_shown_figure(values, rels, hidden, pinned)
    for v in views:  # and no view shows a small count
        assert not v.themes.loc[~v.themes["n_verborgen"], "n"].between(1, 4).any()
        assert not v.quarterly.loc[~v.quarterly["verborgen"], "n"].between(1, 4).any()
        assert not v.quarterly.loc[~v.quarterly["verborgen_stad"], "n_stad"].between(1, 4).any()


def test_every_quarter_a_reader_can_select_together_gives_no_hidden_count_away(demo_warehouse):  # noqa: F811
    """A wijkteam member can also pick another quarter: the view of Q shows the quarter before in its map
    tooltip, tiles and trend; the view of the quarter before shows the same figures as its own grid. So
    every stadsdeel view of every selectable quarter goes into one reader's hands. Before the protection per
    quarter, 71 figures of the demo were hidden in the view of one quarter and shown in another."""
    con = connect_readonly(demo_warehouse)
    try:
        f = queries.freshness(con)
        raws = [P.load(con, q, f.data_start) for q in P.available_quarters(f.data_start, f.data_end)]
    finally:
        con.close()
    assert len(raws) >= 3
    views = [P.protected_view(raw, sd, WIJKTEAM) for raw in raws for sd in raw.stadsdelen["code"]]
    values, rels, hidden = _shown_union(views)  # asserts: a figure is hidden in every view or in none
    grids = {c[-1] for c in values if c[0] == "g"}
    assert len(grids) >= 3, "grids of several quarters, each also seen as the tooltip of the next"
    assert disclosure.recoverable(values, rels, hidden) == set()
    pinned = disclosure.recoverable(values, rels, hidden, WIJKTEAM.threshold, bounds=True)
    assert pinned == _pinned_without_any_shown_figure(values, rels, hidden, pinned)


def test_every_quarter_cut_from_the_base_equals_its_own_load(demo_warehouse):  # noqa: F811
    """The page reads the counts of all quarters once per version (`load_base`) and cuts each selected quarter
    from them (`raw_of`): the same counts, catalog and areas as reading that quarter alone, the same
    fingerprint of every quarter its views show, and so the same hidden cells and views."""
    con = connect_readonly(demo_warehouse)
    try:
        f = queries.freshness(con)
        quarters = P.available_quarters(f.data_start, f.data_end)
        base = P.load_base(con)
        loads = {q: P.load(con, q, f.data_start) for q in quarters}
    finally:
        con.close()
    order = ["kwartaal", "bron", "thema", "buurtcode", "wijkcode"]
    assert len(quarters) >= 3 and len(base.digests) >= len(quarters)
    for q in quarters:
        a, b = loads[q], P.raw_of(base, q, f.data_start)
        assert a.digests is None and b.digests and set(b.digests.values()) <= set(base.digests.values())
        pd.testing.assert_frame_equal(a.counts.sort_values(order).reset_index(drop=True),
                                      b.counts.sort_values(order).reset_index(drop=True))
        for part in ("catalog", "wijken", "stadsdelen"):
            pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part))
        assert (a.quarter, a.data_start, a.gemeente) == (b.quarter, b.data_start, b.gemeente)
        for shown in P.shown_quarters(a):  # computed from the load's own counts, and looked up in the base
            assert P._quarter_digest(a, shown) == P._quarter_digest(b, shown)
    last = quarters[0]
    a, b = loads[last], P.raw_of(base, last, f.data_start)
    assert P.protect_city(a, WIJKTEAM) == P.protect_city(b, WIJKTEAM)
    sd = a.stadsdelen["code"].iloc[0]
    pd.testing.assert_frame_equal(P.protected_view(a, sd, WIJKTEAM).themes, P.protected_view(b, sd, WIJKTEAM).themes)


def test_a_quarters_fingerprint_follows_its_own_figures_only(demo_warehouse):  # noqa: F811
    """protect_quarter keeps its hidden cells per fingerprint of the quarter's figures: one more record in a
    quarter changes that quarter's fingerprint and no other; a quarter without records has one too."""
    con = connect_readonly(demo_warehouse)
    try:
        base = P.load_base(con)
    finally:
        con.close()
    c = base.counts
    qs = sorted(c["kwartaal"].unique())
    changed = c.copy()
    row = changed.index[changed["kwartaal"] == qs[-2]][0]
    changed.loc[row, "n"] += 1
    areas = P._areas_digest(base.catalog, base.wijken, base.stadsdelen)
    before, after = P.quarter_digests(c, areas), P.quarter_digests(changed, areas)
    assert before == base.digests
    assert [q for q in qs if before[q] != after[q]] == [qs[-2]]
    assert len(set(before.values())) == len(qs)  # every quarter its own
    # a quarter without records: the same fingerprint from a Raw cut from the base and from one without
    # precomputed fingerprints (as `load` gives), its own per quarter, never a quarter with records'
    last = P.Quarter.of(qs[-1])
    cut = P.raw_of(base, last, None)
    plain = P.Raw(cut.quarter, cut.counts, cut.catalog, cut.wijken, cut.stadsdelen, None, cut.gemeente)
    assert plain.digests is None
    for empty in (last.shift(-40), last.shift(-41), last.shift(12)):
        assert P._quarter_digest(cut, empty) == P._quarter_digest(plain, empty)
        assert P._quarter_digest(cut, empty) not in before.values()
    assert P._quarter_digest(plain, last.shift(-40)) != P._quarter_digest(plain, last.shift(-41))
    # a short Raw (fewer quarters than the base) knows only its own quarters: one it does not hold gets the
    # fingerprint of an empty quarter, never the real one (its hidden cells would come from an empty system)
    short = P.raw_of(base, last, None, quarters=2)  # the quarter, the one before and a year earlier
    outside = P.Quarter.of(qs[0])  # the oldest quarter with records
    assert outside.start in base.digests and outside.start < last.shift(-4).start
    assert outside.start not in set(short.counts["kwartaal"])
    assert P._quarter_digest(short, outside) != base.digests[outside.start]
    for q in (last, last.shift(-1)):
        assert P._quarter_digest(short, q) == base.digests[q.start]
    # the areas and the catalog are part of every fingerprint
    moved = base.wijken.copy()
    moved.loc[moved.index[0], "stadsdeel_code"] = moved["stadsdeel_code"].iloc[-1]
    renamed = base.catalog.copy()
    renamed.loc[renamed.index[0], "prioriteit"] = not bool(renamed["prioriteit"].iloc[0])
    for areas in (P._areas_digest(base.catalog, moved, base.stadsdelen),
                  P._areas_digest(renamed, base.wijken, base.stadsdelen)):
        other = P.quarter_digests(c, areas)
        assert all(other[q] != before[q] for q in qs)


def test_each_quarter_is_protected_once_for_the_views_of_every_quarter(demo_warehouse):  # noqa: F811
    con = connect_readonly(demo_warehouse)
    try:
        f = queries.freshness(con)
        last = P.last_full_quarter(f.data_end)
        a, b = P.load(con, last, f.data_start), P.load(con, last.shift(-1), f.data_start)
    finally:
        con.close()
    prev = last.shift(-1)
    assert prev in P.shown_quarters(a) and prev in P.shown_quarters(b)
    # the quarter before, as the view of `last` loads it and as its own view does: one computation
    assert P.protect_quarter(a, prev, WIJKTEAM) is P.protect_quarter(b, prev, WIJKTEAM)
    assert P.protect_city(a, WIJKTEAM) == frozenset().union(*(P.protect_quarter(a, q, WIJKTEAM)
                                                            for q in P.shown_quarters(a)))


# ------------------------------------------------------------------ the page (AppTest)
def _record_downloads(monkeypatch) -> list[dict]:
    return record_downloads(monkeypatch)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _count_cells(at) -> list[tuple[str, str]]:
    """Every count shown in a table or tile, as text."""
    out = []
    for df in at.dataframe:
        for c in df.value.columns:
            if c in ("Aantal", "Vorig kwartaal", "Jaar eerder"):
                out += [(c, str(v)) for v in df.value[c]]
    for m in at.markdown:
        out += [("tegel", x) for x in re.findall(r"font-size:1\.8rem;font-weight:600'>([^<]+)<", m.value)]
        out += [("totaal", x) for x in re.findall(r"\*\*([^*]+)\*\* (?:incidenten|registraties)", m.value)]
    for text in map_texts(at):
        out += [("kaart", x) for x in re.findall(r"Aantal: (\S+)", text)]
    return out


def test_wijkteam_page_shows_no_small_count_anywhere(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    calls = _record_downloads(monkeypatch)
    at = app_test("wijkteam", page=PAGE, stadsdeel="WK026807")
    _ok(at)
    assert at.title[0].value == "Prioriteiten per stadsdeel"
    md = "\n".join(m.value for m in at.markdown)
    assert "Stadsdeel Dukenburg" in md and "kwartaal" in md
    tiles = re.findall(r"\*\*(Auto-inbraken|Cybercrime|Ondermijning|Overvallen)\*\*", md)
    assert sorted(tiles) == ["Auto-inbraken", "Cybercrime", "Ondermijning", "Overvallen"]
    info = "\n".join(i.value for i in at.info)
    assert "Waarom staat" in info and "bovenaan" in info
    cells = _count_cells(at)
    assert len(cells) > 40 and {"totaal", "kaart", "tegel"} <= {c[0] for c in cells}
    assert not [c for c in cells if c[1] in {"1", "2", "3", "4"}], cells
    assert any(v == "<5" for _, v in cells), "the demo stadsdeel has small counts: they show as <5"
    assert not at.slider  # wijkteam: weights read-only
    assert len(at.get("vega_lite_chart")) >= 4 and len(map_specs(at)) == 1
    # the grid and trend charts carry no count the viewer may not see
    import pyarrow as pa
    for v in at.get("vega_lite_chart"):
        for ds in v.proto.datasets:
            t = pa.ipc.open_stream(io.BytesIO(ds.data.data)).read_all().to_pandas()
            assert "n" not in t.columns
            for col in ("tt_aantal", "aantal"):
                if col in t.columns:
                    assert not t[col].isin(["1", "2", "3", "4"]).any()
    # the meeting pack: the PDF and the CSV tables follow the same rules
    at.button(key="prio_maak_pdf").click().run()
    _ok(at)
    zips = [c for c in calls if str(c.get("file_name", "")).endswith(".zip")]
    assert zips
    with zipfile.ZipFile(io.BytesIO(zips[-1]["data"])) as z:
        names = z.namelist()
        assert {"ranglijst.csv", "wijken_incidenten.csv", "wijken_registraties.csv"} <= set(names)
        for name in names:
            t = pd.read_csv(z.open(name), sep=";", encoding="utf-8-sig", dtype=str)
            for col in t.columns:
                if col.startswith("Aantal") or col in ("Vorig kwartaal", "Jaar eerder"):
                    assert not t[col].isin(["1", "2", "3", "4"]).any(), (name, col)
    pdfs = [c for c in calls if str(c.get("file_name", "")).endswith(".pdf")]
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdfs[-1]["data"])).pages)
    assert "<5" in text
    assert "Aantallen kleiner dan 5" in text  # the disclosure rules of this role are printed


def test_meeting_pack_pdf_has_the_expected_sections(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    calls = _record_downloads(monkeypatch)
    con = connect_readonly(app_warehouse)
    try:
        quarter = P.last_full_quarter(queries.freshness(con).data_end)
    finally:
        con.close()
    at = app_test("analist", page=PAGE, stadsdeel="WK026801")
    _ok(at)
    assert not [c for c in calls if str(c.get("file_name", "")).endswith(".pdf")]  # only after the click
    at.button(key="prio_maak_pdf").click().run()
    _ok(at)
    pdf = [c for c in calls if str(c.get("file_name", "")).endswith(".pdf")][-1]
    data = pdf["data"]
    assert data[:5] == b"%PDF-" and data.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for section in ("Prioriteiten stadsdeel Centrum", "Kaart", "Prioriteiten", "Zo komt de volgorde tot stand",
                    "Signalen", "Trends", "Regels voor het tonen van aantallen", quarter.label, "DEMODATA"):
        assert section in text, section
    assert "bovenaan" in text  # the explanation in words
    assert "zonder onderdrukking" in text  # the analist's disclosure rule
    assert len(reader.pages) >= 3
    assert pdf["file_name"].startswith("vergaderstuk_centrum_")


def test_analist_changes_the_weights(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    at = app_test("analist", page=PAGE, stadsdeel="WK026802")
    _ok(at)
    assert len(at.slider) == 4
    first = at.dataframe[0].value
    assert [at.slider(key=f"prio_w_{k}").value for k in P.COMPONENTS] == [35, 25, 20, 20]
    for k in ("niveau", "trend", "volume"):
        at.slider(key=f"prio_w_{k}").set_value(0)
    at.slider(key="prio_w_ernst").set_value(100)
    at.run()
    _ok(at)
    table = at.dataframe[0].value
    scored = table[table["Score"].notna()]
    # only the seriousness counts now: high impact crime themes (Geweld, Woninginbraak, ...) come first
    assert scored.iloc[0]["Ernst"] == pytest.approx(100.0)
    assert scored.iloc[0]["Score"] == pytest.approx(100.0)
    assert not table.equals(first)
    assert "ernst 100%" in "\n".join(c.value for c in at.caption)


def test_a_rerun_of_the_page_reads_no_quarter_and_the_register_form_offers_every_theme(app_warehouse, monkeypatch,  # noqa: F811
                                                                                       tmp_path):
    """A rerun with the same selection takes everything from the caches; it does not even unpickle the
    quarter's counts (~0.9 MB at 5M, ~20 ms per rerun) for the register's theme list, which comes from the
    version's Base. The form offers the scored themes first, in score order, then every other theme."""
    from veiligheid import shared

    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    at = app_test("analist", page=PAGE, stadsdeel="WK026802")
    _ok(at)
    calls = []
    raw = shared.prio_raw
    monkeypatch.setattr(shared, "prio_raw", lambda *a, **k: calls.append(a) or raw(*a, **k))
    at.run()
    _ok(at)
    assert calls == []
    boxes = [b for b in at.selectbox if b.label == "Thema"]  # the grid's theme, then the register form's
    assert len(boxes) == 2
    options = boxes[-1].options
    table = at.dataframe[0].value
    ranked = table[table["Rang"] != "–"]
    scored = list(ranked.assign(r=ranked["Rang"].astype(int)).sort_values("r")["Thema"])
    assert len(scored) >= 3
    from veiligheid.warehouse import version_token

    con = connect_readonly(app_warehouse)
    try:
        catalog = P.catalog(con)
        fresh = P.load_base(con)
    finally:
        con.close()
    assert sorted(options) == sorted(P.label(k) for k in catalog["key"])  # every theme, once
    # the Base every session shares by reference is as loaded after the page's runs
    shared_base = shared.prio_base(str(app_warehouse), version_token(app_warehouse))
    order = ["kwartaal", "bron", "thema", "buurtcode", "wijkcode"]  # (a GROUP BY returns rows in any order)
    pd.testing.assert_frame_equal(shared_base.counts.sort_values(order).reset_index(drop=True),
                                  fresh.counts.sort_values(order).reset_index(drop=True))
    for part in ("catalog", "wijken", "stadsdelen"):
        pd.testing.assert_frame_equal(getattr(shared_base, part), getattr(fresh, part))
    assert shared_base.digests == fresh.digests
    assert options[:len(scored)] == scored


def test_stadsdeel_choice_is_shared_with_the_other_pages(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    at = app_test("wijkteam", page=PAGE)
    _ok(at)
    assert any("Kies hierboven het stadsdeel" in i.value for i in at.info)
    assert not at.dataframe
    at.selectbox(key="prio_stadsdeel").set_value("WK026805").run()
    _ok(at)
    assert at.session_state["filters"].stadsdeel == "WK026805"
    assert at.query_params.get("stadsdeel") in ("WK026805", ["WK026805"])
    assert "Stadsdeel Midden" in "\n".join(m.value for m in at.markdown)
    at.switch_page("views/dashboards_veiligheid.py").run()
    _ok(at)
    assert "stadsdeel Midden" in "\n".join(m.value for m in at.markdown)


def test_a_signal_opens_the_overview_filtered(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    """The page shows the signals of veiligheid.signals (whatever they are) and each opens the overview page
    filtered on its wijk, theme and period. The signal here is fixed, so the test does not depend on the demo."""
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    since = dt.date(2026, 9, 7)
    fixed = pd.DataFrame([{
        "wijk": "BU02680101", "wijk_naam": "Stadscentrum", "thema": "Fietsdiefstal", "since": since,
        "n_recent": 170, "expected": 125.1, "ratio": 1.36, "direction": 1, "p": 0.0001, "q": 0.003,
        "sentence": signals.sentence("Stadscentrum", "Fietsdiefstal", 170, 125.1, 13, since, 1),
        "n_baseline": 500, "baseline_weeks": 52, "link": ""}])
    fixed.attrs.update(tested=34, fdr=0.1, recent_weeks=13, end=dt.date(2026, 11, 22))
    monkeypatch.setattr(signals, "detect", lambda *a, **k: fixed.copy())
    streamlit.cache_data.clear()
    at = app_test("wijkteam", page=PAGE, stadsdeel="WK026801")
    _ok(at)
    md = "\n".join(m.value for m in at.markdown)
    # a wijkteam member reads what changed and since when, without figures (veiligheid.signals.protect_signals)
    assert "Wijk Stadscentrum: fietsdiefstal gestegen sinds week 37 (07-09-2026), vergeleken met het jaar" in md
    assert "170" not in md and "125,1" not in md and any("Zonder aantallen" in c.value for c in at.caption)
    at.button(key="sig_0").click().run()
    _ok(at)
    assert at.title[0].value == "Dashboards veiligheid"
    state = at.session_state["filters"]
    assert state.wijk == "BU02680101" and state.stadsdeel == "WK026801"
    # wijkteam: the overview has week presets only; the signal's 13 weeks (since 07-09) open "laatste 13 weken"
    assert (state.preset, state.start, state.end) == ("13w", None, None)
    assert not any("periode" in i.value and "niet beschikbaar" in i.value for i in at.info)
    # ...and all themes or one city-wide priority: fietsdiefstal is not one, so all themes, with a notice
    assert state.themes == ()
    assert any("Fietsdiefstal" in i.value and "niet beschikbaar" in i.value for i in at.info)
    streamlit.cache_data.clear()


def test_quarter_choice_changes_the_figures(app_warehouse, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    con = connect_readonly(app_warehouse)
    try:
        f = queries.freshness(con)
    finally:
        con.close()
    quarters = P.available_quarters(f.data_start, f.data_end)
    at = app_test("analist", page=PAGE, stadsdeel="WK026802")
    box = at.selectbox(key="prio_kwartaal")
    assert box.value == quarters[0].code  # the last full quarter by default
    before = at.dataframe[0].value
    box.set_value(quarters[1].code).run()
    _ok(at)
    assert not at.dataframe[0].value.equals(before)
    assert f"**Stadsdeel Oost** · {quarters[1].label}" in "\n".join(m.value for m in at.markdown)


def test_page_on_an_empty_warehouse(template_warehouse, tmp_path, monkeypatch):
    """No incidents at all: clear Dutch messages, no crash, and still a meeting pack."""
    import shutil
    wh = tmp_path / "warehouse.duckdb"
    shutil.copyfile(template_warehouse, wh)
    monkeypatch.setenv("VEILIGHEID_WAREHOUSE", str(wh))
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "register.sqlite"))
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    calls = _record_downloads(monkeypatch)
    at = app_test("wijkteam", page=PAGE, stadsdeel="WK026802")
    _ok(at)
    assert any("Geen enkel thema heeft in dit kwartaal genoeg meldingen" in i.value for i in at.info)
    at.button(key="prio_maak_pdf").click().run()
    _ok(at)
    pdf = [c for c in calls if str(c.get("file_name", "")).endswith(".pdf")][-1]["data"]
    assert pdf[:5] == b"%PDF-"


def test_a_rerun_ranks_nothing_again_and_new_weights_rank_once_without_building_a_chart(app_warehouse,  # noqa: F811
                                                                                          monkeypatch):
    """The ranking (score, both tables, the explanation) is kept per view and weights (shared.prio_ranking), and
    the charts come from their templates: a rerun with the same selection scores nothing; new weights score
    once, and the ranking follows them, while Altair builds no chart again (only the template is filled)."""
    import collections

    at = app_test("analist", page=PAGE, stadsdeel="WK026802")
    _ok(at)
    calls = collections.Counter()
    for name in ("score", "ranking_table", "explain", "grid_layers", "trend_layers"):
        real = getattr(P, name)
        monkeypatch.setattr(P, name, (lambda real, name: lambda *a, **k: calls.update([name]) or real(*a, **k))(
            real, name))
    at.run()
    _ok(at)
    assert calls.get("score", 0) == 0 and calls.get("ranking_table", 0) == 0
    assert calls.get("grid_layers", 0) == 0 and calls.get("trend_layers", 0) == 0
    for k in P.COMPONENTS:  # only the level counts
        at.slider(key=f"prio_w_{k}").set_value(100 if k == "niveau" else 0)
    at.run()
    _ok(at)
    assert calls["score"] == 1 and calls["ranking_table"] == 2  # once for these weights (numbers and text)
    assert calls.get("grid_layers", 0) == 0 and calls.get("trend_layers", 0) == 0
    table = at.dataframe[0].value
    scored = table[table["Rang"] != "–"]
    assert len(scored) >= 3 and (scored["Score"] == scored["Niveau"]).all()
    assert list(scored["Score"]) == sorted(scored["Score"], reverse=True)


def test_the_grid_leaves_room_for_its_rows_under_the_theme_labels(demo_city):
    """Streamlit fits the whole grid chart (the rotated theme labels on top, the legend) into its height: a
    stadsdeel of two wijken once got 60 px and showed no cells at all. Every row keeps 30 px under the labels."""
    raw, hidden = demo_city
    for sd in raw.stadsdelen["code"]:
        view = P.protect(P.area_view(raw, sd), WIJKTEAM, hidden)
        for bron in P.BRONNEN:
            (g,), structure = P.grid_display(view.grids[bron], view.policy)
            rows = g["wijk_naam"].nunique()
            assert structure["height"] >= P.GRID_LABELS + 30 * rows and structure["height"] >= P.GRID_MIN_HEIGHT
            assert ui_height_of(P.dutch_grid_chart(view.grids[bron], view.policy, ())) == structure["height"]


def ui_height_of(chart) -> int:
    return chart.to_dict(validate=False)["height"]

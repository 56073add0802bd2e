"""Rates, indices, significance, formatting and the URL filter state: cases with known answers."""
from __future__ import annotations

import datetime as dt
import io
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from veiligheid import filters as F
from veiligheid import fmt, maps, stats


# ------------------------------------------------------------------ stats
def test_rate_per_1000():
    assert stats.rate_per_1000(5, 2500) == pytest.approx(2.0)
    assert math.isnan(stats.rate_per_1000(3, 0))
    s = stats.rate_per_1000(pd.Series([10, 0, 4]), pd.Series([1000, 500, 0]))
    assert s.iloc[0] == pytest.approx(10.0) and s.iloc[1] == 0.0 and math.isnan(s.iloc[2])
    # a scalar population for a Series of counts (tiles)
    assert list(stats.rate_per_1000(pd.Series([1, 2]), 1000)) == [1.0, 2.0]


def test_index_100_is_city_average():
    city = stats.rate_per_1000(300, 100_000)
    assert stats.index_vs(city, city) == pytest.approx(100.0)
    assert stats.index_vs(stats.rate_per_1000(6, 1000), stats.rate_per_1000(3, 1000)) == pytest.approx(200.0)
    assert math.isnan(stats.index_vs(1.0, 0.0))
    areas = pd.Series([1.5, 3.0, 4.5])
    assert list(stats.index_vs(areas, 3.0)) == pytest.approx([50.0, 100.0, 150.0])


def test_small_change_is_not_significant():
    c = stats.compare(3, 2)
    assert c.fraction == pytest.approx(0.5)
    assert c.pvalue == pytest.approx(1.0)
    assert not c.significant and c.direction == 0


def test_large_change_is_significant():
    c = stats.compare(150, 100)
    assert c.pvalue < 0.01
    assert c.significant and c.direction == 1
    down = stats.compare(100, 150)
    assert down.significant and down.direction == -1


def test_significance_respects_exposure():
    # 20 vs 10 events, but the current period is twice as long: no change in the rate
    c = stats.compare(20, 10, current_exposure=2, previous_exposure=1)
    assert c.fraction == pytest.approx(0.0)
    assert c.pvalue > 0.5 and not c.significant


def test_no_events_and_from_zero():
    assert stats.change_pvalue(0, 0) == 1.0
    c = stats.compare(7, 0)
    assert math.isnan(c.fraction)  # "+inf %" is never shown
    assert c.significant  # 7 vs 0 is significant (p = 2 * 0.5^7 = 0.016)
    assert stats.change_pvalue(7, 0) == pytest.approx(2 * 0.5 ** 7)


def test_compare_columns_aligned():
    df = stats.compare_columns(pd.Series([3, 150, 0]), pd.Series([2, 100, 0]))
    assert list(df["significant"]) == [False, True, False]
    assert list(df["richting"]) == [0, 1, 0]


def test_moving_average():
    ma = stats.moving_average(pd.Series([1.0, 2, 3, 4, 5]), 4)
    assert math.isnan(ma.iloc[2]) and ma.iloc[3] == pytest.approx(2.5) and ma.iloc[4] == pytest.approx(3.5)


# ------------------------------------------------------------------ Dutch formatting
def test_dutch_numbers_and_dates():
    assert fmt.number(1234.5, 1) == "1.234,5"
    assert fmt.integer(1234567) == "1.234.567"
    assert fmt.number(float("nan"), 1) == "–"
    assert fmt.signed_pct(0.5) == "+50%"
    assert fmt.signed_pct(-0.123) == "−12%"
    assert fmt.signed_pct(0.001) == "0%"
    assert fmt.date(dt.date(2026, 11, 28)) == "28-11-2026"
    assert fmt.iso_week(dt.date(2026, 11, 28)) == "2026-W48"
    assert fmt.week_label("2026-W48") == "week 48 (2026)"
    loc = fmt.altair_locale()
    assert loc["number"]["decimal"] == "," and loc["time"]["date"] == "%d-%m-%Y"
    assert loc["time"]["days"][0] == "zondag" and loc["time"]["shortMonths"][9] == "okt"


# ------------------------------------------------------------------ periods and URL state
VALID = F.Valid(themes=("Overvallen", "Auto-inbraken", "Fietsdiefstal"),
                stadsdelen={"WK026801": "Centrum", "WK026807": "Dukenburg"},
                wijken={"BU02680101": "WK026801", "BU02680731": "WK026807"},
                data_end=dt.date(2026, 11, 22))


def test_period_presets():
    end = dt.date(2026, 11, 22)
    p = F.resolve_period(F.FilterState(preset="4w"), end)
    assert (p.start, p.end, p.days) == (dt.date(2026, 10, 26), end, 28)
    assert (p.prev_start, p.prev_end) == (dt.date(2026, 9, 28), dt.date(2026, 10, 25))
    assert p.ya_start.weekday() == p.start.weekday() and (p.start - p.ya_start).days == 364
    y = F.resolve_period(F.FilterState(preset="jtd"), end)
    assert y.start == dt.date(2026, 1, 1) and y.ya_start == dt.date(2025, 1, 1) and y.ya_end == dt.date(2025, 11, 22)
    assert y.prev_days == y.days
    c = F.resolve_period(F.FilterState(preset="aangepast", start=dt.date(2024, 2, 1), end=dt.date(2024, 2, 29)), end)
    assert c.ya_end == dt.date(2023, 2, 28) and c.prev_end == dt.date(2024, 1, 31)


def test_url_round_trip():
    state = F.FilterState(preset="aangepast", start=dt.date(2026, 1, 5), end=dt.date(2026, 3, 1),
                          themes=("Overvallen", "Auto-inbraken"), stadsdeel="WK026807", wijk="BU02680731",
                          level="stadsdeel", measure="index")
    params = F.to_params(state)
    back, notices = F.parse_params(params, VALID)
    assert back == state and notices == []
    assert F.to_params(F.FilterState()) == {}  # defaults keep links short


@pytest.mark.parametrize("params", [
    {"periode": "1000w"}, {"periode": "aangepast", "van": "gisteren"}, {"periode": "aangepast", "van": "2026-13-45",
                                                                        "tot": "2026-01-01"},
    {"thema": "Kattenkwaad"}, {"stadsdeel": "WK999999"}, {"wijk": "<script>"}, {"kaart": "3d"}, {"maat": "x"},
    {"periode": "aangepast", "van": "1900-01-01", "tot": "1900-02-01"},
])
def test_bad_url_values_fall_back_with_notice(params):
    state, notices = F.parse_params(params, VALID)
    assert notices, params
    assert state.preset in F.PRESETS and state.level in F.LEVELS and state.measure in F.MEASURES
    assert state.stadsdeel in (None, *VALID.stadsdelen) and state.wijk in (None, *VALID.wijken)


def test_url_lenient_forms():
    state, notices = F.parse_params({"thema": ["overvallen,FIETSDIEFSTAL"], "stadsdeel": "dukenburg",
                                     "wijk": "bu02680101"}, VALID)
    assert state.themes == ("Overvallen", "Fietsdiefstal")
    assert state.wijk == "BU02680101" and state.stadsdeel == "WK026801"  # the wijk's own stadsdeel wins
    assert len(notices) == 1  # ... and that is told


# ------------------------------------------------------------------ map classes
def test_map_classes_and_legend():
    assert maps.breaks(pd.Series([1.0, 2, 3]), "index") == list(maps.INDEX_BREAKS)
    assert maps.colour(100.0, list(maps.INDEX_BREAKS), "index")[:3] == list(maps.DIVERGING[2])
    assert maps.colour(float("nan"), [1.0], "per1000") == maps.NO_DATA
    brk = maps.breaks(pd.Series(range(1, 101), dtype=float), "aantal")
    assert brk == sorted(brk) and len(brk) == 4
    leg = maps.legend(brk, "aantal")
    assert len(leg) == 5 and leg[0][1].startswith("minder dan") and leg[-1][1].endswith("of meer")


def test_map_view_and_labels():
    sq = lambda x, y, d: {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}  # noqa: E731
    geo = [{"code": "A", "naam": "Groot gebied", "geometry": sq(5.80, 51.82, 0.05), "label_lon": 5.825, "label_lat": 51.845},
           {"code": "B", "naam": "Klein", "geometry": sq(5.825, 51.845, 0.001), "label_lon": 5.8255, "label_lat": 51.8455},
           {"code": "C", "naam": "Ver weg", "geometry": sq(5.90, 51.80, 0.01), "label_lon": 5.905, "label_lat": 51.805}]
    names = [r["naam"] for r in maps.labels(geo)]
    assert names == ["Groot gebied", "Ver weg"]  # the small overlapping label gives way (it is in the tooltip)
    assert maps.view_for(geo) == maps.VIEW
    v = maps.view_for(geo, {"C"})
    assert v["longitude"] == pytest.approx(5.905) and maps.VIEW["zoom"] < v["zoom"] <= 12.8


def _map_fixture():
    sq = lambda x, y, d: {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}  # noqa: E731
    geo = [{"code": "A", "naam": "Noord", "geometry": sq(5.80, 51.84, 0.02), "label_lon": 5.81, "label_lat": 51.85},
           {"code": "B", "naam": "Zuid", "geometry": sq(5.80, 51.80, 0.02), "label_lon": 5.81, "label_lat": 51.81}]
    table = pd.DataFrame({"code": ["A", "B"], "n": [40, 3], "inwoners": [2000, 1500], "per_1000": [20.0, 2.0],
                          "index": [150.0, 40.0], "n_vorige": [30, 5], "verandering_vorige": [1 / 3, -0.4],
                          "significant_vorige": [False, False], "richting_vorige": [1, -1]})
    return geo, table


def _signed_area(ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2


def test_map_polygons_are_wound_as_d3_reads_them():
    """GeoJSON writes outer rings counter-clockwise; Vega's projection (d3-geo) takes such a ring for the whole
    globe minus the area. The map turns every outer ring clockwise (holes the other way), whatever it got."""
    ccw = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]],
                                              [[0.2, 0.2], [0.2, 0.4], [0.4, 0.4], [0.4, 0.2], [0.2, 0.2]]]}
    cw = {"type": "Polygon", "coordinates": [list(reversed(ccw["coordinates"][0]))]}
    for g in (ccw, cw):
        out = maps.d3_winding(g)
        assert _signed_area(out["coordinates"][0]) < 0
    assert _signed_area(maps.d3_winding(ccw)["coordinates"][1]) > 0  # the hole
    multi = {"type": "MultiPolygon", "coordinates": [ccw["coordinates"][:1], cw["coordinates"]]}
    assert all(_signed_area(p[0]) < 0 for p in maps.d3_winding(multi)["coordinates"])


def test_the_map_spec_draws_each_area_with_its_colour_name_and_tooltip():
    import vl_convert as vlc

    geo, table = _map_fixture()
    fc, brk = maps.features(geo, table, "aantal", "A", "vorige periode")
    spec = maps.chart(fc, maps.labels(geo), "wijk")
    beside, layer = spec["layer"][:2]
    assert beside["data"]["values"][0]["code"] == maps.BESIDE and beside["mark"]["fillOpacity"] == 0
    assert layer["name"] == maps.AREAS
    areas = layer["data"]["values"]
    assert [(a["code"], a["naam"], a["lijn"]) for a in areas] == [("A", "Noord", 4), ("B", "Zuid", 1)]
    assert areas[0]["kleur"] == maps._hex(maps.colour(40, brk, "aantal"))
    assert areas[0]["tt"] == {"title": "Noord", "Aantal": "40", "Per 1.000 inwoners": "20,0 (index 150, stad = 100)",
                              "vorige periode": "30 → 40 (+33%), geen significante verandering",
                              "Klik": "om te selecteren"}
    assert [p["name"] for p in layer["params"]] == [maps.HOVER_PARAM, maps.SELECT_PARAM]
    fixed = maps.chart(fc, [], "wijk", clickable=False)
    assert fixed["layer"][0]["name"] == maps.AREAS  # no sheet to click beside, and no click selection
    assert [p["name"] for layer in fixed["layer"] for p in layer.get("params", [])] == [maps.HOVER_PARAM]
    # drawn (offline, as the PDF charts are): each area is its own patch, not a filled frame (the winding)
    png = vlc.vegalite_to_png({**spec, "width": 300, "height": 300}, scale=1)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)
    seen = {code: [int(a["kleur"][i:i + 2], 16) * a["alpha"] + 255 * (1 - a["alpha"]) for i in (1, 3, 5)]
            for code, a in zip("AB", areas)}  # the colour on white
    half = img.shape[0] // 2
    share = {(code, part): float((np.abs(px - rgb).sum(2) < 8).mean())
             for code, rgb in seen.items() for part, px in (("north", img[:half]), ("south", img[half:]))}
    assert share["A", "north"] > 0.04 and share["B", "south"] > 0.04 and share["A", "south"] == share["B", "north"] == 0
    assert (img.min(2) > 250).mean() > 0.6  # around them: white (wound the GeoJSON way, each fills all but itself)


def test_the_map_fits_the_focus_and_reads_its_selection():
    import shapely.geometry

    geo, table = _map_fixture()
    fc, _ = maps.features(geo, table, "aantal", None, "vorige periode", focus={"B"})
    x0, y0, x1, y1 = shapely.geometry.shape(maps.chart(fc, [], "wijk", focus={"B"})["projection"]["fit"]["geometry"]).bounds
    assert x0 < 5.80 and x1 > 5.82 and y0 < 51.80 and 51.82 < y1 < 51.84  # B with a margin; A (north) not in view
    x0, y0, x1, y1 = shapely.geometry.shape(maps.chart(fc, [], "wijk")["projection"]["fit"]["geometry"]).bounds
    assert y0 < 51.80 and y1 > 51.86
    assert maps.selected_code({maps.SELECT_PARAM: [{"code": "WK026801"}]}) == "WK026801"
    for nothing in ({maps.SELECT_PARAM: []}, {maps.SELECT_PARAM: {}}, {}, None, "x",
                    {maps.SELECT_PARAM: [{"code": maps.BESIDE}]}):  # the last: a click beside the areas
        assert maps.selected_code(nothing) is None and not maps.picked_other(nothing)
    # a click on a dot (no area code) is told apart from a click beside the areas
    assert maps.picked_other({maps.SELECT_PARAM: [{}]}) and not maps.picked_other({maps.SELECT_PARAM: [{"code": "A"}]})


def test_the_chosen_area_is_outlined_on_top_and_names_are_read_once():
    geo, table = _map_fixture()
    fc, _ = maps.features(geo, table, "aantal", "B", "vorige periode")
    spec = maps.chart(fc, maps.labels(geo), "wijk")
    names = [layer.get("name") for layer in spec["layer"]]
    above = spec["layer"][names.index(maps.AREAS) + 1:]
    tops = [layer for layer in above if layer["mark"]["type"] == "geoshape"]
    assert len(tops) == 1 and [f["lijn"] for f in tops[0]["data"]["values"]] == [4]
    assert tops[0]["data"]["values"][0]["geometry"] == spec["layer"][names.index(maps.AREAS)]["data"]["values"][1]["geometry"]
    assert tops[0]["mark"]["filled"] is False
    fc, _ = maps.features(geo, table, "aantal", None, "vorige periode")
    assert [layer["mark"]["type"] for layer in maps.chart(fc, [], "wijk")["layer"]] == ["geoshape"] * 2 + ["text"] * 2
    assert all(layer["mark"]["aria"] is False for layer in spec["layer"] if layer.get("name") != maps.AREAS)
    assert maps.chart({"type": "FeatureCollection", "features": []}, [], "wijk")["layer"]  # no areas: empty map


def test_the_vectorised_exact_test_gives_scipys_p_values_exactly():
    """stats.binom_two_sided follows scipy's binomtest step by step (binary search on the pmf) for whole
    arrays; it must give the very same p-values, also for counts in the millions and unequal exposures."""
    import numpy as np
    from scipy.stats import binomtest

    from veiligheid.stats import binom_two_sided

    rng = np.random.default_rng(8)
    cases = []
    for n in [1, 2, 3, 7, 10, 37, 100, 1_000, 12_345, 200_000, 3_000_000]:
        for p in [0.5, 28 / 55, 91 / 183, 0.1, 0.9, 364 / 729]:
            ks = {0, n, n // 2, int(p * n), int(p * n) + 1, max(int(p * n) - 1, 0)} | set(rng.integers(0, n + 1, 6).tolist())
            cases += [(k, n, p) for k in ks if k <= n]
    k, n, p = (np.array(c) for c in zip(*cases))
    got = binom_two_sided(k, n, p)
    want = np.array([binomtest(int(a), int(b), float(c)).pvalue for a, b, c in cases])
    assert len(cases) > 400
    assert np.array_equal(got, want)
    assert binom_two_sided(np.array([]), np.array([]), 0.5).size == 0


def test_compare_columns_is_compare_row_by_row():
    """The vectorised table comparison gives what `compare` gives per row (counts with gaps, zero counts,
    unequal and zero exposures)."""
    import numpy as np

    from veiligheid.stats import compare, compare_columns

    rng = np.random.default_rng(3)
    cur = pd.Series(rng.integers(0, 400, 60).astype("float64"))
    prev = pd.Series(rng.integers(0, 400, 60).astype("float64"))
    cur[[0, 5]], prev[[1, 5, 7]] = np.nan, np.nan
    cur[[9, 10]], prev[[10, 11]] = 0, 0
    for ce, pe in [(1.0, 1.0), (28, 28), (91, 92), (365, 366), (28, 0), (0, 28)]:
        got = compare_columns(cur, prev, ce, pe)
        for i in range(len(cur)):
            c = compare(int(0 if pd.isna(cur[i]) else cur[i]), int(0 if pd.isna(prev[i]) else prev[i]), ce, pe)
            row = got.iloc[i]
            assert row["p"] == c.pvalue and bool(row["significant"]) == c.significant
            assert int(row["richting"]) == c.direction
            assert (np.isnan(row["verandering"]) and np.isnan(c.fraction)) or row["verandering"] == c.fraction

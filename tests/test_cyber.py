"""Cybercrime victim profiles: rates, relative risks, intervals, suppression and the page (AppTest).

Known answers are computed by hand in the comments (or are textbook values); the subtraction attack is
an independent solver over what a reader sees, not the module's own relation list.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.conftest_app import app_test, app_warehouse, demo_warehouse, map_areas, map_specs  # noqa: F401  (fixtures)
from veiligheid import cyber, disclosure, ui
from veiligheid.disclosure import Policy
from veiligheid.warehouse import connect_readonly, create_schema, load_spatial

PAGE = "views/cybercrime.py"
WIJKTEAM = Policy(10, True)
ANALIST = Policy(10, False)

# ------------------------------------------------------------------ a tiny warehouse with known answers
# two stadsdelen of 1,000 inhabitants; age shares (0-14, 15-24, 25-44, 45-64, 65+) in whole percentages
SD = {"WK999901": ("Noord", 1000, (20, 20, 20, 20, 20), 480, 520),
      "WK999902": ("Zuid", 1000, (10, 40, 20, 20, 10), 520, 480)}
BU = {"BU99990101": ("Noord-A", "WK999901", 600), "BU99990102": ("Noord-B", "WK999901", 400),
      "BU99990201": ("Zuid-A", "WK999902", 500), "BU99990202": ("Zuid-B", "WK999902", 500)}
# city inhabitants per age band: 0-14 200+100=300, 15-24 200+400=600, 25-44 400, 45-64 400, 65+ 300; total 2000
AGE_OF_BAND = {"0-14": 10, "15-24": 20, "25-44": 30, "45-64": 50, "65+": 70}


def victim(i, date="2024-02-01", delict="Phishing", age=30, birth=None, sex="M", edu="hoog", schade=None,
           buurt="BU99990101", wijk=None):
    wijk = wijk or (BU[buurt][1] if buurt else None)
    return [f"CY-{i:05d}", date, delict, age, birth, sex, edu, schade, buurt, wijk, "GM9999", "f.csv", "2024-W10", 1,
            1, "run", i]


def make_warehouse(path: Path, victims: list[list], status: dict[str, str] | None = None) -> Path:
    con = duckdb.connect(str(path))
    load_spatial(con)
    create_schema(con)
    for code, (naam, inw, pcts, men, women) in SD.items():
        con.execute("INSERT INTO wijken VALUES (?, ?, 'GM9999', 'Teststad', ?, ?, NULL)", [code, "W " + naam, naam, inw])
        for suffix, p in zip(("0_15", "15_25", "25_45", "45_65", "65_plus"), pcts):
            con.execute("INSERT INTO wijk_kerncijfers VALUES (?, ?, ?)", [code, f"pct_{suffix}", p])
        con.execute("INSERT INTO wijk_kerncijfers VALUES (?, 'mannen', ?), (?, 'vrouwen', ?)", [code, men, code, women])
    for code, (naam, wk, inw) in BU.items():
        con.execute("INSERT INTO buurten (buurtcode, buurtnaam, wijkcode, gemeentecode, inwoners) VALUES (?, ?, ?, "
                    "'GM9999', ?)", [code, naam, wk, inw])
    if victims:
        con.executemany("""INSERT INTO cyber_slachtoffers (aangifte_id, aangiftedatum, delict, leeftijd, geboortejaar,
                           geslacht, opleidingsniveau, schadebedrag, buurtcode, wijkcode, gemeentecode, bron_bestand,
                           bron_week, bron_weeknr, ingest_seq, run_id, _hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                           ?, ?, ?, ?, ?, ?)""", victims)
    if status is not None:
        con.execute("ALTER TABLE cyber_slachtoffers ADD COLUMN status VARCHAR")
        for key, value in status.items():
            con.execute("UPDATE cyber_slachtoffers SET status = ? WHERE aangifte_id = ?", [value, key])
    con.close()
    return path


def q1_victims() -> list[list]:
    """40 victims in Q1 2024, 20 per stadsdeel.

    age: 15-24 18, 25-44 10, 45-64 8, 65+ 2, 0-14 2; sex: M 24, V 15, X 1, onbekend 0;
    education: laag 8, middelbaar 12, hoog 16, unknown 4; delict: Phishing 12 (11 with 100..1100 euro),
    Online aankoopfraude 20 (3 with 50, 60, 70 euro), Hacken 8.
    """
    per_sd = {"15-24": 9, "25-44": 5, "45-64": 4, "65+": 1, "0-14": 1}
    ages = []
    for buurt in ("BU99990101", "BU99990201"):
        for band, k in per_sd.items():
            ages += [(band, buurt)] * k
    sexes = ["M"] * 24 + ["V"] * 15 + ["X"]
    edus = ["laag"] * 8 + ["middelbaar"] * 12 + ["hoog"] * 16 + [None] * 4
    delicts = ["Phishing"] * 12 + ["Online aankoopfraude"] * 20 + ["Hacken"] * 8
    amounts = [100.0 * (k + 1) for k in range(11)] + [None] + [50.0, 60.0, 70.0] + [None] * 25
    out = []
    for i in range(40):
        band, buurt = ages[i]
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i * 2)
        out.append(victim(i, day.isoformat(), delicts[i], AGE_OF_BAND[band], None, sexes[i], edus[i], amounts[i], buurt))
    return out


Q1 = (dt.date(2024, 1, 1), dt.date(2024, 3, 31))


@pytest.fixture
def q1_con(tmp_path):
    path = make_warehouse(tmp_path / "w.duckdb", q1_victims())
    con = connect_readonly(path)
    yield con
    con.close()


def _g(pr: cyber.Profile, dim: str, value: str) -> pd.Series:
    g = pr.groups
    return g[(g["dim"] == dim) & (g["waarde"] == value)].iloc[0]


# ------------------------------------------------------------------ statistics
def test_rr_interval_textbook_values():
    # 5 of 20 victims in a group with 10 % of the inhabitants: share 0.25 / 0.1 = RR 2.5.
    # Clopper-Pearson 95 % for 5/20 is (0.0866, 0.4910) (textbook value), so RR in (0.866, 4.910).
    rr, lo, hi = cyber.rr_interval(5, 20, 100, 1000)
    assert rr == pytest.approx(2.5)
    assert lo == pytest.approx(0.8657, abs=1e-3)
    assert hi == pytest.approx(4.9105, abs=1e-3)


def test_rr_interval_edges_closed_form():
    # a = 0 of c = 10: upper limit of pi is 1 - 0.025^(1/10) = 0.30850; share 0.5 -> RR hi 0.61701
    rr, lo, hi = cyber.rr_interval(0, 10, 500, 1000)
    assert (rr, lo) == (0.0, 0.0)
    assert hi == pytest.approx((1 - 0.025 ** 0.1) / 0.5, rel=1e-6)
    # a = c = 10: lower limit of pi is 0.025^(1/10) = 0.69150; share 0.25 -> RR lo 2.7660, hi = 1/0.25 = 4
    rr, lo, hi = cyber.rr_interval(10, 10, 250, 1000)
    assert rr == pytest.approx(4.0)
    assert lo == pytest.approx(0.025 ** 0.1 / 0.25, rel=1e-6)
    assert hi == pytest.approx(4.0)
    # nothing to compare with: NaN, never a crash
    assert all(math.isnan(x) for x in cyber.rr_interval(0, 0, 100, 1000))
    assert all(math.isnan(x) for x in cyber.rr_interval(3, 10, 0, 1000))
    assert all(math.isnan(x) for x in cyber.rr_interval(3, 10, float("nan"), 1000))


def test_compare_rates_known_p():
    # equal populations, 20 vs 5 victims: P = 2 * sum_{k>=20} C(25,k) / 2^25 = 2 * 68406 / 33554432 = 0.0040774
    assert cyber.compare_rates(20, 1000, 5, 1000) == pytest.approx(2 * 68406 / 2 ** 25, rel=1e-6)
    assert cyber.compare_rates(10, 1000, 10, 1000) == pytest.approx(1.0)
    assert cyber.compare_rates(0, 1000, 0, 1000) == 1.0


def test_share_interval():
    s, lo, hi = cyber.share_interval(5, 20)
    assert (s, round(lo, 4), round(hi, 4)) == (0.25, 0.0866, 0.4910)
    assert all(math.isnan(x) for x in cyber.share_interval(0, 0))


# ------------------------------------------------------------------ queries and denominators
def test_age_band_from_age_or_birth_year_and_unknowns(tmp_path):
    vs = [victim(1, age=14), victim(2, age=15), victim(3, age=None, birth=2000),  # 2024 - 2000 = 24 -> 15-24
          victim(4, age=None, birth=1999),  # 25 -> 25-44
          victim(5, age=None, birth=None), victim(6, age=111),  # unknown, impossible -> onbekend
          victim(7, age=65, sex=None, edu=None, delict="Ransomware")]  # unknown sex/education, unknown delict
    con = connect_readonly(make_warehouse(tmp_path / "w.duckdb", vs))
    c = cyber.victim_counts(con, *Q1)
    by_age = c.groupby("leeftijd")["n"].sum().to_dict()
    assert by_age == {"0-14": 1, "15-24": 2, "25-44": 1, "onbekend": 2, "65+": 1}
    assert c.groupby("geslacht")["n"].sum().to_dict() == {"M": 6, "onbekend": 1}
    assert c.groupby("opleiding")["n"].sum().to_dict() == {"hoog": 6, "onbekend": 1}
    assert c.groupby("delict")["n"].sum().to_dict() == {"Phishing": 6, "Overig": 1}
    pr = cyber.build(con, *Q1, None, None, ANALIST, Q1[1])
    unknown = _g(pr, "leeftijd", cyber.UNKNOWN)
    assert unknown["n"] == 2 and math.isnan(unknown["per_1000"]) and unknown["noemer"] == cyber.D_NONE


def test_withdrawn_records_are_not_counted(tmp_path):
    vs = [victim(i) for i in range(5)]
    con = connect_readonly(make_warehouse(tmp_path / "w.duckdb", vs, status={"CY-00001": "vervallen",
                                                                            "CY-00002": "actief"}))
    assert int(cyber.victim_counts(con, *Q1)["n"].sum()) == 4
    assert int(cyber.quarterly_counts(con)["n"].sum()) == 4
    con2 = connect_readonly(make_warehouse(tmp_path / "w2.duckdb", vs))  # no status column at all: all count
    assert int(cyber.victim_counts(con2, *Q1)["n"].sum()) == 5


def test_denominators_city_stadsdeel_and_estimated_wijk(q1_con):
    pop = cyber.population(q1_con)
    total, g = cyber.denominators(pop)
    assert total == 2000
    assert g[("leeftijd", "15-24")] == (pytest.approx(600), cyber.D_PCT)
    assert g[("leeftijd", "65+")][0] == pytest.approx(300)
    assert g[("geslacht", "M")] == (1000, cyber.D_CBS) and g[("geslacht", "V")] == (1000, cyber.D_CBS)
    assert ("geslacht", "X") not in g and ("opleiding", "hoog") not in g  # no figure: no rate
    assert g[("delict", "Phishing")] == (2000, cyber.D_CBS)
    total, g = cyber.denominators(pop, stadsdeel="WK999902")
    assert total == 1000 and g[("leeftijd", "15-24")][0] == pytest.approx(400)
    # a wijk of 600 in Noord (20 % per band, 48 % men): 120 per band, 288 men, estimated
    total, g = cyber.denominators(pop, wijk="BU99990101")
    assert total == 600
    assert g[("leeftijd", "25-44")] == (pytest.approx(120), cyber.D_WIJK)
    assert g[("geslacht", "M")] == (pytest.approx(288), cyber.D_WIJK)


def test_age_shares_that_do_not_add_up_to_100_are_normalised(q1_con):
    pop = cyber.population(q1_con)
    pop.stadsdelen.loc[pop.stadsdelen["code"] == "WK999902", "pct_65_plus"] = 9  # whole percentages: sum 99
    _, g = cyber.denominators(pop, stadsdeel="WK999902")
    assert g[("leeftijd", "15-24")][0] == pytest.approx(1000 * 40 / 99)
    assert sum(g[("leeftijd", b[0])][0] for b in cyber.AGE_BANDS) == pytest.approx(1000)


def test_buckets_and_alignment():
    b = cyber.buckets(dt.date(2025, 8, 18), dt.date(2026, 11, 28))
    q = b[b["soort"] == "kwartaal"]
    assert list(q["bucket"]) == ["2025 K3", "2025 K4", "2026 K1", "2026 K2", "2026 K3", "2026 K4"]
    assert list(q["volledig"]) == [False, True, True, True, True, False]
    assert list(b.loc[b["soort"] == "jaar", "bucket"]) == ["2025", "2026"]
    first, last = dt.date(2025, 8, 18), dt.date(2026, 11, 28)
    # this year to date = the data of the 2026 bucket, and of its four quarters
    assert cyber.aligned_buckets(b, "jaar", dt.date(2026, 1, 1), last, first, last) == ["2026"]
    assert cyber.aligned_buckets(b, "kwartaal", dt.date(2026, 1, 1), last, first, last) == [
        "2026 K1", "2026 K2", "2026 K3", "2026 K4"]
    # a period from before the data to the end of 2025 is the data of 2025
    assert cyber.aligned_buckets(b, "jaar", dt.date(2024, 6, 1), dt.date(2025, 12, 31), first, last) == ["2025"]
    # 52 weeks cut quarters: no exact relation
    assert cyber.aligned_buckets(b, "kwartaal", dt.date(2025, 12, 1), last, first, last) is None
    assert cyber.aligned_buckets(b, "kwartaal", dt.date(2026, 2, 1), dt.date(2026, 3, 31), first, last) is None


# ------------------------------------------------------------------ the profile, unsuppressed: known answers
def test_rates_and_relative_risks_known_answers(q1_con):
    pr = cyber.build(q1_con, *Q1, None, None, ANALIST, Q1[1])
    assert pr.total["n"] == 40 and pr.total["per_1000"] == pytest.approx(20.0)  # 40 / 2000 * 1000
    young = _g(pr, "leeftijd", "15-24")
    assert young["n"] == 18 and young["per_1000"] == pytest.approx(30.0)  # 18 / 600 * 1000
    assert young["rr"] == pytest.approx(1.5)  # 30 / 20 = (18/40) / (600/2000)
    assert young["rr_lo"] < 1.5 < young["rr_hi"]
    assert (young["rr_lo"], young["rr_hi"]) == pytest.approx(cyber.rr_interval(18, 40, 600, 2000)[1:])
    # 18 of 40 is not enough to be sure: the lower limit of pi is 0.293, so RR from 0.98 -> not significant
    assert young["significant"] == 0 and young["rr_lo"] == pytest.approx(0.2926 / 0.3, abs=2e-3)
    old = _g(pr, "leeftijd", "65+")
    assert old["rr"] == pytest.approx(1 / 3) and old["per_1000"] == pytest.approx(2 / 300 * 1000)
    men = _g(pr, "geslacht", "M")
    assert men["rr"] == pytest.approx(1.2) and men["per_1000"] == pytest.approx(24.0)  # (24/40) / (1000/2000)
    x = _g(pr, "geslacht", "X")
    assert x["n"] == 1 and math.isnan(x["rr"]) and math.isnan(x["per_1000"])
    phishing = _g(pr, "delict", "Phishing")
    assert phishing["per_1000"] == pytest.approx(6.0) and math.isnan(phishing["rr"])  # a delict is not a group
    assert _g(pr, "opleiding", "hoog")["n"] == 16 and math.isnan(_g(pr, "opleiding", "hoog")["per_1000"])
    assert pr.edu_known["aandeel"] == pytest.approx(16 / 36)  # 8 + 12 + 16 with a known level
    d = pr.damage.set_index("delict")
    assert (d.at["Phishing", "n_schade"], d.at["Phishing", "mediaan"], d.at["Phishing", "totaal"]) == (11, 600, 6600)
    assert (d.at["Online aankoopfraude", "mediaan"], d.at["Online aankoopfraude", "totaal"]) == (60, 180)
    # all 14 amounts: 50 60 70 100 200 300 400 | 500 ... -> median (400 + 500) / 2
    assert (d.at[cyber.TOTAL, "mediaan"], d.at[cyber.TOTAL, "totaal"]) == (450, 6780)
    assert d.at["Hacken", "n_schade"] == 0 and math.isnan(d.at["Hacken", "mediaan"])
    t = pr.trend.set_index(["delict", "bucket"])
    assert t.at[(cyber.ALL, "2024 K1"), "n"] == 40 and t.at[("Phishing", "2024"), "n"] == 12
    sd = pr.areas["stadsdeel"].set_index("code")
    assert sd.at["WK999901", "n"] == 20 and sd.at["WK999901", "index"] == pytest.approx(100)
    wk = pr.areas["wijk"].set_index("code")
    assert wk.at["BU99990101", "n"] == 20 and wk.at["BU99990102", "n"] == 0
    assert wk.at["BU99990101", "per_1000"] == pytest.approx(20 / 600 * 1000)


def test_stadsdeel_profile_compares_with_its_own_average(q1_con):
    pr = cyber.build(q1_con, *Q1, "WK999902", None, ANALIST, Q1[1])
    young = _g(pr, "leeftijd", "15-24")
    # Zuid: 9 of 20 victims, 400 of 1000 inhabitants -> RR (9/20) / 0.4 = 1.125
    assert young["rr"] == pytest.approx(1.125) and young["per_1000"] == pytest.approx(22.5)
    assert pr.profile_name == "stadsdeel Zuid" and pr.total["n"] == 20


def test_wijk_profile_only_unsuppressed(q1_con):
    analist = cyber.build(q1_con, *Q1, None, "BU99990101", ANALIST, Q1[1])
    assert analist.profile_level == "wijk" and analist.total["n"] == 20
    assert _g(analist, "leeftijd", "15-24")["noemer"] == cyber.D_WIJK
    assert _g(analist, "leeftijd", "15-24")["per_1000"] == pytest.approx(9 / 120 * 1000)
    wijkteam = cyber.build(q1_con, *Q1, None, "BU99990101", WIJKTEAM, Q1[1])
    assert wijkteam.area_level == "wijk" and wijkteam.profile_level == "stadsdeel"
    assert wijkteam.profile_code == "WK999901"
    # the wijk's own count: shown as is, or hidden when it would pin a small count at its bounds (>= 1)
    assert wijkteam.total["n"] == 20 or math.isnan(wijkteam.total["n"])


# ------------------------------------------------------------------ suppression and the subtraction attack
def recover(shown: dict, hidden: set, relations: list) -> dict:
    """The subtraction attack: every hidden cell whose value follows from the shown cells and the relations.

    Independent of disclosure.recoverable: a cell is determined iff its unit vector lies in the row space
    of the relations over the hidden cells (rank test); its value then comes from least squares.
    """
    hid = sorted(hidden, key=repr)
    idx = {k: i for i, k in enumerate(hid)}
    rows, rhs = [], []
    for total, parts in relations:
        row, b = np.zeros(len(hid)), 0.0
        for cell, coef in [(total, -1.0), *((p, 1.0) for p in parts)]:
            if cell in idx:
                row[idx[cell]] += coef
            else:
                b -= coef * shown[cell]
        if row.any():
            rows.append(row)
            rhs.append(b)
    if not rows:
        return {}
    a, b = np.array(rows), np.array(rhs)
    rank = np.linalg.matrix_rank(a)
    x, *_ = np.linalg.lstsq(a, b, rcond=None)
    out = {}
    for k, i in idx.items():
        e = np.zeros(len(hid))
        e[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out[k] = round(float(x[i]), 6)
    return out


def reader_view(profiles: list[cyber.Profile]) -> tuple[dict, set, list]:
    """Everything the pages for these areas show, with every sum a reader can form (also across areas)."""
    shown, hidden, rels = {}, set(), []

    def put(key, value, is_hidden):
        if is_hidden:
            hidden.add(key)
        else:
            shown[key] = float(value)

    codes = {}
    for pr in profiles:
        a = pr.profile_code
        codes[a] = pr
        put(("tot", a), pr.profile_total["n"], pr.profile_total["verborgen"])
        for dim in cyber.DIMENSIONS:
            g = pr.groups[pr.groups["dim"] == dim]
            for v, n, h in zip(g["waarde"], g["n"], g["verborgen"]):
                put((dim, a, v), n, h)
            rels.append((("tot", a), [(dim, a, v) for v in g["waarde"]]))
        d = pr.damage
        for k, n, h, tot in zip(d["delict"], d["n_schade"], d["schade_verborgen"], d["totaal"]):
            put(("n_schade", a, k), n, h)
            put(("schade", a, k), tot, h)
        parts = [k for k in d["delict"] if k != cyber.TOTAL]
        rels.append((("n_schade", a, cyber.TOTAL), [("n_schade", a, k) for k in parts]))
        rels.append((("schade", a, cyber.TOTAL), [("schade", a, k) for k in parts]))
        t = pr.trend
        for k, bk, n, h in zip(t["delict"], t["bucket"], t["n"], t["verborgen"]):
            put(("trend", a, k, bk), n, h)
        for bk in dict.fromkeys(t["bucket"]):
            rels.append((("trend", a, cyber.ALL, bk), [("trend", a, k, bk) for k in cyber.DIMENSIONS["delict"]]))
        quarters = t[t["soort"] == "kwartaal"]
        for y in dict.fromkeys(t.loc[t["soort"] == "jaar", "bucket"]):
            qs = list(dict.fromkeys(quarters.loc[quarters["jaar"] == int(y), "bucket"]))
            for k in [cyber.ALL, *cyber.DIMENSIONS["delict"]]:
                rels.append((("trend", a, k, y), [("trend", a, k, q) for q in qs]))
        # the period is exactly a set of quarters or years: period figures are sums of trend figures
        b = cyber.buckets(pr.data_first, pr.data_last)
        for soort in ("kwartaal", "jaar"):
            al = cyber.aligned_buckets(b, soort, pr.start, pr.end, pr.data_first, pr.data_last)
            if al:
                rels.append((("tot", a), [("trend", a, cyber.ALL, x) for x in al]))
                for k in cyber.DIMENSIONS["delict"]:
                    rels.append((("delict", a, k), [("trend", a, k, x) for x in al]))
        for lvl, frame in pr.areas.items():
            for c, n, h in zip(frame["code"], frame["n"], frame["verborgen"]):
                put(("area", c), n, h)
    # the map and tables: wijken in stadsdelen in the city; the city is the sum of the stadsdelen
    first = profiles[0]
    wk, sd = first.areas["wijk"], first.areas["stadsdeel"]
    for code, name in zip(sd["code"], sd["naam"]):
        rels.append((("area", code), [("area", w) for w in wk.loc[wk["stadsdeel"] == name, "code"]]))
    if cyber.CITY in codes:
        rels.append((("tot", cyber.CITY), [("area", c) for c in sd["code"]]))
        subs = [c for c in codes if c != cyber.CITY]
        for c in subs:
            rels.append((("tot", c), [("area", c)]))  # the same number twice
        if set(subs) == set(sd["code"]):  # switching the area filter through every stadsdeel
            keys = [k for k in list(shown) + list(hidden) if k[0] in (*cyber.DIMENSIONS, "n_schade", "schade", "trend")
                    and k[1] == cyber.CITY]
            for k in keys:
                rels.append((k, [(k[0], c, *k[2:]) for c in subs]))
    return shown, hidden - set(shown), rels  # shown in any view is known to the reader


def test_small_counts_hidden_and_secondary_suppression(q1_con):
    pr = cyber.build(q1_con, *Q1, None, None, WIJKTEAM, Q1[1])
    age = pr.groups[pr.groups["dim"] == "leeftijd"].set_index("waarde")
    assert age.loc[["0-14", "45-64", "65+"], "verborgen"].all()  # 2, 8 and 2 victims
    # the large groups stay visible, except where one must cover a small one at its bounds (>= 1, <= 9)
    assert not age.loc[["15-24", "25-44"], "verborgen"].all()
    assert age.at["15-24", "verborgen"] or age.at["15-24", "n"] == 18
    assert age.loc[["0-14", "45-64", "65+"], ["n", "per_1000", "rr", "rr_lo", "rr_hi", "aandeel"]].isna().all().all()
    # zero is shown as zero, unless it is needed as the last complement of a relation
    assert age.at[cyber.UNKNOWN, "verborgen"] or age.at[cyber.UNKNOWN, "n"] == 0
    sex = pr.groups[pr.groups["dim"] == "geslacht"].set_index("waarde")
    # X has 1 victim; 'onbekend' 0: hiding X alone would give it away (40 - 24 - 15 - 0), so one more is hidden
    assert sex.at["X", "verborgen"] and sex.loc[["M", "V"], "verborgen"].any()
    d = pr.damage.set_index("delict")
    # Online aankoopfraude: 20 victims (shown) but only 3 amounts -> its median and total are hidden
    assert not d.at["Online aankoopfraude", "verborgen"] and d.at["Online aankoopfraude", "n"] == 20
    assert d.at["Online aankoopfraude", "schade_verborgen"] and math.isnan(d.at["Online aankoopfraude", "mediaan"])
    assert math.isnan(d.at["Online aankoopfraude", "totaal"])
    # in Noord, 14 amounts = Phishing 11 + aankoopfraude 3 + 0: Phishing's damage must go too (else 14 - 11 = 3)
    noord = cyber.build(q1_con, *Q1, "WK999901", None, WIJKTEAM, Q1[1]).damage.set_index("delict")
    assert noord.at["Phishing", "schade_verborgen"]
    # Hacken: 8 victims hidden -> its damage is hidden too, and so the total cannot give away a single delict
    assert d.at["Hacken", "verborgen"] and d.at["Hacken", "schade_verborgen"]
    shown_counts = [n for n in pr.groups["n"].dropna()] + list(pr.damage["n"].dropna()) + list(
        pr.damage["n_schade"].dropna()) + list(pr.trend["n"].dropna()) + [
        n for f in pr.areas.values() for n in f["n"].dropna()]
    assert not [n for n in shown_counts if 0 < n < 10]


def test_subtraction_attack_fails_on_the_output_and_works_without_secondary_suppression(q1_con):
    views = [cyber.build(q1_con, *Q1, sd, None, WIJKTEAM, Q1[1]) for sd in (None, "WK999901", "WK999902")]
    shown, hidden, rels = reader_view(views)
    assert hidden and recover(shown, hidden, rels) == {}
    # the same pages with only primary suppression (what a naive page would do): the attack recovers X = 1
    truth = [cyber.build(q1_con, *Q1, sd, None, ANALIST, Q1[1]) for sd in (None, "WK999901", "WK999902")]
    shown_t, _, rels_t = reader_view(truth)
    naive_hidden = {k for k, v in shown_t.items() if k[0] not in ("schade",) and 0 < v < 10}
    naive_shown = {k: v for k, v in shown_t.items() if k not in naive_hidden}
    got = recover(naive_shown, naive_hidden, rels_t)
    assert got[("geslacht", cyber.CITY, "X")] == 1.0


def test_attack_fails_when_the_period_is_exactly_a_quarter(tmp_path):
    # Q1 victims plus some in Q2: 'Q1' as the period equals the trend's 2024 K1 column
    vs = q1_victims() + [victim(100 + i, "2024-05-01", "Hacken", buurt="BU99990202") for i in range(12)]
    con = connect_readonly(make_warehouse(tmp_path / "w.duckdb", vs))
    end = dt.date(2024, 6, 30)
    views = [cyber.build(con, *Q1, sd, None, WIJKTEAM, end) for sd in (None, "WK999901", "WK999902")]
    shown, hidden, rels = reader_view(views)
    assert any(r[0] == ("delict", cyber.CITY, "Hacken") for r in rels)  # the alignment relation is in the attack
    assert recover(shown, hidden, rels) == {}
    # and this year to date (2024-01-01 .. data end) equals the 2024 column
    views = [cyber.build(con, dt.date(2024, 1, 1), end, sd, None, WIJKTEAM, end) for sd in (None, "WK999901", "WK999902")]
    shown, hidden, rels = reader_view(views)
    assert recover(shown, hidden, rels) == {}


def test_protect_survives_three_way_tables():
    # delict x quarter tables of 3 areas plus their sum, with totals per year over the first 4 quarters:
    # a recoverable cell whose own relations are all hidden already (the certificate fallback in protect)
    rng = np.random.default_rng(14)
    areas, delicts, quarters = [0, 1, 2], list(range(6)), list(range(6))
    pops = np.array([12705, 35410, 16100])
    share = np.array([30, 20, 10, 8, 10, 7])
    values, rels = {}, []
    for a in areas:
        for d in delicts:
            for q in quarters:
                values[(a, d, q)] = int(rng.poisson(1300 / 4 * share[d] / 100 * pops[a] / pops.sum()))
    for d in delicts:
        for q in quarters:
            values[("c", d, q)] = sum(values[(a, d, q)] for a in areas)
    for a in [*areas, "c"]:
        for q in quarters:
            values[(a, "all", q)] = sum(values[(a, d, q)] for d in delicts)
            rels.append(((a, "all", q), [(a, d, q) for d in delicts]))
        for x in [*delicts, "all"]:
            values[(a, x, "y")] = sum(values[(a, x, q)] for q in range(4))
            rels.append(((a, x, "y"), [(a, x, q) for q in range(4)]))
    for x in [*delicts, "all"]:
        for q in [*quarters, "y"]:
            rels.append((("c", x, q), [(a, x, q) for a in areas]))
    hidden = disclosure.protect(values, rels, WIJKTEAM)
    assert {k for k, v in values.items() if 0 < v < 10} <= hidden
    assert disclosure.recoverable(values, rels, hidden) == set()
    assert recover({k: v for k, v in values.items() if k not in hidden}, hidden, rels) == {}


def test_unsuppressed_role_hides_nothing(q1_con):
    pr = cyber.build(q1_con, *Q1, None, None, ANALIST, Q1[1])
    assert not pr.groups["verborgen"].any() and not pr.hidden_cells
    assert _g(pr, "leeftijd", "65+")["n"] == 2


def _profile_fields(pr: cyber.Profile) -> dict:
    return {f: getattr(pr, f) for f in ("area_level", "area_code", "profile_code", "total", "profile_total", "groups",
                                        "damage", "trend", "areas", "unknown_wijk", "data_first", "edu_known",
                                        "hidden_cells", "values", "relations")}


def _assert_same_profile(a: cyber.Profile, b: cyber.Profile) -> None:
    fa, fb = _profile_fields(a), _profile_fields(b)
    for key in fa:
        x, y = fa[key], fb[key]
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif key == "areas":
            for level in x:
                pd.testing.assert_frame_equal(x[level], y[level])
        else:
            assert repr(x) == repr(y) or x == y, key


def test_shared_inputs_give_the_same_profile(demo_warehouse):
    """The page passes the version's base and the period's counts in (computed once, veiligheid.shared); every
    profile must be the one build() computes alone: both roles, the city, every stadsdeel, wijken."""
    con = connect_readonly(demo_warehouse)
    try:
        end = con.execute("SELECT max(aangiftedatum) FROM cyber_slachtoffers").fetchone()[0]
        base = cyber.base(con)
        sds = [None, *base.pop.stadsdelen["code"]]
        wijken = list(base.pop.wijken["code"][:3])
        assert len(sds) > 3 and base.first is not None
        for start in (end - dt.timedelta(days=90), dt.date(end.year, 1, 1)):
            counts = cyber.victim_counts(con, start, end)
            for policy in (WIJKTEAM, ANALIST):
                trend = cyber.trend_protection(con, policy, end, base)
                prot = cyber.protection(con, start, end, policy, end, trend, base, counts)
                alone = cyber.protection(con, start, end, policy, end)
                assert prot.hidden == alone.hidden and prot.d_hidden == alone.d_hidden
                for sd, wijk in [*((sd, None) for sd in sds), *((None, w) for w in wijken)]:
                    _assert_same_profile(cyber.build(con, start, end, sd, wijk, policy, end, prot, base, counts),
                                         cyber.build(con, start, end, sd, wijk, policy, end))
    finally:
        con.close()


def test_quarterly_and_damage_in_one_scan(tmp_path):
    """The version's quarterly counts per area give every area's series; the medians per delict and in total
    come from one query. The city is its stadsdelen: a victim without a stadsdeel is in no city figure (the
    trend, the medians), as in the key figures and the protection; else the city minus its stadsdelen would
    show how many such victims there are, a count no protection covers."""
    victims = [victim(1, "2024-01-05", "Phishing", schade=100.0), victim(2, "2024-01-06", "Phishing", schade=300.0),
               victim(3, "2024-02-01", "Onbekend delict", schade=50.0, buurt="BU99990201"),
               victim(4, "2024-04-02", "Hacken", schade=None, buurt="BU99990202"),
               victim(5, "2024-05-01", "Hacken", schade=1000.0, buurt=None, wijk="WK999902"),
               victim(6, "2024-05-02", "Phishing", buurt=None, wijk=None),
               victim(7, "2024-05-03", "Phishing", schade=5000.0, buurt=None, wijk=None)]
    con = connect_readonly(make_warehouse(tmp_path / "w.duckdb", victims))
    try:
        q = cyber.quarterly_counts_by_area(con)
        for sd, wijk in [(None, None), ("WK999901", None), ("WK999902", None), (None, "BU99990202"),
                         (None, "BU99990101")]:
            want = cyber.quarterly_counts(con, sd, wijk).groupby(["jaar", "kwartaal", "delict"])["n"].sum()
            pd.testing.assert_series_equal(cyber._quarterly_of(q, sd, wijk), want)
        assert int(q["n"].sum()) == 7 and int(cyber._quarterly_of(q).sum()) == 5  # 6 and 7 are nowhere
        city = cyber.build(con, dt.date(2024, 4, 1), dt.date(2024, 6, 30), None, None, ANALIST, dt.date(2024, 6, 30))
        k2 = city.trend[(city.trend["bucket"] == "2024 K2") & (city.trend["delict"] == cyber.ALL)]
        assert int(k2["n"].iloc[0]) == city.total["n"] == 2  # victims 4 and 5: the trend equals the key figure
        med = cyber.damage_medians(con, dt.date(2024, 1, 1), dt.date(2024, 12, 31))
        assert med["Phishing"] == 200.0 and med["Overig"] == 50.0 and med["Hacken"] == 1000.0
        assert med[cyber.TOTAL] == 200.0  # 50, 100, 300, 1000
        zuid = cyber.damage_medians(con, dt.date(2024, 1, 1), dt.date(2024, 12, 31), "WK999902")
        assert zuid == {"Overig": 50.0, "Hacken": 1000.0, cyber.TOTAL: 525.0}
        none = cyber.damage_medians(con, dt.date(2023, 1, 1), dt.date(2023, 12, 31))
        assert none.keys() == {cyber.TOTAL} and math.isnan(none[cyber.TOTAL])
    finally:
        con.close()


# ------------------------------------------------------------------ the 2017 finding
def _two_years(young_2023: int, old_2023: int, n2022: int = 200) -> list[list]:
    """Complete years 2022 and 2023 (data 1 Jan 2022 - 31 Dec 2023); 2023 has 120 victims."""
    vs = [victim(i, (dt.date(2022, 1, 1) + dt.timedelta(days=i % 365)).isoformat(), age=30) for i in range(n2022)]
    ages = [20] * young_2023 + [70] * old_2023
    ages += [30] * (120 - len(ages))
    vs += [victim(1000 + i, (dt.date(2023, 1, 1) + dt.timedelta(days=i * 3 % 365)).isoformat(), age=a,
                  sex=("M" if i % 2 else "V"), buurt=("BU99990101" if i % 2 else "BU99990201"))
           for i, a in enumerate(ages)]
    return vs


YEAR_2023 = (dt.date(2023, 1, 1), dt.date(2023, 12, 31))


def test_2017_finding_still_true(tmp_path):
    # 2023: 70 aged 20, 10 aged 70, 40 aged 30. 15-24: RR (70/120) / (600/2000) = 1.94; 25-44: (40/120) / 0.2 = 1.67
    con = connect_readonly(make_warehouse(tmp_path / "w.duckdb", _two_years(70, 10)))
    pr = cyber.build(con, *YEAR_2023, None, None, ANALIST, YEAR_2023[1])
    f = cyber.check_2017(pr)
    v = {x.part: x for x in f.verdicts}
    # 200 -> 120 victims: significant fall (exact test p < 0.001)
    assert v["trend"].status == "ja" and "200 → 120" in v["trend"].text and "daalt nog" in v["trend"].text
    # 70/600 vs 40/400 per inhabitant: 0.117 vs 0.100 -> not significantly different
    assert _g(pr, "leeftijd", "15-24")["rr"] == pytest.approx((70 / 120) / 0.3)
    assert v["leeftijd"].status == "deels" and "25-44 jaar" in v["leeftijd"].text
    assert v["opleiding"].status == "onbekend" and "geen aantallen inwoners per opleidingsniveau" in v["opleiding"].text
    assert f.most_at_risk and f.most_at_risk[0].startswith("**15-24 jaar**")


def test_2017_finding_confirmed_and_refuted(tmp_path):
    # 95 young (RR (95/120)/0.3 = 2.64) vs 25-44 with 15 (RR 0.63): young clearly the most vulnerable
    con = connect_readonly(make_warehouse(tmp_path / "a.duckdb", _two_years(95, 10)))
    f = cyber.check_2017(cyber.build(con, *YEAR_2023, None, None, ANALIST, YEAR_2023[1]))
    assert {x.part: x.status for x in f.verdicts}["leeftijd"] == "ja"
    # 60 aged 70 (RR (60/120)/0.15 = 3.33) vs 20 young (RR 0.56): the finding no longer holds
    con = connect_readonly(make_warehouse(tmp_path / "b.duckdb", _two_years(20, 60, n2022=100)))
    f = cyber.check_2017(cyber.build(con, *YEAR_2023, None, None, ANALIST, YEAR_2023[1]))
    v = {x.part: x for x in f.verdicts}
    assert v["leeftijd"].status == "nee" and "65+ jaar" in v["leeftijd"].text
    # 100 -> 120 victims: a rise, but P(X >= 120 | 220, 0.5) * 2 = 0.20: not significant
    assert v["trend"].status == "deels" and "daalt niet meer aantoonbaar" in v["trend"].text
    assert f.summary == "De bevinding van 2017 klopt maar ten dele."


def test_2017_finding_cannot_be_tested_on_short_or_hidden_data(q1_con):
    pr = cyber.build(q1_con, *Q1, "WK999901", None, WIJKTEAM, Q1[1])  # 9 young victims in Noord: hidden
    v = {x.part: x for x in cyber.check_2017(pr).verdicts}
    assert v["trend"].status == "onbekend" and "twee volledige kalenderjaren" in v["trend"].text
    assert v["leeftijd"].status == "onbekend" and "Te weinig slachtoffers" in v["leeftijd"].text
    assert "9" not in v["leeftijd"].text


def test_no_victims_at_all_or_none_in_the_period(tmp_path, q1_con):
    con = connect_readonly(make_warehouse(tmp_path / "empty.duckdb", []))
    for policy in (WIJKTEAM, ANALIST):
        pr = cyber.build(con, *Q1, None, None, policy, Q1[1])
        assert pr.data_first is None and pr.total["n"] == 0 and pr.trend.empty
        assert (pr.groups["n"] == 0).all() and pr.groups["rr"].isna().all()
        assert {v.status for v in cyber.check_2017(pr).verdicts} == {"onbekend"}
    june = (dt.date(2024, 6, 1), dt.date(2024, 6, 30))  # data exist, but none in this month
    pr = cyber.build(q1_con, *june, None, None, WIJKTEAM, june[1])
    assert pr.total["n"] == 0 and pr.total["per_1000"] == 0 and pr.empty
    assert pr.groups["rr"].isna().all() and pr.groups["aandeel"].isna().all()
    v = {x.part: x for x in cyber.check_2017(pr).verdicts}
    assert v["leeftijd"].status == "onbekend" and "Geen slachtoffers" in v["leeftijd"].text
    assert pr.damage.set_index("delict").at[cyber.TOTAL, "totaal"] == 0


# ------------------------------------------------------------------ the page (AppTest, 60-week demo warehouse)
COUNT_TEXT = re.compile(r"^(<\d+|\d{1,3}(\.\d{3})*)$")


def _count_ok(text: str, threshold: int = 10) -> bool:
    """A count as shown to a wijkteam: '<10', '0' or at least the threshold."""
    text = str(text).strip()
    if text in ("–", "", "nan", "None"):
        return True
    assert COUNT_TEXT.match(text), f"not a count: {text!r}"
    if text.startswith("<"):
        return text == f"<{threshold}"
    n = int(text.replace(".", ""))
    return n == 0 or n >= threshold


def _datasets(at) -> list[pd.DataFrame]:
    out = []
    for chart in at.get("vega_lite_chart"):
        for ds in chart.proto.datasets:
            out.append(pa.ipc.open_stream(ds.data.data).read_all().to_pandas())
        spec = json.loads(chart.proto.spec)
        for ds in (spec.get("datasets") or {}).values():
            out.append(pd.DataFrame(ds))
    return out


def _open(role: str, monkeypatch, preset: str | None = None, **params):
    downloads: list[tuple[str, bytes]] = []
    original = ui.download_button

    def record(label, data, file_name, mime, what, key=None, **kwargs):
        if file_name.startswith("cyber_"):  # not the downloads of the page the test starts on
            downloads.append((file_name, data))
        return original(label, data, file_name, mime, what, key=key, **kwargs)

    monkeypatch.setattr(ui, "download_button", record)
    at = app_test(role, page=PAGE, **params)
    if preset:
        downloads.clear()
        at.selectbox(key=ui.W_PRESET).set_value(preset).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at, downloads


def _expected(wh: Path, sql: str, params: list) -> int:
    con = connect_readonly(wh)
    try:
        return int(con.execute(sql, params).fetchone()[0])
    finally:
        con.close()


def _period(at) -> tuple[dt.date, dt.date]:
    text = next(m.value for m in at.markdown if m.value.startswith("Slachtoffers van cybercrime"))
    a, b = re.findall(r"(\d{2}-\d{2}-\d{4})", text)[-2:]
    return tuple(dt.datetime.strptime(x, "%d-%m-%Y").date() for x in (a, b))


def test_page_wijkteam_has_no_free_period(app_warehouse, monkeypatch):
    """1-30 June minus 1-29 June gives 30 June's victims: suppression per period cannot stop that, so a
    wijkteam picks a preset (ui.filter_sidebar turns another period into the first preset, with a notice)."""
    at, _ = _open("wijkteam", monkeypatch)
    assert "Eigen periode" not in at.selectbox(key=ui.W_PRESET).options and not at.date_input
    analist, _ = _open("analist", monkeypatch)
    assert "Eigen periode" in analist.selectbox(key=ui.W_PRESET).options


def test_page_wijkteam_never_shows_a_small_count(app_warehouse, monkeypatch):
    for preset in (None, "52w"):  # the default 4 weeks (many small groups) and a year
        at, downloads = _open("wijkteam", monkeypatch, preset)
        assert at.title[0].value == "Cybercrime: slachtofferprofielen"
        texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
        numbers = []
        for t in texts:
            numbers += re.findall(r"font-size:2rem;font-weight:600'>([\d.]+)<", t)
            numbers += re.findall(r"([\d.]+) slachtoffers", t)
            numbers += re.findall(r"→ ([\d.]+)", t) + re.findall(r"\d{4}: ([\d.]+)", t)
        assert numbers and all(_count_ok(n) for n in numbers), numbers
        frames = [d.value for d in at.dataframe]
        assert len(frames) == 7  # 4 profile tabs, year x delict, damage, areas
        checked = 0
        for df in frames:
            cols = [c for c in df.columns if c in ("Slachtoffers", "Met schadebedrag") or re.match(r"^\d{4}", str(c))]
            for c in cols:
                assert all(_count_ok(v) for v in df[c]), (c, list(df[c]))
                checked += len(df)
        assert checked > 50
        assert any("<10" in set(df.get("Slachtoffers", [])) for df in frames)  # something was suppressed
        for df in _datasets(at):
            if "n" in df.columns:
                assert not [n for n in df["n"].dropna() if 0 < n < 10], df
            for c in ("tt_n", "tekst"):
                if c in df.columns:
                    assert all(_count_ok(v) for v in df[c]), df[c]
        aantallen = [a["tt"]["Aantal"] for a in map_areas(at)]
        assert aantallen and all(_count_ok(a) for a in aantallen)
        assert len(downloads) == 4
        for name, data in downloads:
            csv = pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
            cols = [c for c in csv.columns if c in ("Slachtoffers", "Met schadebedrag")]
            assert cols, name
            for c in cols:
                assert all(_count_ok(v) for v in csv[c]), (name, c)


def test_page_analist_sees_true_counts(app_warehouse, monkeypatch):
    at, downloads = _open("analist", monkeypatch)
    start, end = _period(at)
    frames = {df.columns[0]: df for df in (d.value for d in at.dataframe)}
    age = frames["Leeftijd"].set_index("Leeftijd")
    young = _expected(app_warehouse, """SELECT count(*) FROM cyber_slachtoffers WHERE aangiftedatum BETWEEN ? AND ?
                                       AND coalesce(leeftijd, year(aangiftedatum) - geboortejaar) BETWEEN 0 AND 14""",
                      [start, end])
    assert 0 < young < 10  # the demo has a few child victims in four weeks: a wijkteam would see '<10'
    assert age.at["0-14 jaar", "Slachtoffers"] == str(young)
    delict = frames["Delict"].set_index("Delict")
    for d in ("Sextortion", "Hacken"):
        n = _expected(app_warehouse, "SELECT count(*) FROM cyber_slachtoffers WHERE aangiftedatum BETWEEN ? AND ? "
                                     "AND delict = ?", [start, end, d])
        assert delict.at[d, "Slachtoffers"] == str(n)
    total = _expected(app_warehouse, "SELECT count(*) FROM cyber_slachtoffers WHERE aangiftedatum BETWEEN ? AND ?",
                      [start, end])
    assert any(f">{total}<" in m.value.replace(".", "") for m in at.markdown)
    assert not any("<10" in str(v) for df in frames.values() for v in df.to_numpy().ravel())
    assert any("zonder onderdrukking" in c.value for c in at.caption)
    csv = pd.read_csv(io.BytesIO(downloads[0][1]), sep=";", encoding="utf-8-sig", dtype=str)
    assert str(young) in set(csv.loc[csv["Groep"] == "0-14 jaar", "Slachtoffers"])


def test_page_wijkteam_counts_match_the_warehouse(app_warehouse, monkeypatch):
    at, _ = _open("wijkteam", monkeypatch, "52w")
    start, end = _period(at)
    assert (end - start).days == 363
    total = _expected(app_warehouse, "SELECT count(*) FROM cyber_slachtoffers WHERE aangiftedatum BETWEEN ? AND ?",
                      [start, end])
    tile = next(m.value for m in at.markdown if "font-size:2rem" in m.value)
    assert int(re.search(r">([\d.]+)<", tile).group(1).replace(".", "")) == total
    young = _expected(app_warehouse, """SELECT count(*) FROM cyber_slachtoffers WHERE aangiftedatum BETWEEN ? AND ?
                                       AND leeftijd BETWEEN 15 AND 24""", [start, end])
    age = next(d.value for d in at.dataframe if d.value.columns[0] == "Leeftijd").set_index("Leeftijd")
    assert age.at["15-24 jaar", "Slachtoffers"] == f"{young:,}".replace(",", ".")
    md = "\n".join(m.value for m in at.markdown)
    assert "Klopt het beeld van 2017 nog?" in "\n".join(s.value for s in at.subheader)
    assert ":gray-badge[Niet te toetsen] **Daling" in md  # 60 weeks of demo data: no two complete years
    assert "Jongeren van 15–25 jaar het kwetsbaarst" in md and "Hoogopgeleiden het kwetsbaarst" in md
    assert not at.info or all("Voor één wijk" not in i.value for i in at.info)
    assert len(at.get("vega_lite_chart")) == 4 and len(map_specs(at)) == 1


def test_page_wijk_filter_and_themes(app_warehouse, monkeypatch):
    at, _ = _open("wijkteam", monkeypatch, wijk="BU02680101", thema="Overvallen")
    infos = " ".join(i.value for i in at.info)
    assert "Voor één wijk toont deze pagina geen profiel" in infos and "stadsdeel Centrum" in infos
    assert any("worden hier genegeerd" in c.value for c in at.caption)
    age = next(d.value for d in at.dataframe if d.value.columns[0] == "Leeftijd")
    assert cyber.D_WIJK not in set(age["Noemer"])  # the stadsdeel's own figures, not a wijk estimate
    at, _ = _open("analist", monkeypatch, wijk="BU02680101")
    assert not any("Voor één wijk" in i.value for i in at.info)
    age = next(d.value for d in at.dataframe if d.value.columns[0] == "Leeftijd")
    assert set(age.loc[age["Leeftijd"] != "leeftijd onbekend", "Noemer"]) == {cyber.D_WIJK}


def test_page_button_switches_to_a_year(app_warehouse, monkeypatch):
    at, _ = _open("wijkteam", monkeypatch)
    assert any("langere periode" in i.value for i in at.info)
    at.button(key="cy_52w").click().run()
    assert not at.exception
    assert at.session_state["filters"].preset == "52w"
    assert not any("langere periode" in i.value for i in at.info)
    at.selectbox(key="cy_delict").set_value("Phishing").run()
    at.radio(key="cy_per").set_value("jaar").run()
    at.radio(key="cy_kaart").set_value("wijk").run()
    assert not at.exception and not at.error


def test_page_without_cyber_data_says_so(app_warehouse, monkeypatch):
    from veiligheid.warehouse import write_version

    with write_version(app_warehouse) as w:
        w.con.execute("DELETE FROM cyber_slachtoffers")
    at, downloads = _open("wijkteam", monkeypatch)
    assert any("nog geen slachtoffers van cybercrime ingeladen" in w.value for w in at.warning)
    assert not at.dataframe and not downloads


def test_the_page_makes_its_group_tables_once_per_profile_not_per_rerun(app_warehouse, monkeypatch):  # noqa: F811
    """The check of the 2017 finding, the table per group and their CSV are made once per profile
    (shared.cyber_tables); a rerun of the same selection, or another session on it, makes none."""
    import streamlit as st

    made = []
    original = cyber.group_tables
    monkeypatch.setattr(cyber, "group_tables", lambda *a, **k: made.append(1) or original(*a, **k))
    st.cache_data.clear()
    at = app_test("wijkteam", page=PAGE, stadsdeel="WK026807")
    assert not at.exception and len(made) == 1
    first = [df.value.copy() for df in at.dataframe]
    at.run()
    assert not at.exception and len(made) == 1
    assert all(a.equals(b.value) for a, b in zip(first, at.dataframe)) and len(first) == len(at.dataframe)
    assert not app_test("wijkteam", page=PAGE, stadsdeel="WK026807").exception and len(made) == 1
    assert not app_test("analist", page=PAGE, stadsdeel="WK026807").exception and len(made) == 2  # another role

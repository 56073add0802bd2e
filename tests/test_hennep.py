"""Hennepteelt: known answers for the chain, lead times, hit rates, recidive and disclosure; the page per role.

The synthetic cases (all dates 2026, data up to 30-06-2026; period 01-01 .. 30-06 unless a test says otherwise):

    case  signal  source       ruiming  planten  pand / eigendom             stroom  13b           begin   eind    adres  buurt
    A     05-01   Politie      15-01    100      Woning / Corporatie         ja      Sluiting      14-02   15-05   X      BU11
    B     10-01   Netbeheerder 30-01    200      Woning / Koop               nee     Waarschuwing  -       -       Y      BU11
    C     01-02   Politie      -        -        Bijgebouw / Koop            -       -             -       -       Z      BU12
    D     01-03   MMA          31-03    300      Bedrijfspand / Part. verh.  ja      Sluiting      20-04   -       W      BU21
    E     01-06   Buurtbewoner 11-06    50       Woning / Corporatie         nee     Geen          -       -       X      BU11
    F     20-12-2025 Politie   05-01    400      Woning / Particuliere verh. nee     Geen          -       -       V      BU12

Hand-computed: signals in the period A-E (5); dismantlings A, B, D, E, F (5; F was signalled in 2025); funnel of
A-E: signal 5, ruiming 4, 13b-besluit 3 (warning B; closure A, D), gesloten 2, heropend 1 (A). Lead times
signal -> ruiming 10, 20, 30, 10 days (median 15); ruiming -> sluiting 30 (A), 20 (D); sluiting -> heropening 90 (A);
signal -> sluiting 40 (A), 50 (D). E is a repeat case (X was dismantled on 15-01, before E's signal).
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

from tests.conftest_app import app_test, app_warehouse, demo_warehouse, map_areas, map_points, map_specs, map_texts  # noqa: F401  (fixtures)
from veiligheid import disclosure, filters as F, hennep, queries, ui
from veiligheid.disclosure import Policy
from veiligheid.warehouse import connect_readonly

PAGE = "views/hennepteelt.py"
D = dt.date
END = D(2026, 6, 30)
OPEN = Policy(5, active=False)  # analist
WIJKTEAM = Policy(5, active=True)
BAG = re.compile(r"(?<![\d.,])\d{16}(?![\d.,])")  # a BAG id (adres_id) anywhere, not a decimal fraction


def _row(zaak, signal, bron, ruiming=None, planten=None, pand="Woning", eigendom="Onbekend", stroom=None,
         besluit=None, begin=None, eind=None, adres=None, buurt="BU11"):
    return {"zaaknummer": zaak, "signaaldatum": signal, "signaalbron": bron, "ruimingsdatum": ruiming,
            "aantal_planten": planten, "type_pand": pand, "eigendom": eigendom, "stroomdiefstal": stroom,
            "besluit_13b": besluit, "sluiting_begin": begin, "sluiting_eind": eind, "adres_id": adres,
            "buurtcode": buurt, "wijkcode": "WK2" if buurt.startswith("BU2") else "WK1", "lat": 51.8, "lon": 5.8}


def _cases() -> pd.DataFrame:
    return hennep.normalise(pd.DataFrame([
        _row("A", D(2026, 1, 5), "Politie", D(2026, 1, 15), 100, "Woning", "Corporatie", True, "Sluiting",
             D(2026, 2, 14), D(2026, 5, 15), "X"),
        _row("B", D(2026, 1, 10), "Netbeheerder", D(2026, 1, 30), 200, "Woning", "Koop", False, "Waarschuwing",
             adres="Y"),
        _row("C", D(2026, 2, 1), "Politie", pand="Bijgebouw", eigendom="Koop", adres="Z", buurt="BU12"),
        _row("D", D(2026, 3, 1), "Meld Misdaad Anoniem", D(2026, 3, 31), 300, "Bedrijfspand", "Particuliere verhuur",
             True, "Sluiting", D(2026, 4, 20), None, "W", buurt="BU21"),
        _row("E", D(2026, 6, 1), "Buurtbewoner", D(2026, 6, 11), 50, "Woning", "Corporatie", False, "Geen", adres="X"),
        _row("F", D(2025, 12, 20), "Politie", D(2026, 1, 5), 400, "Woning", "Particuliere verhuur", False, None,
             adres="V", buurt="BU12"),
    ]))


WIJKEN = pd.DataFrame({"code": ["BU11", "BU12", "BU21"], "naam": ["Elf", "Twaalf", "Eenentwintig"],
                       "stadsdeel_code": ["WK1", "WK1", "WK2"], "stadsdeel": ["Een", "Een", "Twee"],
                       "inwoners": [2000, 4000, 50]})
SDS = pd.DataFrame({"code": ["WK1", "WK2"], "naam": ["Een", "Twee"], "stadsdeel": ["Een", "Twee"],
                    "inwoners": [6000, 50]})


def _overview(cases=None, policy=OPEN, start=D(2026, 1, 1), end=END, stadsdeel=None, wijk=None, data_end=END):
    return hennep.build_overview(_cases() if cases is None else cases, WIJKEN, SDS, start, end, stadsdeel, wijk,
                                 data_end, policy, with_system=True)


# ------------------------------------------------------------------ the chain
def test_funnel_counts_known_answer():
    f = hennep.funnel(_cases(), D(2026, 1, 1), END, END)
    assert f.to_dict() == {"signaal": 5, "ruiming": 4, "besluit": 3, "waarschuwing": 1, "sluitingsbesluit": 2,
                           "sluiting": 2, "heropening": 1}


def test_funnel_as_known_on_an_earlier_day():
    # on 01-03: of A-D, A and B are dismantled (D only on 31-03), A closed on 14-02, nothing reopened
    f = hennep.funnel(_cases(), D(2026, 1, 1), D(2026, 3, 1), D(2026, 3, 1))
    assert f.to_dict() == {"signaal": 4, "ruiming": 2, "besluit": 2, "waarschuwing": 1, "sluitingsbesluit": 1,
                           "sluiting": 1, "heropening": 0}


def test_steps_are_nested_even_with_inconsistent_data():
    # a closure date on a case without a dismantling or a closure decision does not count as a closure
    bad = hennep.normalise(pd.DataFrame([_row("G", D(2026, 1, 1), "Gemeente", None, begin=D(2026, 2, 1)),
                                         _row("H", D(2026, 1, 1), "Gemeente", D(2026, 1, 9), besluit="Geen",
                                              begin=D(2026, 2, 1))]))
    f = hennep.funnel(bad, D(2026, 1, 1), END, END)
    assert f["ruiming"] == 1 and f["besluit"] == 0 and f["sluiting"] == 0


def test_lead_times_known_answer():
    lt = hennep.lead_times(_cases(), D(2026, 1, 1), END, END).set_index("overgang")
    assert lt.at["signaal_ruiming", "n"] == 4 and lt.at["signaal_ruiming", "mediaan"] == 15
    # quartiles of 10, 10, 20, 30 (linear interpolation): 10 and 22.5; p90 27
    assert lt.at["signaal_ruiming", "p25"] == 10 and lt.at["signaal_ruiming", "p75"] == 22.5
    assert lt.at["signaal_ruiming", "p90"] == pytest.approx(27)
    assert (lt.at["ruiming_sluiting", "n"], lt.at["ruiming_sluiting", "mediaan"]) == (2, 25)
    assert (lt.at["sluiting_heropening", "n"], lt.at["sluiting_heropening", "mediaan"]) == (1, 90)
    assert (lt.at["signaal_sluiting", "n"], lt.at["signaal_sluiting", "mediaan"]) == (2, 45)


def test_lead_times_leave_out_impossible_spans():
    # a closure that starts before its dismantling is a data error, not a negative lead time
    odd = hennep.normalise(pd.DataFrame([_row("G", D(2026, 1, 1), "Politie", D(2026, 1, 20), besluit="Sluiting",
                                              begin=D(2026, 1, 10))]))
    assert hennep.durations(odd, "ruiming_sluiting", END).empty
    assert hennep.durations(odd, "signaal_ruiming", END).tolist() == [19]


def test_norms_and_stuck_cases():
    cases = _cases()
    # completed signal -> ruiming by 30-06, city-wide: 10, 20, 30, 10, 16 (F) -> p90 = 20 + 0.6 * 10 = 26
    nrm = hennep.norms(cases, END)
    assert nrm["signaal_ruiming"] == pytest.approx(26)
    assert math.isnan(nrm["ruiming_sluiting"])  # 2 completed closures < MIN_NORM: no norm
    st = hennep.stuck(cases, END)
    # C: signalled 01-02, no dismantling: 149 days on 30-06, more than 26
    assert st["zaaknummer"].tolist() == ["C"] and st["dagen"].tolist() == [149]
    assert st["stap"].tolist() == ["wacht_ruiming"]


def test_stuck_with_given_norms():
    cases = hennep.normalise(pd.concat([_cases().drop(columns="herhaling"), pd.DataFrame([
        _row("G", D(2026, 5, 1), "Gemeente", D(2026, 6, 1), besluit="Sluiting")])], ignore_index=True))
    st = hennep.stuck(cases, END, {"signaal_ruiming": math.nan, "ruiming_sluiting": 10.0,
                                   "sluiting_heropening": 60.0, "signaal_sluiting": math.nan})
    got = dict(zip(st["zaaknummer"], zip(st["stap"], st["dagen"])))
    # G: closure decided, dismantled 01-06, not closed: 29 days > 10. D: closed since 20-04: 71 days > 60.
    # A reopened on 15-05; C waits for a dismantling but that step has no norm here.
    assert got == {"G": ("wacht_sluiting", 29), "D": ("gesloten", 71)}


# ------------------------------------------------------------------ sources, recidive
def test_hit_rates_known_answer():
    hr = hennep.hit_rates(_cases(), D(2026, 1, 1), END, END).set_index("bron")
    assert (hr.at["Politie", "signalen"], hr.at["Politie", "geruimd"], hr.at["Politie", "trefkans"]) == (2, 1, 0.5)
    assert hr.at["Netbeheerder", "trefkans"] == 1.0 and hr.at["Meld Misdaad Anoniem", "trefkans"] == 1.0
    assert hr.at["Gemeente", "signalen"] == 0 and math.isnan(hr.at["Gemeente", "trefkans"])
    assert hr["signalen"].sum() == 5  # F was signalled before the period


def test_repeat_cases_known_answer():
    cases = _cases()
    assert cases.loc[cases["herhaling"], "zaaknummer"].tolist() == ["E"]
    # a second case at an address before its first dismantling is not a repeat; no adres_id is never one
    more = hennep.normalise(pd.DataFrame([
        _row("P", D(2026, 1, 1), "Politie", D(2026, 3, 1), adres="Q"),
        _row("R", D(2026, 2, 1), "Politie", D(2026, 2, 10), adres="Q"),  # signal before P's dismantling
        _row("S", D(2026, 4, 1), "Politie", None, adres="Q"),  # after both: repeat (even without dismantling)
        _row("T", D(2026, 5, 1), "Politie", None, adres="Q"),  # another repeat at the same address
        _row("U", D(2026, 5, 1), "Politie", D(2026, 5, 2), adres=None),
        _row("V", D(2026, 6, 1), "Politie", None, adres=None),
    ]))
    # R's signal (01-02) comes before any dismantling at Q; S and T come after P's and R's
    assert dict(zip(more["zaaknummer"], more["herhaling"])) == {"P": False, "R": False, "S": True, "T": True,
                                                               "U": False, "V": False}
    assert hennep.first_repeat(more, END).sum() == 1  # one repeat address, however many repeat cases
    assert hennep.first_repeat(more, D(2026, 3, 31)).sum() == 0  # on 31-03 there was no repeat yet


def test_repeat_rule_is_strictly_after_an_earlier_dismantling():
    cases = hennep.normalise(pd.DataFrame([
        _row("P", D(2026, 1, 1), "Politie", D(2026, 3, 1), adres="Q"),
        _row("R", D(2026, 2, 1), "Politie", D(2026, 2, 10), adres="Q"),
    ]))
    # R's signal (01-02) comes before P's dismantling (01-03): R is not a repeat; P's signal (01-01) comes
    # before R's dismantling (10-02): P is not one either
    assert cases["herhaling"].tolist() == [False, False]
    # the same day is not "before"; a case's own dismantling never makes it a repeat; the earliest
    # dismantling at an address counts for every other case there, the second earliest for its own case
    more = hennep.normalise(pd.DataFrame([
        _row("A", D(2026, 1, 1), "Politie", D(2026, 1, 10), adres="Z"),
        _row("B", D(2026, 1, 10), "Politie", D(2026, 1, 20), adres="Z"),  # A's dismantling on B's signal day
        _row("C", D(2026, 1, 15), "Politie", D(2026, 1, 12), adres="Z"),  # A's (10-01) before C's signal
        _row("D", D(2026, 1, 11), "Politie", D(2026, 1, 5), adres="Y"),   # only its own dismantling
    ]))
    assert dict(zip(more["zaaknummer"], more["herhaling"])) == {"A": False, "B": False, "C": True, "D": False}


# ------------------------------------------------------------------ the overview (analist: true figures)
def test_overview_key_figures_known_answer():
    ov = _overview()
    tiles = dict(zip(ov.tiles["key"], ov.tiles["n"]))
    assert tiles == {"signalen": 5, "ruimingen": 5, "stroomdiefstal": 2, "waarschuwing": 1, "sluitingsbesluit": 2,
                     "sluitingen_gestart": 2, "sluitingen_van_kracht": 1}
    assert ov.plants == 1050
    assert not ov.tiles["verborgen"].any()


def test_overview_in_force_on_the_end_of_the_period():
    # on 31-03 A (14-02 .. 15-05) is in force and D starts only on 20-04
    ov = _overview(end=D(2026, 3, 31))
    tiles = dict(zip(ov.tiles["key"], ov.tiles["n"]))
    assert tiles["sluitingen_van_kracht"] == 1 and tiles["sluitingen_gestart"] == 1 and tiles["signalen"] == 4


def test_overview_areas_rates_and_recidive():
    ov = _overview()
    w = ov.areas["wijk"].set_index("code")
    # dismantlings in the period: BU11 A, B, E; BU12 F; BU21 D
    assert w["n"].to_dict() == {"BU11": 3, "BU12": 1, "BU21": 1}
    assert w.at["BU11", "per_1000"] == pytest.approx(1.5) and w.at["BU12", "per_1000"] == pytest.approx(0.25)
    assert math.isnan(w.at["BU21", "per_1000"])  # fewer than 100 inhabitants: no rate
    assert w.at["BU11", "herhaling"] == 1 and w.at["BU11", "adressen"] == 1 and w.at["BU12", "adressen"] == 0
    assert w["hotspot"].to_dict() == {"BU11": True, "BU12": False, "BU21": False}  # 2 or more dismantlings
    s = ov.areas["stadsdeel"].set_index("code")
    assert s["n"].to_dict() == {"WK1": 4, "WK2": 1}
    # city rate 5 per 6.050 inhabitants; WK1 4 per 6.000 -> index 100 * (4/6000) / (5/6050)
    assert s.at["WK1", "index"] == pytest.approx(100 * (4 / 6000) / (5 / 6050))


def test_overview_area_filter():
    ov = _overview(stadsdeel="WK1")
    tiles = dict(zip(ov.tiles["key"], ov.tiles["n"]))
    assert tiles["signalen"] == 4 and tiles["ruimingen"] == 4  # D (WK2) is out
    assert ov.funnel.set_index("stap").at["sluiting", "n"] == 1  # only A
    ov = _overview(wijk="BU12")
    assert dict(zip(ov.tiles["key"], ov.tiles["n"]))["ruimingen"] == 1  # F


def test_overview_premises_and_months():
    ov = _overview()
    p = ov.premises
    assert p.at["Woning", "Corporatie"] == 2 and p.at["Woning", "Koop"] == 1
    assert p.at["Woning", "Particuliere verhuur"] == 1 and p.at["Bedrijfspand", "Particuliere verhuur"] == 1
    assert p.at["Woning", "Totaal"] == 4 and p.at["Totaal", "Corporatie"] == 2 and p.at["Totaal", "Totaal"] == 5
    m = ov.monthly.set_index(ov.monthly["maand"].dt.strftime("%Y-%m"))
    assert m.at["2026-01", "signalen"] == 2 and m.at["2026-01", "ruimingen"] == 3  # A, B; A, B, F
    assert m.at["2026-02", "signalen"] == 1 and m.at["2026-06", "ruimingen"] == 1
    assert m.at["2025-12", "signalen"] == 1 and not m.at["2025-12", "in_periode"]  # F, before the period
    assert m["in_periode"].sum() == 6


def test_trend_months():
    ts = pd.Timestamp
    got = hennep.trend_months(D(2026, 11, 1), D(2026, 11, 28), ts(2024, 3, 5))
    assert got[0] == ts(2025, 12, 1) and got[-1] == ts(2026, 11, 1) and len(got) == 12
    # a long period is shown whole, but never before the first data
    got = hennep.trend_months(D(2023, 1, 1), D(2026, 11, 28), ts(2024, 3, 5))
    assert got[0] == ts(2024, 3, 1) and len(got) == 33


def test_overview_without_cases():
    empty = hennep.normalise(pd.DataFrame(columns=list(hennep.CASE_COLUMNS)))
    for policy in (OPEN, WIJKTEAM):
        ov = _overview(empty, policy)
        assert ov.n_cases == 0 and (ov.tiles["n"] == 0).all() and ov.plants == 0
        assert ov.lead["mediaan"].isna().all()


# ------------------------------------------------------------------ disclosure
def _shown_counts(ov: hennep.Overview) -> list[tuple[str, float]]:
    """Every count an overview hands to the page (NaN = hidden)."""
    out = [(f"tegel {k}", n) for k, n in zip(ov.tiles["key"], ov.tiles["n"])]
    out += [(f"keten {k}", n) for k, n in zip(ov.funnel["stap"], ov.funnel["n"])]
    out += [(f"doorlooptijd {k}", n) for k, n in zip(ov.lead["overgang"], ov.lead["n"])]
    out += [(f"vast {k}", n) for k, n in zip(ov.stuck["stap"], ov.stuck["n"])]
    for col in ("signalen", "geruimd"):
        out += [(f"bron {col}", n) for n in ov.sources[col]] + [(f"bronjaar {col}", n) for n in ov.sources_year[col]]
    for lvl, a in ov.areas.items():
        for col in ("n", "herhaling", "adressen"):
            out += [(f"{lvl} {col}", n) for n in a[col]]
    out += [("pand", n) for n in ov.premises.to_numpy().ravel()]
    out += [(f"maand {c}", n) for c in ("signalen", "ruimingen") for n in ov.monthly[c]]
    out += [(k, v) for k, v in ov.area_total.items() if not k.endswith("verborgen")]
    return out


def _small(counts, policy=WIJKTEAM) -> list:
    return [(w, n) for w, n in counts if not (isinstance(n, float) and math.isnan(n)) and policy.small(n)]


def oracle(cells: hennep.Cells, hidden: set, policy: Policy) -> set:
    """An independent subtraction attack on everything shown.

    Unknowns: every group of cases in exactly the same shown figures, every difference of two nested shown
    figures that is a small count, and every hidden figure. Returns what a reader can solve exactly that must
    stay unknown: a hidden figure, a small group or a small difference."""
    shown = [k for k in cells.shown if cells.masks[k].any()]
    if not shown:
        return set()
    m = np.column_stack([cells.masks[k] for k in shown])
    pats, counts = np.unique(m[m.any(axis=1)], axis=0, return_counts=True)
    values = {k: float(cells.masks[k].sum()) for k in shown}
    groups = [("groep", i) for i in range(len(counts))]
    values.update(zip(groups, map(float, counts)))
    rels = [(k, [groups[i] for i in np.nonzero(pats[:, j])[0]]) for j, k in enumerate(shown)]
    diffs = set()
    for j, b in enumerate(shown):
        for i, a in enumerate(shown):
            small_rest = policy.small(values[b] - values[a])
            if i != j and small_rest and not (cells.masks[a] & ~cells.masks[b]).any():
                values[("verschil", j, i)] = values[b] - values[a]
                rels.append((("verschil", j, i), [groups[x] for x in np.nonzero(pats[:, j] & ~pats[:, i])[0]]))
                diffs.add(("verschil", j, i))
    unknown = set(groups) | diffs | (set(hidden) & set(shown))
    solved = disclosure.recoverable(values, rels, unknown)
    return {k for k in solved if k in diffs or k in set(shown) or (k in set(groups) and policy.small(values[k]))}


def test_wijkteam_sees_no_small_count_synthetic():
    ov = _overview(policy=WIJKTEAM)
    counts = _shown_counts(ov)
    assert _small(_shown_counts(_overview())), "the synthetic data has small counts (else this proves nothing)"
    assert not _small(counts)
    assert not ov.failed_closed
    assert not oracle(ov.system["cells"], ov.system["hidden"], WIJKTEAM)
    # the 5 signals and 5 dismantlings may be shown: each is 5, and nothing shown beside them subtracts to 1..4
    tiles = dict(zip(ov.tiles["key"], ov.tiles["n"]))
    assert tiles["signalen"] == 5 or math.isnan(tiles["signalen"])  # hidden if it would pin a small count at its bounds
    assert math.isnan(tiles["stroomdiefstal"]) and math.isnan(ov.funnel.set_index("stap").at["ruiming", "n"])
    # a median over 4 cases is not shown to the wijkteam, but is to the analist
    assert ov.lead["mediaan"].isna().all()
    assert _overview().lead.set_index("overgang").at["signaal_ruiming", "mediaan"] == 15


def test_nested_figures_cannot_be_subtracted():
    # 6 cases signalled and dismantled in the period, 1 signalled before it and dismantled in it:
    # signals 6, dismantlings 7, funnel 'geruimd' 6. Dismantlings - signals = 1 would be a hidden count.
    rows = [_row(f"N{i}", D(2026, 2, 1 + i), "Politie", D(2026, 2, 10 + i), 100, adres=f"A{i}") for i in range(6)]
    rows.append(_row("O", D(2025, 12, 1), "Politie", D(2026, 1, 10), 100, adres="B"))
    cases = hennep.normalise(pd.DataFrame(rows))
    analist = _overview(cases)
    t = dict(zip(analist.tiles["key"], analist.tiles["n"]))
    assert (t["signalen"], t["ruimingen"]) == (6, 7)
    ov = _overview(cases, WIJKTEAM)
    cells, hidden = ov.system["cells"], ov.system["hidden"]
    shown = {k: cells.value(k) for k in cells.shown if k not in hidden}
    # no two shown figures, one inside the other, differ by 1..4
    for a, va in shown.items():
        for b, vb in shown.items():
            if a != b and not (cells.masks[a] & ~cells.masks[b]).any():
                assert not WIJKTEAM.small(vb - va), (a, b)
    t = dict(zip(ov.tiles["key"], ov.tiles["n"]))
    assert math.isnan(t["signalen"]) or math.isnan(t["ruimingen"])  # 7 - 6 = 1: not both shown
    assert not oracle(cells, hidden, WIJKTEAM)
    assert not _small(_shown_counts(ov))


def test_months_cannot_be_subtracted_from_the_period():
    # period 06-01 .. 30-06. January: one signal on 05-01 (before the period) and one on 07-01 (in it);
    # February and March 5 each. Period total 11 minus February and March = 1: January's part in the period.
    rows = [_row("J0", D(2026, 1, 5), "Politie", adres="J0"), _row("J1", D(2026, 1, 7), "Politie", adres="J1")]
    rows += [_row(f"F{i}", D(2026, 2, 2 + i), "Politie", adres=f"F{i}") for i in range(5)]
    rows += [_row(f"M{i}", D(2026, 3, 2 + i), "Politie", adres=f"M{i}") for i in range(5)]
    cases = hennep.normalise(pd.DataFrame(rows))

    def figures(ov):
        m = ov.monthly.set_index(ov.monthly["maand"].dt.strftime("%Y-%m"))["signalen"]
        return ov.tiles.set_index("key").at["signalen", "n"], m["2026-02"], m["2026-03"]

    assert figures(_overview(cases, start=D(2026, 1, 6))) == (11, 5, 5)
    ov = _overview(cases, WIJKTEAM, start=D(2026, 1, 6))
    assert sum(math.isnan(x) for x in figures(ov)) >= 1
    assert not oracle(ov.system["cells"], ov.system["hidden"], WIJKTEAM)


def test_protection_fails_closed(monkeypatch):
    def broken(*args, **kwargs):
        raise AssertionError("no complement")

    monkeypatch.setattr(disclosure, "protect", broken)
    ov = _overview(policy=WIJKTEAM)
    assert ov.failed_closed
    assert all(math.isnan(n) or n == 0 for _, n in _shown_counts(ov))


def test_threshold_is_configurable():
    # 10 cases signalled and dismantled in February: 3 in BU11, 7 in BU12 (both in stadsdeel WK1)
    rows = [_row(f"T{i}", D(2026, 2, 2 + i), "Politie", D(2026, 2, 14 + i), 100, adres=f"T{i}",
                 buurt="BU11" if i < 3 else "BU12") for i in range(10)]
    cases = hennep.normalise(pd.DataFrame(rows))
    got = {}
    for threshold in (3, 5):
        policy = Policy(threshold, True)
        ov = _overview(cases, policy)
        assert not _small(_shown_counts(ov), policy)
        assert not oracle(ov.system["cells"], ov.system["hidden"], policy)
        got[threshold] = ov.areas["wijk"].set_index("code")["n"]
    assert got[3]["BU11"] == 3 and got[3]["BU12"] == 7  # 3 is not small under threshold 3
    assert math.isnan(got[5]["BU11"]) and math.isnan(got[5]["BU12"])  # 3 is; and 7 = 10 - 3 goes with it


# ------------------------------------------------------------------ on the demo warehouse
def _con(wh: Path):
    return connect_readonly(wh)


def test_loads_every_current_case(demo_warehouse):
    con = _con(demo_warehouse)
    try:
        n, = con.execute("SELECT count(*) FROM hennep").fetchone()
        cases = hennep.load_cases(con)
        assert len(cases) == n > 20
        assert not hennep.has_status(con) and not hennep.homes_available(con)
        # the demo data has repeat cases (same BAG id after a dismantling)
        assert cases["herhaling"].sum() >= 1
    finally:
        con.close()


def test_withdrawn_cases_are_left_out(app_warehouse):
    con = duckdb.connect(str(app_warehouse))
    try:
        con.execute("ALTER TABLE hennep ADD COLUMN status VARCHAR")
        first, = con.execute("SELECT min(zaaknummer) FROM hennep").fetchone()
        con.execute("UPDATE hennep SET status = 'vervallen' WHERE zaaknummer = ?", [first])
        total, = con.execute("SELECT count(*) FROM hennep").fetchone()
        cases = hennep.load_cases(con)
        assert hennep.has_status(con) and len(cases) == total - 1 and first not in set(cases["zaaknummer"])
    finally:
        con.close()


def test_demo_analist_figures_match_sql(demo_warehouse):
    con = _con(demo_warehouse)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(F.FilterState(preset="52w"), fresh.data_end)
        ov = hennep.overview(con, p, None, None, fresh.data_end, OPEN)
        sql = """SELECT count(*) FILTER (WHERE signaaldatum BETWEEN ? AND ?),
                        count(*) FILTER (WHERE ruimingsdatum BETWEEN ? AND ?),
                        count(*) FILTER (WHERE sluiting_begin BETWEEN ? AND ?),
                        count(*) FILTER (WHERE sluiting_begin <= ? AND besluit_13b = 'Sluiting' AND ruimingsdatum <= ?
                                         AND (sluiting_eind IS NULL OR sluiting_eind > ?))
                 FROM hennep"""
        e = p.end
        sig, rui, started, in_force = con.execute(sql, [p.start, e, p.start, e, p.start, e, e, e, e]).fetchone()
        t = dict(zip(ov.tiles["key"], ov.tiles["n"]))
        assert (t["signalen"], t["ruimingen"], t["sluitingen_gestart"], t["sluitingen_van_kracht"]) == \
            (sig, rui, started, in_force)
        assert ov.areas["wijk"]["n"].sum() == rui and ov.areas["stadsdeel"]["n"].sum() == rui
        assert sum(ov.sources["signalen"]) == sig
    finally:
        con.close()


@pytest.mark.parametrize("state", [
    F.FilterState(preset="4w"), F.FilterState(preset="52w"), F.FilterState(preset="jtd"),
    F.FilterState(preset="52w", stadsdeel="WK026802"),
    F.FilterState(preset="aangepast", start=D(2025, 9, 1), end=D(2026, 2, 14)),
])
def test_demo_wijkteam_protected_and_not_recoverable(demo_warehouse, state):
    con = _con(demo_warehouse)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(state, fresh.data_end)
        cases = hennep.load_cases(con)
        wijken, sds = hennep._area_frames(con)
        ov = hennep.build_overview(cases, wijken, sds, p.start, p.end, state.stadsdeel, state.wijk, fresh.data_end,
                                   WIJKTEAM, with_system=True)
        assert not ov.failed_closed
        assert not _small(_shown_counts(ov))
        assert not oracle(ov.system["cells"], ov.system["hidden"], WIJKTEAM)
        cells = ov.system["cells"]  # a zero stays a zero: the map's '<5' says 'not 0' (52w: 23 wijken were '<5')
        assert not [k for k in cells.shown if k in ov.system["hidden"] and cells.value(k) == 0]
        if state.preset == "52w" and not state.stadsdeel:  # a year of the whole city: the headline survives
            t = dict(zip(ov.tiles["key"], ov.tiles["n"]))
            assert t["signalen"] >= 5 and t["ruimingen"] >= 5
    finally:
        con.close()


# ------------------------------------------------------------------ the page (AppTest)
def _record_downloads(monkeypatch) -> list[tuple[str, bytes]]:
    downloads: list[tuple[str, bytes]] = []
    original = ui.download_button

    def record(label, data, file_name, mime, what, key=None, **kwargs):
        if file_name.startswith("hennep"):
            downloads.append((file_name, data))
        return original(label, data, file_name, mime, what, key=key, **kwargs)

    monkeypatch.setattr(ui, "download_button", record)
    return downloads


def _open(role: str, monkeypatch, preset: str | None = None, **params):
    downloads = _record_downloads(monkeypatch)
    at = app_test(role, page=PAGE, **params)
    if preset:
        downloads.clear()
        at.selectbox(key=ui.W_PRESET).set_value(preset).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at, downloads


def _datasets(at) -> list[pd.DataFrame]:
    out = []
    for chart in at.get("vega_lite_chart"):
        for ds in chart.proto.datasets:
            out.append(pa.ipc.open_stream(ds.data.data).read_all().to_pandas())
        for ds in (json.loads(chart.proto.spec).get("datasets") or {}).values():
            out.append(pd.DataFrame(ds))
    return out


def _integer(text: str) -> int | None:
    return int(text.replace(".", "")) if re.fullmatch(r"\d{1,3}(\.\d{3})*", text.strip()) else None


def _page_counts(at, downloads) -> list[tuple[str, int]]:
    """Every count the page shows: tiles, table cells, chart data, map tooltips, CSV cells and text."""
    out = []
    for m in at.metric:
        if (v := _integer(m.value)) is not None and m.label != "Planten geruimd":
            out.append((f"tegel {m.label}", v))
    for df in at.dataframe:
        for col in df.value.columns:
            for x in df.value[col]:
                if isinstance(x, str) and (v := _integer(x)) is not None:
                    out.append((f"tabel {col}", v))
    for t in _datasets(at):
        for col in ("n", "signalen", "geruimd"):
            if col in t.columns:
                out += [(f"grafiek {col}", int(x)) for x in t[col].dropna()]
        for col in ("tekst",):
            if col in t.columns:
                out += [("grafiek tekst", _integer(x.split(" ")[0])) for x in t[col] if _integer(x.split(" ")[0])
                        is not None]
    for text in map_texts(at):
        for x in re.findall(r"^[^:\n]+: ([\d.]+)$", text, flags=re.M):  # every tooltip row that is a count
            out.append(("kaart", int(x.replace(".", ""))))
    for name, data in downloads:
        t = pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        for col in t.columns:
            out += [(f"csv {name} {col}", v) for x in t[col] if (v := _integer(x)) is not None]
    for c in list(at.caption) + list(at.markdown):
        for a, b in re.findall(r"13b-besluiten: (\S+) waarschuwing en (\S+) sluiting", c.value):
            out += [("tekst", v) for x in (a, b) if (v := _integer(x)) is not None]
    return out


def _all_text(at, downloads) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [m.value for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    parts += [json.dumps(s) for s in map_specs(at)]
    parts += [t.to_csv() for t in _datasets(at)]
    parts += [data.decode("utf-8-sig") for _, data in downloads]
    return "\n".join(parts)


def test_page_wijkteam(app_warehouse, monkeypatch):
    for preset in (None, "52w"):
        at, downloads = _open("wijkteam", monkeypatch, preset)
        assert at.title[0].value == "Hennepteelt"
        assert not at.toggle, "the address switch does not exist for the wijkteam"
        assert map_areas(at) and not map_points(at)
        assert not any(s.value.startswith("Lopende 13b-sluitingen") for s in at.subheader)
        cols = {c for df in at.dataframe for c in df.value.columns}
        assert not cols & {"Zaak", "Adres (BAG-id)", "Gesloten tot"}
        text = _all_text(at, downloads)
        assert not BAG.search(text) and "HZ-" not in text and "adres_id" not in text
        counts = _page_counts(at, downloads)
        assert counts and any(w == "kaart" for w, _ in counts), "the page (or its map) showed no counts at all"
        assert not [(w, v) for w, v in counts if 0 < v < 5], preset
        assert len(downloads) == 3  # area table, sources, per month: all protected like the screen
        assert "<5" in text


def test_page_wijkteam_numbers_are_the_protected_overview(app_warehouse, monkeypatch):
    at, _ = _open("wijkteam", monkeypatch, "52w")
    con = _con(app_warehouse)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(F.FilterState(preset="52w"), fresh.data_end)
        ov = hennep.overview(con, p, None, None, fresh.data_end, WIJKTEAM)
    finally:
        con.close()
    shown = {m.label: m.value for m in at.metric}
    for key, label in (("signalen", "Signalen"), ("ruimingen", "Ruimingen")):
        row = ov.tiles.set_index("key").loc[key]
        assert shown[label] == ("<5" if row["verborgen"] else f"{int(row['n']):,}".replace(",", "."))


def test_page_analist_switch_off_by_default_then_points_and_closures(app_warehouse, monkeypatch):
    at, downloads = _open("analist", monkeypatch, "52w")
    toggle = at.toggle(key="hennep_punten")
    assert toggle.label == "Toon adressen en punten (alleen analisten)" and toggle.value is False
    assert map_areas(at) and not map_points(at)
    assert not any(s.value.startswith("Lopende 13b-sluitingen") for s in at.subheader)
    assert not BAG.search(_all_text(at, downloads))
    # the analist sees the true figures
    con = _con(app_warehouse)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(F.FilterState(preset="52w"), fresh.data_end)
        ov = hennep.overview(con, p, None, None, fresh.data_end, OPEN)
        pts = hennep.points(con, p, None, None, ov.ref)
        cl = hennep.closures(con, ov.ref)
    finally:
        con.close()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Signalen"] == str(int(ov.tiles.set_index("key").at["signalen", "n"]))

    downloads.clear()
    reads = []
    load = hennep.load_cases
    monkeypatch.setattr(hennep, "load_cases", lambda *a, **k: reads.append(1) or load(*a, **k))
    toggle.set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert reads == []  # the points, closures and stuck cases are cut from the cases the page keeps
    assert len(map_points(at)) == int(pts["lat"].notna().sum()) > 0
    assert any(s.value.startswith("Lopende 13b-sluitingen") for s in at.subheader)
    closures = next(df.value for df in at.dataframe if "Gesloten tot" in df.value.columns)
    assert len(closures) == len(cl) > 0 and closures["Adres (BAG-id)"].str.fullmatch(r"\d{16}").all()
    assert any(name.startswith("hennep_sluitingen") for name, _ in downloads)


def test_page_map_levels(app_warehouse, monkeypatch):
    at, _ = _open("wijkteam", monkeypatch, "52w")
    assert at.radio(key="hennep_indeling").value == "wijk"  # the shared state's level (default: wijken)
    at.radio(key="hennep_indeling").set_value("stadsdeel").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(map_areas(at)) == 9
    legend = "".join(h.proto.body for h in at.get("html"))
    assert "onderdrukt" in legend  # suppressed is told apart from zero
    assert at.query_params["kaart"] == "stadsdeel"


def test_page_without_hennep_data(app_warehouse, monkeypatch):
    con = duckdb.connect(str(app_warehouse))
    try:
        con.execute("DELETE FROM hennep")
    finally:
        con.close()
    at, _ = _open("wijkteam", monkeypatch)
    assert any("nog geen hennepzaken" in i.value for i in at.info)


def test_page_threshold_from_configuration(app_warehouse, monkeypatch):
    monkeypatch.setenv("VEILIGHEID_MIN_COUNT_HENNEP", "10")
    at, downloads = _open("wijkteam", monkeypatch, "52w")
    text = _all_text(at, downloads)
    assert "<10" in text and "<5" not in text
    assert not [(w, v) for w, v in _page_counts(at, downloads) if 0 < v < 10]


# ------------------------------------------------------------------ across area views (issue 6)
def _views(wijken, sds):
    return [("stad", None, None)] + [(s, s, None) for s in sds["code"]] + [(w, None, w) for w in wijken["code"]]


def cross_view_system(cases, wijken, sds, start, end, data_end, policy):
    """Everything a reader sees by opening every area view of one period, with the true relations between views.

    Cells: each view's figures (area cells of the maps are the same figure in every view), each view's own
    relations, and for every figure of the views: a stadsdeel's = the sum over its wijken, the city's = the sum
    over the stadsdelen (built here from the area frames, not taken from the code under test). Returns (values,
    relations, hidden: hidden in a view and shown in none, implicit cells, inconsistent: hidden in one view and
    shown in another)."""
    def shared(k):
        if k[0] == "rest":
            return shared(k[1]) and all(shared(p) for p in k[2])
        return k[0] in ("ruimingen", "herhaling", "adressen") and k[1] in ("stad", "stadsdeel", "wijk")

    def g(view, k):
        return k if shared(k) else ("view", view, k)

    values, rels, shown_in, hidden_in, implicit, families = {}, [], set(), set(), set(), set()
    for view, sd, wk in _views(wijken, sds):
        ov = hennep.build_overview(cases, wijken, sds, start, end, sd, wk, data_end, policy, with_system=True)
        cells, hid = ov.system["cells"], ov.system["hidden"]
        for k, m in cells.masks.items():
            values[g(view, k)] = float(m.sum())
            if k in cells.shown:
                (hidden_in if k in hid else shown_in).add(g(view, k))
                if not shared(k):
                    families.add(k)
            else:
                implicit.add(g(view, k))
        rels += [(g(view, t), [g(view, p) for p in parts]) for t, parts in cells.relations]
    for k in families:
        rels.append((("view", "stad", k), [("view", s, k) for s in sds["code"]]))
        for s in sds["code"]:
            parts = [("view", w, k) for w in wijken.loc[wijken["stadsdeel_code"] == s, "code"]]
            if all(p in values for p in parts):  # a breakdown the wijk views do not show ties nothing down
                rels.append((("view", s, k), parts))
    return values, rels, hidden_in - shown_in, implicit, shown_in & hidden_in


def _demo_cross_view_system(demo_warehouse, preset: str):
    """cross_view_system of the demo warehouse for a week preset, as wijkteam sees it."""
    con = _con(demo_warehouse)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(F.FilterState(preset=preset), fresh.data_end)
        cases = hennep.load_cases(con)
        wijken, sds = hennep._area_frames(con)
    finally:
        con.close()
    return cross_view_system(cases, wijken, sds, p.start, p.end, fresh.data_end, WIJKTEAM)


def _leaks(values, rels, hidden, implicit, policy, bounds=False):
    solved = disclosure.recoverable(values, rels, hidden | implicit, policy.threshold, bounds=bounds)
    return {k for k in solved if k in hidden or (k in implicit and policy.small(values[k]))}


def test_cross_view_subtraction_synthetic():
    # 7 cases signalled and dismantled in February: 5 in BU11, 2 in BU12 (both in stadsdeel WK1), none in WK2.
    # Each view on its own may show its 5 or 7; together, WK1's 7 minus BU11's 5 gives BU12's hidden 2.
    rows = [_row(f"S{i}", D(2026, 2, 2 + i), "Politie", D(2026, 2, 14 + i), 100, adres=f"S{i}",
                 buurt="BU11" if i < 5 else "BU12") for i in range(7)]
    cases = hennep.normalise(pd.DataFrame(rows))
    tiles = {}
    for view, sd, wk in _views(WIJKEN, SDS):
        ov = _overview(cases, WIJKTEAM, stadsdeel=sd, wijk=wk)
        tiles[view] = ov.tiles.set_index("key").at["signalen", "n"]
        assert not _small(_shown_counts(ov))
    assert math.isnan(tiles["BU12"])  # 2: primary
    assert math.isnan(tiles["BU11"]) or (math.isnan(tiles["WK1"]) and math.isnan(tiles["stad"]))
    values, rels, hidden, implicit, inconsistent = cross_view_system(cases, WIJKEN, SDS, D(2026, 1, 1), END, END,
                                                                     WIJKTEAM)
    assert not inconsistent
    assert not _leaks(values, rels, hidden, implicit, WIJKTEAM)
    assert not _leaks(values, rels, hidden, implicit, WIJKTEAM, bounds=True)


@pytest.mark.parametrize("preset", ["4w", "52w"])
def test_cross_view_attack_demo(demo_warehouse, preset):
    """Issue 6: every area view (city, 9 stadsdelen, 44 wijken) of one period, read together.

    Measured on the code before the fix (each view protected on its own), with recoverable(bounds=True):
    4w 229 of 388 hidden cells recoverable, 52w 456 of 906; 52w 3 stadsdeel map cells hidden in one view and
    shown in another. After: none recoverable exactly, none inconsistent."""
    values, rels, hidden, implicit, inconsistent = _demo_cross_view_system(demo_warehouse, preset)
    assert len(hidden) > 100, "the demo has many hidden cells (else this proves nothing)"
    assert not inconsistent, sorted(inconsistent, key=str)[:5]
    leaks = _leaks(values, rels, hidden, implicit, WIJKTEAM)
    assert not leaks, (len(leaks), sorted(leaks, key=str)[:5])
    shown = [(str(k), v) for k, v in values.items() if k not in hidden and k not in implicit]
    assert not _small(shown)


@pytest.mark.parametrize("preset", ["4w", "13w", "52w"])
def test_cross_view_bounds_attack(demo_warehouse, preset):
    """All 54 area views of a period together, with the bounds a reader knows: a hidden count is at least 1 (zero
    is shown as zero), and no small count may be pinned to one value. (A reader does not know that a hidden
    count is at most 4: shielded larger counts read '<5' too.) Measured before (each wijk view with every
    breakdown, bounds only within modules): 4w 108 and 13w 274 small counts pinned."""
    values, rels, hidden, implicit, inconsistent = _demo_cross_view_system(demo_warehouse, preset)
    assert not inconsistent
    assert sum(WIJKTEAM.small(values[k]) for k in hidden) > 20, "the demo has small hidden counts (else this proves nothing)"
    pinned = disclosure.recoverable(values, rels, hidden | implicit, None, bounds=True)
    leaks = {k for k in pinned if WIJKTEAM.small(values[k])}
    assert not leaks, (len(leaks), sorted(leaks, key=str)[:5])


def test_wijk_views_show_no_breakdowns_to_wijkteam(demo_warehouse):
    """A wijk has a few cases a year: for wijkteam its view has the tiles and the map only (no chain, lead times,
    sources, premises or months), so those cannot tie its small counts down; analysts see everything."""
    con = _con(demo_warehouse)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(F.FilterState(preset="52w"), fresh.data_end)
        cases = hennep.load_cases(con)
        wijken, sds = hennep._area_frames(con)
    finally:
        con.close()
    wk = cases.loc[hennep._between(cases["ruimingsdatum"], p.start, p.end), "buurtcode"].mode().iloc[0]
    sd = wijken.set_index("code").at[wk, "stadsdeel_code"]
    ov = hennep.build_overview(cases, wijken, sds, p.start, p.end, sd, wk, fresh.data_end, WIJKTEAM)
    assert not ov.detail
    assert ov.funnel["n"].isna().all() and ov.lead["mediaan"].isna().all() and ov.stuck["n"].isna().all()
    assert ov.sources[["signalen", "geruimd"]].isna().all().all() and ov.monthly[["signalen", "ruimingen"]].isna().all().all()
    assert ov.premises.isna().all().all()
    shown_tiles = ov.tiles.loc[~ov.tiles["verborgen"], "n"]
    assert shown_tiles.notna().all() and (shown_tiles.eq(0) | shown_tiles.ge(5)).all()
    assert len(ov.areas["wijk"]) == len(wijken) and len(ov.areas["stadsdeel"]) == len(sds)  # the map stays
    # the stadsdeel above it, and the analist's wijk view, keep every breakdown
    assert hennep.build_overview(cases, wijken, sds, p.start, p.end, sd, None, fresh.data_end, WIJKTEAM).detail
    full = hennep.build_overview(cases, wijken, sds, p.start, p.end, sd, wk, fresh.data_end, OPEN)
    assert full.detail and full.funnel["n"].notna().all() and full.funnel.set_index("stap").at["ruiming", "n"] > 0


def test_wijk_view_page_explains_the_missing_breakdowns(app_warehouse, monkeypatch):
    wk = "BU02680202"
    at, _ = _open("wijkteam", monkeypatch, wijk=wk)
    heads = [s.value for s in at.subheader]
    assert "Kerncijfers" in heads and "Waar" in heads
    assert not any(h.startswith(("De keten", "Signaalbronnen", "Soort pand", "Verloop per maand")) for h in heads)
    assert any("alleen de kerncijfers, de kaart en de gebiedstabel" in i.value for i in at.info)
    assert map_areas(at)
    analist, _ = _open("analist", monkeypatch, wijk=wk)
    heads = [s.value for s in analist.subheader]
    assert "De keten: van signaal tot heropening" in heads and "Verloop per maand" in heads
    assert not any("alleen de kerncijfers, de kaart en de gebiedstabel" in i.value for i in analist.info)


def test_city_protection_is_computed_once_per_period(demo_warehouse):
    import time
    con = _con(demo_warehouse)
    try:
        fresh = queries.freshness(con)
        p = F.resolve_period(F.FilterState(preset="13w"), fresh.data_end)
        hennep._PROTECTION_CACHE.clear()
        t0 = time.perf_counter()
        first = hennep.period_protection(con, p, fresh.data_end, WIJKTEAM)
        t1 = time.perf_counter()
        again = hennep.period_protection(con, p, fresh.data_end, WIJKTEAM)
        t2 = time.perf_counter()
        assert again is first and (t2 - t1) < (t1 - t0) / 5
        assert hennep.period_protection(con, p, fresh.data_end, OPEN).hidden == frozenset()
        cases = hennep.load_cases(con)
        wijken, sds = hennep._area_frames(con)
    finally:
        con.close()
    # a view's hidden cells are exactly the city-wide result for that view (its own check adds nothing)
    for sd, wk in ((None, None), ("WK026802", None), (None, wijken["code"].iloc[5])):
        ov = hennep.build_overview(cases, wijken, sds, p.start, p.end, sd, wk, fresh.data_end, WIJKTEAM,
                                   with_system=True, protection=first)
        cells = ov.system["cells"]
        assert ov.system["hidden"] == first.for_view(hennep.view_name(sd, wk), cells.masks)


def test_wijkteam_has_no_free_period(app_warehouse, monkeypatch):
    """Two free periods a day apart would give that day's counts away: wijkteam picks fixed periods only."""
    at, _ = _open("wijkteam", monkeypatch, periode="aangepast", van="2026-01-05", tot="2026-03-01")
    assert F.PRESETS["aangepast"] not in at.selectbox(key=ui.W_PRESET).options
    assert at.session_state["filters"].preset != "aangepast"
    analist, _ = _open("analist", monkeypatch, periode="aangepast", van="2026-01-05", tot="2026-03-01")
    assert analist.selectbox(key=ui.W_PRESET).value == "aangepast"


@pytest.mark.parametrize("shape", [(0, 5), (7, 0), (1, 1), (40, 9), (200, 23), (300, 70)])
def test_unique_rows_equals_numpy_unique_in_order_and_inverse(shape):
    """The case model's atoms (`Cells.check`) come from `unique_rows`; the order of the atoms decides the
    order of the greedy's candidates, so it must be np.unique's own order, not only the same set."""
    rng = np.random.default_rng(sum(shape))
    for density in (0.02, 0.3, 0.7):
        mat = rng.random(shape) < density
        if shape[0]:  # repeated rows, the common case (cases in exactly the same figures)
            mat = mat[rng.integers(0, max(1, shape[0] // 4), shape[0])]
        want, want_inv = np.unique(mat, axis=0, return_inverse=True)
        got, got_inv = hennep.unique_rows(mat)
        assert got.dtype == bool and got.shape == want.shape
        assert (got == want).all()
        assert (got_inv == np.asarray(want_inv).reshape(-1)).all()
        assert (got[got_inv] == mat).all()


def test_views_share_the_versions_cases_and_leave_them_as_loaded(app_warehouse):
    """shared.hennep_inputs hands every session the same case frame (no copy); the views and the analist's
    lists (shared.hennep_list) only filter it."""
    from veiligheid import shared
    from veiligheid.warehouse import version_token

    path, token = str(app_warehouse), version_token(app_warehouse)
    cases = shared.hennep_inputs(path, token)[0]
    assert shared.hennep_inputs(path, token)[0] is cases  # one object per version
    con = _con(app_warehouse)
    try:
        fresh = queries.freshness(con)
        sd, wijk = _rows_first(con)
        checked_lists = 0
        for preset, policy in ((F.DEFAULT_PRESET, WIJKTEAM), ("52w", Policy(5, False))):
            p = F.resolve_period(F.FilterState(preset=preset), fresh.data_end)
            for area in ((None, None), (sd, None), (sd, wijk)):
                got = shared.hennep_overview(path, token, p, *area, fresh.data_end, policy)
                hennep._PROTECTION_CACHE.clear()  # want computes its own protection, without the shared masks
                want = hennep.overview(con, p, *area, fresh.data_end, policy)  # read from the warehouse
                pd.testing.assert_frame_equal(got.tiles, want.tiles)
                # the page passes the period's masks (shared.hennep_arrays) in; the figures stay those of a
                # view that computes everything itself
                for part in ("funnel", "stuck", "sources", "monthly", "lead", "sources_year", "premises",
                             "premises_hidden"):
                    pd.testing.assert_frame_equal(getattr(got, part), getattr(want, part))
                assert pd.Series(got.norms).equals(pd.Series(want.norms))  # NaN (too few) equals NaN
                assert got.plants == want.plants or (math.isnan(got.plants) and math.isnan(want.plants))
                assert got.areas.keys() == want.areas.keys()
                for level in got.areas:
                    pd.testing.assert_frame_equal(got.areas[level], want.areas[level])
                # the analist's lists, cut from the shared cases, equal the lists read from the warehouse
                ref = got.ref
                for name, args in (("points", (p, *area, ref)), ("closures", (ref, *area)),
                                   ("stuck_list", (ref, *area))):
                    listed = shared.hennep_list(path, token, name, *args)
                    pd.testing.assert_frame_equal(listed, getattr(hennep, name)(con, *args))
                    checked_lists += len(listed)
        assert checked_lists > 0  # some points, closures or stuck cases were compared
        pd.testing.assert_frame_equal(cases, hennep.load_cases(con))  # untouched by all those views and lists
    finally:
        con.close()


def _rows_first(con) -> tuple[str, str]:
    return con.execute("SELECT wijkcode, buurtcode FROM buurten ORDER BY buurtcode LIMIT 1").fetchone()

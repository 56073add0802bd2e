"""Signals (veiligheid.signals): the test, the FDR control, the change point, the sentence, the data."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from conftest import write
from pipelines.ingest import run_ingest
from veiligheid import signals as S
from veiligheid.disclosure import Policy
from veiligheid.warehouse import connect_readonly

FIRST_MONDAY = dt.date(2025, 1, 6)
N_WEEKS = 65  # 52 weeks of baseline + 13 recent weeks
RECENT = 13
N_WIJK, N_THEMA = 40, 15


# ---------------------------------------------------------------- generated series
def base_rates(rng: np.random.Generator) -> np.ndarray:
    """Weekly rates per combination (40 x 15), log-uniform from 0.05 to 5 a week: sparse and busy."""
    return np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=N_WIJK * N_THEMA))


def frame(counts: np.ndarray) -> pd.DataFrame:
    """Long weekly frame (wijk, wijk_naam, thema, week, n) from a combinations x weeks matrix."""
    combos, weeks = counts.shape
    i = np.repeat(np.arange(combos), weeks)
    mondays = pd.to_datetime([FIRST_MONDAY + dt.timedelta(weeks=k) for k in range(weeks)])
    return pd.DataFrame({
        "wijk": [f"BU{c // N_THEMA:04d}" for c in i],
        "wijk_naam": [f"Wijk {c // N_THEMA}" for c in i],
        "thema": [f"Thema {c % N_THEMA}" for c in i],
        "week": np.tile(mondays, combos),
        "n": counts.reshape(-1).astype("int64"),
    })


def simulate(seed: int, changes: dict[int, tuple[int, float]] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Poisson counts; changes: {combination: (first changed week index, factor)}."""
    rng = np.random.default_rng(seed)
    rates = np.repeat(base_rates(rng)[:, None], N_WEEKS, axis=1)
    for c, (week, factor) in (changes or {}).items():
        rates[c, week:] *= factor
    return frame(rng.poisson(rates)), rates


def key(c: int) -> tuple[str, str]:
    return f"BU{c // N_THEMA:04d}", f"Thema {c % N_THEMA}"


def found(sig: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(sig["wijk"], sig["thema"]))


# ---------------------------------------------------------------- the building blocks, by hand
def test_exact_poisson_rate_test_by_hand():
    # 5 recent, 1 baseline, recent share 1/4: P(X >= 5 | n = 6) = 6 * .25^5 * .75 + .25^6 = 0.004638671875
    p = S.poisson_rate_pvalues(np.array([5, 0, 2]), np.array([1, 0, 6]), 0.25)
    assert p[0] == pytest.approx(2 * 0.004638671875)
    assert p[1] == 1.0  # nothing at all: nothing to test
    # 2 of 8 with share 1/4 is exactly the expectation: both tails are above 1/2
    assert p[2] == 1.0


def test_benjamini_hochberg_by_hand():
    # sorted .005 .01 .03 .04 -> x 4/rank = .02 .02 .04 .04 (already monotone)
    q = S.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005]))
    assert q == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # step-up: a larger p at a later rank lowers the earlier q (min over the tail)
    assert S.benjamini_hochberg(np.array([0.02, 0.021])) == pytest.approx([0.021, 0.021])


def test_change_point_on_a_known_series():
    # 2 a week, then 6 a week from week 57: segment from 57 has LLR 48 ln 3 - 32 = 20.7, from 56: 19.1, from 58: 18.1
    x = np.array([2.0] * 57 + [6.0] * 8)
    assert S.change_point(x, 2.0, +1, 52) == 57
    drop = np.array([8.0] * 55 + [2.0] * 10)
    assert S.change_point(drop, 8.0, -1, 52) == 55
    # a change before the window: the run starts at the first recent week
    assert S.change_point(np.array([2.0] * 40 + [6.0] * 25), 2.0, +1, 52) == 52


# ---------------------------------------------------------------- the sentence
def test_sentence_rise_in_dutch():
    s = S.sentence("Hatert", "Woninginbraak", 14, 5.3, 13, dt.date(2026, 9, 14), +1)
    assert s == ("Wijk Hatert: woninginbraak gestegen sinds week 38 (14-09-2026): 14 in de laatste 13 weken, "
                 "verwacht 5,3 (2,6 keer zo veel).")


def test_sentence_fall_small_rise_and_new():
    d = dt.date(2026, 10, 5)  # week 41
    assert S.sentence("Altrade", "Auto-inbraken", 3, 12.0, 13, d, -1) == (
        "Wijk Altrade: auto-inbraken gedaald sinds week 41 (05-10-2026): 3 in de laatste 13 weken, "
        "verwacht 12,0 (75% minder).")
    assert S.sentence("Lent", "Fietsdiefstal", 1500, 1000.0, 13, d, +1).endswith(
        "1.500 in de laatste 13 weken, verwacht 1.000,0 (50% meer).")
    assert S.sentence("Lent", "Overvallen", 6, 0.4, 13, d, +1).endswith("verwacht 0,4 (eerder vrijwel nooit).")
    assert S.sentence("Lent", "Overvallen", 6, 0.0, 13, d, +1).endswith("verwacht 0,0 (eerder niet).")
    assert S.sentence("Lent", "HIC", 9, 3.0, 13, d, +1).startswith("Wijk Lent: HIC gestegen")


# ---------------------------------------------------------------- the method on generated series
def test_pure_noise_gives_few_signals_at_the_stated_fdr():
    """600 combinations without any change, 20 seeds: every signal is false.

    Under the complete null the false discovery proportion is 1 when anything is reported and 0
    otherwise, so its mean is the chance of a false alarm, which BH keeps at or below fdr.
    """
    fdp, counts = [], []
    for seed in range(20):
        weekly, _ = simulate(seed)
        sig = S.detect(weekly, RECENT, fdr=0.10)
        assert sig.attrs["tested"] == N_WIJK * N_THEMA and sig.attrs["fdr"] == 0.10
        counts.append(len(sig))
        fdp.append(1.0 if len(sig) else 0.0)
    assert np.mean(fdp) <= 0.10 + 0.05, counts
    assert max(counts) <= 3, counts
    assert sum(c == 0 for c in counts) >= 16, counts


def test_fdr_controlled_with_real_changes_among_noise():
    """30 true changes (rate x3 or /3 from a known week) among 600: false share of the reported <= fdr."""
    fdps, power = [], []
    for seed in range(10):
        rng = np.random.default_rng(1000 + seed)
        rates = base_rates(np.random.default_rng(seed))
        busy = np.flatnonzero(rates >= 1.0)
        chosen = rng.choice(busy, size=30, replace=False)
        changes = {int(c): (int(rng.integers(54, 58)), 3.0 if k % 2 == 0 else 1 / 3) for k, c in enumerate(chosen)}
        weekly, _ = simulate(seed, changes)
        sig = S.detect(weekly, RECENT, fdr=0.10)
        truth = {key(c) for c in changes}
        got = found(sig)
        fdps.append(len(got - truth) / max(len(got), 1))
        power.append(len(got & truth) / len(truth))
    assert np.mean(fdps) <= 0.10 + 0.03, fdps
    assert np.mean(power) >= 0.5, power  # x3 or /3 over 6-11 of the 13 recent weeks, rates from 1 to 5 a week


@pytest.mark.parametrize("seed", range(5))
def test_injected_rise_is_found_with_its_start(seed):
    c, week = 123, 56  # rate x3 from week 56 (the last 9 of the 13 recent weeks)
    weekly, rates = simulate(seed, {c: (week, 3.0)})
    # give the combination a known rate: 3 a week, then 9
    rng = np.random.default_rng(seed + 99)
    series = rng.poisson(np.r_[np.full(week, 3.0), np.full(N_WEEKS - week, 9.0)])
    weekly.loc[(weekly["wijk"] == key(c)[0]) & (weekly["thema"] == key(c)[1]), "n"] = series
    sig = S.detect(weekly, RECENT, fdr=0.10)
    row = sig[(sig["wijk"] == key(c)[0]) & (sig["thema"] == key(c)[1])]
    assert len(row) == 1, sig[["wijk", "thema", "q"]]
    r = row.iloc[0]
    start = FIRST_MONDAY + dt.timedelta(weeks=week)
    assert r["direction"] == 1 and r["q"] <= 0.10
    assert abs((r["since"] - start).days) <= 14, (r["since"], start)
    assert r["n_recent"] == int(series[-RECENT:].sum())
    assert r["expected"] == pytest.approx(series[:-RECENT].mean() * RECENT)
    assert r["ratio"] == pytest.approx(r["n_recent"] / r["expected"])
    assert " gestegen sinds week " in r["sentence"] and r["sentence"].startswith(f"Wijk Wijk {c // N_THEMA}: thema")
    assert len(sig) <= 4  # the change and at most a few chance findings


@pytest.mark.parametrize("seed", range(5))
def test_injected_drop_is_found_with_its_start(seed):
    c, week = 321, 55  # 8 a week, then 2 from week 55
    weekly, _ = simulate(seed)
    rng = np.random.default_rng(seed + 7)
    series = rng.poisson(np.r_[np.full(week, 8.0), np.full(N_WEEKS - week, 2.0)])
    weekly.loc[(weekly["wijk"] == key(c)[0]) & (weekly["thema"] == key(c)[1]), "n"] = series
    sig = S.detect(weekly, RECENT, fdr=0.10)
    row = sig[(sig["wijk"] == key(c)[0]) & (sig["thema"] == key(c)[1])]
    assert len(row) == 1
    r = row.iloc[0]
    start = FIRST_MONDAY + dt.timedelta(weeks=week)
    assert r["direction"] == -1 and abs((r["since"] - start).days) <= 14
    assert " gedaald sinds week " in r["sentence"] and "% minder)." in r["sentence"]


def test_result_shape_order_and_link():
    weekly, _ = simulate(3, {10: (55, 4.0), 200: (52, 0.1), 400: (60, 5.0)})
    sig = S.detect(weekly, RECENT, fdr=0.10)
    assert list(sig.columns[:11]) == ["wijk", "wijk_naam", "thema", "since", "n_recent", "expected", "ratio",
                                      "direction", "p", "q", "sentence"]
    assert (sig["q"] <= 0.10).all() and sig["q"].is_monotonic_increasing
    assert all(isinstance(d, dt.date) and d.isoweekday() == 1 for d in sig["since"])
    first_recent = FIRST_MONDAY + dt.timedelta(weeks=N_WEEKS - RECENT)
    assert all(d >= first_recent for d in sig["since"])
    end = FIRST_MONDAY + dt.timedelta(weeks=N_WEEKS - 1, days=6)
    r = sig.iloc[0]
    assert r["link"] == (f"dashboards-veiligheid?periode=aangepast&van={r['since'].isoformat()}&tot={end.isoformat()}"
                         f"&thema={r['thema'].replace(' ', '+')}&wijk={r['wijk']}")


def test_too_few_weeks_or_no_data_is_a_message_not_a_crash():
    weekly, _ = simulate(0)
    short = weekly[weekly["week"] < pd.Timestamp(FIRST_MONDAY + dt.timedelta(weeks=38))]
    sig = S.detect(short, RECENT)
    assert sig.empty and sig.attrs["tested"] == 0 and "minstens 39" in sig.attrs["message"]
    empty = S.detect(weekly.iloc[0:0], RECENT)
    assert empty.empty and "Geen gegevens" in empty.attrs["message"]
    # all zeros: everything tested, nothing found
    zeros = S.detect(weekly.assign(n=0), RECENT)
    assert zeros.empty and zeros.attrs["tested"] == N_WIJK * N_THEMA


# ---------------------------------------------------------------- disclosure
def test_protect_signals_drops_small_counts_for_wijkteam():
    since = dt.date(2026, 9, 14)
    sig = pd.DataFrame({"wijk": ["a", "b", "c", "d"], "wijk_naam": ["A", "B", "Hatert", "Lent"],
                        "thema": ["Woninginbraak"] * 3 + ["Fietsdiefstal"], "since": [since] * 4,
                        "direction": [1, -1, 1, -1], "n_recent": [3, 0, 12, 9], "n_baseline": [40, 30, 2, 60],
                        "expected": [10.0, 7.5, 0.5, 15.0], "ratio": [0.3, 0.0, 24.0, 0.6],
                        "p": [0.01] * 4, "q": [0.05] * 4})
    sig["sentence"] = [S.sentence(n, t, r, e, 13, since, d) for n, t, r, e, d in
                       zip(sig["wijk_naam"], sig["thema"], sig["n_recent"], sig["expected"], sig["direction"])]
    sig.attrs.update(tested=99, fdr=0.1)
    shown = S.protect_signals(sig, Policy(5, True))
    # 3 recent: small; 0 recent: zero is shown; baseline 2: small
    assert shown["wijk"].tolist() == ["b", "d"]
    assert shown.attrs["hidden"] == 2 and shown.attrs["tested"] == 99
    # what is shown carries no figure: the overview's tiles are the same counts, and it may hide them
    assert shown["sentence"].tolist() == [
        "Wijk B: woninginbraak gedaald sinds week 38 (14-09-2026), vergeleken met het jaar daarvoor.",
        "Wijk Lent: fietsdiefstal gedaald sinds week 38 (14-09-2026), vergeleken met het jaar daarvoor."]
    assert shown[["n_recent", "n_baseline", "expected", "ratio", "p", "q"]].isna().all().all()
    # a signal says its count is 0 or not small: withheld where the overview hides that count (its tile)
    tiles = S.protect_signals(sig, Policy(5, True), hidden={("d", "Fietsdiefstal"), ("b", "Fietsdiefstal")})
    assert tiles["wijk"].tolist() == ["b"] and tiles.attrs["hidden"] == 3
    cyber = S.protect_signals(sig, Policy(10, True))
    assert cyber["wijk"].tolist() == ["b"] and cyber.attrs["hidden"] == 3
    analist = S.protect_signals(sig, Policy(5, False))
    assert len(analist) == 4 and analist.attrs["hidden"] == 0
    assert analist["sentence"].iloc[3].endswith("9 in de laatste 13 weken, verwacht 15,0 (40% minder).")
    assert sig.attrs.get("hidden") is None and sig["n_recent"].tolist() == [3, 0, 12, 9]  # the input is unchanged


# ---------------------------------------------------------------- weekly counts from a warehouse
def test_weekly_counts_on_a_small_warehouse(env):
    head = "registratienummer;pleegdatum;soort_code;buurtcode;status\n"
    rows = [
        ("A1", "01-11-2024", "1.1.1", "BU02680101", "actief"),     # week 44, Woninginbraak, Stadscentrum
        ("A2", "02-11-2024", "1.1.1", "BU02680101", "actief"),     # week 44
        ("A3", "18-11-2024", "1.2.1", "BU02680100", "actief"),     # week 47 (Monday), Auto-inbraken, Benedenstad
        ("A4", "24-11-2024", "1.2.1", "BU02680100", "actief"),     # week 47 (Sunday)
        ("A5", "20-11-2024", "1.2.1", "BU02680100", "vervallen"),  # withdrawn: never counted
        ("A6", "27-10-2024", "1.1.1", "BU02680101", "actief"),     # week 43 (Sunday): before a 4-week window to week 47
        ("A7", "19-11-2024", "1.1.1", "BU02680202", "actief"),     # another stadsdeel
        ("A9", "12-11-2024", "1.4.5", "BU02680101", "actief"),     # week 46, Geweld
    ]
    write(env.inbox, "incidenten_2024-W47.csv", head + "".join(";".join(r) + "\n" for r in rows))
    res = run_ingest(env)
    assert res.exit_code == 0, [f.reason for f in res.files]
    con = connect_readonly(env.warehouse)
    try:
        n_themes = con.execute("SELECT count(DISTINCT thema) FROM soort_misdrijf").fetchone()[0]
        df = S.weekly_counts(con, "WK026801", dt.date(2024, 11, 24), 4)
        assert list(df.columns) == ["wijk", "wijk_naam", "thema", "week", "n"]
        assert len(df) == 2 * n_themes * 4  # two wijken, every theme, every week, zeros included
        assert str(df["week"].dtype).startswith("datetime64") and df["n"].dtype == "int64"
        assert sorted(df["week"].dt.date.unique()) == [dt.date(2024, 10, 28), dt.date(2024, 11, 4),
                                                       dt.date(2024, 11, 11), dt.date(2024, 11, 18)]
        nz = {(r.wijk, r.thema, r.week.date()): r.n for r in df[df["n"] > 0].itertuples()}
        assert nz == {("BU02680101", "Woninginbraak", dt.date(2024, 10, 28)): 2,
                      ("BU02680100", "Auto-inbraken", dt.date(2024, 11, 18)): 2,
                      ("BU02680101", "Geweld", dt.date(2024, 11, 11)): 1}
        assert set(df["wijk_naam"]) == {"Benedenstad", "Stadscentrum"}
        # a Saturday: week 47 is not complete, so the window ends with week 46 (and takes in week 43)
        sat = S.weekly_counts(con, "WK026801", dt.date(2024, 11, 23), 4)
        nz = {(r.wijk, r.thema, r.week.date()): r.n for r in sat[sat["n"] > 0].itertuples()}
        assert nz == {("BU02680101", "Woninginbraak", dt.date(2024, 10, 21)): 1,
                      ("BU02680101", "Woninginbraak", dt.date(2024, 10, 28)): 2,
                      ("BU02680101", "Geweld", dt.date(2024, 11, 11)): 1}
        # the whole city: the other stadsdeel counts too
        city = S.weekly_counts(con, None, dt.date(2024, 11, 24), 4)
        assert city["n"].sum() == 6
        assert city.loc[city["wijk"] == "BU02680202", "n"].sum() == 1
    finally:
        con.close()

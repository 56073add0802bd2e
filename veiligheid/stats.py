"""Rates, indices and the significance of changes in counts (plain Python, no Streamlit).

A change between two counts is called significant only with an exact conditional test:
given n = a + b events, under "no change in the underlying rate" the number in the current
period is Binomial(n, p) with p = exposure share of the current period (0.5 for equal periods
over the same population). So "2 -> 3 (+50%)" is not news (p = 1.0), "100 -> 150" is (p ~ 0.002).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binom, binomtest

ALPHA = 0.05


def rate_per_1000(count, inhabitants):
    """Count per 1,000 inhabitants; NaN when there are no inhabitants (scalars, arrays or Series)."""
    if np.ndim(count) == 0 and np.ndim(inhabitants) == 0:
        if inhabitants is None or not inhabitants > 0 or count is None:
            return math.nan
        return float(count) * 1000.0 / float(inhabitants)
    cnt = np.asarray(count, dtype="float64")
    inh = np.asarray(inhabitants, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(inh > 0, cnt * 1000.0 / np.where(inh > 0, inh, 1.0), np.nan)
    index = count.index if isinstance(count, pd.Series) else (inhabitants.index if isinstance(inhabitants, pd.Series) else None)
    return pd.Series(out, index=index, dtype="float64") if index is not None else out


def index_vs(rate, reference_rate):
    """Index of a rate against a reference rate: 100 = equal to the reference (e.g. the city average)."""
    ref = float(reference_rate) if reference_rate is not None else math.nan
    if np.ndim(rate) == 0:
        if rate is None or not ref > 0:
            return math.nan
        return float(rate) * 100.0 / ref
    r = rate.astype("float64") if isinstance(rate, pd.Series) else np.asarray(rate, dtype="float64")
    return r * 100.0 / ref if ref > 0 else r * math.nan


def change_fraction(current, previous):
    """(current - previous) / previous; NaN when previous is 0."""
    if previous is None or previous == 0:
        return math.nan
    return (current - previous) / previous


def change_pvalue(current: int, previous: int, current_exposure: float = 1.0, previous_exposure: float = 1.0) -> float:
    """Two-sided exact conditional (binomial) test p-value for a change between two Poisson counts."""
    current, previous = int(current), int(previous)
    n = current + previous
    if n == 0:
        return 1.0
    total = current_exposure + previous_exposure
    p = current_exposure / total if total > 0 else 0.5
    return float(binomtest(current, n, p).pvalue)


@dataclass(frozen=True)
class Change:
    current: int
    previous: int
    fraction: float  # NaN when previous == 0
    pvalue: float
    significant: bool

    @property
    def direction(self) -> int:
        """+1 significant rise, -1 significant fall, 0 no significant change."""
        if not self.significant:
            return 0
        return 1 if self.current > self.previous else -1


def compare(current: int, previous: int, current_exposure: float = 1.0, previous_exposure: float = 1.0,
            alpha: float = ALPHA) -> Change:
    pv = change_pvalue(current, previous, current_exposure, previous_exposure)
    # compare rates, so periods of unequal length (leap days) stay fair
    if previous_exposure > 0 and current_exposure > 0 and previous > 0:
        frac = (current / current_exposure) / (previous / previous_exposure) - 1
    else:
        frac = math.nan
    return Change(int(current), int(previous), frac, pv, pv < alpha)


def binom_two_sided(k, n, p) -> np.ndarray:
    """`scipy.stats.binomtest(k, n, p).pvalue` (two-sided) for arrays, with the same algorithm and the same
    floating-point steps, so the same values (tests/test_stats.py compares them). scipy's version is scalar:
    a binary search of up to ~20 pmf calls per count, with argument checks each time; for the area tables of
    a large warehouse (44 wijken x 2 comparisons of counts in the thousands) that took two thirds of a page's
    query time. Here each step of the search is one vectorised pmf call for all counts at once."""
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    p = np.broadcast_to(np.asarray(p, dtype="float64"), k.shape).copy()
    out = np.ones(k.shape)
    if k.size == 0:
        return out
    d = binom.pmf(k, n, p)
    rerr = 1 + 1e-7
    pn = p * n
    low, high = k < pn, k > pn  # k == p * n: 1.0 (scipy's shortcut)
    # below the mode: search the upper side, lo = ceil(pn), hi = n, on a(x) = -pmf(x) against -d * rerr
    # above the mode: search the lower side, lo = 0, hi = floor(pn), on a(x) = pmf(x) against d * rerr
    sign = np.where(low, -1.0, 1.0)
    lo = np.where(low, np.ceil(pn), 0.0)
    hi = np.where(low, n, np.floor(pn))
    target = sign * d * rerr
    active = low | high
    found = np.zeros(k.shape, dtype=bool)
    ix = np.zeros(k.shape)
    while True:
        todo = active & ~found & (lo < hi)
        if not todo.any():
            break
        mid = lo + (hi - lo) // 2
        midval = np.where(todo, sign * binom.pmf(mid, n, p), 0.0)
        less, more = todo & (midval < target), todo & (midval > target)
        hit = todo & ~less & ~more
        lo = np.where(less, mid + 1, lo)
        hi = np.where(more, mid - 1, hi)
        ix = np.where(hit, mid, ix)
        found |= hit
    rest = active & ~found
    ix = np.where(rest, np.where(sign * binom.pmf(lo, n, p) <= target, lo, lo - 1), ix)
    y_low = n - ix + (d * rerr == binom.pmf(ix, n, p)).astype("float64")
    p_low = binom.cdf(k, n, p) + binom.sf(n - y_low, n, p)
    y_high = ix + 1
    p_high = binom.cdf(y_high - 1, n, p) + binom.sf(k - 1, n, p)
    out = np.where(low, p_low, np.where(high, p_high, out))
    return np.minimum(1.0, out)


def compare_columns(current: pd.Series, previous: pd.Series, current_exposure: float = 1.0,
                    previous_exposure: float = 1.0, alpha: float = ALPHA) -> pd.DataFrame:
    """Vectorised `compare` over aligned Series: columns verandering (fraction), p, significant, richting."""
    cur = current.fillna(0).to_numpy().astype("int64")
    prev = previous.fillna(0).to_numpy().astype("int64")
    n = cur + prev
    total = current_exposure + previous_exposure
    share = current_exposure / total if total > 0 else 0.5
    pv = np.ones(len(cur))
    some = n > 0
    pv[some] = binom_two_sided(cur[some], n[some], share)
    if previous_exposure > 0 and current_exposure > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(prev > 0, (cur / current_exposure) / (prev / previous_exposure) - 1, np.nan)
    else:
        frac = np.full(len(cur), np.nan)
    significant = pv < alpha
    return pd.DataFrame({
        "verandering": frac,
        "p": pv,
        "significant": significant,
        "richting": np.where(significant, np.where(cur > prev, 1, -1), 0),
    }, index=current.index)


def moving_average(values: pd.Series, window: int = 4) -> pd.Series:
    """Trailing moving average; NaN until `window` values are available."""
    return values.rolling(window, min_periods=window).mean()

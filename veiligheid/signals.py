"""Signals: which wijk x theme combinations changed beyond chance ("what changed in your stadsdeel").

Plain Python, no Streamlit. The method, in words a wijkteam can follow:

1. Weekly counts per wijk x theme (`weekly_counts`), zeros included.
2. For every combination: the last `recent_weeks` weeks ("recent") against all earlier weeks
   ("baseline"). Under "no change" the recent count, given the total of recent + baseline, is
   Binomial(total, p) with p = recent weeks / all weeks: the exact conditional test of two Poisson
   rates (the same test as veiligheid.stats, two-sided by doubling the smaller tail). Small counts
   are handled exactly: 0 -> 2 is never news.
3. Many combinations are tested at once (wijken x themes), so chance alone would give "changes".
   Benjamini-Hochberg over ALL tested combinations keeps the expected share of false signals
   among the reported ones at or below `fdr` (default 10 %).
4. "Since when": for a signal, the start of the run of weeks that carries the change, the
   maximum-likelihood change point of a Poisson rate (a one-sided CUSUM/GLR statistic against the
   baseline rate), searched inside the recent window.

The weekly series are assumed Poisson around a constant baseline; seasonality and real
overdispersion make this optimistic, which is why the default window is a full quarter and the
baseline at least half a year.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from scipy.stats import binom

from . import filters as F
from . import fmt
from .disclosure import Policy
from .queries import _df, day_counts

MIN_BASELINE_WEEKS = 26
OVERVIEW_PATH = "dashboards-veiligheid"  # url_path of the overview page in app.py
COLUMNS = ["wijk", "wijk_naam", "thema", "since", "n_recent", "expected", "ratio", "direction", "p", "q",
           "sentence", "n_baseline", "baseline_weeks", "link"]


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.isoweekday() - 1)


def last_full_week(last_day: dt.date) -> dt.date:
    """Monday of the last complete ISO week ending on or before `last_day` (a Sunday closes its own week)."""
    monday = _monday(last_day)
    return monday if last_day.isoweekday() == 7 else monday - dt.timedelta(weeks=1)


# ------------------------------------------------------------------ data
def weekly_counts(con, stadsdeel: str | None, last_day: dt.date, weeks: int) -> pd.DataFrame:
    """Incident counts per wijk (buurtcode) of the stadsdeel (wijkcode) x thema x ISO week.

    The `weeks` full weeks ending with the last complete week on or before `last_day` (when
    `last_day` is a Sunday that is its own week; an incomplete last week would look like a drop).
    Withdrawn incidents (status 'vervallen') are left out; incidents placed only on a stadsdeel (no
    buurtcode) cannot count for a wijk and are left out too. Every wijk x thema x week is present
    (zeros filled in); themes are all themes of soort_misdrijf. stadsdeel None: all wijken of the city.

    Columns: wijk, wijk_naam, thema, week (datetime64, Monday), n (int64).
    """
    weeks = int(weeks)
    if weeks < 1:
        raise ValueError("weeks moet minstens 1 zijn")
    last_monday = last_full_week(last_day)
    first_monday = last_monday - dt.timedelta(weeks=weeks - 1)
    last_sunday = last_monday + dt.timedelta(days=6)
    area = "b.wijkcode = ?" if stadsdeel else "TRUE"
    iarea = "d.wijkcode = ?" if stadsdeel else "TRUE"
    aparams = [stadsdeel] if stadsdeel else []
    df = _df(con, f"""
        WITH wk AS (
            SELECT CAST(w AS DATE) AS week
            FROM range(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 7 DAY) t(w)),
        bu AS (SELECT b.buurtcode AS wijk, b.buurtnaam AS wijk_naam FROM buurten b WHERE {area}),
        th AS (SELECT DISTINCT thema FROM soort_misdrijf),
        c AS (
            SELECT d.buurtcode AS wijk, d.thema, CAST(date_trunc('week', d.pleegdatum) AS DATE) AS week,
                   sum(d.n) AS n
            FROM {day_counts(con)} d
            WHERE {iarea} AND d.buurtcode IS NOT NULL AND d.pleegdatum BETWEEN ? AND ?
            GROUP BY 1, 2, 3)
        SELECT bu.wijk, bu.wijk_naam, th.thema, wk.week, coalesce(c.n, 0) AS n
        FROM bu CROSS JOIN th CROSS JOIN wk
        LEFT JOIN c ON c.wijk = bu.wijk AND c.thema = th.thema AND c.week = wk.week
        ORDER BY bu.wijk_naam, bu.wijk, th.thema, wk.week""",
             [first_monday, last_monday, *aparams, *aparams, first_monday, last_sunday])
    df["week"] = pd.to_datetime(df["week"])
    df["n"] = df["n"].astype("int64")
    return df


# ------------------------------------------------------------------ statistics
def poisson_rate_pvalues(recent: np.ndarray, baseline: np.ndarray, share: float) -> np.ndarray:
    """Two-sided exact conditional p-values: recent | recent + baseline ~ Binomial(total, share).

    Two-sided by doubling the smaller tail (capped at 1); a total of 0 gives 1.
    """
    k = np.asarray(recent, dtype="int64")
    n = k + np.asarray(baseline, dtype="int64")
    lower = binom.cdf(k, n, share)  # P(X <= k)
    upper = binom.sf(k - 1, n, share)  # P(X >= k)
    p = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    return np.where(n == 0, 1.0, p)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values): reject all with q <= fdr to control the FDR at fdr."""
    p = np.asarray(p, dtype="float64")
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def change_point(counts: np.ndarray, baseline_rate: float, direction: int, first: int) -> int:
    """Index (>= first) where the run of weeks that carries the change starts.

    The maximum-likelihood change point of a Poisson rate from `baseline_rate` to a free rate for
    the weeks [tau, end]: the tau in [first, end] with the largest log-likelihood ratio
        S log(S / (L mu0)) - (S - L mu0)     (S = count, L = weeks of the segment, mu0 = baseline rate)
    among the segments whose rate lies on the side of `direction` (+1 above, -1 below mu0).
    """
    x = np.asarray(counts, dtype="float64")
    end = len(x)
    mu0 = max(float(baseline_rate), 1e-9)
    best, best_tau = -math.inf, first
    tail = np.cumsum(x[::-1])[::-1]  # tail[t] = sum(x[t:])
    for tau in range(first, end):
        s, length = float(tail[tau]), end - tau
        expected = length * mu0
        if direction > 0 and s <= expected or direction < 0 and s >= expected:
            continue
        llr = (s * math.log(s / expected) if s > 0 else 0.0) - (s - expected)
        if llr > best + 1e-12:
            best, best_tau = llr, tau
    return best_tau


# ------------------------------------------------------------------ text
def _theme_word(thema: str) -> str:
    """'Woninginbraak' -> 'woninginbraak' (acronyms such as 'HIC' stay)."""
    if len(thema) > 1 and thema[:2].isupper():
        return thema
    return thema[:1].lower() + thema[1:]


def sentence(wijk_naam: str, thema: str, n_recent: int, expected: float, recent_weeks: int, since: dt.date,
             direction: int, *, min_expected: float = 1.0) -> str:
    """One Dutch sentence: what changed, how much and since when.

    'Wijk Hatert: woninginbraak gestegen sinds week 38 (14-09-2026): 14 in de laatste 13 weken,
    verwacht 5,3 (2,6 keer zo veel).'
    """
    verb = "gestegen" if direction > 0 else "gedaald"
    week = since.isocalendar()[1]
    head = (f"Wijk {wijk_naam}: {_theme_word(thema)} {verb} sinds week {week} ({fmt.date(since)}): "
            f"{fmt.integer(n_recent)} in de laatste {fmt.integer(recent_weeks)} weken, "
            f"verwacht {fmt.number(expected, 1)}")
    if expected <= 0 or (direction > 0 and expected < min_expected):
        how = "eerder vrijwel nooit" if expected > 0 else "eerder niet"
    else:
        ratio = n_recent / expected
        if direction > 0 and ratio >= 2:
            how = f"{fmt.number(ratio, 1)} keer zo veel"
        elif direction > 0:
            how = f"{fmt.integer(round((ratio - 1) * 100))}% meer"
        else:
            how = f"{fmt.integer(round((1 - ratio) * 100))}% minder"
    return f"{head} ({how})."


def sentence_without_counts(wijk_naam: str, thema: str, since: dt.date, direction: int) -> str:
    """The sentence for a viewer under disclosure control: what changed and since when, no figures.

    'Wijk Hatert: woninginbraak gestegen sinds week 38 (14-09-2026), vergeleken met het jaar daarvoor.'
    """
    verb = "gestegen" if direction > 0 else "gedaald"
    return (f"Wijk {wijk_naam}: {_theme_word(thema)} {verb} sinds week {since.isocalendar()[1]} "
            f"({fmt.date(since)}), vergeleken met het jaar daarvoor.")


def overview_link(wijk: str, thema: str, start: dt.date, end: dt.date) -> str:
    """Relative link to the overview page filtered on this wijk, theme and period (the app's URL form)."""
    state = F.FilterState(preset="aangepast", start=start, end=end, themes=(thema,), wijk=wijk, level="wijk")
    return f"{OVERVIEW_PATH}?{urlencode(F.to_params(state))}"


# ------------------------------------------------------------------ detection
def _empty(tested: int, fdr: float, message: str | None = None) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    df.attrs.update(tested=tested, fdr=fdr)
    if message:
        df.attrs["message"] = message
    return df


def detect(weekly: pd.DataFrame, recent_weeks: int = 13, fdr: float = 0.10, min_expected: float = 1.0) -> pd.DataFrame:
    """The wijk x theme combinations whose last `recent_weeks` weeks differ from their own baseline.

    weekly: as from `weekly_counts` (wijk, wijk_naam, thema, week, n; every combination with every
    week). Needs at least recent_weeks + 26 weeks; otherwise (and for empty input) the result is
    empty with a Dutch reason in attrs["message"]. Every combination is tested and counts for the
    FDR, however sparse; min_expected only changes the wording: a rise from an expectation below it
    says "eerder vrijwel nooit" instead of a ratio (a ratio against 0,2 is not a meaningful number).

    Returns only the signals (q <= fdr), sorted by q, then by |log ratio| (largest first).
    Columns: wijk, wijk_naam, thema, since (date, Monday), n_recent, expected (baseline rate x
    recent weeks), ratio (recent rate / baseline rate; inf when the baseline is 0), direction (+1/-1),
    p, q, sentence, n_baseline, baseline_weeks, link (relative URL of the overview page, filtered).
    attrs: tested (combinations tested, also the non-significant ones), fdr, recent_weeks, end (last day).
    """
    if weekly is None or weekly.empty:
        return _empty(0, fdr, "Geen gegevens om signalen te zoeken.")
    recent_weeks = int(recent_weeks)
    weeks = np.sort(pd.to_datetime(weekly["week"]).unique())
    if recent_weeks < 1 or len(weeks) < recent_weeks + MIN_BASELINE_WEEKS:
        return _empty(0, fdr, f"Te weinig weken om signalen te zoeken: nodig zijn er minstens "
                              f"{recent_weeks + MIN_BASELINE_WEEKS} ({recent_weeks} recent en "
                              f"{MIN_BASELINE_WEEKS} om mee te vergelijken), er zijn er {len(weeks)}.")
    # one row per combination, one column per week (missing weeks count as zero)
    keys = ["wijk", "wijk_naam", "thema"]
    wide = (weekly.assign(week=pd.to_datetime(weekly["week"]),
                          wijk_naam=weekly["wijk_naam"].fillna(weekly["wijk"]).astype(str))
            .pivot_table(index=keys, columns="week", values="n", aggfunc="sum", fill_value=0)
            .reindex(columns=weeks, fill_value=0))
    x = wide.to_numpy(dtype="float64")
    n_weeks = x.shape[1]
    base_weeks = n_weeks - recent_weeks
    recent = x[:, base_weeks:].sum(axis=1)
    baseline = x[:, :base_weeks].sum(axis=1)
    share = recent_weeks / n_weeks
    p = poisson_rate_pvalues(recent, baseline, share)
    q = benjamini_hochberg(p)
    tested = len(p)
    rate0 = baseline / base_weeks
    expected = rate0 * recent_weeks
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, recent / np.where(expected > 0, expected, 1), np.inf)
    direction = np.where(recent > expected, 1, -1)
    hit = np.flatnonzero(q <= fdr)
    end = pd.Timestamp(weeks[-1]).date() + dt.timedelta(days=6)
    if hit.size == 0:
        out = _empty(tested, fdr)
        out.attrs.update(recent_weeks=recent_weeks, end=end)
        return out
    rows = []
    for i in hit:
        wijk, naam, thema = wide.index[i]
        # a rate of zero in the baseline: half an event over the baseline, so the change point is defined
        mu0 = rate0[i] if rate0[i] > 0 else 0.5 / base_weeks
        tau = change_point(x[i], mu0, int(direction[i]), base_weeks)
        since = pd.Timestamp(weeks[tau]).date()
        rows.append({
            "wijk": wijk, "wijk_naam": naam, "thema": thema, "since": since,
            "n_recent": int(recent[i]), "expected": float(expected[i]), "ratio": float(ratio[i]),
            "direction": int(direction[i]), "p": float(p[i]), "q": float(q[i]),
            "sentence": sentence(naam, thema, int(recent[i]), float(expected[i]), recent_weeks, since,
                                 int(direction[i]), min_expected=min_expected),
            "n_baseline": int(baseline[i]), "baseline_weeks": int(base_weeks),
            "link": overview_link(wijk, thema, since, end),
        })
    out = pd.DataFrame(rows, columns=COLUMNS)
    lr = np.abs(np.log(out["ratio"].where(out["ratio"] > 0, np.nan).astype("float64")))
    out = (out.assign(_abs=lr.fillna(np.inf)).sort_values(["q", "_abs"], ascending=[True, False], kind="mergesort")
           .drop(columns="_abs").reset_index(drop=True))
    out.attrs.update(tested=tested, fdr=fdr, recent_weeks=recent_weeks, end=end)
    return out


# ------------------------------------------------------------------ disclosure
def protect_signals(signals: pd.DataFrame, policy: Policy, hidden: Collection = ()) -> pd.DataFrame:
    """Drop (never show) signals whose counts are small for this viewer, and show the others without figures.

    With an active policy a signal is withheld when its recent count is 1 .. threshold - 1, or when
    its baseline count is. Zero stays shown ("nothing happened" is not about a person). attrs["hidden"]
    says how many were withheld; the other attrs are kept.

    The rest is shown without its counts (`sentence_without_counts`; the count columns, the expected count,
    the ratio and the p-values become NaN): a signal's counts are the same figures as the overview's tiles
    (its 13 weeks are the tile "laatste 13 weken" whenever the last day with data is a Sunday; its baseline is
    the 52-week tile minus the 13-week tile plus the 13-week tile a year earlier), and of other crimes there,
    which that page protects together as one remainder. A count shown here could give a figure away that
    the overview hides. The signal's button opens the overview, which shows the counts it can.
    hidden: (wijk, thema) pairs whose counts meet tiles the overview hides (its 13-week priority tile is the
    signal's 13 weeks when the data end on a Sunday; the baseline is a sum of tiles): those signals are
    withheld too, since a signal is only shown for counts that are 0 or not small, and would say so of them.
    """
    out = signals.copy()
    out.attrs = dict(signals.attrs)
    if not policy.active or signals.empty:
        out.attrs["hidden"] = 0
        return out
    small = signals["n_recent"].map(policy.small).astype(bool)
    if "n_baseline" in signals:
        small |= signals["n_baseline"].map(policy.small).astype(bool)
    if hidden and "thema" in signals:
        hidden = set(hidden)
        small |= pd.Series([(w, t) in hidden for w, t in zip(signals["wijk"], signals["thema"])],
                           index=signals.index)
    out = out[~small].reset_index(drop=True)
    out["sentence"] = [sentence_without_counts(n, t, d, r) for n, t, d, r in
                       zip(out["wijk_naam"], out["thema"], out["since"], out["direction"])]
    for col in ("n_recent", "n_baseline", "expected", "ratio", "p", "q"):
        if col in out:
            out[col] = np.nan
    out.attrs = dict(signals.attrs)
    out.attrs["hidden"] = int(small.sum())
    return out

"""Cybercrime victim profiles: counts, rates, relative risks with intervals, the 2017 check (plain Python).

Victims are counted where they live (`cyber_slachtoffers.wijkcode` / `buurtcode` are the place of
residence: online crime has no crime scene), by the date of the report (`aangiftedatum`).

Statistics
----------
- Rate: victims per 1,000 inhabitants of the group in the chosen period (`stats.rate_per_1000`).
- Relative risk (RR) of a group against the whole area ("the city as a whole"):
  RR = rate_group / rate_area = (a / c) / (n_g / N), with a victims in the group, c victims in the
  area (every victim, also those whose age, sex or education is unknown), n_g inhabitants of the
  group and N inhabitants of the area. So RR = (the group's share of the victims) / (its share of
  the population).
- 95% interval of the RR: exact and conditional on c. If victims arrive as Poisson counts, then
  given the total c the group's count is a ~ Binomial(c, pi) with pi = RR * n_g / N. The
  Clopper-Pearson interval [pi_lo, pi_hi] for pi gives RR in [pi_lo, pi_hi] * N / n_g. It is exact
  for small counts, and it allows for the group being part of the area it is compared with (a
  Katz log-RR interval treats the two rates as independent, which they are not here). The
  population figures are taken as known. An RR is called significant when its interval excludes 1.
- Two groups are compared (for "is 15-24 the *most* vulnerable group?") with the exact conditional
  test: given a1 + a2 victims, a1 ~ Binomial(a1 + a2, n1 / (n1 + n2)) when the rates are equal.

Denominators (see `denominators`): inhabitants per stadsdeel (CBS), men and women per stadsdeel
(CBS), age groups estimated from the CBS percentages per stadsdeel (whole percentages), a wijk's
groups estimated from its stadsdeel's shares. There are no inhabitants per education level, and
none for sex X or unknown values: those groups get counts and shares but no rate and no RR.

Disclosure (`veiligheid.disclosure`, see `protection`): every count the page can show goes through
`protect` together with every relation a reader could use to subtract: the area hierarchy (wijken in
stadsdelen in the city), each profile table with its total, the trend (delict x quarter, years, all
delicts) and, when the period is exactly a set of quarters or years, 'period = sum of those trend
cells'. For roles with an active policy this is done for the city and every stadsdeel at once, with
'city = sum of the stadsdelen' for every figure, so switching the area filter lets nobody subtract
either. A wijk's own profile is shown only unsuppressed (analist, beheer): for a wijkteam the profile
of a wijk is that of its stadsdeel (a wijk x age x education table is never shown). Differences between
two overlapping periods (1-30 June minus 1-29 June) suppression per period cannot prevent: so a wijkteam
picks no free period on the page (views/cybercrime.py), only the presets. Not covered: differences between
presets (13 weeks minus 4 weeks), which the overview page models in blocks.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from scipy.stats import beta, binomtest

from . import disclosure, fmt, stats
from .contract import DELICTEN
from .disclosure import Policy, protect
from .queries import _df  # one cursor per query (the shared read-only connection)

CITY = "__stad__"
ALL = "Alle delicten"
TOTAL = disclosure.TOTAL
UNKNOWN = "onbekend"
ALPHA = 0.05

# (label, lowest age, highest age, CBS kenmerk suffix)
AGE_BANDS = (("0-14", 0, 14, "0_15"), ("15-24", 15, 24, "15_25"), ("25-44", 25, 44, "25_45"),
             ("45-64", 45, 64, "45_65"), ("65+", 65, 200, "65_plus"))
MAX_AGE = 110
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "leeftijd": (*(b[0] for b in AGE_BANDS), UNKNOWN),
    "geslacht": ("M", "V", "X", UNKNOWN),
    "opleiding": ("laag", "middelbaar", "hoog", UNKNOWN),
    "delict": tuple(DELICTEN),
}
DIM_TITLES = {"leeftijd": "Leeftijd", "geslacht": "Geslacht", "opleiding": "Opleidingsniveau", "delict": "Delict"}
VALUE_LABELS = {
    "leeftijd": {**{b[0]: f"{b[0]} jaar" for b in AGE_BANDS}, UNKNOWN: "leeftijd onbekend"},
    "geslacht": {"M": "mannen", "V": "vrouwen", "X": "geslacht X", UNKNOWN: "geslacht onbekend"},
    "opleiding": {"laag": "laagopgeleid", "middelbaar": "middelbaar opgeleid", "hoog": "hoogopgeleid",
                  UNKNOWN: "opleiding onbekend"},
    "delict": {d: d for d in DELICTEN},
}
RR_DIMENSIONS = ("leeftijd", "geslacht", "opleiding")  # groups of people (a delict is not a group)

# how a denominator was obtained (shown in the tables)
D_CBS = "CBS-inwonertal"
D_PCT = "geschat uit afgeronde CBS-percentages"
D_WIJK = "geschat: verdeling van het stadsdeel"
D_NONE = "geen inwonerscijfer"


def label(dim: str, value: str) -> str:
    return VALUE_LABELS.get(dim, {}).get(value, str(value))


# ------------------------------------------------------------------ statistics
def rr_interval(a: int, c: int, pop_group: float, pop_total: float, alpha: float = ALPHA
                ) -> tuple[float, float, float]:
    """RR of a group vs the whole area and its exact conditional (Clopper-Pearson) interval.

    a: victims in the group, c: victims in the area (a <= c), pop_group / pop_total: inhabitants.
    Returns (rr, lo, hi); NaN when there is no victim in the area or no inhabitant in the group.
    """
    if c is None or pop_group is None or pop_total is None:
        return math.nan, math.nan, math.nan
    a, c = int(a), int(c)
    if c <= 0 or not pop_group > 0 or not pop_total > 0 or a < 0 or a > c:
        return math.nan, math.nan, math.nan
    share = float(pop_group) / float(pop_total)
    lo = float(beta.ppf(alpha / 2, a, c - a + 1)) if a > 0 else 0.0
    hi = float(beta.ppf(1 - alpha / 2, a + 1, c - a)) if a < c else 1.0
    return (a / c) / share, lo / share, hi / share


def compare_rates(a1: int, pop1: float, a2: int, pop2: float) -> float:
    """Two-sided exact conditional p-value for 'the two groups have the same rate'."""
    a1, a2 = int(a1), int(a2)
    if a1 + a2 == 0 or not pop1 > 0 or not pop2 > 0:
        return 1.0
    return float(binomtest(a1, a1 + a2, float(pop1) / (float(pop1) + float(pop2))).pvalue)


def share_interval(a: int, n: int, alpha: float = ALPHA) -> tuple[float, float, float]:
    """Share a/n with its Clopper-Pearson interval (NaN when n = 0)."""
    a, n = int(a), int(n)
    if n <= 0:
        return math.nan, math.nan, math.nan
    lo = float(beta.ppf(alpha / 2, a, n - a + 1)) if a > 0 else 0.0
    hi = float(beta.ppf(1 - alpha / 2, a + 1, n - a)) if a < n else 1.0
    return a / n, lo, hi


def protect_cells(values: Mapping[Hashable, float], relations: Sequence[tuple[Hashable, Sequence[Hashable]]],
                  policy: Policy, hide=()) -> set[Hashable]:
    """`disclosure.protect` (kept as a name for this module's callers)."""
    return protect(values, relations, policy, hide)


# ------------------------------------------------------------------ queries
def _active_sql(con) -> str:
    """Withdrawn records leave every count: today the extract has no status column, but if the
    table ever gets one, 'vervallen' rows are left out. (The columns from the table's own description:
    ~0.5 ms, against ~5 ms for information_schema on every call.)"""
    cur = con.cursor()  # never the shared connection itself: other threads query it too
    try:
        cols = {d[0] for d in cur.execute("SELECT * FROM cyber_slachtoffers LIMIT 0").description}
    finally:
        cur.close()
    return "coalesce(c.status, 'actief') <> 'vervallen'" if "status" in cols else "TRUE"


def _age_sql() -> str:
    """Age band from leeftijd, else from geboortejaar and the year of the report; 'onbekend' otherwise."""
    age = "coalesce(c.leeftijd, year(c.aangiftedatum) - c.geboortejaar)"
    whens = " ".join(f"WHEN {age} <= {hi} THEN '{lab}'" for lab, _lo, hi, _ in AGE_BANDS)
    return f"CASE WHEN {age} IS NULL OR {age} < 0 OR {age} > {MAX_AGE} THEN '{UNKNOWN}' {whens} END"


def _code_sql(column: str, allowed: Sequence[str], other: str) -> str:
    values = ", ".join("'" + v.replace("'", "''") + "'" for v in allowed)
    return f"CASE WHEN c.{column} IN ({values}) THEN c.{column} ELSE '{other}' END"


def _area_sql(stadsdeel: str | None, wijk: str | None) -> tuple[str, list]:
    """The victims of an area. The city: every victim placed in a stadsdeel, as in `victim_counts` (the
    key figures, the protection); a victim without one is in no figure at all (counted in the city only, the
    city minus its stadsdelen would show how many there are)."""
    if wijk:
        return "c.buurtcode = ?", [wijk]
    if stadsdeel:
        return "c.wijkcode = ?", [stadsdeel]
    return "c.wijkcode IS NOT NULL", []


def victim_counts(con, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Victims reported in [start, end] per place of residence and profile (aggregated, never rows).

    Columns: stadsdeel (CBS wijkcode), wijk (CBS buurtcode or None), leeftijd, geslacht, opleiding,
    delict, n, n_schade (victims with a schadebedrag), schade (sum of schadebedrag).
    """
    sql = f"""
        SELECT c.wijkcode AS stadsdeel, c.buurtcode AS wijk, {_age_sql()} AS leeftijd,
               {_code_sql('geslacht', ('M', 'V', 'X'), UNKNOWN)} AS geslacht,
               {_code_sql('opleidingsniveau', ('laag', 'middelbaar', 'hoog'), UNKNOWN)} AS opleiding,
               {_code_sql('delict', DELICTEN, 'Overig')} AS delict,
               count(*) AS n, count(c.schadebedrag) AS n_schade, coalesce(sum(c.schadebedrag), 0) AS schade
        FROM cyber_slachtoffers c
        WHERE {_active_sql(con)} AND c.aangiftedatum BETWEEN ? AND ? AND c.wijkcode IS NOT NULL
        GROUP BY ALL"""
    df = _df(con, sql, [start, end])
    df["n"] = df["n"].astype("int64")
    df["n_schade"] = df["n_schade"].astype("int64")
    df["schade"] = df["schade"].astype("float64")
    return df


def damage_medians(con, start: dt.date, end: dt.date, stadsdeel: str | None = None, wijk: str | None = None
                   ) -> dict[str, float]:
    """Median schadebedrag per delict (and TOTAL for all delicts) of victims with an amount.

    One scan: per delict and over all of them (GROUPING SETS; grouping() marks the total's row)."""
    where, params = _area_sql(stadsdeel, wijk)
    df = _df(con, f"""
        SELECT d AS delict, median(bedrag) AS mediaan, grouping(d) = 1 AS totaal
        FROM (SELECT {_code_sql('delict', DELICTEN, 'Overig')} AS d, c.schadebedrag AS bedrag
              FROM cyber_slachtoffers c
              WHERE {_active_sql(con)} AND {where} AND c.aangiftedatum BETWEEN ? AND ?
                    AND c.schadebedrag IS NOT NULL)
        GROUP BY GROUPING SETS ((d), ())""", [*params, start, end])
    is_total = df["totaal"].astype(bool)
    out = dict(zip(df.loc[~is_total, "delict"], df.loc[~is_total, "mediaan"].astype("float64")))
    tot = df.loc[is_total, "mediaan"]
    out[TOTAL] = float(tot.iloc[0]) if len(tot) and not pd.isna(tot.iloc[0]) else math.nan
    return out


def quarterly_counts(con, stadsdeel: str | None = None, wijk: str | None = None) -> pd.DataFrame:
    """Victims per calendar quarter and delict for an area, over all data. Columns jaar, kwartaal, delict, n."""
    where, params = _area_sql(stadsdeel, wijk)
    df = _df(con, f"""
        SELECT year(c.aangiftedatum) AS jaar, quarter(c.aangiftedatum) AS kwartaal,
               {_code_sql('delict', DELICTEN, 'Overig')} AS delict, count(*) AS n
        FROM cyber_slachtoffers c
        WHERE {_active_sql(con)} AND {where} AND c.aangiftedatum IS NOT NULL
        GROUP BY ALL ORDER BY 1, 2, 3""", params)
    for c in ("jaar", "kwartaal", "n"):
        df[c] = df[c].astype("int64")
    return df


def quarterly_counts_by_area(con) -> pd.DataFrame:
    """Victims per stadsdeel, wijk, calendar quarter and delict, over all data (stadsdeel and wijk may be
    None): every area's `quarterly_counts` is a filter and a sum of it. Columns stadsdeel, wijk, jaar,
    kwartaal, delict, n."""
    df = _df(con, f"""
        SELECT c.wijkcode AS stadsdeel, c.buurtcode AS wijk, year(c.aangiftedatum) AS jaar,
               quarter(c.aangiftedatum) AS kwartaal, {_code_sql('delict', DELICTEN, 'Overig')} AS delict,
               count(*) AS n
        FROM cyber_slachtoffers c
        WHERE {_active_sql(con)} AND c.aangiftedatum IS NOT NULL
        GROUP BY ALL ORDER BY 1, 2, 3, 4, 5""")
    for c in ("jaar", "kwartaal", "n"):
        df[c] = df[c].astype("int64")
    return df


def _quarterly_of(q: pd.DataFrame, stadsdeel: str | None = None, wijk: str | None = None) -> pd.Series:
    """An area's counts per (jaar, kwartaal, delict) from `quarterly_counts_by_area`: the same figures as
    `quarterly_counts(con, stadsdeel, wijk)` grouped so. The city is the sum of its stadsdelen (victims
    without a stadsdeel are left out, as in the protected trend cells and the key figures)."""
    if wijk:
        q = q[q["wijk"] == wijk]
    elif stadsdeel:
        q = q[q["stadsdeel"] == stadsdeel]
    else:
        q = q[q["stadsdeel"].notna()]
    return q.groupby(["jaar", "kwartaal", "delict"])["n"].sum()


def data_start(con) -> dt.date | None:
    """First report date of the cyber victims extract (None when it is empty)."""
    v = _df(con, f"SELECT min(c.aangiftedatum) FROM cyber_slachtoffers c WHERE {_active_sql(con)}").iloc[0, 0]
    if v is None or pd.isna(v):
        return None
    return pd.Timestamp(v).date()


# ------------------------------------------------------------------ population
@dataclass
class Population:
    """Reference population: stadsdelen (CBS wijken) with kenmerken, wijken (CBS buurten)."""
    stadsdelen: pd.DataFrame  # code, naam, inwoners + kenmerk columns (pct_*, mannen, vrouwen when present)
    wijken: pd.DataFrame  # code, naam, stadsdeel_code, stadsdeel, inwoners


def population(con) -> Population:
    sd = _df(con, "SELECT wijkcode AS code, stadsdeel AS naam, inwoners FROM wijken ORDER BY stadsdeel")
    wk = _df(con, """SELECT b.buurtcode AS code, b.buurtnaam AS naam, b.wijkcode AS stadsdeel_code, w.stadsdeel,
                            b.inwoners
                     FROM buurten b JOIN wijken w USING (wijkcode) ORDER BY b.buurtnaam""")
    kern = _df(con, "SELECT wijkcode AS code, kenmerk, waarde FROM wijk_kerncijfers")
    if not kern.empty:
        wide = kern.pivot_table(index="code", columns="kenmerk", values="waarde", aggfunc="first")
        keep = [c for c in wide.columns if c.startswith("pct_") or c in ("mannen", "vrouwen")]
        sd = sd.merge(wide[keep], left_on="code", right_index=True, how="left")
    sd["inwoners"] = sd["inwoners"].fillna(0).astype("float64")
    wk["inwoners"] = wk["inwoners"].fillna(0).astype("float64")
    return Population(sd.reset_index(drop=True), wk.reset_index(drop=True))


@dataclass
class Base:
    """What every period and area of one warehouse version share: the population, the first report date
    and the victims per area and quarter. The page computes it once per version (veiligheid.shared);
    `base(con)` when not given."""
    pop: Population
    first: dt.date | None
    quarterly: pd.DataFrame  # quarterly_counts_by_area


def base(con) -> Base:
    return Base(population(con), data_start(con), quarterly_counts_by_area(con))


def _stadsdeel_groups(row: pd.Series) -> dict[tuple[str, str], tuple[float, str]]:
    """Inhabitants per group of one stadsdeel: {(dim, value): (inhabitants, how)}."""
    out: dict[tuple[str, str], tuple[float, str]] = {}
    inw = float(row["inwoners"])
    pcts = [row.get(f"pct_{suffix}") for *_x, suffix in AGE_BANDS]
    if all(p is not None and not pd.isna(p) for p in pcts) and sum(pcts) > 0:
        total = float(sum(pcts))
        for (lab, *_r), p in zip(AGE_BANDS, pcts):
            out[("leeftijd", lab)] = (inw * float(p) / total, D_PCT)  # shares normalised to sum to 1
    for value, kenmerk in (("M", "mannen"), ("V", "vrouwen")):
        v = row.get(kenmerk)
        if v is not None and not pd.isna(v):
            out[("geslacht", value)] = (float(v), D_CBS)
    return out


def denominators(pop: Population, stadsdeel: str | None = None, wijk: str | None = None
                 ) -> tuple[float, dict[tuple[str, str], tuple[float, str]]]:
    """(inhabitants of the area, {(dim, value): (inhabitants, how)}) for the city, a stadsdeel or a wijk.

    A group without a figure is absent (no rate, no RR). A wijk (CBS buurt) has no age or sex figures
    of its own: its inhabitants are split like those of its stadsdeel (an estimate, marked as such).
    Every delict has the whole area as its denominator.
    """
    sd = pop.stadsdelen.set_index("code")
    groups: dict[tuple[str, str], tuple[float, str]] = {}
    if wijk:
        rows = pop.wijken[pop.wijken["code"] == wijk]
        if rows.empty:
            return 0.0, {}
        total = float(rows["inwoners"].iloc[0])
        parent = rows["stadsdeel_code"].iloc[0]
        if parent in sd.index and sd.at[parent, "inwoners"] > 0:
            ps = sd.loc[parent]
            for key, (v, _how) in _stadsdeel_groups(ps).items():
                groups[key] = (v * total / float(ps["inwoners"]), D_WIJK)
    elif stadsdeel:
        if stadsdeel not in sd.index:
            return 0.0, {}
        total = float(sd.at[stadsdeel, "inwoners"])
        groups = _stadsdeel_groups(sd.loc[stadsdeel])
    else:
        total = float(sd["inwoners"].sum())
        per = [_stadsdeel_groups(r) for _, r in sd.iterrows()]
        keys = set().union(*per) if per else set()
        for key in keys:
            if all(key in p for p in per):  # a city figure only when every stadsdeel has one
                groups[key] = (sum(p[key][0] for p in per), per[0][key][1])
    for d in DIMENSIONS["delict"]:
        groups[("delict", d)] = (total, D_CBS)
    return total, groups


# ------------------------------------------------------------------ quarters and years
def _quarter_start(d: dt.date) -> dt.date:
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def buckets(first: dt.date, last: dt.date) -> pd.DataFrame:
    """Quarters and calendar years from `first` to `last`, with the part the data covers.

    Columns: bucket ('2025 K3' or '2025'), soort ('kwartaal'/'jaar'), jaar, kwartaal (0 for years),
    start, eind, volledig (the data covers the whole bucket).
    """
    rows = []
    q = _quarter_start(first)
    while q <= last:
        nq = dt.date(q.year + (q.month == 10), (q.month + 2) % 12 + 1, 1)
        k = (q.month - 1) // 3 + 1
        rows.append((f"{q.year} K{k}", "kwartaal", q.year, k, q, nq - dt.timedelta(days=1)))
        q = nq
    for y in range(first.year, last.year + 1):
        rows.append((str(y), "jaar", y, 0, dt.date(y, 1, 1), dt.date(y, 12, 31)))
    df = pd.DataFrame(rows, columns=["bucket", "soort", "jaar", "kwartaal", "start", "eind"])
    df["volledig"] = (df["start"] >= first) & (df["eind"] <= last)
    return df


def aligned_buckets(b: pd.DataFrame, soort: str, start: dt.date, end: dt.date, first: dt.date, last: dt.date
                    ) -> list[str] | None:
    """The buckets whose data together is exactly the data of the period [start, end], or None.

    Data exists only from `first` to `last`, so a period '1 January to today' is exactly the current
    year bucket. Then the period's counts are a sum of trend counts: a relation for the disclosure check.
    """
    lo, hi = max(start, first), min(end, last)
    if lo > hi:
        return None
    part = b[b["soort"] == soort]
    inside = []
    for _, r in part.iterrows():
        s, e = max(r["start"], first), min(r["eind"], last)
        if s > e:
            continue
        if s >= lo and e <= hi:
            inside.append((s, e, r["bucket"]))
        elif s <= hi and e >= lo:  # partly inside: the period cuts a bucket
            return None
    if not inside:
        return None
    inside.sort()
    if inside[0][0] != lo or inside[-1][1] != hi:
        return None
    return [x[2] for x in inside]


# ------------------------------------------------------------------ the page's figures
@dataclass
class Profile:
    """Everything the cybercrime page shows, already protected for `policy`.

    Hidden counts are NaN with a True in the matching `verborgen` column; rates, shares, RRs and
    intervals derived from them are NaN too.
    """
    policy: Policy
    start: dt.date
    end: dt.date
    area_level: str  # 'stad', 'stadsdeel', 'wijk'
    area_code: str
    area_name: str
    profile_level: str  # the area of the profile tables, trend and damage (a wijkteam sees a wijk's stadsdeel)
    profile_code: str
    profile_name: str
    total: dict  # n, verborgen, inwoners, per_1000 of the selected area
    profile_total: dict  # the same for the profile area
    groups: pd.DataFrame  # dim, waarde, label, n, verborgen, inwoners, noemer, per_1000, aandeel, rr, rr_lo, rr_hi, significant
    damage: pd.DataFrame  # delict (and TOTAL), n, n_schade, mediaan, totaal, verborgen
    trend: pd.DataFrame  # bucket, soort, jaar, kwartaal, delict (ALL too), n, verborgen, volledig
    areas: dict[str, pd.DataFrame]  # 'stadsdeel'/'wijk': code, naam, stadsdeel, inwoners, n, verborgen, per_1000, index
    unknown_wijk: int | None  # victims placed in a stadsdeel only (None = hidden)
    data_first: dt.date | None
    data_last: dt.date
    edu_known: dict = field(default_factory=dict)  # share of 'hoog' among victims with a known level
    hidden_cells: set = field(default_factory=set)  # for tests: what protect() hid
    values: dict = field(default_factory=dict)
    relations: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.profile_total["verborgen"] and self.profile_total["n"] == 0


@dataclass
class Protection:
    """What to hide for one period and policy, for every area at once (so every area filter agrees).

    `values`/`relations` are the count cells and the sums a reader can form; `hidden` the cells to hide.
    Damage cells (victims with an amount per delict, as the count behind totals and medians) are
    separate: `d_values`, `d_relations`, `d_hidden`.
    """
    values: dict = field(default_factory=dict)
    relations: list = field(default_factory=list)
    hidden: set = field(default_factory=set)
    d_values: dict = field(default_factory=dict)
    d_relations: list = field(default_factory=list)
    d_hidden: set = field(default_factory=set)
    unknown_cells: set = field(default_factory=set)


@dataclass
class TrendProtection:
    """The trend cells (stadsdeel x delict x quarter/year, and the city) with their own protection.

    They do not depend on the chosen period, so this is computed once per warehouse version."""
    first: dt.date | None
    last: dt.date
    buckets: pd.DataFrame
    values: dict
    relations: list
    hidden: set


def _area_cells(pop: Population, counts: pd.DataFrame) -> tuple[dict, list, set]:
    """Cells and relations of the area hierarchy: wijken in stadsdelen in the city."""
    by_wijk = counts.groupby("wijk", dropna=True)["n"].sum()
    by_sd = counts.groupby("stadsdeel")["n"].sum()
    unknown = counts[counts["wijk"].isna()].groupby("stadsdeel")["n"].sum()
    values: dict = {("area", CITY): float(counts["n"].sum())}
    relations: list = []
    sd_codes = list(pop.stadsdelen["code"])
    extra_sd = [c for c in by_sd.index if c not in set(sd_codes)]  # victims in a stadsdeel not in the reference
    unknown_cells = set()
    for sd in sd_codes + extra_sd:
        values[("area", sd)] = float(by_sd.get(sd, 0))
        parts = []
        for w in pop.wijken.loc[pop.wijken["stadsdeel_code"] == sd, "code"]:
            values[("area", w)] = float(by_wijk.get(w, 0))
            parts.append(("area", w))
        if unknown.get(sd, 0) > 0:  # placed in a stadsdeel but not in a wijk: never shown on its own
            key = ("area", ("?", sd))
            values[key] = float(unknown[sd])
            parts.append(key)
            unknown_cells.add(key)
        if parts:
            relations.append((("area", sd), parts))
    relations.append((("area", CITY), [("area", sd) for sd in sd_codes + extra_sd]))
    return values, relations, unknown_cells


def _series_cells(code: str, qn: pd.Series, b: pd.DataFrame) -> tuple[dict, list]:
    """Trend cells of one area: delict (and ALL) x quarter and year, with 'ALL = sum of delicts' and
    'year = sum of its quarters'. qn: counts indexed by (jaar, kwartaal, delict)."""
    values, relations = {}, []
    qd = dict(qn.items())  # a dict lookup, not a MultiIndex lookup per cell (~40 ms a profile)
    for bucket, soort, jaar, kwartaal in zip(b["bucket"], b["soort"], b["jaar"], b["kwartaal"]):
        if soort == "kwartaal":
            per = {x: float(qd.get((jaar, kwartaal, x), 0)) for x in DIMENSIONS["delict"]}
        else:
            per = {x: float(sum(qd.get((jaar, k, x), 0) for k in range(1, 5))) for x in DIMENSIONS["delict"]}
        per[ALL] = float(sum(per.values()))
        for d, n in per.items():
            values[("trend", code, d, bucket)] = n
        relations.append((("trend", code, ALL, bucket), [("trend", code, d, bucket) for d in DIMENSIONS["delict"]]))
    for y in b.loc[b["soort"] == "jaar", "jaar"]:
        qs = list(b.loc[(b["soort"] == "kwartaal") & (b["jaar"] == y), "bucket"])
        for d in [*DIMENSIONS["delict"], ALL]:
            relations.append((("trend", code, d, str(y)), [("trend", code, d, x) for x in qs]))
    return values, relations


def trend_protection(con, policy: Policy, data_end: dt.date, base_: Base | None = None) -> TrendProtection:
    """Trend cells of the city and every stadsdeel, protected together ('city = sum of stadsdelen')."""
    bs = base_ if base_ is not None else base(con)
    pop, first = bs.pop, bs.first
    b = buckets(first, data_end) if first is not None else buckets(data_end, data_end).iloc[0:0]
    values: dict = {}
    relations: list = []
    if not b.empty and policy.active:
        qa = bs.quarterly[bs.quarterly["stadsdeel"].notna()]  # victims placed in a stadsdeel
        series = {CITY: qa.groupby(["jaar", "kwartaal", "delict"])["n"].sum()}
        for sd in pop.stadsdelen["code"]:
            series[sd] = qa[qa["stadsdeel"] == sd].groupby(["jaar", "kwartaal", "delict"])["n"].sum()
        for code, qn in series.items():
            v, r = _series_cells(code, qn, b)
            values.update(v)
            relations += r
        sds = list(pop.stadsdelen["code"])
        for bk in b["bucket"]:
            for d in [*DIMENSIONS["delict"], ALL]:
                relations.append((("trend", CITY, d, bk), [("trend", sd, d, bk) for sd in sds]))
    hidden = protect_cells(values, relations, policy) if values else set()
    return TrendProtection(first, data_end, b, values, relations, hidden)


def _subset(counts: pd.DataFrame, code: str, wijk_codes) -> pd.DataFrame:
    if code == CITY:
        return counts
    if code in wijk_codes:
        return counts[counts["wijk"] == code]
    return counts[counts["stadsdeel"] == code]


def protection(con, start: dt.date, end: dt.date, policy: Policy, data_end: dt.date,
               trend: TrendProtection | None = None, base_: Base | None = None,
               counts: pd.DataFrame | None = None) -> Protection:
    """The hidden cells of every figure the page can show for this period, for every area filter at once.

    Cells: the area hierarchy (every wijk and stadsdeel and the city: map, tables, key figures), the
    profile tables (age, sex, education, delict) of the city and every stadsdeel with 'city = sum of
    stadsdelen' per group, and the trend cells (see `trend_protection`). The trend does not depend on
    the period, so usually the two sets of cells share no relation and are protected apart; when the
    period is exactly a set of quarters or years (e.g. this year to date), its counts are sums of trend
    cells and everything is protected in one call, seeded with the trend's own hidden cells.
    Damage is protected by a second call whose cells follow the first (a hidden delict hides its damage).
    `base_` and `counts` (`victim_counts` of the period) may be passed in; they are read, never changed.
    """
    if not policy.active:
        return Protection()
    bs = base_ if base_ is not None else base(con)
    pop = bs.pop
    counts = counts if counts is not None else victim_counts(con, start, end)
    trend = trend if trend is not None else trend_protection(con, policy, data_end, bs)
    values, relations, unknown = _area_cells(pop, counts)
    wijk_codes = set(pop.wijken["code"])
    areas = [CITY, *pop.stadsdelen["code"]]
    for code in areas:
        sub = _subset(counts, code, wijk_codes)
        for dim, levels in DIMENSIONS.items():
            g = sub.groupby(dim)["n"].sum()
            for v in levels:
                values[("dim", code, dim, v)] = float(g.get(v, 0))
            relations.append((("area", code), [("dim", code, dim, v) for v in levels]))
    for dim, levels in DIMENSIONS.items():
        for v in levels:
            relations.append((("dim", CITY, dim, v), [("dim", sd, dim, v) for sd in areas[1:]]))
    align = []
    if trend.first is not None and not trend.buckets.empty:
        for soort in ("kwartaal", "jaar"):
            al = aligned_buckets(trend.buckets, soort, start, end, trend.first, trend.last)
            if al:
                for code in areas:
                    align.append((("area", code), [("trend", code, ALL, x) for x in al]))
                    for d in DIMENSIONS["delict"]:
                        align.append((("dim", code, "delict", d), [("trend", code, d, x) for x in al]))
    if align:
        values = {**values, **trend.values}
        relations = [*relations, *trend.relations, *align]
        hidden = protect_cells(values, relations, policy, hide=unknown | trend.hidden)
    else:
        hidden = protect_cells(values, relations, policy, hide=unknown) | trend.hidden
        values = {**values, **trend.values}
        relations = [*relations, *trend.relations]

    d_values: dict = {}
    d_rels: list = []
    d_hide = set()
    for code in areas:
        sub = _subset(counts, code, wijk_codes)
        g = sub.groupby("delict")["n_schade"].sum()
        for d in DIMENSIONS["delict"]:
            d_values[("schade", code, d)] = float(g.get(d, 0))
            if ("dim", code, "delict", d) in hidden:
                d_hide.add(("schade", code, d))
        d_values[("schade", code, TOTAL)] = float(sub["n_schade"].sum())
        if ("area", code) in hidden:
            d_hide.add(("schade", code, TOTAL))
        d_rels.append((("schade", code, TOTAL), [("schade", code, d) for d in DIMENSIONS["delict"]]))
    for d in [*DIMENSIONS["delict"], TOTAL]:
        d_rels.append((("schade", CITY, d), [("schade", sd, d) for sd in areas[1:]]))
    d_hidden = protect_cells(d_values, d_rels, policy, hide=d_hide)
    return Protection(values, relations, hidden, d_values, d_rels, d_hidden, unknown)


def build(con, start: dt.date, end: dt.date, stadsdeel: str | None, wijk: str | None, policy: Policy,
          data_end: dt.date, prot: Protection | None = None, base_: Base | None = None,
          counts: pd.DataFrame | None = None) -> Profile:
    """All figures of the page for a period and area, protected for `policy` (see `protection`).

    `prot` may be passed in (the page caches it per period); it does not depend on the area. So may the
    version's `base_` and the period's `counts` (`victim_counts`); they are read, never changed.
    """
    bs = base_ if base_ is not None else base(con)
    pop, first = bs.pop, bs.first
    counts = counts if counts is not None else victim_counts(con, start, end)
    prot = prot if prot is not None else protection(con, start, end, policy, data_end, base_=bs, counts=counts)
    hidden, d_hidden = prot.hidden, prot.d_hidden
    sd_names = dict(zip(pop.stadsdelen["code"], pop.stadsdelen["naam"]))
    wijk_names = dict(zip(pop.wijken["code"], pop.wijken["naam"]))
    wijk_parent = dict(zip(pop.wijken["code"], pop.wijken["stadsdeel_code"]))
    if wijk and wijk in wijk_parent:
        stadsdeel = wijk_parent[wijk]
    if wijk:
        area_level, area_code, area_name = "wijk", wijk, f"wijk {wijk_names.get(wijk, wijk)}"
    elif stadsdeel:
        area_level, area_code, area_name = "stadsdeel", stadsdeel, f"stadsdeel {sd_names.get(stadsdeel, stadsdeel)}"
    else:
        area_level, area_code, area_name = "stad", CITY, "de hele stad"
    if wijk and policy.active:  # a wijkteam never sees a wijk's profile: that of its stadsdeel instead
        p_level, p_code, p_name = "stadsdeel", stadsdeel, f"stadsdeel {sd_names.get(stadsdeel, stadsdeel)}"
    else:
        p_level, p_code, p_name = area_level, area_code, area_name
    sub = _subset(counts, p_code, set(wijk_parent))

    n_by_area = {CITY: float(counts["n"].sum()), **counts.groupby("stadsdeel")["n"].sum().astype(float).to_dict(),
                 **counts.groupby("wijk", dropna=True)["n"].sum().astype(float).to_dict()}

    def area_n(code) -> tuple[float, bool]:
        if ("area", code) in hidden:
            return math.nan, True
        return n_by_area.get(code, 0.0), False

    # ---- key figures
    inw_area, _ = denominators(pop, stadsdeel if area_level != "stad" else None, wijk if area_level == "wijk" else None)
    n_area, h_area = area_n(area_code)
    total = {"n": n_area, "verborgen": h_area, "inwoners": inw_area,
             "per_1000": math.nan if h_area else stats.rate_per_1000(n_area, inw_area)}
    inw_p, groups_pop = denominators(pop, p_code if p_level == "stadsdeel" else None, p_code if p_level == "wijk" else None)
    n_p, h_p = area_n(p_code)
    profile_total = {"n": n_p, "verborgen": h_p, "inwoners": inw_p,
                     "per_1000": math.nan if h_p else stats.rate_per_1000(n_p, inw_p)}

    # ---- profile tables
    rows = []
    for dim, levels in DIMENSIONS.items():
        g = sub.groupby(dim)["n"].sum()
        for v in levels:
            h = ("dim", p_code, dim, v) in hidden
            n = math.nan if h else float(g.get(v, 0))
            inw, how = groups_pop.get((dim, v), (math.nan, D_NONE))
            rate = math.nan if h else stats.rate_per_1000(n, inw)
            share = math.nan if (h or h_p or not n_p) else n / n_p
            if dim in RR_DIMENSIONS and not (h or h_p) and inw == inw and inw > 0:
                rr, lo, hi = rr_interval(int(n), int(n_p), inw, inw_p)
            else:
                rr = lo = hi = math.nan
            sig = 0 if pd.isna(lo) else (1 if lo > 1 else (-1 if hi < 1 else 0))
            rows.append((dim, v, label(dim, v), n, h, inw, how, rate, share, rr, lo, hi, sig))
    groups = pd.DataFrame(rows, columns=["dim", "waarde", "label", "n", "verborgen", "inwoners", "noemer",
                                         "per_1000", "aandeel", "rr", "rr_lo", "rr_hi", "significant"])

    # education: share of 'hoog' among victims with a known level (only when all three are shown)
    edu = groups[(groups["dim"] == "opleiding") & (groups["waarde"] != UNKNOWN)]
    edu_known: dict = {}
    if not edu["verborgen"].any():
        known = int(edu["n"].sum())
        hoog = int(edu.loc[edu["waarde"] == "hoog", "n"].iloc[0])
        s, lo, hi = share_interval(hoog, known)
        edu_known = {"n_bekend": known, "n_hoog": hoog, "aandeel": s, "lo": lo, "hi": hi,
                     "aandelen": {v: (int(n) / known if known else math.nan) for v, n in zip(edu["waarde"], edu["n"])}}

    # ---- damage
    medians = damage_medians(con, start, end, p_code if p_level == "stadsdeel" else None,
                             p_code if p_level == "wijk" else None)
    drows = []
    for d in [*DIMENSIONS["delict"], TOTAL]:
        part = sub if d == TOTAL else sub[sub["delict"] == d]
        h = h_p if d == TOTAL else ("dim", p_code, "delict", d) in hidden
        dh = ("schade", p_code, d) in d_hidden
        ns = float(part["n_schade"].sum())
        drows.append((d, math.nan if h else float(part["n"].sum()), h, math.nan if dh else ns, dh,
                      math.nan if dh or ns == 0 else medians.get(d, math.nan),
                      math.nan if dh else float(part["schade"].sum())))
    damage = pd.DataFrame(drows, columns=["delict", "n", "verborgen", "n_schade", "schade_verborgen", "mediaan",
                                          "totaal"])

    # ---- trend of the profile area (all data)
    b = buckets(first, data_end) if first is not None else buckets(data_end, data_end).iloc[0:0]
    q = _quarterly_of(bs.quarterly, p_code if p_level == "stadsdeel" else None, p_code if p_level == "wijk" else None)
    tv, _ = _series_cells(p_code, q, b) if not b.empty else ({}, [])
    info = {bk: (soort, int(j), int(k), bool(v))
            for bk, soort, j, k, v in zip(b["bucket"], b["soort"], b["jaar"], b["kwartaal"], b["volledig"])}
    trend_rows = []
    for (_t, _c, d, bk), n in tv.items():
        h = ("trend", p_code, d, bk) in hidden
        soort, jaar, kwartaal, volledig = info[bk]
        trend_rows.append((bk, soort, jaar, kwartaal, d, math.nan if h else n, volledig, h))
    trend = pd.DataFrame(trend_rows, columns=["bucket", "soort", "jaar", "kwartaal", "delict", "n", "volledig",
                                              "verborgen"])

    # ---- areas for the map and the table
    n_city, h_city = area_n(CITY)
    inw_city = float(pop.stadsdelen["inwoners"].sum())
    city_rate = math.nan if h_city else stats.rate_per_1000(n_city, inw_city)
    areas = {}
    for lvl, frame in (("stadsdeel", pop.stadsdelen.assign(stadsdeel=pop.stadsdelen["naam"])),
                       ("wijk", pop.wijken)):
        t = frame[["code", "naam", "stadsdeel", "inwoners"]].copy()
        t["n"] = [area_n(c)[0] for c in t["code"]]
        t["verborgen"] = [area_n(c)[1] for c in t["code"]]
        t["per_1000"] = stats.rate_per_1000(t["n"].fillna(0), t["inwoners"])
        t["per_1000"] = disclosure.hide_derived(t["per_1000"], t["verborgen"])
        t["index"] = stats.index_vs(t["per_1000"], city_rate)
        areas[lvl] = t.reset_index(drop=True)

    # victims placed in a stadsdeel but not in a wijk: their number is a new figure (city minus the
    # wijken), so a wijkteam only hears that there are some
    unknown_total = int(counts.loc[counts["wijk"].isna(), "n"].sum())
    unknown_wijk = unknown_total if (not policy.active or unknown_total == 0) else None

    return Profile(policy, start, end, area_level, area_code, area_name, p_level, p_code, p_name, total,
                   profile_total, groups, damage, trend, areas, unknown_wijk, first, data_end, edu_known,
                   hidden | d_hidden, {**prot.values, **prot.d_values}, [*prot.relations, *prot.d_relations])


# ------------------------------------------------------------------ the 2017 finding
@dataclass
class Verdict:
    part: str  # 'trend', 'leeftijd', 'opleiding'
    status: str  # 'ja' (still true), 'deels', 'nee', 'onbekend' (cannot be tested)
    text: str  # Dutch, markdown


@dataclass
class Finding:
    verdicts: list[Verdict]
    most_at_risk: list[str]  # Dutch phrases with their evidence, highest RR first
    summary: str


STATUS_LABEL = {"ja": "Klopt nog", "deels": "Deels", "nee": "Klopt niet meer", "onbekend": "Niet te toetsen"}


def _rr_text(r: pd.Series) -> str:
    return (f"{fmt.number(r['per_1000'], 2)} per 1.000 inwoners, {fmt.number(r['rr'], 2)} keer het gemiddelde "
            f"(95%-BI {fmt.number(r['rr_lo'], 2)}–{fmt.number(r['rr_hi'], 2)})")


def _pvalue(p: float) -> str:
    return "p < 0,001" if p < 0.001 else f"p = {fmt.number(p, 3)}"


def check_2017(pr: Profile) -> Finding:
    """Test the 2017 phenomenon analysis on the shown (protected) figures of a profile.

    1. 'The number of victims falls': the last two complete calendar years of the profile area, exact test.
    2. '15-24 year olds are the most vulnerable': 15-24 has the highest rate, significantly above the
       area (RR interval above 1) and significantly above the next group (exact conditional test).
    3. 'The highly educated are the most vulnerable': the same, when inhabitants per level are known;
       otherwise it cannot be tested, and the share of 'hoog' among victims is given as context only.
    Hidden counts are never used: a group with a hidden count is 'niet te beoordelen'.
    """
    verdicts = [_trend_verdict(pr), _group_verdict(pr, "leeftijd", "15-24", "jongeren van 15 tot 25 jaar"),
                _edu_verdict(pr)]
    g = pr.groups
    risk = g[g["dim"].isin(RR_DIMENSIONS) & (g["significant"] > 0)].sort_values("rr", ascending=False)
    most = [f"**{r['label']}**: {_rr_text(r)}" for _, r in risk.head(4).iterrows()]
    ok = sum(v.status == "ja" for v in verdicts)
    no = sum(v.status == "nee" for v in verdicts)
    testable = sum(v.status != "onbekend" for v in verdicts)
    if testable == 0:
        summary = "Met de gekozen periode en het gekozen gebied is de bevinding van 2017 niet te toetsen."
    elif ok == testable:
        summary = "De getoetste delen van de bevinding van 2017 kloppen nog."
    elif no == testable:
        summary = "De getoetste delen van de bevinding van 2017 kloppen niet meer."
    else:
        summary = "De bevinding van 2017 klopt maar ten dele."
    return Finding(verdicts, most, summary)


def _trend_verdict(pr: Profile) -> Verdict:
    t = pr.trend
    years = t[(t["soort"] == "jaar") & (t["delict"] == ALL) & t["volledig"]].sort_values("jaar") if not t.empty else t
    if len(years) < 2:
        since = fmt.date(pr.data_first) if pr.data_first else "–"
        return Verdict("trend", "onbekend",
                       f"De data beginnen op {since}: er zijn nog geen twee volledige kalenderjaren om te vergelijken.")
    prev, last = years.iloc[-2], years.iloc[-1]
    if prev["verborgen"] or last["verborgen"]:
        return Verdict("trend", "onbekend", "Te weinig slachtoffers in dit gebied om de jaren te vergelijken.")
    ch = stats.compare(int(last["n"]), int(prev["n"]))
    series = ", ".join(f"{int(r['jaar'])}: {fmt.integer(r['n'])}" for _, r in years.iterrows() if not r["verborgen"])
    base = (f"{int(prev['jaar'])} → {int(last['jaar'])}: {fmt.integer(prev['n'])} → {fmt.integer(last['n'])} "
            f"slachtoffers ({fmt.signed_pct(ch.fraction)}, {_pvalue(ch.pvalue)}). Per jaar: {series}.")
    if ch.significant and ch.direction < 0:
        return Verdict("trend", "ja", "Het aantal slachtoffers **daalt nog**: " + base)
    if ch.significant:
        return Verdict("trend", "nee", "Het aantal slachtoffers **stijgt** (significant): " + base)
    return Verdict("trend", "deels", "Het aantal slachtoffers **daalt niet meer aantoonbaar**; het verschil tussen "
                                     "de laatste twee jaren past bij toeval: " + base)


def _group_verdict(pr: Profile, dim: str, value: str, who: str) -> Verdict:
    g = pr.groups
    part = g[(g["dim"] == dim) & (g["waarde"] != UNKNOWN)]
    rated = part[part["rr"].notna()]
    if value not in set(rated["waarde"]):
        if not pr.profile_total["verborgen"] and pr.profile_total["n"] == 0:
            return Verdict(dim, "onbekend", "Geen slachtoffers in deze periode en dit gebied.")
        if part.loc[part["waarde"] == value, "verborgen"].any() or pr.profile_total["verborgen"]:
            return Verdict(dim, "onbekend", f"Te weinig slachtoffers onder {who} in deze periode en dit gebied om "
                                            "het te beoordelen.")
        return Verdict(dim, "onbekend", f"Geen inwonerscijfers voor {who}: een risico is niet te berekenen.")
    me = rated[rated["waarde"] == value].iloc[0]
    others = rated[rated["waarde"] != value].sort_values("rr", ascending=False)
    skipped = part[part["verborgen"]]["label"].tolist()
    note = f" (Niet beoordeeld wegens kleine aantallen: {', '.join(skipped)}.)" if skipped else ""
    if others.empty:
        return Verdict(dim, "onbekend", f"Er is geen andere groep om {who} mee te vergelijken.{note}")
    top = others.iloc[0]
    if me["rr"] >= top["rr"]:
        p = compare_rates(int(me["n"]), me["inwoners"], int(top["n"]), top["inwoners"])
        txt = f"{who[:1].upper() + who[1:]}: {_rr_text(me)}. Daarna komt {top['label']}: {_rr_text(top)}."
        if me["significant"] > 0 and p < ALPHA:
            return Verdict(dim, "ja", f"**Klopt nog.** {txt} Het verschil is significant ({_pvalue(p)}).{note}")
        if me["significant"] > 0:
            return Verdict(dim, "deels", f"**Grotendeels.** {txt} {who[:1].upper() + who[1:]} lopen duidelijk meer risico dan "
                                         f"gemiddeld, maar het verschil met {top['label']} kan toeval zijn "
                                         f"({_pvalue(p)}).{note}")
        return Verdict(dim, "deels", f"**Niet aangetoond.** {txt} Het hoogste cijfer, maar niet significant hoger "
                                     f"dan gemiddeld.{note}")
    p = compare_rates(int(top["n"]), top["inwoners"], int(me["n"]), me["inwoners"])
    txt = f"Nu loopt **{top['label']}** het meeste risico: {_rr_text(top)}. {who[:1].upper() + who[1:]}: {_rr_text(me)}."
    if p < ALPHA:
        return Verdict(dim, "nee", f"**Klopt niet meer.** {txt} Het verschil is significant ({_pvalue(p)}).{note}")
    return Verdict(dim, "deels", f"**Onbeslist.** {txt} Het verschil kan toeval zijn ({_pvalue(p)}).{note}")


def _edu_verdict(pr: Profile) -> Verdict:
    g = pr.groups
    edu = g[(g["dim"] == "opleiding") & (g["waarde"] != UNKNOWN)]
    if edu["inwoners"].notna().all() and (edu["inwoners"] > 0).all():
        return _group_verdict(pr, "opleiding", "hoog", "hoogopgeleiden")
    text = ("**Niet te toetsen**: de referentiedata bevatten geen aantallen inwoners per opleidingsniveau, dus er is "
            "geen risico per 1.000 inwoners te berekenen. ")
    k = pr.edu_known
    if k and k["n_bekend"] > 0:
        text += (f"Ter informatie: van de slachtoffers met een bekend opleidingsniveau is "
                 f"{fmt.number(k['aandeel'] * 100, 0)}% hoogopgeleid (95%-BI {fmt.number(k['lo'] * 100, 0)}–"
                 f"{fmt.number(k['hi'] * 100, 0)}%). Dat zegt pas iets over risico als bekend is hoeveel inwoners "
                 "hoogopgeleid zijn.")
    else:
        text += "Het aandeel hoogopgeleiden onder de slachtoffers is niet te tonen (kleine aantallen)."
    return Verdict("opleiding", "onbekend", text)


# ------------------------------------------------------------------ the page's tables of a profile
def num_text(x, decimals: int = 2) -> str:
    return fmt.number(x, decimals)


def interval_text(lo, hi, decimals: int = 2) -> str:
    if pd.isna(lo) or pd.isna(hi):
        return "–"
    return f"{fmt.number(lo, decimals)} – {fmt.number(hi, decimals)}"


def group_table(groups: pd.DataFrame, dim: str, policy: Policy) -> pd.DataFrame:
    """The page's table of one dimension (age, sex, education, delict): texts as shown."""
    g = groups[groups["dim"] == dim]
    est = g["noemer"].isin([D_PCT, D_WIJK])
    out = pd.DataFrame({
        DIM_TITLES[dim]: g["label"].to_numpy(),
        "Slachtoffers": disclosure.count_column(g["n"], g["verborgen"], policy).to_numpy(),
        "Aandeel van alle slachtoffers": [f"{fmt.number(a * 100, 1)}%" if not pd.isna(a) else "–" for a in g["aandeel"]],
        "Inwoners (noemer)": [("≈ " if e else "") + fmt.integer(i) if not pd.isna(i) else "–"
                              for i, e in zip(g["inwoners"], est)],
        "Per 1.000 inwoners": [num_text(x) for x in g["per_1000"]],
    })
    if dim in RR_DIMENSIONS:
        out["Relatief risico"] = [num_text(x) for x in g["rr"]]
        out["95%-interval"] = [interval_text(lo, hi) for lo, hi in zip(g["rr_lo"], g["rr_hi"])]
    out["Noemer"] = g["noemer"].to_numpy()
    return out


def group_tables(groups: pd.DataFrame, policy: Policy) -> dict[str, pd.DataFrame]:
    return {dim: group_table(groups, dim, policy) for dim in DIMENSIONS}


def profile_csv(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """All group tables in one, for the CSV download: Indeling (the dimension), Groep, then the figures."""
    out = pd.concat([tables[d].rename(columns={DIM_TITLES[d]: "Groep"}).assign(Indeling=DIM_TITLES[d])
                     for d in DIMENSIONS], ignore_index=True)
    return out[["Indeling", *[c for c in out.columns if c != "Indeling"]]]

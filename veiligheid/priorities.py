"""Priorities per stadsdeel: the priority score, its explanation, the wijk x theme grid (plain Python).

The Veiliger Wijkteams set their area-bound priorities ("gebiedsgebonden prioriteiten") next to the
four city-wide ones. This module gives them the figures for one stadsdeel and one quarter:

- every theme (incident themes from soort_misdrijf.csv and the categories of the municipal
  registrations) with its count, rate, index against the city and its changes;
- a priority score from four components, each 0..1 so it can be drawn as a bar:
    niveau  = index against the city (100 = city average) / 200, at most 1;
    trend   = 0.5 (no change) + 0.5 x change (capped at -100 %..+100 %), a change that is not
              significant counts half; the mean over the comparisons (previous quarter, a year
              earlier) that have at least MIN_TREND_N on both sides;
    volume  = the theme's share of all incidents (registrations) of the city, relative to the
              largest theme of the area (the largest = 1);
    ernst   = 1 for high impact crime, 0.5 for other crime, 0.25 for municipal registrations;
  score = 100 x sum(weight x component) / sum(weights). A theme needs at least MIN_SCORE_N in the
  area in the quarter to be scored ("te weinig om op te prioriteren");
- `explain` says in Dutch words why a theme has its place;
- the wijk x theme grid of indices, with an exact 95 % Poisson interval of the index and an
  empirical-Bayes (Marshall) shrunken index, so one incident in a small wijk does not shout;
- `protect` applies the disclosure rules to all of it at once (grid cells, their stadsdeel totals,
  the quarterly trend), with the relations a reader could use to subtract.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import altair as alt
import numpy as np
import pandas as pd
from scipy.stats import chi2

from . import charts, disclosure, fmt, queries, stats
from .contract import REGISTRATIE_CATEGORIEEN
from .filters import Period

INCIDENTEN, REGISTRATIES = "incidenten", "registraties"
BRONNEN = (INCIDENTEN, REGISTRATIES)
BRON_LABEL = {INCIDENTEN: "Incidenten (politie)", REGISTRATIES: "Registraties (gemeente)"}
UNIT = {INCIDENTEN: ("incident", "incidenten"), REGISTRATIES: ("registratie", "registraties")}

MIN_SCORE_N = 5  # a theme needs this many in the area in the quarter to get a score
MIN_TREND_N = 5  # a comparison needs this many on both sides to count as a trend
MIN_INHABITANTS = 100  # below this a wijk gets no rate or index (as on the overview page)
LEVEL_CAP = 200.0  # index at which the level component is full
ERNST_HIC, ERNST_CRIME, ERNST_REG = 1.0, 0.5, 0.25
WEIGHTS: dict[str, float] = {"niveau": 0.35, "trend": 0.25, "volume": 0.20, "ernst": 0.20}
COMPONENTS = tuple(WEIGHTS)
COMPONENT_LABEL = {"niveau": "niveau", "trend": "trend", "volume": "volume", "ernst": "ernst"}
ARTICLE = {"niveau": "het", "trend": "de", "volume": "het", "ernst": "de"}
COMPONENT_HELP = {  # the components are shown as 0..100 (component x 100)
    "niveau": "Index per 1.000 inwoners t.o.v. de hele stad, gedeeld door 2: stadsgemiddelde (index 100) = 50; "
              "twee keer zo hoog of meer (index 200+) = 100.",
    "trend": "50 = geen verandering; hoger = gestegen, lager = gedaald, t.o.v. het vorige kwartaal en hetzelfde "
             "kwartaal een jaar eerder (+100% of meer = 100). Een verandering die niet significant is, telt half "
             "mee; vergelijkingen met minder dan 5 aan een kant tellen niet.",
    "volume": "Aandeel van dit thema in alle incidenten (of registraties) van de stad; het grootste thema van "
              "het stadsdeel = 100.",
    "ernst": "High impact crime = 100; overige misdrijven = 50; gemeentelijke registraties (overlast) = 25.",
}
ALL = "__alle__"  # theme key of "all themes" in the grid
WIJK_ONBEKEND = "onbekend"  # records placed in the stadsdeel but not in a wijk
QUARTERS_TREND = 8


# ------------------------------------------------------------------ theme keys
def key(bron: str, thema: str) -> str:
    return f"{bron}:{thema}"


def split_key(k: str) -> tuple[str, str]:
    bron, _, thema = k.partition(":")
    return bron, thema


def label(k: str) -> str:
    """A theme key as the UI names it: 'Fietsdiefstal', 'Jeugdoverlast (registraties)'."""
    bron, thema = split_key(k)
    if k == ALL or thema == ALL:
        return "Alle thema's"
    return thema if bron == INCIDENTEN else f"{thema} (registraties)"


# ------------------------------------------------------------------ quarters
@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int  # 1..4

    @classmethod
    def of(cls, d: dt.date) -> "Quarter":
        return cls(d.year, (d.month - 1) // 3 + 1)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> dt.date:
        nxt = self.shift(1)
        return nxt.start - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def shift(self, n: int) -> "Quarter":
        i = self.year * 4 + (self.q - 1) + n
        return Quarter(i // 4, i % 4 + 1)

    @property
    def label(self) -> str:
        return f"{self.q}e kwartaal {self.year}"

    @property
    def short(self) -> str:
        return f"K{self.q} {self.year}"

    @property
    def code(self) -> str:
        return f"{self.year}-K{self.q}"

    @classmethod
    def parse(cls, code: str) -> "Quarter | None":
        try:
            y, q = str(code).upper().split("-K")
            out = cls(int(y), int(q))
        except (ValueError, AttributeError):
            return None
        return out if 1 <= out.q <= 4 else None


def last_full_quarter(data_end: dt.date) -> Quarter:
    """The last quarter that ends on or before the last day with data."""
    q = Quarter.of(data_end)
    return q if data_end >= q.end else q.shift(-1)


def available_quarters(data_start: dt.date | None, data_end: dt.date, limit: int = 12) -> list[Quarter]:
    """Full quarters with data, newest first (the last full one even when the data start inside it)."""
    last = last_full_quarter(data_end)
    out = [last]
    q = last.shift(-1)
    while len(out) < limit and (data_start is None or q.start >= data_start):
        out.append(q)
        q = q.shift(-1)
    return out


def quarter_period(q: Quarter) -> Period:
    """The quarter, the quarter before it and the same quarter a year earlier."""
    prev, ya = q.shift(-1), q.shift(-4)
    return Period(q.start, q.end, prev.start, prev.end, ya.start, ya.end)


def covered(q: Quarter, data_start: dt.date | None) -> bool:
    return data_start is None or q.start >= data_start


# ------------------------------------------------------------------ statistics
def poisson_ci(n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson mean given count n (arrays or scalars)."""
    n = np.asarray(n, dtype="float64")
    a = 1 - level
    lo = np.where(n > 0, chi2.ppf(a / 2, 2 * np.maximum(n, 1e-12)) / 2, 0.0)
    hi = chi2.ppf(1 - a / 2, 2 * n + 2) / 2
    return lo, hi


def marshall_eb(n, pop, reference_rate: float | None = None) -> tuple[np.ndarray, float]:
    """Empirical-Bayes (Marshall 1991, global) shrinkage of area rates toward a reference rate.

    r_i = n_i / p_i;  m = reference rate (default sum n / sum p);
    s2 = sum p_i (r_i - m)^2 / sum p_i - m / mean(p)   (between-area variance, at least 0);
    C_i = s2 / (s2 + m / p_i);   shrunken r_i = m + C_i (r_i - m).
    A small area (small p_i) gets a small C_i: its rate moves most of the way to m.
    Areas with p_i <= 0 get NaN and are left out of the estimate. Returns (rates, s2).
    """
    n = np.asarray(n, dtype="float64")
    p = np.asarray(pop, dtype="float64")
    ok = p > 0
    out = np.full(n.shape, np.nan)
    if not ok.any():
        return out, math.nan
    m = float(n[ok].sum() / p[ok].sum()) if reference_rate is None else float(reference_rate)
    r = n[ok] / p[ok]
    s2 = float((p[ok] * (r - m) ** 2).sum() / p[ok].sum() - m / p[ok].mean())
    s2 = max(s2, 0.0)
    denom = s2 + m / p[ok]
    c = np.where(denom > 0, s2 / np.where(denom > 0, denom, 1.0), 0.0)
    out[ok] = m + c * (r - m)
    return out, s2


# ------------------------------------------------------------------ data (the only SQL)
def catalog(con) -> pd.DataFrame:
    """Every theme: key, bron, thema, prioriteit (city-wide priority), hic (share of high impact crime codes)."""
    inc = queries._df(con, """
        SELECT thema, bool_or(stadsbrede_prioriteit) AS prioriteit,
               avg(CASE WHEN high_impact_crime THEN 1.0 ELSE 0.0 END) AS hic
        FROM soort_misdrijf GROUP BY thema""")
    inc["bron"] = INCIDENTEN
    seen = [r[0] for r in queries._rows(con, "SELECT DISTINCT categorie FROM registraties WHERE categorie IS NOT NULL")]
    cats = list(REGISTRATIE_CATEGORIEEN) + sorted(c for c in seen if c not in REGISTRATIE_CATEGORIEEN)
    reg = pd.DataFrame({"thema": cats, "prioriteit": False, "hic": 0.0, "bron": REGISTRATIES})
    out = pd.concat([inc, reg], ignore_index=True)
    out["prioriteit"] = out["prioriteit"].astype(bool)
    out["hic"] = out["hic"].astype("float64")
    out.insert(0, "key", [key(b, t) for b, t in zip(out["bron"], out["thema"])])
    return out.sort_values(["bron", "prioriteit", "thema"], ascending=[True, False, True]).reset_index(drop=True)


def counts(con, first: Quarter | None = None, last: Quarter | None = None) -> pd.DataFrame:
    """Counts per source, theme, buurt (wijk), CBS wijk (stadsdeel) and quarter, city-wide.

    Columns: bron, thema, buurtcode, wijkcode, kwartaal (first day, date), n, n_hic. Withdrawn
    incidents are left out (as everywhere). Without first/last: every quarter (at 5M incidents as fast as
    one view's eight quarters: the scan of the day counts dominates).
    """
    lo, hi = (first.start if first else dt.date.min), (last.end if last else dt.date.max)
    df = queries._df(con, f"""
        SELECT 'incidenten' AS bron, d.thema, d.buurtcode, d.wijkcode,
               CAST(date_trunc('quarter', d.pleegdatum) AS DATE) AS kwartaal,
               sum(d.n) AS n, sum(d.n_hic) AS n_hic
        FROM {queries.day_counts(con)} d
        WHERE d.pleegdatum BETWEEN ? AND ?
        GROUP BY ALL
        UNION ALL
        SELECT 'registraties', r.categorie, r.buurtcode, r.wijkcode,
               CAST(date_trunc('quarter', r.datum) AS DATE), count(*), 0
        FROM registraties r
        WHERE r.datum BETWEEN ? AND ? AND r.categorie IS NOT NULL
        GROUP BY ALL""", [lo, hi, lo, hi])
    df["kwartaal"] = pd.to_datetime(df["kwartaal"]).dt.date
    df["n"] = df["n"].astype("int64")
    df["n_hic"] = df["n_hic"].astype("int64")
    df["buurtcode"] = df["buurtcode"].fillna(WIJK_ONBEKEND)
    return df


@dataclass
class Raw:
    """Everything the page needs for one quarter, from the warehouse (cache this)."""
    quarter: Quarter
    counts: pd.DataFrame
    catalog: pd.DataFrame
    wijken: pd.DataFrame  # code, naam, stadsdeel_code, stadsdeel, inwoners
    stadsdelen: pd.DataFrame  # code, naam, inwoners
    data_start: dt.date | None
    gemeente: str
    # quarter start -> `_quarter_digest` of it, when known beforehand (see `Base`); else computed when needed
    digests: dict | None = None


@dataclass(frozen=True)
class Base:
    """What the Raw of every quarter is cut from, read once per warehouse version (keep it, read only): the
    counts of all quarters with their theme `key`, the catalog and the areas, and the digest of every
    quarter's figures. A newly selected quarter then costs a slice, not a scan of the warehouse (~0.2 s at
    5M) nor the digests of its eight quarters (~0.15 s). Shared by every session (st.cache_resource): never
    changed after `load_base` (the page tests compare it with a fresh load after their runs)."""
    counts: pd.DataFrame
    catalog: pd.DataFrame
    wijken: pd.DataFrame
    stadsdelen: pd.DataFrame
    gemeente: str
    digests: dict


def load_base(con) -> Base:
    c = counts(con)
    c["key"] = _key_column(c)
    cat, wk, sd = catalog(con), queries.wijken(con), queries.stadsdelen(con)
    return Base(c, cat, wk, sd, queries.gemeentenaam(con), quarter_digests(c, _areas_digest(cat, wk, sd)))


def raw_of(base: Base, quarter: Quarter, data_start: dt.date | None, quarters: int = QUARTERS_TREND) -> Raw:
    """The quarter's Raw, cut from the version's Base: equal to `load` of the same version."""
    first = min(quarter.shift(-(quarters - 1)), quarter.shift(-4))
    k = base.counts["kwartaal"]
    c = base.counts[(k >= first.start) & (k <= quarter.start)].reset_index(drop=True)
    # only the fingerprints of the quarters in the slice: a quarter outside it has no counts in this Raw, so
    # its fingerprint must be that of an empty quarter (as `load` gives it), never the real one, or
    # protect_quarter would keep the (near-empty) hidden cells of an empty system under the real quarter's key
    digests = {d: v for d, v in base.digests.items() if first.start <= d <= quarter.start}
    return Raw(quarter, c, base.catalog, base.wijken, base.stadsdelen, data_start, base.gemeente, digests)


def load(con, quarter: Quarter, data_start: dt.date | None, quarters: int = QUARTERS_TREND) -> Raw:
    """The quarter's Raw; its counts carry the theme `key` (bron:thema), made once here for every view."""
    first = min(quarter.shift(-(quarters - 1)), quarter.shift(-4))
    c = counts(con, first, quarter)
    c["key"] = _key_column(c)
    return Raw(quarter, c, catalog(con), queries.wijken(con), queries.stadsdelen(con), data_start,
               queries.gemeentenaam(con))


def _key_column(c: pd.DataFrame) -> list[str]:
    return [key(b, t) for b, t in zip(c["bron"], c["thema"])]


# ------------------------------------------------------------------ the area's figures
@dataclass
class AreaView:
    """The figures of one stadsdeel in one quarter (after `protect`: with *_verborgen columns)."""
    stadsdeel: str
    naam: str
    quarter: Quarter
    period: Period
    inwoners: int
    inwoners_stad: int
    covered_prev: bool
    covered_ya: bool
    themes: pd.DataFrame  # one row per theme key
    grids: dict[str, pd.DataFrame]  # per bron: one row per wijk x theme key (incl. ALL)
    totals: pd.DataFrame  # per bron: n in the area in the quarter
    quarterly: pd.DataFrame  # per theme key x quarter: n (area), n_stad (city)
    wijken: pd.DataFrame  # the wijken of the stadsdeel: code, naam, inwoners
    gemeente: str
    policy: disclosure.Policy | None = None
    notes: list[str] = field(default_factory=list)


def _change_columns(df: pd.DataFrame, cur: str, prev: str, days_cur: int, days_prev: int, name: str,
                    available: bool) -> None:
    if not available:
        df[prev] = pd.array([pd.NA] * len(df), dtype="Int64")
        df[f"verandering_{name}"] = np.nan
        df[f"p_{name}"] = np.nan
        df[f"significant_{name}"] = False
        df[f"richting_{name}"] = 0
        return
    frame = stats.compare_columns(df[cur], df[prev], days_cur, days_prev)
    df[f"verandering_{name}"] = frame["verandering"].to_numpy()
    df[f"p_{name}"] = frame["p"].to_numpy()
    df[f"significant_{name}"] = frame["significant"].to_numpy()
    df[f"richting_{name}"] = frame["richting"].to_numpy()


def _ernst(themes: pd.DataFrame) -> np.ndarray:
    """The seriousness weight of each theme: a crime between ERNST_CRIME and ERNST_HIC by its share `hic` of
    high impact crime, a registration ERNST_REG."""
    return np.where(themes["bron"] == INCIDENTEN, ERNST_CRIME + (ERNST_HIC - ERNST_CRIME) * themes["hic"], ERNST_REG)


def area_view(raw: Raw, stadsdeel: str) -> AreaView:
    """All figures of `stadsdeel` (CBS wijkcode) for raw.quarter, unprotected."""
    q = raw.quarter
    prev, ya = q.shift(-1), q.shift(-4)
    sd = raw.stadsdelen.set_index("code")
    if stadsdeel not in sd.index:
        raise KeyError(stadsdeel)
    inw = int(sd.at[stadsdeel, "inwoners"] or 0)
    inw_city = int(raw.stadsdelen["inwoners"].fillna(0).sum())
    cat = raw.catalog.set_index("key")
    c = _keyed(raw)
    area = c[c["wijkcode"] == stadsdeel]

    # per quarter and theme, summed once: the view reads ~20 quarter x source combinations from them
    area_sums = area.groupby(["kwartaal", "key"])[["n", "n_hic"]].sum()
    city_sums = c.groupby(["kwartaal", "key"])[["n"]].sum()

    def by_quarter(sums: pd.DataFrame, col: str) -> pd.DataFrame:
        """quarter (rows) x theme key (columns, the catalog's order), 0 where there are no records"""
        if sums.empty:
            return pd.DataFrame(columns=cat.index, dtype="int64")
        return sums[col].unstack("key", fill_value=0).reindex(columns=cat.index, fill_value=0).astype("int64")

    # one table per source of figures, then a row lookup per quarter (an index lookup per quarter and
    # figure cost ~60 ms a view at 5M)
    wide = {("area", "n"): by_quarter(area_sums, "n"), ("area", "n_hic"): by_quarter(area_sums, "n_hic"),
            ("city", "n"): by_quarter(city_sums, "n")}
    zeros = pd.Series(0, index=cat.index, dtype="int64")

    def per_key(where: str, quarter: Quarter, col: str = "n") -> pd.Series:
        w = wide[(where, col)]
        return w.loc[quarter.start].rename(None) if quarter.start in w.index else zeros

    themes = pd.DataFrame({"key": cat.index, "bron": cat["bron"].to_numpy(), "thema": cat["thema"].to_numpy(),
                           "prioriteit": cat["prioriteit"].to_numpy()})
    themes["label"] = [label(k) for k in themes["key"]]
    themes = themes.set_index("key")
    themes["n"] = per_key("area", q)
    themes["n_vorige"] = per_key("area", prev)
    themes["n_jaar"] = per_key("area", ya)
    themes["n_stad"] = per_key("city", q)
    themes["n_hic"] = per_key("area", q, "n_hic")
    themes = themes.reset_index()
    cov_prev, cov_ya = covered(prev, raw.data_start), covered(ya, raw.data_start)
    _change_columns(themes, "n", "n_vorige", q.days, prev.days, "vorige", cov_prev)
    _change_columns(themes, "n", "n_jaar", q.days, ya.days, "jaar", cov_ya)
    themes["inwoners"] = inw
    themes["per_1000"] = stats.rate_per_1000(themes["n"], inw)
    themes["per_1000_stad"] = stats.rate_per_1000(themes["n_stad"], inw_city)
    with np.errstate(divide="ignore", invalid="ignore"):
        themes["index"] = np.where(themes["per_1000_stad"] > 0,
                                   themes["per_1000"] * 100.0 / themes["per_1000_stad"], np.nan)
    source_total = themes.groupby("bron")["n_stad"].transform("sum")
    themes["aandeel"] = np.where(source_total > 0, themes["n"] / source_total.where(source_total > 0, 1), np.nan)
    hic_share = np.where(themes["n"] > 0, themes["n_hic"] / themes["n"].where(themes["n"] > 0, 1),
                         cat.loc[themes["key"], "hic"].to_numpy())
    themes["hic"] = np.where(themes["bron"] == INCIDENTEN, hic_share, 0.0)
    # the share of high impact crime codes in the theme's code list: what `protect` uses under disclosure
    # control (n_hic / n of a shown n would give the small count n_hic away: "voor 25% high impact crime")
    themes["hic_codes"] = np.where(themes["bron"] == INCIDENTEN, cat.loc[themes["key"], "hic"].to_numpy(), 0.0)
    themes["ernst"] = _ernst(themes)

    wk = raw.wijken
    mine = wk[wk["stadsdeel_code"] == stadsdeel][["code", "naam", "inwoners"]].copy()
    if (area["buurtcode"] == WIJK_ONBEKEND).any():
        mine = pd.concat([mine, pd.DataFrame({"code": [WIJK_ONBEKEND], "naam": ["(wijk onbekend)"], "inwoners": [0]})],
                         ignore_index=True)
    mine["inwoners"] = mine["inwoners"].fillna(0).astype("int64")
    grids = {b: grid(c, raw.wijken, mine, themes[themes["bron"] == b], q, b, stadsdeel) for b in BRONNEN}
    totals = themes.groupby("bron")["n"].sum().reindex(list(BRONNEN), fill_value=0).rename("n").reset_index()

    quarters = [q.shift(-i) for i in range(QUARTERS_TREND - 1, -1, -1)]
    rows = []
    for qq in quarters:
        if not covered(qq, raw.data_start):
            continue
        a, s = per_key("area", qq), per_key("city", qq)
        rows.append(pd.DataFrame({"key": cat.index, "kwartaal": qq.start, "kwartaal_label": qq.short,
                                  "n": a.to_numpy(), "n_stad": s.to_numpy()}))
    quarterly = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["key", "kwartaal", "kwartaal_label", "n", "n_stad"])
    quarterly["inwoners"] = inw
    quarterly["inwoners_stad"] = inw_city
    notes = []
    if not covered(q, raw.data_start):
        notes.append(f"De data beginnen op {fmt.date(raw.data_start)}, binnen het {q.label}: de cijfers van dit "
                     "kwartaal zijn onvolledig.")
    return AreaView(stadsdeel, str(sd.at[stadsdeel, "naam"]), q, quarter_period(q), inw, inw_city, cov_prev, cov_ya,
                    themes, grids, totals, quarterly, mine.reset_index(drop=True), raw.gemeente, None, notes)


def grid(c: pd.DataFrame, all_wijken: pd.DataFrame, mine: pd.DataFrame, themes: pd.DataFrame, q: Quarter,
         bron: str, stadsdeel: str) -> pd.DataFrame:
    """Wijk x theme for one source: n, expected count at the city rate, index (city = 100), its exact 95 %
    interval, the empirical-Bayes shrunken index and whether the interval includes 100 (`onzeker`).

    The key ALL is the wijk's total over all themes of the source. c: `counts` with a `key` column (the whole
    city: the index reference). mine: the wijken of `stadsdeel`; their counts are the stadsdeel's own records,
    so the row "(wijk onbekend)" counts this stadsdeel's records without a known wijk, as disclosure control
    judges it (cell ("g", stadsdeel, WIJK_ONBEKEND, key, q) in `quarter_system`), not the whole city's.
    Also `n_vorige`: the wijk's count in the quarter before (for the map's tooltip).
    """
    pop = all_wijken.set_index("code")["inwoners"].fillna(0).astype("float64")
    city_pop = float(pop.sum())
    keys = [*themes["key"], ALL]
    # the records as integer positions (buurt row, key column), summed with np.bincount: a pandas groupby and
    # unstack per table cost ~4 ms each, six per view (py-spy, session 13)
    source = c["bron"].to_numpy() == bron
    quarter = c["kwartaal"].to_numpy()
    in_q, in_prev = source & (quarter == q.start), source & (quarter == q.shift(-1).start)
    in_sd = (c["wijkcode"] == stadsdeel).fillna(False).to_numpy(dtype=bool)
    rows, buurten = pd.factorize(c["buurtcode"])
    cols = pd.Index(keys).get_indexer(c["key"])  # -1: a theme of another source
    n_rec = c["n"].to_numpy(dtype="float64")
    n_r, n_k = len(buurten), len(keys)

    def by_wijk(sel: np.ndarray) -> np.ndarray:
        """Count per buurt (rows, as `buurten`) and key (columns, in `keys` order; ALL = all selected records)."""
        ok = sel & (cols >= 0)
        m = np.bincount(rows[ok] * n_k + cols[ok], weights=n_rec[ok], minlength=n_r * n_k).reshape(n_r, n_k)
        m[:, -1] = np.bincount(rows[sel], weights=n_rec[sel], minlength=n_r)
        return m

    def at_rows(m: np.ndarray, codes) -> np.ndarray:
        """m's rows for `codes` (0 for a code without records)."""
        pos = buurten.get_indexer(codes)
        out = np.zeros((len(pos), n_k))
        out[pos >= 0] = m[pos[pos >= 0]]
        return out

    now = by_wijk(in_q)  # the city: rates and shrinkage
    own, own_before = by_wijk(in_q & in_sd), by_wijk(in_prev & in_sd)
    city_n = now.sum(axis=0)  # every record of the city, also without a known wijk
    rate = city_n / city_pop if city_pop > 0 else np.full(len(keys), math.nan)  # the city rate per key
    per_wijk = at_rows(now, pop.index)
    use = (pop >= MIN_INHABITANTS).to_numpy()
    pop_used = pop.to_numpy()[use]
    shrunk = np.full((len(pop), len(keys)), math.nan)
    for j, m in enumerate(rate if use.any() else []):
        if m > 0:
            shrunk[use, j], _ = marshall_eb(per_wijk[use, j], pop_used, m)
    # one row per key (outer) and wijk of the stadsdeel (inner)
    codes, n_w = mine["code"].to_numpy(), len(mine)
    p = mine["inwoners"].to_numpy(dtype="float64")
    pos = pop.index.get_indexer(codes)  # -1: not a wijk of the city (records without a known wijk)
    eb = np.full((n_w, len(keys)), math.nan)  # wijk x key
    eb[pos >= 0] = shrunk[pos[pos >= 0]]
    m_row = np.repeat(rate, n_w)
    p_row = np.tile(p, len(keys))
    with np.errstate(divide="ignore", invalid="ignore"):
        index_eb = eb.T.ravel() * 100.0 / m_row
    g = pd.DataFrame({
        "wijk": np.tile(codes, len(keys)), "wijk_naam": np.tile(mine["naam"].to_numpy(), len(keys)),
        "inwoners": p_row.astype("int64"), "key": np.repeat(np.array(keys, dtype=object), n_w),
        "thema": np.repeat(np.array([split_key(k)[1] if k != ALL else "Alle thema's" for k in keys], dtype=object),
                           n_w),
        "n": at_rows(own, codes).T.ravel().astype("int64"),
        "n_vorige": at_rows(own_before, codes).T.ravel().astype("int64"),
        "verwacht": np.where((p_row > 0) & ~np.isnan(m_row), m_row * p_row, math.nan),
        "index_eb": np.where((m_row != 0) & ~np.isnan(m_row) & (p_row >= MIN_INHABITANTS), index_eb, math.nan),
    })
    if g.empty:
        return pd.DataFrame(columns=["wijk", "wijk_naam", "inwoners", "key", "thema", "n", "n_vorige", "verwacht",
                                     "index",
                                     "index_lo", "index_hi", "index_eb", "onzeker", "klein"])
    g["klein"] = g["inwoners"] < MIN_INHABITANTS
    lo, hi = poisson_ci(g["n"])
    ok = (~g["klein"]) & (g["verwacht"] > 0)
    e = g["verwacht"].where(ok)
    g["index"] = 100.0 * g["n"] / e
    g["index_lo"] = 100.0 * lo / e
    g["index_hi"] = 100.0 * hi / e
    g["onzeker"] = (g["index_lo"] <= 100) & (g["index_hi"] >= 100)
    g.loc[~ok, "onzeker"] = True
    return g


# ------------------------------------------------------------------ disclosure
# Every stadsdeel view shows the CITY's count per theme per quarter (trend tooltip, city line, index
# reference) beside the stadsdeel's own counts. So the views are not independent tables: a hidden
# stadsdeel count = city count - the other stadsdelen's counts, each read from their own view. And a reader
# can pick another quarter: the view of Q shows the quarter before as the map's tooltip and as the trend,
# the view of the quarter before shows the same figures as its own grid and tiles. So the hidden cells are
# chosen per QUARTER, once, for everything any view of any selected quarter shows of it (all stadsdelen
# together, `protect_quarter`), and every view is cut from those sets (`protect_city`, `protect`): the same
# figure is hidden in every view that shows it, whichever quarter is selected.
#
# Cells of one quarter q (per bron, in one system; qs = q.start):
#   ("g",  sd, wijk, key, qs)   the wijk x theme grid (key ALL: the wijk's total); map, grid, tooltip
#   ("s",  sd, key, qs)         the stadsdeel's count per theme (table, tiles, trend)
#   ("t",  sd, qs)              the stadsdeel's total of the source
#   ("c",  key, qs)             the city's count per theme (trend, rate line, index)
#   ("ct", qs)                  the city's total of the source (the reference of the share "x% van alle
#                               incidenten in de stad" and of the grid's ALL index)
#   ("u",  key, qs)             records without a stadsdeel (never shown: an unknown for a reader)
# Relations: per stadsdeel s(key) = sum of its wijken, g(wijk, ALL) = sum of the themes, t = sum of the
# wijk totals = sum of the themes; city-wide c(key) = sum over the stadsdelen (+ u), ct = sum of c.
# No figure adds up quarters, so the quarters are independent systems.

@dataclass
class CitySystem:
    """One source's cells of one quarter, all stadsdelen together, with the relations a reader could combine."""
    values: dict
    modules: list  # one per (theme) city column, then per stadsdeel its own relations, then the total
    unshown: set

    @property
    def relations(self) -> list:
        return [r for m in self.modules for r in m]


def _keyed(raw: Raw) -> pd.DataFrame:
    """raw.counts with a theme `key`, only the themes of the catalog (as the views)."""
    c = raw.counts if "key" in raw.counts else raw.counts.assign(key=_key_column(raw.counts))
    return c[c["key"].isin(set(raw.catalog["key"]))]


def quarter_system(raw: Raw, q: Quarter) -> dict[str, CitySystem]:
    """Per source: every figure of quarter q that a stadsdeel view shows (unprotected), with all relations."""
    c = _keyed(raw)
    c = c[c["kwartaal"] == q.start]
    qs = q.start
    sds = list(raw.stadsdelen["code"])
    wk = raw.wijken
    out: dict[str, CitySystem] = {}
    for bron in BRONNEN:
        cb = c[c["bron"] == bron]
        keys = list(raw.catalog.loc[raw.catalog["bron"] == bron, "key"])
        n = cb.groupby(["wijkcode", "buurtcode", "key"])["n"].sum()
        values: dict = {}
        own: list = []
        for sd in sds:
            wijken = list(wk.loc[wk["stadsdeel_code"] == sd, "code"])
            if ((cb["wijkcode"] == sd) & (cb["buurtcode"] == WIJK_ONBEKEND)).any():
                wijken.append(WIJK_ONBEKEND)
            rels: list = []
            for w in wijken:
                for k in keys:
                    values[("g", sd, w, k, qs)] = float(n.get((sd, w, k), 0))
                values[("g", sd, w, ALL, qs)] = float(sum(values[("g", sd, w, k, qs)] for k in keys))
                rels.append((("g", sd, w, ALL, qs), [("g", sd, w, k, qs) for k in keys]))
            for k in keys:
                values[("s", sd, k, qs)] = float(sum(values[("g", sd, w, k, qs)] for w in wijken))
                rels.insert(0, (("s", sd, k, qs), [("g", sd, w, k, qs) for w in wijken]))
            values[("t", sd, qs)] = float(sum(values[("s", sd, k, qs)] for k in keys))
            rels.append((("t", sd, qs), [("g", sd, w, ALL, qs) for w in wijken]))
            rels.append((("t", sd, qs), [("s", sd, k, qs) for k in keys]))
            own.append(rels)
        unplaced = cb[~cb["wijkcode"].isin(set(sds))].groupby("key")["n"].sum()
        unshown: set = set()
        columns: list = []
        for k in keys:
            parts = [("s", sd, k, qs) for sd in sds]
            u = float(unplaced.get(k, 0))
            if u > 0:  # records outside every stadsdeel: part of the city count, shown nowhere
                values[("u", k, qs)] = u
                unshown.add(("u", k, qs))
                parts.append(("u", k, qs))
            values[("c", k, qs)] = float(sum(values[p] for p in parts))
            columns.append([(("c", k, qs), parts)])
        values[("ct", qs)] = float(sum(values[("c", k, qs)] for k in keys))
        total = [[(("ct", qs), [("c", k, qs) for k in keys])]]
        out[bron] = CitySystem(values, columns + own + total, unshown)
    return out


def shown_quarters(raw: Raw) -> list[Quarter]:
    """The quarters whose figures a view of raw.quarter shows: the quarter itself, the trend's quarters, the
    quarter before and a year earlier (those covered by the data)."""
    q = raw.quarter
    out = [q.shift(-i) for i in range(QUARTERS_TREND)] + [q.shift(-4)]
    return [x for x in dict.fromkeys(out) if x == q or covered(x, raw.data_start)]


_CITY_CACHE: "OrderedDict[tuple, frozenset]" = OrderedDict()
_CITY_LOCKS: dict[tuple, threading.Lock] = {}
_CITY_GUARD = threading.Lock()
CITY_CACHE_SIZE = 32  # quarters (a view shows QUARTERS_TREND of them)


def _frame_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()


def _areas_digest(cat: pd.DataFrame, wijken: pd.DataFrame, stadsdelen: pd.DataFrame) -> bytes:
    h = hashlib.sha256()
    for frame in (cat, wijken, stadsdelen):
        h.update(_frame_hashes(frame).tobytes())
        h.update("|".join(map(str, frame.columns)).encode())
    return h.digest()


_DIGEST_COLUMNS = ["bron", "thema", "buurtcode", "wijkcode", "n"]


def quarter_digests(c: pd.DataFrame, areas: bytes, only: list[dt.date] | None = None) -> dict[dt.date, str]:
    """{quarter start: fingerprint of that quarter's counts (rows in a fixed order) and of the areas and
    catalog (`areas`)}, for every quarter in c (or those in `only`): one hash over all rows."""
    if only is not None:
        c = c[c["kwartaal"].isin(only)]
    if c.empty:
        return {}
    c = c.sort_values(["kwartaal", *_DIGEST_COLUMNS[:-1]])  # (bron, thema, buurt, wijk) is unique per quarter
    rows = _frame_hashes(c[_DIGEST_COLUMNS])
    quarters = c["kwartaal"].to_numpy()
    out = {}
    bounds = np.flatnonzero(quarters[1:] != quarters[:-1]) + 1
    for lo, hi in zip([0, *bounds], [*bounds, len(c)]):
        qs = quarters[lo]
        h = hashlib.sha256(rows[lo:hi].tobytes())
        h.update("|".join(_DIGEST_COLUMNS).encode())
        h.update(areas)
        h.update(Quarter.of(qs).code.encode())
        out[qs] = h.hexdigest()
    return out


def _quarter_digest(raw: Raw, q: Quarter) -> str:
    """A fingerprint of the figures protect_quarter depends on (equal data in another warehouse copy, or in
    the load of another selected quarter: equal key)."""
    if raw.digests is not None and q.start in raw.digests:
        return raw.digests[q.start]
    areas = _areas_digest(raw.catalog, raw.wijken, raw.stadsdelen)
    found = quarter_digests(raw.counts, areas, [q.start])
    if q.start in found:
        return found[q.start]
    h = hashlib.sha256(b"leeg")  # no records in the quarter
    h.update(areas)
    h.update(q.code.encode())
    return h.hexdigest()


def protect_quarter(raw: Raw, q: Quarter, policy: disclosure.Policy) -> frozenset:
    """The hidden cells of quarter q in every stadsdeel view of every selected quarter, as (bron, cell) pairs.

    Secondary suppression with disclosure.protect_modular: each stadsdeel's own table and each city column
    (theme) is a module; a cell hidden in one module is hidden in every other, and the exact check runs over
    all relations at once; then the bounds check over all relations together (`_bounds_fix`). The slow part
    (seconds per quarter), so the result is kept in a small in-process cache keyed on the quarter's figures
    and the policy (one computation at a time per key)."""
    if not policy.active:
        return frozenset()
    k = (_quarter_digest(raw, q), policy.threshold, policy.active)
    with _CITY_GUARD:
        if k in _CITY_CACHE:
            _CITY_CACHE.move_to_end(k)
            return _CITY_CACHE[k]
        lock = _CITY_LOCKS.setdefault(k, threading.Lock())
    with lock:  # a second session asking for the same key waits for the first instead of computing it again
        with _CITY_GUARD:
            if k in _CITY_CACHE:
                return _CITY_CACHE[k]
        hidden: set = set()
        for bron, system in quarter_system(raw, q).items():
            cells = protect_cells_modular(system, policy)
            hidden |= {(bron, cell) for cell in cells if cell not in system.unshown}
        out = frozenset(hidden)
        with _CITY_GUARD:
            _CITY_CACHE[k] = out
            while len(_CITY_CACHE) > CITY_CACHE_SIZE:
                _CITY_CACHE.popitem(last=False)
            _CITY_LOCKS.pop(k, None)
    return out


def protect_city(raw: Raw, policy: disclosure.Policy) -> frozenset:
    """The hidden cells of ALL stadsdeel views of raw.quarter: the union of `protect_quarter` over the
    quarters they show (see above)."""
    if not policy.active:
        return frozenset()
    return frozenset().union(*(protect_quarter(raw, q, policy) for q in shown_quarters(raw)))


def protect_cells_modular(system: CitySystem, policy: disclosure.Policy) -> set:
    """disclosure.protect_modular over the modules, then the bounds check over ALL relations together.

    protect_modular checks the bounds a reader knows (a hidden count is >= 1, a small one <= threshold - 1)
    only inside each module; combined across modules they can still pin a cell (e.g. eight hidden wijken of
    at least 1 each, and a city column that leaves room for at most 8 in their stadsdeel). `_bounds_fix`
    closes that: it checks every group of linked hidden cells with disclosure.recoverable(bounds=True) and
    hides a complement where one is pinned, until none is."""
    hidden = disclosure.protect_modular(system.values, system.modules, policy, unshown=system.unshown)
    return _bounds_fix(system, hidden, policy)


def _bounds_fix(system: CitySystem, hidden: set, policy: disclosure.Policy, max_rounds: int = 500) -> set:
    values, unshown = system.values, system.unshown
    rels = system.relations
    order = {k: i for i, k in enumerate(values)}
    touching: dict = {}
    for i, (t, parts) in enumerate(rels):
        for c in (t, *parts):
            touching.setdefault(c, []).append(i)
    hidden = set(hidden)
    memo: dict = {}
    structural: set = set()  # pinned by the bounds of hidden cells alone: no shown figure to hide takes part
    for _ in range(max_rounds):
        picks = set()
        for cells in disclosure._hidden_groups(values, rels, hidden):
            group = frozenset(cells)
            if group not in memo:
                crels = [rels[i] for i in sorted({i for c in cells for i in touching.get(c, ())})]
                memo[group] = disclosure.recoverable({k: values[k] for k in cells}, crels, set(cells),
                                                     policy.threshold, bounds=True)
            exposed = sorted((c for c in memo[group] if (c not in unshown or policy.small(values[c]))
                              and (group, c) not in structural), key=order.__getitem__)
            if exposed:
                crels = [rels[i] for i in sorted({i for c in cells for i in touching.get(c, ())})]
                for target in exposed:
                    pick = disclosure.bounds_complement(values, crels, hidden, group, target, policy.threshold,
                                                        order)
                    if pick is not None:
                        picks.add(pick)
                        break
                    structural.add((group, target))
        if not picks:
            return hidden
        hidden |= picks
    raise AssertionError("secondary suppression (bounds) did not converge")


def protected_view(raw: Raw, stadsdeel: str, policy: disclosure.Policy, hidden: frozenset | None = None) -> AreaView:
    """area_view + protect, with the city-wide hidden set (computed here when not given)."""
    if hidden is None:
        hidden = protect_city(raw, policy)
    return protect(area_view(raw, stadsdeel), policy, hidden)


def protect(view: AreaView, policy: disclosure.Policy, hidden: frozenset | None = None) -> AreaView:
    """Apply the disclosure rules to every count of the view; returns a protected copy.

    hidden: `protect_city(raw, policy)` for the view's raw data: the one set of hidden cells all stadsdeel
    views are cut from. Required when the policy is active (a view protected on its own would leak through
    the city counts it shares with the other views). Counts that are hidden get *_verborgen = True;
    everything derived from them becomes NaN.
    """
    if policy.active and hidden is None:
        raise ValueError("protect() needs the city-wide hidden cells (protect_city) for an active policy")
    hidden = hidden or frozenset()
    v = replace(view, themes=view.themes.copy(), grids={b: g.copy() for b, g in view.grids.items()},
                totals=view.totals.copy(), quarterly=view.quarterly.copy(), policy=policy)
    sd = v.stadsdeel
    q, prev, ya = v.quarter, v.quarter.shift(-1), v.quarter.shift(-4)

    def hid(bron, cell) -> bool:
        return (bron, cell) in hidden

    t = v.themes
    if policy.active:  # the seriousness weight from the theme's codes, not from the counts (see area_view)
        t["hic"] = t["hic_codes"]
        t["hic_uit_codes"] = True
        t["ernst"] = _ernst(t)
        t["n_hic"] = np.nan
    t["n_verborgen"] = [hid(b, ("s", sd, k, q.start)) for b, k in zip(t["bron"], t["key"])]
    t["n_vorige_verborgen"] = [v.covered_prev and hid(b, ("s", sd, k, prev.start)) for b, k in zip(t["bron"], t["key"])]
    t["n_jaar_verborgen"] = [v.covered_ya and hid(b, ("s", sd, k, ya.start)) for b, k in zip(t["bron"], t["key"])]
    t["n_stad_verborgen"] = [hid(b, ("c", k, q.start)) for b, k in zip(t["bron"], t["key"])]
    derived = t["n_verborgen"] | t["n_stad_verborgen"]
    ct_hidden = {b: hid(b, ("ct", q.start)) for b in BRONNEN}
    for col in ("per_1000", "index", "aandeel"):
        mask = t["n_verborgen"] if col == "per_1000" else derived
        if col == "aandeel":
            mask = t["n_verborgen"] | pd.Series([ct_hidden[b] for b in t["bron"]], index=t.index)
        t[col] = disclosure.hide_derived(t[col], mask)
    t["per_1000_stad"] = disclosure.hide_derived(t["per_1000_stad"], t["n_stad_verborgen"])
    for name in ("vorige", "jaar"):
        m = t["n_verborgen"] | t[f"n_{name}_verborgen"]
        t[f"verandering_{name}"] = disclosure.hide_derived(t[f"verandering_{name}"], m)
        t[f"p_{name}"] = disclosure.hide_derived(t[f"p_{name}"], m)
        t.loc[m, f"significant_{name}"] = False
        t.loc[m, f"richting_{name}"] = 0
    bron_of = dict(zip(t["key"], t["bron"]))
    city_hidden = dict(zip(t["key"], t["n_stad_verborgen"]))
    for bron, g in v.grids.items():
        g["verborgen"] = [hid(bron, ("g", sd, w, k, q.start)) for w, k in zip(g["wijk"], g["key"])]
        g["vorige_verborgen"] = [v.covered_prev and hid(bron, ("g", sd, w, k, prev.start))
                                 for w, k in zip(g["wijk"], g["key"])]
        ref = [ct_hidden[bron] if k == ALL else city_hidden.get(k, False) for k in g["key"]]
        m = g["verborgen"] | pd.Series(ref, index=g.index)
        for col in ("index", "index_lo", "index_hi", "index_eb", "verwacht"):
            g[col] = disclosure.hide_derived(g[col], m)
        g.loc[m, "onzeker"] = True
    v.totals["verborgen"] = [hid(b, ("t", sd, q.start)) for b in v.totals["bron"]]
    qt = v.quarterly
    qt["verborgen"] = [hid(bron_of.get(k), ("s", sd, k, d)) for k, d in zip(qt["key"], qt["kwartaal"])]
    qt["verborgen_stad"] = [hid(bron_of.get(k), ("c", k, d)) for k, d in zip(qt["key"], qt["kwartaal"])]
    return v


def protect_cells(values: dict, rels: list, policy: disclosure.Policy) -> set:
    """disclosure.protect (kept as a name for this module's callers)."""
    return disclosure.protect(values, rels, policy)


def grid_cells(view: AreaView) -> tuple[dict, list, set]:
    """(values, relations, hidden) of the shown grid (this quarter and, on the map, the quarter before) and its
    stadsdeel totals, for checking with disclosure.recoverable."""
    values, rels, hidden = {}, [], set()
    for bron in BRONNEN:
        th = view.themes[view.themes["bron"] == bron]
        g = view.grids[bron]
        wijken = list(dict.fromkeys(g["wijk"]))
        for _, r in g.iterrows():
            values[("g", bron, r["wijk"], r["key"])] = float(r["n"])
            if r.get("verborgen", False):
                hidden.add(("g", bron, r["wijk"], r["key"]))
            if view.covered_prev:
                values[("gp", bron, r["wijk"], r["key"])] = float(r["n_vorige"])
                if r.get("vorige_verborgen", False):
                    hidden.add(("gp", bron, r["wijk"], r["key"]))
        for _, r in th.iterrows():
            values[("s", bron, r["key"])] = float(r["n"])
            if r.get("n_verborgen", False):
                hidden.add(("s", bron, r["key"]))
            rels.append((("s", bron, r["key"]), [("g", bron, w, r["key"]) for w in wijken]))
            if view.covered_prev:
                values[("sp", bron, r["key"])] = float(r["n_vorige"])
                if r.get("n_vorige_verborgen", False):
                    hidden.add(("sp", bron, r["key"]))
                rels.append((("sp", bron, r["key"]), [("gp", bron, w, r["key"]) for w in wijken]))
        for w in wijken:
            rels.append((("g", bron, w, ALL), [("g", bron, w, k) for k in th["key"]]))
            if view.covered_prev:
                rels.append((("gp", bron, w, ALL), [("gp", bron, w, k) for k in th["key"]]))
        tot = view.totals.set_index("bron")
        values[("t", bron)] = float(tot.at[bron, "n"])
        if "verborgen" in tot.columns and bool(tot.at[bron, "verborgen"]):
            hidden.add(("t", bron))
        rels.append((("t", bron), [("g", bron, w, ALL) for w in wijken]))
        rels.append((("t", bron), [("s", bron, k) for k in th["key"]]))
    return values, rels, hidden


# ------------------------------------------------------------------ the score
def normalise_weights(weights: dict[str, float] | None) -> dict[str, float]:
    w = {k: max(float((weights or WEIGHTS).get(k, 0.0) or 0.0), 0.0) for k in COMPONENTS}
    total = sum(w.values())
    if total <= 0:  # all zero: equal weights rather than a division by zero
        return {k: 1.0 / len(COMPONENTS) for k in COMPONENTS}
    return {k: x / total for k, x in w.items()}


def _trend_part(n, prev, change, significant) -> float:
    """One comparison as 0..1, or NaN when it cannot be used (too few on either side)."""
    if prev is None or prev is pd.NA or (isinstance(prev, float) and math.isnan(prev)):
        return math.nan
    if n < MIN_TREND_N or prev < MIN_TREND_N or change is None or (isinstance(change, float) and math.isnan(change)):
        return math.nan
    return 0.5 + 0.5 * float(np.clip(change, -1.0, 1.0)) * (1.0 if significant else 0.5)


def score(themes: pd.DataFrame, weights: dict[str, float] | None = None, exclude=None) -> pd.DataFrame:
    """Components (c_niveau, c_trend, c_volume, c_ernst, each 0..1), score (0..100) and rang.

    themes needs: key, label, n, index, aandeel, ernst, n_vorige, verandering_vorige, significant_vorige,
    n_jaar, verandering_jaar, significant_jaar. Rows with n < MIN_SCORE_N, or where `exclude` is True
    (counts the viewer may not see), get no score (gescoord False, at the bottom). Ties: higher n first,
    then the name.
    """
    w = normalise_weights(weights)
    t, idx = themes, themes.index
    excl = pd.Series(False, index=idx) if exclude is None else pd.Series(exclude, index=idx).fillna(True)
    gescoord = (t["n"] >= MIN_SCORE_N) & ~excl.astype(bool) & t["index"].notna()
    parts = []
    for name in ("vorige", "jaar"):
        if f"n_{name}" not in t.columns:
            parts.append(pd.Series(np.nan, index=idx))
            continue
        parts.append(pd.Series([_trend_part(n, p, c, s) for n, p, c, s in
                                zip(t["n"], t[f"n_{name}"], t[f"verandering_{name}"], t[f"significant_{name}"])],
                               index=idx, dtype="float64"))
    both = pd.concat(parts, axis=1)
    share = t["aandeel"].where(gescoord)
    top = share.max()
    c = {"niveau": (t["index"].clip(lower=0) / LEVEL_CAP).clip(upper=1.0),
         "trend": both.mean(axis=1, skipna=True).fillna(0.5),
         "volume": share / top if top and top > 0 else share * 0.0,
         "ernst": t["ernst"].astype("float64")}
    comp = sum(w[k] * c[k] for k in COMPONENTS)
    shown = {k: c[k].where(gescoord) for k in COMPONENTS}
    # the new columns made apart and joined once (each insert into the ~45 columns of `themes` cost ~0.2 ms)
    new = {"gescoord": gescoord, "c_niveau": shown["niveau"], "trend_vorige": parts[0], "trend_jaar": parts[1],
           "trend_bruikbaar": both.notna().any(axis=1), "c_trend": shown["trend"], "c_volume": shown["volume"],
           "c_ernst": shown["ernst"], "score": (100.0 * comp).where(gescoord),
           **{f"bijdrage_{k}": 100.0 * w[k] * shown[k] for k in COMPONENTS}}
    t = pd.concat([t.drop(columns=[k for k in new if k in t.columns]), pd.DataFrame(new, index=idx)], axis=1)
    # scored first, by score, then by the higher n, then by name; rows without a score (too few to score) by name
    # only: their order must not reveal their counts. NaN last, as pandas sorts. (A sort of ~60 rows in Python:
    # pandas' sort_values on the Arrow text column cost ~3 ms.)
    g, sc, n, lab = gescoord.to_numpy(dtype=bool), new["score"].to_numpy(dtype="float64"), \
        t["n"].to_numpy(dtype="float64", na_value=np.nan), t["label"].tolist()

    def desc(x: float) -> tuple:
        return (1, 0.0) if math.isnan(x) else (0, -x)

    order = sorted(range(len(t)), key=lambda i: (0, desc(sc[i]), desc(n[i]), lab[i]) if g[i] else (1, lab[i]))
    t = t.iloc[order].reset_index(drop=True)
    t["rang"] = pd.array([i + 1 if s else pd.NA for i, s in enumerate(t["gescoord"])], dtype="Int64")
    t.attrs["weights"] = w
    return t


# ------------------------------------------------------------------ words
def _index_words(index: float) -> str:
    if index is None or (isinstance(index, float) and math.isnan(index)):
        return "geen vergelijking met de stad mogelijk"
    if index >= 110:
        return (f"per 1.000 inwoners {fmt.number(index / 100, 1)} keer zo vaak als in de hele stad "
                f"(index {fmt.integer(index)})")
    if index > 90:
        return f"per 1.000 inwoners ongeveer even vaak als in de hele stad (index {fmt.integer(index)})"
    return f"per 1.000 inwoners minder vaak dan in de hele stad (index {fmt.integer(index)})"


def _trend_words(row) -> str:
    bits = []
    for name, what in (("vorige", "het vorige kwartaal"), ("jaar", "hetzelfde kwartaal een jaar eerder")):
        part = row.get(f"trend_{name}", math.nan)
        if part is None or (isinstance(part, float) and math.isnan(part)):
            continue
        change = row[f"verandering_{name}"]
        sig = bool(row[f"significant_{name}"])
        bits.append(f"{fmt.signed_pct(change)} t.o.v. {what}" + (" (significant)" if sig else " (niet significant)"))
    if not bits:
        return "te weinig in de vergelijkingsperiodes om een trend te meten"
    return " en ".join(bits)


def _volume_words(row) -> str:
    one, many = UNIT[row["bron"]]
    n = int(row["n"])
    return (f"{fmt.integer(n)} {one if n == 1 else many}, {fmt.number(100 * row['aandeel'], 1)}% van alle "
            f"{many} in de stad")


def _ernst_words(row) -> str:
    if row["bron"] == REGISTRATIES:
        return "een gemeentelijke registratie van overlast (weegt lichter)"
    if row.get("hic", 0) >= 0.999:
        return "high impact crime (weegt zwaarder)"
    if row.get("hic", 0) > 0:
        if row.get("hic_uit_codes", False):  # under disclosure control: the theme's codes, not its incidents
            return f"voor {fmt.integer(100 * row['hic'])}% van zijn delictcodes high impact crime"
        return f"voor {fmt.integer(100 * row['hic'])}% high impact crime"
    return "een misdrijf dat geen high impact crime is"


WORDS = {"niveau": lambda r: _index_words(r["index"]), "trend": _trend_words, "volume": _volume_words,
         "ernst": _ernst_words}


def component_words(row, component: str) -> str:
    return WORDS[component](row)


def explain(scored: pd.DataFrame, which: str | None = None) -> list[str]:
    """One or two Dutch sentences: why is `which` (a theme key; default the number 1) at its place?"""
    ranked = scored[scored["gescoord"]].reset_index(drop=True)
    if ranked.empty:
        return ["Geen enkel thema heeft in dit kwartaal genoeg meldingen in dit stadsdeel om een score te krijgen "
                f"(minimaal {MIN_SCORE_N})."]
    if which is None:
        which = ranked.iloc[0]["key"]
    hit = scored[scored["key"] == which]
    if hit.empty:
        return [f"Onbekend thema: {which}."]
    row = hit.iloc[0]
    if not row["gescoord"]:
        return [f"{row['label']} krijgt geen score: te weinig in dit kwartaal (minder dan {MIN_SCORE_N}) of niet "
                "te tonen, dus te weinig om een prioriteit op te baseren."]
    rank = int(row["rang"])
    contrib = sorted(COMPONENTS, key=lambda k: -float(row[f"bijdrage_{k}"]))
    first, second = contrib[0], contrib[1]
    where = "staat bovenaan" if rank == 1 else f"staat op plaats {rank}"
    out = [f"{row['label']} {where} (score {fmt.integer(row['score'])} van 100) vooral door {ARTICLE[first]} {first}: "
           f"{component_words(row, first)}, en {ARTICLE[second]} {second}: {component_words(row, second)}."]
    other = ranked[ranked["rang"] == (2 if rank == 1 else rank - 1)]
    if not other.empty:
        o = other.iloc[0]
        if rank == 1:
            diff = {k: float(row[f"bijdrage_{k}"]) - float(o[f"bijdrage_{k}"]) for k in COMPONENTS}
            k = max(diff, key=diff.get)
            out.append(f"Het verschil met nummer 2, {o['label']} (score {fmt.integer(o['score'])}), zit vooral in "
                       f"{ARTICLE[k]} {k}: bij {o['label']} {component_words(o, k)}.")
        else:
            diff = {k: float(o[f"bijdrage_{k}"]) - float(row[f"bijdrage_{k}"]) for k in COMPONENTS}
            k = max(diff, key=diff.get)
            out.append(f"Nummer {rank - 1}, {o['label']} (score {fmt.integer(o['score'])}), scoort vooral hoger op "
                       f"{ARTICLE[k]} {k}: {component_words(o, k)}.")
    return out


def weights_text(weights: dict[str, float]) -> str:
    w = normalise_weights(weights)
    return ", ".join(f"{COMPONENT_LABEL[k]} {fmt.integer(100 * w[k])}%" for k in COMPONENTS)


# ------------------------------------------------------------------ display tables
def change_text(row, name: str) -> str:
    """A change against the previous quarter ('vorige') or a year earlier ('jaar') as shown: '▲ +59% (significant)'."""
    if row[f"n_{name}"] is pd.NA or pd.isna(row[f"n_{name}"]):
        return "geen gegevens"
    if pd.isna(row[f"verandering_{name}"]):
        if row.get(f"n_{name}_verborgen", False) or row.get("n_verborgen", False):
            return "–"
        return "gelijk" if row["n"] == 0 else ("nieuw" if row[f"n_{name}"] == 0 else "–")
    pct = fmt.signed_pct(row[f"verandering_{name}"])
    if row[f"significant_{name}"]:
        return f"{'▲' if row[f'richting_{name}'] > 0 else '▼'} {pct} (significant)"
    return pct


def ranking_table(scored: pd.DataFrame, policy: disclosure.Policy, numeric: bool = False) -> pd.DataFrame:
    """The priority table as shown: counts via the disclosure rules, Dutch text. Score and components are
    0..100; numeric=True keeps them as numbers (for progress bars), else Dutch text."""
    t = scored
    num = (lambda x: x) if numeric else (lambda x: fmt.integer(x, missing="–"))
    hidden = t["n_verborgen"] if "n_verborgen" in t.columns else pd.Series(False, index=t.index)
    no = pd.Series(False, index=t.index)
    # the fields change_text reads, as one dict per row (iterrows, or to_dict over all ~60 columns, cost ~5 ms)
    need = [c for c in t.columns if c in ("n", "n_verborgen") or c.startswith(
        ("n_vorige", "n_jaar", "verandering_", "significant_", "richting_"))]
    rows = [dict(zip(need, r)) for r in zip(*(t[c].tolist() for c in need))]
    out = pd.DataFrame({
        "Rang": [str(int(r)) if not pd.isna(r) else "–" for r in t["rang"]],
        "Thema": t["label"].to_numpy(),
        "Bron": [BRON_LABEL[b].split(" (")[0] for b in t["bron"]],
        "Stadsbreed": ["ja" if p else "" for p in t["prioriteit"]],
        "Score": [num(x) for x in t["score"]],
        **{COMPONENT_LABEL[k].capitalize(): [num(100 * x) for x in t[f"c_{k}"]] for k in COMPONENTS},
        "Aantal": disclosure.count_column(t["n"], hidden, policy).to_numpy(),
        "Per 1.000 inwoners": [fmt.number(x, 2) for x in t["per_1000"]],
        "Index (stad = 100)": [fmt.integer(x) for x in t["index"]],
        "Vorig kwartaal": disclosure.count_column(t["n_vorige"].astype("Float64"),
                                                  t["n_vorige_verborgen"] if "n_vorige_verborgen" in t else no,
                                                  policy, "geen gegevens").to_numpy(),
        "T.o.v. vorig kwartaal": [change_text(r, "vorige") for r in rows],
        "Jaar eerder": disclosure.count_column(t["n_jaar"].astype("Float64"),
                                               t["n_jaar_verborgen"] if "n_jaar_verborgen" in t else no,
                                               policy, "geen gegevens").to_numpy(),
        "T.o.v. jaar eerder": [change_text(r, "jaar") for r in rows],
        "Opmerking": ["" if g else f"te weinig om te scoren (minder dan {MIN_SCORE_N})" for g in t["gescoord"]],
    })
    return out


def grid_table(view: AreaView, bron: str) -> pd.DataFrame:
    """The grid as a long table for CSV: Wijk, Thema, Aantal ('<5' when hidden), Index, interval, shrunken index."""
    g = view.grids[bron]
    policy = view.policy or disclosure.Policy(active=False)
    hidden = g["verborgen"] if "verborgen" in g.columns else pd.Series(False, index=g.index)
    return pd.DataFrame({
        "Wijk": g["wijk_naam"], "Thema": g["thema"], "Inwoners": [fmt.integer(x) for x in g["inwoners"]],
        "Aantal": disclosure.count_column(g["n"], hidden, policy),
        "Index (stad = 100)": [fmt.integer(x) for x in g["index"]],
        "95%-interval index": [_interval(lo, hi) for lo, hi in zip(g["index_lo"], g["index_hi"])],
        "Index gecorrigeerd voor kleine aantallen": [fmt.integer(x) for x in g["index_eb"]],
    })


def _interval(lo, hi) -> str:
    if pd.isna(lo) or pd.isna(hi):
        return "–"
    return f"{fmt.integer(lo)} – {fmt.integer(hi)}"


# ------------------------------------------------------------------ charts
SCALE_MIN, SCALE_MAX = 25.0, 400.0
GRID_LABELS, GRID_MIN_HEIGHT = 100, 300  # px: the grid's rotated theme labels; room for its colour legend


def grid_chart(view: AreaView, bron: str, order: list[str] | None = None, height_per_row: int = 30) -> alt.Chart:
    """Wijk x theme heatmap of the index (city = 100): red above, blue below the city; faded where the
    95 % interval includes 100; grey '<5' where the count is hidden; the counts on hover."""
    return grid_chart_of(view.grids[bron], view.policy, tuple(order or ()), height_per_row)


def dutch_grid_chart(grid: pd.DataFrame, policy: disclosure.Policy | None, order: tuple[str, ...]) -> alt.Chart:
    """The page's grid chart (Dutch) from exactly what it shows, built by Altair (the page draws the same spec
    through ui.template_chart with grid_display and dutch_grid_layers)."""
    return dutch(grid_chart_of(grid, policy, order))


def grid_chart_of(grid: pd.DataFrame, policy: disclosure.Policy | None, order: tuple[str, ...] = (),
                  height_per_row: int = 30) -> alt.Chart:
    """grid_chart from the view's grid of one source and its policy."""
    (g,), structure = grid_display(grid, policy, order, height_per_row)
    return grid_layers(g, **structure)


def grid_display(grid: pd.DataFrame, policy: disclosure.Policy | None, order: tuple[str, ...] = (),
                 height_per_row: int = 30) -> tuple[tuple[pd.DataFrame], dict]:
    """What the grid chart shows: its one frame (display fields only) and its structure for grid_layers."""
    g = grid.copy()
    policy = policy or disclosure.Policy(active=False)
    if "verborgen" not in g.columns:
        g["verborgen"] = False
    present = set(g["key"].tolist())  # (lists: iterating an Arrow string column costs ~1 µs an item)
    cols = ["Alle thema's", *[split_key(k)[1] for k in (order or []) if k in present and k != ALL]]
    cols += [t for t in dict.fromkeys(g["thema"].tolist()) if t not in cols]
    g["kleur"] = g["index"].clip(SCALE_MIN, SCALE_MAX)
    g["tekst"] = [policy.label if h else ("–" if pd.isna(i) else fmt.integer(i))
                  for h, i in zip(g["verborgen"], g["index"])]
    g["tt_aantal"] = disclosure.count_column(g["n"], g["verborgen"], policy).to_numpy()
    g["tt_index"] = ["niet getoond (klein aantal)" if h else
                     ("geen index: te weinig inwoners" if k else fmt.integer(i))
                     for h, k, i in zip(g["verborgen"], g["klein"], g["index"])]
    g["tt_interval"] = [_interval(lo, hi) for lo, hi in zip(g["index_lo"], g["index_hi"])]
    g["tt_eb"] = [fmt.integer(x) for x in g["index_eb"]]
    g["tt_zeker"] = ["kan toeval zijn (interval bevat 100)" if o else "duidelijk anders dan de stad"
                     for o in g["onzeker"]]
    g.loc[g["verborgen"] | g["klein"], "tt_zeker"] = "–"
    g["opacity"] = np.where(g["onzeker"], 0.3, 1.0)
    # only display fields go into the chart (its data is sent to the browser): never the raw counts
    g = g[["wijk_naam", "thema", "kleur", "tekst", "tt_aantal", "tt_index", "tt_interval", "tt_eb", "tt_zeker",
           "opacity"]]
    wijk_order = list(dict.fromkeys(g["wijk_naam"].tolist()))
    # Streamlit fits the whole chart into `height`, the theme labels on top (~90 px) and the legend included: a
    # stadsdeel of two wijken got 60 px and showed no cells at all
    height = max(GRID_LABELS + height_per_row * max(len(wijk_order), 1), GRID_MIN_HEIGHT)
    return (g,), {"cols": cols, "wijk_order": wijk_order, "height": height}


def grid_layers(g: pd.DataFrame, cols: list[str], wijk_order: list[str], height: int) -> alt.Chart:
    """Wijk x theme heatmap of grid_display's frame (Altair). Puts cols, wijk_order and height into the spec as
    they are (ui.spec_from_template relies on it)."""
    x = alt.X("thema:N", sort=list(cols), title=None,
              axis=alt.Axis(labelAngle=-35, labelLimit=150, orient="top", labelOverlap=False, labelFontSize=11))
    y = alt.Y("wijk_naam:N", sort=list(wijk_order), title=None, axis=alt.Axis(labelLimit=200, labelOverlap=False))
    tip = [alt.Tooltip("wijk_naam:N", title="Wijk"), alt.Tooltip("thema:N", title="Thema"),
           alt.Tooltip("tt_aantal:N", title="Aantal"), alt.Tooltip("tt_index:N", title="Index (stad = 100)"),
           alt.Tooltip("tt_interval:N", title="95%-interval"),
           alt.Tooltip("tt_eb:N", title="Index gecorrigeerd voor kleine aantallen"),
           alt.Tooltip("tt_zeker:N", title="Verschil met de stad")]
    # the data on the layer, not on each mark: Altair would otherwise hash the frame's text for every mark to
    # see that they share it (DataFrame repr, ~5 % of a Prioriteiten rerun)
    base = alt.Chart()
    shown = base.transform_filter("isValid(datum.kleur)").mark_rect(stroke="white", strokeWidth=1).encode(
        x=x, y=y, tooltip=tip, opacity=alt.Opacity("opacity:Q", scale=None),
        color=alt.Color("kleur:Q", title="Index (stad = 100)",
                        scale=alt.Scale(type="log", domain=[SCALE_MIN, SCALE_MAX], domainMid=100,
                                        scheme="redblue", reverse=True, clamp=True),
                        legend=alt.Legend(orient="right", values=[25, 50, 100, 200, 400], format=",.0f")))
    grey = base.transform_filter("!isValid(datum.kleur)").mark_rect(stroke="white", strokeWidth=1,
                                                                     color="#d9d9d9").encode(x=x, y=y, tooltip=tip)
    text = base.mark_text(fontSize=11).encode(
        x=x, y=y, text="tekst:N", tooltip=tip,
        color=alt.condition("datum.kleur > 250 || datum.kleur < 40", alt.value("white"), alt.value("#222")))
    return alt.layer(grey, shown, text, data=g).properties(height=height)


def dutch_grid_layers(g: pd.DataFrame, cols: list[str], wijk_order: list[str], height: int) -> alt.Chart:
    """grid_layers in Dutch (the page's grid chart): for ui.template_chart."""
    return dutch(grid_layers(g, cols, wijk_order, height))


def dutch(chart):
    return charts.dutch(chart, axis=(11, 12), legend={"labelFontSize": 11, "titleFontSize": 11}, view_stroke=False)


def trend_frame(view: AreaView, k: str) -> pd.DataFrame:
    """Per quarter: rate per 1,000 in the area and the city (hidden counts left out as NaN)."""
    qt = view.quarterly[view.quarterly["key"] == k].copy()
    if "verborgen" not in qt.columns:
        qt["verborgen"] = False
        qt["verborgen_stad"] = False
    area = stats.rate_per_1000(qt["n"], qt["inwoners"]).where(~qt["verborgen"])
    city = stats.rate_per_1000(qt["n_stad"], qt["inwoners_stad"]).where(~qt["verborgen_stad"])
    policy = view.policy or disclosure.Policy(active=False)
    return pd.DataFrame({
        "kwartaal": qt["kwartaal_label"].to_numpy(), "start": qt["kwartaal"].to_numpy(),
        "gebied": area.to_numpy(), "stad": city.to_numpy(),
        "aantal": disclosure.count_column(qt["n"], qt["verborgen"], policy).to_numpy(),
        "aantal_stad": disclosure.count_column(qt["n_stad"], qt["verborgen_stad"], policy).to_numpy(),
    })


def trend_chart(view: AreaView, k: str, height: int = 220, title: bool = True) -> alt.Chart:
    """Quarterly rate per 1,000 inhabitants: the stadsdeel against the whole city."""
    (long,), structure = trend_display(trend_frame(view, k), f"Stadsdeel {view.naam}", f"Heel {view.gemeente}",
                                       height, label(k) if title else None)
    return trend_layers(long, **structure)


def trend_display(f: pd.DataFrame, area_name: str, city_name: str, height: int,
                  title: str | None = None) -> tuple[tuple[pd.DataFrame], dict]:
    """trend_frame `f` as the trend chart shows it (one row per quarter and line) and its structure."""
    long = pd.concat([
        pd.DataFrame({"kwartaal": f["kwartaal"], "reeks": area_name, "waarde": f["gebied"], "aantal": f["aantal"]}),
        pd.DataFrame({"kwartaal": f["kwartaal"], "reeks": city_name, "waarde": f["stad"], "aantal": f["aantal_stad"]}),
    ])
    long["waarde"] = long["waarde"].round(2)
    long = long.dropna(subset=["waarde"])
    structure = {"order": list(f["kwartaal"]), "area_name": area_name, "city_name": city_name, "height": height}
    return (long,), structure | ({"title": title} if title is not None else {})


def trend_layers(long: pd.DataFrame, order: list[str], area_name: str, city_name: str, height: int,
                 title: str | None = None) -> alt.Chart:
    """The trend chart of trend_display's frame (Altair); puts its structure into the spec as it is."""
    return alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=40)).encode(
        x=alt.X("kwartaal:N", sort=list(order), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("waarde:Q", title="per 1.000 inwoners", axis=alt.Axis(format=",.1f")),
        color=alt.Color("reeks:N", scale=alt.Scale(domain=[area_name, city_name], range=["#c0392b", "#7f7f7f"]),
                        title=None, legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("kwartaal:N", title="Kwartaal"), alt.Tooltip("reeks:N", title="Gebied"),
                 alt.Tooltip("waarde:Q", title="Per 1.000 inwoners", format=",.2f"),
                 alt.Tooltip("aantal:N", title="Aantal")],
    ).properties(height=height, **({"title": title} if title is not None else {}))


def dutch_trend_layers(long: pd.DataFrame, order: list[str], area_name: str, city_name: str, height: int,
                       title: str | None = None) -> alt.Chart:
    """trend_layers in Dutch (the page's trend chart): for ui.template_chart."""
    return dutch(trend_layers(long, order, area_name, city_name, height, title))


def map_table(view: AreaView, k: str) -> pd.DataFrame:
    """The wijken of the stadsdeel for veiligheid.maps / meeting_pack.area_map_chart: this quarter, and the
    change against the quarter before (counts that are hidden: `onderdrukt` / `onderdrukt_vorige`)."""
    bron = split_key(k)[0] if k != ALL else INCIDENTEN
    g = view.grids[bron]
    g = g[(g["key"] == k) & (g["wijk"] != WIJK_ONBEKEND)].reset_index(drop=True)
    no = pd.Series(False, index=g.index)
    hidden = g["verborgen"] if "verborgen" in g.columns else no
    prev_hidden = g["vorige_verborgen"] if "vorige_verborgen" in g.columns else no
    prev = view.quarter.shift(-1)
    if view.covered_prev:
        ch = stats.compare_columns(g["n"], g["n_vorige"], view.quarter.days, prev.days)
        n_prev = g["n_vorige"].astype("float64").where(~prev_hidden)
    else:
        ch = pd.DataFrame({"verandering": np.nan, "significant": False, "richting": 0}, index=g.index)
        n_prev = pd.Series(np.nan, index=g.index)
    either = hidden | prev_hidden
    return pd.DataFrame({
        "code": g["wijk"], "naam": g["wijk_naam"], "inwoners": g["inwoners"],
        "n": g["n"].astype("float64").where(~hidden),
        "per_1000": stats.rate_per_1000(g["n"], g["inwoners"]).where(~hidden & ~g["klein"]),
        "index": g["index"],
        "n_vorige": n_prev,
        "verandering_vorige": ch["verandering"].where(~either),
        "significant_vorige": ch["significant"] & ~either,
        "richting_vorige": ch["richting"].where(~either, 0),
        "onderdrukt": hidden.to_numpy(dtype=bool),
        "onderdrukt_vorige": prev_hidden.to_numpy(dtype=bool),
    })

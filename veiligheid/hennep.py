"""Hennepteelt: cases, the chain (funnel and lead times), signal sources, recidive, premises (plain Python).

The page "Hennepteelt" gets every figure from `overview` (aggregated and already protected by
veiligheid.disclosure for the viewer's policy) and, only for roles that may see them
(`Viewer.points`), case-level lists from `points`, `closures` and `stuck_list`.

Definitions (the extract has one row per case, see docs/extracts.md):
- Signal: a case with `signaaldatum` in the period. Dismantling (ruiming): `ruimingsdatum`.
- 13b decision: `besluit_13b` Waarschuwing or Sluiting of a dismantled case. The extract has no
  decision date, so decisions are counted with the dismantling they follow, and the lead time
  "ruiming -> sluiting" covers the decision and the closure together.
- Closure: `sluiting_begin`; reopening: `sluiting_eind` on or before the reference date (an end
  date after it is a planned end; an empty end means closed until further notice).
- The chain steps are nested: a step counts only when the step before it was reached.
- Repeat case (recidive): a case at an `adres_id` with a dismantling before this case's signal.
- The funnel and the lead times follow the cases signalled in the period up to what is known now
  (`asof`, the last day with data); "in force" and "stuck" are the state on the reference date
  (`ref`, the end of the period).
- Rates are per 1,000 inhabitants: the reference data has no number of homes per wijk
  (`homes_available` checks `wijk_kerncijfers`).
- The hennep table has no status column; should one appear, withdrawn cases ('vervallen') are left out.

Disclosure: every count the page shows is a "cell": a set of cases (a boolean mask over the case
rows). Cells that add up (tiles and their parts, wijken in stadsdelen in the city, months and the
period, sources and the funnel, premises with margins) are declared as relations and go through
`disclosure.protect` (primary and secondary suppression per table). Then the exact check of
`disclosure.recoverable` runs on a general model of all shown figures together (`Cells.general_system`):
groups of cases in exactly the same figures, remainders, and every difference of two nested figures
that is a small count are unknowns; while any hidden figure or small group can be solved from what is
shown, one more figure is hidden. Hidden values are replaced by NaN before they leave this module.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import disclosure, fmt, stats
from .disclosure import Policy
from .queries import _df, _rows

SOURCES = ("Politie", "Meld Misdaad Anoniem", "Netbeheerder", "Woningcorporatie", "Buurtbewoner", "Gemeente",
           "Overig")
PREMISES = ("Woning", "Bijgebouw", "Bedrijfspand", "Overig")
OWNERSHIP = ("Corporatie", "Particuliere verhuur", "Koop", "Onbekend")
DECISIONS = ("Waarschuwing", "Sluiting")

# the chain: step key -> label (nested: each step requires the one before)
STEPS = {
    "signaal": "Signaal",
    "ruiming": "Geruimd",
    "besluit": "13b-besluit",
    "sluiting": "Gesloten (13b)",
    "heropening": "Heropend",
}
# measurable transitions (the decision has no date in the extract): key -> (label, from column, to column, step)
TRANSITIONS = {
    "signaal_ruiming": ("Signaal → ruiming", "signaaldatum", "ruimingsdatum", "ruiming"),
    "ruiming_sluiting": ("Ruiming → sluiting (incl. 13b-besluit)", "ruimingsdatum", "sluiting_begin", "sluiting"),
    "sluiting_heropening": ("Sluiting → heropening (duur sluiting)", "sluiting_begin", "sluiting_eind", "heropening"),
    "signaal_sluiting": ("Signaal → sluiting (hele keten)", "signaaldatum", "sluiting_begin", "sluiting"),
}
# "stuck": the step a case is in on the reference date, the clock column, and the transition whose p90 is the norm
STUCK_STEPS = {
    "wacht_ruiming": ("Signaal, nog niet geruimd", "signaaldatum", "signaal_ruiming"),
    "wacht_sluiting": ("Sluiting besloten, nog niet gesloten", "ruimingsdatum", "ruiming_sluiting"),
    "gesloten": ("Gesloten, nog niet heropend", "sluiting_begin", "sluiting_heropening"),
}
MIN_NORM = 5  # completed transitions needed before a p90 norm is used
HOTSPOT_MIN = 2  # dismantlings in the period that make an area a hot spot (when the count may be shown)

CASE_COLUMNS = ("zaaknummer", "signaaldatum", "signaalbron", "ruimingsdatum", "aantal_planten", "type_pand", "eigendom",
                "stroomdiefstal", "besluit_13b", "sluiting_begin", "sluiting_eind", "adres_id", "buurtcode",
                "wijkcode", "lat", "lon")
DATE_COLUMNS = ("signaaldatum", "ruimingsdatum", "sluiting_begin", "sluiting_eind")


# ------------------------------------------------------------------ loading
def has_status(con) -> bool:
    """Does the hennep table carry a status column (withdrawn cases)?"""
    return bool(_rows(con, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'hennep' "
                           "AND column_name = 'status'")[0][0])


def homes_available(con) -> bool:
    """Does the reference data hold the number of homes (woningen) per area? (Then rates could be per 1,000 homes.)"""
    return bool(_rows(con, "SELECT count(*) FROM wijk_kerncijfers WHERE lower(kenmerk) IN ('woningen', "
                           "'woningvoorraad', 'aantal_woningen')")[0][0])


def load_cases(con) -> pd.DataFrame:
    """All current hennep cases of the gemeente, one row per case (internal: case level, never shown as is)."""
    where = "WHERE coalesce(status, 'actief') <> 'vervallen'" if has_status(con) else ""
    df = _df(con, f"SELECT {', '.join(CASE_COLUMNS)} FROM hennep {where} ORDER BY signaaldatum, zaaknummer")
    return normalise(df)


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Types and defaults: dates as Timestamps (midnight), missing codes as 'Overig'/'Onbekend'/'Geen'."""
    df = df.copy()
    for c in CASE_COLUMNS:
        if c not in df.columns:
            df[c] = None
    for c in DATE_COLUMNS:
        df[c] = pd.to_datetime(df[c], errors="coerce").dt.normalize()
    df["signaalbron"] = df["signaalbron"].where(df["signaalbron"].isin(SOURCES), "Overig")
    df["type_pand"] = df["type_pand"].where(df["type_pand"].isin(PREMISES), "Overig")
    df["eigendom"] = df["eigendom"].where(df["eigendom"].isin(OWNERSHIP), "Onbekend")
    df["besluit_13b"] = df["besluit_13b"].where(df["besluit_13b"].isin(DECISIONS), "Geen")
    df["stroomdiefstal"] = df["stroomdiefstal"].map(lambda v: bool(v) if v is not None and not pd.isna(v) else False)
    df["aantal_planten"] = pd.to_numeric(df["aantal_planten"], errors="coerce")
    df["adres_id"] = df["adres_id"].astype("object").where(df["adres_id"].notna(), None)
    df = df[df["signaaldatum"].notna()].reset_index(drop=True)
    df["herhaling"] = repeat_flags(df)
    return df


def _ts(d) -> pd.Timestamp:
    return pd.Timestamp(d).normalize()


def _between(s: pd.Series, lo, hi) -> pd.Series:
    return s.notna() & (s >= _ts(lo)) & (s <= _ts(hi))


def _on_or_before(s: pd.Series, d) -> pd.Series:
    return s.notna() & (s <= _ts(d))


# ------------------------------------------------------------------ the chain
def chain_masks(cases: pd.DataFrame, asof) -> dict[str, pd.Series]:
    """Per step, which cases have reached it by `asof` (nested: a step needs the one before)."""
    sig = _on_or_before(cases["signaaldatum"], asof)
    rui = sig & _on_or_before(cases["ruimingsdatum"], asof)
    warn = rui & (cases["besluit_13b"] == "Waarschuwing")
    close_dec = rui & (cases["besluit_13b"] == "Sluiting")
    closed = close_dec & _on_or_before(cases["sluiting_begin"], asof)
    reopened = closed & _on_or_before(cases["sluiting_eind"], asof)
    return {"signaal": sig, "ruiming": rui, "besluit": warn | close_dec, "waarschuwing": warn,
            "sluitingsbesluit": close_dec, "sluiting": closed, "heropening": reopened}


def funnel(cases: pd.DataFrame, start, end, asof) -> pd.Series:
    """Counts per chain step of the cases signalled in [start, end], as known on `asof`."""
    cohort = _between(cases["signaaldatum"], start, end)
    m = chain_masks(cases, asof)
    return pd.Series({k: int((cohort & v).sum()) for k, v in m.items()}, dtype="int64")


def durations(cases: pd.DataFrame, transition: str, asof, mask: pd.Series | None = None) -> pd.Series:
    """Days of one completed transition (both dates on or before `asof`; negative spans, i.e. bad dates, left out)."""
    _label, a, b, step = TRANSITIONS[transition]
    done = chain_masks(cases, asof)[step]
    if mask is not None:
        done = done & mask
    days = (cases.loc[done, b] - cases.loc[done, a]).dt.days
    return days[days >= 0]


def lead_times(cases: pd.DataFrame, start, end, asof) -> pd.DataFrame:
    """Per transition, for the cases signalled in [start, end]: n, median, p25, p75, p90 (days)."""
    cohort = _between(cases["signaaldatum"], start, end)
    rows = []
    for key, (label, _a, _b, step) in TRANSITIONS.items():
        d = durations(cases, key, asof, cohort)
        q = d.quantile([0.25, 0.5, 0.75, 0.9]) if len(d) else pd.Series([math.nan] * 4, index=[0.25, 0.5, 0.75, 0.9])
        rows.append({"overgang": key, "label": label, "stap": step, "n": int(len(d)), "mediaan": float(q[0.5]),
                     "p25": float(q[0.25]), "p75": float(q[0.75]), "p90": float(q[0.9])})
    return pd.DataFrame(rows)


def norms(cases: pd.DataFrame, ref) -> dict[str, float]:
    """p90 (days) of the completed transitions up to `ref`, city-wide: what 'longer than usual' means.

    NaN when fewer than MIN_NORM transitions were completed."""
    out = {}
    for key in TRANSITIONS:
        d = durations(cases, key, ref)
        out[key] = float(d.quantile(0.9)) if len(d) >= MIN_NORM else math.nan
    return out


def stuck(cases: pd.DataFrame, ref, norm: dict[str, float] | None = None) -> pd.DataFrame:
    """Cases that on `ref` have been in their current step longer than the p90 of that step.

    Returns the case rows with columns stap, sinds, dagen, norm_dagen (one step per case)."""
    norm = norms(cases, ref) if norm is None else norm
    m = chain_masks(cases, ref)
    in_step = {
        "wacht_ruiming": m["signaal"] & ~m["ruiming"],
        "wacht_sluiting": m["sluitingsbesluit"] & ~m["sluiting"],
        "gesloten": m["sluiting"] & ~m["heropening"],
    }
    parts = []
    for key, (_label, clock, transition) in STUCK_STEPS.items():
        limit = norm.get(transition, math.nan)
        if math.isnan(limit):
            continue
        sel = cases[in_step[key]].copy()
        sel["dagen"] = (_ts(ref) - sel[clock]).dt.days
        sel = sel[sel["dagen"] > limit]
        sel["stap"], sel["sinds"], sel["norm_dagen"] = key, sel[clock], limit
        parts.append(sel)
    if not parts:
        return cases.iloc[0:0].assign(stap=pd.Series(dtype=object), sinds=pd.Series(dtype="datetime64[ns]"),
                                      dagen=pd.Series(dtype="int64"), norm_dagen=pd.Series(dtype=float))
    return pd.concat(parts)


def stuck_masks(cases: pd.DataFrame, ref) -> dict[str, pd.Series]:
    st = stuck(cases, ref)
    return {k: pd.Series(cases.index.isin(st.index[st["stap"] == k]), index=cases.index) for k in STUCK_STEPS}


# ------------------------------------------------------------------ sources, recidive
def hit_rates(cases: pd.DataFrame, start, end, asof) -> pd.DataFrame:
    """Per signal source, the cases signalled in [start, end]: signalen, geruimd (by asof), trefkans."""
    cohort = _between(cases["signaaldatum"], start, end)
    rui = chain_masks(cases, asof)["ruiming"]
    rows = [{"bron": s, "signalen": int((cohort & (cases["signaalbron"] == s)).sum()),
             "geruimd": int((cohort & rui & (cases["signaalbron"] == s)).sum())} for s in SOURCES]
    df = pd.DataFrame(rows)
    df["trefkans"] = np.where(df["signalen"] > 0, df["geruimd"] / df["signalen"].where(df["signalen"] > 0, 1), np.nan)
    return df


def repeat_flags(cases: pd.DataFrame) -> pd.Series:
    """True for a case at an adres_id that had a dismantling before this case's signal."""
    out = pd.Series(False, index=cases.index)
    has = cases["adres_id"].notna()
    for _addr, grp in cases[has].groupby("adres_id"):
        if len(grp) < 2:
            continue
        for i, row in grp.iterrows():
            earlier = grp["ruimingsdatum"].notna() & (grp["ruimingsdatum"] < row["signaaldatum"]) & (grp.index != i)
            out.at[i] = bool(earlier.any())
    return out


def first_repeat(cases: pd.DataFrame, ref) -> pd.Series:
    """One case per repeat address (its first repeat case signalled on or before `ref`): counts addresses."""
    rep = cases["herhaling"] & _on_or_before(cases["signaaldatum"], ref)
    sel = cases[rep].sort_values(["signaaldatum", "zaaknummer"])
    firsts = sel.drop_duplicates("adres_id").index
    return pd.Series(cases.index.isin(firsts), index=cases.index)


# ------------------------------------------------------------------ time buckets
def months(first, last) -> list[pd.Timestamp]:
    """Month starts from the month of `first` to the month of `last`."""
    a, b = _ts(first).to_period("M"), _ts(last).to_period("M")
    return [p.to_timestamp() for p in pd.period_range(a, b, freq="M")]


def trend_months(period_start, ref, data_first) -> list[pd.Timestamp]:
    """The months of the trend: at least the 12 months up to `ref`, and the whole period; never before the data."""
    first = min(_ts(period_start), (_ts(ref) - pd.DateOffset(months=11)).to_period("M").to_timestamp())
    if data_first is not None and not pd.isna(data_first):
        first = max(first, _ts(data_first).to_period("M").to_timestamp())
    if first > _ts(ref):
        first = _ts(ref).to_period("M").to_timestamp()
    return months(first, ref)


def month_label(m: pd.Timestamp) -> str:
    return f"{fmt.MONTHS_SHORT[m.month - 1]} {m.year}"


# ------------------------------------------------------------------ cells and their protection
@dataclass
class Cells:
    """Counts as sets of cases, with the relations between them (see the module docstring).

    Shown cells are figures on the page. Implicit cells (remainders, parts of months) are never shown,
    but a reader can compute them from shown figures, so they are protected as well."""
    index: pd.Index
    masks: dict[Hashable, np.ndarray] = field(default_factory=dict)
    shown: list[Hashable] = field(default_factory=list)
    relations: list[tuple[Hashable, list[Hashable]]] = field(default_factory=list)

    def add(self, key: Hashable, mask, shown: bool = True) -> Hashable:
        m = np.asarray(mask, dtype=bool)
        if key in self.masks:
            if not np.array_equal(self.masks[key], m):
                raise ValueError(f"cell {key!r} declared twice with different cases")
        else:
            self.masks[key] = m
            if shown:
                self.shown.append(key)
        return key

    def value(self, key) -> int:
        return int(self.masks[key].sum())

    def partition(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """total = sum(parts) (+ an implicit rest for the cases of total in no part). Parts must be disjoint subsets."""
        parts = list(parts)
        t = self.masks[total]
        union = np.zeros_like(t)
        for p in parts:
            m = self.masks[p]
            if (m & ~t).any():
                raise ValueError(f"{p!r} is not part of {total!r}")
            if (m & union).any():
                raise ValueError(f"parts of {total!r} overlap at {p!r}")
            union |= m
        rest = t & ~union
        if rest.any():
            parts.append(self.add(("rest", total, tuple(parts)), rest, shown=False))
        if parts:
            self.relations.append((total, parts))

    def values(self) -> dict[Hashable, float]:
        return {k: float(m.sum()) for k, m in self.masks.items()}

    def general_system(self, policy: Policy) -> tuple[dict, list, set]:
        """The shown cells as sums of case groups ("atoms": cases in exactly the same shown cells).

        Returns (values, relations, must). Besides the shown cells and the atoms, the system holds as
        cells of their own: the declared implicit cells (remainders, parts of months), and for every two
        shown cells A ⊆ B whose difference is a small count, that difference. These are never shown,
        so they are unknowns for a reader; `must` are those that may not be recoverable: small atoms,
        small differences and small implicit cells. This model knows every linear relation between the
        shown figures, also across tables, which the declared relations may miss."""
        shown = [k for k in self.shown if self.masks[k].any()]
        values = {k: float(self.masks[k].sum()) for k in shown}
        if not shown:
            return values, [], set()
        mat = np.column_stack([self.masks[k] for k in shown])
        rows = np.nonzero(mat.any(axis=1))[0]
        patterns, inverse, counts = np.unique(mat[rows], axis=0, return_inverse=True, return_counts=True)
        inverse = np.asarray(inverse).reshape(-1)
        atoms = [("atoom", i) for i in range(len(counts))]
        values.update({a: float(n) for a, n in zip(atoms, counts)})
        rels = [(k, [atoms[i] for i in np.nonzero(patterns[:, j])[0]]) for j, k in enumerate(shown)]
        must = {a for a in atoms if policy.small(values[a])}
        atom_of = np.full(len(self.index), -1)
        atom_of[rows] = inverse

        def as_atoms(mask: np.ndarray) -> list | None:
            ids = set(atom_of[mask].tolist())
            if -1 in ids or any(((atom_of == i) & ~mask).any() for i in ids):
                return None  # not a union of atoms: a reader cannot compute it from the shown cells
            return [atoms[i] for i in sorted(ids)]

        for k, m in self.masks.items():
            if k in values or not m.any():
                continue
            parts = as_atoms(m)
            if parts is not None:
                values[k] = float(m.sum())
                rels.append((k, parts))
                if policy.small(values[k]):
                    must.add(k)
        inter = mat.T.astype(np.int32) @ mat.astype(np.int32)
        size = np.diag(inter)
        for i, a in enumerate(shown):
            for j, b in enumerate(shown):
                if i != j and inter[i, j] == size[i] and policy.small(size[j] - size[i]):
                    key = ("verschil", b, a)
                    values[key] = float(size[j] - size[i])
                    rels.append((key, [atoms[x] for x in np.nonzero(patterns[:, j] & ~patterns[:, i])[0]]))
                    must.add(key)
        return values, rels, must

    def protect(self, policy: Policy, rank=None) -> tuple[set[Hashable], bool]:
        """(hidden cells, shown and implicit; whether the system failed closed).

        1. disclosure.protect on the declared relations: primary and secondary suppression per table;
        2. the exact check in the general model (`general_system`) with disclosure.recoverable: while a
           hidden figure, a small case group, a small remainder or a small difference can be solved from
           the shown figures, hide a shown figure that the solution uses (the one `rank` gives up first,
           then the smallest) and check again.
        Failing closed: when disclosure.protect finds no complement, every non-zero cell of that part is
        hidden; when step 2 does not converge, every shown figure is hidden."""
        if not policy.active:
            return set(), False
        rank = rank or (lambda k: 0)
        values = self.values()
        hidden: set[Hashable] = set()
        failed = False
        for comp_values, comp_rels in _components(values, self.relations):
            try:
                hidden |= disclosure.protect(comp_values, comp_rels, policy)
            except AssertionError:
                failed = True
                hidden |= {k for k, v in comp_values.items() if v > 0}
        g_values, g_rels, must = self.general_system(policy)
        shown = [k for k in self.shown if k in g_values]
        order = {k: i for i, k in enumerate(self.shown)}
        cols = list(g_values)
        col = {k: i for i, k in enumerate(cols)}
        a = np.zeros((len(g_rels), len(cols)))
        for r, (t, parts) in enumerate(g_rels):
            a[r, col[t]] -= 1.0
            for p in parts:
                a[r, col[p]] += 1.0
        for _ in range(len(shown) + 1):
            known = [k for k in shown if k not in hidden]
            unknown = set(cols) - set(known)
            bad = disclosure.recoverable(g_values, g_rels, unknown) & (must | (hidden & set(shown)))
            if not bad:
                return hidden, failed
            u_idx = [col[k] for k in cols if k in unknown]
            pos = {c: i for i, c in enumerate(u_idx)}
            a_u, a_k = a[:, u_idx], a[:, [col[k] for k in known]]
            # for a recoverable unknown u: e_u = a_u.T @ y has a solution y, and u = -(a_k.T @ y) . known:
            # the known figures with a non-zero weight are the ones the subtraction uses
            weights = a_k.T @ np.linalg.pinv(a_u.T)
            uses = {t: {known[i] for i in np.nonzero(np.abs(weights[:, pos[col[t]]]) > 1e-7)[0]} for t in bad}
            uses = {t: u for t, u in uses.items() if u}
            picks = set()
            while uses:  # greedy cover: the figure that most subtractions use, headline figures last
                count: dict = {}
                for u in uses.values():
                    for k in u:
                        count[k] = count.get(k, 0) + 1
                pick = min(count, key=lambda k: (rank(k) >= 6, -count[k], rank(k), values[k], order[k]))
                picks.add(pick)
                uses = {t: u for t, u in uses.items() if pick not in u}
            if not picks:
                picks = {min(known, key=lambda k: (rank(k), values[k], order[k]))}
            hidden |= picks
        return hidden | set(shown), True


def _components(values: dict, relations: list) -> list[tuple[dict, list]]:
    """Split the system into independent parts (cells linked by relations): same answer, much faster."""
    rels = [(t, [p for p in parts if p in values]) for t, parts in relations if t in values]
    return [({k: values[k] for k in cells}, crels) for cells, crels in disclosure.components(values, rels)]


# ------------------------------------------------------------------ the page's figures
@dataclass
class Overview:
    """Everything the page shows, aggregated and protected (hidden counts are NaN, with a bool column beside)."""
    policy: Policy
    start: dt.date
    end: dt.date
    ref: dt.date  # state date (closures in force, stuck cases)
    asof: dt.date  # what is known (funnel, lead times)
    n_cases: int  # cases in the warehouse (0: nothing loaded yet)
    tiles: pd.DataFrame  # key, label, n, verborgen
    plants: float  # NaN when hidden or none
    funnel: pd.DataFrame  # stap, label, n, verborgen, pct_signaal
    lead: pd.DataFrame  # overgang, label, n, verborgen, mediaan, p25, p75, p90
    norms: dict
    stuck: pd.DataFrame  # stap, label, n, verborgen, norm_dagen
    sources: pd.DataFrame  # bron, signalen, geruimd, trefkans, *_verborgen
    sources_year: pd.DataFrame  # bron, jaar, signalen, geruimd, trefkans, *_verborgen
    areas: dict  # 'wijk'/'stadsdeel' -> code, naam, stadsdeel, inwoners, n, onderdrukt, per_1000, index, herhaling, adressen, hotspot
    area_total: dict  # n / herhaling / adressen of the selection (NaN when hidden) and their flags
    premises: pd.DataFrame  # type_pand x eigendom (+ 'Totaal' row and column), NaN hidden
    premises_hidden: pd.DataFrame
    monthly: pd.DataFrame  # maand, label, signalen, ruimingen, *_verborgen, in_periode
    homes: bool
    failed_closed: bool = False
    system: dict = field(default_factory=dict, repr=False)  # only with_system: the Cells and the hidden set (tests)


def _rank(*headline):
    """What secondary suppression gives up first: details before totals, the headline figures last."""
    order = {"bronjaar": 0, "maand": 1, "pand_eigendom": 1, "herhaling": 2, "adressen": 2, "ruimingen": 2,
             "bron": 3, "pand": 3, "eigendom": 3, "vast": 3, "keten": 4, "tegel": 5}

    def rank(key) -> int:
        if key in headline:
            return 9
        if key[:2] in (("ruimingen", "stad"), ("keten", "ruiming")):
            return 6
        return order.get(key[0], 4)
    return rank


def _area_frames(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    wijken = _df(con, """SELECT b.buurtcode AS code, b.buurtnaam AS naam, b.wijkcode AS stadsdeel_code,
                                w.stadsdeel, coalesce(b.inwoners, 0) AS inwoners
                         FROM buurten b JOIN wijken w USING (wijkcode) ORDER BY b.buurtcode""")
    sds = _df(con, """SELECT wijkcode AS code, stadsdeel AS naam, stadsdeel, coalesce(inwoners, 0) AS inwoners
                      FROM wijken ORDER BY wijkcode""")
    return wijken, sds


def overview(con, period, stadsdeel: str | None, wijk: str | None, data_end: dt.date, policy: Policy) -> Overview:
    """All figures of the page for a period and area, protected for `policy`."""
    cases = load_cases(con)
    wijken, sds = _area_frames(con)
    return build_overview(cases, wijken, sds, period.start, period.end, stadsdeel, wijk, data_end, policy,
                          homes_available(con))


def build_overview(cases: pd.DataFrame, wijken: pd.DataFrame, sds: pd.DataFrame, start: dt.date, end: dt.date,
                   stadsdeel: str | None, wijk: str | None, data_end: dt.date, policy: Policy,
                   homes: bool = False, with_system: bool = False) -> Overview:
    """The figures of `overview` from case rows (see there); with_system keeps the disclosure system (tests)."""
    asof = data_end
    ref = min(end, data_end)
    idx = cases.index
    c = Cells(idx)
    if wijk:
        area = (cases["buurtcode"] == wijk).to_numpy()
    elif stadsdeel:
        area = (cases["wijkcode"] == stadsdeel).to_numpy()
    else:
        area = np.ones(len(cases), dtype=bool)
    sig_p = _between(cases["signaaldatum"], start, ref).to_numpy()
    rui_p = _between(cases["ruimingsdatum"], start, ref).to_numpy()
    chain = {k: v.to_numpy() for k, v in chain_masks(cases, asof).items()}
    state = {k: v.to_numpy() for k, v in chain_masks(cases, ref).items()}

    # --- areas: wijken in stadsdelen in the city (both levels, so switching the map cannot be used to subtract)
    def area_cells(prefix: str, base: np.ndarray) -> None:
        city = c.add((prefix, "stad"), base)
        sd_keys = []
        for _, s in sds.iterrows():
            sd_key = c.add((prefix, "stadsdeel", s["code"]), base & (cases["wijkcode"] == s["code"]).to_numpy())
            sd_keys.append(sd_key)
            w_keys = [c.add((prefix, "wijk", w), base & (cases["buurtcode"] == w).to_numpy())
                      for w in wijken.loc[wijken["stadsdeel_code"] == s["code"], "code"]]
            c.partition(sd_key, w_keys)
        c.partition(city, sd_keys)

    def sel_key(prefix: str):
        return (prefix, "wijk", wijk) if wijk else (prefix, "stadsdeel", stadsdeel) if stadsdeel else (prefix, "stad")

    area_cells("ruimingen", rui_p)
    rep_p = (cases["herhaling"].to_numpy() & sig_p)
    area_cells("herhaling", rep_p)
    area_cells("adressen", first_repeat(cases, ref).to_numpy())

    # --- tiles
    t_sig = c.add(("tegel", "signalen"), area & sig_p)
    t_dis = sel_key("ruimingen")
    t_theft = c.add(("tegel", "stroomdiefstal"), area & rui_p & cases["stroomdiefstal"].to_numpy())
    c.partition(t_dis, [t_theft])
    t_warn = c.add(("tegel", "waarschuwing"), area & rui_p & (cases["besluit_13b"] == "Waarschuwing").to_numpy())
    t_sclose = c.add(("tegel", "sluitingsbesluit"), area & rui_p & (cases["besluit_13b"] == "Sluiting").to_numpy())
    c.partition(t_dis, [t_warn, t_sclose])
    t_started = c.add(("tegel", "sluitingen_gestart"), area & _between(cases["sluiting_begin"], start, ref).to_numpy())
    t_force = c.add(("tegel", "sluitingen_van_kracht"), area & state["sluiting"] & ~state["heropening"])

    # --- premises of the dismantlings in the period (type x eigendom with margins; grand total = tile)
    ptype = {t: c.add(("pand", t), area & rui_p & (cases["type_pand"] == t).to_numpy()) for t in PREMISES}
    powner = {e: c.add(("eigendom", e), area & rui_p & (cases["eigendom"] == e).to_numpy()) for e in OWNERSHIP}
    pcell = {(t, e): c.add(("pand_eigendom", t, e), area & rui_p & (cases["type_pand"] == t).to_numpy()
                           & (cases["eigendom"] == e).to_numpy()) for t in PREMISES for e in OWNERSHIP}
    c.partition(t_dis, list(ptype.values()))
    c.partition(t_dis, list(powner.values()))
    for t in PREMISES:
        c.partition(ptype[t], [pcell[(t, e)] for e in OWNERSHIP])
    for e in OWNERSHIP:
        c.partition(powner[e], [pcell[(t, e)] for t in PREMISES])

    # --- the funnel of the cases signalled in the period (as known on asof)
    cohort = area & sig_p
    f = {k: c.add(("keten", k), cohort & chain[k]) if k != "signaal" else t_sig
         for k in ("signaal", "ruiming", "besluit", "waarschuwing", "sluitingsbesluit", "sluiting", "heropening")}
    c.partition(f["signaal"], [f["ruiming"]])
    c.partition(f["ruiming"], [f["besluit"]])
    c.partition(f["besluit"], [f["waarschuwing"], f["sluitingsbesluit"]])
    c.partition(f["sluitingsbesluit"], [f["sluiting"]])
    c.partition(f["sluiting"], [f["heropening"]])

    # --- sources of the same cases
    src = cases["signaalbron"].to_numpy()
    s_sig = {s: c.add(("bron", "signalen", s), cohort & (src == s)) for s in SOURCES}
    s_rui = {s: c.add(("bron", "geruimd", s), cohort & chain["ruiming"] & (src == s)) for s in SOURCES}
    c.partition(t_sig, list(s_sig.values()))
    c.partition(f["ruiming"], list(s_rui.values()))
    for s in SOURCES:
        c.partition(s_sig[s], [s_rui[s]])

    # --- months (signals and dismantlings per month, up to ref) and their link with the period
    data_first = cases["signaaldatum"].min() if len(cases) else None
    mlist = trend_months(start, ref, data_first)
    for what, col, tile in (("signalen", "signaaldatum", t_sig), ("ruimingen", "ruimingsdatum", t_dis)):
        in_parts = []
        for m in mlist:
            m_end = min(m + pd.offsets.MonthEnd(0), _ts(ref))
            mm = area & _between(cases[col], m, m_end).to_numpy()
            key = c.add(("maand", what, m.strftime("%Y-%m")), mm)
            inside = mm & _between(cases[col], start, ref).to_numpy()
            if not inside.any() and not (m >= _ts(start) and m_end <= _ts(ref)):
                continue
            if m >= _ts(start) and m_end <= _ts(ref):
                in_parts.append(key)
            else:  # a month partly in the period: its part inside and outside are implicit cells
                k_in = c.add(("maanddeel", what, m.strftime("%Y-%m"), "in"), inside, shown=False)
                c.partition(key, [k_in])
                in_parts.append(k_in)
        c.partition(tile, in_parts)

    # --- hit rates per source per calendar year (signals up to ref; dismantled as known on asof)
    years = list(range(max(_ts(data_first).year if data_first is not None and not pd.isna(data_first) else ref.year,
                           ref.year - 3), ref.year + 1))
    sig_ref = _on_or_before(cases["signaaldatum"], ref).to_numpy()
    sig_year = cases["signaaldatum"].dt.year.to_numpy()
    for y in years:
        in_y = area & sig_ref & (sig_year == y)
        y_sig = {s: c.add(("bronjaar", "signalen", s, y), in_y & (src == s)) for s in SOURCES}
        y_rui = {s: c.add(("bronjaar", "geruimd", s, y), in_y & chain["ruiming"] & (src == s)) for s in SOURCES}
        for s in SOURCES:
            c.partition(y_sig[s], [y_rui[s]])

    # --- stuck cases on ref (counts; the list itself is for the analist role only)
    stuck_m = {k: v.to_numpy() for k, v in stuck_masks(cases, ref).items()}
    st_keys = {k: c.add(("vast", k), area & stuck_m[k]) for k in STUCK_STEPS}
    st_total = c.add(("vast", "totaal"), area & np.logical_or.reduce([stuck_m[k] for k in STUCK_STEPS]))
    c.partition(st_total, list(st_keys.values()))

    hidden, failed = c.protect(policy, _rank(t_sig, t_dis))

    def val(key) -> float:
        return math.nan if key in hidden else float(c.value(key))

    def hid(key) -> bool:
        return key in hidden

    # ------------------------------------------------------------------ frames
    tile_rows = [
        ("signalen", "Signalen", t_sig),
        ("ruimingen", "Ruimingen", t_dis),
        ("stroomdiefstal", "Met stroomdiefstal", t_theft),
        ("waarschuwing", "13b: waarschuwing", t_warn),
        ("sluitingsbesluit", "13b: sluiting", t_sclose),
        ("sluitingen_gestart", "Sluitingen gestart", t_started),
        ("sluitingen_van_kracht", "Sluitingen van kracht", t_force),
    ]
    tiles = pd.DataFrame([{"key": k, "label": lab, "n": val(key), "verborgen": hid(key)} for k, lab, key in tile_rows])
    dis_mask = c.masks[t_dis]
    plants = float(cases.loc[dis_mask, "aantal_planten"].sum(min_count=1)) if dis_mask.any() else 0.0
    if hid(t_dis) or (policy.active and 0 < c.value(t_dis) < policy.threshold):
        plants = math.nan

    fun_rows = []
    n_sig = c.value(t_sig)
    for k in ("signaal", "ruiming", "besluit", "waarschuwing", "sluitingsbesluit", "sluiting", "heropening"):
        n = val(f[k])
        fun_rows.append({"stap": k, "label": STEPS.get(k, {"waarschuwing": "waarvan waarschuwing",
                                                             "sluitingsbesluit": "waarvan sluitingsbesluit"}.get(k)),
                         "n": n, "verborgen": hid(f[k]),
                         "pct_signaal": n / n_sig if n_sig and not math.isnan(n) and not hid(t_sig) else math.nan})
    funnel_df = pd.DataFrame(fun_rows)

    lt = lead_times(cases[area], start, ref, asof)
    step_key = {"ruiming": f["ruiming"], "sluiting": f["sluiting"], "heropening": f["heropening"]}
    lt["verborgen"] = [hid(step_key[s]) for s in lt["stap"]]
    # medians over fewer than the threshold (or over a hidden count) are not shown to a protected role
    few = lt["verborgen"] | (policy.active & (lt["n"] < policy.threshold))
    for col in ("mediaan", "p25", "p75", "p90"):
        lt[col] = lt[col].where(~few)
    if policy.active:  # the n beside a median is the funnel's own (protected) count, nothing else
        same = np.array([n == c.value(step_key[s]) for n, s in zip(lt["n"], lt["stap"])])
        lt.loc[~same, ["mediaan", "p25", "p75", "p90"]] = math.nan
        lt["verborgen"] = lt["verborgen"] | ~same
    lt["n"] = lt["n"].astype(float).where(~lt["verborgen"])

    nrm = norms(cases, ref)
    stuck_df = pd.DataFrame([{"stap": k, "label": lab, "n": val(st_keys[k]), "verborgen": hid(st_keys[k]),
                              "norm_dagen": nrm.get(tr, math.nan)} for k, (lab, _c, tr) in STUCK_STEPS.items()])

    srows = []
    for s in SOURCES:
        a, b = val(s_sig[s]), val(s_rui[s])
        srows.append({"bron": s, "signalen": a, "geruimd": b, "signalen_verborgen": hid(s_sig[s]),
                      "geruimd_verborgen": hid(s_rui[s]),
                      "trefkans": b / a if not (math.isnan(a) or math.isnan(b)) and a > 0 else math.nan})
    sources_df = pd.DataFrame(srows)

    yrows = []
    for y in years:
        for s in SOURCES:
            ka, kb = ("bronjaar", "signalen", s, y), ("bronjaar", "geruimd", s, y)
            a, b = val(ka), val(kb)
            yrows.append({"bron": s, "jaar": y, "signalen": a, "geruimd": b, "signalen_verborgen": hid(ka),
                          "geruimd_verborgen": hid(kb),
                          "trefkans": b / a if not (math.isnan(a) or math.isnan(b)) and a > 0 else math.nan})
    sources_year = pd.DataFrame(yrows, columns=["bron", "jaar", "signalen", "geruimd", "signalen_verborgen",
                                                "geruimd_verborgen", "trefkans"])

    # areas at both map levels (protected together above)
    city_inh = float(sds["inwoners"].sum())
    city_key = ("ruimingen", "stad")
    city_rate = stats.rate_per_1000(c.value(city_key), city_inh) if not hid(city_key) else math.nan
    hot_min = max(HOTSPOT_MIN, policy.threshold) if policy.active else HOTSPOT_MIN
    areas = {}
    for lvl, frame in (("wijk", wijken), ("stadsdeel", sds)):
        rows = []
        for _, a in frame.iterrows():
            inh = float(a["inwoners"])
            kd, kr, ka = ("ruimingen", lvl, a["code"]), ("herhaling", lvl, a["code"]), ("adressen", lvl, a["code"])
            n = val(kd)
            rate = stats.rate_per_1000(n, inh) if inh >= 100 and not math.isnan(n) else math.nan
            rows.append({"code": a["code"], "naam": a["naam"], "stadsdeel": a["stadsdeel"], "inwoners": int(inh),
                         "n": n, "onderdrukt": hid(kd), "per_1000": rate,
                         "index": stats.index_vs(rate, city_rate) if not math.isnan(rate) else math.nan,
                         "herhaling": val(kr), "herhaling_verborgen": hid(kr),
                         "adressen": val(ka), "adressen_verborgen": hid(ka)})
        df = pd.DataFrame(rows)
        df["hotspot"] = df["n"].fillna(0) >= hot_min
        areas[lvl] = df
    area_total = {"n": val(t_dis), "n_verborgen": hid(t_dis),
                  "herhaling": val(sel_key("herhaling")), "herhaling_verborgen": hid(sel_key("herhaling")),
                  "adressen": val(sel_key("adressen")), "adressen_verborgen": hid(sel_key("adressen"))}

    prem = pd.DataFrame(index=[*PREMISES, "Totaal"], columns=[*OWNERSHIP, "Totaal"], dtype=float)
    prem_h = pd.DataFrame(False, index=prem.index, columns=prem.columns)
    for t in PREMISES:
        for e in OWNERSHIP:
            prem.at[t, e], prem_h.at[t, e] = val(pcell[(t, e)]), hid(pcell[(t, e)])
        prem.at[t, "Totaal"], prem_h.at[t, "Totaal"] = val(ptype[t]), hid(ptype[t])
    for e in OWNERSHIP:
        prem.at["Totaal", e], prem_h.at["Totaal", e] = val(powner[e]), hid(powner[e])
    prem.at["Totaal", "Totaal"], prem_h.at["Totaal", "Totaal"] = val(t_dis), hid(t_dis)

    mrows = []
    for m in mlist:
        ks, kr = ("maand", "signalen", m.strftime("%Y-%m")), ("maand", "ruimingen", m.strftime("%Y-%m"))
        m_end = min(m + pd.offsets.MonthEnd(0), _ts(ref))
        mrows.append({"maand": m, "label": month_label(m), "signalen": val(ks), "signalen_verborgen": hid(ks),
                      "ruimingen": val(kr), "ruimingen_verborgen": hid(kr),
                      "in_periode": bool(m_end >= _ts(start) and m <= _ts(ref)),
                      "onvolledig": bool(m_end < m + pd.offsets.MonthEnd(0))})
    monthly = pd.DataFrame(mrows, columns=["maand", "label", "signalen", "signalen_verborgen", "ruimingen",
                                           "ruimingen_verborgen", "in_periode", "onvolledig"])

    return Overview(policy=policy, start=start, end=end, ref=ref, asof=asof, n_cases=len(cases),
                    tiles=tiles, plants=plants, funnel=funnel_df, lead=lt, norms=nrm, stuck=stuck_df,
                    sources=sources_df, sources_year=sources_year, areas=areas, area_total=area_total,
                    premises=prem, premises_hidden=prem_h, monthly=monthly, homes=homes, failed_closed=failed,
                    system={"cells": c, "hidden": hidden} if with_system else {})


# ------------------------------------------------------------------ case-level lists (only for Viewer.points)
def _named(con, df: pd.DataFrame) -> pd.DataFrame:
    wijken, sds = _area_frames(con)
    names = dict(zip(wijken["code"], wijken["naam"]))
    sdn = dict(zip(sds["code"], sds["naam"]))
    return df.assign(wijk=df["buurtcode"].map(names).fillna("–"), stadsdeel=df["wijkcode"].map(sdn).fillna("–"))


def _area_filter(df: pd.DataFrame, stadsdeel: str | None, wijk: str | None) -> pd.DataFrame:
    if wijk:
        return df[df["buurtcode"] == wijk]
    if stadsdeel:
        return df[df["wijkcode"] == stadsdeel]
    return df


def status_on(cases: pd.DataFrame, ref) -> pd.Series:
    """The chain status of each case on `ref`, in Dutch."""
    m = chain_masks(cases, ref)
    out = pd.Series("Signaal, nog niet geruimd", index=cases.index, dtype=object)
    out[m["ruiming"]] = "Geruimd"
    out[m["waarschuwing"]] = "Geruimd, 13b-waarschuwing"
    out[m["sluitingsbesluit"]] = "Geruimd, sluiting besloten"
    out[m["sluiting"]] = "Gesloten (13b)"
    out[m["heropening"]] = "Heropend"
    return out


def points(con, period, stadsdeel: str | None, wijk: str | None, ref: dt.date) -> pd.DataFrame:
    """Cases with a signal or dismantling in the period, or closed on ref, with their location (analist only)."""
    cases = load_cases(con)
    sel = (_between(cases["signaaldatum"], period.start, ref) | _between(cases["ruimingsdatum"], period.start, ref)
           | (chain_masks(cases, ref)["sluiting"] & ~chain_masks(cases, ref)["heropening"]))
    df = _area_filter(cases[sel], stadsdeel, wijk).copy()
    df["status"] = status_on(df, ref)
    return _named(con, df)


def closures(con, ref: dt.date, stadsdeel: str | None = None, wijk: str | None = None) -> pd.DataFrame:
    """Closures in force on ref (begun, not ended), soonest end first (analist only)."""
    cases = load_cases(con)
    m = chain_masks(cases, ref)
    df = _area_filter(cases[m["sluiting"] & ~m["heropening"]], stadsdeel, wijk).copy()
    df["dagen_gesloten"] = (_ts(ref) - df["sluiting_begin"]).dt.days
    df = df.sort_values(["sluiting_eind", "sluiting_begin"], na_position="last")
    return _named(con, df)


def stuck_list(con, ref: dt.date, stadsdeel: str | None = None, wijk: str | None = None) -> pd.DataFrame:
    """Cases in a step longer than the p90 of that step on ref (analist only)."""
    cases = load_cases(con)
    st = _area_filter(stuck(cases, ref), stadsdeel, wijk).copy()
    st["stap_label"] = st["stap"].map({k: v[0] for k, v in STUCK_STEPS.items()})
    return _named(con, st.sort_values("dagen", ascending=False))

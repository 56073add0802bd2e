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
period, sources and the funnel, premises with margins) are declared as relations. A reader can open
every area view (city, each stadsdeel, each wijk) for the same period and subtract across them (a
stadsdeel's tile minus its wijken's tiles), so the cells of ALL area views of a period are protected
together, once (`city_protection`, cached): each view's own tables and each figure's area hierarchy are
modules of `disclosure.protect_modular`; then the exact check in the case model (`Cells.check`: groups of
cases in exactly the same figures, remainders and small differences of nested figures are unknowns)
runs over all views at once. A view takes its hidden cells from that one result and seeds its own
protection with them (`Cells.protect(hide=...)`), so a figure shown in two views is hidden in both or
neither. Hidden values are replaced by NaN before they leave this module.
"""
from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

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


def durations(cases: pd.DataFrame, transition: str, asof, mask: pd.Series | None = None,
              chain: dict[str, pd.Series] | None = None) -> pd.Series:
    """Days of one completed transition (both dates on or before `asof`; negative spans, i.e. bad dates, left out).
    `chain`: `chain_masks(cases, asof)`, when the caller has them (one per call otherwise)."""
    _label, a, b, step = TRANSITIONS[transition]
    done = (chain if chain is not None else chain_masks(cases, asof))[step]
    if mask is not None:
        done = done & mask
    days = (cases.loc[done, b] - cases.loc[done, a]).dt.days
    return days[days >= 0]


def lead_times(cases: pd.DataFrame, start, end, asof) -> pd.DataFrame:
    """Per transition, for the cases signalled in [start, end]: n, median, p25, p75, p90 (days)."""
    cohort = _between(cases["signaaldatum"], start, end)
    chain = chain_masks(cases, asof)
    rows = []
    for key, (label, _a, _b, step) in TRANSITIONS.items():
        d = durations(cases, key, asof, cohort, chain)
        q = d.quantile([0.25, 0.5, 0.75, 0.9]) if len(d) else pd.Series([math.nan] * 4, index=[0.25, 0.5, 0.75, 0.9])
        rows.append({"overgang": key, "label": label, "stap": step, "n": int(len(d)), "mediaan": float(q[0.5]),
                     "p25": float(q[0.25]), "p75": float(q[0.75]), "p90": float(q[0.9])})
    return pd.DataFrame(rows)


def norms(cases: pd.DataFrame, ref) -> dict[str, float]:
    """p90 (days) of the completed transitions up to `ref`, city-wide: what 'longer than usual' means.

    NaN when fewer than MIN_NORM transitions were completed."""
    out = {}
    chain = chain_masks(cases, ref)
    for key in TRANSITIONS:
        d = durations(cases, key, ref, chain=chain)
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


def stuck_masks(cases: pd.DataFrame, ref, norm: dict[str, float] | None = None) -> dict[str, pd.Series]:
    st = stuck(cases, ref, norm)
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
    """True for a case at an adres_id where another case had a dismantling before this case's signal.

    Vectorised (a loop over addresses took 4.7 s per call at regional scale, bench/profile_hennep_repeat.py):
    per address the earliest dismantling of *another* case is the earliest one, or for the case that has
    the earliest itself the second earliest."""
    out = pd.Series(False, index=cases.index)
    has = cases["adres_id"].notna()
    if not has.any():
        return out
    c = cases.loc[has, ["adres_id", "signaaldatum", "ruimingsdatum"]]
    c = c.sort_values(["adres_id", "ruimingsdatum"], na_position="last", kind="mergesort")
    g = c.groupby("adres_id", sort=False)
    pos = g.cumcount().to_numpy()
    first = g["ruimingsdatum"].transform("first")  # (a group's NaT sort last: "first" skips them)
    second = c["ruimingsdatum"].where(pos == 1).groupby(c["adres_id"], sort=False).transform("max")
    other = second.where(pos == 0, first)
    flag = (other < c["signaaldatum"]).fillna(False).astype(bool)
    out.loc[flag.index] = flag.to_numpy()
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
def unique_rows(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(mat, axis=0, return_inverse=True)` for a boolean matrix, in the same (lexicographic) order.

    np.unique with an axis compares rows column by column (a structured dtype of one field per column): at
    city scale (15,820 hennep cases x thousands of shown figures) that took a minute. Packed to bits (first
    column in the highest bit, so the byte order is the same lexicographic order) each row is one opaque
    byte string, compared with memcmp."""
    mat = np.asarray(mat, dtype=bool)
    n, m = mat.shape
    if n == 0 or m == 0:
        return np.unique(mat, axis=0, return_inverse=True)
    packed = np.ascontiguousarray(np.packbits(mat, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return mat[first], np.asarray(inverse).reshape(-1)


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

    def modules(self) -> list[list[tuple[Hashable, list[Hashable]]]]:
        """The declared relations as modules for disclosure.protect_modular: the area cells (wijken in
        stadsdelen in the city, the same figures in every view) and the view's own tables."""
        shared = [r for r in self.relations if is_shared(r[0]) and all(is_shared(p) for p in r[1])]
        own = [r for r in self.relations if not (is_shared(r[0]) and all(is_shared(p) for p in r[1]))]
        return [m for m in (shared, own) if m]

    def check(self, policy: Policy, hidden: set[Hashable], views: Iterable[list[Hashable]] = ()) -> dict:
        """The exact check in the case model: {figure or case group that a reader can solve: shown figures the
        solution uses}.

        Why beside the declared relations: every shown figure is a sum of case groups ("atoms": cases in
        exactly the same shown figures), so this model knows every linear relation between the figures,
        also the undeclared ones between tables that overlap in cases: the funnel's 'geruimd' inside the
        dismantlings tile, a calendar year's sources inside the period's, a stadsdeel's tile minus a wijk's
        funnel. The relations cannot express those. Must stay unknown: a hidden figure, a small atom, a small
        implicit cell, a small difference of two nested shown figures, and (views) a small group of cases that
        are in the same figures of one view. Linear algebra on the atoms: a figure is solvable iff its row lies
        in the row space of the shown figures: the exact test of disclosure.recoverable, on a few dozen atom
        columns (recoverable would take every hidden figure of every view as a column: thousands, city-wide)."""
        shown = [k for k in self.shown if self.masks[k].any()]
        if not shown:
            return {}
        mat = np.column_stack([self.masks[k] for k in shown])
        rows = np.nonzero(mat.any(axis=1))[0]
        atoms_of, atom = unique_rows(mat[rows])  # atom x shown
        atom = np.asarray(atom).reshape(-1)
        n_atoms = len(atoms_of)
        case_atom = np.full(len(self.index), -1)
        case_atom[rows] = atom
        size = np.bincount(atom, minlength=n_atoms)

        def row_of(mask: np.ndarray) -> np.ndarray | None:
            ids = np.unique(case_atom[mask])
            if len(ids) and (ids[0] == -1 or size[ids].sum() != mask.sum()):
                return None  # not a union of atoms: not computable from the shown figures
            r = np.zeros(n_atoms)
            r[ids] = 1.0
            return r

        pats = atoms_of.T.astype(np.float64)  # shown figure x atom
        uniq, fig_of = unique_rows(atoms_of.T)  # distinct figures (same cases)
        fig_of = np.asarray(fig_of).reshape(-1)
        known_f = np.zeros(len(uniq), dtype=bool)
        for j, k in enumerate(shown):
            if k not in hidden:
                known_f[fig_of[j]] = True
        members: dict[int, list] = {}
        for j, k in enumerate(shown):
            members.setdefault(int(fig_of[j]), []).append(k)
        known = np.nonzero(known_f)[0]
        kmat = uniq[known].astype(np.float64)
        must: dict = {}  # label -> row over atoms
        for j, k in enumerate(shown):
            if k in hidden:
                must[k] = pats[j]
        for i in range(n_atoms):
            if policy.small(size[i]):
                must[("atoom", i)] = np.eye(n_atoms)[i]
        shown_set = set(shown)
        for k, m in self.masks.items():
            if k not in must and k not in shown_set and policy.small(m.sum()):
                r = row_of(m)
                if r is not None:
                    must[k] = r
        col_of = {k: j for j, k in enumerate(shown)}
        for cols in views:  # small case groups of one view (atoms of that view's figures)
            idx = [col_of[k] for k in cols if k in col_of]
            if not idx:
                continue
            sub, inv = unique_rows(atoms_of[:, idx])
            inv = np.asarray(inv).reshape(-1)
            for g in range(len(sub)):
                if sub[g].any() and policy.small(size[inv == g].sum()):
                    must[("groep", tuple(np.nonzero(inv == g)[0]))] = (inv == g).astype(np.float64)
        u = uniq.astype(np.int64)
        inter = (u * size[None, :]) @ u.T  # cases in both figures
        fsize = np.diag(inter)
        diff = fsize[None, :] - fsize[:, None]  # [i, j] = size j - size i
        nested = (inter == fsize[:, None]) & (diff > 0) & (diff < policy.threshold)
        seen_diff: set = set()
        for i, j in zip(*np.nonzero(nested)):
            r = uniq[j] & ~uniq[i]
            if r.tobytes() not in seen_diff:
                seen_diff.add(r.tobytes())
                must[("verschil", members[int(j)][0], members[int(i)][0])] = r.astype(np.float64)
        if not must:
            return {}
        labels = list(must)
        mrows = np.vstack([must[k] for k in labels])
        if len(known):
            q, s, _ = np.linalg.svd(kmat.T, full_matrices=False)
            q = q[:, s > 1e-9 * max(1.0, s.max())]
            resid = np.abs(mrows - (mrows @ q) @ q.T).max(axis=1)
        else:
            resid = np.abs(mrows).max(axis=1)
        bad = [labels[i] for i in np.nonzero(resid < 1e-7)[0]]
        if not bad:
            return {}
        weights = np.linalg.pinv(kmat.T) @ mrows[[labels.index(b) for b in bad]].T  # known figure x bad
        out = {}
        for n, b in enumerate(bad):
            figs = known[np.nonzero(np.abs(weights[:, n]) > 1e-7)[0]]
            out[b] = {k for f in figs for k in members[int(f)] if k not in hidden}
        return out

    def protect(self, policy: Policy, rank=None, hide: Iterable[Hashable] = (), modules=None,
                views: Iterable[list[Hashable]] = (), weight=None) -> tuple[set[Hashable], bool]:
        """(hidden cells, shown and implicit; whether the system failed closed).

        1. disclosure.protect_modular on the declared relations (`modules`, default `self.modules()`), with
           `hide` forced hidden (the city-wide result, see `city_protection`) and the implicit cells as unshown
           cells: primary and secondary suppression, exact and with the bounds a reader knows;
        2. the exact check in the case model (`check`): while a hidden figure, a small case group, a small
           remainder or a small difference can be solved from the shown figures, hide the shown figures the
           solution uses (greedy: the one most solutions use; the one `rank` gives up first) and go to 1.
        Failing closed: when protect_modular finds no complement or step 2 does not converge, every non-zero
        shown figure is hidden."""
        if not policy.active:
            return set(), False
        rank = rank or (lambda k: 0)
        values = self.values()
        shown = set(self.shown)
        # implicit cells (remainders, parts of months) are never shown, but a reader computes them from the
        # figures around them: they take part as ordinary cells (a small one is primary; hiding one as a
        # complement costs nothing on screen). Passed as `unshown` only when small: protect_modular starts
        # with every unshown cell hidden, and a hidden remainder would pull complements into its table.
        unshown = [k for k in values if k not in shown and policy.small(values[k])]
        implicit = {k for k in values if k not in shown}
        modules = self.modules() if modules is None else modules
        order = {k: i for i, k in enumerate(self.shown)}
        hidden = set(hide) & set(values)
        everything = {k for k, v in values.items() if v > 0}

        weight = weight or (lambda k: 1.0)

        def cost(k) -> float:  # a set of complements: totals (rank 6) and headline tiles (9) only when nothing else helps
            return values[k] + (1000.0 * (rank(k) - 5) * weight(k) if rank(k) >= 6 else 0.0)
        for _ in range(len(self.shown) + 1):
            try:
                # the final check over all modules together, exact and with the bounds a reader knows (a hidden
                # count is at least 1); a cell pinned there gets the cheapest set of complements (`cost`)
                hidden = disclosure.protect_modular(values, modules, policy, hide=hidden, unshown=unshown,
                                                    bounds=True, cost=cost, implicit=implicit, strict=True)
            except AssertionError:
                return everything | hidden, True
            uses = self.check(policy, hidden, views)
            if not uses:
                # tests/test_hennep.py (test_cross_view_bounds_attack) runs that attack over all views as a reader
                # sees them, with every implicit cell unknown
                return hidden, False
            picks = set()
            while uses:  # greedy cover: the figure that most subtractions use, headline figures last
                count: dict = {}
                for u in uses.values():
                    for k in u:
                        count[k] = count.get(k, 0) + 1
                if not count:
                    break
                pick = min(count, key=lambda k: (rank(k) >= 6, -count[k], rank(k), values[k], order[k]))
                picks.add(pick)
                uses = {t: u for t, u in uses.items() if pick not in u}
            if not picks:  # solvable from nothing shown: the structure itself gives it away
                return everything | hidden, True
            hidden |= picks
        return everything | hidden, True



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
    detail: bool = True  # breakdowns shown (False: one wijk under disclosure control, see detail_shown)
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


def overview(con, period, stadsdeel: str | None, wijk: str | None, data_end: dt.date, policy: Policy,
             protection: Protection | None = None) -> Overview:
    """All figures of the page for a period and area, protected for `policy`.

    protection: `period_protection(con, period, data_end, policy)`, or `city_protection` on
    `protection_input(con)` (the page does that, cached per warehouse version); computed here when not given."""
    cases = load_cases(con)
    wijken, sds = _area_frames(con)
    return build_overview(cases, wijken, sds, period.start, period.end, stadsdeel, wijk, data_end, policy,
                          homes_available(con), protection=protection)


def protection_input(con) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What `city_protection` reads from the warehouse: the cases, the wijken and the stadsdelen.

    Loaded apart so that a caller can let go of the connection before the computation (seconds, at
    regional scale tens of seconds): a warehouse version that a computation still holds keeps its DuckDB
    buffers in memory after the next weekly load."""
    cases = load_cases(con)
    wijken, sds = _area_frames(con)
    return cases, wijken, sds


def period_protection(con, period, data_end: dt.date, policy: Policy) -> Protection:
    """The city-wide disclosure control of one period (every area view at once), see `city_protection`."""
    return city_protection(*protection_input(con), period.start, period.end, data_end, policy)


def _value_masks(col: pd.Series, values) -> dict:
    """{value: boolean numpy mask of col == value} (missing values match nothing)."""
    return {v: (col == v).fillna(False).to_numpy(dtype=bool) for v in values}


def period_arrays(cases: pd.DataFrame, wijken: pd.DataFrame, sds: pd.DataFrame, start: dt.date, end: dt.date,
                  data_end: dt.date) -> SimpleNamespace:
    """What every area view of one period needs (masks per area, value, month and state), as numpy arrays
    computed once: the page keeps it per period and passes it to `city_protection` and to every view's
    `build_overview`. Read only."""
    asof, ref = data_end, min(end, data_end)
    norm = norms(cases, ref)
    wk, bu = cases["wijkcode"].to_numpy(), cases["buurtcode"].to_numpy()
    sig_p = _between(cases["signaaldatum"], start, ref).to_numpy()
    rui_p = _between(cases["ruimingsdatum"], start, ref).to_numpy()
    data_first = cases["signaaldatum"].min() if len(cases) else None
    mlist = trend_months(start, ref, data_first)
    months_m = {}
    for col in ("signaaldatum", "ruimingsdatum"):
        months_m[col, "periode"] = _between(cases[col], start, ref).to_numpy()
        for m in mlist:
            months_m[col, m] = _between(cases[col], m, min(m + pd.offsets.MonthEnd(0), _ts(ref))).to_numpy()
    years = list(range(max(_ts(data_first).year if data_first is not None and not pd.isna(data_first) else ref.year,
                           ref.year - 3), ref.year + 1))
    return SimpleNamespace(
        asof=asof, ref=ref, wk=wk, bu=bu, sig_p=sig_p, rui_p=rui_p,
        groups=[(s, list(wijken.loc[wijken["stadsdeel_code"] == s, "code"])) for s in sds["code"]],
        sd_mask={s: wk == s for s in sds["code"]}, wijk_mask={w: bu == w for w in wijken["code"]},
        chain={k: v.to_numpy() for k, v in chain_masks(cases, asof).items()},
        state={k: v.to_numpy() for k, v in chain_masks(cases, ref).items()},
        herhaling=cases["herhaling"].to_numpy(dtype=bool), first_repeat=first_repeat(cases, ref).to_numpy(),
        stroom=cases["stroomdiefstal"].to_numpy(dtype=bool),
        # one boolean mask per value, compared once (a string column compares element by element, and every
        # one of the ~54 area views needs them)
        besluit_is=_value_masks(cases["besluit_13b"], ("Waarschuwing", "Sluiting")),
        pand_is=_value_masks(cases["type_pand"], PREMISES), eigendom_is=_value_masks(cases["eigendom"], OWNERSHIP),
        started=_between(cases["sluiting_begin"], start, ref).to_numpy(), src_is=_value_masks(cases["signaalbron"], SOURCES),
        sig_ref=_on_or_before(cases["signaaldatum"], ref).to_numpy(),
        year_is=_value_masks(cases["signaaldatum"].dt.year, years),
        stuck={k: v.to_numpy() for k, v in stuck_masks(cases, ref, norm).items()}, mlist=mlist, months=months_m,
        years=years, norms=norm)


def detail_shown(policy: Policy, wijk: str | None) -> bool:
    """Does the view show the breakdowns (chain, stuck cases, lead times, sources, premises, months)?

    Not for one wijk under disclosure control: a wijk has a few cases a year, so every breakdown would read
    '<5', and each of them ties the wijk's few cases down further (over a year, the bounds a reader knows
    pinned small counts that only hiding the city's own headline figures could free)."""
    return not (policy.active and wijk)


def _tiles_and_areas(key) -> bool:
    """The cells a view without breakdowns keeps: its tiles and the area cells of the map (and their rests)."""
    if key[0] == "rest":
        return _tiles_and_areas(key[1]) and all(_tiles_and_areas(p) for p in key[2])
    return is_shared(key) or key[0] == "tegel"


def view_cells(cases: pd.DataFrame, wijken: pd.DataFrame, sds: pd.DataFrame, start: dt.date, end: dt.date,
               stadsdeel: str | None, wijk: str | None, data_end: dt.date,
               arrays: SimpleNamespace | None = None, detail: bool = True) -> tuple[Cells, SimpleNamespace]:
    """The cells (figures as sets of cases) and relations of one area view, unprotected; and the keys the frames need.

    detail=False (see `detail_shown`): only the tiles and the area cells, with the relations between them."""
    x = arrays or period_arrays(cases, wijken, sds, start, end, data_end)
    asof, ref, sig_p, rui_p, chain, state = x.asof, x.ref, x.sig_p, x.rui_p, x.chain, x.state
    c = Cells(cases.index)
    if wijk:
        area = x.bu == wijk
    elif stadsdeel:
        area = x.wk == stadsdeel
    else:
        area = np.ones(len(cases), dtype=bool)

    # --- areas: wijken in stadsdelen in the city (both levels, so switching the map cannot be used to subtract)
    def area_cells(prefix: str, base: np.ndarray) -> None:
        city = c.add((prefix, "stad"), base)
        sd_keys = []
        for s, ws in x.groups:
            sd_key = c.add((prefix, "stadsdeel", s), base & x.sd_mask[s])
            sd_keys.append(sd_key)
            c.partition(sd_key, [c.add((prefix, "wijk", w), base & x.wijk_mask[w]) for w in ws])
        c.partition(city, sd_keys)

    def sel_key(prefix: str):
        return (prefix, "wijk", wijk) if wijk else (prefix, "stadsdeel", stadsdeel) if stadsdeel else (prefix, "stad")

    area_cells("ruimingen", rui_p)
    area_cells("herhaling", x.herhaling & sig_p)
    area_cells("adressen", x.first_repeat)

    # --- tiles
    t_sig = c.add(("tegel", "signalen"), area & sig_p)
    t_dis = sel_key("ruimingen")
    t_theft = c.add(("tegel", "stroomdiefstal"), area & rui_p & x.stroom)
    c.partition(t_dis, [t_theft])
    t_warn = c.add(("tegel", "waarschuwing"), area & rui_p & x.besluit_is["Waarschuwing"])
    t_sclose = c.add(("tegel", "sluitingsbesluit"), area & rui_p & x.besluit_is["Sluiting"])
    c.partition(t_dis, [t_warn, t_sclose])
    t_started = c.add(("tegel", "sluitingen_gestart"), area & x.started)
    t_force = c.add(("tegel", "sluitingen_van_kracht"), area & state["sluiting"] & ~state["heropening"])

    # --- premises of the dismantlings in the period (type x eigendom with margins; grand total = tile)
    ptype = {t: c.add(("pand", t), area & rui_p & x.pand_is[t]) for t in PREMISES}
    powner = {e: c.add(("eigendom", e), area & rui_p & x.eigendom_is[e]) for e in OWNERSHIP}
    pcell = {(t, e): c.add(("pand_eigendom", t, e), area & rui_p & x.pand_is[t]
                           & x.eigendom_is[e]) for t in PREMISES for e in OWNERSHIP}
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
    src_is = x.src_is
    s_sig = {s: c.add(("bron", "signalen", s), cohort & src_is[s]) for s in SOURCES}
    s_rui = {s: c.add(("bron", "geruimd", s), cohort & chain["ruiming"] & src_is[s]) for s in SOURCES}
    c.partition(t_sig, list(s_sig.values()))
    c.partition(f["ruiming"], list(s_rui.values()))
    for s in SOURCES:
        c.partition(s_sig[s], [s_rui[s]])

    # --- months (signals and dismantlings per month, up to ref) and their link with the period
    mlist = x.mlist
    for what, col, tile in (("signalen", "signaaldatum", t_sig), ("ruimingen", "ruimingsdatum", t_dis)):
        in_parts = []
        for m in mlist:
            m_end = min(m + pd.offsets.MonthEnd(0), _ts(ref))
            mm = area & x.months[col, m]
            key = c.add(("maand", what, m.strftime("%Y-%m")), mm)
            inside = mm & x.months[col, "periode"]
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
    years, sig_ref = x.years, x.sig_ref
    for y in years:
        in_y = area & sig_ref & x.year_is[y]
        y_sig = {s: c.add(("bronjaar", "signalen", s, y), in_y & src_is[s]) for s in SOURCES}
        y_rui = {s: c.add(("bronjaar", "geruimd", s, y), in_y & chain["ruiming"] & src_is[s]) for s in SOURCES}
        for s in SOURCES:
            c.partition(y_sig[s], [y_rui[s]])

    # --- stuck cases on ref (counts; the list itself is for the analist role only)
    stuck_m = x.stuck
    st_keys = {k: c.add(("vast", k), area & stuck_m[k]) for k in STUCK_STEPS}
    st_total = c.add(("vast", "totaal"), area & np.logical_or.reduce([stuck_m[k] for k in STUCK_STEPS]))
    c.partition(st_total, list(st_keys.values()))

    if not detail:
        c.masks = {k: m for k, m in c.masks.items() if _tiles_and_areas(k)}
        c.shown = [k for k in c.shown if k in c.masks]
        c.relations = [(t, parts) for t, parts in c.relations if t in c.masks and all(p in c.masks for p in parts)]
    return c, SimpleNamespace(area=area, asof=asof, ref=ref, sel_key=sel_key, t_sig=t_sig, t_dis=t_dis, t_theft=t_theft,
                              t_warn=t_warn, t_sclose=t_sclose, t_started=t_started, t_force=t_force, ptype=ptype,
                              powner=powner, pcell=pcell, f=f, s_sig=s_sig, s_rui=s_rui, mlist=mlist, years=years,
                              st_keys=st_keys)


# ------------------------------------------------------------------ city-wide protection (all area views at once)
AREA_PREFIXES = ("ruimingen", "herhaling", "adressen")  # area cells: the same figures in every view (the maps)
CITY = "stad"


def is_shared(key) -> bool:
    """Is this cell the same figure in every area view (an area cell of the maps, or a remainder of those)?"""
    if not isinstance(key, tuple) or not key:
        return False
    if key[0] == "rest":
        return is_shared(key[1]) and all(is_shared(p) for p in key[2])
    return key[0] in AREA_PREFIXES and len(key) >= 2 and key[1] in ("stad", "stadsdeel", "wijk")


def global_key(view: str, key: Hashable) -> Hashable:
    """A view's cell in the city-wide system: area cells as they are, the rest per view (CITY or the area code)."""
    return key if is_shared(key) else ("gebied", view, key)


def area_views(wijken: pd.DataFrame, sds: pd.DataFrame) -> list[tuple[str, str | None, str | None]]:
    """Every area view of the page: (view, stadsdeel, wijk) for the city, each stadsdeel and each wijk."""
    return ([(CITY, None, None)] + [(s, s, None) for s in sds["code"]] + [(w, None, w) for w in wijken["code"]])


def view_name(stadsdeel: str | None, wijk: str | None) -> str:
    return wijk or stadsdeel or CITY


@dataclass(frozen=True)
class Protection:
    """The hidden cells of every area view for one period and policy (keys of `global_key`)."""
    hidden: frozenset
    failed: bool = False
    seconds: float = 0.0
    cells: int = 0

    def for_view(self, view: str, keys: Iterable[Hashable]) -> set[Hashable]:
        return {k for k in keys if global_key(view, k) in self.hidden}


_PROTECTION_CACHE: dict = {}
_PROTECTION_GUARD = threading.Lock()
_PROTECTION_CACHE_SIZE = 8


def _fingerprint(*frames: pd.DataFrame) -> int:
    return hash(tuple(int(pd.util.hash_pandas_object(f.astype(str), index=True).sum()) for f in frames))


def city_protection(cases: pd.DataFrame, wijken: pd.DataFrame, sds: pd.DataFrame, start: dt.date, end: dt.date,
                    data_end: dt.date, policy: Policy, arrays: SimpleNamespace | None = None) -> Protection:
    """Disclosure control of all area views of one period together (city, every stadsdeel, every wijk).

    Protecting each view on its own leaks across views: a stadsdeel's tile minus the tiles of its wijken
    (each read in its own view) gives a count hidden in one wijk's view. So every figure of every view is a
    cell of one system: each view's own tables (its declared relations) are modules, and so is each figure's
    area hierarchy (the figure of a stadsdeel = the sum over its wijken, of the city = the sum over the
    stadsdelen). `disclosure.protect_modular` protects them together; then the case model (`Cells.check`)
    runs over all views at once. Each view takes its hidden cells from this one result, so a figure shown in
    two views (the maps) is hidden in both or neither. Cached per case data, period and policy (the page
    caches it per warehouse version too)."""
    if not policy.active:
        return Protection(frozenset())
    ckey = (_fingerprint(cases, wijken[["code", "stadsdeel_code"]], sds[["code"]]), start, end, data_end, policy)
    if ckey in _PROTECTION_CACHE:
        return _PROTECTION_CACHE[ckey]
    t0 = time.perf_counter()
    arrays = arrays or period_arrays(cases, wijken, sds, start, end, data_end)
    g = Cells(cases.index)
    modules: list[list] = []
    views: list[list] = []
    families: list = []
    for view, sd, wk in area_views(wijken, sds):
        c, _ = view_cells(cases, wijken, sds, start, end, sd, wk, data_end, arrays, detail=detail_shown(policy, wk))
        shown = set(c.shown)
        for k, m in c.masks.items():
            g.add(global_key(view, k), m, shown=k in shown)
        views.append([global_key(view, k) for k in c.shown])
        mods = c.modules()
        for mod in mods:
            rels = [(global_key(view, t), [global_key(view, p) for p in parts]) for t, parts in mod]
            # the area cells' module once (the same in every view); a view's own tables always
            if view == CITY or not all(is_shared(t) and all(is_shared(p) for p in parts) for t, parts in mod):
                modules.append(rels)
        if view == CITY:
            families = [k for k in c.shown if not is_shared(k)]
    # each figure's area hierarchy: wijken in stadsdelen in the city
    for k in families:
        n0 = len(g.relations)
        g.partition(global_key(CITY, k), [global_key(s, k) for s in sds["code"]])
        for s in sds["code"]:
            parts = [global_key(w, k) for w in wijken.loc[wijken["stadsdeel_code"] == s, "code"]]
            if all(p in g.masks for p in parts):  # (not for a breakdown that wijk views do not show)
                g.partition(global_key(s, k), parts)
        modules.append(g.relations[n0:])
    g.relations = [r for mod in modules for r in mod]
    rank = _rank(("tegel", "signalen"))  # every view's headline tile last

    def weight(k) -> float:  # the city's totals and headline above a stadsdeel's, above a wijk's
        level = k[1] if len(k) > 1 and isinstance(k[1], str) else None  # the view, or the area cell's level
        return 10_000.0 if level in (CITY, "stad") else 1.0 if level == "wijk" or str(level).startswith("BU") else 100.0

    hidden, failed = g.protect(policy, lambda k: rank(k[2] if k[0] == "gebied" else k), modules=modules,
                               views=views, weight=weight)
    out = Protection(frozenset(hidden), failed, time.perf_counter() - t0, len(g.masks))
    with _PROTECTION_GUARD:  # sessions and the warm-up thread (veiligheid.warmup) may finish at the same time
        while len(_PROTECTION_CACHE) >= _PROTECTION_CACHE_SIZE:
            _PROTECTION_CACHE.pop(next(iter(_PROTECTION_CACHE)))
        _PROTECTION_CACHE[ckey] = out
    return out


def build_overview(cases: pd.DataFrame, wijken: pd.DataFrame, sds: pd.DataFrame, start: dt.date, end: dt.date,
                   stadsdeel: str | None, wijk: str | None, data_end: dt.date, policy: Policy,
                   homes: bool = False, with_system: bool = False, protection: Protection | None = None,
                   arrays: SimpleNamespace | None = None) -> Overview:
    """The figures of `overview` from case rows (see there); with_system keeps the disclosure system (tests).
    `arrays`: the period's `period_arrays`, when the caller keeps them (else computed here)."""
    detail = detail_shown(policy, wijk)
    arrays = arrays or period_arrays(cases, wijken, sds, start, end, data_end)
    c, v = view_cells(cases, wijken, sds, start, end, stadsdeel, wijk, data_end, arrays, detail=detail)
    area, asof, ref, sel_key = v.area, v.asof, v.ref, v.sel_key
    t_sig, t_dis, t_theft, t_warn, t_sclose = v.t_sig, v.t_dis, v.t_theft, v.t_warn, v.t_sclose
    t_started, t_force, ptype, powner, pcell, f = v.t_started, v.t_force, v.ptype, v.powner, v.pcell, v.f
    s_sig, s_rui, mlist, years, st_keys = v.s_sig, v.s_rui, v.mlist, v.years, v.st_keys
    view = view_name(stadsdeel, wijk)
    if protection is None:
        protection = city_protection(cases, wijken, sds, start, end, data_end, policy, arrays)
    # the view's own protection, seeded with the city-wide result (it adds nothing when that result is complete)
    hidden, failed = c.protect(policy, _rank(t_sig, t_dis), hide=protection.for_view(view, c.masks))
    failed = failed or protection.failed

    def val(key) -> float:  # (a breakdown the view does not show: not a figure at all)
        return math.nan if key in hidden or key not in c.masks else float(c.value(key))

    def hid(key) -> bool:
        return key in hidden or key not in c.masks

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
        same = np.array([step_key[s] in c.masks and n == c.value(step_key[s]) for n, s in zip(lt["n"], lt["stap"])])
        lt.loc[~same, ["mediaan", "p25", "p75", "p90"]] = math.nan
        lt["verborgen"] = lt["verborgen"] | ~same
    lt["n"] = lt["n"].astype(float).where(~lt["verborgen"])

    nrm = arrays.norms  # city-wide, per period
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
                    detail=detail,
                    system={"cells": c, "hidden": hidden} if with_system else {})


# ------------------------------------------------------------------ case-level lists (only for Viewer.points)
def _named(con, df: pd.DataFrame, areas: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    wijken, sds = areas if areas is not None else _area_frames(con)
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


# The analist's lists below read the cases from `con`, or take them (and the areas) as `load_cases` and
# `_area_frames` gave them: the page passes the version's cases it already keeps (shared.hennep_inputs), read
# only, instead of reading them again per selection (~0.2 s each at 5M).
def points(con, period, stadsdeel: str | None, wijk: str | None, ref: dt.date, cases: pd.DataFrame | None = None,
           areas: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Cases with a signal or dismantling in the period, or closed on ref, with their location (analist only)."""
    cases = load_cases(con) if cases is None else cases
    sel = (_between(cases["signaaldatum"], period.start, ref) | _between(cases["ruimingsdatum"], period.start, ref)
           | (chain_masks(cases, ref)["sluiting"] & ~chain_masks(cases, ref)["heropening"]))
    df = _area_filter(cases[sel], stadsdeel, wijk).copy()
    df["status"] = status_on(df, ref)
    return _named(con, df, areas)


def closures(con, ref: dt.date, stadsdeel: str | None = None, wijk: str | None = None,
             cases: pd.DataFrame | None = None, areas: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Closures in force on ref (begun, not ended), soonest end first (analist only)."""
    cases = load_cases(con) if cases is None else cases
    m = chain_masks(cases, ref)
    df = _area_filter(cases[m["sluiting"] & ~m["heropening"]], stadsdeel, wijk).copy()
    df["dagen_gesloten"] = (_ts(ref) - df["sluiting_begin"]).dt.days
    df = df.sort_values(["sluiting_eind", "sluiting_begin"], na_position="last")
    return _named(con, df, areas)


def stuck_list(con, ref: dt.date, stadsdeel: str | None = None, wijk: str | None = None,
               cases: pd.DataFrame | None = None, areas: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Cases in a step longer than the p90 of that step on ref (analist only)."""
    cases = load_cases(con) if cases is None else cases
    st = _area_filter(stuck(cases, ref), stadsdeel, wijk).copy()
    st["stap_label"] = st["stap"].map({k: v[0] for k, v in STUCK_STEPS.items()})
    return _named(con, st.sort_values("dagen", ascending=False), areas)

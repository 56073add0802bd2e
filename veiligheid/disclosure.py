"""Disclosure control: the one place where figures for small groups are suppressed.

Every figure that leaves the data layer for a page, a map, a chart, a CSV or a PDF goes through
here. Pages never decide themselves whether a number may be shown.

Rules (for a role whose policy is active, e.g. `wijkteam`):
- Primary suppression: a count of 1 up to threshold - 1 is hidden and shown as "<5" (or "<10").
  Zero is shown as zero: "nothing happened" is not information about a person, and the map must
  be able to tell "suppressed" from "zero".
- Rates, indices, changes and intervals computed from a hidden count are hidden too
  (`hide_derived`).
- Secondary suppression: when totals are shown beside their parts (rows, columns, grand totals,
  wijken inside a stadsdeel inside the city), further cells are hidden until no hidden cell can be
  computed exactly from the shown cells. This is checked with linear algebra over all the
  relations `total = sum(parts)` the caller declares (`protect`), not with a rule of thumb, so it
  also holds for hierarchies and for tables that share totals.
Roles without an active policy (`analist`, `beheer`) see the true figures.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import highspy
from scipy import sparse
from scipy.linalg import null_space

from . import fmt

TOTAL = "__totaal__"  # key of a grand total in the helpers below


@dataclass(frozen=True)
class Policy:
    """What a viewer may see of counts. `active=False`: unsuppressed (analist, beheer)."""
    threshold: int = 5
    active: bool = True

    @property
    def label(self) -> str:
        return f"<{self.threshold}"

    def small(self, n) -> bool:
        """Is this count hidden by primary suppression?"""
        if not self.active or n is None or (isinstance(n, float) and math.isnan(n)) or n is pd.NA:
            return False
        return 0 < n < self.threshold

    def describe(self) -> str:
        """One Dutch sentence about the rules this viewer sees (for captions and the meeting pack)."""
        if not self.active:
            return ("U ziet de cijfers zonder onderdrukking (rol analist of beheer). Deel ze niet verder dan "
                    "het convenant toestaat.")
        return (f"Aantallen kleiner dan {self.threshold} worden getoond als '{self.label}', en ook cijfers die "
                "daarvan zijn afgeleid (per 1.000 inwoners, index, verandering). Waar totalen naast hun delen "
                f"staan, zijn zo nodig ook andere (ook grotere) aantallen als '{self.label}' afgeschermd, zodat "
                "een verborgen aantal niet is terug te rekenen.")


# ------------------------------------------------------------------ the core
Relation = tuple[Hashable, Sequence[Hashable]]  # (total cell, its parts): total = sum(parts)


def protect(values: Mapping[Hashable, float], relations: Sequence[Relation], policy: Policy,
            hide: Iterable[Hashable] = (), free: Collection[Hashable] = (), fixed: Collection[Hashable] = (),
            unprotected: Collection[Hashable] = ()) -> set[Hashable]:
    """The set of cells to hide.

    values: every shown cell (parts and totals) with its count. relations: total = sum(parts),
    over keys of `values`. hide: cells that must be hidden anyway (e.g. already hidden elsewhere).
    Returns primary cells (0 < n < threshold), `hide`, and complementary cells, such that no hidden
    cell is determined exactly by the shown cells and the relations. free: cells no view shows (unknowns
    for a reader, in `hide` too) that need no protection themselves unless they are small. fixed: shown
    cells that are never taken as complements (another page shows them as they are; like a zero).
    unprotected: cells of `free` that need no protection even when small (e.g. a difference between how two
    pages count: no page presents it as a figure).
    """
    if not policy.active:
        return set()
    rels = [(t, [p for p in parts if p in values]) for t, parts in relations if t in values]
    rels = [(t, parts) for t, parts in rels if parts]
    comps = components(values, rels)
    if len(comps) > 1:  # no relation connects these groups: protect them one by one (much smaller systems)
        hide = set(hide)
        out: set = set()
        for cells, crels in comps:
            out |= _protect_connected({k: values[k] for k in cells}, crels, policy, hide.intersection(cells), free,
                                      fixed, unprotected)
        return out
    return _protect_connected(values, rels, policy, set(hide), free, fixed, unprotected)


def _cheapest_shown(cells: list[Hashable], values: Mapping, hidden: set, order: Mapping,
                    fixed: Collection = ()) -> Hashable | None:
    """The cheapest shown cell of a relation (cells = [total, *parts]) to hide next: a small part, else the
    total; never a zero. A zero stays a zero on screen ("nothing happened"; the map's '<5' promises 'not 0'),
    and a hidden zero adds little: it gives no room below the other cells. Never a `fixed` cell either."""
    shown = [c for c in cells if c not in hidden and values[c] != 0 and c not in fixed]
    return min(shown, key=lambda c: (c == cells[0], values[c], order[c])) if shown else None


def _reader_bounds(x: np.ndarray, threshold: int | None) -> tuple[np.ndarray, np.ndarray]:
    """What a reader knows of hidden counts x: at least 1 when not zero (zero is shown as zero), at most
    threshold - 1 when small (only with a threshold)."""
    lower = np.where(x > 0, 1.0, 0.0)
    upper = np.array([float(threshold - 1) if threshold and 0 < v < threshold else highspy.kHighsInf for v in x])
    return lower, upper


def _protect_connected(values: Mapping[Hashable, float], rels: Sequence[Relation], policy: Policy,
                       hide: set, free: Collection = (), fixed: Collection = (), unprotected: Collection = ()
                       ) -> set[Hashable]:
    hidden = {k for k, v in values.items() if policy.small(v)} | (hide & set(values))
    if not hidden:
        return hidden
    # unknowns with nothing to protect
    loose = {k for k in free if k in values and (not policy.small(values[k]) or k in unprotected)}
    order = {k: i for i, k in enumerate(values)}
    structural: set | None = None  # computed when first needed

    def complement(cells: list[Hashable]) -> Hashable | None:
        return _cheapest_shown(cells, values, hidden, order, fixed)

    for _ in range(len(values) + 1):
        # cheap rule first: a relation with exactly one hidden cell gives it away
        changed = True
        while changed:
            changed = False
            for t, parts in rels:
                cells = [t, *parts]
                if sum(c in hidden for c in cells) == 1 and not any(c in loose for c in cells):
                    c = complement(cells)
                    if c is not None:
                        hidden.add(c)
                        changed = True
        # exact check: a hidden cell is recoverable iff it is fixed by the linear system; once none is,
        # recoverable() goes on to the (slower) check with the bounds a reader knows (>= 1, <= threshold - 1)
        exposed = recoverable(values, rels, hidden, policy.threshold, bounds=True) - loose
        if exposed and structural is None:
            # pinned even with every non-zero cell of the table hidden (e.g. a small total of 4 over four
            # parts of at least 1: each is 1, in this reader model where a small hidden count is at most 4):
            # no complement here gives it room, so none is hidden for it. (The check over everything in
            # protect_modular reads a "<5" with no upper bound, as a reader must: shielded larger counts
            # look the same.) Without this, every shown cell of its relations was hidden in turn: a city
            # total of 33 for a stadsdeel of 4 = 1 + 1 + 1 + 1.
            structural = recoverable(values, rels, {k for k, v in values.items() if v != 0 and k not in fixed}
                                     | hidden, policy.threshold, bounds=True)
        exposed -= structural or set()
        if not exposed:
            return hidden
        target = min(exposed, key=lambda c: order[c])
        picked = next((c for t, parts in rels if target == t or target in parts
                       for c in [complement([t, *parts])] if c is not None), None)
        if picked is None:
            # every relation of the cell is hidden already, yet a combination of relations pins it
            # (three-way tables): hide a shown cell of a relation in that combination
            picked = _certificate_complement(values, rels, hidden, target, complement)
        if picked is None:  # pinned by the structure alone (no shown cell involved): nothing more to hide
            return hidden
        hidden.add(picked)
    raise AssertionError("secondary suppression did not converge")


GLOBAL_CHECK_LIMIT = 3000  # linked hidden cells up to which protect_modular also checks all modules together
BOUNDS_COMPLEMENTS = 40  # cells exposed again per round whose complement is chosen from the LP duals and tested


def protect_modular(values: Mapping[Hashable, float], modules: Sequence[Sequence[Relation]], policy: Policy,
                    hide: Iterable[Hashable] = (), unshown: Iterable[Hashable] = (), bounds: bool = True,
                    cost: Callable | None = None, implicit: Collection = (), strict: bool = False,
                    fixed: Collection = (), unprotected: Collection = ()) -> set[Hashable]:
    """Secondary suppression for large linked tables, module by module (the way tau-ARGUS protects
    hierarchical tables), then checked as a whole.

    Used where the same cells appear in many views: e.g. a count per wijk per week is part of the week's
    area hierarchy (wijken in stadsdelen in the city) and of that area's period totals (weeks add up to a
    tile). Each module is a small table with its own relations; it is protected with `protect` (exact and
    bounds checks) with the cells other modules hid forced hidden, until no module adds a cell. Then the
    check (`recoverable`: linear algebra, and with bounds=True the reader's bounds as well) runs over all
    relations of all modules together; a cell it finds recoverable gets a complement, and the modules run
    again. A group of more than GLOBAL_CHECK_LIMIT
    hidden cells linked by relations is left out of that last check (it is dense linear algebra, minutes):
    there the result is what tau-ARGUS's modular method guarantees, every module safe (exact and bounds)
    with the cells hidden elsewhere taken as hidden. The tests check the whole system of the overview page.

    unshown: cells that no view shows (e.g. a part of a week that only a period total covers). They are
    unknowns for a reader; they may be recoverable when their value is not small (it is never shown, so
    it protects nothing and gives nothing away), but a small one is protected like a primary cell.
    cost: what hiding a cell costs when a set of complements is chosen at once (`room_complement`; default
    its count), e.g. higher for headline figures. implicit: every cell no view shows (small or not); in such a
    set they move freely, since a reader only computes them through the relations. strict: raise
    AssertionError instead of returning while a small cell is still pinned (no complement helped three rounds
    running, or none was found) or a group too large for the check over everything was left out: for callers
    that check nothing after this (they fail closed); without it the caller checks the bounds itself.
    fixed: shown cells that are never taken as complements; unprotected: unshown cells that need no protection
    even when small (see `protect`).
    Returns the hidden cells among the shown ones (plus unshown cells).
    """
    if not policy.active:
        return set()
    fixed = set(fixed)
    base_cost = cost or values.__getitem__

    def cost_of(k) -> float:
        return math.inf if k in fixed else base_cost(k)
    unshown = set(unshown) & set(values)
    hidden = {k for k, v in values.items() if policy.small(v)} | (set(hide) & set(values)) | unshown
    mods: list[tuple[list, list]] = []
    for rels in modules:
        rels = [(t, [p for p in parts if p in values]) for t, parts in rels if t in values]
        rels = [(t, parts) for t, parts in rels if parts]
        if rels:
            mods.append((list(dict.fromkeys(c for t, parts in rels for c in (t, *parts))), rels))
    by_cell: dict = {}
    for i, (cells, _) in enumerate(mods):
        for c in cells:
            by_cell.setdefault(c, []).append(i)
    order = {k: i for i, k in enumerate(values)}
    all_rels = [r for _, rels in mods for r in rels]
    rels_of: dict = {}
    for t, parts in all_rels:
        for c in (t, *parts):
            rels_of.setdefault(c, []).append((t, parts))
    settled: dict[int, frozenset] = {}  # module -> the hidden set it was last protected with (a fixpoint)
    queue = {i for c in hidden for i in by_cell.get(c, ())}
    last_exposed: set = set()
    stuck = 0
    for _ in range(len(values) + 1):
        while queue:
            i = min(queue)
            queue.discard(i)
            cells, rels = mods[i]
            h = frozenset(c for c in cells if c in hidden)
            if settled.get(i) == h:
                continue
            out = protect({c: values[c] for c in cells}, rels, policy, hide=h, free=unshown, fixed=fixed,
                          unprotected=unprotected)
            settled[i] = frozenset(out)
            for c in out - hidden:
                hidden.add(c)
                queue.update(by_cell.get(c, ()))
        # Over everything together, the bounds are those a reader really has: a hidden count is at least 1
        # (zero is shown as zero), but not at most 4, since shielded larger counts look the same ("<5").
        # (Inside a module, protect() also assumes the upper bound: stricter.) A hidden zero that a reader
        # can pin down gives nothing away.
        small = {c for c in hidden if policy.small(values[c]) and c not in unprotected}
        exposed = {c for c in recoverable(values, all_rels, hidden, None, bounds=bounds,
                                          max_component=GLOBAL_CHECK_LIMIT, targets=small)
                   if values[c] != 0 and (c not in unshown or policy.small(values[c])) and c not in unprotected}
        if strict and not exposed and max(map(len, _hidden_groups(values, all_rels, hidden)), default=0) \
                > GLOBAL_CHECK_LIMIT:
            raise AssertionError("a group of linked hidden cells is too large for the check over everything")
        before = last_exposed
        stuck = stuck + 1 if exposed and exposed == last_exposed else 0
        if stuck >= 3:  # hiding more did not help three rounds running: pinned by the structure alone
            if strict:
                raise AssertionError(f"{len(exposed)} small counts stay pinned down")
            return hidden
        last_exposed = exposed

        def complement(cells: list[Hashable]) -> Hashable | None:
            return _cheapest_shown(cells, values, hidden, order, fixed)

        picks = set()
        group_of: dict = {}
        lps: dict = {}  # group -> its linear programme, for this round's hidden set
        group_rels: dict = {}

        def group_of_(target) -> frozenset:
            if not group_of:
                group_of.update(_hidden_group_of(values, all_rels, hidden))
            return group_of[target]

        def binding_complement(target, test: bool):
            """A complement from a relation that binds in the LP that pins target (duals); tested or not."""
            group = group_of_(target)
            if group not in group_rels:
                group_rels[group] = list({id(r): r for c in group for r in rels_of.get(c, ())}.values())
            return bounds_complement(values, group_rels[group], hidden, group, target, None, order,
                                     rels_of if test else None, cache=lps, fixed=fixed)

        tested = 0
        for target in sorted(exposed, key=lambda c: order[c]):  # one complement per exposed cell, per round
            picked = None
            # a cell still exposed after a round: the cheapest set of shown cells that gives it room (a small
            # MIP; often one cell, sometimes two that only help together), else one cell from the relations that
            # pin it (LP duals), tested
            first = next((c for t, parts in rels_of.get(target, ())
                          for c in [complement([t, *parts])] if c is not None), None)
            if bounds and (target in before or first is None) and tested < BOUNDS_COMPLEMENTS:
                tested += 1
                several = room_complement(values, rels_of, hidden, group_of_(target), target, cost=cost_of,
                                          free=implicit)
                if several:
                    picks |= several
                    continue
                picked = binding_complement(target, True)
            if picked is None:  # the cheapest shown cell of its first relation that has one
                picked = first
            if picked is None:  # every relation of it hidden: one of the relations that pin it (duals)
                picked = binding_complement(target, False)
            if picked is not None:
                picks.add(picked)
        if not picks:  # nothing exposed, or pinned by the structure alone (no shown cell involved)
            if strict and exposed:
                raise AssertionError(f"{len(exposed)} small counts pinned, no complement found")
            return hidden
        hidden |= picks
        for picked in picks:
            queue.update(by_cell.get(picked, ()))
    raise AssertionError("secondary suppression did not converge")


def components(values: Mapping, rels: Sequence[Relation]) -> list[tuple[list, list]]:
    """Cells grouped so that no relation connects two groups (union-find), each with its relations."""
    parent = {k: k for k in values}

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for t, parts in rels:
        r0 = root(t)
        for c in parts:
            rc = root(c)
            if rc != r0:
                parent[rc] = r0
    groups: dict = {}
    for k in values:  # in the order of `values`: ties are broken by that order (deterministic)
        groups.setdefault(root(k), []).append(k)
    by_root: dict = {r: [] for r in groups}
    for t, parts in rels:
        by_root[root(t)].append((t, parts))
    return [(cells, by_root[r]) for r, cells in groups.items()]


def _hidden_groups(values: Mapping, rels: Sequence[Relation], hidden: set) -> list[list]:
    """The hidden cells in groups linked by relations (independent systems), as `recoverable` groups them."""
    hrels = [(t, [p for p in parts if p in hidden]) for t, parts in rels]
    hrels = [(t, parts) if t in hidden else (parts[0], parts[1:]) for t, parts in hrels if t in hidden or parts]
    return [cells for cells, _ in components({k: None for k in values if k in hidden}, hrels)]


def _hidden_group_of(values: Mapping, rels: Sequence[Relation], hidden: set) -> dict:
    """cell -> the frozenset of hidden cells linked to it by relations (its independent system)."""
    out = {}
    for cells in _hidden_groups(values, rels, hidden):
        group = frozenset(cells)
        out.update({c: group for c in cells})
    return out


def bounds_complement(values: Mapping, rels: Sequence[Relation], hidden: set, group: Collection, target,
                      threshold: int | None, order: Mapping, rels_of: Mapping | None = None, tries: int = 6,
                      cache: dict | None = None, fixed: Collection = ()):
    """The shown cell to hide so that `target`, pinned down by the reader's bounds, gets room.

    The candidates are the shown cells of the relations that bind in the linear programmes that pin it
    (non-zero dual value; the largest dual first, the cheapest cell first). With `rels_of` (cell -> its
    relations) up to `tries` candidates are tested: the first with which the target's range is at least
    1 wide is taken. Else the first candidate; None when no
    binding relation has a shown cell. group: the hidden cells linked to target; rels: the relations
    touching them; threshold: as in `recoverable` (None: no upper bound for the reader); cache: a dict
    that keeps the group's linear programme for the next target of the same group (same hidden set);
    fixed: cells never taken (like a zero)."""
    hid = sorted(group, key=order.__getitem__)
    lp = cache.get(group) if cache is not None else None
    if lp is None:
        lp = _BoundsLP.over(values, hid, rels, threshold)
        if cache is not None:
            cache[group] = lp
    binding = lp.binding(hid.index(target))
    rank: dict = {}
    for n, i in enumerate(binding):  # only a relation that pins the cell can give it room
        cells = lp.owners[i]
        for c in cells:
            if c not in hidden and c in values and c not in rank and values[c] != 0 and c not in fixed:
                rank[c] = (n, c == cells[0], values[c], order[c])
    # non-zero cells only (a zero stays a zero on screen), strongest relation first
    candidates = sorted(rank, key=rank.__getitem__)
    if rels_of is not None and candidates:
        test = candidates[:tries]
        crels = list({id(r): r for r in [*rels, *(r for c in test for r in rels_of.get(c, ()))]}.values())
        lp = _BoundsLP.over(values, [*hid, *test], crels, threshold, fixed=len(hid))
        for n, c in enumerate(test):  # each candidate hidden on its own (the others stay fixed)
            if lp.width(hid.index(target), free=len(hid) + n) >= 1 - 1e-6:
                return c
    return candidates[0] if candidates else None


class ProtectionTimeout(AssertionError):
    """A disclosure-control model did not finish in time: the caller fails closed (strict callers hide every
    count that is not zero, see protect_modular(strict=True); elsewhere the page shows an error, no figures)."""


def _highs() -> "highspy.Highs":
    """A HiGHS instance as every model here needs it: quiet, one thread, a fixed seed.

    One thread on every instance: HiGHS sizes one scheduler per process at its first solve, and a later model
    asking another number of threads fails (with more than 2 CPUs, a first model on the default would give 2
    threads and every threads=1 model after it an error)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def _run(h: "highspy.Highs") -> None:
    """h.run(), raising on a solver error (never read as "no solution": that would change the pattern)."""
    if h.run() == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS: fout bij het oplossen ({h.modelStatusToString(h.getModelStatus())})")


# Work limit of room_complement's MIP. Measured (docs/performance.md, session 11): all 152 of a full warm-up at city
# scale were solved at the root node (1 node), in at most 0.11 s; at 5M incidents none was needed.
MIP_NODE_LIMIT = 10_000
MIP_TIME_LIMIT = 120.0  # a guard only (1000x the slowest seen): reaching it fails closed (ProtectionTimeout)


def room_complement(values: Mapping, rels_of: Mapping, hidden: set, group: Collection, target,
                    threshold: int | None = None, cost: Callable | None = None, hops: int = 6,
                    node_limit: int = MIP_NODE_LIMIT, free: Collection = ()) -> set | None:
    """The cheapest set of shown cells to hide together so that `target` (pinned down by the reader's
    bounds) gets room: for when no single cell does (a stadsdeel tile pinned by the city total gets room
    only from another stadsdeel together with one of its wijken, or from the city total itself).

    A small mixed-integer programme (HiGHS): a move d of every cell within `hops` relations of the target's
    group of linked hidden cells, with every relation kept (total moves = sum of the parts' moves; cells
    further out stay fixed), d = +1 (or -1) on the target, the reader's bounds on the moved values, and a
    shown cell may move only when it is hidden (a 0/1 variable each, costing 1 + `cost(cell)`, by default
    its count: small counts go first, large totals last; an infinite cost or a zero: never). Cells in `free`
    (no view shows them) move like hidden ones. None when no such set exists, or no optimum was proven within
    `node_limit` branch-and-bound nodes (then the caller falls back to one cell at a time).

    Deterministic: columns in a fixed order, one thread, a fixed seed and a limit on work that decides. With a
    deciding time limit the same table could get another hidden pattern on a busy machine or after a restart
    (optimum proven once, not the next time), and two patterns of one table side by side can be subtracted.
    MIP_TIME_LIMIT is only a guard: reaching it raises ProtectionTimeout (fail closed), never another pattern."""
    cost = cost or values.__getitem__
    # a fixed order of the columns (a set's order changes with every start of Python, and HiGHS breaks ties
    # between equally cheap sets by column order)
    cells = list(dict.fromkeys([target, *sorted(group, key=repr)]))
    seen, frontier = set(cells), list(cells)
    for _ in range(hops):
        nxt = []
        for c in frontier:
            for t, parts in rels_of.get(c, ()):
                for k in (t, *parts):
                    if k not in seen and k in values:
                        seen.add(k)
                        nxt.append(k)
        cells += nxt
        frontier = nxt
    col = {k: i for i, k in enumerate(cells)}
    rels = list({id(r): r for c in cells for r in rels_of.get(c, ())}.values())
    a, _ = _sparse_rows(rels, col)  # cells outside the model are fixed: their moves are 0
    x = np.array([float(values[k]) for k in cells])
    n = len(cells)
    # a shown cell can become a complement; one with an infinite cost cannot (e.g. a figure no view shows, which
    # only hiding a cell it is computed from can make unknown): it stays fixed unless hidden already
    # (a zero is never hidden: it stays "nothing happened" on screen)
    shown = [i for i, k in enumerate(cells)
             if k not in hidden and k not in free and values[k] != 0 and math.isfinite(cost(k))]
    fixed = [i for i, k in enumerate(cells)
             if k not in hidden and k not in free and (values[k] == 0 or not math.isfinite(cost(k)))]
    m = len(shown)
    lower, upper = _reader_bounds(x, threshold)
    lower, upper = lower - x, upper - x  # as bounds on the move: a non-zero count stays at least 1, ...
    big = 3.0  # a chain of +-1 moves seldom needs more on one cell
    # columns: d (n), z (m); rows: relations (= 0), d_j - big z_j <= 0 and d_j + big z_j >= 0 for shown j
    link = sparse.csr_matrix((np.ones(m), (np.arange(m), shown)), shape=(m, n))
    zc = sparse.identity(m, format="csr") * big
    mat = sparse.vstack([sparse.hstack([a, sparse.csr_matrix((a.shape[0], m))]),
                         sparse.hstack([link, -zc]), sparse.hstack([link, zc])]).tocsc()
    inf = highspy.kHighsInf
    z_cost = [1.0 + cost(cells[j]) for j in shown]
    best = None
    for step in (1.0, -1.0):
        if step < 0 and x[0] < 2:  # a count of 1 cannot go down (a hidden one is at least 1)
            continue
        lo, up = lower.copy(), upper.copy()
        lo[fixed] = up[fixed] = 0.0
        lo[0] = up[0] = step
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n + m, mat.shape[0]
        lp.col_cost_ = np.concatenate([np.zeros(n), z_cost])
        lp.col_lower_ = np.concatenate([lo, np.zeros(m)])
        lp.col_upper_ = np.concatenate([up, np.ones(m)])
        lp.row_lower_ = np.concatenate([np.zeros(a.shape[0]), np.full(m, -inf), np.zeros(m)])
        lp.row_upper_ = np.concatenate([np.zeros(a.shape[0]), np.zeros(m), np.full(m, inf)])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = mat.indptr, mat.indices, mat.data
        lp.integrality_ = [highspy.HighsVarType.kContinuous] * n + [highspy.HighsVarType.kInteger] * m
        h = _highs()
        h.setOptionValue("mip_max_nodes", node_limit)
        h.setOptionValue("time_limit", MIP_TIME_LIMIT)
        h.passModel(lp)
        _run(h)
        sol = h.getSolution()
        if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:  # never seen; fail closed, never differently
            raise ProtectionTimeout(f"room_complement: no answer within {MIP_TIME_LIMIT:.0f} s for {target!r}")
        # only a proven optimum: the same data must give the same pattern on every run (a time-limited best
        # guess could differ after a restart, and two patterns side by side could be subtracted)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or not sol.value_valid:
            continue
        z = np.asarray(sol.col_value)[n:]
        picked = {cells[j] for j, v in zip(shown, z) if v > 0.5}
        total = sum(c for c, v in zip(z_cost, z) if v > 0.5)
        if picked and (best is None or total < best[0]):
            best = (total, picked)
    return best[1] if best else None


def _sparse_rows(rels: Sequence[Relation], col: Mapping[Hashable, int]):
    """relation_rows, built sparse: (CSC matrix, owners)."""
    ri, ci, vals, owners = [], [], [], []
    for t, parts in rels:
        entries: dict = {}
        for c, coef in [(t, -1.0), *((p, 1.0) for p in parts)]:
            if c in col:
                entries[col[c]] = entries.get(col[c], 0.0) + coef
        entries = {j: v for j, v in entries.items() if v}
        if entries:
            ri += [len(owners)] * len(entries)
            ci += list(entries)
            vals += list(entries.values())
            owners.append([t, *parts])
    return sparse.csc_matrix((vals, (ri, ci)), shape=(len(owners), len(col))), owners


class _BoundsLP:
    """The reader's linear programme over some cells: the rows of `a` (relations over the cells) as
    equalities, bounds >= 1 (non-zero), <= threshold - 1 (small, when a threshold is given); cells from
    index `fixed` on start fixed at their value. One HiGHS model, re-solved with only the objective (or one
    column's bounds) changed (warm start). owners: the relation of each row (for `binding`)."""

    def __init__(self, values: Mapping, cells: list, a, threshold: int | None, fixed: int | None = None,
                 owners: list | None = None):
        self.owners = owners or []
        self.n = n = len(cells)
        x = np.array([float(values[k]) for k in cells])
        self.lower, self.upper = _reader_bounds(x, threshold)
        csc = sparse.csc_matrix(a)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, csc.shape[0]
        lp.col_cost_ = np.zeros(n)
        lo, up = self.lower.copy(), self.upper.copy()
        if fixed is not None:
            lo[fixed:] = up[fixed:] = x[fixed:]
        lp.col_lower_, lp.col_upper_ = lo, up
        lp.row_lower_ = lp.row_upper_ = csc @ x
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = csc.indptr, csc.indices, csc.data
        self.h = _highs()
        self.h.passModel(lp)
        self.x = x

    @classmethod
    def over(cls, values: Mapping, cells: list, rels: Sequence[Relation], threshold: int | None,
             fixed: int | None = None) -> "_BoundsLP":
        a, owners = _sparse_rows(rels, {k: i for i, k in enumerate(cells)})
        return cls(values, cells, a, threshold, fixed, owners)

    def solve(self, cost, sense) -> tuple[np.ndarray, np.ndarray] | None:
        """(solution, row duals) for objective `cost` (a cell index, or a cost vector), None if not optimal."""
        h, idx = self.h, np.arange(self.n, dtype=np.int32)
        if isinstance(cost, (int, np.integer)):
            h.changeColCost(int(cost), 1.0)
        else:
            h.changeColsCost(self.n, idx, np.asarray(cost, dtype=float))
        h.changeObjectiveSense(sense)
        _run(h)
        ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        sol = h.getSolution()
        out = (np.asarray(sol.col_value), np.asarray(sol.row_dual)) if ok else None
        if isinstance(cost, (int, np.integer)):  # (this resets the model status: read it first)
            h.changeColCost(int(cost), 0.0)
        else:
            h.changeColsCost(self.n, idx, np.zeros(self.n))
        return out

    def binding(self, i: int) -> list[int]:
        """The relations (indexes into owners) with a non-zero dual when cell i is minimised and maximised,
        the largest first."""
        duals = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            got = self.solve(i, sense)
            if got is not None:
                duals += [(abs(d), r) for r, d in enumerate(got[1]) if abs(d) > 1e-9]
        return list(dict.fromkeys(r for _, r in sorted(duals, key=lambda d: -d[0])))

    def width(self, i: int, free: int) -> float:
        """max - min of cell i with column `free` released to its bounds (fixed again afterwards)."""
        self.h.changeColBounds(free, self.lower[free], self.upper[free])
        lo = self.solve(i, highspy.ObjSense.kMinimize)
        hi = self.solve(i, highspy.ObjSense.kMaximize)
        self.h.changeColBounds(free, self.x[free], self.x[free])
        return hi[0][i] - lo[0][i] if lo is not None and hi is not None else 0.0


def relation_rows(rels: Sequence[Relation], col: Mapping[Hashable, int]) -> tuple[list, list]:
    """The relations as rows over the hidden cells (`col`: cell -> column): -1 for the total, +1 per part.

    Returns (rows, owners): only relations that touch a hidden cell, each with its cells [total, *parts]."""
    rows, owners = [], []
    for t, parts in rels:
        row = np.zeros(len(col))
        for c, coef in [(t, -1.0), *((p, 1.0) for p in parts)]:
            if c in col:
                row[col[c]] += coef
        if np.any(row):
            rows.append(row)
            owners.append([t, *parts])
    return rows, owners


def _certificate_complement(values, rels, hidden, target, complement):
    """A shown cell from one of the relations whose combination pins `target` (least squares certificate)."""
    hid = [k for k in values if k in hidden]
    col = {k: i for i, k in enumerate(hid)}
    rows, owners = relation_rows(rels, col)
    if not rows:
        return None
    e = np.zeros(len(hid))
    e[col[target]] = 1.0
    w, *_ = np.linalg.lstsq(np.vstack(rows).T, e, rcond=None)
    for i in np.argsort(-np.abs(w)):
        if abs(w[i]) < 1e-9:
            break
        c = complement(owners[i])
        if c is not None:
            return c
    return None


def recoverable(values: Mapping[Hashable, float], relations: Sequence[Relation], hidden: set[Hashable],
                threshold: int | None = None, bounds: bool = False, max_component: int | None = None,
                targets: set | None = None) -> set[Hashable]:
    """Hidden cells a reader can compute from the shown cells and the relations (the subtraction attack).

    Two checks. (1) Exact: the cell is fixed by the linear system (it lies in the row space). (2) Bounds:
    a reader also knows that a hidden count is not negative, that a "<5" is at least 1 (zero is shown as
    zero) and, for a primary cell, at most threshold - 1. With those bounds a linear programme gives each
    hidden cell its smallest and largest possible value; when only one whole number is left, the cell is
    given away (total 8 = 6 + 0 + <5 + <5 makes both hidden cells 1).
    max_component: groups of linked hidden cells larger than this are not checked (see protect_modular).
    targets: with bounds, only these cells get the (slow) bounds check (e.g. the small ones: a larger count
    that a reader can pin down is no disclosure); the exact check covers every hidden cell. When it finds
    any, those are returned without the bounds check.
    """
    hid = [k for k in values if k in hidden]
    if not hid:
        return set()
    hrels = [(t, [p for p in parts if p in hidden]) for t, parts in relations]
    hrels = [(t, parts) if t in hidden else (parts[0], parts[1:]) for t, parts in hrels if t in hidden or parts]
    comps = components({k: None for k in hid}, hrels)
    if max_component is not None:
        comps = [(cells, r) for cells, r in comps if len(cells) <= max_component]
    if len(comps) > 1 or max_component is not None:  # unlinked hidden cells: independent systems, one by one
        comp_of = {k: i for i, (cells, _) in enumerate(comps) for k in cells}
        comp_rels: list[list] = [[] for _ in comps]
        for t, parts in relations:  # each relation with a hidden cell belongs to that cell's group
            first = t if t in hidden else next((p for p in parts if p in hidden), None)
            if first in comp_of:
                comp_rels[comp_of[first]].append((t, parts))
        out: set = set()
        for (cells, _), crels in zip(comps, comp_rels):
            out |= recoverable({k: values[k] for k in cells}, crels, set(cells), threshold, bounds,
                               targets=targets)
        return out
    col = {k: i for i, k in enumerate(hid)}
    rows, _ = relation_rows(relations, col)
    if not rows:
        return set()
    a = np.vstack(rows)
    ns = _null_space(a)  # directions in which the hidden cells can move without changing any shown figure
    if ns.size == 0:
        return set(hid)
    free = np.abs(ns).max(axis=1) > 1e-9
    pinned = {k for k, i in col.items() if not free[i]}
    if not bounds or pinned:  # bounds: one linear programme or two per hidden cell, so only when asked
        return pinned
    skip = pinned if targets is None else pinned | {k for k in hid if k not in targets}
    if len(skip) == len(hid):
        return pinned
    return _pinned_by_bounds(values, hid, a, threshold, skip)


def _null_space(a: np.ndarray) -> np.ndarray:
    """scipy's null_space; LAPACK's fast SVD (gesdd) now and then fails to converge on these 0/1 matrices,
    then the slower, robust one (gesvd)."""
    try:
        return null_space(a)
    except np.linalg.LinAlgError:
        return null_space(a, lapack_driver="gesvd")


def _pinned_by_bounds(values, hid: list, a: np.ndarray, threshold: int | None, skip: set) -> set:
    """Hidden cells that the bounds (>= 0, >= 1 when not zero, <= threshold - 1 when small) pin to one value.

    One HiGHS model per system, re-solved per cell with only the objective changed (warm start); every
    solution found is a feasible point, so a cell that any solution moves by 1 or more has room already."""
    lp = _BoundsLP(values, hid, a, threshold)
    x_true, n = lp.x, len(hid)
    room = np.zeros(n, dtype=bool)  # cells some feasible point moves by >= 1

    def solve(cost, sense) -> np.ndarray | None:
        got = lp.solve(cost, sense)
        if got is None:
            return None
        room[np.abs(got[0] - x_true) >= 1 - 1e-6] = True
        return got[0]

    # a few random directions first: each solution moves many cells at once (most get room this way),
    # so only the few left need their own two linear programmes
    rng = np.random.default_rng(len(hid))
    done = np.array([k in skip for k in hid], dtype=bool)
    for _ in range(min(24, n)):
        if (room | done).all():
            break
        solve(rng.normal(size=n), highspy.ObjSense.kMinimize)
    out = set()
    for i, k in enumerate(hid):
        if k in skip or room[i]:
            continue
        lo = solve(i, highspy.ObjSense.kMinimize)
        if lo is None or room[i] or math.ceil(lo[i] - 1e-6) < x_true[i]:
            continue  # room below the true value
        hi = solve(i, highspy.ObjSense.kMaximize)
        if hi is not None and not room[i] and math.floor(hi[i] + 1e-6) <= x_true[i]:
            out.add(k)
    return out


# ------------------------------------------------------------------ helpers for common shapes
def protect_series(counts: pd.Series, policy: Policy, total: bool = True) -> tuple[pd.Series, bool]:
    """Parts of one total (e.g. counts per delict with a 'Totaal' beside them).

    Returns (mask over counts.index, whether the total itself is hidden). total=False: no total is shown.
    """
    values = {TOTAL: float(counts.fillna(0).sum())} if total else {}
    values.update({("p", k): float(v) for k, v in counts.fillna(0).items()})
    rels = [(TOTAL, [("p", k) for k in counts.index])] if total else []
    hidden = protect(values, rels, policy)
    return pd.Series([("p", k) in hidden for k in counts.index], index=counts.index, dtype=bool), TOTAL in hidden


def protect_frame(counts: pd.DataFrame, policy: Policy, row_totals: bool = True, col_totals: bool = True
                  ) -> tuple[pd.DataFrame, pd.Series, pd.Series, bool]:
    """A two-way table of counts with its margins.

    Returns (mask of the cells, mask of the row totals, mask of the column totals, grand total hidden).
    Margins that are not shown (row_totals/col_totals False) are not used by an attacker either.
    """
    c = counts.fillna(0)
    values: dict = {}
    rels: list[Relation] = []
    for r in c.index:
        for k in c.columns:
            values[("c", r, k)] = float(c.at[r, k])
    if row_totals:
        for r in c.index:
            values[("r", r)] = float(c.loc[r].sum())
            rels.append((("r", r), [("c", r, k) for k in c.columns]))
    if col_totals:
        for k in c.columns:
            values[("k", k)] = float(c[k].sum())
            rels.append((("k", k), [("c", r, k) for r in c.index]))
    if row_totals and col_totals:
        values[TOTAL] = float(c.to_numpy().sum())
        rels.append((TOTAL, [("r", r) for r in c.index]))
        rels.append((TOTAL, [("k", k) for k in c.columns]))
    hidden = protect(values, rels, policy)
    mask = pd.DataFrame([[("c", r, k) in hidden for k in c.columns] for r in c.index], index=c.index,
                        columns=c.columns, dtype=bool)
    rmask = pd.Series([("r", r) in hidden for r in c.index], index=c.index, dtype=bool)
    kmask = pd.Series([("k", k) in hidden for k in c.columns], index=c.columns, dtype=bool)
    return mask, rmask, kmask, TOTAL in hidden


def protect_hierarchy(parts: pd.Series, parent: Mapping[Hashable, Hashable], policy: Policy,
                      parent_totals: bool = True, grand_total: bool = True) -> tuple[pd.Series, pd.Series, bool]:
    """Counts of areas inside parent areas inside a whole (wijken in stadsdelen in the city).

    parts: count per child area (all children of every parent, zeros included). Returns
    (mask per child, mask per parent, grand total hidden). Used for every area figure of a page, so
    the wijk map, the stadsdeel map, the table and the tiles are protected together.
    """
    p = parts.fillna(0)
    groups: dict = {}
    for k in p.index:
        groups.setdefault(parent[k], []).append(k)
    values: dict = {("w", k): float(v) for k, v in p.items()}
    rels: list[Relation] = []
    if parent_totals:
        for g, ks in groups.items():
            values[("s", g)] = float(sum(p[k] for k in ks))
            rels.append((("s", g), [("w", k) for k in ks]))
    if grand_total:
        values[TOTAL] = float(p.sum())
        rels.append((TOTAL, [("s", g) for g in groups] if parent_totals else [("w", k) for k in p.index]))
    hidden = protect(values, rels, policy)
    wmask = pd.Series([("w", k) in hidden for k in p.index], index=p.index, dtype=bool)
    smask = pd.Series([("s", g) in hidden for g in groups], index=list(groups), dtype=bool)
    return wmask, smask, TOTAL in hidden


def primary_mask(counts, policy: Policy):
    """Primary suppression only (no totals shown beside these counts), for Series or DataFrames."""
    if not policy.active:
        return counts.notna() & False if hasattr(counts, "notna") else False
    return (counts > 0) & (counts < policy.threshold)


def hide_derived(values, mask):
    """Hide figures derived from hidden counts (rates, indices, changes, intervals): NaN where mask."""
    return values.where(~mask.astype(bool))


# ------------------------------------------------------------------ display
def count_text(n, hidden: bool, policy: Policy, missing: str = "–") -> str:
    """A count as shown on screen and in exports: '<5' when hidden, else Dutch formatting."""
    if hidden:
        return policy.label
    if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)):
        return missing
    if policy.small(n):  # a caller forgot to protect: fail closed
        return policy.label
    return fmt.integer(n)


def count_column(counts: pd.Series, mask: pd.Series, policy: Policy, missing: str = "–") -> pd.Series:
    """A whole column of counts as text, for tables and CSV."""
    return pd.Series([count_text(n, bool(h), policy, missing) for n, h in zip(counts, mask.reindex(counts.index).fillna(False))],
                     index=counts.index, dtype=object)

"""Disclosure control of "Prioriteiten per stadsdeel" per quarter, and the overview's link to it.

    .venv/bin/python bench/bench_quarters.py [--warehouse PATH] [--today 2024-09-29]

1. Every selectable quarter in turn, newest first, as a wijkteam member clicks through them: the time of
   priorities.protect_city (each quarter is protected once, `protect_quarter`, and shared by the views of
   every quarter that shows it), how many quarters were new, and the hidden cells.
2. The overview's model (overview.city_protection, all themes, wijkteam) with and without the runs of
   quarters of the priorities page that are whole blocks of it (`aligned_runs`; --data-end reads the
   warehouse as on another day, e.g. 2026-03-31 or 2026-06-30 for the 29-11-2026 demo): time and hidden
   cells of its own.
Without --warehouse a 60-week demo warehouse is built in a temp dir (extracted on --today). Compare within
one run (ratios); these machines are noisy.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from veiligheid import disclosure, overview, priorities as P, queries  # noqa: E402
from veiligheid.warehouse import connect_readonly  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse")
    ap.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 29))
    ap.add_argument("--data-end", type=dt.date.fromisoformat, default=None)
    args = ap.parse_args()
    if args.warehouse:
        wh = Path(args.warehouse)
    else:
        from tests.conftest_app import build_demo_warehouse
        wh = build_demo_warehouse(Path(tempfile.mkdtemp()), today=args.today)
    con = connect_readonly(wh)
    f = queries.freshness(con)
    policy = disclosure.Policy(5, True)
    print(f"data t/m {f.data_end}\n")
    print("| gekozen kwartaal | nieuw beveiligde kwartalen | tijd | verborgen cellen (alle getoonde kwartalen) |")
    print("|---|---|---|---|")
    done: set = set()
    for q in P.available_quarters(f.data_start, f.data_end):
        raw = P.load(con, q, f.data_start)
        new = [x.code for x in P.shown_quarters(raw) if x not in done]
        t0 = time.perf_counter()
        hidden = P.protect_city(raw, policy)
        took = time.perf_counter() - t0
        done |= set(P.shown_quarters(raw))
        print(f"| {q.code} | {len(new)} ({', '.join(new)}) | {took:.2f} s | {len(hidden)} |", flush=True)

    parent = dict(zip(*[queries.wijken(con)[c] for c in ("code", "stadsdeel_code")]))
    end = args.data_end or f.data_end
    runs = overview.aligned_runs(f.data_start, end)
    print(f"\nop {end}: reeksen kwartalen die hele blokken zijn: "
          f"{[('+'.join(q.code for q in qs), lo, hi) for qs, lo, hi in runs] or 'geen'}\n")
    print("| overzicht (wijkteam, alle thema's) | eerste keer | cellen | eigen verborgen cellen |")
    print("|---|---|---|---|")
    real = overview.aligned_runs
    for name, fn in (("zonder koppeling", lambda *a: []), ("met koppeling", real)):
        overview.aligned_runs = fn
        overview._CACHE.clear()
        t0 = time.perf_counter()
        m = overview.city_protection(con, f.data_start, end, parent, (), policy)
        took = time.perf_counter() - t0
        own = {k for k in m.hidden - m.unshown if k[0] != overview.PRIO}
        print(f"| {name} | {took:.2f} s | {len(m.values)} | {len(own)} |", flush=True)
    overview.aligned_runs = real


if __name__ == "__main__":
    main()

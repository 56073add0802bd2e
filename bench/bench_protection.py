"""Disclosure control across views: cost of the city-wide protection of the overview page.

    .venv/bin/python bench/bench_protection.py [--warehouse PATH]

Per theme selection (all themes, each city-wide priority, two priorities together): the first
(uncached) protection of every area view at once (overview.city_protection), the cached call, the
size of the model, and whether anything hidden can be computed from all views together (exact, and
with the bounds a reader has). Without --warehouse a 60-week demo warehouse is built in a temp dir.
Run on a quiet machine; compare the selections with each other (ratios), not with other runs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from veiligheid import disclosure, overview, queries  # noqa: E402
from veiligheid.warehouse import connect_readonly  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse")
    args, _ = ap.parse_known_args()
    if args.warehouse:
        wh = Path(args.warehouse)
    else:
        from tests.conftest_app import build_demo_warehouse
        wh = build_demo_warehouse(Path(tempfile.mkdtemp()))
    con = connect_readonly(wh)
    f = queries.freshness(con)
    parent = dict(zip(*[queries.wijken(con)[c] for c in ("code", "stadsdeel_code")]))
    prio = queries.priority_themes(con)
    policy = disclosure.Policy(5, True)
    print("| thema's | cellen | verborgen | eerste keer | uit cache | terug te rekenen: exact / klein met grenzen |")
    print("|---|---|---|---|---|---|")
    for themes in ([(t,) for t in sys.argv[3:]] if len(sys.argv) > 3 else [(), *((t,) for t in prio), tuple(prio[:2])]):
        overview._CACHE.clear()
        t0 = time.perf_counter()
        m = overview.city_protection(con, f.data_start, f.data_end, parent, themes, policy)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        overview.city_protection(con, f.data_start, f.data_end, parent, themes, policy)
        cached = time.perf_counter() - t0
        rels = [r for module in m.modules for r in module]
        exact = [k for k in disclosure.recoverable(m.values, rels, m.hidden)
                 if m.values[k] != 0 and (k not in m.unshown or m.values[k] < 5)]
        # with bounds: only a small count pinned down is a disclosure (a pinned larger one was shown-worthy)
        pinned = [k for k in disclosure.recoverable(m.values, rels, m.hidden, None, bounds=True)
                  if 0 < m.values[k] < 5]
        name = ", ".join(themes) or "alle"
        print(f"| {name} | {len(m.values)} | {len(m.hidden - m.unshown)} | {first:.1f} s | {cached:.2f} s "
              f"| {len(exact)} / {len(pinned)} |", flush=True)


if __name__ == "__main__":
    main()

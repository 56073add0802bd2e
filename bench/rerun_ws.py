"""Page reruns as the server does them (issue 8): one session per role over Streamlit's websocket protocol.

    nice -n 10 .venv/bin/python bench/rerun_ws.py --warehouse /tmp/bench8/w5000000/warehouse.duckdb

`bench/bench_scale.py --only pages` times reruns in AppTest. AppTest compiles the page scripts again on
every run (it makes a new `ScriptCache` per run; a server keeps one for all sessions) and builds its own
element tree afterwards, so it measures more than a user waits for. This script starts the real server
(`./run.sh` on a copy of the warehouse, warm-up off, so every new selection is computed) and, per role and
page, sends what a user's clicks send: a new Stadsdeel together with a new Periode (on Prioriteiten: a new
Stadsdeel and Kwartaal), timed from the request until the server's `script_finished` (all deltas sent).

1. `miss`: --runs selections, each one not seen before in this session (without warm-up: computed);
2. `hit`: the same selections again (the figures come from the caches: a user going back and forth);
3. `wijk`: --runs selections of a wijk (Stadsdeel, Wijk and Periode; not on Prioriteiten, which has no wijk
   filter), each in a stadsdeel and period of step 1: a reader going from a stadsdeel into one of its wijken.
   The warm-up does not make wijk views, so the wijk's own figures are computed.

`--warmup ahead` runs the server as it runs in production: the app's warm-up (veiligheid.warmup) on, and done
before the first click, as on a Monday morning after the weekly load in the night. A `miss` (a stadsdeel and a
period) then finds its view made by the warm-up (every stadsdeel and fixed period, since session 16); a `wijk`
still computes the view of the new selection, finding only the period's disclosure control made. Without it
(`off`, the default) every miss computes everything: the worst case.

Drawing in the browser comes on top (see `bench/bench_scale.py --only browser`). Prints a JSON line per
page and role, and a Markdown table; writes `<out>/rerun-ws.json`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_scale import p95  # noqa: E402
from bench.load_ws import Session  # noqa: E402
from tests.e2e.browser import run_server  # noqa: E402

PAGES = ["Dashboards veiligheid", "Prioriteiten per stadsdeel", "Cybercrime: slachtofferprofielen", "Hennepteelt"]


def selections(s: Session, page: str, runs: int) -> list[list[tuple[str, str]]]:
    """The (label, option) pairs of each rerun: every stadsdeel in turn, with the period (or quarter) moving
    along, so that no pair repeats within `runs`."""
    other = "Kwartaal" if page.startswith("Prioriteiten") else "Periode"
    sd = [o for o in s.widgets["Stadsdeel"].options]
    per = list(s.widgets[other].options)[:4]
    return [[("Stadsdeel", sd[(i * 3 + 1) % len(sd)]), (other, per[(i // len(sd) + i) % len(per)])]
            for i in range(runs)]


async def wijk_selections(s: Session, page: str, runs: int) -> list[list[tuple[str, str]]]:
    """Like `selections` (the same stadsdelen and periods), but each with a wijk of the stadsdeel: views the
    warm-up does not make. The wijken of a stadsdeel are read from the Wijk list after choosing it (untimed)."""
    if "Wijk" not in s.widgets:  # Prioriteiten per stadsdeel has no wijk filter
        return []
    sd = list(s.widgets["Stadsdeel"].options)[1:]  # without "Hele stad"
    per = list(s.widgets["Periode"].options)[:4]
    out = []
    for i in range(runs):
        area = sd[(i * 3 + 1) % len(sd)]
        await s.rerun([Session.state(s.widgets["Stadsdeel"].id, string_value=area)])
        wijken = list(s.widgets["Wijk"].options)[1:]
        out.append([("Stadsdeel", area), ("Wijk", wijken[i % len(wijken)]),
                    ("Periode", per[(i // len(sd) + i) % len(per)])])
    await s.rerun([Session.state(s.widgets["Stadsdeel"].id, string_value=s.widgets["Stadsdeel"].options[0])])
    return out


async def one_role(url: str, role: str, runs: int) -> list[dict]:
    s = Session(url)
    await s.login(role)
    out = []
    for page in PAGES:
        await s.rerun(page_hash=s.pages[page])
        sels = selections(s, page, runs)
        rec = {"role": role, "page": page}
        for phase in ("miss", "hit", "wijk"):
            # the wijken are read after the other phases: reading them shows stadsdelen (untimed)
            phase_sels = await wijk_selections(s, page, runs) if phase == "wijk" else sels
            if not phase_sels:
                continue
            times, errors = [], 0
            for sel in phase_sels:
                states = [Session.state(s.widgets[label].id, string_value=value) for label, value in sel]
                times.append(await s.rerun(states))
                errors += s.exceptions
            rec[phase] = {"median_s": round(statistics.median(times), 3), "p95_s": round(p95(times), 3),
                          "runs": len(times), "errors": errors}
        print(json.dumps(rec), flush=True)
        out.append(rec)
    await s.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench8/rerun-ws"))
    ap.add_argument("--warmup", choices=("off", "ahead"), default="off",
                    help="off: every new selection computes everything; ahead: the app's warm-up done first")
    args = ap.parse_args()
    recs = []
    root = args.out / "server"
    with run_server(args.warehouse, root, VEILIGHEID_WARMUP_SECONDS="0" if args.warmup == "off" else "60") as srv:
        if args.warmup == "ahead":
            from bench.load import _warm_ahead

            print(f"# warmed in {_warm_ahead(srv['url'], root):.0f} s", flush=True)
        for role in ("wijkteam", "analist"):
            t = time.perf_counter()
            recs += asyncio.run(one_role(srv["url"], role, args.runs))
            print(f"# {role}: {time.perf_counter() - t:.0f} s", flush=True)
    (args.out / f"rerun-ws-{args.warmup}.json").write_text(json.dumps(recs, indent=1))
    print("\n| pagina | rol | mist: mediaan / p95 | raakt: mediaan / p95 | wijk: mediaan / p95 | fouten |\n"
          "|---|---|---|---|---|---|")
    for r in recs:
        fmt = lambda x: f"{x:.2f}".replace(".", ",")  # noqa: E731
        cells = [f"{fmt(r[k]['median_s'])} / {fmt(r[k]['p95_s'])}" if k in r else "–" for k in ("miss", "hit", "wijk")]
        errors = sum(r[k]["errors"] for k in ("miss", "hit", "wijk") if k in r)
        print(f"| {r['page']} | {r['role']} | {' | '.join(cells)} | {errors} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

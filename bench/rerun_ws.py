"""Page reruns as the server does them (issue 8): one session per role over Streamlit's websocket protocol.

    nice -n 10 .venv/bin/python bench/rerun_ws.py --warehouse /tmp/bench8/w5000000/warehouse.duckdb

`bench/bench_scale.py --only pages` times reruns in AppTest. AppTest compiles the page scripts again on
every run (it makes a new `ScriptCache` per run; a server keeps one for all sessions) and builds its own
element tree afterwards, so it measures more than a user waits for. This script starts the real server
(`./run.sh` on a copy of the warehouse; warm-up off unless `--warmup ahead`, see below) and, per role and
page, sends what a user's clicks send: a new Stadsdeel together with a new Periode (on Prioriteiten: a new
Stadsdeel and Kwartaal), timed from the request until the server's `script_finished` (all deltas sent).

1. `miss`: --runs selections, each one not seen before in this session (without warm-up: computed);
2. `hit`: the same selections again (the figures come from the caches: a user going back and forth);
3. `wijk`: --runs times a reader in a stadsdeel (every stadsdeel in turn, chosen untimed) picks one of its
   wijken and a period (timed; not on Prioriteiten, which has no wijk filter). The warm-up makes no wijk views,
   so the wijk's own figures are computed. A wijk that did not apply counts as an error.

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


async def wijk_selections(s: Session, runs: int) -> list[tuple[str, str, str]]:
    """(stadsdeel, wijk, period) for the `wijk` phase: every stadsdeel in turn, a wijk of it, the period moving
    along. The wijken of a stadsdeel are read from the Wijk list after choosing it (untimed reruns)."""
    if "Wijk" not in s.widgets:  # Prioriteiten per stadsdeel has no wijk filter
        return []
    sd = list(s.widgets["Stadsdeel"].options)[1:]  # without "Hele stad"
    per = list(s.widgets["Periode"].options)[:4]
    wijken: dict[str, list[str]] = {}
    out = []
    for i in range(runs):
        area = sd[(2 * i + 1) % len(sd)]
        if area not in wijken:
            await s.rerun([Session.state(s.widgets["Stadsdeel"].id, string_value=area)])
            wijken[area] = list(s.widgets["Wijk"].options)[1:]
        out.append((area, wijken[area][i % len(wijken[area])], per[(i // len(sd) + i) % len(per)]))
    return out


async def wijk_rerun(s: Session, area: str, wijk: str, period: str) -> tuple[float, int]:
    """A reader in `area` picks one of its wijken and a period: the stadsdeel is chosen first (untimed; the
    Wijk list then holds its wijken, so the wijk applies), the wijk and period are timed. Returns the seconds
    and the errors, a wijk that did not apply (not in the app's URL afterwards) counted as one."""
    await s.rerun([Session.state(s.widgets["Stadsdeel"].id, string_value=area)])
    errors = s.exceptions + ("wijk=" in s.query_string)  # the untimed step must have left no wijk
    t = await s.rerun([Session.state(s.widgets["Wijk"].id, string_value=wijk),
                       Session.state(s.widgets["Periode"].id, string_value=period)])
    return t, errors + s.exceptions + ("wijk=" not in s.query_string)


async def one_role(url: str, role: str, runs: int) -> list[dict]:
    s = Session(url)
    await s.login(role)
    out = []
    for page in PAGES:
        await s.rerun(page_hash=s.pages[page])
        sels = selections(s, page, runs)
        rec = {"role": role, "page": page}
        for phase in ("miss", "hit", "wijk"):
            times, errors = [], 0
            if phase == "wijk":  # read after the other phases: reading the wijken shows stadsdelen (untimed)
                for area, wijk, period in await wijk_selections(s, runs):
                    t, e = await wijk_rerun(s, area, wijk, period)
                    times.append(t)
                    errors += e
                if not times:
                    continue
            for sel in sels if phase != "wijk" else ():
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

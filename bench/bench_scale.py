"""Scale benchmark (issue 8): page reruns, time to a visible map, app memory and the weekly ingest per size.

    nice -n 10 .venv/bin/python bench/bench_scale.py --sizes 1000000,5000000 [--out /tmp/bench8]
    nice -n 10 .venv/bin/python bench/bench_scale.py --sizes 20000000 --only ingest

For every size N (incidents) it
1. builds (or reuses) `<out>/w<N>/warehouse.duckdb` with the demo's bulk scale builder
   (`pipelines.demo.build_scaled_warehouse`: a 156-week demo through the real ingest, then every record of
   every kind copied with new keys, so registraties, cyber and hennep grow in proportion);
2. AppTest, per role (`analist`: no suppression; `wijkteam`: disclosure control) and per page: the first
   run, then `--runs` reruns after a filter change (period preset and stadsdeel, a new combination every
   time, so the query cache misses): median and p95;
3. headless Chromium against `./run.sh` (own port on 127.0.0.1), after the app's warm-up of the version
   (as on a Monday morning after the weekly load): from the login click to a visible map,
   then every page once, and the resident memory (RSS) of the app process after that;
4. the weekly ingest: two consecutive weekly extracts of all four kinds (~10,000 rows each, made by the
   demo generator at scale 2.8 and kept in `<out>/weeks`) into a copy of the warehouse: the first
   prepares, the second (which replaces part of the first) is timed, with its phases.
Prints one JSON line per measurement and writes `<out>/scale-<N>.json`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TODAY = dt.date(2026, 11, 28)
PAGES = ["views/dashboards_veiligheid.py", "views/prioriteiten.py", "views/cybercrime.py",
         "views/hennepteelt.py", "views/data.py"]
NAV = ["Prioriteiten per stadsdeel", "Cybercrime: slachtofferprofielen", "Hennepteelt", "Data",
       "Dashboards veiligheid"]


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = 0.95 * (len(xs) - 1)
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def emit(rec: dict, sink: list) -> None:
    sink.append(rec)
    print(json.dumps(rec, ensure_ascii=False), flush=True)


def warehouse_for(out: Path, n: int) -> Path:
    from pipelines.demo import build_scaled_warehouse

    wh = out / f"w{n}" / "warehouse.duckdb"
    if wh.exists():
        return wh
    wh.parent.mkdir(parents=True, exist_ok=True)
    info = build_scaled_warehouse(wh, n, weeks=156, today=TODAY, base_cache=out / "base-156.duckdb",
                                  log=lambda m: print(f"# {m}", flush=True))
    print(f"# built {wh}: {info}", flush=True)
    return wh


def weekly_extracts(out: Path) -> tuple[Path, Path]:
    """Two consecutive weeks (W49, W50 of 2026) of all four kinds, ~10,000 rows each."""
    from pipelines.demo import generate

    a, b = out / "weeks" / "a", out / "weeks" / "b"
    if a.exists() and b.exists() and any(a.iterdir()) and any(b.iterdir()):
        return a, b
    tmp = out / "weeks" / "all"
    shutil.rmtree(out / "weeks", ignore_errors=True)
    generate(tmp, weeks=2, seed=1, scale=2.8, today=TODAY + dt.timedelta(days=14))
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    for p in tmp.iterdir():
        shutil.move(str(p), (a if "W49" in p.name else b) / p.name)
    return a, b


# ------------------------------------------------------------------ AppTest page reruns
def bench_pages(wh: Path, role: str, runs: int, sink: list, n: int) -> None:
    os.environ["VEILIGHEID_WAREHOUSE"] = str(wh)
    os.environ["VEILIGHEID_WARMUP_SECONDS"] = "0"  # first views as without warm-up, no thread beside the runs
    from tests.conftest_app import app_test
    from veiligheid.warehouse import connect_readonly

    con = connect_readonly(wh)
    stadsdelen = [r[0] for r in con.execute("SELECT DISTINCT wijkcode FROM wijken ORDER BY 1").fetchall()]
    con.close()

    for page in PAGES:
        t = time.perf_counter()
        at = app_test(role, run=False)
        at.run()
        at.switch_page(page)
        at.run()
        first = time.perf_counter() - t
        errors = [str(e.value)[:200] for e in at.exception]
        # raw values (the widgets show formatted labels): week presets (the ones every role gets on every
        # page) and the stadsdelen plus "" (Hele stad); on Prioriteiten its own stadsdeel and quarter
        if page.endswith("prioriteiten.py"):
            ka, va, kb, vb = "prio_stadsdeel", stadsdelen, "prio_kwartaal", ["2026-K3", "2026-K2", "2026-K1", "2025-K4"]
        elif page.endswith("data.py"):
            ka = None
        else:
            ka, va, kb, vb = "w_stadsdeel", [""] + stadsdelen, "w_periode", ["4w", "13w", "52w"]
        times, cpu = [], []
        for i in range(runs if ka else 0):
            at.selectbox(key=ka).set_value(va[(i * 3 + 1) % len(va)])
            at.selectbox(key=kb).set_value(vb[(i // len(va) + i) % len(vb)])
            t, c = time.perf_counter(), time.process_time()
            at.run()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)  # CPU seconds of this process (script + DuckDB threads)
            errors += [str(e.value)[:200] for e in at.exception]
        emit({"size": n, "what": "page", "role": role, "page": page, "first_s": round(first, 3),
              "rerun_median_s": round(statistics.median(times), 3) if times else None,
              "rerun_p95_s": round(p95(times), 3) if times else None, "runs": len(times),
              "rerun_cpu_median_s": round(statistics.median(cpu), 3) if cpu else None,
              "errors": errors[:3]}, sink)


# ------------------------------------------------------------------ browser: map and memory
def rss_mb(pid: int) -> float:
    from bench.bench_pages import _rss_mb

    return _rss_mb(pid)


def server_pid(root: Path) -> int | None:
    """The streamlit process of run_server (the one whose environment points at root)."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
            envb = (d / "environ").read_bytes()
        except OSError:
            continue
        if any(b"streamlit" in c for c in cmd) and str(root).encode() in envb:
            return int(d.name)
    return None


def bench_browser(wh: Path, role: str, runs: int, sink: list, n: int, root: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, MAP_AREA, NEXT_PAINT, PASSWORDS, VIEWPORT, run_server

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    from bench.load import _warm_ahead

    # warm-up on, whatever this process's environment says (bench_pages turns it off for its AppTests)
    with run_server(wh, root, VEILIGHEID_WARMUP_SECONDS="60") as srv:
        # as on a Monday morning: the app warmed the new version after the weekly load (veiligheid.warmup)
        warm_s = _warm_ahead(srv["url"], root)
        pid = server_pid(root)
        first, nav_s = [], {}
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for i in range(runs):
                ctx = b.new_context(viewport=VIEWPORT, locale="nl-NL")
                page = ctx.new_page()
                page.goto(srv["url"] + "/")
                page.get_by_label("Gebruikersnaam").fill(f"test-{role}")
                page.get_by_label("Wachtwoord").fill(PASSWORDS[role])
                t = time.perf_counter()
                page.get_by_role("button", name="Inloggen").click()
                # the map drawn: its areas in the page and painted (until session 14 this waited for deck.gl's
                # canvas element, which software WebGL filled 1.5-2.5 s later; docs/performance.md, session 15)
                page.wait_for_selector(MAP_AREA, state="visible", timeout=300_000)
                page.evaluate(NEXT_PAINT)
                first.append(time.perf_counter() - t)
                if i == 0:  # every page once (what the memory figure is after)
                    for name in NAV:
                        t = time.perf_counter()
                        page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
                        page.get_by_role("heading", name=name.split(":")[0], exact=False).first.wait_for(
                            timeout=300_000)
                        page.wait_for_timeout(300)
                        page.wait_for_function(
                            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                            " || document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.trim() === ''",
                            timeout=300_000)
                        nav_s[name] = round(time.perf_counter() - t, 2)
                ctx.close()
            b.close()
        rss = rss_mb(pid) if pid else float("nan")
    emit({"size": n, "what": "browser", "role": role, "map_first_s": round(first[0], 2),
          "map_median_s": round(statistics.median(first), 2), "map_runs": len(first),
          "page_visit_s": nav_s, "rss_mb_after_all_pages": round(rss), "warmup_s": round(warm_s, 1)}, sink)


# ------------------------------------------------------------------ weekly ingest
def bench_ingest(wh: Path, weeks: tuple[Path, Path], sink: list, n: int, work: Path, baseline: bool = False) -> None:
    """`baseline`: the writer as it was before issue 8 (plain `shutil.copyfile`, everything synced at the end)."""
    import veiligheid.warehouse as W
    from pipelines.ingest import log, run_ingest
    from veiligheid.config import Config

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    target = work / "warehouse.duckdb"
    shutil.copyfile(W.current_file(wh), target)
    os.sync()
    phases: dict[str, float] = {}
    marks: list[tuple[str, float]] = []

    class H(logging.Handler):
        def emit(self, record):
            marks.append((record.getMessage(), time.perf_counter()))

    log.handlers[:] = [H()]
    log.setLevel(logging.INFO)
    log.propagate = False
    orig_copy = W._copy_file

    def old_copy(a, b):
        shutil.copyfile(a, b)
        return "baseline"  # not "copy": no background flush

    def timed_copy(a, b):
        t = time.perf_counter()
        how = (old_copy if baseline else orig_copy)(a, b)
        phases["copy_s"] = round(time.perf_counter() - t, 3)
        phases["copy_how"] = how
        return how

    W._copy_file = timed_copy
    try:
        for label, src in (("prep", weeks[0]), ("timed", weeks[1])):
            inbox = work / f"inbox-{label}"
            shutil.copytree(src, inbox)
            cfg = Config.from_env(warehouse=str(target), inbox=str(inbox))
            cfg = Config(**{**cfg.__dict__, "processed": work / "processed", "refused": work / "refused",
                            "keep_versions": 2})
            marks.clear()
            t = time.perf_counter()
            res = run_ingest(cfg)
            total = time.perf_counter() - t
            pub = next((tt for m, tt in marks if "wordt gepubliceerd" in m), None)
            done = next((tt for m, tt in marks if m.startswith("versie gepubliceerd")), None)
            copied = next((tt for m, tt in marks if m.startswith("werkkopie")), None)
            emit({"size": n, "what": "ingest", "step": label, "baseline": baseline, "total_s": round(total, 2),
                  "copy_s": phases.get("copy_s"), "copy_how": phases.get("copy_how"),
                  "files_s": round(pub - copied, 2) if pub and copied else None,
                  "publish_s": round(done - pub, 2) if pub and done else None,
                  "rows": sum(f.rows_read for f in res.files),
                  "new": sum(f.rows_new for f in res.files), "replaced": sum(f.rows_replaced for f in res.files),
                  "status": sorted({f.status for f in res.files}),
                  "warehouse_mb": round(W.current_file(target).stat().st_size / 1e6)}, sink)
    finally:
        W._copy_file = orig_copy
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,5000000")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench8"))
    ap.add_argument("--runs", type=int, default=10, help="reruns per page and role (default 10)")
    ap.add_argument("--browser-runs", type=int, default=3)
    ap.add_argument("--only", default="pages,browser,ingest", help="comma list of pages, browser, ingest")
    ap.add_argument("--roles", default="analist,wijkteam")
    ap.add_argument("--repeat", type=int, default=1, help="ingest measurements per variant (default 1)")
    ap.add_argument("--baseline", action="store_true", help="also time the ingest with the writer as it was before")
    args = ap.parse_args()
    only = set(args.only.split(","))
    roles = args.roles.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    for n in [int(s) for s in args.sizes.split(",")]:
        sink: list = []
        wh = warehouse_for(args.out, n)
        from veiligheid.warehouse import connect_readonly, current_file

        con = connect_readonly(wh)
        counts = {k: con.execute(f"SELECT count(*) FROM {k}").fetchone()[0]
                  for k in ("incidenten", "registraties", "cyber_slachtoffers", "hennep")}
        con.close()
        emit({"size": n, "what": "warehouse", "counts": counts,
              "mb": round(current_file(wh).stat().st_size / 1e6)}, sink)
        if "ingest" in only:
            for _ in range(args.repeat):  # alternating, so that a busy moment hits both variants alike
                if args.baseline:
                    bench_ingest(wh, weekly_extracts(args.out), sink, n, args.out / "ingest-work", baseline=True)
                bench_ingest(wh, weekly_extracts(args.out), sink, n, args.out / "ingest-work")
        if "pages" in only:
            for role in roles:
                bench_pages(wh, role, args.runs, sink, n)
        if "browser" in only:
            for role in roles:
                bench_browser(wh, role, args.browser_runs, sink, n, args.out / "server")
        path = args.out / f"scale-{n}.json"
        old = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(old + sink, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

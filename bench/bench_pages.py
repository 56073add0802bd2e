"""Page benchmark: how fast the dashboard follows a filter change on a big warehouse.

    .venv/bin/python bench/bench_pages.py --incidents 5000000      # the target size (slow to build)
    .venv/bin/python bench/bench_pages.py --incidents 150000 --weeks 60

1. builds (or with --reuse, reuses) a demo warehouse scaled up with `pipelines.demo --scale` so
   that it holds about --incidents incidents (generate + ingest, like production);
2. AppTest: median time of a page rerun after a filter change (every change a cache miss, so the
   DuckDB aggregation is measured), and of a rerun that hits the cache;
3. headless Chromium on `./run.sh`: time from the login click to a visible map (first load) and of a
   page change Data -> Dashboards, and the resident memory (RSS) of the app process.
Both as role `wijkteam`, so disclosure control is included in every figure.

Prints a Markdown block for docs/performance.md ("Pagina's").
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

INCIDENTS_PER_WEEK_AT_SCALE_1 = 250  # demo incidents per week at --scale 1 (measured: 15.027 in 60 weeks)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def build(out: Path, incidents: int, weeks: int) -> tuple[Path, dict]:
    from pipelines.demo import generate
    from pipelines.ingest import run_ingest
    from veiligheid.config import Config

    scale = max(incidents / (INCIDENTS_PER_WEEK_AT_SCALE_1 * weeks), 0.01)
    shutil.rmtree(out, ignore_errors=True)
    inbox = out / "inbox"
    t0 = time.perf_counter()
    generate(inbox, weeks=weeks, seed=0, scale=scale)
    t1 = time.perf_counter()
    cfg = Config.from_env(warehouse=str(out / "warehouse.duckdb"), inbox=str(inbox))
    run_ingest(cfg, mark_demo=True)
    t2 = time.perf_counter()
    shutil.rmtree(out / "processed", ignore_errors=True)
    return cfg.warehouse, {"scale": scale, "generate_s": t1 - t0, "ingest_s": t2 - t1}


def replicate(wh: Path, incidents: int) -> float:
    """Multiply the demo incidents (copies with new keys; same dates, places and mix) up to `incidents`.

    Building a 5M warehouse through the weekly ingest takes over an hour here (every record arrives in
    8 rolling weekly files); for page timings only the size and shape of the tables matter.
    """
    from veiligheid.warehouse import write_version

    t = time.perf_counter()
    with write_version(wh) as w:
        n = w.con.execute("SELECT count(*) FROM incidenten").fetchone()[0]
        copies = max(incidents // max(n, 1), 1)
        if copies > 1:
            w.con.execute(f"""
                INSERT INTO incidenten
                SELECT i.* REPLACE (i.registratienummer || '-k' || k AS registratienummer)
                FROM incidenten i, range(1, {copies}) r(k)""")
        w.note = f"bench: incidenten x{copies}"
    return time.perf_counter() - t


def count_incidents(wh: Path) -> int:
    from veiligheid.warehouse import connect_readonly

    con = connect_readonly(wh)
    try:
        return con.execute("SELECT count(*) FROM incidenten WHERE status <> 'vervallen'").fetchone()[0]
    finally:
        con.close()


def bench_apptest(wh: Path, runs: int) -> dict:
    os.environ["VEILIGHEID_WAREHOUSE"] = str(wh)
    from streamlit.testing.v1 import AppTest

    from veiligheid.access import Viewer
    from veiligheid.ui import VIEWER

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    # measured as a wijkteam member: disclosure control (suppression masks) is part of every rerun
    at.session_state[VIEWER] = Viewer("bench", "wijkteam")
    at.session_state["auth_last_seen"] = time.time() + 86400
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    assert not at.exception, at.exception
    sd_codes = [o for o in at.selectbox(key="w_stadsdeel").options]
    presets = ["13w", "52w", "jtd", "4w"]
    cold, warm = [], []
    for i in range(runs):
        # a new combination every time: nothing is in the cache
        at.selectbox(key="w_periode").set_value(presets[i % len(presets)])
        at.selectbox(key="w_stadsdeel").set_value(sd_codes[1 + i % (len(sd_codes) - 1)])
        t = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - t)
        assert not at.exception, at.exception
        t = time.perf_counter()
        at.run()  # the same view again: served from the cache
        warm.append(time.perf_counter() - t)
    return {"first_s": first, "rerun_cold_s": statistics.median(cold), "rerun_warm_s": statistics.median(warm),
            "cold_all": cold}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


def bench_browser(wh: Path, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = dict(os.environ, VEILIGHEID_WAREHOUSE=str(wh), VEILIGHEID_INBOX=str(wh.parent / "inbox-app"),
               VEILIGHEID_PORT=str(port), VEILIGHEID_USERS=str(wh.parent / "bench-users.sqlite"),
               VEILIGHEID_AUDIT_LOG=str(wh.parent / "bench-audit.jsonl"))
    (wh.parent / "bench-users.sqlite").unlink(missing_ok=True)
    subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pipelines", "users", "add", "bench", "--role",
                    "wijkteam"], input="bench-wachtwoord\n", text=True, cwd=REPO, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen(["./run.sh"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("app did not start")
                time.sleep(0.5)
        from tests.e2e.browser import MAP_AREA, NEXT_PAINT
        first, nav = [], []
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for i in range(runs):
                ctx = b.new_context(viewport={"width": 1400, "height": 2600})
                page = ctx.new_page()
                page.goto(url + "/")
                page.get_by_label("Gebruikersnaam").fill("bench")
                page.get_by_label("Wachtwoord").fill("bench-wachtwoord")
                t = time.perf_counter()  # from the login click to a visible map
                page.get_by_role("button", name="Inloggen").click()
                page.wait_for_selector(MAP_AREA, state="visible", timeout=300_000)
                page.evaluate(NEXT_PAINT)
                first.append(time.perf_counter() - t)
                page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data").click()
                page.get_by_role("heading", name="Data", exact=True).wait_for(timeout=300_000)
                t = time.perf_counter()
                page.get_by_test_id("stSidebarNav").get_by_role("link", name="Dashboards veiligheid").click()
                page.wait_for_selector(MAP_AREA, state="visible", timeout=300_000)
                page.evaluate(NEXT_PAINT)
                nav.append(time.perf_counter() - t)
                ctx.close()
            b.close()
        rss = _rss_mb(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return {"first_map_s": first[0], "first_map_median_s": statistics.median(first),
            "nav_map_median_s": statistics.median(nav), "rss_mb": rss}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=5_000_000, help="target number of incidents (default 5.000.000)")
    ap.add_argument("--weeks", type=int, default=156, help="demo weeks (default 156)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "pages")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--reuse", action="store_true", help="reuse the warehouse in --out if present")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--replicate", action="store_true",
                    help="build a scale-1 demo warehouse through the ingest, then multiply its incidents to --incidents")
    args = ap.parse_args()

    wh = args.out / "warehouse.duckdb"
    info: dict = {}
    if not (args.reuse and wh.exists()):
        target = INCIDENTS_PER_WEEK_AT_SCALE_1 * args.weeks if args.replicate else args.incidents
        print(f"warehouse bouwen (~{target:,} incidenten, {args.weeks} weken) ...", flush=True)
        wh, info = build(args.out, target, args.weeks)
        print(f"  scale {info['scale']:.1f}: genereren {info['generate_s']:.0f} s, ingest {info['ingest_s']:.0f} s",
              flush=True)
        if args.replicate:
            print(f"  incidenten vermenigvuldigd tot ~{args.incidents:,} in {replicate(wh, args.incidents):.0f} s",
                  flush=True)
    n = count_incidents(wh)
    size_mb = wh.stat().st_size / 1e6
    print(f"warehouse {wh}: {n:,} incidenten, {size_mb:.0f} MB", flush=True)
    at = bench_apptest(wh, args.runs)
    print(f"AppTest: eerste run {at['first_s']:.2f} s, rerun na filterwissel (mediaan, koud) {at['rerun_cold_s']:.2f} s, "
          f"zelfde weergave (cache) {at['rerun_warm_s']:.2f} s", flush=True)
    br = {} if args.no_browser else bench_browser(wh, max(3, args.runs // 2))
    if br:
        print(f"Chromium: navigatie -> kaart zichtbaar: eerste keer {br['first_map_s']:.2f} s, mediaan "
              f"{br['first_map_median_s']:.2f} s; paginawissel Data -> Dashboards {br['nav_map_median_s']:.2f} s; "
              f"RSS app {br['rss_mb']:.0f} MB", flush=True)

    nl = lambda x, d=2: f"{x:,.{d}f}".replace(",", "_").replace(".", ",").replace("_", ".")  # noqa: E731
    print("\n## Pagina's\n")
    print(f"Gemeten met `bench/bench_pages.py --incidents {args.incidents} --weeks {args.weeks}"
          f"{' --replicate' if args.replicate else ''}` "
          f"({os.cpu_count()} CPU's): warehouse met {nl(n, 0)} incidenten ({nl(size_mb, 0)} MB).\n")
    print("| meting | tijd |\n|---|---|")
    print(f"| eerste paginarun (AppTest, koude cache) | {nl(at['first_s'])} s |")
    print(f"| rerun na filterwissel (AppTest, mediaan van {args.runs}, niets in de cache) | {nl(at['rerun_cold_s'])} s |")
    print(f"| rerun met dezelfde filters (cache) | {nl(at['rerun_warm_s'])} s |")
    if br:
        print(f"| navigatie tot zichtbare kaart, headless Chromium (mediaan) | {nl(br['first_map_median_s'])} s |")
        print(f"| paginawissel Data -> Dashboards tot zichtbare kaart (mediaan) | {nl(br['nav_map_median_s'])} s |")
        print(f"| RSS van het app-proces na de metingen | {nl(br['rss_mb'], 0)} MB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

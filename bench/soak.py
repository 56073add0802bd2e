"""Soak test (issue 8): a year of weekly ingests while sessions keep reading.

    nice -n 10 .venv/bin/python bench/soak.py --warehouse /tmp/bench8/w1000000/warehouse.duckdb [--weeks 52]

1. Copies the warehouse's current version to `<out>/soak/` and has the demo generator write `--weeks`
   consecutive weekly extracts of all four kinds after it (~10,000 rows a week, scale 2.8, rolling windows,
   corrections, withdrawals, bad rows: like a real year).
2. Starts the app (`./run.sh`, tests/e2e/browser.py `run_server`, 127.0.0.1) and `--sessions` browser sessions
   (one headless Chromium; roles alternate wijkteam/analist) that keep switching pages and filters for the
   whole soak. A session error: an exception box on the page, a run that does not finish within 120 s, or a
   browser error.
3. Two *data-path readers* (separate processes) do what a page run does through `veiligheid.ui`: several
   queries, each through a read-only connection cached per version token. Every query also returns the
   version it read, so a run that read two versions is a *mixed run*. One reader resolves the token per
   query, as `ui.query` does today; the other resolves it once per run (`warehouse.snapshot`).
4. Runs the weekly ingest (`python -m pipelines ingest --json`, like cron) once per simulated week, with
   `--read-seconds` of reading between ingests (a real week has 7 days of reading; this simulates the
   year in less: the number and kind of swaps are those of a year, not the idle time between them).
Reports: reader and session errors, mixed runs per reader, server RSS after week 1 and after the last
week, warehouse file size per week against the rows it holds, ingest times. Writes `<out>/soak.json`.
The soak stops by itself: after the last week, or after `--limit` seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_scale import TODAY, p95, server_pid  # noqa: E402
from bench.load import PAGES, PERIODS, Sampler, _errors_on, _finished, login_page  # noqa: E402
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, MAP_AREA, run_server  # noqa: E402

KINDS = ("incidenten", "registraties", "cyber_slachtoffers", "hennep")

READER = r'''
import json, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from veiligheid.warehouse import connect_readonly, snapshot, connect_snapshot, version_token
path, stop, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
conns = {{}}
def conn(token, opener):
    if token not in conns:
        if len(conns) >= 2:  # like ui._connection: cache_resource(max_entries=2)
            conns.pop(next(iter(conns)))
        conns[token] = opener()
    return conns[token]
Q = ["SELECT (SELECT value FROM meta WHERE key='version'), count(*), max(bron_weeknr) FROM incidenten",
     "SELECT (SELECT value FROM meta WHERE key='version'), count(*), max(bron_weeknr) FROM registraties",
     "SELECT (SELECT value FROM meta WHERE key='version'), count(*), max(bron_weeknr) FROM cyber_slachtoffers",
     "SELECT (SELECT value FROM meta WHERE key='version'), count(*), max(run_id) FROM ingest_runs"]
runs = mixed = 0
errors, versions = [], set()
while not stop.exists():
    try:
        seen = set()
        if mode == "pinned":
            snap = snapshot(path)
            con = conn(snap.token, lambda: connect_snapshot(snap))
        for q in Q:
            if mode != "pinned":  # ui.query today: the token is read again for every query
                tok = version_token(path)
                con = conn(tok, lambda: connect_readonly(path))
            cur = con.cursor()
            seen.add(cur.execute(q).fetchone()[0])
            cur.close()
            time.sleep(0.01)
        runs += 1
        mixed += len(seen) > 1
        time.sleep(0.2)  # a reader, not a CPU hog: the app and the ingest share 2 cores
        versions |= seen
    except Exception as exc:  # noqa: BLE001 - every failure is a reader error
        errors.append(f"{{type(exc).__name__}}: {{str(exc)[:160]}}")
print(json.dumps({{"mode": mode, "runs": runs, "mixed_runs": mixed, "errors": errors[:10], "n_errors": len(errors),
                  "versions_seen": len(versions)}}))
'''


def make_year(out: Path, weeks: int) -> list[list[Path]]:
    from pipelines.demo import generate

    d = out / "year"
    if not d.exists() or not any(d.iterdir()):
        shutil.rmtree(d, ignore_errors=True)
        generate(d, weeks=weeks, seed=2, scale=2.8, today=TODAY + dt.timedelta(days=7 * weeks))
    by_week: dict[str, list[Path]] = {}
    for p in sorted(d.iterdir()):
        by_week.setdefault(p.stem.rsplit("_", 1)[1], []).append(p)
    return [by_week[w] for w in sorted(by_week)]


def table_rows(wh: Path) -> int:
    from veiligheid.warehouse import connect_readonly

    con = connect_readonly(wh)
    try:
        return sum(con.execute(f"SELECT count(*) FROM {k}").fetchone()[0] for k in KINDS)
    finally:
        con.close()


async def browse(url: str, n: int, stop: threading.Event, out: dict) -> None:
    from playwright.async_api import Error as PWError
    from playwright.async_api import async_playwright

    async def one(i: int, browser):
        role = "wijkteam" if i % 2 == 0 else "analist"
        rec = {"role": role, "actions": 0, "errors": [], "times": []}
        out[i] = rec
        ctx = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="nl-NL")
        try:
            page, _ = await login_page(ctx, url, role)
            await page.wait_for_selector(MAP_AREA, state="visible", timeout=180_000)
            nav = page.get_by_test_id("stSidebarNav")
            k = 0
            while not stop.is_set():
                try:
                    before = await page.evaluate("window.__runs")
                    t = time.perf_counter()
                    if k % 3 == 0:
                        await page.get_by_role("combobox", name="Periode", exact=True).click()
                        await page.get_by_role("option", name=PERIODS[(k // 3 + i) % len(PERIODS)], exact=True).click()
                    elif k % 3 == 1:
                        await nav.get_by_role("link", name=PAGES[(i + k) % len(PAGES)]).click()
                    else:
                        await nav.get_by_role("link", name="Dashboards veiligheid").click()
                    await _finished(page, before, 120_000)
                    rec["times"].append(time.perf_counter() - t)
                    rec.setdefault("log", []).append((k % 3, round(rec["times"][-1], 2), round(time.time(), 1)))
                    rec["actions"] += 1
                    if await _errors_on(page):
                        rec["errors"].append(f"action {k}: exception on page")
                except PWError as exc:
                    rec["errors"].append(f"action {k}: {str(exc).splitlines()[0][:160]}")
                k += 1
                await asyncio.sleep(0.5)
        except PWError as exc:
            rec["errors"].append(f"login: {str(exc).splitlines()[0][:160]}")
        finally:
            await ctx.close()

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await asyncio.gather(*(one(i, browser) for i in range(n)))
        await browser.close()


async def browse_ws(url: str, n: int, stop: threading.Event, out: dict) -> None:
    """Like `browse`, over Streamlit's websocket protocol (`bench/load_ws.py`): no browser, so the soak
    measures the server and not N Chromiums on 2 cores."""
    from bench.load_ws import PAGES as WS_PAGES
    from bench.load_ws import PERIODS as WS_PERIODS
    from bench.load_ws import Session

    async def one(i: int):
        role = "wijkteam" if i % 2 == 0 else "analist"
        rec = {"role": role, "actions": 0, "errors": [], "times": []}
        out[i] = rec
        s, home, k = None, "", 0

        while not stop.is_set():
            if s is None:  # (again) a connection of its own: a late run's messages are never read as the next run's
                try:
                    s = Session(url)
                    await s.login(role)
                    home = s.page_hash
                except Exception as exc:  # noqa: BLE001 - a failed login is a session error; try again later
                    rec["errors"].append(f"login: {type(exc).__name__} {str(exc)[:100]}")
                    await asyncio.sleep(5)
                    continue
            try:
                if k % 3 == 0:
                    w = s.widgets["Periode"]
                    took = await s.rerun([s.state(w.id, string_value=WS_PERIODS[(k // 3 + i) % len(WS_PERIODS)])])
                elif k % 3 == 1:
                    took = await s.rerun(page_hash=s.pages[WS_PAGES[(i + k) % len(WS_PAGES)]])
                else:
                    took = await s.rerun(page_hash=home)
                rec["times"].append(took)
                rec["actions"] += 1
                if s.exceptions:
                    rec["errors"].append(f"action {k}: exception on page: {s.last_exception}")
            except Exception as exc:  # noqa: BLE001 - timeout, missing widget, closed connection
                rec["errors"].append(f"action {k}: {type(exc).__name__} {str(exc)[:100]}")
                with contextlib.suppress(Exception):
                    await s.close()
                s = None
            k += 1
            await asyncio.sleep(0.5)
        if s is not None:
            with contextlib.suppress(Exception):
                await s.close()

    await asyncio.gather(*(one(i) for i in range(n)))


def open_versions(pid: int) -> list[str]:
    """The warehouse files (versions) the app process holds open: one per live DuckDB instance."""
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            t = os.readlink(fd)
        except OSError:
            continue
        t = t.removesuffix(" (deleted)")  # a pruned version still held open
        if t.endswith(".duckdb"):
            out.append(Path(t).name)
    return sorted(set(out))


def cache_mb(url: str) -> dict[str, float]:
    """Streamlit's own account of its `st.cache_data` caches (`/_stcore/metrics`): MB per cached function.
    (For `st.cache_resource`, such as the DuckDB connections, Streamlit reports no bytes.)"""
    import urllib.request

    by: dict[str, float] = {}
    try:
        text = urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=30).read().decode()
    except OSError:
        return by
    for line in text.splitlines():
        if line.startswith("cache_memory_bytes{") and 'cache_type="st_cache_data"' in line:
            labels, value = line.rsplit(" ", 1)
            fn = labels.split('cache="', 1)[1].split('"', 1)[0] if 'cache="' in labels else labels
            by[fn] = by.get(fn, 0) + float(value) / 1e6
    return {k: round(v, 1) for k, v in sorted(by.items(), key=lambda kv: -kv[1])}


def ingest(inbox: Path, files: list[Path], wh: Path, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    inbox.mkdir(exist_ok=True)
    for f in files:
        shutil.copy(f, inbox / f.name)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "--inbox", str(inbox),
                          "--warehouse", str(wh), "--json"], cwd=REPO, capture_output=True, text=True, env=env)
    return time.perf_counter() - t, out


def wait_warmed(server_root: Path, wh: Path, limit: float) -> float | None:
    """Wait until the app's log says the current version is warmed (veiligheid.warmup), at most `limit`
    seconds; the seconds waited, or None when it was not warmed in time."""
    from veiligheid.warehouse import version_token

    line = f"voorverwarmd: versie {version_token(wh)},"
    t = time.perf_counter()
    while time.perf_counter() - t < limit:
        if line in (server_root / "run.log").read_text(errors="replace"):
            return round(time.perf_counter() - t, 1)
        time.sleep(1)
    return None


@contextlib.contextmanager
def serving(start: Path, root: Path, args):
    """The app on a copy of `start` (under `root`), its CPU/RSS sampled every second, and `args.sessions`
    sessions reading until the block ends: yields (srv, warehouse path, pid, sampler, sessions)."""
    with run_server(start, root) as srv:
        pid = server_pid(root)
        sampler = Sampler(pid, every=1.0)
        sampler.start()
        stop_browse, sessions = threading.Event(), {}
        t = threading.Thread(target=lambda: asyncio.run((browse if args.clients == "browser" else browse_ws)(
            srv["url"], args.sessions, stop_browse, sessions)), daemon=True)
        t.start()
        try:
            yield srv, Path(srv["env"]["VEILIGHEID_WAREHOUSE"]), pid, sampler, sessions
        finally:
            stop_browse.set()
            t.join(timeout=180)
            sampler.stop.set()
            sampler.join()


def control_week(start_file: Path, files: list[Path], work: Path, args) -> dict:
    """The soak's first week again, on the data of the year's end: a fresh server on the warehouse as it was
    before the last week, the same sessions, the same pause, then the last week's ingest and the same reading
    time. Its RSS against the soak's RSS after week 1 is what the data's growth costs; the soak's RSS after the
    last week against it is what a year of running costs."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    start = work / "start.duckdb"
    shutil.copyfile(start_file, start)
    with serving(start, work / "server", args) as (srv, wh, _pid, sampler, sessions):
        time.sleep(max(args.read_seconds, 20))
        took, out = ingest(work / "inbox", files, wh, srv["env"])
        warmed = wait_warmed(work / "server", wh, args.first_week_warm) if args.first_week_warm else None
        time.sleep(args.read_seconds)
        rss = sampler.rss[-1] if sampler.rss else None
        rows = table_rows(wh)
    errors = [e for s in sessions.values() for e in s["errors"]]
    return {"rss_mb_after_one_week": round(rss or 0), "rows": rows, "warmed_after_s": warmed, "ingest_s": round(took, 2),
            "ingest_exit": out.returncode, "session_actions": sum(len(s["times"]) for s in sessions.values()),
            "session_errors": len(errors), "session_error_samples": errors[:3]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, required=True, help="the warehouse to start from (not changed)")
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--read-seconds", type=float, default=4.0, help="reading between two ingests (default 4)")
    ap.add_argument("--limit", type=float, default=3600, help="stop after this many seconds in any case")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench8"))
    ap.add_argument("--clients", choices=("browser", "ws"), default="browser",
                    help="sessions as headless Chromium pages or over the websocket protocol (no browser)")
    ap.add_argument("--first-week-warm", type=float, default=0, metavar="S",
                    help="the first week lasts until the app has warmed its version (at most S seconds), as a real "
                         "week does, before its memory is taken; 0 (default): --read-seconds like every week")
    ap.add_argument("--control", action="store_true",
                    help="afterwards, a fresh server on the data of the year's end gets the same first week "
                         "(the last week's ingest): separates growth by the data from growth by running a year")
    args = ap.parse_args()
    from veiligheid.warehouse import current_file

    soak = args.out / "soak"
    shutil.rmtree(soak, ignore_errors=True)
    soak.mkdir(parents=True)
    year = make_year(args.out, args.weeks)
    start = soak / "start.duckdb"
    shutil.copyfile(current_file(args.warehouse), start)
    t_end = time.monotonic() + args.limit

    with serving(start, soak / "server", args) as (srv, wh, pid, sampler, sessions):
        reader_file = soak / "reader.py"
        reader_file.write_text(READER.format(repo=str(REPO)))
        stop_file = soak / "stop-readers"
        readers = [subprocess.Popen([sys.executable, str(reader_file), str(wh), str(stop_file), mode],
                                    stdout=subprocess.PIPE, text=True) for mode in ("per-query", "pinned")]
        time.sleep(max(args.read_seconds, 20))  # sessions log in and see their first page
        weeks = []
        rss_after = {}
        inbox = soak / "inbox"
        for wi, files in enumerate(year, start=1):
            if time.monotonic() > t_end:
                break
            if args.control and wi == len(year):  # the control starts from the data just before the last week
                shutil.copyfile(current_file(wh), soak / "before-last.duckdb")
            took, out = ingest(inbox, files, wh, srv["env"])
            warmed = wait_warmed(soak / "server", wh, args.first_week_warm) if wi == 1 and args.first_week_warm else None
            res = json.loads(out.stdout) if out.stdout.strip() else {}
            size = current_file(wh).stat().st_size
            vdir_size = sum(p.stat().st_size for p in wh.with_name(wh.name + ".versions").glob("v*.duckdb"))
            weeks.append({"week": wi, "ingest_s": round(took, 2), "exit": out.returncode,
                          "status": sorted({f["status"] for f in res.get("files", [])}), "warmed_after_s": warmed,
                          "file_mb": round(size / 1e6, 1), "versions_mb": round(vdir_size / 1e6),
                          "rows": table_rows(wh), "rss_mb": round(sampler.rss[-1]) if sampler.rss else None,
                          "open_versions": open_versions(pid), "cache_mb": cache_mb(srv["url"])})
            print(json.dumps(weeks[-1]), flush=True)
            time.sleep(args.read_seconds)
            if wi == 1:
                rss_after[1] = sampler.rss[-1] if sampler.rss else None
        rss_after[len(weeks)] = sampler.rss[-1] if sampler.rss else None
        time.sleep(2)
        stop_file.write_text("x")
        reader_reports = [json.loads(r.communicate(timeout=120)[0]) for r in readers]
    sess_times = [x for s in sessions.values() for x in s["times"]]
    sess_errors = [e for s in sessions.values() for e in s["errors"]]
    first, last = weeks[0], weeks[-1]
    report = {
        "weeks": len(weeks), "first_week_warm_s": args.first_week_warm, "sessions": args.sessions, "clients": args.clients, "read_seconds_per_week": args.read_seconds,
        "session_actions": len(sess_times), "session_errors": len(sess_errors), "session_error_samples": sess_errors[:5],
        "session_p50_s": round(statistics.median(sess_times), 2) if sess_times else None,
        "session_p95_s": round(p95(sess_times), 2) if sess_times else None,
        "readers": reader_reports,
        "session_logs": {i: s.get("log", []) for i, s in sessions.items()},
        "server_rss_mb_after_week_1": round(rss_after.get(1) or 0),
        "server_rss_mb_after_last_week": round(rss_after.get(len(weeks)) or 0),
        "server_rss_mb_max": round(max(sampler.rss)) if sampler.rss else None,
        "ingest_median_s": round(statistics.median(w["ingest_s"] for w in weeks), 2),
        "ingest_max_s": max(w["ingest_s"] for w in weeks),
        "ingest_failures": sum(1 for w in weeks if w["exit"] != 0),
        "file_mb_first_last": [first["file_mb"], last["file_mb"]],
        "rows_first_last": [first["rows"], last["rows"]],
        "per_week": weeks,
    }
    if args.control and (soak / "before-last.duckdb").exists():
        report["control"] = control_week(soak / "before-last.duckdb", year[len(weeks) - 1], soak / "control", args)
    if rss_after.get(1):
        report["rss_growth_pct"] = round(100 * (rss_after[len(weeks)] - rss_after[1]) / rss_after[1], 1)
    report["file_growth_pct"] = round(100 * (last["file_mb"] - first["file_mb"]) / first["file_mb"], 1)
    report["rows_growth_pct"] = round(100 * (last["rows"] - first["rows"]) / first["rows"], 1)
    (args.out / "soak.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "per_week"}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

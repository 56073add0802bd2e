"""Load test (issue 8): N concurrent dashboard sessions against one server on 127.0.0.1.

    nice -n 10 .venv/bin/python bench/load.py --warehouse /tmp/bench8/w5000000/warehouse.duckdb --sessions 5,10,20

For each N: starts `./run.sh` on a private copy of the warehouse (tests/e2e/browser.py `run_server`, own port on
127.0.0.1, test accounts), opens N browser contexts in one headless Chromium (roles alternate wijkteam /
analist, as a team would look on Monday morning), logs them all in, and lets every session run a bounded
loop of `--actions` actions (change the period, change the stadsdeel, go to another page and back), all
sessions at once. The loop stops by itself (action count, and a wall-clock limit of `--limit` seconds).

Measured per action: from the click until Streamlit reports the run finished (the app's script state
`notRunning` after the click, observed in the page), i.e. the time to re-render as a user sees it.
Errors: an exception box on the page, an action that does not finish within 120 s, or a browser error.
Server CPU (% of one core, user+system) and memory (RSS of the streamlit process) are sampled every 0.5 s.
The browser runs on the same 2 cores as the server, so the figures include the client's rendering cost
(charts and, until session 15, maps in software WebGL) too: on a real deployment the browsers are on the users'
machines.
Prints one JSON line per N and writes `<out>/load-<N>.json`.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_scale import p95, server_pid  # noqa: E402
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, MAP_AREA, PASSWORDS, run_server  # noqa: E402

OBSERVER = """
(() => {
  // counts finished script runs: every change of the app's script state to 'notRunning'. Several
  // changes can arrive in one batch of mutation records, so each record's new value is the next
  // record's old value (or the current value for the last one).
  window.__runs = 0;
  const state = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app ? app.getAttribute('data-test-script-state') : null;
  };
  new MutationObserver((records) => {
    const rs = records.filter(r => r.type === 'attributes');
    rs.forEach((r, i) => {
      const now = i + 1 < rs.length ? rs[i + 1].oldValue : state();
      if (now === 'notRunning' && r.oldValue !== 'notRunning') window.__runs += 1;
    });
  }).observe(document, {attributes: true, subtree: true, attributeOldValue: true,
                        attributeFilter: ['data-test-script-state']});
})();
"""
PAGES = ["Cybercrime: slachtofferprofielen", "Hennepteelt", "Prioriteiten per stadsdeel", "Data"]
PERIODS = ["Laatste 13 weken", "Laatste 4 weken", "Laatste 52 weken"]


class Sampler(threading.Thread):
    """CPU (% of one core) and RSS (MB) of a process and its children, every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.cpu: list[float] = []
        self.rss: list[float] = []
        self.stop = threading.Event()

    def _ticks(self) -> int:
        try:
            f = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(f[11]) + int(f[12])
        except OSError:
            return 0

    def run(self):
        hz = os.sysconf("SC_CLK_TCK")
        prev, tprev = self._ticks(), time.monotonic()
        while not self.stop.wait(self.every):
            now, tnow = self._ticks(), time.monotonic()
            self.cpu.append(100.0 * (now - prev) / hz / (tnow - tprev))
            prev, tprev = now, tnow
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.rss.append(int(line.split()[1]) / 1024)
            except OSError:
                pass


async def _finished(page, before: int, timeout_ms: int) -> None:
    await page.wait_for_function(f"() => window.__runs > {before}", timeout=timeout_ms, polling=50)


async def _errors_on(page) -> int:
    return await page.locator('[data-testid="stException"]').count()


async def session(i: int, browser, url: str, role: str, actions: int, deadline: float, out: dict) -> None:
    from playwright.async_api import Error as PWError

    rec = {"role": role, "times": [], "errors": [], "login_s": None}
    out[i] = rec
    ctx = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="nl-NL")
    try:
        page, t = await login_page(ctx, url, role)
        await page.wait_for_selector(MAP_AREA, state="visible", timeout=180_000)
        rec["login_s"] = time.perf_counter() - t
        nav = page.get_by_test_id("stSidebarNav")
        for k in range(actions):
            if time.monotonic() > deadline:
                break
            kind = k % 3
            try:
                before = await page.evaluate("window.__runs")
                t = time.perf_counter()
                if kind == 0:
                    await page.get_by_role("combobox", name="Periode", exact=True).click()
                    await page.get_by_role("option", name=PERIODS[(k // 3 + i) % len(PERIODS)], exact=True).click()
                elif kind == 1:
                    await page.get_by_role("combobox", name="Stadsdeel", exact=True).click()
                    opts = page.get_by_role("option")
                    n = await opts.count()
                    await opts.nth(1 + (i + k) % max(n - 1, 1)).click()
                else:
                    await nav.get_by_role("link", name=PAGES[(i + k // 3) % len(PAGES)]).click()
                    await _finished(page, before, 120_000)
                    rec["times"].append(time.perf_counter() - t)
                    before = await page.evaluate("window.__runs")
                    t = time.perf_counter()
                    await nav.get_by_role("link", name="Dashboards veiligheid").click()
                await _finished(page, before, 120_000)
                rec["times"].append(time.perf_counter() - t)
                if await _errors_on(page):
                    rec["errors"].append(f"action {k}: exception on page")
            except PWError as exc:
                rec["errors"].append(f"action {k}: {str(exc).splitlines()[0][:160]}")
    except PWError as exc:
        rec["errors"].append(f"login: {str(exc).splitlines()[0][:160]}")
    finally:
        await ctx.close()


async def drive(url: str, n: int, actions: int, limit: float) -> dict:
    from playwright.async_api import async_playwright

    out: dict = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        deadline = time.monotonic() + limit
        roles = ["wijkteam" if i % 2 == 0 else "analist" for i in range(n)]
        await asyncio.gather(*(session(i, browser, url, roles[i], actions, deadline, out) for i in range(n)))
        await browser.close()
    return out


def _warm_ahead(url: str, root: Path, timeout: float = 900) -> float:
    """Open the login page once (that starts the app's warm-up thread, veiligheid.warmup) and wait until the
    server's log says the version is warmed: the Monday morning after a weekly load in the night."""
    from bench.load_ws import Session

    async def one_run():
        s = Session(url)
        await s.connect()
        await s.rerun()
        await s.close()

    t = time.perf_counter()
    asyncio.run(one_run())
    while time.perf_counter() - t < timeout:
        if "voorverwarmd" in (root / "run.log").read_text(errors="replace"):
            return time.perf_counter() - t
        time.sleep(0.5)
    raise TimeoutError("the warm-up did not finish")


def run_level(wh: Path, n: int, actions: int, limit: float, root: Path, drive=None, client: str = "browser",
              warmup: str = "off") -> dict:
    """One load level: a server on a copy of `wh`, `n` sessions driven by `drive(url, n, actions, limit)`
    (default: this file's Playwright sessions), the server's CPU and memory sampled meanwhile.

    warmup: "off" (VEILIGHEID_WARMUP_SECONDS=0: every first view computes), "on" (the app's default: the
    first session starts the warm-up, which runs beside the users) or "ahead" (warmed before the sessions)."""
    drive = drive or globals()["drive"]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    env = {"VEILIGHEID_WARMUP_SECONDS": "0" if warmup == "off" else "60"}
    with run_server(wh, root, **env) as srv:
        warm_s = _warm_ahead(srv["url"], root) if warmup == "ahead" else None
        pid = server_pid(root)
        sampler = Sampler(pid) if pid else None
        if sampler:
            sampler.start()
        t = time.perf_counter()
        res = asyncio.run(drive(srv["url"], n, actions, limit))
        wall = time.perf_counter() - t
        if sampler:
            sampler.stop.set()
            sampler.join()
    times = [x for r in res.values() for x in r["times"]]
    by_role = {}
    for role in ("wijkteam", "analist"):
        tt = [x for r in res.values() if r["role"] == role for x in r["times"]]
        by_role[role] = {"p50_s": round(statistics.median(tt), 2) if tt else None,
                         "p95_s": round(p95(tt), 2) if tt else None, "actions": len(tt)}
    logins = [r["login_s"] for r in res.values() if r["login_s"] is not None]
    # which runs make the tail (websocket client only: it labels every run with page and action)
    labelled = sorted(((t, r["role"], what) for r in res.values() for what, t in r.get("runs", [])), reverse=True)
    slowest = [{"s": t, "role": role, "run": what} for t, role, what in labelled[:10]]
    errors = [e for r in res.values() for e in r["errors"]]
    return {"client": client, "sessions": n, "warmup": warmup,
            **({"warmup_s": round(warm_s, 1)} if warm_s is not None else {}),
            "actions": len(times), "wall_s": round(wall, 1),
            "p50_s": round(statistics.median(times), 2) if times else None,
            "p95_s": round(p95(times), 2) if times else None, "max_s": round(max(times), 2) if times else None,
            "by_role": by_role,
            # browser: login until the map is visible; websocket: login until the first page has run
            "login_median_s": round(statistics.median(logins), 2) if logins else None,
            "errors": len(errors), "error_samples": errors[:5],
            **({"slowest_runs": slowest} if slowest else {}),
            "server_cpu_mean_pct": round(statistics.mean(sampler.cpu), 0) if sampler and sampler.cpu else None,
            "server_cpu_p95_pct": round(p95(sampler.cpu), 0) if sampler and sampler.cpu else None,
            "server_rss_max_mb": round(max(sampler.rss)) if sampler and sampler.rss else None,
            "server_rss_end_mb": round(sampler.rss[-1]) if sampler and sampler.rss else None}


def cli(doc: str, drive, client: str, prefix: str) -> int:
    """The command line of a load script: levels of sessions, one JSON line and file per level."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--sessions", default="5,10,20")
    ap.add_argument("--actions", type=int, default=9, help="actions per session (default 9)")
    ap.add_argument("--limit", type=float, default=600, help="wall-clock limit per level in seconds (default 600)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench8"))
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean seconds a user reads between two clicks (uniform 0.5-1.5x; default 0: click on "
                         "as soon as the page is there, the hardest load)")
    ap.add_argument("--warmup", choices=["off", "on", "ahead"], default="off",
                    help="the app's warm-up after a load (veiligheid.warmup): off (default; every first view "
                         "computes), on (starts with the first session and runs beside the users), ahead "
                         "(finished before the sessions start, as after a weekly load in the night)")
    args = ap.parse_args()
    if args.think:
        if "think" not in inspect.signature(drive).parameters:
            ap.error("--think is only for bench/load_ws.py")
        drive = functools.partial(drive, think=args.think)
    for n in [int(s) for s in args.sessions.split(",")]:
        rec = run_level(args.warehouse, n, args.actions, args.limit, args.out / f"{prefix}-server", drive, client,
                        args.warmup)
        rec["think_s"] = args.think
        print(json.dumps(rec, ensure_ascii=False), flush=True)
        name = f"{prefix}-{n}{f'-think{args.think:g}' if args.think else ''}" \
               f"{f'-warmup-{args.warmup}' if args.warmup != 'off' else ''}.json"
        (args.out / name).write_text(json.dumps(rec, ensure_ascii=False, indent=1))
    return 0


async def login_page(ctx, url: str, role: str):
    """A page of `ctx` on the login of `url`, filled in for the test account of `role` and submitted;
    returns (page, the moment of the click)."""
    await ctx.add_init_script(OBSERVER)
    page = await ctx.new_page()
    await page.goto(url + "/")
    await page.get_by_label("Gebruikersnaam").fill(f"test-{role}")
    await page.get_by_label("Wachtwoord").fill(PASSWORDS[role])
    t = time.perf_counter()
    await page.get_by_role("button", name="Inloggen").click()
    return page, t


def main() -> int:
    return cli(__doc__, drive, "browser", "load")


if __name__ == "__main__":
    raise SystemExit(main())

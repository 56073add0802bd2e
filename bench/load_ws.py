"""Load test over Streamlit's own websocket protocol (issue 8): N concurrent sessions, no browser.

    nice -n 10 .venv/bin/python bench/load_ws.py --warehouse /tmp/bench8/w5000000/warehouse.duckdb --sessions 5,10,20

`bench/load.py` drives real browsers, but on this 2-core machine N headless Chromium contexts drawing
maps with software WebGL use most of the CPU themselves. This client speaks the protocol the browser
speaks (protobuf `BackMsg` / `ForwardMsg` on `/_stcore/stream`): it logs in through the login form
(the form's widgets, found in the deltas), then sends what a user's clicks send: a new value for the
`Periode` or `Stadsdeel` selectbox, or a page switch (`page_script_hash`), and times each rerun from the
request until the server's `script_finished` (all deltas received). That is the server's time to
re-render; drawing in the user's browser comes on top (see `bench/load.py` and the browser figures).

Each of the N sessions (roles alternate wijkteam/analist) runs `--actions` actions in a bounded loop; the
level stops by itself after the last action or `--limit` seconds. Errors: an exception element in a run,
a run that does not finish within 120 s, a closed connection. Server CPU and RSS sampled every 0.5 s.
Prints one JSON line per N and writes `<out>/load-ws-<N>.json`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_scale import p95, server_pid  # noqa: E402
from bench.load import Sampler  # noqa: E402
from tests.e2e.browser import PASSWORDS, run_server  # noqa: E402

PAGES = ["Cybercrime: slachtofferprofielen", "Hennepteelt", "Prioriteiten per stadsdeel", "Data"]
PERIODS = ["Laatste 13 weken", "Laatste 4 weken", "Laatste 52 weken"]
RUN_TIMEOUT = 120


class Session:
    def __init__(self, url: str):
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.widgets: dict[str, object] = {}  # label -> element proto (last run)
        self.pages: dict[str, str] = {}  # page title -> page_script_hash
        self.page_hash = ""
        self.exceptions = 0
        self.last_exception = ""

    async def connect(self):
        import websockets

        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None, ping_interval=None)

    async def close(self):
        await self.ws.close()

    async def rerun(self, states=(), page_hash: str | None = None) -> float:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = ""
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        for s in states:
            cs.widget_states.widgets.append(s)
        t = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        self.widgets = {}
        self.exceptions = 0
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:
            data = await asyncio.wait_for(self.ws.recv(), timeout=max(deadline - time.monotonic(), 0.1))
            fm = ForwardMsg()
            fm.ParseFromString(data)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                et = el.WhichOneof("type")
                if et == "exception":
                    self.exceptions += 1
                    self.last_exception = f"{el.exception.type}: {el.exception.message[:200]}"
                elif et in ("text_input", "selectbox", "button"):
                    w = getattr(el, et)
                    self.widgets[w.label] = w
            elif kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in fm.navigation.app_pages}
                self.page_hash = fm.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                pass
            elif kind == "script_finished":
                if fm.script_finished != 2:  # 2 = FINISHED_EARLY_FOR_RERUN: a new run follows
                    return time.perf_counter() - t

    @staticmethod
    def state(widget_id: str, **value):
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        s = WidgetState(id=widget_id)
        for k, v in value.items():
            setattr(s, k, v)
        return s


async def session(i: int, url: str, role: str, actions: int, deadline: float, out: dict) -> None:
    rec = {"role": role, "times": [], "errors": [], "login_s": None}
    out[i] = rec
    s = Session(url)
    try:
        await s.connect()
        await s.rerun()
        name, pwd, submit = s.widgets["Gebruikersnaam"], s.widgets["Wachtwoord"], s.widgets["Inloggen"]
        t = time.perf_counter()
        await s.rerun([s.state(name.id, string_value=f"test-{role}"), s.state(pwd.id, string_value=PASSWORDS[role]),
                       s.state(submit.id, trigger_value=True)])
        rec["login_s"] = time.perf_counter() - t
        if "Periode" not in s.widgets:
            rec["errors"].append("login: no dashboard after the login")
            return
        home = s.page_hash
        for k in range(actions):
            if time.monotonic() > deadline:
                break
            try:
                kind = k % 3
                if kind == 0:
                    w = s.widgets["Periode"]
                    took = await s.rerun([s.state(w.id, string_value=PERIODS[(k // 3 + i) % len(PERIODS)])])
                elif kind == 1:
                    w = s.widgets["Stadsdeel"]
                    took = await s.rerun([s.state(w.id, string_value=w.options[1 + (i + k) % (len(w.options) - 1)])])
                else:
                    took = await s.rerun(page_hash=s.pages[PAGES[(i + k // 3) % len(PAGES)]])
                    rec["times"].append(took)
                    if s.exceptions:
                        rec["errors"].append(f"action {k}: exception on page: {s.last_exception}")
                    took = await s.rerun(page_hash=home)
                rec["times"].append(took)
                if s.exceptions:
                    rec["errors"].append(f"action {k}: exception on page: {s.last_exception}")
            except (asyncio.TimeoutError, KeyError) as exc:
                rec["errors"].append(f"action {k}: {type(exc).__name__} {str(exc)[:100]}")
    except Exception as exc:  # noqa: BLE001 - a closed connection or protocol error is a session error
        rec["errors"].append(f"{type(exc).__name__}: {str(exc)[:160]}")
    finally:
        try:
            await s.close()
        except Exception:  # noqa: BLE001
            pass


async def drive(url: str, n: int, actions: int, limit: float) -> dict:
    out: dict = {}
    deadline = time.monotonic() + limit
    roles = ["wijkteam" if i % 2 == 0 else "analist" for i in range(n)]
    await asyncio.gather(*(session(i, url, roles[i], actions, deadline, out) for i in range(n)))
    return out


def run_level(wh: Path, n: int, actions: int, limit: float, root: Path) -> dict:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with run_server(wh, root) as srv:
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
    errors = [e for r in res.values() for e in r["errors"]]
    return {"client": "websocket", "sessions": n, "actions": len(times), "wall_s": round(wall, 1),
            "p50_s": round(statistics.median(times), 2) if times else None,
            "p95_s": round(p95(times), 2) if times else None, "max_s": round(max(times), 2) if times else None,
            "by_role": by_role,
            "login_median_s": round(statistics.median(logins), 2) if logins else None,
            "errors": len(errors), "error_samples": errors[:5],
            "server_cpu_mean_pct": round(statistics.mean(sampler.cpu), 0) if sampler and sampler.cpu else None,
            "server_cpu_p95_pct": round(p95(sampler.cpu), 0) if sampler and sampler.cpu else None,
            "server_rss_max_mb": round(max(sampler.rss)) if sampler and sampler.rss else None,
            "server_rss_end_mb": round(sampler.rss[-1]) if sampler and sampler.rss else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--sessions", default="5,10,20")
    ap.add_argument("--actions", type=int, default=9, help="actions per session (default 9)")
    ap.add_argument("--limit", type=float, default=600, help="wall-clock limit per level in seconds (default 600)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench8"))
    args = ap.parse_args()
    for n in [int(s) for s in args.sessions.split(",")]:
        rec = run_level(args.warehouse, n, args.actions, args.limit, args.out / "load-ws-server")
        print(json.dumps(rec, ensure_ascii=False), flush=True)
        (args.out / f"load-ws-{n}.json").write_text(json.dumps(rec, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

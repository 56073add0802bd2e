"""Load test over Streamlit's own websocket protocol (issue 8): N concurrent sessions, no browser.

    nice -n 10 .venv/bin/python bench/load_ws.py --warehouse /tmp/bench8/w5000000/warehouse.duckdb --sessions 5,10,20

`bench/load.py` drives real browsers, but on this 2-core machine N headless Chromium contexts drawing
the pages (maps in software WebGL until session 15) use most of the CPU themselves. This client speaks the protocol the browser
speaks (protobuf `BackMsg` / `ForwardMsg` on `/_stcore/stream`): it logs in through the login form
(the form's widgets, found in the deltas), then sends what a user's clicks send: a new value for the
`Periode` or `Stadsdeel` selectbox, or a page switch (`page_script_hash`), and times each rerun from the
request until the server's `script_finished` (all deltas received). That is the server's time to
re-render; drawing in the user's browser comes on top (see `bench/load.py` and the browser figures).

Each of the N sessions (roles alternate wijkteam/analist) runs `--actions` actions in a bounded loop; the
level stops by itself after the last action or `--limit` seconds (a last reading pause may run over).
`--think S`: before every click the user reads the page S seconds on average (uniform 0.5-1.5 x S); by
default 0, every user clicks as soon as the page is there (the hardest load). Errors: an exception element in a run,
a run that does not finish within 120 s, a closed connection. Server CPU and RSS sampled every 0.5 s.
Prints one JSON line per N and writes `<out>/load-ws-<N>.json`.
"""
from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import cli  # noqa: E402
from tests.e2e.browser import PASSWORDS  # noqa: E402

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
        self.query_string = ""  # the app's URL query (its filters), as last sent by the server

    async def connect(self):
        import websockets

        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None, ping_interval=None)

    async def close(self):
        await self.ws.close()

    async def login(self, role: str) -> float:
        """Connect, and log in with the test account of `role` through the login form (the form's widgets,
        found in the first run's deltas); returns the seconds of the login run."""
        await self.connect()
        await self.rerun()
        name, pwd, submit = self.widgets["Gebruikersnaam"], self.widgets["Wachtwoord"], self.widgets["Inloggen"]
        return await self.rerun([self.state(name.id, string_value=f"test-{role}"),
                                 self.state(pwd.id, string_value=PASSWORDS[role]),
                                 self.state(submit.id, trigger_value=True)])

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
                self.query_string = fm.page_info_changed.query_string
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


async def session(i: int, url: str, role: str, actions: int, deadline: float, out: dict, think: float = 0.0) -> None:
    rec = {"role": role, "times": [], "errors": [], "login_s": None, "runs": []}
    rnd = random.Random(i)
    out[i] = rec
    s = Session(url)
    try:
        rec["login_s"] = await s.login(role)
        if "Periode" not in s.widgets:
            rec["errors"].append("login: no dashboard after the login")
            return
        home = s.page_hash
        for k in range(actions):
            if time.monotonic() > deadline:
                break
            if think:  # the user reads the page before the next click
                await asyncio.sleep(think * rnd.uniform(0.5, 1.5))
            try:
                kind = k % 3
                if kind == 0:
                    w = s.widgets["Periode"]
                    what = f"Dashboards, periode {PERIODS[(k // 3 + i) % len(PERIODS)]}"
                    took = await s.rerun([s.state(w.id, string_value=PERIODS[(k // 3 + i) % len(PERIODS)])])
                elif kind == 1:
                    w = s.widgets["Stadsdeel"]
                    what = "Dashboards, stadsdeel"
                    took = await s.rerun([s.state(w.id, string_value=w.options[1 + (i + k) % (len(w.options) - 1)])])
                else:
                    page = PAGES[(i + k // 3) % len(PAGES)]
                    took = await s.rerun(page_hash=s.pages[page])
                    rec["times"].append(took)
                    rec["runs"].append((page, round(took, 3)))
                    if s.exceptions:
                        rec["errors"].append(f"action {k}: exception on page: {s.last_exception}")
                    if think:
                        await asyncio.sleep(think * rnd.uniform(0.5, 1.5))
                    what = "Dashboards, terug"
                    took = await s.rerun(page_hash=home)
                rec["times"].append(took)
                rec["runs"].append((what, round(took, 3)))
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


async def drive(url: str, n: int, actions: int, limit: float, think: float = 0.0) -> dict:
    out: dict = {}
    deadline = time.monotonic() + limit
    roles = ["wijkteam" if i % 2 == 0 else "analist" for i in range(n)]
    await asyncio.gather(*(session(i, url, roles[i], actions, deadline, out, think) for i in range(n)))
    return out


def main() -> int:
    return cli(__doc__, drive, "websocket", "load-ws")


if __name__ == "__main__":
    raise SystemExit(main())

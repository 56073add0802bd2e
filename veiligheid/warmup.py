"""Warm-up after a weekly load: the slow figures of a new warehouse version are computed once, in the app's
own process, before the first user asks for them.

Why it covers every wijkteam view: disclosure control protects all areas of a period together (one set of
hidden cells per warehouse version, period and policy; see veiligheid.shared). That set takes seconds at
regional scale, but it does not depend on the stadsdeel, wijk or person. So computing it for every period a
wijkteam member can choose, on every page, leaves only cheap work for their first click on Monday morning.
The views of Dashboards veiligheid, Cybercrime and Hennepteelt are also warmed for the whole city and every
stadsdeel in every fixed period, for both roles (Prioriteiten: every stadsdeel and quarter), so the usual clicks
of Monday morning (a stadsdeel, a period) only draw the page; a wijk, a theme or an own period is computed when
asked (tenths of a second).

A thread in the app's process (`start`, called by app.py on every run; it starts once) looks at the
warehouse version every `VEILIGHEID_WARMUP_SECONDS` seconds (default 60; 0 = off) and warms each new version
once. It fills the same caches the pages read (st.cache_data / st.cache_resource are process-wide), with the
same functions and arguments. A failed step is logged and skipped; the pages then compute it themselves.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import importlib
import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Callable

import streamlit as st

from . import filters as F, priorities as P, shared, ui
from .config import SETTINGS, min_count, setting_number
from .disclosure import Policy
from .warehouse import version_token

log = logging.getLogger("veiligheid.warmup")
THREAD_NAME = "veiligheid-voorverwarmen"


class _QuietOutsideRuns(logging.Filter):
    """Streamlit warns "missing ScriptRunContext" when a cached function with a spinner runs outside a page
    run; in the warm-up thread that is expected (there is nobody to show a spinner to)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.current_thread().name != THREAD_NAME


_lock = threading.Lock()
_thread: "Warmer | None" = None


def steps(path: str, token: str, today: dt.date | None = None) -> list[tuple[str, Callable[[], object]]]:
    """The warm-up of one warehouse version, in order: (Dutch label, call). The calls are exactly the ones
    the pages make for these selections (tests/test_warmup.py checks that a page run after them computes
    nothing slow)."""
    fresh = ui.freshness_at(path, token, today)
    if fresh.data_week is None:  # no incidents yet: nothing to warm
        return []
    valid = ui.valid_at(path, token, fresh)
    start, end = fresh.data_start, fresh.data_end
    default, cyber_p, hennep_p = Policy(min_count("default"), True), Policy(min_count("cyber"), True), \
        Policy(min_count("hennep"), True)
    periods = {p: F.resolve_period(F.FilterState(preset=p), end) for p in F.FIXED_PRESETS}
    order = [F.DEFAULT_PRESET, *(p for p in F.FIXED_PRESETS if p != F.DEFAULT_PRESET)]
    quarters = [q.code for q in P.available_quarters(start, end)]
    quarter = quarters[0]  # the Prioriteiten page opens on it
    out: list[tuple[str, Callable[[], object]]] = [
        ("Dashboards veiligheid en Prioriteiten: onderdrukking alle gebieden",
         lambda: shared.city_model(path, token, start, end, dict(valid.wijken), (), default)),
        (f"Prioriteiten per stadsdeel: onderdrukking {quarter}",
         lambda: shared.prio_hidden(path, token, quarter, start, default.threshold, True)),
        # every stadsdeel's view of that quarter, with and without disclosure control (wijkteam, analist)
        (f"Prioriteiten per stadsdeel: alle stadsdelen, {quarter}",
         lambda: [shared.prio_view(path, token, quarter, start, sd, default.threshold, active)
                  for sd in valid.stadsdelen for active in (True, False)]),
        ("Prioriteiten per stadsdeel: signalen per stadsdeel",
         lambda: [shared.prio_signals(path, token, sd, start, end) for sd in valid.stadsdelen]),
        # the PDF library the Prioriteiten page imports (~0.35 s, once per process): not in a user's first visit
        ("Prioriteiten per stadsdeel: vergaderstuk (PDF) laden", lambda: importlib.import_module("veiligheid.meeting_pack")),
    ]
    for p in order:  # the default period first: the first page most people open
        per = periods[p]
        out.append((f"Cybercrime: onderdrukking {F.PRESETS[p].lower()}",
                    lambda per=per: shared.cyber_tables(path, token, per.start, per.end, None, None,
                                                        cyber_p.threshold, True, end)))
        out.append((f"Hennepteelt: onderdrukking {F.PRESETS[p].lower()}",
                    lambda per=per: shared.hennep_overview(path, token, per, None, None, end, hennep_p)))
    # every stadsdeel (a wijkteam opens its own) and the whole city, for both roles: the first Cybercrime and
    # Hennepteelt view of a selection costs ~0.5 s alone, seconds in a queue on Monday. The default period first
    # (the first view), then the other periods: picking a stadsdeel or a period then only draws the page
    st0 = F.FilterState()
    for p in order:
        per = periods[p]
        for sd in [None, *valid.stadsdelen]:
            where = f"{sd or 'hele stad'}, {F.PRESETS[p].lower()}, beide rollen"
            out.append((f"Cybercrime: {where}", lambda sd=sd, per=per: [
                shared.cyber_tables(path, token, per.start, per.end, sd, None, cyber_p.threshold, active, end)
                for active in (True, False)]))
            out.append((f"Hennepteelt: {where}", lambda sd=sd, per=per: [
                shared.hennep_overview(path, token, per, sd, None, end, Policy(hennep_p.threshold, active))
                for active in (True, False)]))
            # Dashboards veiligheid, all themes: all of it for the analist; tiles, map and table also for a
            # wijkteam, who sees them with the model's hidden cells (the same queries)
            sel = replace(st0, preset=p, stadsdeel=sd)
            out.append((f"Dashboards veiligheid: {sd or 'hele stad'}, {F.PRESETS[p].lower()}",
                        lambda sel=sel, per=per: [ui._query(path, token, *call)
                                                  for call in shared.dashboard_queries(sel, per, fresh).values()]))
    # last (a less common click than the first views above): the hidden cells of every other quarter a reader
    # can pick on Prioriteiten; each adds one new quarter to solve (~0.1 s at 5M, ~0.3 s for all), so picking
    # one costs only its stadsdeel's view
    out.append(("Prioriteiten per stadsdeel: onderdrukking overige kwartalen",
                lambda: [shared.prio_hidden(path, token, q, start, default.threshold, True) for q in quarters[1:]]))
    # and then every stadsdeel's view of those quarters for both roles (~60 ms each at 5M, once for the two:
    # shared.prio_area): picking another quarter or stadsdeel then costs only drawing it
    for q in quarters[1:]:
        out.append((f"Prioriteiten per stadsdeel: alle stadsdelen, {q}",
                    lambda q=q: [shared.prio_view(path, token, q, start, sd, default.threshold, active)
                                 for sd in valid.stadsdelen for active in (True, False)]))
    return out


def warm(path: str, token: str, today: dt.date | None = None) -> list[tuple[str, float]]:
    """Run the warm-up of one version; returns (step, seconds), seconds None for a step that failed (it is
    logged, and the page computes it itself). Never raises."""
    done = []
    t0 = time.perf_counter()
    try:
        plan = steps(path, token, today)
    except Exception:  # noqa: BLE001 - a warm-up must never take the app down
        log.exception("voorverwarmen %s: kon de stappen niet bepalen", token)
        return [("stappen bepalen", None)]
    for label, call in plan:
        t = time.perf_counter()
        try:
            call()
        except Exception:  # noqa: BLE001
            log.exception("voorverwarmen %s: %s mislukt (de pagina rekent het zelf uit)", token, label)
            done.append((label, None))
            continue
        done.append((label, round(time.perf_counter() - t, 2)))
    log.info("voorverwarmd: versie %s, %d van %d stappen in %.1f s", token,
             sum(1 for _, s in done if s is not None), len(plan), time.perf_counter() - t0)
    return done


def rss_mb() -> float | None:
    """Resident memory of this process in MB (Linux), None where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def release_memory() -> float | None:
    """Give the system back what the C allocators keep free after a warm-up; MB released, or None.

    glibc malloc (numpy, pandas) and Arrow's pool keep freed pages for reuse. Measured in the year-long soak
    (session 9): 4-7 MB per version, so the app's slow memory growth is not there; what it does give is the
    resident memory in the log once a week (`geheugen: … nu … MB`), for beheer to follow. Runs in this
    thread; malloc_trim releases the GIL (ctypes), so sessions go on meanwhile."""
    before = rss_mb()
    try:
        import pyarrow as pa
        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - best effort
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        pass
    after = rss_mb()
    return None if before is None or after is None else round(before - after, 1)


def forget_old_versions() -> None:
    """Drop the cached figures of earlier warehouse versions.

    Every cached figure is keyed on the version it was read from, so after a weekly load the old version's
    entries are never asked for again; they would stay until each cache reaches its `max_entries` (up to 512
    for the queries). The year-long soak (session 10) saw Streamlit's own account of these caches grow from
    1 to 28 MB over 52 versions."""
    st.cache_data.clear()
    # cache_resource: a session still holding one keeps a valid object. The city models themselves stay
    # referenced by overview's content cache (two data generations) until the next generation; the hennep
    # inputs are the old version's whole case tables. The connections keep their own limit of 2.
    shared.city_model.clear()
    shared.hennep_inputs.clear()
    shared.prio_base.clear()  # small (counts per quarter, theme and buurt), but of an old version
    shared.prio_area.clear()


_versions_lock = threading.Lock()
_seen: dict[str, deque] = {}  # per warehouse path: the versions this process has worked on


def note_version(path, token: str, forget: Callable[[], object] = forget_old_versions) -> bool:
    """Called before anything is computed on a version (every page run in app.py, and the warm-up): the first
    time this process meets a newer version of the warehouse, the figures of the older ones are dropped
    (`forget`). True when that happened.

    Versions are published one after another, so a version not met before is normally the newest; a run
    that is still on an older version does not drop anything again. (After `pipelines restore`, or when the
    warm-up starts on a version a page run has already left behind, an older version can be the one not met
    before: then figures are dropped too early, which costs only their computation.)

    The lock is held while dropping, so nothing is computed on the new version before the old figures are
    gone; a run still on the old version may cache a last old figure, which goes with the next version. The
    first version a process meets drops nothing."""
    if token == "missing":
        return False
    with _versions_lock:
        seen = _seen.setdefault(str(path), deque(maxlen=16))
        if token in seen:
            return False
        seen.append(token)
        if len(seen) == 1:
            return False
        try:
            forget()
        except Exception:  # noqa: BLE001 - the old figures stay until evicted; go on with the new version
            log.exception("oude versies uit de caches halen mislukt")
            return False
        log.info("nieuwe versie %s: cijfers van oudere versies uit de caches gehaald", token)
        return True


def interval() -> float:
    """Seconds between two looks at the warehouse version (VEILIGHEID_WARMUP_SECONDS; 0 or less: off)."""
    s = setting_number("VEILIGHEID_WARMUP_SECONDS")
    if not math.isfinite(s):  # nan/inf: the default
        return float(SETTINGS["VEILIGHEID_WARMUP_SECONDS"][0])
    return max(s, 1.0) if s > 0 else 0.0  # at most one look a second


class Warmer(threading.Thread):
    """Looks at the warehouse version every `every` seconds and warms each new one once, and again on a new
    day: the last day with data of a week still running is today (`queries.freshness`), so the keys move."""

    def __init__(self, path: Path, every: float, warm_fn: Callable[[str, str], object] = warm,
                 forget_fn: Callable[[], object] = forget_old_versions):
        super().__init__(name=THREAD_NAME, daemon=True)
        self.path, self.every, self.warm_fn, self.forget_fn = Path(path), every, warm_fn, forget_fn
        self.stop = threading.Event()
        self.busy: tuple[str, dt.datetime] | None = None  # (token, since) while warming
        self.last: dict | None = None  # the last warm-up: token, finished, seconds, steps, done

    def run(self) -> None:
        last = None
        while not self.stop.is_set():
            try:
                token = version_token(self.path) if self.path.exists() else "missing"
                key = (token, dt.date.today())
                if key != last and token != "missing":
                    note_version(self.path, token, self.forget_fn)  # a newer version: drop the old figures first
                    last = key  # once per version and day, also when it fails (no retry loop every minute)
                    self.busy = (token, dt.datetime.now())
                    t = time.perf_counter()
                    try:
                        result = self.warm_fn(str(self.path), token) or []
                    finally:
                        self.busy = None
                    self.last = {"token": token, "finished": dt.datetime.now(), "steps": len(result),
                                 "done": sum(1 for _, s in result if s is not None),
                                 "seconds": time.perf_counter() - t, "released_mb": release_memory(),
                                 "rss_mb": rss_mb()}
                    log.info("geheugen: %s MB vrijgegeven, nu %s MB", self.last["released_mb"], self.last["rss_mb"])
            except Exception:  # noqa: BLE001 - keep looking; the next version gets its chance
                log.exception("voorverwarmen: fout bij het bekijken van %s", self.path)
            self.stop.wait(self.every)


def start(path: Path) -> Warmer | None:
    """Start this process's warm-up thread once (app.py calls this on every run); None when it is off."""
    global _thread
    every = interval()
    if every <= 0:
        return None
    with _lock:
        quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
        if not any(isinstance(f, _QuietOutsideRuns) for f in quiet.filters):
            quiet.addFilter(_QuietOutsideRuns())
        if not log.handlers:  # the app's log (stderr of run.sh): one line per warmed version
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        if _thread is None or not _thread.is_alive():
            _thread = Warmer(path, every)
            _thread.start()
        return _thread


def status() -> dict:
    """For the Data page: {"on": bool, "every": seconds, "busy": (token, since) | None, "last": dict | None}."""
    t = _thread
    if t is None or not t.is_alive():
        return {"on": False, "every": interval(), "busy": None, "last": None}
    return {"on": True, "every": t.every, "busy": t.busy, "last": t.last}

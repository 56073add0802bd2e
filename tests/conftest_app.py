"""Fixtures for the app tests: one demo warehouse per test session (import the fixtures you need).

    from tests.conftest_app import demo_warehouse, app_warehouse  # noqa: F401

The build (pipelines.demo.generate + pipelines.ingest.run_ingest, 60 weeks, ~45 s) happens once per
pytest process, however many modules import the fixtures; every test that may change the
warehouse gets its own copy.
"""
from __future__ import annotations

import datetime as dt
import inspect
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEMO_WEEKS = 60  # > 56: a year-earlier comparison of the last 4 weeks is inside the data
# The demo's extract day. Fixed, so the suite sees the same data on every day it runs: the demo follows the
# calendar (quarters, weekdays, what is known "today"), and a run on 29-11-2026 met figures that 28-11 had
# not. tests/test_cross_page.py reads the same demo as on other days, chosen for their calendar.
DEMO_TODAY = dt.date(2026, 11, 29)
_BUILT: dict[str, Path] = {}


def build_demo_warehouse(root: Path, weeks: int = DEMO_WEEKS, scale: float = 1.0, seed: int = 0,
                         today: dt.date = DEMO_TODAY) -> Path:
    """Generate demo extracts, extracted on `today`, into root/inbox and load them into
    root/warehouse.duckdb (meta demo = 'ja')."""
    from pipelines.demo import generate
    from pipelines.ingest import run_ingest
    from veiligheid.config import Config
    from veiligheid.warehouse import write_version

    inbox = root / "inbox"
    generate(inbox, weeks=weeks, seed=seed, scale=scale, today=today)
    cfg = Config.from_env(warehouse=str(root / "warehouse.duckdb"), inbox=str(inbox))
    if "mark_demo" in inspect.signature(run_ingest).parameters:
        run_ingest(cfg, mark_demo=True)
    else:
        run_ingest(cfg)
        with write_version(cfg.warehouse) as w:
            w.con.execute("INSERT OR REPLACE INTO meta VALUES ('demo', 'ja')")
    shutil.rmtree(root / "processed", ignore_errors=True)
    return cfg.warehouse


def copy_warehouse(src: Path, dst_dir: Path) -> Path:
    """A standalone copy of the current warehouse version (no version history)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / "warehouse.duckdb"
    shutil.copyfile(src, dst)
    return dst


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Path:
    """The shared, read-only demo warehouse (do not write to it; use `app_warehouse`)."""
    if "main" not in _BUILT:
        _BUILT["main"] = build_demo_warehouse(tmp_path_factory.mktemp("demo"))
    return _BUILT["main"]


@pytest.fixture
def app_warehouse(demo_warehouse, tmp_path, monkeypatch) -> Path:
    """A private copy of the demo warehouse, set as VEILIGHEID_WAREHOUSE for the app."""
    wh = copy_warehouse(demo_warehouse, tmp_path / "data")
    monkeypatch.setenv("VEILIGHEID_WAREHOUSE", str(wh))
    monkeypatch.setenv("VEILIGHEID_INBOX", str(tmp_path / "data" / "inbox"))
    # accounts, audit log and register live outside the warehouse: keep them private to the test too
    monkeypatch.setenv("VEILIGHEID_USERS", str(tmp_path / "data" / "users.sqlite"))
    monkeypatch.setenv("VEILIGHEID_AUDIT_LOG", str(tmp_path / "data" / "audit.jsonl"))
    monkeypatch.setenv("VEILIGHEID_REGISTER", str(tmp_path / "data" / "register.sqlite"))
    return wh




APP = str(REPO / "app.py")


def app_test(role: str = "wijkteam", page: str | None = None, user: str | None = None, run: bool = True,
             team: str | None = None, **params):
    """An AppTest of the app as a logged-in viewer of `role` (the login itself is tested in test_auth.py).

    page: a page file such as "views/cybercrime.py" (switched to after the first run);
    team: the viewer's Veiliger Wijkteam (wijkteam only records priorities for its own team);
    params: URL query parameters of the first request.
    """
    import time

    from streamlit.testing.v1 import AppTest

    from veiligheid.access import Viewer
    from veiligheid.ui import VIEWER

    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state[VIEWER] = Viewer(user or f"test-{role}", role, team=team)
    at.session_state["auth_last_seen"] = time.time()
    for k, v in params.items():
        at.query_params[k] = v
    if not run:
        return at
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def record_downloads(monkeypatch) -> list[dict]:
    """Record every st.download_button of the app under test: [{label, data, file_name, mime, ...}]."""
    import streamlit

    calls: list[dict] = []
    original = streamlit.download_button

    def recorder(label, data, *args, **kwargs):
        calls.append({"label": label, "data": data, **kwargs})
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recorder)
    return calls


# ------------------------------------------------------------------ the area maps (veiligheid.maps.chart)
def map_specs(at) -> list[dict]:
    """The Vega-Lite specs of the area maps on a page (the charts with a projection)."""
    import json

    return [s for s in (json.loads(v.proto.spec) for v in at.get("vega_lite_chart")) if "projection" in s]


def map_areas(at) -> list[dict]:
    """Every area drawn on the page's maps: {code, naam, kleur, tt (tooltip: title and rows), geometry, ...}."""
    from veiligheid import maps

    return [a for s in map_specs(at) for layer in s["layer"] if layer.get("name") == maps.AREAS
            for a in layer["data"]["values"]]


def map_points(at) -> list[dict]:
    """The dots on the page's maps (hennep cases, for roles that may see locations)."""
    return [p for s in map_specs(at) for layer in s["layer"] if layer["mark"]["type"] == "circle"
            for p in layer["data"]["values"]]


def map_texts(at) -> list[str]:
    """Each area's tooltip as the user reads it: "row: value" lines."""
    return ["\n".join(f"{k}: {v}" for k, v in a["tt"].items()) for a in map_areas(at)]

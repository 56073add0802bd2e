"""Shared fixtures: a template warehouse built once, copied per test (every test its own warehouse)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# No warm-up thread (veiligheid.warmup) in the test process or in the browser tests' server: it would compute
# beside the tests. tests/test_warmup.py runs it directly, and one browser test runs a server with it on.
os.environ["VEILIGHEID_WARMUP_SECONDS"] = "0"

from tests.conftest_app import demo_warehouse  # noqa: E402,F401  (fixture, used by the browser server)
from tests.e2e.browser import app_url, browser, logged_in, page, server, skip_without_chromium  # noqa: E402,F401
from veiligheid.config import Config  # noqa: E402
from veiligheid.warehouse import ensure_warehouse  # noqa: E402


def pytest_collection_modifyitems(config, items):
    skip_without_chromium(items)


@pytest.fixture(scope="session")
def template_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    ensure_warehouse(path)
    return path


@pytest.fixture
def env(tmp_path, template_warehouse, monkeypatch):
    """A config with its own inbox and warehouse (a copy of the template)."""
    wh = tmp_path / "data" / "warehouse.duckdb"
    wh.parent.mkdir(parents=True)
    shutil.copyfile(template_warehouse, wh)
    inbox = tmp_path / "data" / "inbox"
    inbox.mkdir()
    for var in ("VEILIGHEID_PROCESSED", "VEILIGHEID_REFUSED", "VEILIGHEID_MAX_BAD_ROWS_PCT"):
        monkeypatch.delenv(var, raising=False)
    return Config.from_env(warehouse=str(wh), inbox=str(inbox))


def write(inbox: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = inbox / name
    p.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return p


@pytest.fixture(scope="session")
def buurten_rd():
    """Bundled buurt polygons in RD New, for points with a known buurt."""
    g = gpd.read_file(next((REPO / "geo").glob("*_buurten_2024.geojson"))).to_crs(28992)
    return g.set_index("buurtcode")


def inside(buurten_rd, code: str) -> tuple[float, float]:
    p = buurten_rd.loc[code, "geometry"].representative_point()
    return round(p.x, 1), round(p.y, 1)


def cli(*args: str, env_extra: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO, capture_output=True, text=True,
                          env=e, timeout=timeout)

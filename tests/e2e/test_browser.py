"""The app in headless Chromium, started the way the README says (`./run.sh`) on a fresh demo warehouse.

The demo warehouse is built once per test session (tests/conftest_app.py) and copied; run.sh sees
that it already holds data and starts Streamlit on a free port (VEILIGHEID_PORT). Screenshots go to
tests/e2e/artifacts/ (tall viewport: full_page screenshots miss Streamlit's inner scroll area).
"""
from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest_app import copy_warehouse, demo_warehouse  # noqa: F401  (fixture)
from veiligheid import maps, queries
from veiligheid.warehouse import connect_readonly

playwright = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 2600}
MAP_HEIGHT = 560
DECK_CANVAS = '[data-testid="stDeckGlJsonChart"] canvas'
VEGA = '[data-testid="stVegaLiteChart"]'

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"run.sh stopped with exit code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"app not healthy at {url} after {timeout} s")


@pytest.fixture(scope="module")
def app_url(demo_warehouse, tmp_path_factory):
    """./run.sh on a private copy of the demo warehouse; stopped (its own process group) afterwards."""
    root = tmp_path_factory.mktemp("e2e")
    wh = copy_warehouse(demo_warehouse, root / "data")
    port = _free_port()
    env = dict(os.environ, VEILIGHEID_WAREHOUSE=str(wh), VEILIGHEID_INBOX=str(root / "data" / "inbox"),
               VEILIGHEID_PORT=str(port))
    log = open(root / "run.log", "w")
    proc = subprocess.Popen(["./run.sh"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="nl-NL")
    pg = ctx.new_page()
    pg.external_requests = []  # offline-proof: nothing may leave the machine
    pg.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
          else pg.external_requests.append(r.url))
    yield pg
    ctx.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit finished the current run (no 'running' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.trim() === ''",
        timeout=timeout)


def _wait_dashboard(page) -> None:
    page.wait_for_selector(DECK_CANVAS, timeout=90_000)
    page.wait_for_function(f"() => document.querySelectorAll('{VEGA} canvas, {VEGA} svg').length >= 2",
                           timeout=60_000)
    _wait_idle(page)


def _tiles(page) -> list[int]:
    return [int(t.replace(".", "")) for t in page.locator("span[style*='font-size: 2rem']").all_inner_texts()]


def _pixel(lon: float, lat: float, box: dict) -> tuple[float, float]:
    """Screen position of lon/lat on the deck canvas (Web Mercator, 512 px tiles, the fixed view)."""
    world = 512 * 2 ** maps.VIEW["zoom"]

    def xy(lo, la):
        return ((lo + 180) / 360 * world,
                (1 - math.log(math.tan(math.pi / 4 + math.radians(la) / 2)) / math.pi) / 2 * world)

    cx, cy = xy(maps.VIEW["longitude"], maps.VIEW["latitude"])
    px, py = xy(lon, lat)
    return box["x"] + box["width"] / 2 + (px - cx), box["y"] + box["height"] / 2 + (py - cy)


def _select(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_dashboard_loads_offline(app_url, page):
    page.goto(app_url + "/")
    _wait_dashboard(page)
    assert page.get_by_text("Demodata").first.is_visible()
    assert page.get_by_role("heading", name="Dashboards veiligheid").is_visible()
    assert len(_tiles(page)) == 5
    _shot(page, "01_dashboard")
    assert page.external_requests == [], "the app must not fetch anything from the internet (basemap?)"


def test_map_click_selects_area(app_url, page, demo_warehouse):
    page.goto(app_url + "/?kaart=stadsdeel")
    _wait_dashboard(page)
    before = _tiles(page)
    geo = {g["code"]: g for g in queries.area_geojson(connect_readonly(demo_warehouse), "stadsdeel")}
    target = geo["WK026807"]  # Dukenburg: big and away from the edges
    box = page.locator(DECK_CANVAS).first.bounding_box()
    x, y = _pixel(target["label_lon"], target["label_lat"] - 0.004, box)
    page.mouse.move(x, y)
    page.wait_for_timeout(500)
    page.mouse.click(x, y)
    page.wait_for_url("**stadsdeel=WK026807**", timeout=30_000)
    page.get_by_text("stadsdeel Dukenburg").first.wait_for(timeout=30_000)
    _wait_dashboard(page)
    assert _tiles(page)[-1] < before[-1]
    assert page.get_by_role("heading", name="Wijken in stadsdeel Dukenburg").is_visible()
    _shot(page, "02_kaartklik_dukenburg")


def test_filter_change_follows_and_link_restores(app_url, page, browser):
    page.goto(app_url + "/")
    _wait_dashboard(page)
    before = _tiles(page)
    _select(page, "Periode", "Laatste 13 weken")
    page.wait_for_url("**periode=13w**", timeout=30_000)
    _wait_dashboard(page)
    after = _tiles(page)
    assert after[-1] > before[-1]
    _select(page, "Stadsdeel", "Centrum")
    page.wait_for_url("**stadsdeel=WK026801**", timeout=30_000)
    _wait_dashboard(page)
    assert page.get_by_text("stadsdeel Centrum").first.is_visible()
    link = page.url
    tiles = _tiles(page)
    _shot(page, "03_filter_13w_centrum")

    # the link, opened fresh in another browser context, restores the same view
    ctx = browser.new_context(viewport=VIEWPORT)
    other = ctx.new_page()
    other.goto(link)
    _wait_dashboard(other)
    assert _tiles(other) == tiles
    assert other.get_by_text("stadsdeel Centrum").first.is_visible()
    ctx.close()


def test_bad_link_shows_notice(app_url, page):
    page.goto(app_url + "/?periode=eeuwig&stadsdeel=WK999999&thema=Kattenkwaad")
    _wait_dashboard(page)
    assert page.get_by_text("Onbekende periode").first.is_visible()
    assert page.get_by_text("Onbekend stadsdeel").first.is_visible()
    _shot(page, "04_foute_link")


def test_data_page_and_state_across_pages(app_url, page):
    page.goto(app_url + "/data?stadsdeel=WK026807&thema=Overvallen")  # deep link right into the Data page
    page.get_by_role("heading", name="Data", exact=True).wait_for(timeout=60_000)
    _wait_idle(page)
    assert page.get_by_text("Quarantaine").first.is_visible()
    assert page.get_by_text("Demodata").first.is_visible()
    assert page.get_by_text("Page not found").count() == 0
    assert "stadsdeel=WK026807" in page.url  # the filter state stays in the URL on every page
    # the tables are drawn on canvases (glide data grid): wait until every one has drawn
    page.wait_for_function("""() => {
        const frames = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
        return frames.length >= 4 && frames.every(f => f.querySelector('canvas'));
    }""", timeout=60_000)
    page.wait_for_timeout(1500)
    _shot(page, "05_data")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Dashboards veiligheid").click()
    _wait_dashboard(page)
    assert page.get_by_text("stadsdeel Dukenburg").first.is_visible()
    assert "thema=Overvallen" in page.url and "stadsdeel=WK026807" in page.url

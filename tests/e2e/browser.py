"""Shared browser fixtures and helpers: one app server per test session, test accounts per role, login.

The fixtures are registered for all tests by tests/conftest.py (a second conftest.py here would be
imported under the same module name `conftest` and hide the first one).

The server is `./run.sh` (as the README says) on a copy of the demo warehouse, with its own accounts
file and audit log; one Chromium (Debian's /usr/bin/chromium) for the whole session. Screenshots go to
tests/e2e/artifacts/ (tall viewport: full_page screenshots miss Streamlit's inner scroll area).

    def test_x(logged_in):
        page = logged_in("wijkteam", "/hennepteelt?periode=13w")
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest_app import copy_warehouse, demo_warehouse  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 2600}
# the area map (veiligheid.maps.chart): a Vega chart whose areas are SVG paths named after the area (aria-label)
MAP_AREA = '[data-testid="stVegaLiteChart"] [aria-roledescription="geoshape"]'
MAP = '[data-testid="stVegaLiteChart"]:has([aria-roledescription="geoshape"])'
# evaluate after the map's areas are in the page: resolves once the browser has painted the frame holding them
NEXT_PAINT = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
VEGA = '[data-testid="stVegaLiteChart"]'
ROLES = ("wijkteam", "analist", "beheer")
PASSWORDS = {r: f"test-{r}-wachtwoord" for r in ROLES}


def skip_without_chromium(items) -> None:
    """Browser tests are skipped (with the reason) where Debian's chromium is not installed."""
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason="chromium not installed (apt-get install chromium)")
        for item in items:
            if "/e2e/" in str(item.fspath):
                item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
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


@contextlib.contextmanager
def run_server(demo_warehouse, root: Path, **extra_env):
    """./run.sh on a private copy of the demo warehouse in `root`, with test accounts; stopped afterwards.

    Yields a dict: url, env (the environment of the server: paths of users file and audit log), root.
    """
    wh = copy_warehouse(demo_warehouse, root / "data")
    port = _free_port()
    env = dict(os.environ, VEILIGHEID_WAREHOUSE=str(wh), VEILIGHEID_INBOX=str(root / "data" / "inbox"),
               VEILIGHEID_PORT=str(port), VEILIGHEID_USERS=str(root / "data" / "users.sqlite"),
               VEILIGHEID_AUDIT_LOG=str(root / "data" / "audit.jsonl"),
               VEILIGHEID_REGISTER=str(root / "data" / "register.sqlite"), VEILIGHEID_LOGIN_DELAY="0.2",
               **extra_env)
    for role in ROLES:
        subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pipelines", "users", "add", f"test-{role}",
                        "--role", role], input=PASSWORDS[role] + "\n", text=True, cwd=REPO, env=env, check=True,
                       capture_output=True)
    log = open(root / "run.log", "w")
    proc = subprocess.Popen(["./run.sh"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield {"url": url, "env": env, "root": root}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def server(demo_warehouse, tmp_path_factory):
    """The shared server of the browser tests (see run_server)."""
    with run_server(demo_warehouse, tmp_path_factory.mktemp("e2e")) as srv:
        yield srv


@pytest.fixture(scope="session")
def app_url(server) -> str:
    return server["url"]


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_page(browser):
    """A fresh browser context (no cookies, no session) that records any request leaving the machine."""
    ctx = browser.new_context(viewport=VIEWPORT, locale="nl-NL")
    pg = ctx.new_page()
    pg.external_requests = []  # offline-proof: nothing may leave the machine
    pg.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
          else pg.external_requests.append(r.url))
    return pg


@pytest.fixture
def page(browser):
    """A fresh, not logged-in page."""
    pg = new_page(browser)
    yield pg
    pg.context.close()


def login(page, role: str, password: str | None = None) -> None:
    """Fill in the login form on the current page and wait until the app behind it has rendered."""
    page.get_by_label("Gebruikersnaam").fill(f"test-{role}")
    page.get_by_label("Wachtwoord").fill(password or PASSWORDS[role])
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_text(f"Ingelogd als test-{role}").first.wait_for(timeout=90_000)
    wait_idle(page)


@pytest.fixture
def logged_in(browser, app_url):
    """Factory: logged_in(role, path="/") -> a page logged in as `role` showing app_url + path."""
    pages = []

    def _open(role: str, path: str = "/"):
        pg = new_page(browser)
        pages.append(pg)
        pg.goto(app_url + path)
        pg.get_by_label("Gebruikersnaam").wait_for(timeout=90_000)
        login(pg, role)
        return pg

    yield _open
    for pg in pages:
        pg.context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit finished the current run (no 'running' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.trim() === ''",
        timeout=timeout)


def wait_page(page, title: str, charts: int, tables: int) -> None:
    """Wait for a page with a map: its heading, the map's areas, `charts` other Vega charts and `tables` drawn
    dataframes (tables in closed tabs do not draw until opened), then for the run to finish."""
    page.get_by_role("heading", name=title).wait_for(timeout=90_000)
    page.wait_for_selector(MAP_AREA, timeout=90_000)
    page.wait_for_function(f"() => document.querySelectorAll('{VEGA} canvas, {VEGA} svg').length >= {charts + 1}",
                           timeout=90_000)
    page.wait_for_function(f"""() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
                                      .filter(f => f.querySelector('canvas')).length >= {tables}""", timeout=90_000)
    wait_idle(page)


def wait_tables(page, n: int, timeout: float = 60_000) -> None:
    """Wait until at least n dataframes have drawn their canvas (glide data grid)."""
    page.wait_for_function(f"""() => {{
        const frames = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
        return frames.length >= {n} && frames.every(f => f.querySelector('canvas'));
    }}""", timeout=timeout)
    page.wait_for_timeout(800)

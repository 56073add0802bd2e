"""Page "Prioriteiten per stadsdeel" in a real browser (./run.sh, Chromium): the view, the register, the PDF."""
from __future__ import annotations

import contextlib
import io
import re
import subprocess

import pypdf

from tests.e2e.browser import MAP_AREA, REPO, VEGA, shot, wait_idle

PATH = "/prioriteiten?stadsdeel=WK026807"


def _open(logged_in, role: str):
    page = logged_in(role, PATH)
    page.get_by_role("heading", name="Prioriteiten per stadsdeel").wait_for(timeout=90_000)
    page.wait_for_selector(MAP_AREA, timeout=90_000)
    page.wait_for_function(f"() => document.querySelectorAll('{VEGA} canvas, {VEGA} svg').length >= 4",
                           timeout=90_000)
    # the two tables of the open tab (Analyse) have drawn; tables in hidden tabs draw only when shown
    page.wait_for_function("""() => {
        const panel = [...document.querySelectorAll('[role="tabpanel"]')].find(p => p.offsetParent !== null);
        const frames = panel ? [...panel.querySelectorAll('[data-testid="stDataFrame"]')] : [];
        return frames.length >= 2 && frames.every(f => f.querySelector('canvas'));
    }""", timeout=90_000)
    wait_idle(page)
    return page


def _visible_table(page) -> None:
    """Wait for a dataframe in the open tab to draw (the other tabs' tables are hidden)."""
    page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"] canvas').first.wait_for(timeout=60_000)
    page.wait_for_timeout(800)


@contextlib.contextmanager
def _team(server, account: str, team: str):
    """Link a test account of the shared server to a team (read at login), and unlink it afterwards."""
    def users(*args):
        subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pipelines", "users", "team", account, *args],
                       cwd=REPO, env=server["env"], check=True, capture_output=True, text=True)
    users(team)
    try:
        yield
    finally:
        users("--geen")


def test_wijkteam_sees_the_ranking_the_grid_and_records_a_priority(logged_in, server):
    with _team(server, "test-wijkteam", "Dukenburg"):
        _wijkteam_records(logged_in)


def _wijkteam_records(logged_in):
    page = _open(logged_in, "wijkteam")
    assert page.get_by_text("Ingelogd als test-wijkteam (wijkteam, Veiliger Wijkteam Dukenburg)").count() >= 1
    body = page.locator("body").inner_text()
    assert "Stadsdeel Dukenburg" in body and "kwartaal" in body
    for tile in ("Auto-inbraken", "Cybercrime", "Ondermijning", "Overvallen"):
        assert tile in body
    assert "Waarom staat" in body and "bovenaan" in body  # the explanation in words
    assert "Gewichten van de score (alleen te wijzigen door een analist)" in body
    assert "Wijken van Dukenburg: index per thema" in body and "Bleke vakjes" in body
    assert "<5" in body  # small counts are shown as <5
    assert page.locator('[data-testid="stSlider"]').count() == 0
    # the grid draws a cell per wijk x theme (Vega renders to canvas or svg)
    grid = page.locator(VEGA).first
    box = grid.bounding_box()
    assert box and box["height"] > 200 and box["width"] > 600
    shot(page, "40_prioriteiten_wijkteam")
    # the register: record a priority for the team
    page.get_by_role("tab", name="Afspraken en resultaten").click()
    page.get_by_text("Nieuwe prioriteit vastleggen").wait_for(timeout=30_000)
    page.get_by_role("textbox", name="Korte notitie").fill("Extra toezicht rond het winkelcentrum.")
    page.get_by_role("button", name="Prioriteit vastleggen").click()
    page.get_by_text(re.compile(r"Prioriteit \d+ vastgelegd")).first.wait_for(state="attached", timeout=60_000)
    wait_idle(page)
    page.get_by_role("tab", name="Afspraken en resultaten").click()
    _visible_table(page)
    body = page.locator("body").inner_text()
    assert "Prioriteit beëindigen" in body
    shot(page, "41_prioriteiten_afspraken")
    page.get_by_role("tab", name="Alle teams (Veiligheidsbrief)").click()
    page.get_by_role("button", name="Download overzicht (CSV)").wait_for(timeout=30_000)
    _visible_table(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download overzicht (CSV)").click()
    csv = open(dl.value.path(), "rb").read().decode("utf-8-sig")
    assert "Veiliger Wijkteam Dukenburg" in csv and "nog te vroeg" in csv
    shot(page, "42_prioriteiten_alle_teams")
    # another team's stadsdeel: the list read-only, no form
    page.get_by_role("tab", name="Analyse").click()
    page.get_by_role("combobox", name="Stadsdeel", exact=True).click()
    page.get_by_role("option", name="Lindenholt", exact=True).click()
    page.get_by_text("Stadsdeel Lindenholt").first.wait_for(timeout=90_000)
    wait_idle(page)
    page.get_by_role("tab", name="Afspraken en resultaten").click()
    page.get_by_text("U kunt alleen prioriteiten vastleggen voor uw eigen team, Veiliger Wijkteam Dukenburg.") \
        .wait_for(timeout=60_000)
    # (the rerun for the other stadsdeel may still be replacing the form: wait for it to go, at most 60 s)
    page.get_by_role("button", name="Prioriteit vastleggen").wait_for(state="detached", timeout=60_000)
    wait_idle(page)
    assert page.get_by_role("button", name="Prioriteit vastleggen").count() == 0
    shot(page, "44_prioriteiten_ander_team")
    assert page.external_requests == []


def test_analist_changes_weights_and_downloads_the_meeting_pack(logged_in):
    page = _open(logged_in, "analist")
    page.get_by_text("Gewichten van de score").click()
    page.locator('[data-testid="stSlider"]').first.wait_for(timeout=30_000)
    assert page.locator('[data-testid="stSlider"]').count() == 4
    page.get_by_role("button", name="Maak vergaderstuk (PDF)").click()
    page.get_by_role("button", name="Download PDF").wait_for(timeout=120_000)
    wait_idle(page)
    shot(page, "43_prioriteiten_vergaderstuk")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download PDF").click()
    data = open(dl.value.path(), "rb").read()
    assert data[:5] == b"%PDF-"
    assert dl.value.suggested_filename.startswith("vergaderstuk_dukenburg_")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    for section in ("Prioriteiten stadsdeel Dukenburg", "Kaart", "Zo komt de volgorde tot stand", "Signalen",
                    "Trends", "Regels voor het tonen van aantallen", "bovenaan"):
        assert section in text, section
    with page.expect_download() as dl:
        page.get_by_role("button", name="Tabellen (CSV, zip)").click()
    assert open(dl.value.path(), "rb").read()[:2] == b"PK"
    assert page.external_requests == []

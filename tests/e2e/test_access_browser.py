"""Access control in a real browser: the login on every URL, and what each role gets to see."""
from __future__ import annotations

import pytest

import time

from tests.e2e.browser import MAP_AREA, login, new_page, run_server, shot, wait_idle, wait_tables

PATHS = ["/", "/dashboards-veiligheid", "/prioriteiten", "/cybercrime", "/hennepteelt", "/data"]


@pytest.mark.parametrize("query", ["", "?stadsdeel=WK026807&periode=13w&thema=Overvallen"])
def test_unauthenticated_browser_gets_only_the_login(app_url, page, query):
    for path in PATHS:
        page.goto(app_url + path + query)
        page.get_by_label("Gebruikersnaam").wait_for(timeout=90_000)
        wait_idle(page)
        assert page.get_by_label("Wachtwoord").is_visible()
        body = page.locator("body").inner_text()
        assert "Demodata" not in body and "Data t/m" not in body, path  # not even the banner
        assert page.locator(MAP_AREA).count() == 0, path
        assert page.locator('[data-testid="stDataFrame"]').count() == 0, path
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0, path  # no navigation either
        assert page.locator('[data-testid="stDownloadButton"]').count() == 0, path
    shot(page, "10_login")
    assert page.external_requests == []


def test_wrong_password_is_refused(app_url, page):
    page.goto(app_url + "/data")
    page.get_by_label("Gebruikersnaam").wait_for(timeout=90_000)
    page.get_by_label("Gebruikersnaam").fill("test-beheer")
    page.get_by_label("Wachtwoord").fill("helemaal-niet-goed")
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_text("Onjuiste gebruikersnaam of wachtwoord.").wait_for(timeout=30_000)
    assert "geblokkeerd" in page.locator('[data-testid="stAlert"]').inner_text()  # the rule, same for everyone
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    login(page, "beheer")  # then the right one: straight to the page of the link
    page.get_by_role("heading", name="Auditlog").wait_for(timeout=60_000)


def test_wijkteam_sees_suppressed_figures_and_no_admin_sections(logged_in):
    page = logged_in("wijkteam", "/?stadsdeel=WK026807&thema=Overvallen&periode=13w")
    page.wait_for_selector(MAP_AREA, timeout=90_000)
    wait_tables(page, 1)
    wait_idle(page)
    body = page.locator("body").inner_text()
    assert "<5" in body  # tiles, table or captions show suppressed counts as <5
    assert "onderdrukt: minder dan 5 (niet 0)" in body  # the map legend tells suppressed from zero
    assert "Ingelogd als test-wijkteam (wijkteam)" in body
    shot(page, "11_wijkteam_dukenburg_overvallen")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data").click()
    page.get_by_role("heading", name="Quarantaine").wait_for(timeout=60_000)
    wait_idle(page)
    for heading in ("Inlaadrondes", "Geweigerde bestanden", "Auditlog"):
        assert page.get_by_role("heading", name=heading).count() == 0, heading
    assert page.get_by_text("De rijen in quarantaine").count() == 0
    shot(page, "12_wijkteam_data")


def test_analist_sees_true_counts(logged_in):
    page = logged_in("analist", "/?stadsdeel=WK026807&thema=Overvallen&periode=13w")
    page.wait_for_selector(MAP_AREA, timeout=90_000)
    wait_tables(page, 1)
    body = page.locator("body").inner_text()
    assert "onderdrukt" not in body and "<5" not in body
    assert "Ingelogd als test-analist (analist)" in body


def test_beheer_sees_the_audit_log(logged_in):
    page = logged_in("beheer", "/data")
    page.get_by_role("heading", name="Auditlog").wait_for(timeout=60_000)
    wait_tables(page, 5)
    assert page.get_by_role("heading", name="Inlaadrondes").is_visible()
    assert page.get_by_text("De rijen in quarantaine").first.is_visible()
    shot(page, "13_beheer_data_auditlog")
    # logging out ends the session: the login is back, and the data is gone
    page.get_by_role("button", name="Uitloggen").click()
    page.get_by_label("Gebruikersnaam").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stDataFrame"]').count() == 0


def test_an_untouched_page_logs_out_after_the_idle_time(demo_warehouse, browser, tmp_path):
    """Nobody touches the page: after the idle time the figures leave the screen and only the login shows."""
    with run_server(demo_warehouse, tmp_path, VEILIGHEID_IDLE_MINUTES="1") as srv:
        page = new_page(browser)
        page.goto(srv["url"] + "/data")
        page.get_by_label("Gebruikersnaam").wait_for(timeout=90_000)
        login(page, "analist")
        page.get_by_role("heading", name="Quarantaine").wait_for(timeout=60_000)
        start = time.monotonic()
        page.get_by_text("Uw sessie is verlopen na 1 minuut zonder activiteit").wait_for(timeout=150_000)
        assert time.monotonic() - start >= 30  # not at once: only after the idle time
        wait_idle(page)
        page.wait_for_timeout(2000)
        assert page.get_by_label("Wachtwoord").is_visible()
        assert page.get_by_text("Ingelogd als").count() == 0 and page.get_by_text("Quarantaine").count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        shot(page, "13_idle_logout")
        page.context.close()

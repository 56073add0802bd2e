"""The dashboard page in headless Chromium, started the way the README says (`./run.sh`) on a demo warehouse.

Server, accounts and login: tests/e2e/browser.py. Most checks here run as `analist` (true counts);
what each role may see is tested in test_access_browser.py.
"""
from __future__ import annotations

from tests.conftest_app import demo_warehouse  # noqa: F401  (fixture)
from tests.e2e.browser import MAP, MAP_AREA, VEGA, login, new_page, shot as _shot, wait_idle as _wait_idle, wait_tables


def _wait_dashboard(page) -> None:
    page.wait_for_selector(MAP_AREA, timeout=90_000)
    page.wait_for_function(f"() => document.querySelectorAll('{VEGA} canvas, {VEGA} svg').length >= 3",
                           timeout=60_000)
    _wait_idle(page)


def _tiles(page) -> list[int]:
    return [int(t.replace(".", "")) for t in page.locator("span[style*='font-size: 2rem']").all_inner_texts()]


def _select(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_dashboard_loads_offline(logged_in):
    page = logged_in("analist", "/")
    _wait_dashboard(page)
    assert page.get_by_text("Demodata").first.is_visible()
    assert page.get_by_role("heading", name="Dashboards veiligheid").is_visible()
    assert len(_tiles(page)) == 5
    _shot(page, "01_dashboard")
    assert page.external_requests == [], "the app must not fetch anything from the internet (basemap?)"


def test_map_click_selects_area(logged_in):
    page = logged_in("analist", "/?kaart=stadsdeel")
    _wait_dashboard(page)
    before = _tiles(page)
    dukenburg = page.locator(f'{MAP_AREA}[aria-label="Dukenburg"]')  # big and away from the edges
    dukenburg.hover()
    page.locator("#vg-tooltip-element").get_by_text("Dukenburg").wait_for(timeout=10_000)  # the tooltip names it
    dukenburg.click()
    page.wait_for_url("**stadsdeel=WK026807**", timeout=30_000)
    page.get_by_text("stadsdeel Dukenburg").first.wait_for(timeout=30_000)
    _wait_dashboard(page)
    assert _tiles(page)[-1] < before[-1]
    assert page.get_by_role("heading", name="Wijken in stadsdeel Dukenburg").is_visible()
    _shot(page, "02_kaartklik_dukenburg")

    # back to the whole city with the button, then the same area again: it is chosen again (Streamlit reports a
    # map selection only when it changes; the map is a new widget for every area shown)
    page.get_by_role("button", name="Toon hele stad").click()
    page.wait_for_function("() => !location.search.includes('stadsdeel=')", timeout=30_000)
    _wait_dashboard(page)
    dukenburg.click()
    page.wait_for_url("**stadsdeel=WK026807**", timeout=30_000)
    _wait_dashboard(page)
    # a click beside the areas goes one level up: the whole city
    box = page.locator(MAP).first.bounding_box()
    page.mouse.click(box["x"] + 30, box["y"] + box["height"] / 2)
    page.wait_for_function("() => !location.search.includes('stadsdeel=')", timeout=30_000)
    _wait_dashboard(page)
    assert page.get_by_text("heel Nijmegen").first.is_visible()


def test_filter_change_follows_and_link_restores(logged_in, browser):
    page = logged_in("analist", "/")
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

    # the link, opened fresh in another browser context, asks for a login first, then restores the same view
    other = new_page(browser)
    ctx = other.context
    other.goto(link)
    login(other, "analist")
    _wait_dashboard(other)
    assert _tiles(other) == tiles
    assert other.get_by_text("stadsdeel Centrum").first.is_visible()
    ctx.close()


def test_bad_link_shows_notice(logged_in):
    page = logged_in("analist", "/?periode=eeuwig&stadsdeel=WK999999&thema=Kattenkwaad")
    _wait_dashboard(page)
    assert page.get_by_text("Onbekende periode").first.is_visible()
    assert page.get_by_text("Onbekend stadsdeel").first.is_visible()
    _shot(page, "04_foute_link")


def test_data_page_and_state_across_pages(logged_in):
    page = logged_in("beheer", "/data?stadsdeel=WK026807&thema=Overvallen")  # deep link right into the Data page
    page.get_by_role("heading", name="Data", exact=True).wait_for(timeout=60_000)
    _wait_idle(page)
    assert page.get_by_role("heading", name="Quarantaine").is_visible()
    assert page.get_by_text("Demodata").first.is_visible()
    assert page.get_by_text("Page not found").count() == 0
    assert "stadsdeel=WK026807" in page.url  # the filter state stays in the URL on every page
    # the tables are drawn on canvases (glide data grid): wait until every one has drawn
    wait_tables(page, 4)
    _shot(page, "05_data")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Dashboards veiligheid").click()
    _wait_dashboard(page)
    assert page.get_by_text("stadsdeel Dukenburg").first.is_visible()
    assert "thema=Overvallen" in page.url and "stadsdeel=WK026807" in page.url

"""Page "Cybercrime: slachtofferprofielen" in a real browser (./run.sh on the demo warehouse, Chromium)."""
from __future__ import annotations

import io
import re

import pandas as pd

from tests.e2e.browser import MAP_AREA, VEGA, shot, wait_idle, wait_page

TITLE = "Cybercrime: slachtofferprofielen"


def _wait_page(page) -> None:
    # relative risk, rate per delict (in its tab) and trend; 4 tables drawn (those in closed tabs do not draw)
    wait_page(page, TITLE, charts=2, tables=4)
    page.wait_for_timeout(800)


def _counts_ok(values, threshold: int = 10) -> bool:
    for v in values:
        v = str(v).strip()
        if v in ("", "–", "0", f"<{threshold}"):
            continue
        if int(v.replace(".", "")) < threshold:
            return False
    return True


def test_wijkteam_sees_the_profile_without_small_counts(logged_in):
    page = logged_in("wijkteam", "/cybercrime?periode=52w")
    _wait_page(page)
    body = page.locator("body").inner_text()
    assert "laatste 52 weken" in body and "Slachtoffers" in body and "de hele stad" in body
    assert "Klopt het beeld van 2017 nog?" in body
    for part in ("Daling van het aantal slachtoffers", "Jongeren van 15–25 jaar het kwetsbaarst",
                 "Hoogopgeleiden het kwetsbaarst", "Nu het meest kwetsbaar"):
        assert part in body, part
    assert "Wie loopt het meeste risico?" in body and "95%-betrouwbaarheidsinterval" in body
    assert "het themafilter niet" in body
    assert _counts_ok(re.findall(r"(\d[\d.]*) slachtoffers", body))
    # the dot-and-interval chart is the first chart and is drawn at a usable size
    box = page.locator(VEGA).first.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 150
    shot(page, "50_cybercrime_wijkteam")
    page.get_by_role("tab", name="Delict").click()
    page.wait_for_timeout(800)
    page.get_by_text("Per delict is de noemer alle inwoners").first.wait_for(timeout=30_000)
    shot(page, "51_cybercrime_wijkteam_delict")
    page.get_by_role("heading", name="Verloop per kwartaal en per jaar").scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    shot(page, "53_cybercrime_wijkteam_verloop_kaart")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download profieltabellen (CSV)").click()
    csv = pd.read_csv(io.BytesIO(open(dl.value.path(), "rb").read()), sep=";", encoding="utf-8-sig", dtype=str,
                      keep_default_na=False)
    assert set(csv["Indeling"]) == {"Leeftijd", "Geslacht", "Opleidingsniveau", "Delict"}
    assert _counts_ok(csv["Slachtoffers"]) and "<10" in set(csv["Slachtoffers"])
    assert page.external_requests == []


def test_analist_keeps_the_filters_coming_from_the_dashboard(logged_in):
    page = logged_in("analist", "/?periode=13w&stadsdeel=WK026807")
    page.get_by_role("heading", name="Dashboards veiligheid").wait_for(timeout=90_000)
    wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=TITLE).click()
    _wait_page(page)
    body = page.locator("body").inner_text()
    assert "stadsdeel Dukenburg" in body and "laatste 13 weken" in body  # the shared state survived the switch
    assert "periode=13w" in page.url and "stadsdeel=WK026807" in page.url
    assert "zonder onderdrukking" in body and "<10" not in body
    page.get_by_text("Wijken", exact=True).first.click()  # the map by wijk
    wait_idle(page)
    page.wait_for_selector(MAP_AREA, timeout=60_000)
    page.wait_for_timeout(1500)
    shot(page, "52_cybercrime_analist_dukenburg")
    assert page.external_requests == []

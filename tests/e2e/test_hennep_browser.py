"""Page "Hennepteelt" in a real browser (./run.sh on the demo warehouse, Chromium).

The point layer is checked on the drawn map itself: the colour of a case that is still waiting for its
dismantling (blue) occurs nowhere in the map's palette, so blue pixels on the map are points.
"""
from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
from PIL import Image

from tests.e2e.browser import MAP, MAP_AREA, shot, wait_idle, wait_page

TITLE = "Hennepteelt"
SWITCH = "Toon adressen en punten (alleen analisten)"
BAG = re.compile(r"(?<![\d.,])\d{16}(?![\d.,])")


def _wait_page(page) -> None:
    # the funnel and the monthly trend (the hit rate per year only when two years can be shown), 4 tables
    wait_page(page, TITLE, charts=2, tables=4)


def _blue_pixels(page) -> int:
    """Pixels of the map in the colour of 'Signaal, nog niet geruimd' points (33, 102, 172), give or take."""
    png = page.locator(MAP).first.screenshot()
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    close = (np.abs(a[..., 0] - 33) < 25) & (np.abs(a[..., 1] - 102) < 25) & (np.abs(a[..., 2] - 172) < 25)
    return int(close.sum())


def _counts_ok(values, threshold: int = 5) -> bool:
    for v in values:
        v = str(v).strip()
        if v in ("", "–", "0", f"<{threshold}"):
            continue
        if int(v.replace(".", "")) < threshold:
            return False
    return True


def _metrics(page) -> dict[str, str]:
    out = {}
    for m in page.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def test_wijkteam_sees_protected_figures_and_no_points(logged_in):
    # from the overview page with a period and stadsdeel: the shared filters come along
    page = logged_in("wijkteam", "/?periode=52w")
    page.get_by_role("heading", name="Dashboards veiligheid").wait_for(timeout=90_000)
    wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=TITLE).click()
    _wait_page(page)
    assert "periode=52w" in page.url
    body = page.locator("body").inner_text()
    for part in ("laatste 52 weken", "Kerncijfers", "De keten: van signaal tot heropening", "Waar",
                 "Signaalbronnen", "Soort pand en eigendom", "Verloop per maand", "onderdrukt: minder dan 5 (niet 0)"):
        assert part in body, part
    assert SWITCH not in body and "Lopende 13b-sluitingen" not in body and "Zaken (punten)" not in body
    assert not BAG.search(body) and "HZ-" not in body
    metrics = _metrics(page)
    assert metrics["Signalen"] != "<5" and _counts_ok(v for k, v in metrics.items() if k != "Planten geruimd")
    assert _blue_pixels(page) == 0  # no point layer
    shot(page, "60_hennep_wijkteam")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download gebiedstabel (CSV)").click()
    csv = pd.read_csv(io.BytesIO(open(dl.value.path(), "rb").read()), sep=";", encoding="utf-8-sig", dtype=str,
                      keep_default_na=False)
    assert len(csv) == 44 and "<5" in set(csv["Ruimingen"])
    for col in ("Ruimingen", "Herhaling in periode"):
        assert _counts_ok(csv[col]), col
    assert not BAG.search(csv.to_csv())
    # the map by stadsdeel
    page.get_by_text("Stadsdelen", exact=True).first.click()
    wait_idle(page)
    page.wait_for_timeout(1500)
    shot(page, "61_hennep_wijkteam_stadsdelen")
    assert "kaart=stadsdeel" in page.url
    assert page.external_requests == []


def test_wijkteam_wijk_view_shows_tiles_and_map_only(logged_in):
    """One wijk, for wijkteam: the key figures and the map, a note why the breakdowns are left out."""
    page = logged_in("wijkteam", "/hennepteelt?periode=52w&wijk=BU02680202")
    wait_page(page, TITLE, charts=0, tables=1)
    page.wait_for_timeout(1500)
    body = page.locator("body").inner_text()
    assert "alleen de kerncijfers, de kaart en de gebiedstabel" in body and "Kerncijfers" in body and "Waar" in body
    for part in ("De keten: van signaal tot heropening", "Signaalbronnen", "Soort pand en eigendom",
                 "Verloop per maand"):
        assert part not in body, part
    assert _counts_ok(v for k, v in _metrics(page).items() if k != "Planten geruimd")
    assert page.locator(MAP_AREA).count() >= 1
    shot(page, "65_hennep_wijkteam_wijk")
    assert page.external_requests == []


def test_analist_switch_is_off_by_default_and_shows_points_and_closures(logged_in):
    page = logged_in("analist", "/hennepteelt?periode=52w")
    _wait_page(page)
    switch = page.get_by_role("switch", name=SWITCH) if page.get_by_role("switch", name=SWITCH).count() \
        else page.get_by_role("checkbox", name=SWITCH)
    assert switch.count() == 1 and not switch.is_checked()
    body = page.locator("body").inner_text()
    assert "Lopende 13b-sluitingen" not in body and "zonder onderdrukking" in body
    assert _blue_pixels(page) == 0  # the point layer is absent by default
    shot(page, "62_hennep_analist")

    page.get_by_text(SWITCH).click()
    page.get_by_role("heading", name=re.compile("Lopende 13b-sluitingen op")).wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(2000)
    body = page.locator("body").inner_text()
    assert "Zaken (punten)" in body
    assert _blue_pixels(page) > 20  # points are drawn
    page.get_by_role("heading", name=re.compile("Lopende 13b-sluitingen op")).scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    shot(page, "63_hennep_analist_sluitingen")
    page.locator(MAP).first.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    shot(page, "64_hennep_analist_punten")
    # a click on a case (to read its tooltip) is not a choice of area: the page stays as it is
    url = page.url
    dot = page.locator(f'{MAP} [aria-roledescription="circle"]').first
    dot.hover()
    page.locator("#vg-tooltip-element").get_by_text("Status").wait_for(timeout=10_000)
    dot.click()
    page.wait_for_timeout(1500)
    wait_idle(page)
    assert page.url == url and "stadsdeel=" not in page.url
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download lopende sluitingen (CSV)").click()
    csv = pd.read_csv(io.BytesIO(open(dl.value.path(), "rb").read()), sep=";", encoding="utf-8-sig", dtype=str,
                      keep_default_na=False)
    assert len(csv) > 0 and csv["Adres (BAG-id)"].str.fullmatch(r"\d{16}").all()
    assert set(csv["Gesloten tot"]) - {"onbepaald"}, "end dates are shown"
    assert page.external_requests == []

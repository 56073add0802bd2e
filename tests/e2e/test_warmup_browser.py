"""Issue 8, in a real server and browser: the app's warm-up thread warms the version after start-up, and
beheer sees that on the Data page."""
from __future__ import annotations

import re
import time

from tests.e2e.browser import login, new_page, run_server, shot, wait_idle


def test_the_server_warms_the_version_and_the_data_page_says_so(demo_warehouse, browser, tmp_path):
    with run_server(demo_warehouse, tmp_path, VEILIGHEID_WARMUP_SECONDS="2") as srv:
        page = new_page(browser)
        page.goto(srv["url"] + "/data")  # the first request (the login page) starts the thread
        page.get_by_label("Gebruikersnaam").wait_for(timeout=90_000)
        log = tmp_path / "run.log"
        deadline = time.monotonic() + 240
        while "voorverwarmd" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(1)
        text = log.read_text(errors="replace")
        line = re.search(r"voorverwarmd: versie \S+, (\d+) van (\d+) stappen in [\d.]+ s", text)
        assert line, text[-2000:]
        assert line.group(1) == line.group(2)  # every step done
        login(page, "beheer")
        page.get_by_role("heading", name="Inlaadrondes").wait_for(timeout=60_000)
        wait_idle(page)
        assert page.get_by_text(re.compile(r"Voorverwarmd: deze versie, klaar op \d\d-\d\d-\d{4} \d\d:\d\d in "
                                           r"\d+,\d s \((\d+) van \1 stappen\)")).count() == 1
        shot(page, "14_data_voorverwarmd")
        page.context.close()
        text = log.read_text(errors="replace")
        assert "missing ScriptRunContext" not in text and "Traceback" not in text
        assert text.count("voorverwarmd:") == 1  # one version, warmed once

"""Dashboards Veiligheid Nijmegen: the app shell (navigation, banner, shared filter state).

Run with `./run.sh` (or `streamlit run app.py`). Pages live in views/ (one file per page);
they only lay out widgets and charts, the figures come from veiligheid.queries / veiligheid.stats.

Why views/ and not pages/: a folder named `pages/` next to app.py switches Streamlit into its old
multipage mode until the first st.navigation call of the process. Then the first request after a
server start for a deep link (/data?...) runs the page file without this shell (no banner, no filter
state) and shows "Page not found"; AppTest does the same on every run. tests/test_app.py guards it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from veiligheid import auth, ui, warmup  # noqa: E402

st.set_page_config(page_title="Dashboards Veiligheid", page_icon="🛡️", layout="wide")

# Every role may open these pages; what a role may not see inside a page is not rendered at all
# (veiligheid.access). A page only for some roles would be left out of this list for the others.
pages = [
    st.Page("views/dashboards_veiligheid.py", title="Dashboards veiligheid", icon=":material/monitoring:",
            url_path="dashboards-veiligheid", default=True),
    st.Page("views/prioriteiten.py", title="Prioriteiten per stadsdeel", icon=":material/flag:",
            url_path="prioriteiten"),
    st.Page("views/cybercrime.py", title="Cybercrime: slachtofferprofielen", icon=":material/shield_person:",
            url_path="cybercrime"),
    st.Page("views/hennepteelt.py", title="Hennepteelt", icon=":material/eco:", url_path="hennepteelt"),
    st.Page("views/data.py", title="Data", icon=":material/database:", url_path="data"),
]
viewer = auth.current()
# Before login the pages are registered but hidden, so that a deep link (/data?...) still points at its
# page after the login; nothing of a page runs until auth.gate() has a viewer.
page = st.navigation(pages, position="sidebar" if viewer else "hidden")
# once per process, already on the login page: a thread that computes the slow figures of every new
# warehouse version before users ask for them (veiligheid.warmup; VEILIGHEID_WARMUP_SECONDS=0 turns it off)
warmup.start(ui.warehouse_path())
# nobody sees anything but the login until authenticated (every page, every deep link)
viewer = auth.gate()

ui.require_warehouse()
ui.pin_version()  # every query of this run reads one warehouse version (an ingest may swap meanwhile)
warmup.note_version(ui.warehouse_path(), ui.token())  # a newer version: the old figures leave the caches
fresh = ui.freshness()
valid = ui.valid(fresh)
ui.init_state(valid)
ui.banner(fresh)
ui.show_notices()

page.run()

auth.account_sidebar(viewer)
auth.idle_watch()
ui.footer()
ui.write_url(ui.get_state())

"""Access control in the app (AppTest): the login gate, idle timeout, roles, disclosure on the overview page.

The Hypothesis test drives the real page with random filter combinations as `wijkteam` and reads
everything it renders (tiles, tables, map tooltips, chart data, the CSV export): no count from 1 to 4
appears, and the hidden area counts cannot be recomputed from the shown ones.
"""
from __future__ import annotations

import io
import re
import time

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from tests.conftest_app import APP, app_test, app_warehouse, demo_warehouse, map_areas, map_texts, record_downloads  # noqa: F401
from veiligheid import audit, queries
from veiligheid.auth import Users
from veiligheid.disclosure import TOTAL, recoverable
from veiligheid.warehouse import connect_readonly

PAGES = ["views/dashboards_veiligheid.py", "views/prioriteiten.py", "views/cybercrime.py", "views/hennepteelt.py",
         "views/data.py"]
URLS = ["", "dashboards-veiligheid", "prioriteiten", "cybercrime", "hennepteelt", "data"]


def _anonymous(url_path: str = "", **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    if url_path:
        # AppTest has no URL path; the page is picked the way Streamlit does for /<url_path>
        at.switch_page([p for p in PAGES if url_path.replace("-", "_") in p.replace("-", "_")][0])
    return at.run()


def _text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "warning", "info", "success", "error",
                 "metric", "text"):
        for el in at.get(kind):
            parts.append(str(getattr(el, "value", "")))
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    return "\n".join(parts)


@pytest.mark.parametrize("url_path", URLS)
@pytest.mark.parametrize("params", [{}, {"stadsdeel": "WK026807", "periode": "13w", "thema": "Overvallen"}])
def test_every_page_shows_only_the_login_until_authenticated(app_warehouse, url_path, params):
    at = _anonymous(url_path, **params)
    assert not at.exception
    assert [t.value for t in at.title] == ["Dashboards Veiligheid"]
    assert [ti.label for ti in at.text_input] == ["Gebruikersnaam", "Wachtwoord"]
    assert not at.dataframe and not at.get("vega_lite_chart")
    assert not at.get("download_button") and not at.sidebar.selectbox  # no filters, no data, no navigation
    assert "Demodata" not in _text(at)  # not even the freshness banner


def test_login_keeps_the_deep_link_and_writes_the_audit_log(app_warehouse):
    Users().add("kees", "wijkteam", "kees-wachtwoord-1")
    at = _anonymous("", stadsdeel="WK026807", periode="13w")
    at.text_input[0].input("kees")
    at.text_input[1].input("verkeerd-wachtwoord")
    at.button[0].click().run()
    assert len(at.error) == 1 and at.error[0].value.startswith("Onjuiste gebruikersnaam of wachtwoord.")
    at.text_input[0].input("kees")
    at.text_input[1].input("kees-wachtwoord-1")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Dashboards veiligheid"
    assert "stadsdeel Dukenburg" in _text(at)  # the link's filters survived the login
    assert at.query_params["stadsdeel"] in ("WK026807", ["WK026807"])
    assert any("Ingelogd als **kees (wijkteam)**" in c.value for c in at.sidebar.caption)
    log = audit.read()
    assert list(log["gebeurtenis"])[:2] == ["Ingelogd", "Inloggen mislukt"]
    assert "kees-wachtwoord-1" not in audit.log_path().read_text()


def test_lockout_in_the_login_form(app_warehouse, monkeypatch):
    monkeypatch.setenv("VEILIGHEID_LOGIN_DELAY", "0")
    monkeypatch.setenv("VEILIGHEID_LOGIN_MAX_FAILURES", "2")
    Users().add("kees", "wijkteam", "kees-wachtwoord-1")
    at = _anonymous()
    for _ in range(2):
        at.text_input[0].input("kees")
        at.text_input[1].input("fout-fout-fout")
        at.button[0].click().run()
    refused = at.error[0].value
    at.text_input[0].input("kees")
    at.text_input[1].input("kees-wachtwoord-1")
    at.button[0].click().run()
    # locked: the right password is refused with the same words as a wrong one (no hint the name exists)
    assert at.error[0].value == refused and not at.dataframe and not at.sidebar.button
    assert audit.read()["gebeurtenis"].iloc[0] == audit.EVENTS["login_geblokkeerd"]


def test_idle_session_ends(app_warehouse, monkeypatch):
    monkeypatch.setenv("VEILIGHEID_IDLE_MINUTES", "30")
    at = app_test("analist")
    assert at.title[0].value == "Dashboards veiligheid"
    at.session_state["auth_last_seen"] = time.time() - 29 * 60  # 29 minutes: still in
    at.run()
    assert at.title[0].value == "Dashboards veiligheid"
    at.session_state["auth_last_seen"] = time.time() - 31 * 60  # 31 minutes idle: out
    at.run()
    assert [ti.label for ti in at.text_input] == ["Gebruikersnaam", "Wachtwoord"] and not at.dataframe
    assert "verlopen na 30 minuten" in at.info[0].value
    assert list(audit.read()["gebeurtenis"])[0] == "Sessie verlopen"


def test_logout(app_warehouse):
    at = app_test("beheer")
    at.sidebar.button(key="auth_logout").click().run()
    assert [ti.label for ti in at.text_input] == ["Gebruikersnaam", "Wachtwoord"]
    assert not at.dataframe
    assert list(audit.read()["gebeurtenis"])[0] == "Uitgelogd"


@pytest.mark.parametrize("params", [
    {"stadsdeel": "WK026801' OR '1'='1", "thema": "Overvallen'); DROP TABLE incidenten; --"},
    {"wijk": "BU02680101; DELETE FROM buurten", "periode": "4w UNION SELECT * FROM quarantine"},
    {"van": "2026-01-01'--", "tot": "now()", "periode": "aangepast", "kaart": "' OR 1=1", "maat": "n); --"},
])
def test_sql_fragments_in_the_url_do_nothing_but_a_notice(app_warehouse, params):
    before = _counts(app_warehouse)
    at = app_test("wijkteam", **params)
    assert not at.exception
    assert at.warning  # a Dutch notice says which link value was ignored
    assert at.title[0].value == "Dashboards veiligheid"
    assert _counts(app_warehouse) == before  # nothing was changed or dropped


def _counts(wh):
    con = connect_readonly(wh)
    try:
        return [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("incidenten", "buurten", "quarantine")]
    finally:
        con.close()


def test_export_is_audited_with_filters(app_warehouse, monkeypatch):
    calls = _record_downloads(monkeypatch)
    at = app_test("wijkteam", stadsdeel="WK026807", periode="13w")
    assert calls, "the overview page offers a CSV"
    # the on_click callback of the button is what writes the audit line; call it as a click would
    calls[-1]["on_click"]()
    row = audit.read().iloc[0]
    assert row["gebeurtenis"] == "Export" and row["gebruiker"] == "test-wijkteam"
    assert "stadsdeel" in row["details"] and "WK026807" in row["details"] and "periode" in row["details"]


def _record_downloads(monkeypatch) -> list[dict]:
    return record_downloads(monkeypatch)


# ------------------------------------------------------------------ what each role gets on the overview page
def _shown_counts(at: AppTest, calls: list[dict]) -> list[tuple[str, float]]:
    """Every count the overview page shows, with where it was found."""
    out: list[tuple[str, float]] = []
    for m in at.markdown:  # tiles and their change lines
        for x in re.findall(r"font-size:2rem;font-weight:600'>([^<&]+)<", m.value):
            out.append(("tegel", float(x.replace(".", ""))))
        for a, b in re.findall(r": ([\d.]+|&lt;5|<5) → ([\d.]+|&lt;5|<5)", m.value):
            out += [("tegel verandering", float(v.replace(".", ""))) for v in (a, b) if v[0].isdigit()]
    for df in at.dataframe:
        for c in df.value.columns:
            if c.startswith("Aantal"):  # numbers, or text ("<5", "1.234") where something is hidden
                out += [(f"tabel {c}", float(v.replace(".", "")) if isinstance(v, str) else float(v))
                        for v in df.value[c].dropna() if not isinstance(v, str) or v[:1].isdigit()]
    for text in map_texts(at):
        for x in re.findall(r"Aantal: ([\d.]+)", text) + re.findall(r"([\d.]+) → ([\d.]+)", text):
            for v in (x if isinstance(x, tuple) else (x,)):
                out.append(("kaart", float(v.replace(".", ""))))
    for v in at.get("vega_lite_chart"):
        for ds in v.proto.datasets:
            t = pa.ipc.open_stream(io.BytesIO(ds.data.data)).read_all().to_pandas()
            if "waarde" in t.columns:  # trend: weekly counts; the 4-week average times 4 is a count too
                for r, w in t[["reeks", "waarde"]].dropna().itertuples(index=False):
                    # averages are shown with 1 decimal: 4 x the shown value, rounded, is the 4-week count
                    out.append(("trend", float(round(w * 4)) if r.startswith("Gemiddelde") else float(w)))
            elif "n" in t.columns:
                out += [("dag x uur", float(x)) for x in t["n"].dropna()]
    for c in calls:
        if str(c.get("file_name", "")).endswith(".csv"):
            t = pd.read_csv(io.BytesIO(c["data"]), sep=";", encoding="utf-8-sig", dtype=str)
            for col in t.columns:
                if col.startswith("Aantal"):
                    out += [("csv", float(x.replace(".", ""))) for x in t[col] if x[0].isdigit()]
    return out


def test_analist_sees_true_small_counts_wijkteam_does_not(app_warehouse, monkeypatch):
    calls = _record_downloads(monkeypatch)
    params = {"stadsdeel": "WK026807", "thema": "Overvallen", "kaart": "wijk", "periode": "13w"}
    analist = _shown_counts(app_test("analist", **params), calls)
    assert any(0 < v < 5 for _, v in analist), "the demo data has small counts here (else this test proves nothing)"
    calls.clear()
    at = app_test("wijkteam", **params)
    wijkteam = _shown_counts(at, calls)
    assert wijkteam and not [(w, v) for w, v in wijkteam if 0 < v < 5]
    assert "<5" in _text(at) or "&lt;5" in _text(at)
    legend = "".join(h.proto.body for h in at.get("html"))
    assert "onderdrukt" in legend  # the map legend tells suppressed apart from zero


FILTERS = st.fixed_dictionaries({}, optional={
    "periode": st.sampled_from(["4w", "13w", "52w", "jtd"]),
    "thema": st.lists(st.sampled_from(["Overvallen", "Auto-inbraken", "Woninginbraak", "Geweld", "Cybercrime",
                                       "Ondermijning", "Diefstal"]), min_size=1, max_size=3, unique=True),
    "stadsdeel": st.sampled_from(["WK026801", "WK026803", "WK026807", "WK026809"]),
    "kaart": st.sampled_from(["wijk", "stadsdeel"]),
    "maat": st.sampled_from(["aantal", "per1000", "index"]),
})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(params=FILTERS)
def test_property_wijkteam_never_sees_small_counts_and_cannot_subtract(app_warehouse, monkeypatch, params):
    calls = _record_downloads(monkeypatch)
    at = app_test("wijkteam", **params)
    assert not at.exception, [e.value for e in at.exception]
    shown = _shown_counts(at, calls)
    assert shown, "the page showed no counts at all"
    assert not [(w, v) for w, v in shown if 0 < v < 5], params

    # the subtraction attack on the area figures: wijken (map) + stadsdelen (map at the other level) + total
    levels = {}
    for level in ("wijk", "stadsdeel"):
        view = app_test("wijkteam", **{**params, "kaart": level})
        levels[level] = {a["code"]: a["tt"]["Aantal"] for a in map_areas(view)}
    total_tile = re.findall(r"font-size:2rem;font-weight:600'>([^<]+)<", [m.value for m in at.markdown
                                                                          if "2rem" in m.value][-1])[0]
    con = connect_readonly(app_warehouse)
    parent = dict(zip(*[queries.wijken(con)[c] for c in ("code", "stadsdeel_code")]))
    con.close()
    values, hidden = {}, set()
    for level, key in (("wijk", "w"), ("stadsdeel", "s")):
        for code, text in levels[level].items():
            values[(key, code)] = 0.0 if text.startswith("<") else float(text.replace(".", ""))
            if text.startswith("<"):
                hidden.add((key, code))
    rels = [(("s", sd), [("w", w) for w, p in parent.items() if p == sd]) for sd in set(parent.values())]
    if "stadsdeel" not in params:  # the total tile is the city total
        values[TOTAL] = 0.0
        if total_tile.startswith("&lt;"):
            hidden.add(TOTAL)
        rels.append((TOTAL, [("s", sd) for sd in set(parent.values())]))
    assert recoverable(values, rels, hidden) == set(), params


# ------------------------------------------------------------------ OpenID Connect (st.login)
@pytest.fixture
def oidc(app_warehouse, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text('[users]\n"a.jansen@gemeente.example" = "analist"\n[groups]\n"grp-wijkteam" = "wijkteam"\n')
    monkeypatch.setenv("VEILIGHEID_AUTH", "oidc")
    monkeypatch.setenv("VEILIGHEID_ROLE_MAP", str(roles))
    return roles


def _oidc_app(user: dict, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.user = user
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def test_oidc_logged_out_gets_the_sign_in_button_only(oidc):
    at = _oidc_app({"is_logged_in": False}, stadsdeel="WK026807")
    assert not at.exception
    assert [b.label for b in at.button] == ["Inloggen met uw organisatie-account"]
    assert not at.text_input and not at.dataframe


def test_oidc_roles_come_from_the_mapping_file(oidc):
    at = _oidc_app({"is_logged_in": True, "email": "a.jansen@gemeente.example", "name": "A. Jansen"})
    assert not at.exception and at.title[0].value == "Dashboards veiligheid"
    assert any("A. Jansen (analist)" in c.value for c in at.sidebar.caption)
    at = _oidc_app({"is_logged_in": True, "email": "w.team@gemeente.example", "groups": ["grp-wijkteam"]})
    assert any("(wijkteam)" in c.value for c in at.sidebar.caption)
    log = audit.read()
    assert (log["gebeurtenis"] == "Ingelogd").sum() == 2 and "oidc" in log["details"].iloc[0]


def test_oidc_user_without_a_role_is_refused_and_logged(oidc):
    at = _oidc_app({"is_logged_in": True, "email": "onbekend@elders.example"})
    assert not at.exception
    assert "geen rol" in at.error[0].value
    assert not at.dataframe and not at.sidebar.selectbox
    row = audit.read().iloc[0]
    assert row["gebeurtenis"] == "Toegang geweigerd" and row["gebruiker"] == "onbekend@elders.example"


def test_oidc_idle_timeout_also_ends_the_identity_session(oidc):
    at = _oidc_app({"is_logged_in": True, "email": "a.jansen@gemeente.example"})
    assert at.title[0].value == "Dashboards veiligheid"
    at.session_state["auth_last_seen"] = time.time() - 31 * 60
    at.run()
    # st.logout() ended the provider session too: no silent re-login, the sign-in button is back
    assert [b.label for b in at.button] == ["Inloggen met uw organisatie-account"]
    assert not at.dataframe
    assert list(audit.read()["gebeurtenis"])[:2] == ["Sessie verlopen", "Ingelogd"]


def test_csv_exports_cannot_carry_formulas():
    from veiligheid.ui import csv_bytes
    out = csv_bytes(pd.DataFrame({"notitie": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "-11", "<5"]}))
    text = out.decode("utf-8-sig").splitlines()
    assert text[1].lstrip('"').startswith("'=") and text[2].startswith("'@") and text[3] == "-11" and text[4] == "<5"

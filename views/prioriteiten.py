"""Page "Prioriteiten per stadsdeel": where a Veiliger Wijkteam sets and follows its priorities.

Figures come from veiligheid.priorities (score, grid), veiligheid.signals (what changed),
veiligheid.register (the agreed priorities and their results, in SQLite outside the warehouse) and
veiligheid.meeting_pack (the PDF for the team meeting). This file only lays out widgets.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import replace

import pandas as pd
import streamlit as st

from veiligheid import audit, disclosure, fmt, maps, shared, signals, ui
from veiligheid import filters as F
from veiligheid import priorities as P
from veiligheid import register as R
from veiligheid import teams as T

try:  # built at the same time by another engineer; the page works without it (no meeting pack)
    from veiligheid import meeting_pack
except ImportError:  # pragma: no cover
    meeting_pack = None

OVERVIEW_PAGE = "views/dashboards_veiligheid.py"
K_SD, K_Q, K_THEME, K_WHY = "prio_stadsdeel", "prio_kwartaal", "prio_thema", "prio_waarom"
K_W = {k: f"prio_w_{k}" for k in P.COMPONENTS}
K_PDF, K_GOTO, K_WEIGHTS, K_FLASH = "prio_pack", "prio_goto", "prio_gewichten", "prio_melding"
K_OWN_DEFAULT = "prio_eigen_team_standaard"  # the own team's stadsdeel was offered once this session
RECENT_WEEKS = shared.SIGNAL_RECENT_WEEKS

fresh = ui.freshness()
valid = ui.valid(fresh)
viewer = ui.viewer()
policy = viewer.policy("default")


# ------------------------------------------------------------------ cached figures (warehouse read-only)
def _con(token: str):
    return ui._connection(str(ui.warehouse_path()), token)


@st.cache_data(max_entries=512, show_spinner=False)
def _result(token: str, theme: str, level: str, code: str, start: dt.date, end: dt.date | None,
            data_start: dt.date | None, data_end: dt.date) -> R.Result:
    return R.result(_con(token), theme, level, code, start, end, data_start, data_end)


@st.cache_data(max_entries=4, show_spinner=False)
def _geo(token: str) -> list[dict]:
    return ui.query("area_geojson", "wijk")


# ------------------------------------------------------------------ area and period
teams, teams_warning = T.load(valid.stadsdelen)
team_by_sd = {sd: t for t in teams for sd in t.stadsdelen}
sd_options = [sd for t in teams for sd in t.stadsdelen]
wijk_names = dict(valid.wijk_names)
sd_names = dict(valid.stadsdelen)
# a wijkteam member's own Veiliger Wijkteam (account or OIDC mapping); analist and beheer act for every team
own_team = None if viewer.unsuppressed else T.find(teams, viewer.team)


def _sd_label(code: str) -> str:
    team = team_by_sd.get(code)
    name = sd_names.get(code, code)
    mine = " · uw team" if own_team is not None and team is not None and team.naam == own_team.naam else ""
    if team is None or team.naam == f"{T.PREFIX} {name}":
        return name + mine
    return f"{name} ({team.naam}){mine}"


def _on_sd_change() -> None:
    code = st.session_state.get(K_SD)
    state = ui.get_state()
    wijk = state.wijk if state.wijk and valid.wijken.get(state.wijk) == code else None
    new = replace(state, stadsdeel=code, wijk=wijk)
    ui.set_state(new)
    ui.sync_widgets(new)


def _go_overview(wijk: str, thema: str, start: dt.date, end: dt.date) -> None:
    """A signal's link: the overview page filtered on that wijk, theme and period (same session).

    With disclosure control the overview offers week presets only: the shortest one that covers the
    signal's weeks (a signal over the last 13 weeks opens 'laatste 13 weken')."""
    preset = "aangepast"
    if policy.active:
        days = (fresh.data_end - start).days + 1
        preset = next((p for p, d in F.PRESET_DAYS.items() if d >= days), "52w")
        start = end = None
    state = replace(ui.get_state(), preset=preset, start=start, end=end,
                    themes=(thema,) if thema in valid.themes else (), stadsdeel=valid.wijken.get(wijk), wijk=wijk,
                    level="wijk")
    ui.set_state(state)
    ui.sync_widgets(state)
    st.session_state[K_GOTO] = True


if st.session_state.pop(K_GOTO, False):
    st.switch_page(OVERVIEW_PAGE)

state = ui.get_state()
if own_team is not None and not st.session_state.get(K_OWN_DEFAULT):
    # a wijkteam member opens on their own team's (first) stadsdeel, unless a link or another page chose one
    st.session_state[K_OWN_DEFAULT] = True
    if state.stadsdeel is None and own_team.stadsdelen and own_team.stadsdelen[0] in sd_names:
        state = replace(state, stadsdeel=own_team.stadsdelen[0], wijk=None)
        ui.set_state(state)
        ui.sync_widgets(state)
if st.session_state.get(K_SD) != state.stadsdeel:  # the shared state wins (URL, other pages, map clicks)
    st.session_state[K_SD] = state.stadsdeel
quarters = P.available_quarters(fresh.data_start, fresh.data_end)
q_codes = [q.code for q in quarters]
if st.session_state.get(K_Q) not in q_codes:
    default_q = quarters[0]
    if state.preset == "aangepast" and state.start and state.end:  # a shared link with exactly a quarter
        hit = P.Quarter.of(state.start)
        if hit.start == state.start and hit.end == state.end and hit.code in q_codes:
            default_q = hit
    st.session_state[K_Q] = default_q.code

st.title("Prioriteiten per stadsdeel")
st.markdown("Welke thema's vragen de meeste aandacht van het Veiliger Wijkteam, naast de vier stadsbrede "
            "prioriteiten (overvallen, auto-inbraken, cybercrime en ondermijning)? Kies het stadsdeel en het kwartaal.")
if teams_warning:
    st.warning(teams_warning, icon=":material/groups:")
c1, c2, c3 = st.columns([2, 2, 3])
c1.selectbox("Stadsdeel", sd_options, key=K_SD, format_func=_sd_label, index=None,
             placeholder="Kies het stadsdeel van uw team", on_change=_on_sd_change)
c2.selectbox("Kwartaal", q_codes, key=K_Q, format_func=lambda c: P.Quarter.parse(c).label,
             help="Standaard het laatste volledige kwartaal. Vergeleken met het kwartaal ervoor en hetzelfde "
                  "kwartaal een jaar eerder.")
stadsdeel = st.session_state.get(K_SD)
quarter = P.Quarter.parse(st.session_state[K_Q])
pack_slot = c3.container()


# ------------------------------------------------------------------ helpers for display

def _weights() -> dict[str, float]:
    """Analist/beheer: the weights they set (kept across pages); wijkteam: always the defaults."""
    if viewer.unsuppressed:
        return dict(st.session_state.get(K_WEIGHTS, P.WEIGHTS))
    return dict(P.WEIGHTS)


def _on_weight() -> None:
    """The sliders are whole percentages (no decimal point to misread); the weights are fractions."""
    st.session_state[K_WEIGHTS] = {k: int(st.session_state.get(K_W[k], round(100 * P.WEIGHTS[k]))) / 100
                                   for k in P.COMPONENTS}


def _reset_weights() -> None:
    for k in P.COMPONENTS:
        st.session_state[K_W[k]] = round(100 * P.WEIGHTS[k])
    st.session_state[K_WEIGHTS] = dict(P.WEIGHTS)


def _tile(row: pd.Series, rank_text: str) -> None:
    with st.container(border=True):
        st.markdown(f"**{row['label']}**")
        n_txt = disclosure.count_text(row["n"], bool(row["n_verborgen"]), policy)
        st.markdown(f"<span style='font-size:1.8rem;font-weight:600'>{n_txt}</span>", unsafe_allow_html=True)
        rate, idx = row["per_1000"], row["index"]
        st.caption("geen cijfer per 1.000 inwoners (klein aantal)" if pd.isna(rate) else
                   f"{fmt.number(rate, 2)} per 1.000 inwoners · index {fmt.integer(idx)}"
                   + (" (stad = 100)" if not pd.isna(idx) else " (aantal in de stad te klein voor een index)"))
        st.markdown(f"t.o.v. vorig kwartaal: {P.change_text(row, 'vorige')}")
        st.caption(rank_text)


def _hidden_tiles() -> set:
    """(wijk, thema) whose signal counts meet priority tiles the overview hides, when the signals' weeks are the
    overview's blocks (the data end on a Sunday): the recent 13 weeks are the 13-week tile, the baseline is
    52 weeks - 13 weeks + the 13 weeks a year earlier. The same model the overview page uses (cached there)."""
    if signals.last_full_week(fresh.data_end) + dt.timedelta(days=6) != fresh.data_end:
        return set()
    with st.spinner("Kleine aantallen afschermen…"):
        model = shared.city_model(str(ui.warehouse_path()), ui.token(), fresh.data_start, fresh.data_end,
                                  dict(valid.wijken), (), policy)
    tiles = {("13w", "n"), ("52w", "n"), ("13w", "n_jaar")}
    return {(k[1], k[4]) for k in model.hidden if k[0] == "P" and k[2:4] in tiles}


def _signal_block(view: P.AreaView) -> tuple[list[str], str]:
    """Show the signals; returns their sentences and the method note (for the meeting pack)."""
    raw = shared.prio_signals(str(ui.warehouse_path()), ui.token(), view.stadsdeel, fresh.data_start, fresh.data_end)
    found = signals.protect_signals(raw, policy, _hidden_tiles() if policy.active and not raw.empty else ())
    st.subheader("Wat is er veranderd in uw stadsdeel?")
    tested = int(found.attrs.get("tested", 0) or 0)
    if found.attrs.get("message") and found.empty:
        st.info(found.attrs["message"], icon=":material/info:")
        return [], found.attrs["message"]
    sentences = list(found["sentence"])
    if found.empty:
        st.markdown(f"Geen opvallende veranderingen: van de {fmt.integer(tested)} combinaties van wijk en thema "
                    f"wijkt er geen meer af dan toeval in de laatste {RECENT_WEEKS} weken.")
    for i, r in found.head(12).iterrows():
        a, b = st.columns([6, 1.3], vertical_alignment="center")
        arrow = ":red[▲]" if r["direction"] > 0 else ":green[▼]"
        a.markdown(f"{arrow} {r['sentence']}")
        end = found.attrs.get("end") or fresh.data_end
        b.button("Bekijk in overzicht", key=f"sig_{i}", icon=":material/arrow_forward:",
                 on_click=_go_overview, args=(r["wijk"], r["thema"], r["since"], end),
                 help="Opent Dashboards veiligheid, gefilterd op deze wijk, dit thema en deze periode.")
    if len(found) > 12:
        st.caption(f"En nog {len(found) - 12} signalen (alle in het vergaderstuk).")
    hidden = int(found.attrs.get("hidden", 0) or 0)
    note = (f"Methode: per wijk en thema de laatste {RECENT_WEEKS} weken tegen de weken daarvoor (exacte toets), "
            f"gecorrigeerd voor het aantal toetsen ({fmt.integer(tested)}): hoogstens 10% van de getoonde signalen "
            "is naar verwachting toeval. 'Sinds' = de week waarin de verandering begon."
            + (f" {hidden} {'signaal' if hidden == 1 else 'signalen'} met kleine of afgeschermde aantallen "
               f"(<{policy.threshold}) niet getoond." if hidden else "")
            + (" Zonder aantallen: het zijn dezelfde cijfers als de tegels van het overzicht, en daar zijn ze zo "
               "nodig afgeschermd. 'Bekijk in overzicht' toont wat er getoond kan worden." if policy.active else ""))
    st.caption(note)
    return sentences, note


def _register_results(df: pd.DataFrame) -> pd.DataFrame:
    """The register rows with their results as Dutch text (after the disclosure rules)."""
    rows = []
    for _, r in df.iterrows():
        res = _result(ui.token(), r["theme"], r["area_level"], r["area_code"], r["start_date"], r["end_date"],
                      fresh.data_start, fresh.data_end)
        area = (f"stadsdeel {sd_names.get(r['area_code'], r['area_code'])}" if r["area_level"] == "stadsdeel"
                else f"wijk {wijk_names.get(r['area_code'], r['area_code'])}")
        rows.append({"Nr": int(r["id"]), "Team": r["team"], "Thema": P.label(r["theme"]), "Gebied": area,
                     "Start": fmt.date(r["start_date"]), "Eind": fmt.date(r["end_date"], missing="open"),
                     "Status": R.STATUS_LABEL.get(r["status"], r["status"]),
                     **R.shown(res, policy), "Notitie": r["note"],
                     "Vastgelegd door": f"{r['recorded_by']} ({fmt.date(dt.date.fromisoformat(r['recorded_at'][:10]))})"
                     if r["recorded_at"] else r["recorded_by"],
                     "Beëindigd door": r["ended_by"] or ""})
    return pd.DataFrame(rows, columns=["Nr", "Team", "Thema", "Gebied", "Start", "Eind", "Status", "Resultaat",
                                       "Hier (voor → na)", "Rest van de stad (voor → na)",
                                       "Verschil met de rest van de stad", "Periodes", "Notitie", "Vastgelegd door",
                                       "Beëindigd door"])


RESULT_NOTE = ("Resultaat: aantal in het gebied sinds de start tegen een even lange periode ervoor, vergeleken met de "
               "rest van de stad over dezelfde dagen (verschil-in-verschillen). 'Verschil' < 0% = het ging hier beter "
               "dan in de rest van de stad; het 95%-interval laat zien hoe zeker dat is. Dat zegt niet dat de aanpak "
               "het verschil heeft veroorzaakt.")


# ------------------------------------------------------------------ the page
def analysis(view: P.AreaView, weights: dict[str, float]) -> dict:
    """Tab 1: tiles, ranking with explanation, signals, grid, map and trend, registrations."""
    themes = view.themes
    # score, both tables and the first explanation: once per view and weights (shared.prio_ranking)
    scored, table, text_table, explanation = shared.prio_ranking(
        str(ui.warehouse_path()), ui.token(), quarter.code, fresh.data_start, view.stadsdeel, policy.threshold,
        policy.active, tuple(sorted(weights.items())))
    ranks = dict(zip(scored["key"], scored["rang"]))
    out: dict = {"scored": scored}

    # tiles: the four city-wide priorities, whatever their score
    prio = themes[themes["prioriteit"] & (themes["bron"] == P.INCIDENTEN)]
    st.subheader("De vier stadsbrede prioriteiten")
    cols = st.columns(max(len(prio), 1))
    for col, (_, row) in zip(cols, prio.iterrows()):
        rank = ranks.get(row["key"])
        with col:
            _tile(row, f"plaats {int(rank)} van {int(scored['gescoord'].sum())} in de ranglijst" if not pd.isna(rank)
                  else "geen score: te weinig in dit kwartaal")
    st.caption("Aantallen in het stadsdeel in het gekozen kwartaal. ▲/▼ = significante verandering (p < 0,05); een "
               "verschil zonder pijl past bij toeval.")

    # ranking
    st.subheader("Ranglijst van alle thema's")
    top = scored[scored["gescoord"]]
    if top.empty:
        st.info(explanation[0], icon=":material/info:")
    else:
        st.info("**Waarom staat " + top.iloc[0]["label"] + " bovenaan?** " + " ".join(explanation),
                icon=":material/lightbulb:")
    out["explanation"] = explanation
    suffix = "" if viewer.unsuppressed else " (alleen te wijzigen door een analist)"
    with st.expander("Gewichten van de score" + suffix, expanded=False):
        if viewer.unsuppressed:
            wc = st.columns(len(P.COMPONENTS))
            for c, k in zip(wc, P.COMPONENTS):
                c.slider(f"{k.capitalize()} (%)", 0, 100, step=5, key=K_W[k], help=P.COMPONENT_HELP[k],
                         on_change=_on_weight)
            st.button("Standaardgewichten", on_click=_reset_weights)
        for k in P.COMPONENTS:
            st.markdown(f"- **{k.capitalize()}** ({fmt.integer(100 * P.normalise_weights(weights)[k])}%): "
                        f"{P.COMPONENT_HELP[k]}")
        st.caption(f"Score = gewogen gemiddelde van de vier onderdelen (0–100). Een thema heeft minstens "
                   f"{P.MIN_SCORE_N} meldingen in het kwartaal nodig om een score te krijgen.")
    bar = {"Score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f",
                                                    help="Gewogen gemiddelde van de vier onderdelen (0–100)."),
           **{k.capitalize(): st.column_config.ProgressColumn(k.capitalize(), min_value=0, max_value=100, format="%.0f",
                                                              help=P.COMPONENT_HELP[k]) for k in P.COMPONENTS}}
    st.dataframe(table, hide_index=True, width="stretch", column_config=bar, height=420, key="prio_ranglijst")
    st.caption(f"Gewichten: {P.weights_text(weights)}. Stadsbreed = een van de vier stadsbrede prioriteiten. "
               f"{policy.describe()}")
    scored_keys = list(top["key"])
    if len(scored_keys) > 1:
        if st.session_state.get(K_WHY) not in scored_keys[1:]:
            st.session_state[K_WHY] = scored_keys[1]
        which = st.selectbox("Waarom staat een ander thema op zijn plaats?", scored_keys[1:], key=K_WHY,
                             format_func=lambda k: f"{int(ranks[k])}. {P.label(k)}")
        st.markdown(" ".join(P.explain(scored, which)))
    out["table"] = text_table

    # signals
    out["signals"], out["signals_note"] = _signal_block(view)

    # grid
    st.subheader(f"Wijken van {view.naam}: index per thema")
    order = [k for k in scored["key"] if P.split_key(k)[0] == P.INCIDENTEN]
    ui.template_chart(P.grid_display, P.dutch_grid_layers, view.grids[P.INCIDENTEN], view.policy, tuple(order),
                      width="stretch")
    st.caption("Per wijk en thema: incidenten per 1.000 inwoners als index (100 = gemiddelde van de stad). Rood = "
               "hoger, blauw = lager. **Bleke vakjes**: het 95%-interval van de index bevat 100, het verschil met de "
               "stad kan dus toeval zijn (vaak bij kleine wijken en kleine aantallen). Ga met de muis over een vakje "
               "voor het aantal, het interval en de index gecorrigeerd voor kleine aantallen. Grijs '<5': aantal "
               "onderdrukt; '–': te weinig inwoners voor een index.")

    # map and trend for one theme
    st.subheader("Kaart en verloop per thema")
    choices = [*[k for k in scored["key"]], P.ALL]
    default = scored_keys[0] if scored_keys else choices[0]
    if st.session_state.get(K_THEME) not in choices:
        st.session_state[K_THEME] = default
    theme_key = st.selectbox("Thema", choices, key=K_THEME,
                             format_func=lambda k: "Alle incidenten" if k == P.ALL else P.label(k))
    out["theme"] = theme_key
    m1, m2 = st.columns([1, 1])
    mt = P.map_table(view, theme_key)
    geo = [g for g in _geo(ui.token()) if g["code"] in set(mt["code"])]
    out["map"] = (geo, mt)
    with m1:
        if geo:
            fc, brk = maps.features(geo, mt, "index", None, "vorig kwartaal", hidden_label=policy.label)
            view_state = maps.view_for(geo, set(mt["code"]), height=420, width=600)
            st.vega_lite_chart(maps.chart(fc, maps.labels(geo, view_state), "wijk", clickable=False, height=420),
                               key="prio_kaart")
            st.html(maps.legend_html(maps.legend(brk, "index", policy.label if mt["onderdrukt"].any() else None),
                                     "Index per 1.000 inwoners (stad = 100)"))
            st.caption(f"{P.label(theme_key) if theme_key != P.ALL else 'Alle incidenten'}, {quarter.label}. "
                       + ("Gearceerde/grijze wijken: aantal onderdrukt (<5). " if policy.active else "")
                       + ui.ATTRIBUTION)
    with m2:
        if theme_key != P.ALL:
            ui.template_chart(P.trend_display, P.dutch_trend_layers, P.trend_frame(view, theme_key),
                              f"Stadsdeel {view.naam}", f"Heel {view.gemeente}", 300, P.label(theme_key),
                              width="stretch")
            st.caption(f"Per kwartaal, per 1.000 inwoners: stadsdeel {view.naam} tegen de hele stad. Kwartalen met "
                       "een onderdrukt aantal (<5) of zonder data ontbreken in de lijn.")

    # registrations
    st.subheader("Gemeentelijke registraties per categorie")
    reg = out["table"][[b == "Registraties" for b in out["table"]["Bron"]]].copy()
    reg["Thema"] = [P.split_key(k)[1] for k in scored.loc[scored["bron"] == P.REGISTRATIES, "key"]]
    st.dataframe(reg[["Thema", "Aantal", "Per 1.000 inwoners", "Index (stad = 100)", "Vorig kwartaal",
                      "T.o.v. vorig kwartaal", "Jaar eerder", "T.o.v. jaar eerder", "Rang"]]
                 .rename(columns={"Thema": "Categorie", "Rang": "Plaats in de ranglijst"}),
                 hide_index=True, width="stretch", key="prio_registraties")
    reg_order = [k for k in scored["key"] if P.split_key(k)[0] == P.REGISTRATIES]
    ui.template_chart(P.grid_display, P.dutch_grid_layers, view.grids[P.REGISTRATIES], view.policy, tuple(reg_order),
                      width="stretch")
    st.caption("Meldingen en registraties van de gemeente (MOR, BOA's, toezicht, woningcorporaties, wijkteams) naast "
               "de incidenten van de politie. Index en bleke vakjes als hierboven.")
    return out


def _to_own_team() -> None:
    """Button callback: open the viewer's own team's first stadsdeel."""
    if own_team is not None and own_team.stadsdelen:
        st.session_state[K_SD] = own_team.stadsdelen[0]
        _on_sd_change()


def _read_only_reason(team: T.Team) -> str | None:
    """Why this viewer may not record or end priorities of `team` (Dutch), or None when they may."""
    if R.may_act(viewer, team.naam):
        return None
    if not viewer.team:
        return "Uw account is niet aan een Veiliger Wijkteam gekoppeld; vraag functioneel beheer om dat te doen."
    if own_team is None:
        return (f"Uw account is gekoppeld aan '{viewer.team}', maar dat team staat niet in de huidige teamindeling; "
                "vraag functioneel beheer om uw account aan het juiste team te koppelen.")
    return f"U kunt alleen prioriteiten vastleggen voor uw eigen team, {own_team.naam}."


def register_tab(view: P.AreaView, team: T.Team, catalog: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Tab 2: the team's agreed priorities with their results; record and end (own team only for wijkteam)."""
    reg = R.Register()
    st.markdown(f"Afgesproken gebiedsgebonden prioriteiten van **{team.naam}** "
                f"(stadsdelen: {', '.join(sd_names.get(s, s) for s in team.stadsdelen)}). Vastgelegd in het "
                "prioriteitenregister, los van de wekelijkse data.")
    try:
        mine = reg.list(team.naam)
    except Exception as exc:  # noqa: BLE001 - a broken register must not break the page
        st.error(f"Het prioriteitenregister is niet te openen: {exc}")
        return pd.DataFrame()
    flash = st.session_state.pop(K_FLASH, None)
    if flash:
        st.success(flash, icon=":material/check:")
    shown = _register_results(mine)
    if shown.empty:
        st.info("Dit team heeft nog geen prioriteiten vastgelegd.", icon=":material/info:")
    else:
        st.dataframe(shown.drop(columns=["Team"]), hide_index=True, width="stretch", key="prio_register")
        st.caption(RESULT_NOTE)

    read_only = _read_only_reason(team)
    if read_only:  # the list stays visible; no form (the register refuses such a write anyway)
        st.info(read_only, icon=":material/lock:")
        if own_team is not None:
            st.button(f"Naar {own_team.naam}", key="prio_naar_eigen_team", icon=":material/arrow_forward:",
                      on_click=_to_own_team)
        return shown

    st.subheader("Nieuwe prioriteit vastleggen")
    ranked = list(scored.loc[scored["gescoord"].astype(bool), "key"])  # in score order
    theme_opts = ranked + [k for k in catalog["key"] if k not in ranked]
    area_opts = [("stadsdeel", sd) for sd in team.stadsdelen] + [
        ("wijk", w) for w in sorted((w for w, sd in valid.wijken.items() if sd in team.stadsdelen),
                                    key=lambda w: wijk_names.get(w, w))]
    with st.form("prio_nieuw", clear_on_submit=True, border=True):
        a, b = st.columns(2)
        theme = a.selectbox("Thema", theme_opts, format_func=P.label, help="Gesorteerd op de score van dit kwartaal.")
        area = b.selectbox("Gebied", area_opts, format_func=lambda x: (
            f"Stadsdeel {sd_names.get(x[1], x[1])} (heel)" if x[0] == "stadsdeel"
            else f"Wijk {wijk_names.get(x[1], x[1])}"))
        c, d = st.columns(2)
        start = c.date_input("Start", value=dt.date.today(), format="DD-MM-YYYY")
        end = d.date_input("Eind (optioneel)", value=None, format="DD-MM-YYYY")
        note = st.text_area("Korte notitie", max_chars=R.NOTE_MAX,
                            placeholder="Bijvoorbeeld: extra surveillance op vrijdagavond rond het winkelcentrum.",
                            help="Geen namen of andere persoonsgegevens.")
        saved = st.form_submit_button("Prioriteit vastleggen", type="primary")
    if saved:
        try:
            new_id = reg.add(team.naam, theme, area[0], area[1], start, end, note, viewer.user,
                             allowed_teams=R.allowed_teams(viewer))
        except R.RegisterError as exc:
            st.error(str(exc))
        except (sqlite3.Error, OSError) as exc:
            st.error(f"Het prioriteitenregister is niet bij te werken ({exc}). Probeer het later opnieuw of meld het "
                     "bij functioneel beheer.")
        else:
            audit.log("prioriteit", viewer.user, viewer.role, actie="vastgelegd", id=new_id, team=team.naam,
                      thema=theme, gebied=area[1], start=start, eind=end or "")
            st.session_state[K_FLASH] = f"Prioriteit {new_id} vastgelegd: {P.label(theme)}."
            st.rerun()

    open_ = mine[mine["status"].isin(["actief", "gepland"])] if not mine.empty else mine
    if not open_.empty:
        st.subheader("Prioriteit beëindigen")
        with st.form("prio_einde", border=True):
            a, b = st.columns([3, 1])
            pid = a.selectbox("Prioriteit", list(open_["id"]), format_func=lambda i: (
                f"{i}. {P.label(open_.set_index('id').at[i, 'theme'])}, vanaf "
                f"{fmt.date(open_.set_index('id').at[i, 'start_date'])}"))
            when = b.date_input("Einddatum", value=dt.date.today(), format="DD-MM-YYYY")
            stop = st.form_submit_button("Beëindigen")
        if stop:
            try:
                reg.end(int(pid), when, viewer.user, allowed_teams=R.allowed_teams(viewer))
                audit.log("prioriteit", viewer.user, viewer.role, actie="beëindigd", id=int(pid), eind=when)
            except R.RegisterError as exc:
                st.error(str(exc))
            except (sqlite3.Error, OSError) as exc:
                st.error(f"Het prioriteitenregister is niet bij te werken ({exc}). Probeer het later opnieuw of meld "
                         "het bij functioneel beheer.")
            else:
                st.session_state[K_FLASH] = f"Prioriteit {pid} beëindigd per {fmt.date(when)}."
                st.rerun()
    return shown


def overview_tab() -> None:
    """Tab 3: all teams' priorities for the Veiligheidsbrief, exportable."""
    try:
        everything = R.Register().list()
    except Exception as exc:  # noqa: BLE001
        st.error(f"Het prioriteitenregister is niet te openen: {exc}")
        return
    st.markdown("Alle gebiedsgebonden prioriteiten van alle Veiliger Wijkteams met hun resultaat tot nu toe: de "
                "basis voor de jaarlijkse Veiligheidsbrief.")
    if everything.empty:
        st.info("Er zijn nog geen prioriteiten vastgelegd.", icon=":material/info:")
        return
    years = sorted({d.year for d in everything["start_date"]} | {dt.date.today().year}, reverse=True)
    year = st.selectbox("Jaar (prioriteiten die in dat jaar liepen)", years, key="prio_jaar")
    y0, y1 = dt.date(year, 1, 1), dt.date(year, 12, 31)
    running = [s <= y1 and (e is None or e >= y0) for s, e in zip(everything["start_date"], everything["end_date"])]
    sel = everything[running]
    table = _register_results(sel.sort_values(["team", "start_date"]))
    if table.empty:
        st.info(f"Geen prioriteiten in {year}.", icon=":material/info:")
        return
    st.dataframe(table, hide_index=True, width="stretch", key="prio_overzicht")
    st.caption(RESULT_NOTE + " " + policy.describe())
    ui.download_button("Download overzicht (CSV)", ui.csv_bytes(table), f"prioriteiten_alle_teams_{year}.csv",
                       "text/csv", what=f"prioriteiten alle teams {year}", key="prio_csv_overzicht")


def meeting_pack_block(view: P.AreaView, figures: dict, register_table: pd.DataFrame, team: T.Team) -> None:
    """The button that builds the PDF for the team meeting (server-side, same figures), plus the CSV tables."""
    with pack_slot.container(border=True):
        st.markdown("**Vergaderstuk voor het wijkteamoverleg**")
        if meeting_pack is None:
            st.caption("Het vergaderstuk (PDF) is in deze versie niet beschikbaar.")
            return
        key = (view.stadsdeel, quarter.code, ui.token(), tuple(sorted(_weights().items())), figures.get("theme"),
               viewer.role)
        if st.button("Maak vergaderstuk (PDF)", icon=":material/picture_as_pdf:", key="prio_maak_pdf"):
            bar = st.progress(0.0, text="Vergaderstuk maken…")

            def progress(fraction: float, text: str) -> None:
                bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

            pack, csv_tables = _build_pack(view, figures, register_table, team)
            pdf = meeting_pack.build_pdf(pack, progress=progress)
            bar.progress(1.0, text="Klaar")
            st.session_state[K_PDF] = {"key": key, "pdf": pdf, "zip": meeting_pack.csv_zip(csv_tables)}
        built = st.session_state.get(K_PDF)
        if built and built["key"] == key:
            base = f"vergaderstuk_{view.naam.lower().replace(' ', '-')}_{quarter.code}"
            d1, d2 = st.columns(2)
            with d1:
                ui.download_button("Download PDF", built["pdf"], f"{base}.pdf", "application/pdf",
                                   what=f"vergaderstuk {view.naam} {quarter.code}", key="prio_pdf")
            with d2:
                ui.download_button("Tabellen (CSV, zip)", built["zip"], f"{base}_tabellen.zip", "application/zip",
                                   what=f"tabellen vergaderstuk {view.naam} {quarter.code}", key="prio_zip")
        else:
            st.caption("Kaart, ranglijst met uitleg, signalen, verloop en afspraken in één PDF, met dezelfde cijfers "
                       "en filters als op het scherm.")


def _build_pack(view: P.AreaView, figures: dict, register_table: pd.DataFrame, team: T.Team):
    """The meeting pack from the page's own figures (already protected for this viewer)."""
    scored = figures["scored"]
    top = [k for k in scored.loc[scored["gescoord"], "key"]][:3]
    charts = [(f"{P.label(k)}: per kwartaal, per 1.000 inwoners", P.dutch(P.trend_chart(view, k, title=False)))
              for k in top]
    geo, mt = figures["map"]
    theme_key = figures.get("theme", P.ALL)
    theme_name = "alle incidenten" if theme_key == P.ALL else P.label(theme_key)
    map_chart = meeting_pack.area_map_chart(geo, mt, "index", f"Index {theme_name} (stad = 100)",
                                            suppressed_col="onderdrukt") if geo else None
    week = fmt.week_label(fresh.data_week) if fresh.data_week else "–"
    freshness = (f"Data t/m {week} (t/m {fmt.date(fresh.data_end)}); "
                 f"laatste inlading {fmt.datetime(fresh.last_ingest) if fresh.last_ingest else 'nooit'}")
    afspraken = (register_table if register_table is not None and len(register_table.columns) else
                 _register_results(pd.DataFrame(columns=[*R.COLUMNS, "status"])))
    afspraken = afspraken.drop(columns=["Team", "Periodes", "Beëindigd door"], errors="ignore")
    table = figures["table"][["Rang", "Thema", "Score", "Niveau", "Trend", "Volume", "Ernst", "Aantal",
                              "Index (stad = 100)", "T.o.v. vorig kwartaal"]]  # fits a portrait page
    note = figures.get("signals_note", "")
    pdf_tables = {"Afspraken en resultaten": afspraken} if not afspraken.empty else {}
    csv_tables = {
        "ranglijst": figures["table"],
        "wijken_incidenten": P.grid_table(view, P.INCIDENTEN),
        "wijken_registraties": P.grid_table(view, P.REGISTRATIES),
        "signalen": pd.DataFrame({"Signaal": figures.get("signals", [])}),
        "afspraken_en_resultaten": afspraken,
    }
    pack = meeting_pack.Pack(
        title=f"Prioriteiten stadsdeel {view.naam}",
        area=f"stadsdeel {view.naam} ({team.naam})",
        period=f"{quarter.label} ({fmt.period(quarter.start, quarter.end)}), vergeleken met het "
               f"{quarter.shift(-1).label} en het {quarter.shift(-4).label}",
        freshness=freshness,
        viewer=viewer.label,
        disclosure=policy.describe(),
        map_chart=map_chart,
        priority_table=table,
        explanation=[*figures.get("explanation", []),
                     f"De score (0–100) is het gewogen gemiddelde van vier onderdelen; gewichten: "
                     f"{P.weights_text(_weights())}.",
                     *[f"{k.capitalize()}: {P.COMPONENT_HELP[k]}" for k in P.COMPONENTS],
                     f"Een thema heeft minstens {P.MIN_SCORE_N} meldingen in het kwartaal nodig voor een score; "
                     "'–' in de kolom Score = te weinig om te scoren."],
        signals=list(figures.get("signals", [])),
        trend_charts=charts,
        tables=pdf_tables,
        generated_at=dt.datetime.now(),
        demo=fresh.demo,
        signals_note=note,
        map_note=(f"Wijken van stadsdeel {view.naam}, {quarter.label}: {theme_name} per 1.000 inwoners als index "
                  "(100 = gemiddelde van de stad)." + (" Grijs gearceerd: aantal onderdrukt (kleiner dan "
                                                       f"{policy.threshold}, niet nul)." if policy.active else "")),
    )
    return pack, csv_tables


def main() -> None:
    if not stadsdeel:
        st.info("Kies hierboven het stadsdeel van uw Veiliger Wijkteam. Het stadsdeel dat u op een andere pagina "
                "koos, staat hier al klaar.", icon=":material/arrow_upward:")
        return
    period = P.quarter_period(quarter)
    st.markdown(f"**Stadsdeel {sd_names.get(stadsdeel, stadsdeel)}** · {quarter.label} "
                f"({fmt.period(period.start, period.end)}), vergeleken met het {quarter.shift(-1).label} en het "
                f"{quarter.shift(-4).label}.")
    try:
        view = shared.prio_view(str(ui.warehouse_path()), ui.token(), quarter.code, fresh.data_start, stadsdeel,
                                policy.threshold, policy.active)
    except KeyError:
        st.error("Dit stadsdeel staat niet (meer) in de gebiedsindeling. Kies een ander stadsdeel.")
        return
    tot = view.totals.set_index("bron")
    parts = [f"**{disclosure.count_text(tot.at[b, 'n'], bool(tot.at[b, 'verborgen']), policy)}** {P.UNIT[b][1]}"
             for b in P.BRONNEN]
    st.markdown(f"In dit kwartaal {parts[0]} (politie) en {parts[1]} (gemeente); het stadsdeel heeft "
                f"{fmt.integer(view.inwoners)} inwoners.")
    for note in view.notes:
        st.warning(note, icon=":material/info:")
    if not view.covered_ya:
        st.caption(f"Het {quarter.shift(-4).label} valt vóór het begin van de data: geen vergelijking met een jaar "
                   "eerder.")
    team = team_by_sd.get(stadsdeel) or T.Team(sd_names.get(stadsdeel, stadsdeel), (stadsdeel,))
    weights = _weights()
    tab1, tab2, tab3 = st.tabs(["Analyse", "Afspraken en resultaten", "Alle teams (Veiligheidsbrief)"])
    with tab1:
        figures = analysis(view, weights)
    with tab2:
        # the catalog by reference (the version's Base), not the quarter's Raw: unpickling that per rerun cost
        # ~20 ms at 5M for this one small table
        catalog = shared.prio_base(str(ui.warehouse_path()), ui.token()).catalog
        register_table = register_tab(view, team, catalog, figures["scored"])
    with tab3:
        overview_tab()
    meeting_pack_block(view, figures, register_table, team)


if viewer.unsuppressed:  # the sliders show the stored weights (widget state is dropped on other pages)
    for k, w in _weights().items():
        if K_W[k] not in st.session_state:
            st.session_state[K_W[k]] = round(100 * w)
main()

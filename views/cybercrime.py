"""Page "Cybercrime: slachtofferprofielen": who become victims, where they live, is the 2017 picture still true.

All figures come from veiligheid.cyber (already protected for the viewer's disclosure policy); this page
only lays them out. Filters that apply: period and area (stadsdeel, wijk). Themes do not: cyber victims
are a separate extract.
"""
from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import streamlit as st

from veiligheid import charts, cyber, disclosure, fmt, maps, shared, ui
from veiligheid import filters as F

fresh = ui.freshness()
valid = ui.valid(fresh)
viewer = ui.viewer()
policy = viewer.policy("cyber")


def _to_52_weeks() -> None:
    state = replace(ui.get_state(), preset="52w", start=None, end=None)
    ui.set_state(state)
    ui.sync_widgets(state)


def _count(n, hidden: bool) -> str:
    return disclosure.count_text(n, hidden, policy)


_num = cyber.num_text


def _euro(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"€ {fmt.integer(x)}"


_interval = cyber.interval_text


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


state, period = ui.filter_sidebar(valid, fresh, F.FIXED_PRESETS if policy.active else None)
path = ui.warehouse_path()
pr = shared.cyber_profile(str(path), ui.token(), period.start, period.end, state.stadsdeel, state.wijk,
                          policy.threshold, policy.active, fresh.data_end)
SMALL = policy.label

st.title("Cybercrime: slachtofferprofielen")
st.markdown(f"Slachtoffers van cybercrime die wonen in **{pr.area_name}**, naar datum van aangifte · "
            f"**{F.PRESETS[state.preset].lower()}**: {fmt.period(period.start, period.end)}")
st.caption("Slachtoffers tellen mee waar ze **wonen**: online criminaliteit heeft geen plaats delict. "
           "Op deze pagina gelden de filters **periode**, **stadsdeel** en **wijk**; het themafilter niet "
           "(slachtoffers van cybercrime zijn een aparte bron)."
           + (" U heeft thema's gekozen: die worden hier genegeerd." if state.themes else ""))
if pr.area_level == "wijk" and pr.profile_level != "wijk":
    st.info(f"Voor één wijk toont deze pagina geen profiel naar leeftijd, geslacht, opleiding of delict: daarvoor zijn "
            f"er te weinig slachtoffers om personen onherkenbaar te houden. De profielen, het verloop en de schade "
            f"hieronder gaan over **{pr.profile_name}**; het aantal voor de wijk zelf staat bij de kerncijfers en op "
            f"de kaart.", icon=":material/info:")
if period.days < 182:
    c_info, c_btn = st.columns([4, 1])
    c_info.info("Profielen per groep zijn betrouwbaarder over een langere periode. Met een korte periode zijn "
                + (f"veel groepen te klein om te tonen ({SMALL}) en " if policy.active else "de aantallen per groep "
                   "klein en ") + "zijn de intervallen breed.", icon=":material/timelapse:")
    c_btn.button("Toon de laatste 52 weken", on_click=_to_52_weeks, key="cy_52w")

if pr.data_first is None:
    st.warning("Er zijn nog geen slachtoffers van cybercrime ingeladen. Deze pagina vult zich na de eerstvolgende "
               "inlading van een bestand cyber_slachtoffers.", icon=":material/database:")
    st.stop()

groups = pr.groups
# the finding on 2017, the table per group and their CSV: once per profile (~15 % of a rerun when made each time)
finding, tables, profile_csv = shared.cyber_tables(str(path), ui.token(), period.start, period.end, state.stadsdeel,
                                                   state.wijk, policy.threshold, policy.active, fresh.data_end)

# ------------------------------------------------------------------ key figures
t = pr.total
cols = st.columns(4)
with cols[0].container(border=True):
    st.markdown(f"**Slachtoffers** in {pr.area_name}")
    st.markdown(f"<span style='font-size:2rem;font-weight:600'>{_count(t['n'], t['verborgen'])}</span>",
                unsafe_allow_html=True)
    st.caption(f"{_num(t['per_1000'])} per 1.000 inwoners" if not pd.isna(t["per_1000"]) else
               "geen cijfer per 1.000 inwoners")
at_risk = groups[groups["dim"].isin(cyber.RR_DIMENSIONS) & (groups["significant"] > 0)].sort_values(
    "rr", ascending=False)
with cols[1].container(border=True):
    st.markdown("**Meeste risico**")
    if at_risk.empty:
        st.markdown("<span style='font-size:1.4rem;font-weight:600'>geen groep aantoonbaar</span>",
                    unsafe_allow_html=True)
        st.caption("Geen groep ligt significant boven het gemiddelde.")
    else:
        top = at_risk.iloc[0]
        st.markdown(f"<span style='font-size:2rem;font-weight:600'>{top['label']}</span>", unsafe_allow_html=True)
        st.caption(f"{_num(top['rr'])} keer zo vaak slachtoffer als gemiddeld (95%-BI "
                   f"{_interval(top['rr_lo'], top['rr_hi'])})")
delicts = groups[groups["dim"] == "delict"]
shown_delicts = delicts[~delicts["verborgen"]].sort_values("n", ascending=False)
with cols[2].container(border=True):
    st.markdown("**Meest voorkomend delict**")
    if shown_delicts.empty or shown_delicts["n"].iloc[0] == 0:
        st.markdown("<span style='font-size:1.4rem;font-weight:600'>–</span>", unsafe_allow_html=True)
    else:
        d0 = shown_delicts.iloc[0]
        st.markdown(f"<span style='font-size:1.6rem;font-weight:600'>{d0['label']}</span>", unsafe_allow_html=True)
        st.caption(f"{_count(d0['n'], False)} slachtoffers"
                   + (f", {fmt.number(d0['aandeel'] * 100, 0)}% van alle" if not pd.isna(d0["aandeel"]) else "")
                   + (" (van de getoonde delicten)" if delicts["verborgen"].any() else ""))
dtot = pr.damage[pr.damage["delict"] == cyber.TOTAL].iloc[0]
with cols[3].container(border=True):
    st.markdown("**Schade** (opgegeven bedragen)")
    st.markdown(f"<span style='font-size:2rem;font-weight:600'>{_euro(dtot['totaal'])}</span>",
                unsafe_allow_html=True)
    st.caption(f"mediaan {_euro(dtot['mediaan'])} per slachtoffer met schade" if not pd.isna(dtot["mediaan"])
               else "mediaan niet te tonen (te weinig slachtoffers met een bedrag)")
if pr.profile_level != pr.area_level:
    st.caption(f"'Meeste risico', 'meest voorkomend delict' en 'schade' gaan over {pr.profile_name}.")

# ------------------------------------------------------------------ the 2017 finding
with st.container(border=True):
    st.subheader("Klopt het beeld van 2017 nog?")
    st.caption("De fenomeenanalyse van 2017 vond dat in de jaren 2012 tot en met 2016 het aantal slachtoffers daalde, "
               "en dat jongeren van 15 tot 25 jaar en hoogopgeleiden het meest kwetsbaar waren. Hier getoetst op de "
               f"huidige cijfers van {pr.profile_name}, {fmt.period(period.start, period.end)} "
               "(het verloop over de volledige kalenderjaren).")
    badge = {"ja": ":green-badge[Klopt nog]", "deels": ":orange-badge[Deels]", "nee": ":red-badge[Klopt niet meer]",
             "onbekend": ":gray-badge[Niet te toetsen]"}
    parts = {"trend": "Daling van het aantal slachtoffers", "leeftijd": "Jongeren van 15–25 jaar het kwetsbaarst",
             "opleiding": "Hoogopgeleiden het kwetsbaarst"}
    for v in finding.verdicts:
        st.markdown(f"{badge[v.status]} **{parts[v.part]}** — {v.text}")
    st.markdown(f"**Conclusie:** {finding.summary}")
    if finding.most_at_risk:
        st.markdown("**Nu het meest kwetsbaar** (significant vaker slachtoffer dan gemiddeld):\n"
                    + "\n".join(f"- {x}" for x in finding.most_at_risk))
    else:
        st.markdown("**Nu het meest kwetsbaar:** geen groep ligt in deze periode significant boven het gemiddelde.")
    st.caption("Toetsing: een groep loopt 'meer risico' als het 95%-betrouwbaarheidsinterval van het relatieve risico "
               "boven 1 ligt; 'het meest' als ze bovendien significant hoger ligt dan de volgende groep (exacte toets, "
               "p < 0,05). Groepen met kleine aantallen worden niet beoordeeld.")

# ------------------------------------------------------------------ relative risk chart
st.subheader("Wie loopt het meeste risico?")
rr = groups[groups["rr"].notna()].copy()
if rr.empty:
    st.info("Geen relatief risico te tonen: te weinig slachtoffers of geen inwonerscijfers.", icon=":material/info:")
else:
    rr["groep"] = [f"{r['label']}" for _, r in rr.iterrows()]
    rr["indeling"] = rr["dim"].map(cyber.DIM_TITLES)
    rr["uitkomst"] = rr["significant"].map({1: "vaker slachtoffer dan gemiddeld", -1: "minder vaak dan gemiddeld",
                                            0: "verschil kan toeval zijn"})
    rr["tt_rr"] = [_num(x) for x in rr["rr"]]
    rr["tt_bi"] = [_interval(lo, hi) for lo, hi in zip(rr["rr_lo"], rr["rr_hi"])]
    rr["tt_rate"] = [_num(x) for x in rr["per_1000"]]
    rr["tt_n"] = [_count(n, False) for n in rr["n"]]
    floor = 0.05  # log scale: an RR of 0 (no victims in a group) is drawn at the left edge
    for c in ("rr", "rr_lo", "rr_hi"):
        rr[f"x_{c}"] = rr[c].clip(lower=floor)
    data = rr[["groep", "indeling", "x_rr", "x_rr_lo", "x_rr_hi", "uitkomst", "tt_rr", "tt_bi", "tt_rate", "tt_n"]]
    order = tuple(rr.sort_values("rr", ascending=False)["groep"])
    x_domain = (min(0.5, float(rr["x_rr_lo"].min()) * 0.9), max(2.0, float(rr["x_rr_hi"].max()) * 1.1))
    ui.template_chart(charts.cyber_risk_display, charts.cyber_risk_layers, data.reset_index(drop=True), order, x_domain,
                      width="stretch")
    missing = groups[groups["dim"].isin(cyber.RR_DIMENSIONS) & (groups["waarde"] != cyber.UNKNOWN)
                     & groups["rr"].isna()]
    hidden_names = missing.loc[missing["verborgen"], "label"].tolist()
    nodenom = missing.loc[~missing["verborgen"] & missing["inwoners"].isna(), "dim"].map(cyber.DIM_TITLES).unique()
    note = ("Punt = relatief risico: hoeveel keer zo vaak als gemiddeld in "
            f"{pr.profile_name} iemand uit die groep slachtoffer werd; lijn = 95%-betrouwbaarheidsinterval (exact). "
            "Rood: duidelijk vaker, blauw: duidelijk minder vaak, grijs: het verschil kan toeval zijn. ")
    if hidden_names:
        note += f"Niet getoond wegens kleine aantallen ({SMALL}): {', '.join(hidden_names)}. "
    if len(nodenom):
        note += (f"{', '.join(nodenom)}: geen inwonerscijfers per groep, dus geen risico (zie de tabel). ")
    st.caption(note)

# ------------------------------------------------------------------ profile tables
st.subheader("Slachtoffers per 1.000 inwoners, per groep")
st.caption(f"{_first_upper(pr.profile_name)}, {fmt.period(period.start, period.end)}. Een relatief risico van 2 betekent: "
           "twee keer zo vaak slachtoffer als gemiddeld in het gebied. Alle slachtoffers tellen mee in het gemiddelde, ook "
           "die met een onbekende leeftijd, geslacht of opleiding.")


tabs = st.tabs([cyber.DIM_TITLES[d] for d in cyber.DIMENSIONS])
for tab, dim in zip(tabs, cyber.DIMENSIONS):
    with tab:
        st.dataframe(tables[dim], hide_index=True, width="stretch")
        if dim == "leeftijd":
            st.caption("Leeftijd op de dag van aangifte; ontbreekt die, dan het aangiftejaar min het geboortejaar. "
                       "Inwoners per leeftijdsgroep zijn geschat: CBS geeft per stadsdeel alleen afgeronde percentages"
                       + (", en voor een wijk is de verdeling van het stadsdeel gebruikt." if pr.profile_level == "wijk"
                          else "."))
        elif dim == "geslacht":
            st.caption("Mannen en vrouwen: CBS-inwonertallen per stadsdeel"
                       + (" (voor een wijk geschat met de verdeling van het stadsdeel)" if pr.profile_level == "wijk"
                          else "")
                       + ". Voor geslacht X en onbekend bestaat geen inwonerscijfer: alleen het aantal slachtoffers.")
        elif dim == "opleiding":
            st.caption("De referentiedata bevatten geen inwoners per opleidingsniveau, dus er is geen cijfer per 1.000 "
                       "inwoners en geen relatief risico. Wel het aandeel in de slachtoffers; wat dat zegt hangt af van "
                       "hoeveel inwoners dat opleidingsniveau hebben.")
            k = pr.edu_known
            if k and k["n_bekend"] > 0:
                st.markdown("Van de slachtoffers met een bekend opleidingsniveau: "
                            + ", ".join(f"{cyber.label('opleiding', v)} {fmt.number(s * 100, 0)}%"
                                        for v, s in k["aandelen"].items()) + ".")
        else:
            chart_df = groups[(groups["dim"] == "delict") & groups["per_1000"].notna()][["label", "per_1000"]].copy()
            if not chart_df.empty:
                chart_df["tt"] = [_num(x) for x in chart_df["per_1000"]]
                ui.cached_chart(charts.cyber_delict_rates, chart_df.reset_index(drop=True), width="stretch")
            st.caption("Per delict is de noemer alle inwoners."
                       + (f" Delicten met {SMALL} slachtoffers staan niet in de grafiek." if policy.active else ""))
ui.download_button("Download profieltabellen (CSV)", profile_csv,
                   file_name=f"cyber_profielen_{period.start.isoformat()}_{period.end.isoformat()}.csv",
                   mime="text/csv", what="cybercrime: slachtoffers per groep", key="cy_dl_profiel")

# ------------------------------------------------------------------ trend
st.subheader("Verloop per kwartaal en per jaar")
trend = pr.trend
if trend.empty:
    st.info("Nog geen verloop te tonen.", icon=":material/info:")
else:
    c1, c2 = st.columns([2, 1])
    delict = c1.selectbox("Delict", [cyber.ALL, *cyber.DIMENSIONS["delict"]], key="cy_delict")
    soort = c2.radio("Per", ["kwartaal", "jaar"], format_func=str.capitalize, horizontal=True, key="cy_per")
    sel = trend[(trend["delict"] == delict) & (trend["soort"] == soort)].copy()
    sel["volledigheid"] = [charts.CYBER_FULL[0] if v else charts.CYBER_FULL[1] for v in sel["volledig"]]
    sel["tekst"] = disclosure.count_column(sel["n"], sel["verborgen"], policy).to_numpy()
    sel["y0"] = 0.0
    shown = sel[~sel["verborgen"]][["bucket", "n", "tekst", "volledigheid"]].reset_index(drop=True)
    hid = sel[sel["verborgen"]][["bucket", "tekst", "volledigheid", "y0"]].reset_index(drop=True)
    ui.template_chart(charts.cyber_trend_display, charts.cyber_trend_layers, shown, hid, tuple(sel["bucket"]), soort,
                      width="stretch")
    st.caption(f"{_first_upper(pr.profile_name)}, alle beschikbare data (vanaf {fmt.date(pr.data_first)}): het "
               "periodefilter geldt hier niet, het gebiedsfilter wel. Lichte staven: de data beslaan maar een deel van "
               f"dat {soort}." + (f" '{SMALL}' op de nullijn: te weinig slachtoffers om te tonen." if policy.active
                                   else ""))
    years = trend[trend["soort"] == "jaar"]
    year_cols = list(dict.fromkeys(years["bucket"]))
    full = dict(zip(years["bucket"], years["volledig"]))
    table = pd.DataFrame({"Delict": [cyber.ALL, *cyber.DIMENSIONS["delict"]]})
    for y in year_cols:
        part = years[years["bucket"] == y].set_index("delict")
        table[y + ("" if full[y] else " (deels)")] = [_count(part.at[d, "n"], bool(part.at[d, "verborgen"]))
                                                      for d in table["Delict"]]
    st.markdown("**Slachtoffers per jaar en delict**")
    st.dataframe(table, hide_index=True, width="stretch")
    trend_csv = trend.assign(Slachtoffers=disclosure.count_column(trend["n"], trend["verborgen"], policy),
                             Volledig=trend["volledig"].map({True: "ja", False: "deels"}))
    trend_csv = trend_csv.rename(columns={"bucket": "Periode", "soort": "Soort", "delict": "Delict"})[
        ["Soort", "Periode", "Delict", "Slachtoffers", "Volledig"]]
    ui.download_button("Download verloop (CSV)", ui.csv_bytes(trend_csv), file_name="cyber_verloop.csv",
                       mime="text/csv", what="cybercrime: verloop per kwartaal/jaar en delict", key="cy_dl_verloop")

# ------------------------------------------------------------------ damage
st.subheader("Schade per delict")
dmg = pr.damage
dmg_table = pd.DataFrame({
    "Delict": [("Alle delicten" if d == cyber.TOTAL else d) for d in dmg["delict"]],
    "Slachtoffers": disclosure.count_column(dmg["n"], dmg["verborgen"], policy).to_numpy(),
    "Met schadebedrag": disclosure.count_column(dmg["n_schade"], dmg["schade_verborgen"], policy).to_numpy(),
    "Mediaan (€)": [_euro(x) for x in dmg["mediaan"]],
    "Totaal (€)": [_euro(x) for x in dmg["totaal"]],
})
st.dataframe(dmg_table, hide_index=True, width="stretch")
st.caption(f"{_first_upper(pr.profile_name)}, {fmt.period(period.start, period.end)}. Alleen slachtoffers die een "
           f"schadebedrag opgaven tellen mee in mediaan en totaal. Mediaan en totaal zijn niet getoond als minder dan "
           f"{policy.threshold} slachtoffers een bedrag opgaven" + ("" if policy.active else " (uw rol ziet ze wel)")
           + ", of als het aantal slachtoffers van dat delict niet getoond wordt.")
ui.download_button("Download schadetabel (CSV)", ui.csv_bytes(dmg_table),
                   file_name=f"cyber_schade_{period.start.isoformat()}_{period.end.isoformat()}.csv",
                   mime="text/csv", what="cybercrime: schade per delict", key="cy_dl_schade")

# ------------------------------------------------------------------ map
st.subheader("Kaart: slachtoffers per 1.000 inwoners, naar woonplaats")
level = st.radio("Indeling", ["stadsdeel", "wijk"], format_func=F.LEVELS.get, horizontal=True, key="cy_kaart")
amap = pr.areas[level].copy()
amap["onderdrukt"] = amap["verborgen"].astype(bool)
amap["n"] = amap["n"].fillna(0).astype("int64")
amap["n_vorige"] = math.nan
amap["verandering_vorige"] = math.nan
amap["significant_vorige"] = False
amap["richting_vorige"] = 0
geo = ui.query("area_geojson", level)
selected = state.wijk if level == "wijk" else state.stadsdeel
focus = set(amap.loc[amap["stadsdeel"] == valid.stadsdelen.get(state.stadsdeel), "code"]) \
    if level == "wijk" and state.stadsdeel else None
fc, brk = maps.features(geo, amap, "per1000", selected, "vorige periode", focus, hidden_label=SMALL)
for feat in fc["features"]:
    feat["properties"]["tt_change"] = "Slachtoffers naar woonplaats"
view = maps.view_for(geo, focus)
mcol, lcol = st.columns([3, 1])
with mcol:
    st.vega_lite_chart(maps.chart(fc, maps.labels(geo, view, focus), level, focus, clickable=False, height=520),
                       key="cy_map")
with lcol:
    st.html(maps.legend_html(maps.legend(brk, "per1000", SMALL if policy.active else None),
                             "Slachtoffers per 1.000 inwoners"))
    st.caption(f"{F.LEVELS[level]}, {fmt.period(period.start, period.end)}. Ga met de muis over een gebied voor de "
               "cijfers. Dikke rand = gekozen gebied.")
    st.caption(ui.ATTRIBUTION)
area_word = "Wijk" if level == "wijk" else "Stadsdeel"
if focus:  # a stadsdeel is chosen: its wijken (the whole hierarchy is protected together, so a part is safe)
    amap = amap[amap["code"].isin(focus)]
area_table = pd.DataFrame({
    area_word: amap["naam"],
    **({"Stadsdeel": amap["stadsdeel"]} if level == "wijk" else {}),
    "Inwoners": [fmt.integer(x) for x in amap["inwoners"]],
    "Slachtoffers": disclosure.count_column(pr.areas[level]["n"], pr.areas[level]["verborgen"], policy)
    .reindex(amap.index).to_numpy(),
    "Per 1.000 inwoners": [_num(x) if i >= 100 else "–" for x, i in zip(amap["per_1000"], amap["inwoners"])],
    "Index (stad = 100)": [fmt.integer(x) if i >= 100 else "–" for x, i in zip(amap["index"], amap["inwoners"])],
})
st.dataframe(area_table, hide_index=True, width="stretch")
note = "Gebieden met minder dan 100 inwoners krijgen geen cijfer per 1.000 inwoners."
if pr.unknown_wijk is None:
    note += " Enkele slachtoffers hebben alleen een bekend stadsdeel: zij tellen mee bij het stadsdeel, niet bij een wijk."
elif pr.unknown_wijk:
    note += (f" {fmt.integer(pr.unknown_wijk)} slachtoffers hebben alleen een bekend stadsdeel: zij tellen mee bij het "
             "stadsdeel, niet bij een wijk.")
st.caption(note)
ui.download_button("Download gebiedstabel (CSV)", ui.csv_bytes(area_table),
                   file_name=f"cyber_{level}_{period.start.isoformat()}_{period.end.isoformat()}.csv",
                   mime="text/csv", what=f"cybercrime: slachtoffers per {level}", key="cy_dl_gebied")

# ------------------------------------------------------------------ disclosure and method
st.divider()
st.caption("**Bescherming van slachtoffers.** " + policy.describe()
           + (f" Voor slachtoffers van cybercrime is de grens {policy.threshold}. Profielen, verloop en schade zijn voor "
              "de hele stad en alle stadsdelen samen beschermd, zodat ook het wisselen van gebied niets terugrekent. "
              "Een kruistabel van wijk × leeftijd × opleiding wordt nooit getoond." if policy.active else ""))
with st.expander("Hoe zijn de cijfers berekend?"):
    st.markdown(
        "- **Per 1.000 inwoners**: slachtoffers in de gekozen periode gedeeld door het aantal inwoners van de groep "
        "(CBS, peildatum 1 januari), maal 1.000.\n"
        "- **Relatief risico**: het cijfer van de groep gedeeld door dat van het hele gebied; 1 = gemiddeld. Gelijk "
        "aan het aandeel van de groep in de slachtoffers gedeeld door haar aandeel in de bevolking.\n"
        "- **95%-interval**: exact (Clopper-Pearson) voor het aandeel van de groep in de slachtoffers, gegeven het "
        "totaal; omgerekend naar het relatieve risico. Betrouwbaar ook bij kleine aantallen.\n"
        "- **Noemers**: inwoners per stadsdeel en mannen/vrouwen uit de CBS-kerncijfers; leeftijdsgroepen geschat uit "
        "de afgeronde CBS-percentages per stadsdeel; een wijk krijgt de verdeling van haar stadsdeel. Voor opleiding, "
        "geslacht X en onbekende waarden is er geen noemer.\n"
        "- **Verloop 2017**: de laatste twee volledige kalenderjaren vergeleken met een exacte toets (p < 0,05).")

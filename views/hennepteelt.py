"""Page "Hennepteelt": the chain from signal to reopening, where it happens, sources and premises.

Figures come from veiligheid.hennep (protected there for the viewer's disclosure policy). Point
locations, addresses and the list of current 13b closures exist only for roles with
`Viewer.points`, behind one switch that is off by default; for other roles they are not queried.
"""
from __future__ import annotations

import functools
import math
from dataclasses import replace

import altair as alt
import pandas as pd
import streamlit as st

from veiligheid import charts, disclosure, filters as F, fmt, hennep, maps, shared, ui

POINTS_LABEL = "Toon adressen en punten (alleen analisten)"
POINTS_KEY = "hennep_punten"
POINT_COLOURS = {"Signaal, nog niet geruimd": [33, 102, 172], "Geruimd": [120, 120, 120],
                 "Geruimd, 13b-waarschuwing": [230, 150, 20], "Geruimd, sluiting besloten": [200, 60, 40],
                 "Gesloten (13b)": [150, 0, 40], "Heropend": [60, 150, 60]}


def _list(name: str, *args) -> pd.DataFrame:
    """An analist's list (hennep.points, closures, stuck_list), cached on the warehouse version and the
    arguments, cut from the cases the page already keeps."""
    return shared.hennep_list(str(ui.warehouse_path()), ui.token(), name, *args)


def _count(n, hidden: bool) -> str:
    return disclosure.count_text(n, hidden, policy)


def _days(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{fmt.integer(x)} dagen"


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{fmt.integer(100 * x)}%"


def _on_map_select(key: str) -> None:
    """A click on the map selects that area (and filters the rest of the page)."""
    ui.select_area_from_map(key, valid)


LEVEL_KEY = "hennep_indeling"  # own widget key: the overview page's radio keeps its key on that page


def _on_level_change() -> None:
    ui.set_state(replace(ui.get_state(), level=st.session_state[LEVEL_KEY]))


def _chart(chart) -> alt.Chart:
    return charts.dutch(chart, legend=charts.TOP_LEGEND)


# ------------------------------------------------------------------ setup
fresh = ui.freshness()
valid = ui.valid(fresh)
viewer = ui.viewer()
policy = viewer.policy("hennep")
state, period = ui.filter_sidebar(valid, fresh, F.FIXED_PRESETS if policy.active else None)
where = ui.area_label(state, valid)

st.title("Hennepteelt")
st.markdown(f"Hennepzaken in **{where}** · **{F.PRESETS[state.preset].lower()}**: "
            f"{fmt.period(period.start, period.end)}. Van signaal via ruiming en 13b-besluit (Opiumwet) tot "
            "sluiting en heropening.")
if state.themes:
    st.caption("De gekozen thema's gelden niet voor deze pagina: die telt hennepzaken.")

show_points = False
if viewer.points:  # the switch exists only for roles that may see addresses and points
    show_points = st.toggle(POINTS_LABEL, value=False, key=POINTS_KEY,
                            help="Zet de puntenlaag op de kaart en de lijst van lopende 13b-sluitingen aan. "
                                 "Adressen zijn gevoelig: deel ze niet buiten het convenant.")

ov = shared.hennep_overview(str(ui.warehouse_path()), ui.token(), period, state.stadsdeel, state.wijk,
                            fresh.data_end, policy)
ref = ov.ref
if ov.failed_closed:
    st.warning("Niet alle cijfers konden veilig worden getoond; daarom zijn ze allemaal verborgen. "
               "Kies een langere periode of een groter gebied.", icon=":material/lock:")

if ov.n_cases == 0:
    st.info("Er zijn nog geen hennepzaken ingeladen. Zodra de wekelijkse inlading een hennepextract verwerkt, "
            "verschijnen hier de cijfers.", icon=":material/info:")
else:
    # ------------------------------------------------------------------ key figures
    st.subheader("Kerncijfers")
    tiles = ov.tiles.set_index("key")

    def tile(col, key: str, label: str, help_text: str) -> None:
        row = tiles.loc[key]
        col.metric(label, _count(row["n"], bool(row["verborgen"])), help=help_text, border=True)

    r1 = st.columns(4)
    tile(r1[0], "signalen", "Signalen", "Zaken met een signaaldatum in de periode (alle bronnen).")
    tile(r1[1], "ruimingen", "Ruimingen", "Kwekerijen ontmanteld (ruimingsdatum in de periode).")
    r1[2].metric("Planten geruimd", fmt.integer(ov.plants) if not math.isnan(ov.plants) else
                 (policy.label if tiles.loc["ruimingen", "verborgen"] or
                  policy.small(tiles.loc["ruimingen", "n"]) else "–"),
                 help="Totaal aantal planten bij de ruimingen in de periode.", border=True)
    tile(r1[3], "stroomdiefstal", "Met stroomdiefstal", "Ruimingen in de periode waarbij stroomdiefstal is vastgesteld.")
    r2 = st.columns(4)
    tile(r2[0], "waarschuwing", "13b: waarschuwing", "Ruimingen in de periode met als 13b-besluit een waarschuwing.")
    tile(r2[1], "sluitingsbesluit", "13b: sluiting", "Ruimingen in de periode met als 13b-besluit een sluiting.")
    tile(r2[2], "sluitingen_gestart", "Sluitingen gestart", "Panden gesloten (begindatum sluiting in de periode).")
    tile(r2[3], "sluitingen_van_kracht", "Sluitingen van kracht",
         f"Panden die op {fmt.date(ref)} (einde van de periode) gesloten zijn: begonnen en nog niet beëindigd.")
    st.caption(f"Van kracht: op {fmt.date(ref)}. Een 13b-besluit telt mee bij de ruiming waar het op volgt: het "
               "extract heeft geen besluitdatum. " + policy.describe())

    if not ov.detail:
        st.info(f"Voor één wijk toont deze pagina aan wijkteams alleen de kerncijfers, de kaart en de "
                "gebiedstabel. Een wijk heeft "
                "een paar hennepzaken per jaar: elke uitsplitsing (keten, doorlooptijden, bronnen, soort pand, "
                f"verloop per maand) zou '{policy.label}' tonen, en samen met de andere weergaven kleine aantallen "
                "herleidbaar maken. Kies een stadsdeel of de hele stad voor de uitsplitsingen.", icon=":material/info:")
    else:
        # ------------------------------------------------------------------ the chain
        st.subheader("De keten: van signaal tot heropening")
        st.markdown(f"Wat er is gebeurd met de **signalen uit de gekozen periode**, volgens de gegevens t/m "
                    f"{fmt.date(ov.asof)}. Een stap telt alleen als de stap ervoor is gezet.")
        fun = ov.funnel.set_index("stap")
        main_steps = ["signaal", "ruiming", "besluit", "sluiting", "heropening"]
        fdf = pd.DataFrame({
            "stap": [hennep.STEPS[s] for s in main_steps],
            "volgorde": list(range(len(main_steps))),
            "n": [fun.at[s, "n"] for s in main_steps],
            "tekst": [_count(fun.at[s, "n"], bool(fun.at[s, "verborgen"]))
                      + (f" ({_pct(fun.at[s, 'pct_signaal'])})" if s != "signaal" and not math.isnan(fun.at[s, "pct_signaal"])
                         else "") for s in main_steps],
        })
        k1, k2 = st.columns([5, 4])
        with k1:
            ui.template_chart(charts.hennep_funnel_display, charts.hennep_funnel_layers, fdf, width="stretch")
            split = (f"Van de 13b-besluiten: {_count(fun.at['waarschuwing', 'n'], bool(fun.at['waarschuwing', 'verborgen']))} "
                     f"waarschuwing en {_count(fun.at['sluitingsbesluit', 'n'], bool(fun.at['sluitingsbesluit', 'verborgen']))} "
                     "sluiting.")
            st.caption(f"{split} Percentages: deel van de signalen. "
                       + (f"Een stap zonder balk ('{policy.label}') heeft minder dan {policy.threshold} zaken, of is "
                          "verborgen omdat een klein aantal anders terug te rekenen is (bijvoorbeeld uit de kerncijfers)."
                          if policy.active else ""))
        with k2:
            st.markdown(f"**Langer dan gewoonlijk in een stap** (op {fmt.date(ref)})")
            stuck_tbl = pd.DataFrame({
                "Stap": ov.stuck["label"],
                "Zaken": [_count(n, bool(h)) for n, h in zip(ov.stuck["n"], ov.stuck["verborgen"])],
                "Langer dan": [_days(x) for x in ov.stuck["norm_dagen"]],
            })
            st.dataframe(stuck_tbl, hide_index=True, width="stretch")
            st.caption(f"Alle zaken in {where}, ook van voor de periode. 'Gewoonlijk': 9 van de 10 afgeronde stappen in "
                       "de hele stad gingen sneller (p90); '–': nog te weinig afgeronde stappen voor een norm. Een signaal "
                       "zonder ruiming kan ook niets hebben opgeleverd.")

        lt = ov.lead
        lead_tbl = pd.DataFrame({
            "Doorlooptijd": lt["label"],
            "Zaken": [_count(n, bool(h)) for n, h in zip(lt["n"], lt["verborgen"])],
            "Mediaan": [_days(x) for x in lt["mediaan"]],
            "Middelste helft": ["–" if math.isnan(a) else f"{fmt.integer(a)}–{fmt.integer(b)} dagen"
                                for a, b in zip(lt["p25"], lt["p75"])],
            "9 op 10 binnen": [_days(x) for x in lt["p90"]],
        })
        st.dataframe(lead_tbl, hide_index=True, width="stretch")
        st.caption("Doorlooptijden van de signalen uit de periode die de stap al hebben gezet. Mediaan: de helft ging "
                   "sneller. Middelste helft: 25% tot 75% van de zaken. Er is geen besluitdatum, dus 'ruiming → sluiting' "
                   "omvat het 13b-besluit; bij een waarschuwing is er geen doorlooptijd."
                   + (f" Een mediaan over minder dan {policy.threshold} zaken wordt niet getoond." if policy.active else ""))
        if viewer.points:  # case numbers: analysts only (addresses only with the switch on)
            sl = _list("stuck_list", ref, state.stadsdeel, state.wijk)
            if sl.empty:
                st.caption("Geen vastgelopen zaken.")
            else:
                sl_tbl = pd.DataFrame({
                    "Zaak": sl["zaaknummer"], "Stap": sl["stap_label"], "Sinds": [fmt.date(d.date()) for d in sl["sinds"]],
                    "Dagen": sl["dagen"].astype(int), "Wijk": sl["wijk"], "Stadsdeel": sl["stadsdeel"],
                    **({"Adres (BAG-id)": sl["adres_id"].fillna("–")} if show_points else {}),
                })
                with st.expander(f"Lijst vastgelopen zaken ({fmt.integer(len(sl_tbl))}, alleen analisten)"):
                    st.dataframe(sl_tbl, hide_index=True, width="stretch")
                    ui.download_button("Download vastgelopen zaken (CSV)", ui.csv_bytes(sl_tbl),
                                       f"hennep_vastgelopen_{ref.isoformat()}.csv", "text/csv",
                                       what="hennep: vastgelopen zaken" + (" met adressen" if show_points else ""),
                                       key="dl_hennep_vast")

    # ------------------------------------------------------------------ where
    st.subheader("Waar")
    if st.session_state.get(LEVEL_KEY) not in F.LEVELS:
        st.session_state[LEVEL_KEY] = state.level
    st.radio("Indeling", list(F.LEVELS), format_func=F.LEVELS.get, key=LEVEL_KEY, horizontal=True,
             on_change=_on_level_change)
    level = ui.get_state().level
    areas = ov.areas[level]
    geo = ui.query("area_geojson", level)
    focus = set(areas.loc[areas["stadsdeel"] == valid.stadsdelen[state.stadsdeel], "code"]) \
        if level == "wijk" and state.stadsdeel else None
    selected = state.wijk if level == "wijk" else state.stadsdeel
    table = areas.assign(n=areas["n"].fillna(0).astype(int), n_vorige=math.nan, verandering_vorige=math.nan,
                         significant_vorige=False, richting_vorige=0)
    fc, brk = maps.features(geo, table, "per1000", selected, "vorige periode", focus, hidden_label=policy.label)
    by_code = areas.set_index("code")
    for feat in fc["features"]:  # the hennep wording (the counts come from the protected overview)
        p = feat["properties"]
        if p["code"] in by_code.index:
            row = by_code.loc[p["code"]]
            p["tt_aantal"] = f"Ruimingen: {_count(row['n'], bool(row['onderdrukt']))}"
            p["tt_change"] = (f"Herhaalde adressen (t/m {fmt.date(ref)}): "
                              f"{_count(row['adressen'], bool(row['adressen_verborgen']))}")
    view = maps.view_for(geo, focus)
    pts, rows = None, None
    if show_points:  # only reachable for viewer.points (the switch does not exist otherwise)
        pts = _list("points", period, state.stadsdeel, state.wijk, ref)
        located = pts[pts["lat"].notna() & pts["lon"].notna()]
        rows = [{"lon": round(float(r["lon"]), 6), "lat": round(float(r["lat"]), 6), "naam": r["zaaknummer"],
                 "kleur": POINT_COLOURS.get(r["status"], [0, 0, 0]),
                 "tt": {"title": r["zaaknummer"], "Status": r["status"], "Adres (BAG-id)": r["adres_id"] or "–",
                        "Signaal": fmt.date(r["signaaldatum"].date()),
                        **({"Ruiming": fmt.date(r["ruimingsdatum"].date())} if not pd.isna(r["ruimingsdatum"]) else {})}}
                for _, r in located.iterrows()]
    mcol, lcol = st.columns([3, 1])
    with mcol:
        key = ui.map_key("hennep_kaart", ui.get_state())
        st.vega_lite_chart(maps.chart(fc, maps.labels(geo, view, focus), level, focus, height=520, points=rows),
                           key=key, on_select=functools.partial(_on_map_select, key),
                           selection_mode=[maps.SELECT_PARAM])
    with lcol:
        items = maps.legend(brk, "per1000", policy.label if policy.active else None)
        edges = [None, *brk, None]  # hennep rates are small: the class bounds need 2 decimals
        for i in range(len(brk) + 1 if brk else 0):
            lo, hi = edges[i], edges[i + 1]
            items[i] = (items[i][0], f"minder dan {fmt.number(hi, 2)}" if lo is None else
                        f"{fmt.number(lo, 2)} of meer" if hi is None else f"{fmt.number(lo, 2)} tot {fmt.number(hi, 2)}")
        st.html(maps.legend_html(items, "Ruimingen per 1.000 inwoners"))
        if pts is not None:
            st.html(maps.legend_html([(c, s) for s, c in POINT_COLOURS.items()], "Zaken (punten)"))
            unplaced = int(pts["lat"].isna().sum())
            if unplaced:
                st.caption(f"{fmt.integer(unplaced)} zaken zonder coördinaten staan niet op de kaart.")
        denom = ("per 1.000 inwoners: de referentiedata heeft geen aantal woningen per wijk"
                 if not ov.homes else "per 1.000 inwoners: woningen zijn er alleen per stadsdeel, niet per wijk")
        st.caption(f"{F.LEVELS[level]}, ruimingen {fmt.period(period.start, ref)}, {denom}. Klik op een gebied "
                   "om de pagina daarop te filteren.")
        st.caption(ui.ATTRIBUTION)

    # hot spots and repeat addresses, for the areas of the selection
    in_sel = areas
    if level == "wijk" and state.wijk:
        in_sel = areas[areas["code"] == state.wijk]
    elif state.stadsdeel:
        in_sel = areas[areas["code"] == state.stadsdeel] if level == "stadsdeel" \
            else areas[areas["stadsdeel"] == valid.stadsdelen[state.stadsdeel]]
    sort_key = in_sel["n"].where(~in_sel["onderdrukt"], policy.threshold - 0.5).fillna(0)
    in_sel = in_sel.assign(_k=-sort_key).sort_values(["_k", "naam"], kind="stable")
    area_word = "Wijk" if level == "wijk" else "Stadsdeel"
    spot_tbl = pd.DataFrame({
        area_word: in_sel["naam"],
        **({"Stadsdeel": in_sel["stadsdeel"]} if level == "wijk" else {}),
        "Ruimingen": [_count(n, bool(h)) for n, h in zip(in_sel["n"], in_sel["onderdrukt"])],
        "Per 1.000 inwoners": [fmt.number(x, 2) if not math.isnan(x) else "–" for x in in_sel["per_1000"]],
        "Herhaling in periode": [_count(n, bool(h)) for n, h in zip(in_sel["herhaling"], in_sel["herhaling_verborgen"])],
        f"Herhaalde adressen t/m {fmt.date(ref)}": [_count(n, bool(h)) for n, h in
                                                    zip(in_sel["adressen"], in_sel["adressen_verborgen"])],
        "Hotspot": ["ja" if h else "" for h in in_sel["hotspot"]],
    })
    anything = (in_sel[["n", "herhaling", "adressen"]].fillna(1) > 0).any(axis=1)  # NaN = hidden = not zero
    hot = in_sel.loc[in_sel["hotspot"], "naam"].tolist()
    min_hot = max(hennep.HOTSPOT_MIN, policy.threshold) if policy.active else hennep.HOTSPOT_MIN
    st.markdown(f"**Hotspots**: {'wijken' if level == 'wijk' else 'stadsdelen'}"
                + (f" in {where}" if state.stadsdeel else "") + f" met {fmt.integer(min_hot)} of meer ruimingen in de "
                "periode: " + (", ".join(hot) if hot else "geen") + ".")
    if anything.any():
        st.dataframe(spot_tbl[anything.to_numpy()], hide_index=True, width="stretch")
    else:
        st.caption("Geen ruimingen of herhaling in dit gebied en deze periode.")
    st.caption(f"Gebieden zonder ruimingen en herhaling staan niet in de tabel (wel in de CSV). "
               f"Hotspot: {fmt.integer(min_hot)} of meer ruimingen in de periode. Herhaling: een zaak op een adres "
               "(BAG-id) waar eerder een kwekerij is geruimd; 'herhaalde adressen' telt die adressen sinds het begin "
               "van de gegevens. " + (f"'{policy.label}': minder dan {policy.threshold}, of verborgen omdat het anders "
                                      "terug te rekenen is." if policy.active else ""))
    ui.download_button("Download gebiedstabel (CSV)", ui.csv_bytes(spot_tbl),
                       f"hennep_{level}_{period.start.isoformat()}_{ref.isoformat()}.csv", "text/csv",
                       what=f"hennep: ruimingen en herhaling per {level}", key="dl_hennep_gebied")

    if show_points:
        st.subheader(f"Lopende 13b-sluitingen op {fmt.date(ref)}")
        cl = _list("closures", ref, state.stadsdeel, state.wijk)
        if cl.empty:
            st.info("Er zijn geen lopende sluitingen in dit gebied.")
        else:
            cl_tbl = pd.DataFrame({
                "Zaak": cl["zaaknummer"], "Adres (BAG-id)": cl["adres_id"].fillna("–"), "Wijk": cl["wijk"],
                "Stadsdeel": cl["stadsdeel"], "Pand": cl["type_pand"], "Eigendom": cl["eigendom"],
                "Gesloten sinds": [fmt.date(d.date()) for d in cl["sluiting_begin"]],
                "Gesloten tot": [fmt.date(d.date()) if not pd.isna(d) else "onbepaald" for d in cl["sluiting_eind"]],
                "Dagen gesloten": cl["dagen_gesloten"].astype(int),
            })
            st.dataframe(cl_tbl, hide_index=True, width="stretch")
            st.caption("Alleen voor analisten. 'Onbepaald': er is (nog) geen einddatum van de sluiting bekend.")
            ui.download_button("Download lopende sluitingen (CSV)", ui.csv_bytes(cl_tbl),
                               f"hennep_sluitingen_{ref.isoformat()}.csv", "text/csv",
                               what="hennep: lopende 13b-sluitingen met adressen", key="dl_hennep_sluitingen")

    if ov.detail:
        # ------------------------------------------------------------------ sources
        st.subheader("Signaalbronnen: welke signalen leiden tot een ruiming?")
        s1, s2 = st.columns([2, 3])
        src = ov.sources
        with s1:
            src_tbl = pd.DataFrame({
                "Bron": src["bron"],
                "Signalen": [_count(n, bool(h)) for n, h in zip(src["signalen"], src["signalen_verborgen"])],
                "Geruimd": [_count(n, bool(h)) for n, h in zip(src["geruimd"], src["geruimd_verborgen"])],
                "Trefkans": [_pct(x) for x in src["trefkans"]],
            })
            st.dataframe(src_tbl, hide_index=True, width="stretch")
            st.caption("Signalen uit de gekozen periode; trefkans = deel dat (tot nu toe) tot een ruiming leidde. "
                       "Recente signalen kunnen nog geruimd worden.")
            ui.download_button("Download bronnen (CSV)", ui.csv_bytes(src_tbl),
                               f"hennep_bronnen_{period.start.isoformat()}_{ref.isoformat()}.csv", "text/csv",
                               what="hennep: signaalbronnen en trefkans", key="dl_hennep_bronnen")
        with s2:
            sy = ov.sources_year.dropna(subset=["trefkans"])
            if sy["jaar"].nunique() < 2:
                st.info("Te weinig jaren om de trefkans per bron door de tijd te volgen"
                        + (f": per bron en jaar moeten er minstens {policy.threshold} signalen en {policy.threshold} "
                           "ruimingen (en niet-geruimde signalen) zijn om het te mogen tonen." if policy.active else "."),
                        icon=":material/info:")
            else:
                sy = sy.assign(jaar_t=sy["jaar"].astype(str), tekst=[
                    f"{_pct(t)} van {fmt.integer(n)} signalen" for t, n in zip(sy["trefkans"], sy["signalen"])])
                chart = alt.Chart(sy).mark_line(point=alt.OverlayMarkDef(size=60)).encode(
                    x=alt.X("jaar_t:O", title=None, axis=alt.Axis(labelAngle=0)),
                    y=alt.Y("trefkans:Q", title="trefkans", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%")),
                    color=alt.Color("bron:N", sort=list(hennep.SOURCES),
                                    legend=alt.Legend(orient="bottom", columns=3, labelLimit=220, title=None)),
                    tooltip=[alt.Tooltip("bron:N", title="Bron"), alt.Tooltip("jaar_t:N", title="Jaar"),
                             alt.Tooltip("tekst:N", title="Trefkans")])
                ui.altair_chart(_chart(chart.properties(height=260)), width="stretch")
                st.caption(f"Trefkans per bron per kalenderjaar (signalen t/m {fmt.date(ref)}, {where})."
                           + (f" Bronnen en jaren met minder dan {policy.threshold} signalen of ruimingen ontbreken."
                              if policy.active else ""))

        # ------------------------------------------------------------------ premises
        st.subheader("Soort pand en eigendom")
        prem, prem_h = ov.premises, ov.premises_hidden
        prem_tbl = pd.DataFrame({"Soort pand": prem.index})
        for col in prem.columns:
            prem_tbl[col] = [_count(prem.at[r, col], bool(prem_h.at[r, col])) for r in prem.index]
        st.dataframe(prem_tbl, hide_index=True, width="stretch")
        corp, total = prem.at["Totaal", "Corporatie"], prem.at["Totaal", "Totaal"]
        share = (f" {_pct(corp / total)} van de ruimingen was in een pand van een woningcorporatie."
                 if total and not math.isnan(total) and not math.isnan(corp) and total > 0 else "")
        st.caption(f"Ruimingen in de periode naar soort pand en eigendom: de basis voor afspraken met "
                   f"woningcorporaties.{share}")

        # ------------------------------------------------------------------ trend per month
        st.subheader("Verloop per maand")
        mon = ov.monthly
        long = pd.concat([
            pd.DataFrame({"maand": mon["maand"], "label": mon["label"], "reeks": "Signalen", "n": mon["signalen"],
                          "verborgen": mon["signalen_verborgen"], "onvolledig": mon["onvolledig"]}),
            pd.DataFrame({"maand": mon["maand"], "label": mon["label"], "reeks": "Ruimingen", "n": mon["ruimingen"],
                          "verborgen": mon["ruimingen_verborgen"], "onvolledig": mon["onvolledig"]}),
        ])
        long["tekst"] = [_count(n, bool(h)) + (" (maand nog niet compleet)" if o else "")
                         for n, h, o in zip(long["n"], long["verborgen"], long["onvolledig"])]
        long["nul"] = 0
        ui.template_chart(charts.hennep_monthly_display, charts.hennep_monthly_layers, mon, long, width="stretch")
        st.caption(f"Gearceerd: de gekozen periode. {where[0].upper() + where[1:]}."
                   + (f" Een driehoekje op de nullijn: minder dan {policy.threshold} ('{policy.label}'), of verborgen "
                      "omdat het anders terug te rekenen is." if policy.active else "")
                   + (" De laatste maand is nog niet compleet (licht gekleurd)." if mon["onvolledig"].any() else ""))
        month_tbl = pd.DataFrame({"Maand": mon["label"],
                                  "Signalen": [_count(n, bool(h)) for n, h in zip(mon["signalen"], mon["signalen_verborgen"])],
                                  "Ruimingen": [_count(n, bool(h)) for n, h in zip(mon["ruimingen"], mon["ruimingen_verborgen"])]})
        ui.download_button("Download per maand (CSV)", ui.csv_bytes(month_tbl),
                           f"hennep_per_maand_{ref.isoformat()}.csv", "text/csv", what="hennep: signalen en ruimingen per maand",
                           key="dl_hennep_maand")

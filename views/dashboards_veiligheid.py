"""Page "Dashboards veiligheid": priorities, map, trend, time of day and the area table."""
from __future__ import annotations

import functools
from dataclasses import replace

import pandas as pd
import streamlit as st

from veiligheid import charts, filters as F, fmt, maps, overview, queries, shared, ui
from veiligheid.disclosure import count_text

fresh = ui.freshness()
valid = ui.valid(fresh)
viewer = ui.viewer()
policy = viewer.policy("default")
HID = policy.label


def _on_map_select(key: str) -> None:
    """A click on the map selects that area (and filters the rest of the page)."""
    ui.select_area_from_map(key, valid)


def _on_view_change() -> None:
    state = ui.get_state()
    ui.set_state(replace(state, level=st.session_state[ui.W_LEVEL], measure=st.session_state[ui.W_MEASURE]))


# with disclosure control only the week presets: every figure is then a sum of the same 7-day blocks and
# all views are protected together (veiligheid/overview.py); free periods could be shifted to subtract
# and all themes or one city-wide priority: those figures are all in the one all-themes model (a priority's
# counts are its tiles there); two theme selections side by side could be subtracted from each other
priorities = tuple(ui.query("priority_themes"))
state, period = ui.filter_sidebar(valid, fresh, tuple(overview.PRESET_BLOCKS) if policy.active else None,
                                  priorities if policy.active else None)
where = ui.area_label(state, valid)
themes = state.themes
thema = themes[0] if policy.active and themes else None  # wijkteam: one priority, cut from the all-themes model
prev_label = {"4w": "vorige 4 weken", "13w": "vorige 13 weken", "52w": "vorige 52 weken"}.get(
    state.preset, "vorige periode")

st.title("Dashboards veiligheid")
st.markdown(f"Incidenten in **{where}** · {ui.themes_label(state)} · **{F.PRESETS[state.preset].lower()}**: "
            f"{fmt.period(period.start, period.end)}"
            + (f" :gray-badge[{fmt.week_label(fresh.incomplete_week)} onvolledig]"
               if fresh.incomplete_week and period.start <= fresh.data_end <= period.end else ""))

# ------------------------------------------------------------------ disclosure control (see veiligheid/overview.py)
area = overview.area_key(state.stadsdeel, state.wijk)
if policy.active:
    with st.spinner("Kleine aantallen afschermen…"):
        model = shared.city_model(str(ui.warehouse_path()), ui.token(), fresh.data_start, fresh.data_end,
                                  dict(valid.wijken), (), policy)
    masks = overview.model_masks(model, state.preset, {"wijk": list(valid.wijken), "stadsdeel": list(valid.stadsdelen)},
                                 thema)
else:
    model, masks = None, {}

# ------------------------------------------------------------------ tiles
# the page's warehouse queries for this selection (the same list the warm-up runs for the default view)
tiles = ui.query(*shared.dashboard_queries(state, period, fresh)["tiles"])
if policy.active:
    tiles = overview.hide(tiles, overview.model_tiles_hidden(model, area, state.preset, list(tiles["thema"][:-1]),
                                                             queries.TOTAL, thema), key="thema")


def _change_line(row: pd.Series, which: str, label: str) -> str:
    prev = row[f"n_{'vorige' if which == 'vorige' else 'jaar'}"]
    prev_hidden = bool(row.get(f"onderdrukt_{which}", False))
    if prev_hidden or row.get("onderdrukt", False):
        return (f":gray[{label}: {HID if prev_hidden else fmt.integer(prev)} → "
                f"{HID if row.get('onderdrukt', False) else fmt.integer(row['n'])}]")
    if pd.isna(prev):
        return f"{label}: geen gegevens"
    frac = row[f"verandering_{which}"]
    pct = fmt.signed_pct(frac) if not pd.isna(frac) else ("gelijk" if row["n"] == 0 else "nieuw")
    text = f"{label}: {fmt.integer(prev)} → {fmt.integer(row['n'])} ({pct})"
    if row[f"significant_{which}"]:
        up = row[f"richting_{which}"] > 0
        return f"{label}: {fmt.integer(prev)} → {fmt.integer(row['n'])} " + (
            f":red[**▲ {pct}**]" if up else f":green[**▼ {pct}**]")
    return f":gray[{text}]"


cols = st.columns(len(tiles))
for col, (_, row) in zip(cols, tiles.iterrows()):
    name = row["thema"]
    if name == queries.TOTAL:
        name = "Totaal, alle thema's" if not themes else "Totaal gekozen thema's"
    with col.container(border=True):
        st.markdown(f"**{name}**")
        st.markdown(f"<span style='font-size:2rem;font-weight:600'>"
                    f"{count_text(row['n'], row.get('onderdrukt', False), policy).replace('<', '&lt;')}</span>",
                    unsafe_allow_html=True)
        st.caption(f"{fmt.number(row['per_1000'], 2)} per 1.000 inwoners" if not row.get("onderdrukt", False)
                   else "te weinig om te tonen")
        st.markdown(_change_line(row, "vorige", f"t.o.v. {prev_label}"))
        st.markdown(_change_line(row, "jaar", "t.o.v. jaar eerder"))
st.caption("▲/▼ in kleur = statistisch significante verandering (exacte toets, p < 0,05). Grijs = het verschil "
           "past bij toeval en is geen nieuws. De vier stadsbrede prioriteiten tellen altijd hun eigen thema."
           + (f" **{HID}** = minder dan {policy.threshold} incidenten, of afgeschermd zodat een klein aantal niet "
              "is terug te rekenen; afgeleide cijfers worden dan ook niet getoond." if policy.active else ""))

# ------------------------------------------------------------------ map
st.subheader("Kaart")
c1, c2 = st.columns([1, 2])
ui._seed(ui.W_LEVEL, state.level)
ui._seed(ui.W_MEASURE, state.measure)
c1.radio("Indeling", list(F.LEVELS), format_func=F.LEVELS.get, key=ui.W_LEVEL, horizontal=True,
         on_change=_on_view_change)
c2.radio("Kleur naar", list(F.MEASURES), format_func=F.MEASURES.get, key=ui.W_MEASURE, horizontal=True,
         on_change=_on_view_change)
state = ui.get_state()
level, measure = state.level, state.measure
calls = shared.dashboard_queries(state, period, fresh)
map_table = ui.query(*calls["map"])
map_table = overview.hide(map_table, overview.area_hidden(masks, level), city_hidden=masks["n"][2]) \
    if policy.active else map_table
geo = ui.query(*calls["geo"])
selected = state.wijk if level == "wijk" else state.stadsdeel
# with a stadsdeel chosen, the wijken map zooms in on it, names its wijken and fades the rest
focus = set(map_table.loc[map_table["stadsdeel"] == valid.stadsdelen[state.stadsdeel], "code"]) \
    if level == "wijk" and state.stadsdeel else None
fc, brk = maps.features(geo, map_table, measure, selected, prev_label, focus, hidden_label=HID)
view = maps.view_for(geo, focus)
mcol, lcol = st.columns([3, 1])
with mcol:
    key = ui.map_key("kaart", state)
    st.vega_lite_chart(maps.chart(fc, maps.labels(geo, view, focus), level, focus), key=key,
                       on_select=functools.partial(_on_map_select, key), selection_mode=[maps.SELECT_PARAM])
with lcol:
    title = {"aantal": "Aantal incidenten", "per1000": "Incidenten per 1.000 inwoners",
             "index": "Index per 1.000 inwoners (stad = 100)"}[measure]
    any_hidden = bool(map_table.get("onderdrukt", pd.Series(dtype=bool)).any())
    st.html(maps.legend_html(maps.legend(brk, measure, HID if any_hidden else None), title))
    st.caption(f"{F.LEVELS[level]}, {fmt.period(period.start, period.end)}. Ga met de muis over een gebied voor de "
               "cijfers; **klik op een gebied** om de pagina daarop te filteren. Dikke rand = gekozen gebied.")
    if state.stadsdeel or state.wijk:
        st.button("Toon hele stad", on_click=lambda: (ui.set_state(ui.get_state().with_area(None, None)),
                                                       ui.sync_widgets(ui.get_state())))
    st.caption(ui.ATTRIBUTION)

# ------------------------------------------------------------------ trend and time of day
t1, t2 = st.columns([3, 2])
with t1:
    st.subheader("Verloop per week")
    if policy.active and state.wijk:
        weekly = None
        st.info("Per week zijn de aantallen van één wijk bijna altijd kleiner dan "
                f"{policy.threshold} en dus afgeschermd. Kies het stadsdeel of de hele stad voor het verloop; "
                "de tegels hierboven geven de wijk over de hele periode.")
        note = ""
    elif thema:
        weekly = None
        st.info(f"Het verloop per week van één thema ({thema}) is voor uw rol niet beschikbaar: naast dat van "
                "alle thema's zou het kleine aantallen herleidbaar maken. Leeg het themafilter voor het verloop "
                "van alle thema's; de tegels en de kaart tonen het thema over de hele periode.")
        note = ""
    elif policy.active:  # 7-day blocks ending on the last day with data: they add up exactly to the tiles
        weekly = overview.model_weekly(model, area, fresh.data_end)
        ui.cached_chart(charts.trend, weekly, None, period.start, period.end, width="stretch")
        note = (f"Gearceerd: de gekozen periode. Elke punt telt 7 dagen, tot en met {fmt.date(fresh.data_end)} "
                "(de laatste dag met gegevens), zodat de weken optellen tot de tegels.")
    else:
        weekly = ui.query(*calls["weekly"])  # weeks from at most 51 weeks before the data end, whole weeks
        ui.cached_chart(charts.trend, weekly, fresh.incomplete_week, period.start, period.end, width="stretch")
        note = "Gearceerd: de gekozen periode. Weken lopen van maandag t/m zondag."
        if fresh.incomplete_week:
            note += f" {fmt.week_label(fresh.incomplete_week)} is nog niet compleet (grijze stip)."
    if weekly is not None and policy.active and weekly["n"].isna().any():
        note += f" Weken zonder punt: {HID} incidenten, niet getoond."
    if note:
        st.caption(note)
with t2:
    st.subheader("Wanneer gebeurt het?")
    if policy.active and state.wijk:
        wh = None
        st.info("Per dag en uur zijn de aantallen van één wijk te klein om te tonen. Kies het stadsdeel of de "
                "hele stad voor dit overzicht.")
    elif thema:
        wh = None
        st.info(f"Dag en tijdstip van één thema ({thema}) zijn voor uw rol niet beschikbaar (zie het verloop "
                "hiernaast). Leeg het themafilter voor dit overzicht van alle thema's.")
    elif policy.active:
        wh, no_time, no_time_hidden = overview.model_heatmap(model, area, state.preset)
    else:
        wh = ui.query(*calls["weekday_hour"])
        no_time, no_time_hidden = wh.attrs.get("zonder_tijd", 0), False
    if wh is not None:
        ui.altair_chart(charts.heatmap(wh, hidden_label=HID), width="stretch")
        extra = (f" {count_text(no_time, no_time_hidden, policy)} incidenten zonder tijdstip niet getoond."
                 if no_time else "")
        if "onderdrukt" in wh.columns and wh["onderdrukt"].any():
            extra += f" Grijze vakjes: {HID}, niet getoond."
        blocks = int(wh.attrs.get("uren", 1))
        per = "dag en uur" if blocks == 1 else f"dag en tijdvak van {blocks} uur"
        st.caption(f"Aantal incidenten per {per} in de gekozen periode, {where}.{extra}"
                   + (f" Per uur zijn de aantallen te klein om te tonen; daarom blokken van {blocks} uur." if blocks > 1 else ""))

# ------------------------------------------------------------------ table
table_level = "wijk" if state.stadsdeel or level == "wijk" else "stadsdeel"
tbl = ui.query(*calls["table"])
if policy.active:
    tbl = overview.hide(tbl, overview.area_hidden(masks, table_level), city_hidden=masks["n"][2])
area_word = "Wijk" if table_level == "wijk" else "Stadsdeel"
st.subheader(f"{'Wijken' if table_level == 'wijk' else 'Stadsdelen'}"
             + (f" in stadsdeel {valid.stadsdelen[state.stadsdeel]}" if state.stadsdeel else ""))


def _sig(row: pd.Series, which: str) -> str:
    if pd.isna(row[f"p_{which}"]):
        return "–"
    if not row[f"significant_{which}"]:
        return "nee"
    return "▲ ja, hoger" if row[f"richting_{which}"] > 0 else "▼ ja, lager"


shown = pd.DataFrame({
    area_word: tbl["naam"],
    **({"Stadsdeel": tbl["stadsdeel"]} if table_level == "wijk" and not state.stadsdeel else {}),
    "Inwoners": tbl["inwoners"],
    "Aantal": tbl["n"],  # hidden counts are <NA> here and shown as HID below
    "Per 1.000 inwoners": tbl["per_1000"].round(2).where(tbl["inwoners"] >= 100),
    "Index (stad = 100)": tbl["index"].round(0).where(tbl["inwoners"] >= 100),
    f"Aantal {prev_label}": tbl["n_vorige"],
    f"Verandering t.o.v. {prev_label} (%)": (tbl["verandering_vorige"] * 100).round(0),
    "Significant (vorige periode)": [_sig(r, "vorige") for _, r in tbl.iterrows()],
    "Aantal jaar eerder": tbl["n_jaar"],
    "Verandering t.o.v. jaar eerder (%)": (tbl["verandering_jaar"] * 100).round(0),
    "Significant (jaar eerder)": [_sig(r, "jaar") for _, r in tbl.iterrows()],
    # which counts are hidden by disclosure control (dropped again after sorting)
    **{f"__{flag}": tbl.get(flag, pd.Series(False, index=tbl.index)).astype(bool)
       for flag in overview.COUNT_COLS.values()},
}).sort_values("Aantal", ascending=False, kind="stable").reset_index(drop=True)
hidden_cells = {"Aantal": shown.pop("__onderdrukt"), f"Aantal {prev_label}": shown.pop("__onderdrukt_vorige"),
                "Aantal jaar eerder": shown.pop("__onderdrukt_jaar")}
num_fmt = {c: (lambda v, d=(2 if c.startswith("Per") else 0): fmt.number(v, d, missing=""))
           for c in shown.columns if shown[c].dtype.kind in "fiu" or str(shown[c].dtype) in ("Int64", "Float64")}
screen = shown.copy()
if policy.active:  # Streamlit draws a missing cell as its placeholder, so hidden counts become the text "<5"
    for c, mask in hidden_cells.items():
        screen[c] = [HID if h else (fmt.integer(x) if not pd.isna(x) else "–") for x, h in zip(screen[c], mask)]
        num_fmt.pop(c, None)
st.dataframe(screen.style.format(num_fmt, na_rep="–"), hide_index=True, width="stretch", placeholder="–")
st.caption("Klik op een kolomkop om te sorteren. Gebieden met minder dan 100 inwoners krijgen geen cijfer per "
           "1.000 inwoners. 'Significant' = de verandering is groter dan toeval (p < 0,05)."
           + (f" {HID}: minder dan {policy.threshold} incidenten; om personen te beschermen zijn soms ook andere "
              f"(ook grotere) aantallen als {HID} afgeschermd, zodat niets is terug te rekenen uit de totalen."
              if policy.active else ""))
csv_name = f"veiligheid_{table_level}_{period.start.isoformat()}_{period.end.isoformat()}.csv"
csv_df = shown.copy()
for c in csv_df.columns:  # the same Dutch formatting (and the same suppression) as on screen
    if c in hidden_cells:
        csv_df[c] = [HID if h else fmt.integer(x) for x, h in zip(csv_df[c], hidden_cells[c])]
    elif c in num_fmt:
        csv_df[c] = [num_fmt[c](x) if not pd.isna(x) else "–" for x in csv_df[c]]
ui.download_button("Download tabel (CSV)", ui.csv_bytes(csv_df), file_name=csv_name, mime="text/csv",
                   what=f"tabel {area_word.lower()}en, dashboards veiligheid")

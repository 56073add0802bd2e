"""Altair charts with Dutch labels, numbers and dates (plain Python, no Streamlit)."""
from __future__ import annotations

import datetime as dt
import functools

import altair as alt
import pandas as pd

from . import fmt

SERIES = ("Aantal per week", "Gemiddelde van 4 weken", "Zelfde week vorig jaar")
COLOURS = ("#4a7ab5", "#08306b", "#d08c2f")


def dutch(chart, axis: tuple[int, int] = (12, 12), legend: dict | None = None, view_stroke: bool = True):
    """The chart with Dutch numbers and dates (Altair's locale) and the font sizes of the app.

    axis: label and title font size; legend: LegendConfig properties; view_stroke=False drops the frame.
    Sets one Config, built once per combination, on the chart itself: Altair's configure_* methods copy the
    whole chart each time (a tenth of a Prioriteiten rerun, py-spy, session 9). So pass a chart built for
    this call, not one that is reused."""
    chart.config = _config(axis, tuple(sorted((legend or {}).items())), view_stroke)
    return chart


@functools.lru_cache(maxsize=32)
def _config(axis: tuple[int, int], legend: tuple, view_stroke: bool) -> alt.Config:
    extra = {"legend": alt.LegendConfig(**dict(legend))} if legend else {}
    if not view_stroke:
        extra["view"] = alt.ViewConfig(stroke=None)
    return alt.Config(locale=fmt.altair_locale(), axis=alt.AxisConfig(labelFontSize=axis[0], titleFontSize=axis[1]),
                      **extra)


TOP_LEGEND = {"labelFontSize": 12, "orient": "top", "title": None}


def trend(weekly: pd.DataFrame, incomplete_week: str | None, period_start: dt.date, period_end: dt.date,
          height: int = 320) -> alt.Chart:
    """Weekly counts, the 4-week moving average and last year's line; the incomplete week greyed out."""
    df = weekly.copy()
    df["week"] = pd.to_datetime(df["week"])
    if "weeklabel" not in df.columns:  # (7-day blocks that are not ISO weeks bring their own labels)
        df["weeklabel"] = [f"{fmt.week_label(w)}, vanaf {fmt.date(d.date())}" for w, d in zip(df["week_id"], df["week"])]
    df["onvolledig"] = df["week_id"] == incomplete_week
    full = df[~df["onvolledig"]]
    long = pd.concat([
        pd.DataFrame({"week": full["week"], "weeklabel": full["weeklabel"], "reeks": SERIES[0], "waarde": full["n"]}),
        pd.DataFrame({"week": full["week"], "weeklabel": full["weeklabel"], "reeks": SERIES[1],
                      "waarde": full["gemiddelde_4w"].round(1)}),
        pd.DataFrame({"week": df["week"], "weeklabel": df["weeklabel"], "reeks": SERIES[2], "waarde": df["n_vorig_jaar"]}),
    ]).dropna(subset=["waarde"])
    colour = alt.Color("reeks:N", scale=alt.Scale(domain=list(SERIES), range=list(COLOURS)), title=None)
    x = alt.X("week:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=8))
    # whole numbers only: small counts would otherwise label the axis "0, 1, 1, 2, 2"
    y = alt.Y("waarde:Q", title="incidenten per week",
              axis=alt.Axis(format=",.0f", tickMinStep=1, labelExpr="datum.value % 1 ? '' : datum.label"))
    tip = [alt.Tooltip("weeklabel:N", title="Week"), alt.Tooltip("reeks:N", title="Reeks"),
           alt.Tooltip("waarde:Q", title="Aantal", format=",.1f")]
    band = alt.Chart(pd.DataFrame({"van": [pd.Timestamp(period_start)], "tot": [pd.Timestamp(period_end)],
                                   "t": ["gekozen periode"]})).mark_rect(color="#e8eef7", opacity=0.8).encode(
        x="van:T", x2="tot:T", tooltip=[alt.Tooltip("t:N", title="Gearceerd")])
    lines = alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=x, y=y, color=colour,
        strokeDash=alt.StrokeDash("reeks:N", scale=alt.Scale(domain=list(SERIES), range=[[1, 0], [1, 0], [5, 4]]),
                                  legend=None),
        strokeWidth=alt.StrokeWidth("reeks:N", scale=alt.Scale(domain=list(SERIES), range=[1.5, 3, 1.5]), legend=None),
        tooltip=tip)
    layers = [band, lines]
    inc = df[df["onvolledig"] & df["n"].notna()]
    if not inc.empty:
        inc = inc.assign(tekst="onvolledige week", label=[f"{fmt.integer(n)} (onvolledig)" for n in inc["n"]])
        layers.append(alt.Chart(inc).mark_point(color="#9a9a9a", size=70, filled=True).encode(
            x="week:T", y="n:Q",
            tooltip=[alt.Tooltip("weeklabel:N", title="Week"), alt.Tooltip("n:Q", title="Aantal tot nu toe"),
                     alt.Tooltip("tekst:N", title="Let op")]))
        layers.append(alt.Chart(inc).mark_text(color="#777", dy=-12, fontSize=11).encode(
            x="week:T", y="n:Q", text="label:N"))
    return dutch(alt.layer(*layers).properties(height=height), legend=TOP_LEGEND)


def heatmap(df: pd.DataFrame, height: int = 260, hidden_label: str = "<5") -> alt.Chart:
    """Weekday x hour counts (dag 1 = maandag); cells with `onderdrukt` are grey with "<5" in the tooltip.

    df.attrs["uren"] (default 1): hours per cell; `uur` is then the first hour of a block (0, 4, 8, ...)."""
    hours = int(df.attrs.get("uren", 1))
    d = df.copy()
    d["dagnaam"] = [fmt.WEEKDAYS[i - 1] for i in d["dag"]]
    d["uurlabel"] = [f"{u:02d}:00–{u + hours - 1:02d}:59" for u in d["uur"]]
    if hours > 1:  # the axis names the blocks: 00–04, 04–08, ...
        d["uur"] = [f"{u:02d}–{(u + hours) % 24:02d}" if u + hours < 24 else f"{u:02d}–24" for u in d["uur"]]
    x_title = "uur van de dag" if hours == 1 else f"tijdvak van de dag (blokken van {hours} uur)"
    hidden = d["onderdrukt"].astype(bool) if "onderdrukt" in d.columns else pd.Series(False, index=d.index)
    h = d[hidden].drop(columns=["n"]).assign(aantal=hidden_label)
    d = d[~hidden].assign(n=lambda x: x["n"].astype("int64"))
    chart = alt.Chart(d).mark_rect(stroke="white", strokeWidth=1).encode(
        x=alt.X("uur:O", title=x_title, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("dagnaam:N", title=None, sort=list(fmt.WEEKDAYS)),
        color=alt.Color("n:Q", title="aantal", scale=alt.Scale(scheme="orangered", domainMin=0,
                                                               domainMax=max(1, int(d["n"].max() if len(d) else 0))),
                        legend=alt.Legend(orient="right", format=",.0f", tickMinStep=1)),
        tooltip=[alt.Tooltip("dagnaam:N", title="Dag"), alt.Tooltip("uurlabel:N", title="Tijd"),
                 alt.Tooltip("n:Q", title="Aantal", format=",.0f")],
    ).properties(height=height)
    if not h.empty:
        grey = alt.Chart(h).mark_rect(stroke="white", strokeWidth=1, color="#8c8ca5", opacity=0.55).encode(
            x=alt.X("uur:O", title=x_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("dagnaam:N", title=None, sort=list(fmt.WEEKDAYS)),
            tooltip=[alt.Tooltip("dagnaam:N", title="Dag"), alt.Tooltip("uurlabel:N", title="Tijd"),
                     alt.Tooltip("aantal:N", title="Aantal")])
        chart = alt.layer(chart, grey).properties(height=height)
    return dutch(chart)


# ------------------------------------------------------------------ Cybercrime (built once per content: ui.cached_chart)
CYBER_LEGEND = {**TOP_LEGEND, "labelLimit": 360}
RISK_OUTCOMES = ("vaker slachtoffer dan gemiddeld", "verschil kan toeval zijn", "minder vaak dan gemiddeld")


def cyber_risk(data: pd.DataFrame, order: tuple[str, ...], x_domain: tuple[float, float]) -> alt.LayerChart:
    """Relative risk per group: a dot with its 95% interval on a log scale, and the average (1) dashed.

    data: groep, indeling, x_rr, x_rr_lo, x_rr_hi (clipped at the left edge), uitkomst (RISK_OUTCOMES), and
    the tooltip texts tt_n, tt_rate, tt_rr, tt_bi."""
    frames, structure = cyber_risk_display(data, order, x_domain)
    return cyber_risk_layers(*frames, **structure)


def cyber_risk_display(data: pd.DataFrame, order: tuple[str, ...], x_domain: tuple[float, float]):
    """cyber_risk's frame and structure, for ui.template_chart with cyber_risk_layers."""
    # the height includes legend and axes (Streamlit fits the chart into it): about 32 px per group
    return (data,), {"order": list(order), "x_lo": float(x_domain[0]), "x_hi": float(x_domain[1]),
                     "height": 110 + 32 * len(data)}


def cyber_risk_layers(data: pd.DataFrame, order: list[str], x_lo: float, x_hi: float, height: int) -> alt.LayerChart:
    colour = alt.Color("uitkomst:N", scale=alt.Scale(domain=list(RISK_OUTCOMES), range=["#c0392b", "#8c8c8c", "#2c7bb6"]))
    y = alt.Y("groep:N", sort=list(order), title=None, axis=alt.Axis(labelLimit=220))
    x_scale = alt.Scale(type="log", domain=[x_lo, x_hi], nice=False)
    tip = [alt.Tooltip("groep:N", title="Groep"), alt.Tooltip("indeling:N", title="Indeling"),
           alt.Tooltip("tt_n:N", title="Slachtoffers"), alt.Tooltip("tt_rate:N", title="Per 1.000 inwoners"),
           alt.Tooltip("tt_rr:N", title="Relatief risico"), alt.Tooltip("tt_bi:N", title="95%-interval"),
           alt.Tooltip("uitkomst:N", title="Uitkomst")]
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("x_rr_lo:Q", scale=x_scale, title="relatief risico (1 = gemiddelde van het gebied, logaritmische schaal)",
                axis=alt.Axis(format=",.2~f", values=[0.05, 0.1, 0.2, 0.5, 1, 1.5, 2, 3, 5, 10])),
        x2="x_rr_hi:Q", y=y, color=colour, tooltip=tip)
    dots = base.mark_circle(size=140, opacity=1).encode(x="x_rr:Q", y=y, color=colour, tooltip=tip)
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="x:Q")
    return dutch(alt.layer(bars, dots, one).properties(height=height), legend=CYBER_LEGEND)


def cyber_delict_rates(data: pd.DataFrame) -> alt.Chart:
    """Victims per 1,000 inhabitants per delict (data: label, per_1000, tt)."""
    bar = alt.Chart(data).mark_bar(color="#4a7ab5").encode(
        x=alt.X("per_1000:Q", title="slachtoffers per 1.000 inwoners", axis=alt.Axis(format=",.2f")),
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200)),
        tooltip=[alt.Tooltip("label:N", title="Delict"), alt.Tooltip("tt:N", title="Per 1.000 inwoners")])
    return dutch(bar.properties(height=30 * len(data) + 70), legend=CYBER_LEGEND)


CYBER_FULL = ("volledig", "deels (data begint of eindigt erin)")


def cyber_trend(shown: pd.DataFrame, hidden: pd.DataFrame, buckets: tuple[str, ...], soort: str) -> alt.LayerChart:
    """Victims per quarter or year: bars (light where the data covers only part of the bucket) with their count
    on top; hidden counts as their label on the zero line.

    shown: bucket, n, tekst, volledigheid (CYBER_FULL); hidden: bucket, tekst, volledigheid, y0."""
    frames, structure = cyber_trend_display(shown, hidden, buckets, soort)
    return cyber_trend_layers(*frames, **structure)


def cyber_trend_display(shown: pd.DataFrame, hidden: pd.DataFrame, buckets: tuple[str, ...], soort: str):
    """cyber_trend's frames (without `hidden` when nothing is hidden) and structure, for ui.template_chart."""
    return ((shown,) if hidden.empty else (shown, hidden)), {"buckets": list(buckets), "title": soort.capitalize()}


def cyber_trend_layers(shown: pd.DataFrame, hidden: pd.DataFrame | None = None, *, buckets: list[str],
                       title: str) -> alt.LayerChart:
    x = alt.X("bucket:N", sort=list(buckets), title=None, axis=alt.Axis(labelAngle=0))
    tip = [alt.Tooltip("bucket:N", title=title), alt.Tooltip("tekst:N", title="Slachtoffers"),
           alt.Tooltip("volledigheid:N", title="Periode")]
    bars = alt.Chart(shown).mark_bar().encode(
        x=x, y=alt.Y("n:Q", title="slachtoffers", axis=alt.Axis(format=",.0f")),
        color=alt.Color("volledigheid:N", scale=alt.Scale(domain=list(CYBER_FULL), range=["#4a7ab5", "#b9cde5"])),
        tooltip=tip)
    layers = [bars, alt.Chart(shown).mark_text(dy=-8, fontSize=11, color="#333").encode(x=x, y="n:Q", text="tekst:N")]
    if hidden is not None:
        layers.append(alt.Chart(hidden).mark_text(dy=-8, fontSize=11, color="#666").encode(
            x=x, y=alt.Y("y0:Q"), text="tekst:N", tooltip=tip))
    return dutch(alt.layer(*layers).properties(height=300), legend=CYBER_LEGEND)


# ------------------------------------------------------------------ Hennepteelt (ui.template_chart)
HENNEP_SERIES = ("Signalen", "Ruimingen")


def hennep_funnel_display(steps: pd.DataFrame):
    """The chain's frame (stap, volgorde, n, tekst; n missing where hidden) and the order of its steps."""
    return (steps,), {"order": list(steps["stap"])}


def hennep_funnel_layers(steps: pd.DataFrame, *, order: list[str]) -> alt.LayerChart:
    y = alt.Y("stap:N", sort=order, title=None, axis=alt.Axis(labelFontSize=13, labelLimit=200))
    bars = alt.Chart(steps).mark_bar(color="#2f6f4f").encode(
        y=y, x=alt.X("n:Q", title="aantal zaken", axis=alt.Axis(format=",.0f", tickMinStep=1)),
        tooltip=[alt.Tooltip("stap:N", title="Stap"), alt.Tooltip("tekst:N", title="Zaken")])
    labels = alt.Chart(steps).mark_text(align="left", dx=4, fontSize=12).encode(y=y, x=alt.X("n:Q"), text="tekst:N")
    zero = alt.Chart(steps).mark_text(align="left", dx=4, fontSize=12, color="#555").encode(
        y=y, x=alt.datum(0), text="tekst:N").transform_filter("!isValid(datum.n)")
    return dutch(alt.layer(bars, labels, zero).properties(height=200), legend=TOP_LEGEND)


def hennep_monthly_display(months: pd.DataFrame, long: pd.DataFrame):
    """The monthly chart's frames: the months of the period (shaded), the bars (shown counts) and, when some are
    hidden, their markers on the zero line; and the order of the month labels."""
    shade = months.loc[months["in_periode"], ["label"]].assign(t="gekozen periode").reset_index(drop=True)
    bars = long.loc[long["n"].notna(), ["label", "reeks", "n", "tekst", "onvolledig"]].reset_index(drop=True)
    marked = long.loc[long["verborgen"], ["label", "reeks", "tekst", "nul"]].reset_index(drop=True)
    frames = (shade, bars) if marked.empty else (shade, bars, marked)
    return frames, {"order": list(months["label"])}


def hennep_monthly_layers(shade: pd.DataFrame, bars: pd.DataFrame, marked: pd.DataFrame | None = None, *,
                          order: list[str]) -> alt.LayerChart:
    colour = alt.Color("reeks:N", scale=alt.Scale(domain=list(HENNEP_SERIES), range=["#4a7ab5", "#2f6f4f"]))
    x = alt.X("label:N", title=None, sort=order, axis=alt.Axis(labelAngle=-40))
    offset = alt.XOffset("reeks:N", sort=list(HENNEP_SERIES))
    tip = [alt.Tooltip("label:N", title="Maand"), alt.Tooltip("reeks:N", title="Reeks"),
           alt.Tooltip("tekst:N", title="Aantal")]
    layers = [
        alt.Chart(shade).mark_rect(color="#e8eef7", opacity=0.9).encode(  # full height
            x=x, tooltip=[alt.Tooltip("t:N", title="Gearceerd")]),
        alt.Chart(bars).mark_bar().encode(
            x=x, xOffset=offset,
            y=alt.Y("n:Q", title="zaken per maand", axis=alt.Axis(format=",.0f", tickMinStep=1)), color=colour,
            opacity=alt.condition("datum.onvolledig", alt.value(0.45), alt.value(1.0)), tooltip=tip)]
    if marked is not None:
        layers.append(alt.Chart(marked).mark_point(shape="triangle-up", size=45, filled=True).encode(
            x=x, xOffset=offset, y=alt.Y("nul:Q"), color=colour, tooltip=tip))
    return dutch(alt.layer(*layers).properties(height=260), legend=TOP_LEGEND)

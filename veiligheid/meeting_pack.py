"""The meeting pack: one PDF (and a ZIP of CSV tables) for the Veiliger Wijkteam's team meeting.

Plain Python, no Streamlit. Built server-side from the same figures the page shows (the page
fills a `Pack` with figures that already passed veiligheid.disclosure), never a browser print:

- `area_map_chart`: an Altair choropleth of the areas (suppressed areas grey and hatched,
  distinct from zero; names as labels; Dutch legend), rendered offline by vl-convert.
- `build_pdf`: A4 PDF with fpdf2: cover (title, area, period, data freshness, viewer and the
  disclosure rules of the viewer's role), the map, "Prioriteiten" (table and explanation),
  "Signalen", "Trends" (charts) and further tables; a footer on every page with page numbers,
  the generation time, the data sources and, for demo data, DEMODATA.
- `csv_zip`: the tables as ';'-separated UTF-8-with-BOM CSV files in one ZIP (Dutch Excel).

The fonts (DejaVu Sans Condensed, see reference/fonts/LICENSE-DejaVu.txt) are bundled, so Dutch
characters (ë, é, €, –, ’) print on any machine. Charts are drawn by vl-convert with its own
bundled font (Liberation Sans), also without system fonts.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import io
import json
import math
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from . import fmt, maps
from .config import ATTRIBUTION

FONT_DIR = Path(__file__).resolve().parent / "reference" / "fonts"
FONT = "DejaVu"
NO_SIGNALS = ("Geen signalen: in geen enkele combinatie van wijk en thema wijken de recente aantallen meer af "
              "van de eigen voorgeschiedenis dan op grond van toeval te verwachten is.")

# page geometry (mm)
MARGIN = 15.0
FOOTER_H = 16.0
CONTENT_W = 210.0 - 2 * MARGIN
CHART_PX = 720  # chart width in CSS pixels for the full content width (12 px text ~ 8.5 pt on paper)

# map colours
SUPPRESSED_FILL = "#a0a0a0"
HATCH_STROKE = "#4d4d4d"
NO_DATA_FILL = "#d9d9d9"  # darker than the near-white middle class of the index
HATCH_SYMBOL = "M-1,-1H1V1H-1Z M-1,0L0,-1 M-1,1L1,-1 M0,1L1,0"  # a square with diagonal lines (legend)
INK = (33, 33, 33)
MUTED = (100, 100, 100)
ACCENT = (8, 48, 107)
DEMO_RED = (190, 30, 45)


@dataclass
class Pack:
    """Everything the PDF shows, already formatted and already protected by veiligheid.disclosure."""
    title: str  # "Teamoverleg Veiliger Wijkteam Dukenburg"
    area: str  # "stadsdeel Dukenburg"
    period: str  # "1-7-2026 t/m 30-9-2026 (3e kwartaal 2026), vergeleken met ..."
    freshness: str  # "Data t/m week 47 2026 (t/m 22-11-2026); laatste inlading 23-11-2026 06:10"
    viewer: str  # "A. Jansen (wijkteam)"
    disclosure: str  # disclosure.Policy.describe() of the viewer
    map_chart: alt.Chart | None  # area_map_chart(...), or None
    priority_table: pd.DataFrame  # display strings (suppressed cells already "<5")
    explanation: list[str]  # how the score works, why number 1 is number 1
    signals: list[str]  # one Dutch sentence per signal
    trend_charts: list[tuple[str, alt.Chart]]  # (title, chart)
    tables: dict[str, pd.DataFrame]  # further tables, in this order
    generated_at: dt.datetime
    demo: bool = False  # DEMODATA on every page
    signals_note: str = ""  # e.g. how many combinations were tested, how many signals were withheld
    map_note: str = ""  # caption under the map (what the colours are, what grey means)


# ------------------------------------------------------------------ charts
def _integer_ticks(spec) -> None:
    """Axes that print whole numbers (format ',.0f') label only whole-number ticks: no '0, 1, 1, 2, 2' on
    small counts (Vega's tickMinStep alone does not prevent half steps on a 0-2 domain)."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("x", "y") and isinstance(value, dict) and isinstance(value.get("axis"), dict):
                axis = value["axis"]
                if str(axis.get("format", "")).endswith(".0f"):
                    axis.setdefault("tickMinStep", 1)
                    axis.setdefault("labelExpr", "datum.value % 1 ? '' : datum.label")
            else:
                _integer_ticks(value)
    elif isinstance(spec, list):
        for item in spec:
            _integer_ticks(item)


def chart_png(chart: alt.TopLevelMixin, width_px: int = CHART_PX, scale: float = 2.0) -> bytes:
    """PNG of an Altair chart (vl-convert, offline). Single and layered charts are laid out `width_px` wide."""
    import vl_convert as vlc

    spec = chart.to_dict()
    _integer_ticks(spec)
    if not any(k in spec for k in ("hconcat", "vconcat", "concat", "facet", "repeat")):
        if spec.get("width") in (None, "container"):
            spec["width"] = width_px
        if spec.get("height") == "container":
            spec["height"] = 300
        spec["autosize"] = {"type": "fit", "contains": "padding"}
        spec.setdefault("padding", {"left": 5, "top": 5, "right": 40, "bottom": 5})  # room for end labels
    spec.setdefault("background", "white")
    return vlc.vegalite_to_png(json.dumps(spec), scale=scale)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from the PNG header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("geen PNG")
    return struct.unpack(">II", png[16:24])


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _rings(geom: dict):
    if geom["type"] == "Polygon":
        yield from geom["coordinates"]
    elif geom["type"] == "MultiPolygon":
        for poly in geom["coordinates"]:
            yield from poly


def _label_positions(features: list[dict], width: int, height: int, size: float) -> set[str]:
    """Codes whose name fits without overlapping a name placed before it (bigger areas first).

    Mimics Vega's fit of a Mercator projection into width x height to know where the labels land.
    """
    pts = [_mercator(x, y) for f in features for ring in _rings(f["geometry"]) for x, y in ring]
    if not pts:
        return set()
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    dx, dy = max(max(xs) - min(xs), 1e-12), max(max(ys) - min(ys), 1e-12)
    k = min(width / dx, height / dy)
    ox, oy = (width - dx * k) / 2, (height - dy * k) / 2  # the fitted map is centred

    def extent(f):
        r = [_mercator(x, y) for ring in _rings(f["geometry"]) for x, y in ring]
        return (max(p[0] for p in r) - min(p[0] for p in r)) * (max(p[1] for p in r) - min(p[1] for p in r))

    placed: list[tuple[float, float, float, float]] = []
    out = set()
    for f in sorted(features, key=extent, reverse=True):
        if f.get("label_lon") is None:
            continue
        mx, my = _mercator(f["label_lon"], f["label_lat"])
        x, y = ox + (mx - min(xs)) * k, oy + (max(ys) - my) * k
        w, h = len(str(f["naam"])) * size * 0.58 + 6, size + 4
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        if box[0] < 0 or box[2] > width or box[1] < 0 or box[3] > height:
            continue  # would stick out of the map
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue
        placed.append(box)
        out.add(f["code"])
    return out


def _clockwise(geometry: dict) -> dict:
    """The geometry with clockwise exterior rings: d3-geo (Vega) reads counter-clockwise rings as
    "the whole globe except this area", which fills the map (GeoJSON RFC 7946 order is the reverse)."""
    from shapely.geometry import MultiPolygon, mapping, shape
    from shapely.geometry.polygon import orient

    g = shape(geometry)
    if g.geom_type == "Polygon":
        g = orient(g, sign=-1.0)
    elif g.geom_type == "MultiPolygon":
        g = MultiPolygon([orient(p, sign=-1.0) for p in g.geoms])
    return json.loads(json.dumps(mapping(g)))


def _hatch(geometry: dict, spacing: float) -> dict | None:
    """Diagonal lines (45 degrees on the map) clipped to a polygon, as a GeoJSON geometry."""
    from shapely.geometry import LineString, MultiLineString, shape

    poly = shape(geometry)
    if poly.is_empty:
        return None
    x0, y0, x1, y1 = poly.bounds
    c = math.cos(math.radians((y0 + y1) / 2))  # a degree of longitude is shorter than one of latitude
    dy = spacing
    dx = spacing / c
    lines = []
    span = (y1 - y0) / dy + 1
    k = -span
    while x0 + k * dx <= x1:
        # the line through (x0 + k dx, y0) going up-right at 45 degrees on the map
        start = (x0 + k * dx, y0)
        end = (start[0] + (y1 - y0) / c + dx, y1 + dy)
        lines.append(LineString([start, end]))
        k += 1
    clipped = MultiLineString(lines).intersection(poly)
    if clipped.is_empty:
        return None
    return json.loads(json.dumps(clipped.__geo_interface__))


def _classes(values: pd.Series, value_col: str) -> tuple[list[float], list[str], list[str], int]:
    """Class breaks, labels and colours for the values (index: fixed breaks around 100)."""
    measure = "index" if value_col == "index" else "aantal"
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:  # nothing to colour (all suppressed or without a value): no classes in the legend
        return [], [], [], 0
    integral = bool(len(v)) and bool(np.all(np.isclose(v, np.round(v))))
    dec = 0 if measure == "index" or integral else 1
    brk = maps.breaks(v, measure)
    positive = v[v > 0]
    if measure == "aantal" and 0 < len(positive) < 10:  # few areas (a stadsdeel): three classes, not five
        brk = sorted({b for b in (maps._nice(float(q)) for q in np.quantile(positive, [1 / 3, 2 / 3])) if b > 0})
    items = maps.legend(brk, measure)
    if measure != "aantal":
        items = items[:-1]  # the no-data entry is added below, for every measure
    labels = [lab for _, lab in items]
    if measure == "aantal" and not brk and (v == 0).all():
        labels = ["0"]
    if measure == "aantal" and dec == 1:  # legend() formats counts without decimals
        edges = [None, *brk, None]
        labels = []
        for i in range(len(items)):
            lo, hi = edges[i], edges[i + 1]
            labels.append("alle gebieden" if lo is None and hi is None else
                          f"minder dan {fmt.number(hi, 1)}" if lo is None else
                          f"{fmt.number(lo, 1)} of meer" if hi is None else
                          f"{fmt.number(lo, 1)} tot {fmt.number(hi, 1)}")
    if measure == "index":
        palette = [rgb for rgb, _ in items]
    else:  # spread over the whole scale, the lowest class (with zero) always the lightest colour
        picks = np.round(np.linspace(0, len(maps.SEQUENTIAL) - 1, len(items))).astype(int) if len(items) > 1 else [0]
        palette = [maps.SEQUENTIAL[i] for i in picks]
    colours = ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in palette]
    return brk, labels, colours, dec


def area_map_chart(features: list[dict], values: pd.DataFrame, value_col: str, title: str,
                   suppressed_col: str | None = None, *, width: int = CHART_PX, height: int = 520,
                   suppressed_label: str = "onderdrukt", label_size: int = 12) -> alt.Chart:
    """A choropleth of the areas in `features` (as from queries.area_geojson) for `values[value_col]`.

    values: a table with column `code` (and value_col; suppressed_col a bool column: the figure of that
    area is suppressed; optional `inwoners`). Suppressed areas are grey and hatched ("onderdrukt"),
    areas without a value light grey ("geen gegevens"), zero falls in the lowest (lightest) class:
    three different looks. As on the screen map (veiligheid.maps): quantile classes (three when there
    are fewer than 10 areas), fixed index classes around 100 for value_col "index", and no colour for a
    rate of an area with fewer than 100 inhabitants. Area names are drawn where they fit without
    overlapping. Self-contained (inline data, no URLs): renders offline.
    """
    t = values.set_index("code") if "code" in values else values
    shown = pd.to_numeric(t[value_col], errors="coerce") if value_col in t else pd.Series(dtype="float64")
    rate = value_col not in ("n", "aantal")
    if rate and "inwoners" in t:  # rates of (nearly) empty areas are noise
        shown = shown.where(pd.to_numeric(t["inwoners"], errors="coerce").fillna(0) >= 100)
    hidden = t[suppressed_col].astype(bool) if suppressed_col and suppressed_col in t else pd.Series(False, index=t.index)
    visible = shown[~hidden.reindex(shown.index).fillna(False)]
    brk, labels, colours, dec = _classes(visible, value_col)
    none_label = "geen cijfer (geen of bijna geen inwoners)" if rate and "inwoners" in t else "geen gegevens"

    feats, hatch, lines = [], [], []
    lats = [y for f in features for ring in _rings(f["geometry"]) for _, y in ring]
    spacing = (max(lats) - min(lats)) / 70 if lats else 0.001
    any_hidden = any_none = False
    for f in features:
        code = f["code"]
        sup = bool(hidden.get(code, False))
        val = shown.get(code, math.nan)
        if sup:
            cls, text = suppressed_label, suppressed_label
            any_hidden = True
            h = _hatch(f["geometry"], spacing)
            if h:
                hatch.append({"type": "Feature", "properties": {}, "geometry": h})
        elif val is None or pd.isna(val):
            cls, text = none_label, none_label
            any_none = True
        else:
            i = int(np.searchsorted(brk, float(val), side="right"))
            cls = labels[min(i, len(labels) - 1)]
            text = fmt.number(val, dec)
        props = {"code": code, "naam": f["naam"], "klasse": cls, "waarde": text}
        feats.append({"type": "Feature", "properties": props, "geometry": _clockwise(f["geometry"])})
    # the legend takes its share of the width: place the names for the map that is left
    longest = max([len(title) * 1.1, *(len(x) for x in [*labels, none_label, suppressed_label])])
    legend_w = longest * 13 * 0.56 + 60
    fits = _label_positions(features, max(width - legend_w, width / 3), height, label_size)
    for f in features:
        if f["code"] in fits:
            lines.append({"naam": f["naam"], "lon": f["label_lon"], "lat": f["label_lat"]})
    domain, rng = list(labels), list(colours)
    if any_none:
        domain.append(none_label)
        rng.append(NO_DATA_FILL)
    anchor = {"lon": features[0]["label_lon"], "lat": features[0]["label_lat"]} if features else {"lon": 0, "lat": 0}

    areas = alt.Chart(alt.Data(values=feats)).mark_geoshape(stroke="#333333", strokeWidth=0.8).encode(
        color=alt.Color("properties.klasse:N", scale=alt.Scale(domain=[*domain, suppressed_label],
                                                               range=[*rng, SUPPRESSED_FILL]), legend=None),
        tooltip=[alt.Tooltip("properties.naam:N", title="Gebied"),
                 alt.Tooltip("properties.waarde:N", title="Waarde")])
    layers = [areas]
    if hatch:
        layers.append(alt.Chart(alt.Data(values=hatch)).mark_geoshape(
            filled=False, stroke=HATCH_STROKE, strokeWidth=0.9))
    # the legends: invisible points at one label position carry the colours (and the hatched square)
    common = dict(orient="right", symbolOpacity=1, symbolSize=240, symbolStrokeColor="#333333", symbolStrokeWidth=0.8,
                  labelFontSize=13, titleFontSize=13, labelLimit=280, titleLimit=280)
    layers.append(alt.Chart(alt.Data(values=[{"klasse": d, **anchor} for d in domain])).mark_point(
        opacity=0, filled=True, size=1).encode(
        longitude="lon:Q", latitude="lat:Q",
        color=alt.Color("klasse:N", scale=alt.Scale(domain=domain, range=rng), title=title,
                        legend=alt.Legend(symbolType="square", **common))))
    if any_hidden:
        layers.append(alt.Chart(alt.Data(values=[{"status": suppressed_label, **anchor}])).mark_point(
            opacity=0, filled=True, size=1).encode(
            longitude="lon:Q", latitude="lat:Q",
            color=alt.Color("status:N", scale=alt.Scale(domain=[suppressed_label], range=[SUPPRESSED_FILL]), title=None,
                            legend=alt.Legend(symbolType=HATCH_SYMBOL, **{**common, "symbolStrokeColor": HATCH_STROKE}))))
    if lines:
        text = alt.Chart(alt.Data(values=lines))
        enc = dict(longitude="lon:Q", latitude="lat:Q", text="naam:N")
        layers.append(text.mark_text(fontSize=label_size, fontWeight="bold", stroke="white", strokeWidth=3.5,
                                     strokeJoin="round", opacity=0.9).encode(**enc))
        layers.append(text.mark_text(fontSize=label_size, fontWeight="bold", color="#1a1a1a").encode(**enc))
    chart = alt.layer(*layers).project(type="mercator").properties(width=width, height=height) \
        .resolve_scale(color="independent")  # the areas' colour has no legend; the points' colour has
    return chart.configure(locale=fmt.altair_locale()).configure_view(stroke=None) \
        .configure_legend(labelFontSize=12, titleFontSize=12)


# ------------------------------------------------------------------ CSV
def _slug(name: str) -> str:
    s = name.lower()
    for a, b in (("ë", "e"), ("é", "e"), ("è", "e"), ("ï", "i"), ("ö", "o"), ("ü", "u"), ("×", "x"), ("€", "eur")):
        s = s.replace(a, b)
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    return s[:60] or "tabel"


def csv_zip(tables: dict[str, pd.DataFrame]) -> bytes:
    """A ZIP with one CSV per table (';', UTF-8 with BOM, decimal comma: Dutch Excel). File names from the keys."""
    buf = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, df in tables.items():
            base = _slug(str(name))
            fname, i = f"{base}.csv", 2
            while fname in used:
                fname, i = f"{base}_{i}.csv", i + 1
            used.add(fname)
            data = df.to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig")
            info = zipfile.ZipInfo(fname, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


# ------------------------------------------------------------------ PDF
def _cell_text(v) -> str:
    if v is None or v is pd.NA:
        return "–"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return fmt.number(v, 0 if v.is_integer() else 1)
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return fmt.integer(v)
    if isinstance(v, (dt.datetime,)):
        return fmt.datetime(v)
    if isinstance(v, dt.date):
        return fmt.date(v)
    return str(v)


_NUMERIC = re.compile(r"^[<>≥≤+\-−–]?\s?[\d.,]+\s?%?$|^[–-]$|^<\d+$")


SOFT_HYPHEN = "\u00ad"
LANDSCAPE_W = 297.0 - 2 * MARGIN


@dataclass
class _Layout:
    size: float  # font size (pt)
    widths: list[float]  # column widths (mm)
    landscape: bool
    header: list[str]  # header texts (long words may carry soft hyphens)


class _Doc(FPDF):
    PAD = 1.2  # horizontal cell padding (mm), besides fpdf's cell margin

    def __init__(self, pack: Pack):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.pack = pack
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSansCondensed.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSansCondensed-Bold.ttf"))
        self.set_margins(MARGIN, MARGIN + 4, MARGIN)
        self.set_auto_page_break(True, margin=FOOTER_H + 6)
        self.set_title(pack.title)
        self.set_subject(f"{pack.area}, {pack.period}")
        self.set_creator("Dashboards Veiligheid")
        self.set_lang("nl")
        self.set_text_color(*INK)

    @property
    def cw(self) -> float:
        """Content width of the current page (portrait or landscape)."""
        return self.w - 2 * MARGIN

    # every page
    def header(self):
        self.set_y(8)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        if self.page_no() > 1:
            self.cell(self.cw - 32, 5, f"{self.pack.title} · {self.pack.area}")
        if self.pack.demo:
            self.set_xy(MARGIN + self.cw - 30, 7)
            self.set_font(FONT, "B", 10)
            self.set_text_color(*DEMO_RED)
            self.set_draw_color(*DEMO_RED)
            self.cell(30, 6, "DEMODATA", border=1, align="C")
        self.set_text_color(*INK)
        self.set_y(MARGIN + 4)

    def footer(self):
        self.set_y(-FOOTER_H)
        self.set_draw_color(190, 190, 190)
        self.line(MARGIN, self.get_y(), MARGIN + self.cw, self.get_y())
        self.set_y(-FOOTER_H + 1.5)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        demo = "DEMODATA: gegenereerde cijfers, geen echte incidenten. " if self.pack.demo else ""
        self.cell(self.cw, 4, f"{demo}{ATTRIBUTION}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(self.cw - 30, 4, f"Gemaakt op {fmt.datetime(self.pack.generated_at)} voor {self.pack.viewer} · "
                                   "vertrouwelijk: alleen voor het teamoverleg")
        self.set_font(FONT, "B", 7.5)
        self.cell(30, 4, f"pagina {self.page_no()} van {{nb}}", align="R")
        self.set_text_color(*INK)

    # building blocks
    @property
    def landscape(self) -> bool:
        return getattr(self.cur_orientation, "value", self.cur_orientation) == "L"

    def room(self) -> float:
        return self.page_break_trigger - self.get_y()

    def need(self, height: float) -> None:
        if self.room() < height:
            self.add_page(orientation="L" if self.landscape else "P")

    def portrait(self) -> None:
        """Back to portrait after a landscape table."""
        if self.landscape:
            self.add_page(orientation="P")

    def h1(self, text: str, portrait: bool = True) -> None:
        if portrait:
            self.portrait()
        self.need(40)
        if self.get_y() > MARGIN + 10:
            self.ln(4)
        self.set_font(FONT, "B", 15)
        self.set_text_color(*ACCENT)
        self.cell(self.cw, 9, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.4)
        self.line(MARGIN, self.get_y(), MARGIN + self.cw, self.get_y())
        self.set_line_width(0.2)
        self.ln(3)
        self.set_text_color(*INK)

    def h2(self, text: str, keep: float = 30) -> None:
        self.need(keep)
        self.ln(1)
        self.set_font(FONT, "B", 11.5)
        self.multi_cell(self.cw, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def para(self, text: str, size: float = 10, colour=INK) -> None:
        self.set_font(FONT, "", size)
        self.set_text_color(*colour)
        self.multi_cell(self.cw, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(1.5)

    def bullets(self, items: list[str], size: float = 10) -> None:
        self.set_font(FONT, "", size)
        lh = size * 0.5
        for item in items:
            self.need(2 * lh)
            y = self.get_y()
            self.set_xy(MARGIN + 1, y)
            self.cell(4, lh, "•")
            self.set_xy(MARGIN + 5, y)
            self.multi_cell(self.cw - 5, lh, item, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(1.2)

    def key_values(self, rows: list[tuple[str, str]]) -> None:
        for k, v in rows:
            y = self.get_y()
            self.set_font(FONT, "B", 10)
            self.set_xy(MARGIN, y)
            self.cell(34, 5.5, k)
            self.set_font(FONT, "", 10)
            self.set_xy(MARGIN + 34, y)
            self.multi_cell(self.cw - 34, 5.5, v, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.8)

    def boxed(self, title: str, text: str) -> None:
        self.set_font(FONT, "", 9.5)
        lines = self.multi_cell(self.cw - 8, 5, text, dry_run=True, output="LINES")
        h = 5 * len(lines) + 12
        self.need(h)
        y = self.get_y()
        self.set_fill_color(240, 244, 250)
        self.set_draw_color(*ACCENT)
        self.rect(MARGIN, y, self.cw, h, style="DF")
        self.set_xy(MARGIN + 4, y + 2.5)
        self.set_font(FONT, "B", 10)
        self.cell(self.cw - 8, 5.5, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_x(MARGIN + 4)
        self.set_font(FONT, "", 9.5)
        self.multi_cell(self.cw - 8, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(y + h + 3)

    def picture(self, png: bytes) -> None:
        pw, ph = png_size(png)
        width = self.cw
        h = width * ph / pw
        max_h = self.page_break_trigger - (MARGIN + 4)
        if h > max_h:  # never larger than a page
            width, h = width * max_h / h, max_h
        self.need(h + 2)
        self.image(io.BytesIO(png), x=MARGIN + (self.cw - width) / 2, y=self.get_y(), w=width, h=h)
        self.set_y(self.get_y() + h + 2)

    # tables
    def _text_w(self, text: str, size: float, bold: bool = False) -> float:
        self.set_font(FONT, "B" if bold else "", size)
        return self.get_string_width(text)

    def layout(self, header: list[str], rows: list[list[str]], size: float = 9.0, portrait_min: float = 7.5,
               min_size: float = 6.5, fallback: bool = True) -> _Layout | None:
        """Font size and column widths; no column is ever cut off.

        Tried in this order, on a portrait page (fonts from `size` down to `portrait_min`) and then on a
        landscape page (down to `min_size`): every cell on one line; headers wrapped per word; long texts
        wrapped per word (each column at least as wide as its longest word). Failing all: landscape at
        the smallest font with equal shares and long words broken with a hyphen.
        """
        extra = 2 * (self.PAD + self.c_margin) + 0.4
        cache: dict[float, tuple[list[float], ...]] = {}

        def measures(sz: float):
            """Per column: widest cell, header on one line, longest header word, longest word overall."""
            if sz not in cache:
                cells = [max((self._text_w(r[j], sz) for r in rows), default=0) for j in range(len(header))]
                heads = [self._text_w(h, sz, True) for h in header]
                head_words = [max((self._text_w(w, sz, True) for w in h.split()), default=0) for h in header]
                words = [max([hw] + [self._text_w(w, sz) for r in rows for w in r[j].split()])
                         for j, hw in enumerate(head_words)]
                cache[sz] = cells, heads, head_words, words
            return cache[sz]

        def attempt(sz: float, avail: float) -> list[float] | None:
            cells, heads, head_words, words = measures(sz)
            one_line = [max(c, h) + extra for c, h in zip(cells, heads)]
            if sum(one_line) <= avail:
                return one_line
            head_wrapped = [max(c, hw) + extra for c, hw in zip(cells, head_words)]
            if sum(head_wrapped) <= avail:
                return head_wrapped
            # long texts wrap: a column needs its longest word, and a readable minimum for running text
            floor = [max(wd + extra, min(o, 28.0)) for wd, o in zip(words, one_line)]
            if sum(floor) > avail:
                return None
            grow = [max(o - f, 0) for o, f in zip(one_line, floor)]
            rest = avail - sum(floor)
            return [f + (rest * g / sum(grow) if sum(grow) else 0) for f, g in zip(floor, grow)]

        for landscape, avail, lowest in ((False, CONTENT_W, portrait_min), (True, LANDSCAPE_W, min_size)):
            sz = size
            while sz >= lowest - 1e-9:
                w = attempt(sz, avail)
                if w is not None:
                    return _Layout(sz, w, landscape, list(header))
                sz = round(sz - 0.5, 2)
        if not fallback:
            return None
        # even single words do not fit: equal shares, long words broken with a (soft) hyphen
        sz, avail = min_size, LANDSCAPE_W
        cells, heads, _, _ = measures(sz)
        one_line = [max(c, h) + extra for c, h in zip(cells, heads)]
        floor = [min(o, avail / len(header)) for o in one_line]
        grow = [max(o - f, 0) for o, f in zip(one_line, floor)]
        rest = avail - sum(floor)
        out = [f + (rest * g / sum(grow) if sum(grow) else 0) for f, g in zip(floor, grow)]
        hdr = [_hyphenable(h, w - extra, lambda t: self._text_w(t, sz, True)) for h, w in zip(header, out)]
        return _Layout(sz, out, True, hdr)

    def column_groups(self, header: list[str], rows: list[list[str]]) -> list[list[int]]:
        """Columns per printed block: all at once when the table fits a page; otherwise blocks that fit at
        a readable font (8 pt or more), each starting with the first (key) column."""
        if self.layout(header, rows, fallback=False) is not None or len(header) < 3:
            return [list(range(len(header)))]

        def fits(cols: list[int]) -> bool:
            return self.layout([header[j] for j in cols], [[r[j] for j in cols] for r in rows],
                               portrait_min=8.0, min_size=8.0, fallback=False) is not None

        groups, rest = [], list(range(1, len(header)))
        while rest:
            group = [0, rest.pop(0)]
            while rest and fits(group + [rest[0]]):
                group.append(rest.pop(0))
            groups.append(group)
        return groups

    def table(self, df: pd.DataFrame | None, title: str | None = None, section: str | None = None) -> None:
        """A table of strings with an optional h2 title (and h1 section heading above it).

        Too wide for portrait: a landscape page; too wide for that: the columns in blocks, each with
        the first column repeated. Long tables continue on the next page with the header repeated.
        """
        if df is None or df.empty:
            if section:
                self.h1(section)
            if title:
                self.h2(title, keep=15)
            self.para("Geen gegevens voor deze tabel.", 9.5, MUTED)
            return
        header = [str(c) for c in df.columns]
        rows = [[_cell_text(v) for v in r] for r in df.itertuples(index=False, name=None)]
        groups = self.column_groups(header, rows)
        for k, cols in enumerate(groups):
            sub_title = title
            note = None
            if len(groups) > 1:
                sub_title = f"{title or 'Tabel'} (deel {k + 1} van {len(groups)})"
                note = (f"Deze tabel is te breed voor één pagina: de kolommen staan verdeeld over {len(groups)} "
                        f"delen, de kolom '{header[0]}' staat in elk deel.")
            self._block([header[j] for j in cols], [[r[j] for j in cols] for r in rows], sub_title,
                        section if k == 0 else None, note)

    def _block(self, header: list[str], rows: list[list[str]], title: str | None, section: str | None,
               note: str | None) -> None:
        lay = self.layout(header, rows)
        line_h = lay.size * 0.47
        first_rows = min(len(rows), 3) * (line_h + 2) + 2 * (line_h + 2)
        if lay.landscape and not self.landscape:
            self.add_page(orientation="L")
        elif not lay.landscape:
            self.portrait()
        if section:
            self.need(first_rows + 60)
            self.h1(section, portrait=False)
        if title:
            self.h2(title, keep=first_rows + 10)
        if note:
            self.para(note, 8.5, MUTED)
        elif lay.landscape:
            self.para("Deze tabel is breed en staat daarom op een liggende pagina.", 8.5, MUTED)
        self.need(first_rows)
        align = []
        for j in range(len(header)):
            col = [r[j].strip() for r in rows if r[j].strip()]
            numeric = sum(bool(_NUMERIC.match(c)) for c in col)
            align.append("RIGHT" if col and numeric >= 0.8 * len(col) else "LEFT")
        self.set_font(FONT, "", lay.size)
        self.set_draw_color(200, 200, 200)
        total = min(sum(lay.widths), self.cw)
        with super().table(col_widths=lay.widths, width=total, align="LEFT", text_align=tuple(align),
                           line_height=line_h, padding=(1.0, self.PAD), repeat_headings=1,
                           borders_layout="HORIZONTAL_LINES", cell_fill_mode=TableCellFillMode.ROWS,
                           cell_fill_color=(246, 247, 249),
                           headings_style=FontFace(emphasis="BOLD", fill_color=(225, 231, 240), color=INK)) as t:
            row = t.row()
            for h in lay.header:
                row.cell(h)
            for r in rows:
                row = t.row()
                for c in r:
                    row.cell(c)
        self.ln(3)


def _hyphenable(text: str, width: float, measure: Callable[[str], float]) -> str:
    """Soft hyphens inside words wider than `width`, so that the PDF breaks them with a visible hyphen."""
    out = []
    for word in text.split(" "):
        if measure(word) > width and len(word) > 4:
            word = word[:2] + "".join(SOFT_HYPHEN + ch for ch in word[2:-2]) + word[-2:]
        out.append(word)
    return " ".join(out)


def _render_all(charts: list[alt.TopLevelMixin | None], progress: Callable[[float, str], None] | None,
                start: float, end: float) -> list[bytes | None]:
    """PNG of every chart (two threads), reporting progress after each one."""
    out: list[bytes | None] = [None] * len(charts)
    todo = [(i, c) for i, c in enumerate(charts) if c is not None]
    if not todo:
        return out
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        futures = {ex.submit(chart_png, c): i for i, c in todo}
        for fut in concurrent.futures.as_completed(futures):
            out[futures[fut]] = fut.result()
            done += 1
            if progress:
                progress(start + (end - start) * done / len(todo), f"Grafieken tekenen ({done} van {len(todo)})")
    return out


def build_pdf(pack: Pack, progress: Callable[[float, str], None] | None = None) -> bytes:
    """The meeting pack as A4 PDF bytes. progress(fraction 0..1, Dutch step text) is called along the way."""
    def step(f: float, text: str) -> None:
        if progress:
            progress(min(max(f, 0.0), 1.0), text)

    step(0.02, "Kaart en grafieken tekenen")
    pngs = _render_all([pack.map_chart, *(c for _, c in pack.trend_charts)], progress, 0.05, 0.75)
    map_png, trend_pngs = pngs[0], pngs[1:]

    step(0.8, "Pagina's opmaken")
    pdf = _Doc(pack)
    pdf.add_page()
    # cover
    pdf.set_font(FONT, "B", 20)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(CONTENT_W, 9, pack.title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 13)
    pdf.set_text_color(*MUTED)
    pdf.cell(CONTENT_W, 7, pack.area[:1].upper() + pack.area[1:], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.ln(4)
    pdf.key_values([("Periode", pack.period), ("Gegevens", pack.freshness), ("Gemaakt voor", pack.viewer),
                    ("Gemaakt op", fmt.datetime(pack.generated_at))])
    pdf.ln(2)
    pdf.boxed("Regels voor het tonen van aantallen", pack.disclosure)
    contents = ["Kaart"] if map_png else []
    contents += ["Prioriteiten", "Signalen"]
    contents += ["Trends"] if pack.trend_charts else []
    contents += ["Tabellen"] if pack.tables else []
    pdf.set_font(FONT, "", 9.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(CONTENT_W, 5, "In dit overzicht: " + ", ".join(contents) + ". De tabellen staan ook als CSV in "
                   "het ZIP-bestand bij dit overzicht.", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)

    if map_png:
        pw, ph = png_size(map_png)
        h = CONTENT_W * ph / pw
        if pdf.room() < h + 20:
            pdf.add_page()
        pdf.h1("Kaart")
        pdf.picture(map_png)
        if pack.map_note:
            pdf.para(pack.map_note, 9, MUTED)

    step(0.85, "Prioriteiten en signalen")
    pdf.h1("Prioriteiten")
    pdf.table(pack.priority_table)
    if pack.explanation:
        pdf.h2("Zo komt de volgorde tot stand", keep=20)
        pdf.bullets(pack.explanation)

    pdf.h1("Signalen")
    if pack.signals:
        pdf.bullets(pack.signals)
    else:
        pdf.para(NO_SIGNALS)
    if pack.signals_note:
        pdf.para(pack.signals_note, 9, MUTED)

    if pack.trend_charts:
        pdf.h1("Trends")
        for (title, _), png in zip(pack.trend_charts, trend_pngs):
            if png is None:
                continue
            pw, ph = png_size(png)
            pdf.need(pdf.cw * ph / pw + 12)
            pdf.h2(title, keep=0)
            pdf.picture(png)
            pdf.ln(2)

    step(0.9, "Tabellen")
    if pack.tables:
        for i, (name, df) in enumerate(pack.tables.items()):
            pdf.table(df, title=str(name), section="Tabellen" if i == 0 else None)

    step(0.95, "PDF samenstellen")
    data = bytes(pdf.output())
    step(1.0, "Klaar")
    return data

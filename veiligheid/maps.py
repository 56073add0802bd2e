"""The choropleth map as plain data: classes, colours, legend, tooltip and the Vega-Lite map (`chart`).

No basemap (no tiles, no network). Area outlines and names make the map readable on its own.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
import shapely.affinity
import shapely.geometry

from . import fmt

NO_DATA = [210, 210, 210, 255]
SUPPRESSED = [140, 140, 165, 255]  # "too few to show": never confused with zero (zero has the lowest class colour)
SEQUENTIAL = ([255, 255, 204], [254, 217, 118], [253, 141, 60], [227, 26, 28], [128, 0, 38])
DIVERGING = ([33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43])
INDEX_BREAKS = (50.0, 80.0, 120.0, 200.0)
INDEX_NOTES = ("veel lager dan de stad", "lager", "rond het stadsgemiddelde", "hoger", "veel hoger dan de stad")
# the view the area names are placed for (`labels`, `view_for`): centre and Web Mercator zoom of an ~800 x 560 map
VIEW = {"latitude": 51.842, "longitude": 5.835, "zoom": 11.0, "pitch": 0, "bearing": 0}

MEASURE_COLUMN = {"aantal": "n", "per1000": "per_1000", "index": "index"}


def _nice(x: float) -> float:
    """Round to 2 significant digits (legend-friendly)."""
    if x <= 0 or not math.isfinite(x):
        return 0.0
    mag = 10 ** (math.floor(math.log10(x)) - 1)
    return round(x / mag) * mag


def breaks(values: pd.Series, measure: str) -> list[float]:
    """Upper bounds of the classes below the top one (up to 4 values, increasing)."""
    if measure == "index":
        return list(INDEX_BREAKS)
    v = pd.to_numeric(values, errors="coerce").dropna()
    v = v[v > 0]
    if v.empty:
        return []
    qs = sorted({_nice(float(q)) for q in np.quantile(v, [0.2, 0.4, 0.6, 0.8])})
    return [q for q in qs if q > 0]


def colour(value, brk: list[float], measure: str) -> list[int]:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return NO_DATA
    palette = DIVERGING if measure == "index" else SEQUENTIAL
    if measure != "index":
        palette = palette[-(len(brk) + 1):] if brk else palette[:1]
    i = int(np.searchsorted(brk, float(value), side="right"))
    return [*palette[min(i, len(palette) - 1)], 235]


def legend(brk: list[float], measure: str, hidden_label: str | None = None) -> list[tuple[list[int], str]]:
    """[(rgb, label)] from low to high, plus the no-data entry and (hidden_label) the suppressed entry."""
    dec = 0 if measure in ("aantal", "index") else 1
    palette = DIVERGING if measure == "index" else (SEQUENTIAL[-(len(brk) + 1):] if brk else SEQUENTIAL[:1])
    edges = [None, *brk, None]
    out = []
    for i, rgb in enumerate(palette):
        lo, hi = edges[i], edges[i + 1]
        if lo is None and hi is None:
            label = "alle gebieden"
        elif lo is None:
            label = f"minder dan {fmt.number(hi, dec)}"
        elif hi is None:
            label = f"{fmt.number(lo, dec)} of meer"
        else:
            label = f"{fmt.number(lo, dec)} tot {fmt.number(hi, dec)}"
        if measure == "index":
            label += f" ({INDEX_NOTES[i]})"
        out.append((list(rgb), label))
    if measure != "aantal":
        out.append((NO_DATA[:3], "geen of bijna geen inwoners"))
    if hidden_label:
        out.append((SUPPRESSED[:3], f"onderdrukt: {hidden_label.replace('<', 'minder dan ')} (niet 0)"))
    return out


def legend_html(items: list[tuple[list[int], str]], title: str) -> str:
    rows = "".join(
        f'<div style="display:flex;align-items:center;margin:2px 0">'
        f'<span style="display:inline-block;width:18px;height:14px;margin-right:8px;border:1px solid #555;'
        f'background:rgb({r},{g},{b})"></span><span>{label}</span></div>'
        for (r, g, b), label in items)
    return f'<div style="font-size:0.9rem"><div style="font-weight:600;margin-bottom:4px">{title}</div>{rows}</div>'


def _change_text(n, prev, frac, significant, richting, label, hidden_label: str = "<5",
                 n_hidden: bool = False, prev_hidden: bool = False) -> str:
    if prev_hidden or n_hidden:
        return (f"{label}: {hidden_label if prev_hidden else fmt.integer(prev)} → "
                f"{hidden_label if n_hidden else fmt.integer(n)}")
    if prev is None or pd.isna(prev):
        return f"{label}: geen vergelijking"
    pct = fmt.signed_pct(frac) if not pd.isna(frac) else ("gelijk" if n == 0 else "nieuw")
    base = f"{label}: {fmt.integer(prev)} → {fmt.integer(n)} ({pct})"
    if significant:
        return base + (" ▲ significant" if richting > 0 else " ▼ significant")
    return base + ", geen significante verandering"


def features(geo: list[dict], table: pd.DataFrame, measure: str, selected: str | None,
             prev_label: str, focus: set[str] | None = None, hidden_label: str = "<5") -> tuple[dict, list[float]]:
    """GeoJSON FeatureCollection with fill colours and tooltip texts, and the class breaks used.

    Areas outside `focus` (when given) are drawn faded. Rows with `onderdrukt` (disclosure control,
    see veiligheid.overview.hide) get the SUPPRESSED colour and "<5" instead of their figures."""
    col = MEASURE_COLUMN[measure]
    t = table.set_index("code")
    if measure != "aantal":  # rates of (nearly) empty areas are noise: no colour
        few = t["inwoners"] < 100
        t = t.assign(**{col: t[col].where(~few)})
    brk = breaks(t[col], measure)
    feats = []
    for g in geo:
        code = g["code"]
        row = t.loc[code] if code in t.index else None
        hidden = bool(row.get("onderdrukt", False)) if row is not None else False
        prev_hidden = bool(row.get("onderdrukt_vorige", False)) if row is not None else False
        n = int(row["n"]) if row is not None and not hidden else 0
        rate = row["per_1000"] if row is not None else math.nan
        idx = row["index"] if row is not None else math.nan
        val = row[col] if row is not None else math.nan
        props = {
            "code": code,
            "naam": g["naam"],
            "fill": (SUPPRESSED if hidden else colour(val, brk, measure))[:3]
            + [235 if focus is None or code in focus else 70],
            "line_width": 4 if code == selected else 1,
            "tt_aantal": f"Aantal: {hidden_label if hidden else fmt.integer(n)}",
            "tt_rate": (f"Onderdrukt: minder dan {hidden_label.lstrip('<')} (geen cijfer per 1.000)" if hidden else
                        "Per 1.000 inwoners: " + fmt.number(rate, 1)
                        + (f" (index {fmt.integer(idx)}, stad = 100)" if not pd.isna(idx) else "")
                        if row is not None and row["inwoners"] >= 100 else "Te weinig inwoners voor een cijfer per 1.000"),
            "tt_change": _change_text(n, row["n_vorige"] if row is not None else None,
                                      row["verandering_vorige"] if row is not None else math.nan,
                                      bool(row["significant_vorige"]) if row is not None else False,
                                      int(row["richting_vorige"]) if row is not None else 0, prev_label,
                                      hidden_label, hidden, prev_hidden),
        }
        feats.append({"type": "Feature", "properties": props, "geometry": g["geometry"]})
    return {"type": "FeatureCollection", "features": feats}, brk


def _project(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel position (a 512 px world at zoom 0, as deck.gl and `view_for` count zoom)."""
    world = 512 * 2 ** zoom
    return ((lon + 180) / 360 * world,
            (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2 * world)


def view_for(geo: list[dict], codes: set[str] | None = None, height: int = 560, width: int = 800) -> dict:
    """The whole city (default view), or zoomed to the areas in `codes`."""
    if not codes:
        return dict(VIEW)
    pts = [(x, y) for g in geo if g["code"] in codes for x, y in _coords(g["geometry"])]
    if not pts:
        return dict(VIEW)
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    lon_c, lat_c = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    x0, y0 = _project(min(lons), max(lats), 0)
    x1, y1 = _project(max(lons), min(lats), 0)
    zoom = min(math.log2(width * 0.75 / max(x1 - x0, 1e-9)), math.log2(height * 0.75 / max(y1 - y0, 1e-9)))
    return {**VIEW, "latitude": lat_c, "longitude": lon_c, "zoom": round(min(zoom, 12.8), 2)}


def _coords(geom: dict):
    def walk(c):
        if isinstance(c[0], (int, float)):
            yield c[0], c[1]
        else:
            for sub in c:
                yield from walk(sub)
    yield from walk(geom["coordinates"])


def labels(geo: list[dict], view: dict | None = None, only: set[str] | None = None, size: int = 11) -> list[dict]:
    """Area names that do not overlap at the given view (bigger areas first); the rest is in the tooltip."""
    view = view or VIEW
    placed: list[tuple[float, float, float, float]] = []
    out = []

    def extent(g):
        xs = [x for x, _ in _coords(g["geometry"])]
        ys = [y for _, y in _coords(g["geometry"])]
        return (max(xs) - min(xs)) * (max(ys) - min(ys))

    for g in sorted((g for g in geo if only is None or g["code"] in only), key=extent, reverse=True):
        x, y = _project(g["label_lon"], g["label_lat"], view["zoom"])
        w, h = len(g["naam"]) * size * 0.6 + 6, size + 4
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue
        placed.append(box)
        out.append({"naam": g["naam"], "lon": round(g["label_lon"], 5), "lat": round(g["label_lat"], 5)})
    return out


SELECT_PARAM = "gebied"
BESIDE = ""  # the code of a click beside the areas
AREAS = "gebieden"  # the name of the areas' layer
HOVER_PARAM = "aanwijzen"
LINE = "#282828"
FONT = "Arial, Helvetica, sans-serif"


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb[:3]))


def _tooltip(p: dict, clickable: bool) -> dict:
    """The tooltip as vega-tooltip shows an object: `title` as its heading, every other key as a row."""
    out = {"title": p["naam"]}
    for default, text in (("Aantal", p["tt_aantal"]), ("Per 1.000 inwoners", p["tt_rate"]),
                          ("Toelichting", p["tt_change"])):
        key, sep, value = text.partition(": ")
        out.update({key: value} if sep else {default: text[:1].lower() + text[1:]})
    if clickable:
        out["Klik"] = "om te selecteren"
    return out


def d3_winding(geometry: dict) -> dict:
    """The geometry with its outer rings clockwise, as d3-geo (Vega's projection) reads polygons on the sphere.

    GeoJSON (RFC 7946) and DuckDB write outer rings counter-clockwise; d3 takes such a ring for everything on
    the globe except the area, and the map becomes one filled rectangle."""
    return shapely.geometry.mapping(shapely.orient_polygons(shapely.geometry.shape(geometry), exterior_cw=True))


def chart(fc: dict, label_rows: list[dict], level: str, focus: set[str] | None = None, clickable: bool = True,
          height: int = 560, points: list[dict] | None = None) -> dict:
    """The choropleth as a Vega-Lite spec (Streamlit draws it as SVG: no WebGL).

    deck.gl draws with WebGL; on a computer without a graphics card (a virtual desktop, headless Chromium) the
    browser compiles its shaders in software, ~0.5-0.8 s per layer kind, and holds the whole page meanwhile
    (docs/performance.md, session 15). Vega draws these few dozen polygons as SVG paths in milliseconds, with
    the same runtime as the page's other charts. No pan or zoom: the view fits the city or the chosen
    stadsdeel, and the chart's full-screen button gives a bigger map.

    The projection fits the areas in `focus` (or all areas); areas outside it are clipped at the edge.
    A click on an area selects it (selection parameter SELECT_PARAM, read by `selected_code`). `points`: dots
    on top, [{lon, lat, naam, kleur (rgb), tt (tooltip: title and rows)}]."""
    feats = []
    for f in fc["features"]:
        p = f["properties"]
        feats.append({"type": "Feature", "geometry": d3_winding(f["geometry"]), "code": p["code"], "naam": p["naam"],
                      "kleur": _hex(p["fill"]), "alpha": round(p["fill"][3] / 255, 3), "lijn": p["line_width"],
                      "tt": _tooltip(p, clickable)})
    fit = [f["geometry"] for f in feats if focus is None or f["code"] in focus] or [f["geometry"] for f in feats]
    if not fit:  # no areas at all: an empty map, not an error
        return {"height": height, "width": "container", "layer": [{"data": {"values": []}, "mark": "geoshape"}]}
    x0, y0, x1, y1 = shapely.geometry.GeometryCollection([shapely.geometry.shape(g) for g in fit]).bounds
    pad = 0.08 if focus else 0.02  # a margin around the areas in view
    frame = shapely.geometry.box(x0 - (x1 - x0) * pad, y0 - (y1 - y0) * pad, x1 + (x1 - x0) * pad, y1 + (y1 - y0) * pad)
    size, weight = (13, 600) if level == "stadsdeel" else (11, 400)
    # names are not read out a second time: the area itself carries its name (aria-label)
    text = {"type": "text", "font": FONT, "fontSize": size, "fontWeight": weight, "clip": True, "aria": False}
    pos = {"longitude": {"field": "lon", "type": "quantitative"}, "latitude": {"field": "lat", "type": "quantitative"},
           "text": {"field": "naam", "type": "nominal"}}
    areas = {
        "name": AREAS,
        "data": {"values": feats},
        "mark": {"type": "geoshape", "stroke": LINE, "clip": True, "tooltip": {"expr": "datum.tt"},
                 **({"cursor": "pointer"} if clickable else {})},
        "params": [{"name": HOVER_PARAM, "select": {"type": "point", "on": "pointerover", "clear": "pointerout",
                                                    "fields": ["code"]}}]
        + ([{"name": SELECT_PARAM, "select": {"type": "point", "fields": ["code"], "on": "click", "toggle": False}}]
           if clickable else []),
        "encoding": {
            "fill": {"field": "kleur", "type": "nominal", "scale": None, "legend": None},
            "description": {"field": "naam", "type": "nominal"},  # the area's name for screen readers (aria-label)
            "fillOpacity": {"field": "alpha", "type": "quantitative", "scale": None, "legend": None},
            "strokeWidth": {"condition": {"param": HOVER_PARAM, "empty": False, "value": 3},
                            "field": "lijn", "type": "quantitative", "scale": None, "legend": None},
        },
    }
    # the chosen area's outline once more on top: each area's own outline is half covered by the neighbours
    # drawn after it (deck.gl drew all outlines above all fills)
    chosen = [{"type": "Feature", "geometry": f["geometry"], "lijn": f["lijn"]} for f in feats if f["lijn"] > 1]
    # beside the areas: an invisible sheet under them, so that a click there is a selection of its own (code
    # BESIDE). Streamlit reports a selection only when it changes; emptying the selection of a map that was just
    # drawn (nothing selected yet) would not count as a change.
    sheet = shapely.geometry.mapping(shapely.affinity.scale(frame, 4, 4))
    beside = {"data": {"values": [{"type": "Feature", "geometry": d3_winding(sheet), "code": BESIDE}]},
              "mark": {"type": "geoshape", "fill": "white", "fillOpacity": 0, "strokeWidth": 0, "clip": True,
                       "aria": False}}
    layers = [*([beside] if clickable else []), areas,
              *([{"data": {"values": chosen},
                  "mark": {"type": "geoshape", "filled": False, "stroke": LINE, "clip": True, "aria": False},
                  "encoding": {"strokeWidth": {"field": "lijn", "type": "quantitative", "scale": None,
                                               "legend": None}}}] if chosen else []),
              {"data": {"values": label_rows}, "mark": {**text, "stroke": "white", "strokeWidth": 3,
                                                       "strokeJoin": "round", "strokeOpacity": 0.9,
                                                       "fill": "white"}, "encoding": pos},
              {"data": {"values": label_rows}, "mark": {**text, "fill": "#141414"}, "encoding": pos}]
    if points:
        layers.append({"data": {"values": [{**r, "kleur": _hex(r["kleur"])} for r in points]},
                       "mark": {"type": "circle", "size": 70, "opacity": 1, "stroke": "white", "strokeWidth": 1,
                                "clip": True, "tooltip": {"expr": "datum.tt"}},
                       "encoding": {"longitude": pos["longitude"], "latitude": pos["latitude"],
                                    "fill": {"field": "kleur", "type": "nominal", "scale": None, "legend": None},
                                    "description": {"field": "naam", "type": "nominal"}}})
    return {"height": height, "width": "container",
            "projection": {"type": "mercator", "fit": {"type": "Feature", "properties": {},
                                                      "geometry": d3_winding(shapely.geometry.mapping(frame))}},
            "layer": layers, "config": {"view": {"stroke": None}}}


def _pick(selection) -> dict | None:
    """What a click on a clickable `chart` picked (Streamlit's selection state), or None: nothing."""
    picked = selection.get(SELECT_PARAM) if isinstance(selection, dict) else None
    return picked[0] if isinstance(picked, list) and picked and isinstance(picked[0], dict) else None


def selected_code(selection) -> str | None:
    """The area code from the selection state of a clickable `chart` (or None: nothing picked, a click beside,
    or a click on something that is not an area, see `picked_other`)."""
    return (_pick(selection) or {}).get("code") or None  # BESIDE: no area


def picked_other(selection) -> bool:
    """True for a click on the map that hit something other than an area (a hennep dot): not a choice."""
    pick = _pick(selection)
    return pick is not None and "code" not in pick

"""The meeting pack (veiligheid.meeting_pack): a real PDF with the expected sections, the map, CSV ZIP."""
from __future__ import annotations

import datetime as dt
import io
import json
import time
import zipfile
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pypdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from tests.conftest_app import demo_warehouse  # noqa: F401
from veiligheid import charts, disclosure, fmt, queries
from veiligheid import filters as F
from veiligheid import meeting_pack as MP
from veiligheid import signals as S
from veiligheid.warehouse import connect_readonly

ARTIFACTS = Path(__file__).resolve().parent / "e2e" / "artifacts"
POLICY = disclosure.Policy(5, True)
GENERATED = dt.datetime(2026, 11, 23, 9, 15)
PERIOD = "01-07-2026 t/m 30-09-2026 (3e kwartaal 2026), vergeleken met 01-04-2026 t/m 30-06-2026"
FRESH = "Data t/m week 47 (2026) (t/m 22-11-2026); laatste inlading 23-11-2026 06:10"


# ---------------------------------------------------------------- small known data
def square(x0: float, y0: float, d: float = 0.02) -> dict:
    """A square polygon, counter-clockwise (RFC 7946 order: d3 needs the reverse, the module must fix it)."""
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]}


FEATURES = [
    {"code": "BU1", "naam": "Hatertse Hei", "geometry": square(5.80, 51.82), "label_lon": 5.81, "label_lat": 51.83},
    {"code": "BU2", "naam": "Brakkenstein", "geometry": square(5.82, 51.82), "label_lon": 5.83, "label_lat": 51.83},
    {"code": "BU3", "naam": "Grootstal", "geometry": square(5.80, 51.80), "label_lon": 5.81, "label_lat": 51.81},
    {"code": "BU4", "naam": "Hatert", "geometry": square(5.82, 51.80), "label_lon": 5.83, "label_lat": 51.81},
]
VALUES = pd.DataFrame({"code": ["BU1", "BU2", "BU3", "BU4"], "n": [0.0, 3.0, 42.0, np.nan],
                       "onderdrukt": [False, True, False, False]})


def trend_chart() -> alt.Chart:
    weeks = pd.date_range("2026-06-01", periods=26, freq="7D")
    wk = pd.DataFrame({"week": weeks.date, "n": np.arange(26) % 7 + 3, "n_vorig_jaar": np.arange(26) % 5 + 2.0})
    wk["gemiddelde_4w"] = wk["n"].rolling(4).mean()
    wk["week_id"] = [fmt.iso_week(d) for d in wk["week"]]
    return charts.trend(wk, None, dt.date(2026, 7, 1), dt.date(2026, 9, 30), height=240)


def long_table(n: int = 120) -> pd.DataFrame:
    return pd.DataFrame({"Nr": [str(i) for i in range(1, n + 1)],
                         "Afspraak": [f"Afspraak {i}: extra toezicht bij het winkelcentrum – overleg met de wijkagent"
                                      for i in range(1, n + 1)],
                         "Eigenaar": ["Wijkteam"] * n, "Datum": ["01-10-2026"] * n})


def small_pack(demo: bool = True, signals: list[str] | None = None, tables: dict | None = None) -> MP.Pack:
    prio = pd.DataFrame({"Rang": ["1", "2", "3"], "Wijk": ["Hatertse Hei", "Brakkenstein", "Grootstal"],
                         "Thema": ["Woninginbraak", "Auto-inbraken", "Fietsdiefstal"],
                         "Aantal": ["1.234", "<5", "0"], "Index (stad = 100)": ["212", "–", "0"]})
    return MP.Pack(
        title="Teamoverleg Veiliger Wijkteam Zuid", area="stadsdeel Zuid", period=PERIOD, freshness=FRESH,
        viewer="A. Jansen (wijkteam)", disclosure=POLICY.describe(),
        map_chart=MP.area_map_chart(FEATURES, VALUES, "n", "Incidenten", "onderdrukt"),
        priority_table=prio,
        explanation=["De score weegt de index tegen de stad, de stijging en de stadsbrede prioriteit.",
                     "Nummer 1 (Hatertse Hei, woninginbraak) heeft de hoogste index: 212."],
        signals=["Wijk Hatert: woninginbraak gestegen sinds week 38 (14-09-2026): 14 in de laatste 13 weken, "
                 "verwacht 5,3 (2,6 keer zo veel)."] if signals is None else signals,
        trend_charts=[("Woninginbraak per week – stadsdeel Zuid", trend_chart())],
        tables={"Afgesproken prioriteiten": long_table()} if tables is None else tables,
        generated_at=GENERATED, demo=demo, signals_note="Getest: 68 combinaties; 1 signaal niet getoond (kleine aantallen).",
        map_note="Grijs gearceerd: onderdrukt (minder dan 5).")


def pages_text(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    return " ".join(text.replace("\u00ad", "").split())


@pytest.fixture(scope="module")
def small_pdf() -> bytes:
    return MP.build_pdf(small_pack())


# ---------------------------------------------------------------- the PDF
def test_pdf_is_valid_and_has_every_section(small_pdf):
    assert small_pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(small_pdf))
    n = len(reader.pages)
    assert 3 <= n <= 8
    texts = [p.extract_text() for p in reader.pages]
    allt = flat("\n".join(texts))
    for heading in ("Kaart", "Prioriteiten", "Signalen", "Trends", "Tabellen", "Afgesproken prioriteiten",
                    "Regels voor het tonen van aantallen", "Zo komt de volgorde tot stand"):
        assert heading in allt, heading
    cover = flat(texts[0])
    assert "Teamoverleg Veiliger Wijkteam Zuid" in cover and "Stadsdeel Zuid" in cover
    assert PERIOD in cover and FRESH in cover and "A. Jansen (wijkteam)" in cover
    assert flat(POLICY.describe()) in cover  # the viewer's disclosure rules, word for word
    assert "Aantallen kleiner dan 5 worden getoond als '<5'" in cover
    # known values of the priority table, the signal sentence, the trend title (with an en dash)
    assert "Hatertse Hei Woninginbraak 1.234 212" in allt
    assert "Brakkenstein Auto-inbraken <5 –" in allt
    assert "verwacht 5,3 (2,6 keer zo veel)." in allt
    assert "Woninginbraak per week – stadsdeel Zuid" in allt
    assert "1 signaal niet getoond" in allt


def test_every_page_has_footer_page_numbers_source_and_demo_mark(small_pdf):
    texts = pages_text(small_pdf)
    for i, t in enumerate(texts, start=1):
        f = flat(t)
        assert f"pagina {i} van {len(texts)}" in f
        assert "Bron: CBS, PDOK (CC BY 4.0); incidenten: politie Oost-Nederland en gemeente." in f
        assert "Gemaakt op 23-11-2026 09:15" in f
        assert "DEMODATA" in f


def test_no_demo_mark_for_real_data_and_a_message_without_signals():
    pdf = MP.build_pdf(small_pack(demo=False, signals=[], tables={}))
    allt = flat(" ".join(pages_text(pdf)))
    assert "DEMODATA" not in allt
    assert "Geen signalen" in allt and "Tabellen" not in allt
    assert "pagina 1 van" in allt


def test_dutch_characters_survive():
    tables = {"Tekens": pd.DataFrame({"Wijk": ["Ooyse Schependom", "’t Acker"], "Omschrijving": ["café – één", "€ 1.250,50"]})}
    pdf = MP.build_pdf(small_pack(tables=tables))
    allt = flat(" ".join(pages_text(pdf)))
    for s in ("café – één", "€ 1.250,50", "’t Acker", "Ooyse Schependom"):
        assert s in allt, s


def test_long_table_continues_with_the_header_repeated(small_pdf):
    texts = [flat(t) for t in pages_text(small_pdf)]
    first = next(i for i, t in enumerate(texts) if "Afspraak 1:" in t)
    last = next(i for i, t in enumerate(texts) if "Afspraak 120:" in t)
    assert last > first, "120 rows must continue on a following page"
    for i in range(first, last + 1):
        assert "Nr Afspraak Eigenaar Datum" in texts[i], f"header missing on page {i + 1}"
    # every row printed exactly once
    allt = " ".join(texts)
    for k in range(1, 121):
        assert allt.count(f"Afspraak {k}: ") == 1, k


def test_wide_table_goes_landscape_and_loses_no_column():
    themes = ["Woninginbraak", "Auto-inbraken", "Fietsdiefstal", "Geweld", "Vernieling", "Overlast", "Straatroof",
              "Winkeldiefstal", "Drugshandel", "Ondermijning", "Cybercrime", "Bedrijfsinbraak"]
    grid = pd.DataFrame({"Wijk": ["Haven- en industrieterrein", "Stadscentrum"],
                         **{t: [f"{100 + k}", f"{200 + k}"] for k, t in enumerate(themes)}})
    pdf = MP.build_pdf(small_pack(tables={"Wijk × thema (index)": grid}))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    page = next(p for p in reader.pages if "Wijk × thema (index)" in p.extract_text())
    assert page.mediabox.width > page.mediabox.height  # a landscape page
    t = flat(page.extract_text())
    assert "Wijk " + " ".join(themes) in t  # every header on one line, none cut off
    assert "Stadscentrum " + " ".join(str(200 + k) for k in range(len(themes))) in t
    # the next section (none here) or the end: the pages after a landscape table are portrait again
    assert reader.pages[0].mediabox.width < reader.pages[0].mediabox.height


def test_extremely_wide_table_is_split_into_blocks_with_the_key_column():
    cols = {"Wijk": ["Stadscentrum", "Benedenstad"], **{f"Kolom met een lange naam {k}": [f"{k},5", f"{k},7"]
                                                        for k in range(40)}}
    pdf = MP.build_pdf(small_pack(tables={"Breed": pd.DataFrame(cols)}))
    texts = [flat(t) for t in pages_text(pdf)]
    allt = " ".join(texts)
    parts = [t for t in texts if "Breed (deel " in t]
    assert len(parts) >= 2 and "Breed (deel 1 van " in allt
    assert all("Stadscentrum" in t and "Benedenstad" in t for t in parts)  # the key column in every block
    for k in range(40):
        assert f"{k},5" in allt and f"{k},7" in allt
        assert allt.count(f"naam {k} ") + allt.count(f"naam {k}$") >= 1 or f"naam {k}" in allt


def test_progress_reports_rising_fractions_in_dutch():
    seen: list[tuple[float, str]] = []
    MP.build_pdf(small_pack(), progress=lambda f, s: seen.append((f, s)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] < 0.1 and fractions[-1] == 1.0
    assert any("Grafieken tekenen (2 van 2)" == s for _, s in seen)  # the map and one trend chart
    assert seen[-1][1] == "Klaar"


# ---------------------------------------------------------------- the map
def colour_pixels(png: bytes, hex_colour: str) -> int:
    im = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return int(np.all(im == rgb, axis=-1).sum())


def test_map_tells_suppressed_from_zero_and_from_no_data():
    chart = MP.area_map_chart(FEATURES, VALUES, "n", "Incidenten", "onderdrukt")
    spec = chart.to_dict()
    text = json.dumps(spec)
    assert '"url"' not in text  # all data inline: renders offline
    areas = {f["properties"]["naam"]: f["properties"] for f in spec["layer"][0]["data"]["values"]}
    assert areas["Brakkenstein"]["klasse"] == "onderdrukt" and areas["Brakkenstein"]["waarde"] == "onderdrukt"
    assert areas["Hatert"]["klasse"] == "geen gegevens"
    assert areas["Hatertse Hei"]["waarde"] == "0" and areas["Hatertse Hei"]["klasse"] not in ("onderdrukt", "geen gegevens")
    assert areas["Grootstal"]["waarde"] == "42"
    # exterior rings turned clockwise for d3 (the input was counter-clockwise)
    ring = spec["layer"][0]["data"]["values"][0]["geometry"]["coordinates"][0]
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
    assert area2 < 0
    png = MP.chart_png(chart)
    w, h = MP.png_size(png)
    assert (w, h) == (2 * MP.CHART_PX, 2 * 520)
    # rendered: each look covers a whole square (the legend symbols alone are far smaller)
    zero_colour = spec["layer"][0]["encoding"]["color"]["scale"]["range"][0]
    assert zero_colour.lower() not in (MP.SUPPRESSED_FILL, MP.NO_DATA_FILL)
    assert colour_pixels(png, MP.SUPPRESSED_FILL) > 20_000
    assert colour_pixels(png, MP.NO_DATA_FILL) > 40_000
    assert colour_pixels(png, zero_colour) > 40_000
    assert colour_pixels(png, MP.HATCH_STROKE) > 2_000  # the hatching
    legends = [ly["encoding"]["color"] for ly in spec["layer"] if "legend" in ly.get("encoding", {}).get("color", {})
               and ly["encoding"]["color"]["legend"] is not None]
    classes = next(c for c in legends if c["field"] == "klasse")
    hatched = next(c for c in legends if c["field"] == "status")
    assert classes["scale"]["domain"][-1] == "geen gegevens" and "onderdrukt" not in classes["scale"]["domain"]
    assert hatched["scale"]["domain"] == ["onderdrukt"] and hatched["legend"]["symbolType"] == MP.HATCH_SYMBOL


def test_map_gives_no_colour_to_rates_of_nearly_empty_areas():
    values = VALUES.assign(per_1000=[5.0, 1.0, 7.5, 80.0], inwoners=[1000, 1000, 2000, 20])
    spec = MP.area_map_chart(FEATURES, values, "per_1000", "Per 1.000 inwoners", "onderdrukt").to_dict()
    areas = {f["properties"]["naam"]: f["properties"] for f in spec["layer"][0]["data"]["values"]}
    assert areas["Hatert"]["klasse"] == "geen cijfer (geen of bijna geen inwoners)"  # 20 inhabitants
    assert areas["Grootstal"]["waarde"] == "7,5" and areas["Brakkenstein"]["klasse"] == "onderdrukt"


def test_map_labels_do_not_overlap():
    crowded = [dict(f, label_lon=5.81, label_lat=51.83) for f in FEATURES]  # all names on one spot
    assert len(MP._label_positions(crowded, 720, 520, 12)) == 1
    assert MP._label_positions(FEATURES, 720, 520, 12) == {"BU1", "BU2", "BU3", "BU4"}


# ---------------------------------------------------------------- CSV
def test_csv_zip_round_trips_for_dutch_excel():
    tables = {"Wijk × thema (index)": pd.DataFrame({"Wijk": ["Hatertse Hei", "’t Acker"], "Index": [212.5, 80.0],
                                                    "Aantal": ["1.234", "<5"]}),
              "Afgesproken prioriteiten": long_table(5),
              "Afgesproken prioriteiten!": pd.DataFrame({"x": ["één"]})}
    data = MP.csv_zip(tables)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert names == ["wijk_x_thema_index.csv", "afgesproken_prioriteiten.csv", "afgesproken_prioriteiten_2.csv"]
        raw = z.read("wijk_x_thema_index.csv")
        assert raw.startswith(b"\xef\xbb\xbf") and b"212,5" in raw and b";" in raw.splitlines()[0]
        back = pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", decimal=",", dtype={"Aantal": str})
        pd.testing.assert_frame_equal(back, tables["Wijk × thema (index)"])
        back2 = pd.read_csv(io.BytesIO(z.read("afgesproken_prioriteiten.csv")), sep=";", encoding="utf-8-sig", dtype=str)
        pd.testing.assert_frame_equal(back2, long_table(5))
        assert pd.read_csv(io.BytesIO(z.read("afgesproken_prioriteiten_2.csv")), sep=";",
                           encoding="utf-8-sig")["x"].tolist() == ["één"]


# ---------------------------------------------------------------- a pack from the demo warehouse
def demo_pack(con) -> tuple[MP.Pack, pd.DataFrame]:
    """A typical pack, built the way the page builds it: real areas, figures and disclosure."""
    f = queries.freshness(con)
    w = queries.wijken(con)
    sd = w.groupby("stadsdeel_code").size().idxmax()  # the stadsdeel with the most wijken
    naam = queries.stadsdelen(con).set_index("code").at[sd, "naam"]
    state = F.FilterState(preset="4w", stadsdeel=sd)  # four weeks: some wijken have fewer than 5
    p = F.resolve_period(state, f.data_end)
    tab = queries.area_table(con, p, "wijk", (), sd, f.data_start)
    mask, _, _ = disclosure.protect_hierarchy(tab.set_index("code")["n"], dict.fromkeys(tab["code"], sd), POLICY)
    tab["onderdrukt"] = tab["code"].map(mask).astype(bool)
    tab["per_1000"] = disclosure.hide_derived(tab["per_1000"], tab["onderdrukt"])
    tab["index"] = disclosure.hide_derived(tab["index"], tab["onderdrukt"])
    geo = [g for g in queries.area_geojson(con, "wijk") if g["code"] in set(tab["code"])]
    prio = pd.DataFrame({"Wijk": tab["naam"], "Aantal": disclosure.count_column(tab["n"], tab["onderdrukt"], POLICY),
                         "Per 1.000 inwoners": [fmt.number(x, 1) for x in tab["per_1000"]],
                         "Index (stad = 100)": [fmt.integer(x) for x in tab["index"]]})
    sig = S.protect_signals(S.detect(S.weekly_counts(con, sd, f.data_end, 60)), POLICY)
    trends = []
    for thema in queries.priority_themes(con)[:3]:
        wk = queries.weekly(con, p.start - dt.timedelta(weeks=26), f.data_end, (thema,), sd, None, f.data_start)
        trends.append((f"{thema}: incidenten per week", charts.trend(wk, f.incomplete_week, p.start, p.end, height=240)))
    pack = MP.Pack(
        title=f"Teamoverleg Veiliger Wijkteam {naam}", area=f"stadsdeel {naam}",
        period=f"{fmt.period(p.start, p.end)} (laatste 4 weken), vergeleken met {fmt.period(p.prev_start, p.prev_end)}",
        freshness=f"Data t/m {fmt.week_label(f.data_week)} (t/m {fmt.date(f.data_end)}); "
                  f"laatste inlading {fmt.datetime(f.last_ingest)}",
        viewer="test-wijkteam (wijkteam)", disclosure=POLICY.describe(),
        map_chart=MP.area_map_chart(geo, tab, "per_1000", "Incidenten per 1.000 inwoners", "onderdrukt"),
        priority_table=prio, explanation=["De volgorde volgt het cijfer per 1.000 inwoners."],
        signals=list(sig["sentence"]), trend_charts=trends, tables={"Wijken": prio}, generated_at=GENERATED,
        demo=f.demo, signals_note=f"Getest: {sig.attrs['tested']} combinaties van wijk en thema; "
                                  f"{sig.attrs['hidden']} niet getoond vanwege kleine aantallen.")
    return pack, tab


def test_pack_from_the_demo_warehouse(demo_warehouse):  # noqa: F811
    con = connect_readonly(demo_warehouse)
    try:
        pack, tab = demo_pack(con)
    finally:
        con.close()
    t0 = time.perf_counter()
    pdf = MP.build_pdf(pack)
    seconds = time.perf_counter() - t0
    print(f"\nmeeting pack: {seconds:.2f} s, {len(pdf) / 1024:.0f} kB")
    assert seconds < 15  # typical: 2-4 s on 2 cores (target < 10 s)
    texts = [flat(t) for t in pages_text(pdf)]
    allt = " ".join(texts)
    assert pack.freshness in texts[0] and pack.period in texts[0] and "DEMODATA" in texts[0]
    for name in tab["naam"]:  # every wijk of the stadsdeel in the priority table
        assert name in allt
    shown = tab[~tab["onderdrukt"]]
    row = shown.iloc[0]
    assert f"{row['naam']} {fmt.integer(row['n'])} " in allt
    for naam in tab.loc[tab["onderdrukt"], "naam"]:  # suppressed: "<5", and nothing derived from it
        assert f"{naam} <5 – –" in allt
    assert ("Geen signalen" in allt) == (not pack.signals)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    doc = pdfium.PdfDocument(pdf)
    for i in range(len(doc)):
        doc[i].render(scale=1.5).to_pil().save(ARTIFACTS / f"meeting_pack_p{i + 1}.png")
    assert (ARTIFACTS / "meeting_pack_p1.png").stat().st_size > 50_000

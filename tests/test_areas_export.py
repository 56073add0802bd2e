"""Reference areas as data (`areas load`) and the aggregated export."""
from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from conftest import REPO, cli, inside, write
from pipelines.ingest import run_ingest
from veiligheid.areas import AreaFiles, AreasError, read_area_files
from veiligheid.warehouse import connect_readonly

GEO = REPO / "geo"


def bundled(name):
    return next(GEO.glob(name))


def q(path, sql):
    con = connect_readonly(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def other_gemeente(tmp_path):
    """A made-up gemeente GM9999: two wijken of two buurten each, in a square in RD around Nijmegen."""
    polys, rows = [], []
    x0, y0 = 180_000, 420_000
    for w in range(2):
        for b in range(2):
            code = f"BU9999{w + 1:02d}{b:02d}"
            poly = shapely.box(x0 + w * 6000 + b * 3000, y0, x0 + w * 6000 + (b + 1) * 3000, y0 + 12_000)
            polys.append({"buurtcode": code, "geometry": poly})
            rows.append({"buurtcode": code, "buurtnaam": f"Buurt {w}{b}", "wijkcode": f"WK9999{w + 1:02d}",
                         "gemeentecode": "GM9999", "inwoners_2024": 1000 * (w + 1)})
    bu = gpd.GeoDataFrame(polys, crs=28992).to_crs(4326)
    bu.to_file(tmp_path / "x_buurten_2024.geojson", driver="GeoJSON")
    wk = bu.assign(wijkcode="WK" + bu["buurtcode"].str[2:8]).dissolve(by="wijkcode").reset_index()[["wijkcode", "geometry"]]
    wk["wijknaam"] = ["Noordkant", "Zuidkant"]
    wk.to_file(tmp_path / "x_wijken_2024.geojson", driver="GeoJSON")
    pd.DataFrame(rows).to_csv(tmp_path / "x_buurten_bevolking_2024.csv", index=False)
    return tmp_path / "x_wijken_2024.geojson", tmp_path / "x_buurten_2024.geojson", tmp_path / "x_buurten_bevolking_2024.csv"


def test_bundled_areas_have_city_words_and_population():
    bu, wk, kern = read_area_files(AreaFiles(bundled("*_wijken_2024.geojson"), bundled("*_buurten_2024.geojson"),
                                             bundled("*_buurten_bevolking_2024.csv"),
                                             bundled("*_wijken_kerncijfers_2024.csv"), bundled("*_stadsdelen.csv")))
    assert len(bu) == 44 and len(wk) == 9
    assert dict(zip(wk["wijkcode"], wk["stadsdeel"]))["WK026809"] == "Noord"
    assert int(bu["inwoners"].sum()) == 187_050
    assert set(kern["kenmerk"]) >= {"pct_15_25", "inwoners"}


def test_areas_load_replaces_areas_and_replaces_records(env, buurten_rd, tmp_path):
    # records placed on the bundled areas first
    x, y = inside(buurten_rd, "BU02680101")
    write(env.inbox, "incidenten_2024-W47.csv", f"registratienummer;pleegdatum;soort_code;x_rd;y_rd\nA1;18-11-2024;1.1.1;{x};{y}\n")
    write(env.inbox, "cyber_slachtoffers_2024-W47.csv", "aangifte_id;aangiftedatum;delict;leeftijd;woon_buurtcode\n"
          "C1;18-11-2024;Phishing;20;BU02680101\n")
    assert run_ingest(env).exit_code == 0
    wijken, buurten, bev = other_gemeente(tmp_path)
    out = cli("areas", "load", "--wijken", str(wijken), "--buurten", str(buurten), "--bevolking", str(bev),
              "--warehouse", str(env.warehouse))
    assert out.returncode == 0, out.stderr
    assert "4 buurten, 2 wijken" in out.stdout
    # without a stadsdelen file or column, each wijk is its own stadsdeel named after the wijk
    assert sorted(q(env.warehouse, "SELECT wijkcode, stadsdeel, inwoners FROM wijken")) == [
        ("WK999901", "Noordkant", 2000), ("WK999902", "Zuidkant", 4000)]
    # the incident point is re-placed on the new areas by its coordinates
    (bu,), = q(env.warehouse, "SELECT buurtcode FROM incidenten")
    expected = next(code for code, g in gpd.read_file(buurten).to_crs(28992).set_index("buurtcode").geometry.items()
                    if g.contains(shapely.Point(x, y)))
    assert bu == expected
    # the cyber victim's code is unknown in the new areas: kept, but no longer placed
    assert q(env.warehouse, "SELECT input_buurtcode, buurtcode FROM cyber_slachtoffers") == [("BU02680101", None)]
    assert "1 niet te plaatsen" in out.stdout
    # loading the bundled areas back restores the original placement
    out = cli("areas", "load", "--wijken", str(bundled("*_wijken_2024.geojson")),
              "--buurten", str(bundled("*_buurten_2024.geojson")), "--bevolking", str(bundled("*_buurten_bevolking_2024.csv")),
              "--stadsdelen", str(bundled("*_stadsdelen.csv")), "--warehouse", str(env.warehouse))
    assert out.returncode == 0, out.stderr
    assert q(env.warehouse, "SELECT buurtcode FROM cyber_slachtoffers") == [("BU02680101",)]


def test_areas_load_bad_files_give_clear_message(tmp_path, env):
    wijken, buurten, bev = other_gemeente(tmp_path)
    df = pd.read_csv(bev, dtype=str)
    df.loc[0, "inwoners_2024"] = "veel"
    df.to_csv(bev, index=False)
    out = cli("areas", "load", "--wijken", str(wijken), "--buurten", str(buurten), "--bevolking", str(bev),
              "--warehouse", str(env.warehouse))
    assert out.returncode == 2
    assert "x_buurten_bevolking_2024.csv" in out.stderr and "BU99990100" in out.stderr
    out = cli("areas", "load", "--wijken", str(tmp_path / "nope.geojson"), "--buurten", str(buurten),
              "--bevolking", str(bev), "--warehouse", str(env.warehouse))
    assert out.returncode == 2 and "niet gevonden" in out.stderr
    with pytest.raises(AreasError, match="buurtcode"):
        gpd.read_file(buurten).drop(columns="buurtcode").to_file(tmp_path / "y_buurten_2024.geojson", driver="GeoJSON")
        read_area_files(AreaFiles(wijken, tmp_path / "y_buurten_2024.geojson", bev))


def test_nothing_in_code_names_the_city():
    """No string literal in the product code (docstrings and comments aside) names a gemeente."""
    import ast

    for folder in ("veiligheid", "pipelines"):
        for p in (REPO / folder).rglob("*.py"):
            tree = ast.parse(p.read_text(encoding="utf-8"))
            docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                          if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                          and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                    assert "Nijmegen" not in node.value and "GM0268" not in node.value, (p, node.lineno)


# ---------------------------------------------------------------- export
@pytest.fixture
def loaded(env, buurten_rd):
    c = inside(buurten_rd, "BU02680101")  # Centrum
    o = inside(buurten_rd, "BU02680202")  # Oost
    rows = [("A1", "01-01-2024", "1.1.1", c), ("A2", "31-01-2024", "1.1.1", c), ("A3", "01-02-2024", "1.2.1", o),
            ("A4", "15-02-2024", "1.4.7", o), ("A5", "29-12-2024", "1.1.1", o)]
    text = "registratienummer;pleegdatum;soort_code;x_rd;y_rd;status\n" + "".join(
        f"{k};{d};{s};{xy[0]};{xy[1]};actief\n" for k, d, s, xy in rows) + f"A6;02-02-2024;1.1.1;{c[0]};{c[1]};vervallen\n"
    write(env.inbox, "incidenten_2024-W52.csv", text)
    assert run_ingest(env).exit_code == 0
    return env


def export(env, *args):
    out = cli("export", *args, "--warehouse", str(env.warehouse))
    return out


def test_export_csv_header_order_sorting_and_withdrawn(loaded):
    out = export(loaded, "--kind", "incidenten", "--by", "thema,stadsdeel")
    assert out.returncode == 0, out.stderr
    assert list(csv.reader(io.StringIO(out.stdout))) == [
        ["thema", "stadsdeel", "aantal"],
        ["Auto-inbraken", "Oost", "1"],
        ["Overvallen", "Oost", "1"],
        ["Woninginbraak", "Centrum", "2"],
        ["Woninginbraak", "Oost", "1"],
    ]


def test_export_time_buckets_and_inclusive_dates(loaded):
    out = export(loaded, "--kind", "incidenten", "--by", "maand", "--from", "2024-01-31", "--to", "2024-02-01")
    assert out.stdout.splitlines() == ["maand,aantal", "2024-01,1", "2024-02,1"]
    out = export(loaded, "--kind", "incidenten", "--by", "week,jaar,soort_code,wijkcode,buurtcode,gemeentecode",
                 "--format", "json")
    rows = json.loads(out.stdout)
    weeks = {r["week"] for r in rows}
    assert "2024-W01" in weeks and "2024-W52" in weeks
    assert sum(r["aantal"] for r in rows) == 5
    assert all(r["gemeentecode"] == "GM0268" for r in rows)


def test_export_rejects_columns_of_other_kinds(loaded):
    out = export(loaded, "--kind", "incidenten", "--by", "delict")
    assert out.returncode == 2 and "kies uit" in out.stderr and "thema" in out.stderr
    out = export(loaded, "--kind", "incidenten", "--by", "jaar", "--from", "gisteren")
    assert out.returncode == 2 and "--from" in out.stderr

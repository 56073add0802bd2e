"""Reference areas: reading CBS wijk/buurt files, loading them, and placing records on them.

Areas are data, not code: nothing here names a gemeente. The bundled files in
``geo/`` are simply the default set (found by their CBS-style file names).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .config import GEO_DIR
from .contract import soort_misdrijf
from .warehouse import ensure_spatial

BUURT_RE = re.compile(r"^BU\d{8}$")
WIJK_RE = re.compile(r"^WK\d{6}$")


class AreasError(ValueError):
    """An area file cannot be used; the message (Dutch) names the file and the problem."""


@dataclass
class AreaFiles:
    wijken: Path
    buurten: Path
    bevolking: Path
    kerncijfers: Path | None = None
    stadsdelen: Path | None = None


def bundled_files(geo_dir: Path = GEO_DIR) -> AreaFiles:
    def one(pattern: str, required: bool = True) -> Path | None:
        hits = sorted(geo_dir.glob(pattern))
        if not hits and required:
            raise AreasError(f"geen bestand '{pattern}' in {geo_dir}")
        return hits[0] if hits else None

    return AreaFiles(
        wijken=one("*_wijken_2024.geojson"),
        buurten=one("*_buurten_2024.geojson"),
        bevolking=one("*_buurten_bevolking_2024.csv"),
        kerncijfers=one("*_wijken_kerncijfers_2024.csv", required=False),
        stadsdelen=one("*_stadsdelen.csv", required=False),
    )


def _read_geo(path: Path, code_col: str, pattern: re.Pattern) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise AreasError(f"{path.name}: kan het bestand niet lezen als GeoJSON ({exc})") from exc
    if code_col not in gdf.columns:
        raise AreasError(f"{path.name}: kolom '{code_col}' ontbreekt (gevonden: {', '.join(map(str, gdf.columns))})")
    gdf[code_col] = gdf[code_col].astype(str).str.strip().str.upper()
    bad = gdf.loc[~gdf[code_col].str.match(pattern), code_col]
    if len(bad):
        raise AreasError(f"{path.name}: ongeldige {code_col} '{bad.iloc[0]}'")
    if gdf[code_col].duplicated().any():
        raise AreasError(f"{path.name}: {code_col} '{gdf.loc[gdf[code_col].duplicated(), code_col].iloc[0]}' komt dubbel voor")
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    gdf = gdf.to_crs(4326)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    if gdf.geometry.is_empty.any() or gdf.geometry.isna().any():
        raise AreasError(f"{path.name}: een of meer gebieden hebben geen geometrie")
    return gdf


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", sep=None, engine="python")
    except Exception as exc:  # noqa: BLE001
        raise AreasError(f"{path.name}: kan het CSV-bestand niet lezen ({exc})") from exc


def _inwoners_column(df: pd.DataFrame, path: Path) -> str:
    cols = [c for c in df.columns if c.lower().startswith("inwoners")]
    if not cols:
        raise AreasError(f"{path.name}: geen kolom 'inwoners…' met het aantal inwoners")
    return cols[0]


def read_area_files(files: AreaFiles) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (buurten, wijken, kerncijfers_long) ready to load; raises AreasError."""
    bu = _read_geo(files.buurten, "buurtcode", BUURT_RE)
    wk = _read_geo(files.wijken, "wijkcode", WIJK_RE)
    bev = _read_csv(files.bevolking)
    if "buurtcode" not in bev.columns:
        raise AreasError(f"{files.bevolking.name}: kolom 'buurtcode' ontbreekt")
    bev["buurtcode"] = bev["buurtcode"].str.strip().str.upper()
    inw = _inwoners_column(bev, files.bevolking)
    bev["inwoners"] = pd.to_numeric(bev[inw].str.replace(".", "", regex=False), errors="coerce")
    if bev["inwoners"].isna().any():
        raise AreasError(f"{files.bevolking.name}: kolom '{inw}' bevat een waarde die geen getal is "
                         f"(buurt {bev.loc[bev['inwoners'].isna(), 'buurtcode'].iloc[0]})")

    bu = bu.merge(bev.drop(columns=[c for c in ("wijkcode", "gemeentecode") if c in bev.columns and c in bu.columns]),
                  on="buurtcode", how="left", suffixes=("", "_bev"))
    missing = bu.loc[bu["inwoners"].isna(), "buurtcode"]
    if len(missing):
        raise AreasError(f"{files.bevolking.name}: geen inwoners voor buurt {missing.iloc[0]} uit {files.buurten.name}")
    derived_wk = "WK" + bu["buurtcode"].str[2:8]
    if "wijkcode" not in bu.columns:
        bu["wijkcode"] = derived_wk
    bu["wijkcode"] = bu["wijkcode"].fillna(derived_wk).astype(str).str.upper()
    if "buurtnaam" not in bu.columns:
        bu["buurtnaam"] = bu["buurtcode"]
    bu["buurtnaam"] = bu["buurtnaam"].fillna(bu["buurtcode"])
    if "gemeentecode" not in bu.columns:
        bu["gemeentecode"] = "GM" + bu["buurtcode"].str[2:6]
    unknown = sorted(set(bu["wijkcode"]) - set(wk["wijkcode"]))
    if unknown:
        raise AreasError(f"{files.buurten.name}: buurt ligt in wijk {unknown[0]}, die niet in {files.wijken.name} staat")

    # stadsdeel: file > column in the wijken or bevolking file > the wijk's own name
    if "wijknaam" not in wk.columns:
        wk["wijknaam"] = wk["wijkcode"]
    wk["stadsdeel_"] = None
    if files.stadsdelen is not None:
        sd = _read_csv(files.stadsdelen)
        if not {"stadsdeel", "wijkcode"} <= set(sd.columns):
            raise AreasError(f"{files.stadsdelen.name}: kolommen 'stadsdeel' en 'wijkcode' zijn verplicht")
        sd = sd.assign(wijkcode=sd["wijkcode"].str.strip().str.upper())[["wijkcode", "stadsdeel"]].drop_duplicates()
        if sd["wijkcode"].duplicated().any():
            raise AreasError(f"{files.stadsdelen.name}: wijk {sd.loc[sd['wijkcode'].duplicated(), 'wijkcode'].iloc[0]} "
                             "staat in meer dan één stadsdeel")
        wk["stadsdeel_"] = wk["wijkcode"].map(dict(zip(sd["wijkcode"], sd["stadsdeel"])))
    if "stadsdeel" in wk.columns:
        wk["stadsdeel_"] = wk["stadsdeel_"].fillna(wk["stadsdeel"])
    if "stadsdeel" in bev.columns and "wijkcode" in bev.columns:
        m = bev.dropna(subset=["stadsdeel"]).assign(wijkcode=lambda d: d["wijkcode"].str.upper())
        wk["stadsdeel_"] = wk["stadsdeel_"].fillna(wk["wijkcode"].map(dict(zip(m["wijkcode"], m["stadsdeel"]))))
    wk["stadsdeel"] = wk["stadsdeel_"].fillna(wk["wijknaam"])
    if "gemeentecode" not in wk.columns:
        wk["gemeentecode"] = "GM" + wk["wijkcode"].str[2:6]
    if "gemeentenaam" not in wk.columns:
        wk["gemeentenaam"] = wk["gemeentecode"]

    # one consistent map: a wijk's shape is the union of its buurten (the layers were simplified apart)
    dissolved = bu.dissolve(by="wijkcode")["geometry"]
    wk["geometry"] = [dissolved.get(code, geom) for code, geom in zip(wk["wijkcode"], wk.geometry)]
    wk = gpd.GeoDataFrame(wk, geometry="geometry", crs=4326)
    inw_wk = bu.groupby("wijkcode")["inwoners"].sum()
    wk["inwoners"] = wk["wijkcode"].map(inw_wk).fillna(0)

    kern = pd.DataFrame(columns=["wijkcode", "kenmerk", "waarde"])
    if files.kerncijfers is not None:
        k = _read_csv(files.kerncijfers)
        if "wijkcode" not in k.columns:
            raise AreasError(f"{files.kerncijfers.name}: kolom 'wijkcode' ontbreekt")
        k["wijkcode"] = k["wijkcode"].str.strip().str.upper()
        long = k.melt(id_vars=["wijkcode"], var_name="kenmerk", value_name="waarde")
        long["waarde"] = pd.to_numeric(long["waarde"], errors="coerce")
        kern = long.dropna(subset=["waarde"])
        if "inwoners" in k.columns:  # the official wijk figure wins over the sum of rounded buurten
            official = pd.to_numeric(k.set_index("wijkcode")["inwoners"], errors="coerce")
            wk["inwoners"] = wk["wijkcode"].map(official).fillna(wk["inwoners"])

    buurten = pd.DataFrame({
        "buurtcode": bu["buurtcode"], "buurtnaam": bu["buurtnaam"], "wijkcode": bu["wijkcode"],
        "gemeentecode": bu["gemeentecode"], "inwoners": bu["inwoners"].astype(int),
        "wkt": bu.geometry.to_wkt(rounding_precision=6), "wkt_rd": bu.to_crs(28992).geometry.to_wkt(rounding_precision=2),
    })
    wijken = pd.DataFrame({
        "wijkcode": wk["wijkcode"], "wijknaam": wk["wijknaam"], "gemeentecode": wk["gemeentecode"],
        "gemeentenaam": wk["gemeentenaam"], "stadsdeel": wk["stadsdeel"], "inwoners": wk["inwoners"].astype(int),
        "wkt": wk.geometry.to_wkt(rounding_precision=6),
    })
    return buurten, wijken, kern


def write_areas(con: duckdb.DuckDBPyConnection, files: AreaFiles) -> None:
    buurten, wijken, kern = read_area_files(files)
    con.register("_bu", buurten)
    con.register("_wk", wijken)
    con.register("_kern", kern)
    con.execute("DELETE FROM buurten")
    ensure_spatial(con)
    con.execute("INSERT INTO buurten SELECT buurtcode, buurtnaam, wijkcode, gemeentecode, inwoners, "
                "ST_GeomFromText(wkt), ST_GeomFromText(wkt_rd), ST_AsWKB(ST_GeomFromText(wkt_rd)) FROM _bu")
    con.execute("DELETE FROM wijken")
    con.execute("INSERT INTO wijken SELECT wijkcode, wijknaam, gemeentecode, gemeentenaam, stadsdeel, inwoners, "
                "ST_GeomFromText(wkt) FROM _wk")
    con.execute("DELETE FROM wijk_kerncijfers")
    con.execute("INSERT INTO wijk_kerncijfers SELECT wijkcode, kenmerk, waarde FROM _kern")
    for name in ("_bu", "_wk", "_kern"):
        con.unregister(name)
    write_grid(con)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('areas', ?)",
                [f"{files.wijken.name}, {files.buurten.name}, {files.bevolking.name}"])
    _write_soort_misdrijf(con)


def _write_soort_misdrijf(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(r["code"], r["omschrijving"], r["thema"], r["stadsbrede_prioriteit"] == "ja", r["high_impact_crime"] == "ja")
            for r in soort_misdrijf()]
    con.execute("DELETE FROM soort_misdrijf")
    con.executemany("INSERT INTO soort_misdrijf VALUES (?, ?, ?, ?, ?)", rows)


def load_bundled_areas(con: duckdb.DuckDBPyConnection) -> None:
    write_areas(con, bundled_files())


# ---------------------------------------------------------------- placement
PLACEMENT_ERRORS = {
    "outside": "punt ligt buiten de gemeente",
    "unknown_buurt": "onbekende buurtcode",
    "unknown_wijk": "onbekende wijkcode",
    "mismatch": "buurtcode ligt niet in de opgegeven wijkcode",
}


GRID_CELL_M = 50.0


def write_grid(con: duckdb.DuckDBPyConnection, cell: float = GRID_CELL_M) -> None:
    """A lookup grid over the buurten (RD): cells that lie wholly inside one buurt's interior.

    Placing a point in such a cell needs no polygon test; points in other cells (near borders,
    outside) get the exact test. Correct by construction: a closed cell inside one polygon's
    interior cannot touch another polygon of a partition.
    """
    rows = con.execute("SELECT buurtcode, wkb_rd FROM buurten ORDER BY buurtcode").fetchall()
    con.execute("DELETE FROM buurt_grid")
    if not rows:
        return
    codes = [r[0] for r in rows]
    polys = shapely.from_wkb([bytes(r[1]) for r in rows])
    x0, y0, x1, y1 = shapely.total_bounds(polys)
    nx, ny = int((x1 - x0) // cell) + 1, int((y1 - y0) // cell) + 1
    import numpy as np

    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    boxes = shapely.box(x0 + ix * cell, y0 + iy * cell, x0 + (ix + 1) * cell, y0 + (iy + 1) * cell)
    tree = shapely.STRtree(polys)
    b_idx, p_idx = tree.query(boxes, predicate="within")
    keep = shapely.contains_properly(polys[p_idx], boxes[b_idx])
    b_idx, p_idx = b_idx[keep], p_idx[keep]
    grid = pd.DataFrame({"cell": ix[b_idx].astype("int64") * ny + iy[b_idx], "buurtcode": np.array(codes)[p_idx]})
    con.register("_grid", grid)
    con.execute("INSERT INTO buurt_grid SELECT cell, buurtcode FROM _grid")
    con.unregister("_grid")
    for k, v in (("grid_x0", x0), ("grid_y0", y0), ("grid_cell", cell), ("grid_nx", nx), ("grid_ny", ny)):
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [k, repr(float(v))])


def _grid_cell_sql(con: duckdb.DuckDBPyConnection, x: str, y: str) -> str:
    meta = dict(con.execute("SELECT key, value FROM meta WHERE key LIKE 'grid_%'").fetchall())
    if not meta:
        return "NULL::BIGINT"
    x0, y0, c = float(meta["grid_x0"]), float(meta["grid_y0"]), float(meta["grid_cell"])
    nx, ny = int(float(meta["grid_nx"])), int(float(meta["grid_ny"]))
    ix, iy = f"floor(({x} - {x0!r}) / {c!r})", f"floor(({y} - {y0!r}) / {c!r})"
    return (f"CASE WHEN {ix} >= 0 AND {ix} < {nx} AND {iy} >= 0 AND {iy} < {ny} "
            f"THEN CAST({ix} AS BIGINT) * {ny} + CAST({iy} AS BIGINT) END")


def placement_sql(con: duckdb.DuckDBPyConnection, source: str, strict_codes: bool = True) -> str:
    """A SELECT that places the rows of `source` on the current areas.

    `source` (a table name) has rec, x_rd, y_rd (RD New; NULL when absent), in_bu, in_wk (CBS codes
    or NULL). The SELECT returns every source column plus buurtcode, wijkcode, gemeentecode,
    error (a PLACEMENT_ERRORS key or NULL) and disagree (coordinates and codes disagree).
    Coordinates win over codes; a point on a shared border goes to the lowest buurtcode.
    With `strict_codes` a code the areas do not know is an error even beside valid coordinates (the
    extract contract); a re-placement after an areas load passes False, so coordinates still place.
    The exact polygon test (shapely) runs only for points outside the lookup grid (temp table `_exact`).
    """
    cell = _grid_cell_sql(con, "s.x_rd", "s.y_rd")
    cand = con.execute(f"""
        SELECT s.rec, s.x_rd, s.y_rd FROM {source} s LEFT JOIN buurt_grid g ON g.cell = {cell}
        WHERE s.x_rd IS NOT NULL AND s.y_rd IS NOT NULL AND g.cell IS NULL""").fetchnumpy()
    exact = pd.DataFrame({"rec": pd.Series([], dtype="int64"), "bu": pd.Series([], dtype="string")})
    if len(cand["rec"]):
        rows = con.execute("SELECT buurtcode, wkb_rd FROM buurten ORDER BY buurtcode").fetchall()
        codes = [r[0] for r in rows]
        polys = shapely.from_wkb([bytes(r[1]) for r in rows])
        pts = shapely.points(np.asarray(cand["x_rd"], dtype=float), np.asarray(cand["y_rd"], dtype=float))
        p_idx, b_idx = shapely.STRtree(polys).query(pts, predicate="intersects")
        if len(p_idx):
            hits = pd.DataFrame({"rec": np.asarray(cand["rec"])[p_idx], "bu": np.array(codes, dtype=object)[b_idx]})
            exact = hits.groupby("rec", as_index=False)["bu"].min()  # shared border: the lowest buurtcode
    con.register("_exact_df", exact)
    con.execute("CREATE OR REPLACE TEMP TABLE _exact AS SELECT rec::BIGINT AS rec, bu::VARCHAR AS bu FROM _exact_df")
    con.unregister("_exact_df")
    return f"""
        WITH j AS (
            SELECT s.*, coalesce(g.buurtcode, e.bu) AS pt_bu, cb.buurtcode AS code_bu, cb.wijkcode AS code_bu_wk,
                   cw.wijkcode AS code_wk, (s.x_rd IS NOT NULL AND s.y_rd IS NOT NULL) AS has_xy
            FROM {source} s
            LEFT JOIN buurt_grid g ON g.cell = {cell}
            LEFT JOIN _exact e ON e.rec = s.rec
            LEFT JOIN buurten cb ON cb.buurtcode = s.in_bu
            LEFT JOIN wijken cw ON cw.wijkcode = s.in_wk
        ), r AS (
            SELECT j.*,
                CASE
                    WHEN has_xy AND pt_bu IS NULL THEN 'outside'
                    WHEN has_xy AND NOT {str(strict_codes).lower()} THEN NULL
                    WHEN in_bu IS NOT NULL AND code_bu IS NULL THEN 'unknown_buurt'
                    WHEN in_wk IS NOT NULL AND code_wk IS NULL THEN 'unknown_wijk'
                    WHEN NOT has_xy AND in_bu IS NOT NULL AND in_wk IS NOT NULL AND code_bu_wk <> in_wk THEN 'mismatch'
                END AS error,
                CASE WHEN has_xy THEN pt_bu ELSE code_bu END AS bu
            FROM j
        )
        SELECT r.* EXCLUDE (pt_bu, code_bu, code_bu_wk, code_wk, has_xy, bu, error),
               r.bu AS buurtcode,
               CASE WHEN r.error IS NULL THEN coalesce(b.wijkcode, r.code_wk) END AS wijkcode,
               CASE WHEN r.error IS NULL THEN w.gemeentecode END AS gemeentecode,
               r.error,
               (r.has_xy AND r.error IS NULL AND
                ((r.in_bu IS NOT NULL AND r.in_bu IS DISTINCT FROM r.bu) OR
                 (r.in_wk IS NOT NULL AND r.in_wk IS DISTINCT FROM b.wijkcode))) AS disagree
        FROM r
        LEFT JOIN buurten b ON b.buurtcode = r.bu
        LEFT JOIN wijken w ON w.wijkcode = coalesce(b.wijkcode, r.code_wk)"""


def replace_areas(con: duckdb.DuckDBPyConnection, files: AreaFiles) -> dict[str, dict[str, int]]:
    """Replace the areas and re-place every record on them. Returns counts per kind."""
    write_areas(con, files)
    report: dict[str, dict[str, int]] = {}
    for table in ("incidenten", "registraties", "cyber_slachtoffers", "hennep"):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _src AS
            SELECT rowid AS rec, x_rd, y_rd, lat, lon, input_buurtcode AS in_bu, input_wijkcode AS in_wk
            FROM {table}""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _placed AS {placement_sql(con, '_src', strict_codes=False)}")
        con.execute(f"""UPDATE {table} t SET buurtcode = p.buurtcode, wijkcode = p.wijkcode,
                        gemeentecode = p.gemeentecode
                        FROM _placed p WHERE t.rowid = p.rec""")
        total, unplaced = con.execute("SELECT count(*), count(*) FILTER (WHERE error IS NOT NULL) FROM _placed").fetchone()
        report[table] = {"records": int(total), "niet_geplaatst": int(unplaced)}
    return report

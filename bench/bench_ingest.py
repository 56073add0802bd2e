"""Ingest benchmark (issue #2 §6): our ingest vs pandas+geopandas.sjoin vs DuckDB's bare read_csv.

Generates N incident rows (`;`-separated, RD coordinates with decimal comma, dd-mm-yyyy) in one
weekly file and, in one run, times
  (a) our ingest end to end (`run_ingest`: read, check, place, merge, publish a new version),
  (b) a straightforward pandas + geopandas.sjoin pipeline on the same file, into a DuckDB table,
  (c) DuckDB's bare `read_csv` of the same file into a table,
and prints the ratios a/b and a/c (goal: a/b <= 0.2, i.e. 5x faster, and a/c <= 3).
Also prints the wall time of the CLI (`python -m pipelines ingest`), which adds interpreter start-up.

    .venv/bin/python bench/bench_ingest.py [--rows 1000000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402
import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from pipelines.ingest import run_ingest  # noqa: E402
from veiligheid.config import Config  # noqa: E402
from veiligheid.contract import soort_misdrijf  # noqa: E402
from veiligheid.warehouse import ensure_warehouse  # noqa: E402

WEEK = (2024, 47)


def make_file(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    bu = gpd.read_file(next((REPO / "geo").glob("*_buurten_2024.geojson"))).to_crs(28992)
    city = shapely.union_all(bu.geometry.values)
    minx, miny, maxx, maxy = city.bounds
    xs, ys = [], []
    need = n
    while need > 0:
        x = rng.uniform(minx, maxx, need * 2)
        y = rng.uniform(miny, maxy, need * 2)
        ok = shapely.contains_xy(city, x, y)
        xs.append(x[ok][:need])
        ys.append(y[ok][:need])
        need -= int(min(ok.sum(), need))
    x, y = np.concatenate(xs), np.concatenate(ys)
    end = dt.date.fromisocalendar(*WEEK, 7)
    days = rng.integers(0, 56, n)
    dates = pd.to_datetime(end) - pd.to_timedelta(days, unit="D")
    codes = np.array([r["code"] for r in soort_misdrijf()])[rng.integers(0, len(soort_misdrijf()), n)]
    df = pd.DataFrame({
        "registratienummer": [f"PL0800-{i:010d}" for i in range(n)],
        "pleegdatum": dates.strftime("%d-%m-%Y"),
        "pleegtijd": [f"{h:02d}:{m:02d}" for h, m in zip(rng.integers(0, 24, n), rng.integers(0, 4, n) * 15)],
        "soort_code": codes,
        "x_rd": np.char.replace(np.round(x, 1).astype(str), ".", ","),
        "y_rd": np.char.replace(np.round(y, 1).astype(str), ".", ","),
        "status": np.where(rng.random(n) < 0.01, "vervallen", "actief"),
    })
    df.to_csv(path, sep=";", index=False)


def ours(src: Path, work: Path) -> float:
    inbox = work / "inbox"
    shutil.rmtree(work, ignore_errors=True)
    inbox.mkdir(parents=True)
    shutil.copy(src, inbox / src.name)
    cfg = Config.from_env(warehouse=str(work / "warehouse.duckdb"), inbox=str(inbox))
    ensure_warehouse(cfg.warehouse)  # an existing (empty) warehouse, as on a normal Monday
    t = time.perf_counter()
    res = run_ingest(cfg)
    elapsed = time.perf_counter() - t
    f = res.files[0]
    assert f.status == "loaded" and f.rows_read == f.rows_loaded + f.rows_quarantined, f
    return elapsed


def ours_cli(src: Path, work: Path) -> float:
    inbox = work / "inbox"
    shutil.rmtree(work, ignore_errors=True)
    inbox.mkdir(parents=True)
    shutil.copy(src, inbox / src.name)
    ensure_warehouse(work / "warehouse.duckdb")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines", "ingest", "--inbox", str(inbox), "--warehouse",
                    str(work / "warehouse.duckdb")], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - t


def pandas_sjoin(src: Path, work: Path) -> float:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t = time.perf_counter()
    bu = gpd.read_file(next((REPO / "geo").glob("*_buurten_2024.geojson"))).to_crs(28992)
    df = pd.read_csv(src, sep=";", decimal=",", dtype={"registratienummer": str, "soort_code": str})
    df["pleegdatum"] = pd.to_datetime(df["pleegdatum"], format="%d-%m-%Y", errors="coerce")
    df = df[df["soort_code"].isin([r["code"] for r in soort_misdrijf()]) & df["pleegdatum"].notna()]
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x_rd"], df["y_rd"]), crs=28992)
    joined = gpd.sjoin(pts, bu[["buurtcode", "wijkcode", "geometry"]], how="inner", predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    wgs = joined.geometry.to_crs(4326)
    out = pd.DataFrame(joined.drop(columns=["geometry", "index_right"]))
    out["lon"], out["lat"] = wgs.x.values, wgs.y.values
    con = duckdb.connect(str(work / "pandas.duckdb"))
    con.register("out", out)
    con.execute("CREATE TABLE incidenten AS SELECT * FROM out")
    con.close()
    return time.perf_counter() - t


def duckdb_bare(src: Path, work: Path) -> float:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t = time.perf_counter()
    con = duckdb.connect(str(work / "bare.duckdb"))
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(src)])
    con.close()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        src = tmp / f"incidenten_{WEEK[0]}-W{WEEK[1]:02d}.csv"
        t = time.perf_counter()
        make_file(src, args.rows)
        print(f"file: {args.rows:,} rows, {src.stat().st_size / 1e6:.0f} MB, made in {time.perf_counter() - t:.1f} s")
        runs = {"a": [], "b": [], "c": [], "cli": []}
        for i in range(args.repeat):  # interleaved, so machine noise hits all three alike
            runs["a"].append(ours(src, tmp / "a"))
            runs["b"].append(pandas_sjoin(src, tmp / "b"))
            runs["c"].append(duckdb_bare(src, tmp / "c"))
            runs["cli"].append(ours_cli(src, tmp / "cli"))
        med = {k: statistics.median(v) for k, v in runs.items()}
        print(f"(a) our ingest          median {med['a']:.2f} s  runs {['%.2f' % x for x in runs['a']]}")
        print(f"(b) pandas + sjoin      median {med['b']:.2f} s  runs {['%.2f' % x for x in runs['b']]}")
        print(f"(c) duckdb read_csv     median {med['c']:.2f} s  runs {['%.2f' % x for x in runs['c']]}")
        print(f"    our ingest via CLI  median {med['cli']:.2f} s (with interpreter start-up and imports)")
        print(f"a/b = {med['a'] / med['b']:.2f}  (goal <= 0.20: {med['b'] / med['a']:.1f}x faster than pandas)")
        print(f"a/c = {med['a'] / med['c']:.2f}  (goal <= 3.0)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

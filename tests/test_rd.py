"""The SQL RD <-> WGS84 polynomials agree with PROJ (pyproj) over the whole city, and beyond."""
from __future__ import annotations

import duckdb
import numpy as np
import pyproj
import pytest

from veiligheid.rd import rd_to_wgs84_sql, wgs84_to_rd_sql


@pytest.fixture(scope="module")
def grid():
    rng = np.random.default_rng(1)
    # Nijmegen and surroundings, plus the far corners of the Netherlands
    x = np.concatenate([rng.uniform(176_000, 198_000, 2000), [13_000, 278_000, 110_000, 250_000]])
    y = np.concatenate([rng.uniform(418_000, 440_000, 2000), [371_000, 600_000, 551_000, 308_000]])
    return x, y


def test_rd_to_wgs84_matches_proj_within_a_metre(grid):
    x, y = grid
    lat_sql, lon_sql = rd_to_wgs84_sql("x", "y")
    con = duckdb.connect()
    con.register("p", {"x": x, "y": y})
    got = np.array(con.execute(f"SELECT {lat_sql}, {lon_sql} FROM p").fetchall())
    lon, lat = pyproj.Transformer.from_crs(28992, 4326, always_xy=True).transform(x, y)
    geod = pyproj.Geod(ellps="WGS84")
    _, _, dist = geod.inv(lon, lat, got[:, 1], got[:, 0])
    assert dist.max() < 1.0, dist.max()
    assert np.median(dist) < 0.5


def test_wgs84_to_rd_matches_proj_and_round_trips(grid):
    x, y = grid
    lon, lat = pyproj.Transformer.from_crs(28992, 4326, always_xy=True).transform(x, y)
    x_sql, y_sql = wgs84_to_rd_sql("lat", "lon")
    con = duckdb.connect()
    con.register("p", {"lat": lat, "lon": lon})
    got = np.array(con.execute(f"SELECT {x_sql}, {y_sql} FROM p").fetchall())
    assert np.hypot(got[:, 0] - x, got[:, 1] - y).max() < 1.0

"""RD New (EPSG:28992) <-> WGS84 as SQL arithmetic, for the ingest's hot path.

The approximation formulas of Schreutelkamp & Strang van Hees ("Benaderingsformules voor de
transformatie tussen RD- en WGS84-kaartcoördinaten", 2001), accurate to well under a metre over the
Netherlands. PROJ (ST_Transform, pyproj) gives the same points within that margin without the
RDNAPTRANS grid (tests/test_rd.py compares both), but costs a second per million points; these
polynomials cost a few hundredths, inside DuckDB, without loading the spatial extension.
"""
from __future__ import annotations

X0, Y0 = 155000.0, 463000.0
PHI0, LAM0 = 52.15517440, 5.38720621

# (power of dX, power of dY, coefficient) in seconds of arc, dX/dY in units of 100 km
_LAT = ((0, 1, 3235.65389), (2, 0, -32.58297), (0, 2, -0.24750), (2, 1, -0.84978), (0, 3, -0.06550),
        (2, 2, -0.01709), (1, 0, -0.00738), (4, 0, 0.00530), (2, 3, -0.00039), (4, 1, 0.00033), (1, 1, -0.00012))
_LON = ((1, 0, 5260.52916), (1, 1, 105.94684), (1, 2, 2.45656), (3, 0, -0.81885), (1, 3, 0.05594),
        (3, 1, -0.05607), (0, 1, 0.01199), (3, 2, -0.00256), (1, 4, 0.00128), (0, 2, 0.00022),
        (2, 0, -0.00022), (5, 0, 0.00026))
# (power of dPhi, power of dLam, coefficient) in metres, dPhi/dLam in units of 10,000 seconds of arc
_X = ((0, 1, 190094.945), (1, 1, -11832.228), (2, 1, -114.221), (0, 3, -32.391), (1, 0, -0.705),
      (3, 1, -2.340), (1, 3, -0.608), (0, 2, -0.008), (2, 3, 0.148))
_Y = ((1, 0, 309056.544), (0, 2, 3638.893), (2, 0, 73.077), (1, 2, -157.984), (3, 0, 59.788),
      (0, 1, 0.433), (2, 2, -6.439), (1, 1, -0.032), (0, 4, 0.092), (1, 4, -0.054))


def _poly(terms, a: str, b: str) -> str:
    def pw(v: str, n: int) -> str:
        return "1" if n == 0 else "*".join([v] * n)
    return " + ".join(f"({c!r})*{pw(a, i)}*{pw(b, j)}" for i, j, c in terms)


def rd_to_wgs84_sql(x: str, y: str) -> tuple[str, str]:
    """(lat, lon) SQL expressions for RD columns x, y."""
    dx, dy = f"(({x} - {X0}) * 1e-5)", f"(({y} - {Y0}) * 1e-5)"
    return (f"({PHI0} + ({_poly(_LAT, dx, dy)}) / 3600.0)", f"({LAM0} + ({_poly(_LON, dx, dy)}) / 3600.0)")


def wgs84_to_rd_sql(lat: str, lon: str) -> tuple[str, str]:
    """(x, y) SQL expressions for WGS84 columns lat, lon."""
    df, dl = f"(0.36 * ({lat} - {PHI0}))", f"(0.36 * ({lon} - {LAM0}))"
    return (f"({X0} + {_poly(_X, df, dl)})", f"({Y0} + {_poly(_Y, df, dl)})")

"""The overview's queries on the day counts (`incidenten_dag`), as built and at their worst-case density.

    .venv/bin/python bench/day_counts.py /tmp/bench8/w5000000/warehouse.duckdb

The 5M bench warehouse multiplies the demo incidents (`bench_pages.replicate`: copies with the same days and
places), so its day counts stay as small as the demo's (~32.000 rows). Real incidents at that volume would fill
nearly every day x wijk x theme. This script times the Dashboards queries (tiles, both area tables, the weekly
series, the city model's blocks) on a copy of the warehouse twice: with the day counts as built, and with them
replaced by a dense table (every day with data x every wijk x every theme, plus incidents placed only on a
stadsdeel), the largest they can get for these areas and themes. Median of 5 runs per query, in ms.
"""
from __future__ import annotations

import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from veiligheid import filters as F  # noqa: E402
from veiligheid import queries as Q  # noqa: E402
from veiligheid.warehouse import DAY_COUNTS, current_file  # noqa: E402

DENSE = f"""
    CREATE OR REPLACE TABLE {DAY_COUNTS} AS
    WITH days AS (SELECT CAST(d AS DATE) AS pleegdatum
                  FROM range(CAST((SELECT min(pleegdatum) FROM incidenten) AS TIMESTAMP),
                             CAST((SELECT max(pleegdatum) FROM incidenten) AS TIMESTAMP) + INTERVAL 1 DAY,
                             INTERVAL 1 DAY) t(d)),
         areas AS (SELECT buurtcode, wijkcode FROM buurten UNION ALL SELECT NULL, wijkcode FROM wijken),
         themes AS (SELECT thema, bool_or(stadsbrede_prioriteit) AS prio FROM soort_misdrijf GROUP BY thema)
    SELECT pleegdatum, buurtcode, wijkcode, thema, prio, CAST(1 + random() * 8 AS BIGINT) AS n,
           CAST(random() * 2 AS BIGINT) AS n_hic
    FROM days, areas, themes ORDER BY pleegdatum"""


def timings(path: Path) -> dict[str, float]:
    from veiligheid.warehouse import connect_readonly

    con = connect_readonly(path)
    fresh = Q.freshness(con)
    sds = [r[0] for r in con.execute("SELECT wijkcode FROM wijken ORDER BY 1").fetchall()]
    rows = con.execute(f"SELECT count(*) FROM {DAY_COUNTS}").fetchone()[0]
    out: dict[str, list[float]] = {}
    for k in range(5):
        p = F.resolve_period(F.FilterState(preset=("4w", "13w", "52w")[k % 3]), fresh.data_end)
        sd = sds[k % len(sds)]
        for name, fn in (("tiles", lambda: Q.tiles(con, p, (), sd, None, fresh.data_start)),
                         ("kaart stadsdelen", lambda: Q.area_table(con, p, "stadsdeel", (), None, fresh.data_start)),
                         ("tabel wijken", lambda: Q.area_table(con, p, "wijk", (), sd, fresh.data_start)),
                         ("weken", lambda: Q.weekly(con, fresh.data_end - dt.timedelta(weeks=51), fresh.data_end, (), sd,
                                                    None, fresh.data_start)),
                         ("blokken (stadsmodel)", lambda: Q.block_counts(con, fresh.data_end))):
            t = time.perf_counter()
            fn()
            out.setdefault(name, []).append(time.perf_counter() - t)
    con.close()
    return {"rijen": rows, **{k: round(statistics.median(v) * 1000, 1) for k, v in out.items()}}


def main() -> int:
    src = current_file(Path(sys.argv[1]))
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / "warehouse.duckdb"
        shutil.copyfile(src, copy)
        built = timings(copy)
        con = duckdb.connect(str(copy))
        con.execute(DENSE)
        con.execute("CHECKPOINT")
        con.close()
        dense = timings(copy)
    print("| query | zoals gebouwd | dicht (slechtste geval) |\n|---|---|---|")
    for k in built:
        print(f"| {k} | {built[k]} | {dense[k]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Named, parameterised queries on the warehouse; each returns a small aggregated DataFrame.

Aggregation happens in DuckDB: nothing here ever returns fact rows. Every function takes a
connection and runs on its own cursor (Streamlit serves sessions on threads). Withdrawn
incidents (status 'vervallen') are left out of every count.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from . import fmt, stats
from .warehouse import DAY_COUNTS, DAY_COUNTS_CURRENT_SQL, DAY_COUNTS_SELECT

ACTIVE = "coalesce(i.status, 'actief') <> 'vervallen'"
TOTAL = "Totaal"


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    cur = con.cursor()
    try:
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    cur = con.cursor()
    try:
        return cur.execute(sql, params or []).fetchall()
    finally:
        cur.close()


def day_counts(con: duckdb.DuckDBPyConnection) -> str:
    """The FROM source of the active incidents counted per day, area and theme (columns pleegdatum, buurtcode,
    wijkcode, thema, prio, n, n_hic; see warehouse.DAY_COUNTS): the table, or for a version without a table
    built for it (written before it existed, or by an older writer), the same counts computed from the incidents."""
    return DAY_COUNTS if _rows(con, DAY_COUNTS_CURRENT_SQL)[0][0] else f"({DAY_COUNTS_SELECT})"


# ------------------------------------------------------------------ freshness and meta
@dataclass(frozen=True)
class Freshness:
    data_week: str | None  # latest ISO week with incidents, '2026-W47'
    data_end: dt.date  # last day the figures cover
    data_start: dt.date | None  # first day with incidents (comparisons before it are not shown)
    incomplete_week: str | None  # ISO week of data_end when that week is not over yet
    current_week: str  # the ISO week of today: never complete
    last_ingest: dt.datetime | None
    ingest_age_days: float | None
    stale: bool  # last ingest older than 8 days
    demo: bool
    version: str | None


STALE_DAYS = 8


def meta(con) -> dict[str, str]:
    return dict(_rows(con, "SELECT key, value FROM meta"))


def freshness(con, today: dt.date | None = None, now: dt.datetime | None = None) -> Freshness:
    now = now or dt.datetime.now()
    today = today or now.date()
    m = meta(con)
    week, = _rows(con, "SELECT max(bron_week) FROM incidenten")[0]
    if week:
        data_end = min(fmt.week_monday(week) + dt.timedelta(days=6), today)
    else:
        data_end = today
    incomplete = fmt.iso_week(data_end) if data_end.isoweekday() != 7 else None
    start, = _rows(con, f"SELECT min(i.pleegdatum) FROM incidenten i WHERE {ACTIVE}")[0]
    last, = _rows(con, "SELECT max(finished_at) FROM ingest_runs")[0]
    age = (now - last).total_seconds() / 86400 if last else None
    return Freshness(week, data_end, start, incomplete, fmt.iso_week(today), last, age, age is None or age > STALE_DAYS,
                     m.get("demo", "").strip().lower() == "ja", m.get("version"))


# ------------------------------------------------------------------ reference lists
def gemeentenaam(con) -> str:
    """The name of the gemeente whose areas are loaded (areas are data, not code)."""
    name, = _rows(con, "SELECT min(gemeentenaam) FROM wijken")[0]
    return name or "de gemeente"


def themes(con) -> pd.DataFrame:
    """thema, prioriteit (city-wide priority), ordered: priorities first, then by name."""
    return _df(con, """
        SELECT thema, bool_or(stadsbrede_prioriteit) AS prioriteit
        FROM soort_misdrijf GROUP BY thema ORDER BY prioriteit DESC, thema""")


def priority_themes(con) -> list[str]:
    t = themes(con)
    return t.loc[t["prioriteit"], "thema"].tolist()


def stadsdelen(con) -> pd.DataFrame:
    """code (CBS wijkcode), naam (stadsdeel), inwoners."""
    return _df(con, "SELECT wijkcode AS code, stadsdeel AS naam, inwoners FROM wijken ORDER BY stadsdeel")


def wijken(con) -> pd.DataFrame:
    """code (CBS buurtcode), naam, stadsdeel_code, stadsdeel, inwoners."""
    return _df(con, """
        SELECT b.buurtcode AS code, b.buurtnaam AS naam, b.wijkcode AS stadsdeel_code, w.stadsdeel, b.inwoners
        FROM buurten b JOIN wijken w USING (wijkcode) ORDER BY b.buurtnaam""")


def city_inhabitants(con) -> int:
    return int(_rows(con, "SELECT coalesce(sum(inwoners), 0) FROM wijken")[0][0])


def area_geojson(con, level: str) -> list[dict]:
    """[{code, naam, geometry(dict), label_lon, label_lat}] for 'stadsdeel' or 'wijk'."""
    if level == "stadsdeel":
        sql = """SELECT wijkcode, stadsdeel, ST_AsGeoJSON(geom), ST_X(ST_PointOnSurface(geom)),
                        ST_Y(ST_PointOnSurface(geom)) FROM wijken ORDER BY wijkcode"""
    else:
        sql = """SELECT buurtcode, buurtnaam, ST_AsGeoJSON(geom), ST_X(ST_PointOnSurface(geom)),
                        ST_Y(ST_PointOnSurface(geom)) FROM buurten ORDER BY buurtcode"""
    return [{"code": c, "naam": n, "geometry": json.loads(g), "label_lon": x, "label_lat": y}
            for c, n, g, x, y in _rows(con, sql)]


# ------------------------------------------------------------------ filters as SQL
def _filter_sql(themes: tuple[str, ...] | list[str] = (), stadsdeel: str | None = None,
                wijk: str | None = None, day_counts: bool = False) -> tuple[str, list]:
    """WHERE fragment and its parameters: for alias i = incidenten, s = soort_misdrijf; or with `day_counts` for
    alias d = the day counts (`day_counts()`, where withdrawn incidents are left out already)."""
    fact, theme = ("d", "d") if day_counts else ("i", "s")
    parts, params = ["TRUE" if day_counts else ACTIVE], []
    if themes:
        parts.append(f"{theme}.thema IN ({', '.join('?' for _ in themes)})")
        params.extend(themes)
    if wijk:
        parts.append(f"{fact}.buurtcode = ?")
        params.append(wijk)
    elif stadsdeel:
        parts.append(f"{fact}.wijkcode = ?")
        params.append(stadsdeel)
    return " AND ".join(parts), params


def _periods_sql(p) -> tuple[str, list]:
    """Count columns on the day counts: the sums of n (period, previous equal period, a year earlier)."""
    sql = """coalesce(sum(d.n) FILTER (WHERE d.pleegdatum BETWEEN ? AND ?), 0) AS n,
             coalesce(sum(d.n) FILTER (WHERE d.pleegdatum BETWEEN ? AND ?), 0) AS n_vorige,
             coalesce(sum(d.n) FILTER (WHERE d.pleegdatum BETWEEN ? AND ?), 0) AS n_jaar"""
    return sql, [p.start, p.end, p.prev_start, p.prev_end, p.ya_start, p.ya_end]


def _range(p) -> list:
    return [min(p.start, p.prev_start, p.ya_start), max(p.end, p.prev_end, p.ya_end)]


def selection_inhabitants(con, stadsdeel: str | None = None, wijk: str | None = None) -> int:
    if wijk:
        rows = _rows(con, "SELECT inwoners FROM buurten WHERE buurtcode = ?", [wijk])
    elif stadsdeel:
        rows = _rows(con, "SELECT inwoners FROM wijken WHERE wijkcode = ?", [stadsdeel])
    else:
        rows = _rows(con, "SELECT sum(inwoners) FROM wijken")
    return int(rows[0][0] or 0) if rows else 0


def _add_comparisons(df: pd.DataFrame, p, inhabitants, data_start: dt.date | None) -> pd.DataFrame:
    """Rates and both comparisons; a comparison period that starts before the data does is left empty."""
    df["per_1000"] = stats.rate_per_1000(df["n"], inhabitants)
    for name, col, start, days in (("vorige", "n_vorige", p.prev_start, p.prev_days),
                                   ("jaar", "n_jaar", p.ya_start, p.ya_days)):
        covered = data_start is None or start >= data_start
        frame = stats.compare_columns(df["n"], df[col], p.days, days)
        df[f"verandering_{name}"] = frame["verandering"].to_numpy() if covered else float("nan")
        df[f"p_{name}"] = frame["p"].to_numpy() if covered else float("nan")
        df[f"significant_{name}"] = frame["significant"].to_numpy() if covered else False
        df[f"richting_{name}"] = frame["richting"].to_numpy() if covered else 0
        if not covered:
            df[col] = pd.array([pd.NA] * len(df), dtype="Int64")
    return df


def tiles(con, p, themes: tuple[str, ...] = (), stadsdeel: str | None = None, wijk: str | None = None,
          data_start: dt.date | None = None) -> pd.DataFrame:
    """One row per city-wide priority theme plus 'Totaal' (the selected themes, or all).

    Columns: thema, n, n_vorige, n_jaar, per_1000, verandering_/p_/significant_/richting_ {vorige, jaar}.
    """
    where, params = _filter_sql((), stadsdeel, wijk, day_counts=True)
    cols, cparams = _periods_sql(p)
    prio = priority_themes(con)
    sel = f"d.thema IN ({', '.join('?' for _ in themes)})" if themes else "TRUE"
    df = _df(con, f"""
        WITH f AS (
            SELECT d.pleegdatum, d.thema, d.prio, ({sel}) AS selected, d.n
            FROM {day_counts(con)} d
            WHERE {where} AND d.pleegdatum BETWEEN ? AND ?)
        SELECT thema, {cols} FROM f d WHERE prio GROUP BY thema
        UNION ALL
        SELECT '{TOTAL}', {cols} FROM f d WHERE selected""",
             [*themes, *params, *_range(p), *cparams, *cparams])
    df = df.set_index("thema").reindex([*prio, TOTAL]).fillna(0).astype("int64").reset_index()
    return _add_comparisons(df, p, selection_inhabitants(con, stadsdeel, wijk), data_start)


def area_table(con, p, level: str, themes: tuple[str, ...] = (), stadsdeel: str | None = None,
               data_start: dt.date | None = None) -> pd.DataFrame:
    """Counts per area (all stadsdelen, or all wijken; wijken limited to `stadsdeel` when given).

    Columns: code, naam, stadsdeel, inwoners, n, n_vorige, n_jaar, per_1000, index (city = 100),
    verandering_/p_/significant_/richting_ {vorige, jaar}.
    """
    where, params = _filter_sql(themes, day_counts=True)
    cols, cparams = _periods_sql(p)
    if level == "stadsdeel":
        areas_sql = "SELECT wijkcode AS code, stadsdeel AS naam, stadsdeel, inwoners FROM wijken"
        key = "wijkcode"
        aparams: list = []
    else:
        areas_sql = """SELECT b.buurtcode AS code, b.buurtnaam AS naam, w.stadsdeel, b.inwoners
                       FROM buurten b JOIN wijken w USING (wijkcode)""" + (" WHERE b.wijkcode = ?" if stadsdeel else "")
        key = "buurtcode"
        aparams = [stadsdeel] if stadsdeel else []
    # one scan: the groups also hold incidents without an area (code NULL), so their sum is the city's count
    # in the period (the same filter, without the area restriction): the reference of the index
    df = _df(con, f"""
        WITH c AS MATERIALIZED (
            SELECT d.{key} AS code, {cols}
            FROM {day_counts(con)} d
            WHERE {where} AND d.pleegdatum BETWEEN ? AND ?
            GROUP BY 1)
        SELECT a.code, a.naam, a.stadsdeel, a.inwoners,
               coalesce(c.n, 0) AS n, coalesce(c.n_vorige, 0) AS n_vorige, coalesce(c.n_jaar, 0) AS n_jaar,
               (SELECT coalesce(sum(n), 0) FROM c) AS stad_n
        FROM ({areas_sql}) a LEFT JOIN c USING (code)
        ORDER BY a.naam""", [*cparams, *params, *_range(p), *aparams])
    city_n = int(df["stad_n"].iloc[0]) if len(df) else 0
    df = df.drop(columns="stad_n")
    for c in ("n", "n_vorige", "n_jaar", "inwoners"):
        df[c] = df[c].astype("int64")
    df = _add_comparisons(df, p, df["inwoners"], data_start)
    city = stats.rate_per_1000(city_n, city_inhabitants(con))
    df["index"] = stats.index_vs(df["per_1000"], city)
    return df


def weekly(con, first_monday: dt.date, last_day: dt.date, themes: tuple[str, ...] = (),
           stadsdeel: str | None = None, wijk: str | None = None, data_start: dt.date | None = None) -> pd.DataFrame:
    """Weekly counts from the ISO week of `first_monday` up to `last_day`, with last year's figure.

    Columns: week (Monday, date), week_id ('2026-W47'), n, n_vorig_jaar (the same weekdays 52 weeks
    earlier; NaN before `data_start`), gemiddelde_4w (trailing 4-week moving average; the 3 weeks before the range are used).
    """
    where, params = _filter_sql(themes, stadsdeel, wijk, day_counts=True)
    first = first_monday - dt.timedelta(days=first_monday.isoweekday() - 1)
    lo = first - dt.timedelta(weeks=3)
    src = day_counts(con)
    df = _df(con, f"""
        WITH weeks AS (
            SELECT CAST(w AS DATE) AS week FROM range(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY,
                                                      INTERVAL 7 DAY) t(w)),
        c AS (
            SELECT CAST(date_trunc('week', d.pleegdatum) AS DATE) AS week, sum(d.n) AS n
            FROM {src} d
            WHERE {where} AND d.pleegdatum BETWEEN ? AND ?
            GROUP BY 1),
        y AS (
            SELECT CAST(date_trunc('week', d.pleegdatum) AS DATE) + 364 AS week, sum(d.n) AS n
            FROM {src} d
            WHERE {where} AND d.pleegdatum BETWEEN ? AND ?
            GROUP BY 1)
        SELECT weeks.week, coalesce(c.n, 0) AS n, coalesce(y.n, 0) AS n_vorig_jaar
        FROM weeks LEFT JOIN c USING (week) LEFT JOIN y USING (week)
        ORDER BY weeks.week""",
             [lo, last_day, *params, lo, last_day, *params, lo - dt.timedelta(days=364),
              last_day - dt.timedelta(days=364)])
    df["week"] = pd.to_datetime(df["week"]).dt.date
    df["n"] = df["n"].astype("int64")
    df["n_vorig_jaar"] = df["n_vorig_jaar"].astype("float64")
    if data_start is not None:  # no line where last year is not in the data
        df.loc[[w - dt.timedelta(days=364) < data_start for w in df["week"]], "n_vorig_jaar"] = float("nan")
    df["gemiddelde_4w"] = stats.moving_average(df["n"].astype("float64"), 4)
    df = df[df["week"] >= first].reset_index(drop=True)
    df["week_id"] = [fmt.iso_week(d) for d in df["week"]]
    return df


def weekday_hour(con, p, themes: tuple[str, ...] = (), stadsdeel: str | None = None,
                 wijk: str | None = None) -> pd.DataFrame:
    """Counts per ISO weekday (1 = Monday) x hour for the period; incidents without a time are left out.

    Columns: dag (1-7), uur (0-23), n; all 168 cells present. Attribute `zonder_tijd` = count without time.
    """
    where, params = _filter_sql(themes, stadsdeel, wijk)
    df = _df(con, f"""
        WITH grid AS (SELECT d AS dag, h AS uur FROM range(1, 8) a(d), range(0, 24) b(h)),
        c AS (
            SELECT isodow(i.pleegdatum) AS dag, hour(i.pleegtijd) AS uur, count(*) AS n
            FROM incidenten i JOIN soort_misdrijf s ON s.code = i.soort_code
            WHERE {where} AND i.pleegdatum BETWEEN ? AND ? AND i.pleegtijd IS NOT NULL
            GROUP BY 1, 2)
        SELECT grid.dag, grid.uur, coalesce(c.n, 0) AS n FROM grid LEFT JOIN c USING (dag, uur)
        ORDER BY 1, 2""", [*params, p.start, p.end])
    for c in ("dag", "uur", "n"):
        df[c] = df[c].astype("int64")
    missing = _rows(con, f"""SELECT count(*) FROM incidenten i JOIN soort_misdrijf s ON s.code = i.soort_code
                             WHERE {where} AND i.pleegdatum BETWEEN ? AND ? AND i.pleegtijd IS NULL""",
                    [*params, p.start, p.end])[0][0]
    df.attrs["zonder_tijd"] = int(missing)
    return df


# ------------------------------------------------------------------ the city-wide model for disclosure control
def block_counts(con, data_end: dt.date, blocks: int = 104) -> pd.DataFrame:
    """Counts per wijk (buurtcode), thema and 7-day block ending on `data_end` (blok 0 = the last 7 days).

    Every week preset (4/13/52 weeks, the period before it, the same weeks a year earlier) is a whole
    number of these blocks, so disclosure control can model every figure as a sum of them.
    Columns: wijk, thema, blok, n.
    """
    lo = data_end - dt.timedelta(days=7 * blocks - 1)
    df = _df(con, f"""
        SELECT d.buurtcode AS wijk, d.thema, CAST(date_diff('day', d.pleegdatum, CAST(? AS DATE)) // 7 AS INTEGER) AS blok,
               sum(d.n) AS n
        FROM {day_counts(con)} d
        WHERE d.pleegdatum BETWEEN ? AND ? AND d.buurtcode IS NOT NULL
        GROUP BY ALL""", [data_end, lo, data_end])
    df["n"] = df["n"].astype("int64")
    return df


def stadsdeel_weekday_hour(con, p, themes: tuple[str, ...] = ()) -> pd.DataFrame:
    """Counts per stadsdeel (wijkcode) x ISO weekday x hour for the period; uur -1 = without a time.

    Columns: stadsdeel, dag, uur, n (only non-zero cells).
    """
    where, params = _filter_sql(themes)
    df = _df(con, f"""
        SELECT i.wijkcode AS stadsdeel, isodow(i.pleegdatum) AS dag, coalesce(hour(i.pleegtijd), -1) AS uur,
               count(*) AS n
        FROM incidenten i JOIN soort_misdrijf s ON s.code = i.soort_code
        WHERE {where} AND i.pleegdatum BETWEEN ? AND ? AND i.wijkcode IS NOT NULL
        GROUP BY ALL""", [*params, p.start, p.end])
    for c in ("dag", "uur", "n"):
        df[c] = df[c].astype("int64")
    return df


# ------------------------------------------------------------------ data page
def ingest_runs(con, limit: int = 20) -> pd.DataFrame:
    return _df(con, """
        SELECT started_at, finished_at, version, files_loaded, files_skipped, files_refused,
               rows_loaded, rows_quarantined
        FROM ingest_runs ORDER BY started_at DESC LIMIT ?""", [limit])


def data_weeks(con) -> pd.DataFrame:
    """Per kind: latest ISO week loaded, number of current records, last day with data."""
    parts = []
    for table, date_col in (("incidenten", "pleegdatum"), ("registraties", "datum"),
                            ("cyber_slachtoffers", "aangiftedatum"), ("hennep", "signaaldatum")):
        active = "WHERE status <> 'vervallen'" if table == "incidenten" else ""  # withdrawn ones leave all counts
        parts.append(f"SELECT '{table}' AS soort, max(bron_week) AS week, count(*) AS records, "
                     f"max({date_col}) AS laatste_datum FROM {table} {active}")
    return _df(con, " UNION ALL ".join(parts))


def refused_files(con, limit: int = 50) -> pd.DataFrame:
    return _df(con, """
        SELECT ingested_at, file, kind, week, reason FROM ingest_files
        WHERE status = 'refused' ORDER BY ingested_at DESC, file LIMIT ?""", [limit])


def quarantine_counts(con) -> pd.DataFrame:
    """Quarantined rows counted per file, kind, column and reason; never the values or records."""
    return _df(con, """
        SELECT file, kind, "column" AS kolom, reason, count(*) AS rijen
        FROM quarantine GROUP BY ALL ORDER BY file DESC, rijen DESC""")


def quarantine_rows(con, limit: int = 1000) -> pd.DataFrame:
    """The quarantined rows themselves (values and raw records): only for roles with `quarantine_rows`."""
    return _df(con, """
        SELECT q.file, q.kind, q.line, q."column" AS kolom, q.value, q.reason, q.record, r.started_at
        FROM quarantine q LEFT JOIN ingest_runs r USING (run_id)
        ORDER BY r.started_at DESC NULLS LAST, q.file, q.line LIMIT ?""", [limit])

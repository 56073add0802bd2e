"""Weekly ingest: extract files in the inbox -> checked, placed, current records in the warehouse.

One run is one new warehouse version (see ``veiligheid.warehouse``): it applies
completely or not at all. Files are moved out of the inbox only after the new
version is published; a rerun after a crash finds them again and, if their
content was already loaded, skips them.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from veiligheid import contract as C
from veiligheid.areas import PLACEMENT_ERRORS, placement_sql
from veiligheid.config import Config
from veiligheid.rd import rd_to_wgs84_sql, wgs84_to_rd_sql
from veiligheid.warehouse import ensure_warehouse, exclusive_lock, write_version

log = logging.getLogger("ingest")


class FileRefused(Exception):
    """The whole file is refused; the message (Dutch) says why.

    `details` (e.g. the header line found) goes only into the `.reden.txt` beside the refused file,
    not into the warehouse, because it may carry data values and the app shows the reason to viewers.
    """

    def __init__(self, message: str, details: str | None = None):
        super().__init__(message)
        self.details = details


@dataclass
class FileResult:
    file: str
    kind: str | None
    week: str | None
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_new: int = 0
    rows_replaced: int = 0
    reason: str | None = None
    details: str | None = field(default=None, repr=False)
    rows_unchanged: int = 0
    rows_superseded: int = 0
    location_disagreements: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    path: Path | None = field(default=None, repr=False)
    sha256: str | None = field(default=None, repr=False)

    def public(self) -> dict:
        d = asdict(self)
        d.pop("path")
        d.pop("sha256")
        d.pop("details")
        return d


@dataclass
class RunResult:
    run_id: str
    warehouse: str
    files: list[FileResult]
    version: int | None = None

    @property
    def exit_code(self) -> int:
        return 3 if any(f.status == "refused" for f in self.files) else 0

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "warehouse": self.warehouse, "version": self.version,
                "files": [f.public() for f in self.files]}


# ------------------------------------------------------------------ reading
def parse_name(name: str) -> tuple[str, str, int, dt.date]:
    """(kind, 'YYYY-Www', yyyyww, last day of that ISO week) or FileRefused."""
    m = C.FILE_NAME_RE.match(name)
    if not m:
        raise FileRefused(f"bestandsnaam '{name}' volgt het patroon niet; verwacht: {C.FILE_NAME_PATTERN}")
    year, week = int(m.group("year")), int(m.group("week"))
    try:
        end = dt.date.fromisocalendar(year, week, 7)
    except ValueError:
        raise FileRefused(f"bestandsnaam '{name}': week {year}-W{week:02d} bestaat niet") from None
    return m.group("kind").lower(), f"{year}-W{week:02d}", year * 100 + week, end


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class RawFile:
    """A file read into DuckDB as `table` with VARCHAR columns c0..cN and `rec` (0-based)."""
    table: str
    headers: list[str]
    rows: int
    rejected: list[tuple[int, str, int]]  # (line, raw text, field count) of rows with too many fields
    line_of: callable  # rec indexes -> {rec: line}


def _decode(data: bytes, name: str) -> tuple[str, str]:
    body, encoding = (data[3:], "utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else (data, "utf-8")
    try:
        return body.decode("utf-8"), encoding
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise FileRefused(f"{name}: tekenset niet herkend (geen UTF-8 en geen Windows-1252, byte {exc.start})") from None


def _sniff_delimiter(header_line: str) -> str:
    semi, comma = header_line.count(";"), header_line.count(",")
    return ";" if semi >= comma and semi > 0 else ","


def _numpy_records(data: bytes, delim: str, ncols: int):
    """For a file without quotes: line number of every record and whether any line has too many fields.

    Records are the non-blank lines after the header (as DuckDB reads them).
    """
    import numpy as np

    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(buf)]))
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    nonblank = np.flatnonzero((ends - starts - cr) > 0)
    delims = np.flatnonzero(buf == ord(delim))
    per_line = np.bincount(np.searchsorted(nl, delims), minlength=len(starts))
    too_many = bool((per_line[nonblank[1:]] > ncols - 1).any()) if len(nonblank) > 1 else False
    return nonblank[1:] + 1, too_many


def _python_records(source: Path, delim: str, ncols: int):
    """Line number of every record, and the rows with too many (non-empty) fields: (line, text, n)."""
    lines: list[int] = []
    rejected: list[tuple[int, str, int]] = []
    with open(source, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim, quotechar='"')
        next(reader, None)
        prev_end = reader.line_num
        for row in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not row:
                continue
            if len(row) > ncols and any(f.strip() for f in row[ncols:]):
                rejected.append((start, delim.join(row), len(row)))
                continue
            lines.append(start)
    return lines, rejected


def read_csv_file(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path) -> RawFile:
    """Read a CSV into `table`; DuckDB parses, and an independent count must agree with it.

    Rows with too many fields go to quarantine. When DuckDB and the second reading disagree on the
    rows (unbalanced quotes, for instance), no row can be trusted: the file is refused.
    """
    data = path.read_bytes()
    text, encoding = _decode(data, path.name)
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        raise FileRefused(f"{path.name}: leeg bestand of lege eerste regel; de eerste regel moet de kolomnamen bevatten")
    delim = _sniff_delimiter(first)
    headers = next(csv.reader([first], delimiter=delim, quotechar='"'))
    source = path
    if encoding != "utf-8":  # hand DuckDB clean UTF-8 (diacritics of Windows-1252 exports intact)
        source = workdir / (uuid.uuid4().hex + ".csv")
        source.write_text(text, encoding="utf-8", newline="")
        data = source.read_bytes()
    quoted = '"' in text
    del text
    ncols = len(headers)
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols))
    rj = f"{table}_rejects"

    def duck_read(parallel: bool) -> None:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT *
            FROM read_csv(?, delim=?, quote='"', escape='"', header=true, columns={{{cols}}},
                          auto_detect=false, null_padding=true, store_rejects=true, parallel={str(parallel).lower()},
                          rejects_table='{rj}', rejects_scan='{rj}_scan', encoding='utf-8')""",
                    [str(source), delim])

    try:
        try:
            duck_read(parallel=True)
        except duckdb.Error:  # e.g. quoted newlines with null padding need the serial reader
            duck_read(parallel=False)
    except duckdb.Error as exc:
        raise FileRefused(f"{path.name}: het CSV-bestand is niet te lezen ({str(exc).splitlines()[0][:200]})") from None
    n_rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    n_rej = con.execute(f"SELECT count(DISTINCT line) FROM {rj}").fetchone()[0]
    con.execute(f"DROP TABLE IF EXISTS {rj}")
    con.execute(f"DROP TABLE IF EXISTS {rj}_scan")

    lines, rejected = None, []
    if not quoted and not n_rej:
        lines, too_many = _numpy_records(data, delim, ncols)
        if too_many:
            lines = None
    if lines is None:
        lines, rejected = _python_records(source, delim, ncols)
    if len(lines) != n_rows or len(rejected) != n_rej:
        raise FileRefused(
            f"{path.name}: de rijen zijn niet eenduidig te lezen ({n_rows} + {n_rej} afgewezen volgens de ene "
            f"lezing, {len(lines)} + {len(rejected)} volgens de andere); controleer aanhalingstekens (\") en "
            "scheidingstekens in de export")
    # rows without any value (";;;;") are not data: they are neither read nor quarantined
    con.execute(f"DELETE FROM {table} WHERE " + " AND ".join(
        f"(c{i} IS NULL OR trim(c{i}) = '')" for i in range(ncols)))
    n_rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    del data

    def line_of(recs: set[int]) -> dict[int, int]:
        return {r: int(lines[r]) for r in recs if r < len(lines)}

    return RawFile(table, headers, n_rows, rejected, line_of)


def _cell(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "ja" if v else "nee"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") if v.time() != dt.time(0) else v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M")
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def read_xlsx_file(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> RawFile:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure means the file is broken
        raise FileRefused(f"{path.name}: geen leesbaar XLSX-bestand ({type(exc).__name__})") from None
    try:
        if not wb.worksheets:
            raise FileRefused(f"{path.name}: het XLSX-bestand heeft geen werkblad")
        rows = wb.worksheets[0].iter_rows(values_only=True)
        headers, lines, values = None, [], []
        for lineno, row in enumerate(rows, start=1):
            cells = [_cell(v) for v in row]
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            if headers is None:
                headers = [c or "" for c in cells]
                continue
            lines.append(lineno)
            values.append(cells)
    finally:
        wb.close()
    if headers is None:
        raise FileRefused(f"{path.name}: leeg werkblad; de eerste regel moet de kolomnamen bevatten")
    while headers and not headers[-1]:
        headers.pop()
    n = len(headers)
    rejected = []
    keep_lines, keep = [], []
    for line, cells in zip(lines, values):
        extra = [c for c in cells[n:] if c is not None and str(c).strip()]
        if extra:
            rejected.append((line, ";".join("" if c is None else str(c) for c in cells), n + len(extra)))
            continue
        cells = (cells + [None] * n)[:n]
        keep_lines.append(line)
        keep.append(cells)
    df = pd.DataFrame(keep, columns=[f"c{i}" for i in range(n)], dtype="object").astype("string")
    df.insert(0, "rec", range(len(df)))
    con.register("_xlsx", df)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * EXCLUDE (rec) FROM _xlsx ORDER BY rec")
    con.unregister("_xlsx")
    line_map = dict(enumerate(keep_lines))
    return RawFile(table, headers, len(df), rejected, lambda recs: {r: line_map[r] for r in recs})


# ------------------------------------------------------------------ checking
def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _date_formats() -> str:
    fmts = [d + t for d in C.DATE_FORMATS for t in C.TIME_SUFFIXES]
    return "[" + ", ".join(_q(f) for f in fmts) + "]"


def _code_case(col: C.Column, v: str) -> str:
    if not col.synonyms and all(a == a.lower() for a in col.allowed):  # e.g. soort_code: a fast IN list
        return f"CASE WHEN lower({v}) IN ({', '.join(_q(a) for a in col.allowed)}) THEN lower({v}) END"
    pairs = [(a.lower(), a) for a in col.allowed] + [(s.lower(), c) for s, c in col.synonyms]
    whens = " ".join(f"WHEN {_q(k)} THEN {_q(val)}" for k, val in pairs)
    return f"CASE lower({v}) {whens} END"


def _number(v: str, thousands: bool) -> str:
    """A number with a decimal comma or point; amounts may also carry thousands separators.

    In an amount, a separator followed by exactly three digits and nothing else is a thousands
    separator ("1.500" and "1,500" are 1500 euro); "1.234,56", "1,234.56", "312,50", "1250" read as usual.
    """
    plain = f"WHEN regexp_full_match({v}, '[+-]?[0-9]+([.,][0-9]+)?') THEN TRY_CAST(replace({v}, ',', '.') AS DOUBLE)"
    if not thousands:
        return f"CASE {plain} END"
    return (f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]{{1,3}}(\\.[0-9]{{3}})+(,[0-9]+)?')"
            f" THEN TRY_CAST(replace(replace({v}, '.', ''), ',', '.') AS DOUBLE)"
            f" WHEN regexp_full_match({v}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?')"
            f" THEN TRY_CAST(replace({v}, ',', '') AS DOUBLE) {plain} END")


def column_sql(col: C.Column, week_end: dt.date) -> tuple[str, str]:
    """(parse expression, Dutch error expression) for one contract column.

    The parse expression reads the cleaned text `s."<name>"`; the error expression reads the
    columns of the parsed table: `"v__<name>"` (cleaned text) and `"<name>"` (parsed value), so
    nothing is parsed twice.
    """
    v = f's."{col.name}"'
    V, P = f'"v__{col.name}"', f'"{col.name}"'
    t = col.type
    err_parts: list[tuple[str, str]] = []
    if t == C.TEXT:
        p = v
        if col.name == "adres_id":  # 16-digit BAG id; Excel drops the leading zero of a number
            p = f"CASE WHEN regexp_full_match({v}, '[0-9]{{1,16}}') THEN lpad({v}, 16, '0') END"
            err_parts.append((f"{P} IS NULL", "geen BAG-id van 16 cijfers"))
    elif t in (C.DATE, C.DATETIME):
        p = f"try_strptime({v}, {_date_formats()})"
        if t == C.DATE:
            p = f"CAST({p} AS DATE)"
        err_parts.append((f"{P} IS NULL", "ongeldige datum (verwacht dd-mm-jjjj, d-m-jjjj, jjjj-mm-dd of dd/mm/jjjj)"))
        err_parts.append((f"{P} < DATE {_q(C.MIN_DATE)}", "datum vóór 01-01-2010"))
        if not col.future_ok:
            err_parts.append((f"{P} >= DATE {_q((week_end + dt.timedelta(days=1)).isoformat())}",
                              f"datum na het einde van de extractweek ({week_end:%d-%m-%Y})"))
    elif t == C.TIME:
        p = f"CAST(try_strptime({v}, ['%H:%M', '%H:%M:%S']) AS TIME)"
        err_parts.append((f"{P} IS NULL", "ongeldige tijd (verwacht UU:MM)"))
    elif t == C.CODE:
        p = _code_case(col, v)
        if col.default is not None:
            p = f"coalesce({p}, {_q(col.default)})"
        known = ", ".join(_q(k) for k in dict.fromkeys([a.lower() for a in col.allowed] + [x.lower() for x, _ in col.synonyms]))
        shown = ", ".join(col.allowed) if len(col.allowed) <= 12 else "zie soort_misdrijf.csv"
        err_parts.append((f"lower({V}) NOT IN ({known})", f"onbekende waarde voor {col.name} (toegestaan: {shown})"))
    elif t in (C.INT, C.YEAR):
        p = f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]{{1,9}}') THEN CAST({v} AS INTEGER) END"
        err_parts.append((f"{P} IS NULL", "geen geheel getal"))
        if t == C.YEAR:
            err_parts.append((f"{P} > {week_end.year}", "geboortejaar ligt na het extractjaar"))
    elif t in (C.AMOUNT, C.COORD):
        p = _number(v, thousands=(t == C.AMOUNT))
        err_parts.append((f"{P} IS NULL", "geen getal" + (" (bedrag)" if t == C.AMOUNT else "")))
    elif t == C.YESNO:
        yes = ", ".join(_q(x) for x in C.YES_TOKENS)
        no = ", ".join(_q(x) for x in C.NO_TOKENS)
        p = f"CASE WHEN lower({v}) IN ({yes}) THEN true WHEN lower({v}) IN ({no}) THEN false END"
        err_parts.append((f"{P} IS NULL", "geen ja/nee-waarde"))
    elif t == C.BUURTCODE:
        p = (f"CASE WHEN regexp_full_match(upper({v}), 'BU[0-9]{{8}}') THEN upper({v}) "
             f"WHEN regexp_full_match({v}, '[0-9]{{7,8}}') THEN 'BU' || lpad({v}, 8, '0') END")  # Excel drops a leading 0
        err_parts.append((f"{P} IS NULL", "ongeldige buurtcode (verwacht BU + 8 cijfers)"))
    elif t == C.WIJKCODE:
        p = (f"CASE WHEN regexp_full_match(upper({v}), 'WK[0-9]{{6}}') THEN upper({v}) "
             f"WHEN regexp_full_match({v}, '[0-9]{{5,6}}') THEN 'WK' || lpad({v}, 6, '0') END")
        err_parts.append((f"{P} IS NULL", "ongeldige wijkcode (verwacht WK + 6 cijfers)"))
    else:  # pragma: no cover - the contract only uses the types above
        raise ValueError(t)
    if col.min is not None:
        err_parts.append((f"{P} < {col.min}", f"waarde kleiner dan {col.min:g}"))
    if col.max is not None:
        err_parts.append((f"{P} > {col.max}", f"waarde groter dan {col.max:g}"))
    whens = []
    if col.required:
        whens.append(f"WHEN {V} IS NULL THEN 'verplichte waarde ontbreekt'")
    for cond, msg in err_parts:
        whens.append(f"WHEN {V} IS NOT NULL AND ({cond}) THEN {_q(msg)}")
    err = f"CASE {' '.join(whens)} END" if whens else "NULL::VARCHAR"
    return p, err


def _clean_sql() -> tuple[str, str]:
    """Cleaning raw column {x} in two layers: (trim, no-value tokens -> NULL).

    Written for speed: only values with white space in them are trimmed, and the token test is one
    IN list over the trimmed value. (A chain of nullif() would be equivalent, but DuckDB expands each
    nullif into a CASE that repeats its argument: 2^n copies, a fifth of a second to plan per file.)
    """
    toks = tuple(dict.fromkeys(v for t in C.NULL_TOKENS for v in (t, t.upper(), t.capitalize())))
    trim = ("CASE WHEN contains({x}, ' ') OR contains({x}, chr(9)) OR contains({x}, chr(160)) "
            "THEN trim({x}, ' \t\u00a0') ELSE {x} END")
    tokens = "CASE WHEN {x} IN (" + ", ".join(_q(t) for t in toks) + ") THEN NULL ELSE {x} END"
    return trim, tokens


CLEAN_TRIM, CLEAN_TOKENS = _clean_sql()


@dataclass
class Checked:
    """Counts of a checked file; the rows themselves are in temp tables `_rec` (records, with `_ok`)
    and `_err` (rec, column, value, reason)."""
    rows_read: int
    rows_bad: int
    disagreements: int


_NULL_OF = {C.DATE: "DATE", C.DATETIME: "TIMESTAMP", C.TIME: "TIME", C.INT: "INTEGER", C.YEAR: "INTEGER",
            C.AMOUNT: "DOUBLE", C.COORD: "DOUBLE", C.YESNO: "BOOLEAN"}


def check(con: duckdb.DuckDBPyConnection, kind: C.Kind, raw: RawFile, mapping: dict[str, int],
          week_end: dt.date) -> Checked:
    """Clean, parse and check every row; place it on the areas. Few passes over the rows (speed)."""
    # one pass: cleaned text (v__x), parsed value (x) and error (e__x) per contract column
    trimmed, inner, outer, err_cols = ["rowid AS rec"], ["rec"], ["s.rec"], []
    for col in kind.columns:
        if col.name in mapping:
            trimmed.append(f'{CLEAN_TRIM.format(x="c" + str(mapping[col.name]))} AS "{col.name}"')
            inner.append(f'{CLEAN_TOKENS.format(x=chr(34) + col.name + chr(34))} AS "{col.name}"')
            p, e = column_sql(col, week_end)
            outer += [f's."{col.name}" AS "v__{col.name}"', f'{p} AS "{col.name}"']
            err_cols.append((col.name, e))
        else:
            default = _q(col.default) if col.default is not None else "NULL"
            outer += [f'NULL::VARCHAR AS "v__{col.name}"', f'{default}::{_NULL_OF.get(col.type, "VARCHAR")} AS "{col.name}"']
    con.execute(f"CREATE OR REPLACE TEMP TABLE _p AS SELECT {', '.join(outer)} "
                f"FROM (SELECT {', '.join(inner)} FROM (SELECT {', '.join(trimmed)} FROM {raw.table})) s")

    # row-level rules: one-of groups, coordinate pairs, date order
    rules = []
    for group, msg in kind.one_of:
        rules.append((group[0], " AND ".join(f'"v__{c}" IS NULL' for c in group), msg))
    if kind.coordinates:
        rules.append(("x_rd", '("v__x_rd" IS NULL) <> ("v__y_rd" IS NULL)', "x_rd en y_rd horen samen"))
        rules.append(("lat", '("v__lat" IS NULL) <> ("v__lon" IS NULL)', "lat en lon horen samen"))
    for earlier, later in kind.order_rules:
        rules.append((later, f'"{later}" < "{earlier}"', f"{later} ligt vóór {earlier}"))
    err_selects = [f"""SELECT * FROM (SELECT rec, '{c}' AS "column", "v__{c}" AS value, {e} AS reason FROM _p)
                       WHERE reason IS NOT NULL""" for c, e in err_cols]
    err_selects += [f"""SELECT rec, '{c}', "v__{c}", {_q(msg)} FROM _p WHERE {cond}""" for c, cond, msg in rules]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _err AS {' UNION ALL '.join(err_selects)}")

    # location: RD New and WGS84 both (RD wins when both are given), in one narrow table
    bu, wk = ("woon_buurtcode", "woon_wijkcode") if not kind.coordinates else ("buurtcode", "wijkcode")
    if kind.coordinates:
        lat_sql, lon_sql = rd_to_wgs84_sql("x_rd", "y_rd")
        x_sql, y_sql = wgs84_to_rd_sql("lat", "lon")
        xy, ll = "(x_rd IS NOT NULL AND y_rd IS NOT NULL)", "(lat IS NOT NULL AND lon IS NOT NULL)"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _loc AS
            SELECT * EXCLUDE (x_rd, y_rd, lat, lon, {bu}, {wk}), {bu} AS in_bu, {wk} AS in_wk,
                   CASE WHEN {xy} THEN x_rd WHEN {ll} THEN {x_sql} END AS x_rd,
                   CASE WHEN {xy} THEN y_rd WHEN {ll} THEN {y_sql} END AS y_rd,
                   CASE WHEN {xy} THEN {lat_sql} WHEN {ll} THEN lat END AS lat,
                   CASE WHEN {xy} THEN {lon_sql} WHEN {ll} THEN lon END AS lon
            FROM _p""")
    else:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _loc AS
            SELECT * EXCLUDE ({bu}, {wk}), {bu} AS in_bu, {wk} AS in_wk, NULL::DOUBLE AS x_rd, NULL::DOUBLE AS y_rd,
                   NULL::DOUBLE AS lat, NULL::DOUBLE AS lon FROM _p""")

    # placement on the areas, the full record with its identity hash, and the current version of its key
    # (one pass; the decision which version wins is made in merge())
    placed = placement_sql(con, "_loc")
    fact_cols = [c.name for c in kind.columns if not c.location]
    key = kind.key
    extra = ""
    if kind.name == "incidenten":
        extra = (', CAST(p.pleegdatum AS DATE) AS pleegdatum_d, coalesce(p.pleegtijd, CASE WHEN p."v__pleegdatum" '
                 "LIKE '%:%' THEN CAST(p.pleegdatum AS TIME) END) AS pleegtijd_f")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rec AS
        SELECT p.rec, {', '.join(f'p."{c}"' for c in fact_cols)},
               p.x_rd, p.y_rd, p.lat, p.lon, p.in_bu AS input_buurtcode, p.in_wk AS input_wijkcode,
               p.buurtcode, p.wijkcode, p.gemeentecode, p.error AS _placement_error, p.disagree AS _disagree {extra},
               hash({', '.join(f'p."{c}"' for c in fact_cols)}, p.x_rd, p.y_rd, p.in_bu, p.in_wk) AS _hash,
               c._hash AS _cur_hash, c.bron_weeknr AS _cur_week, c.ingest_seq AS _cur_seq, c."{key}" IS NOT NULL AS _present,
               true AS _ok
        FROM ({placed}) p
        LEFT JOIN {kind.name} c ON c."{key}" = p."{key}" """)
    perr = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in PLACEMENT_ERRORS.items())
    con.execute(f"""
        INSERT INTO _err
        SELECT rec,
               CASE _placement_error WHEN 'outside' THEN 'locatie' WHEN 'unknown_wijk' THEN '{wk}' ELSE '{bu}' END,
               CASE _placement_error WHEN 'outside' THEN printf('x=%.1f, y=%.1f', x_rd, y_rd)
                    WHEN 'unknown_wijk' THEN input_wijkcode ELSE input_buurtcode END,
               CASE _placement_error {perr} END
        FROM _rec WHERE _placement_error IS NOT NULL AND rec NOT IN (SELECT rec FROM _err)""")
    disagreements = con.execute("SELECT count(*) FROM _rec WHERE _disagree").fetchone()[0]

    # duplicates inside the file: identical lines count once, different ones all go to quarantine
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _dups AS
        WITH candidates AS (  -- group on a 64-bit hash first (fast), then exactly on the few candidates
            SELECT hash("{key}") AS h FROM _rec WHERE "{key}" IS NOT NULL GROUP BY 1 HAVING count(*) > 1)
        SELECT "{key}" AS k, count(DISTINCT _hash) AS versions, min(rec) AS first
        FROM _rec WHERE hash("{key}") IN (SELECT h FROM candidates)
        GROUP BY 1 HAVING count(*) > 1""")
    con.execute(f"""
        INSERT INTO _err
        SELECT r.rec, '{key}', r."{key}", 'sleutel komt meerdere keren voor in dit bestand met verschillende waarden'
        FROM _rec r JOIN _dups d ON d.k = r."{key}"
        WHERE d.versions > 1 AND r.rec NOT IN (SELECT rec FROM _err)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _skip AS
        SELECT rec FROM _err
        UNION SELECT r.rec FROM _rec r JOIN _dups d ON d.k = r."{key}" WHERE r.rec <> d.first""")
    con.execute("UPDATE _rec SET _ok = false WHERE rec IN (SELECT rec FROM _skip)")
    bad = con.execute("SELECT count(DISTINCT rec) FROM _err").fetchone()[0]
    return Checked(raw.rows + len(raw.rejected), bad + len(raw.rejected), disagreements)


# ------------------------------------------------------------------ merging
def _fact_select(kind: C.Kind) -> str:
    """Columns of the staged records in the fact table's order."""
    if kind.name == "incidenten":
        head = ("registratienummer, pleegdatum_d, pleegtijd_f, "
                "CASE WHEN pleegtijd_f IS NOT NULL THEN pleegdatum_d + pleegtijd_f END, "
                "registratiedatum, soort_code, soort, status")
    elif kind.name == "registraties":
        head = "registratie_id, CAST(datum AS DATE), datum, bron, categorie, omschrijving"
    elif kind.name == "cyber_slachtoffers":
        head = ("aangifte_id, aangiftedatum, delict, "
                "coalesce(leeftijd, year(aangiftedatum) - geboortejaar), geboortejaar, geslacht, "
                "opleidingsniveau, schadebedrag")
    else:
        head = ("zaaknummer, signaaldatum, signaalbron, ruimingsdatum, aantal_planten, type_pand, eigendom, "
                "stroomdiefstal, besluit_13b, sluiting_begin, sluiting_eind, adres_id")
    return head + ", x_rd, y_rd, lat, lon, input_buurtcode, input_wijkcode, buurtcode, wijkcode, gemeentecode"


def merge(con: duckdb.DuckDBPyConnection, kind: C.Kind, res: FileResult, weeknr: int, seq: int, run_id: str) -> None:
    """Apply the staged records: the version from the latest ISO week wins; same week, the later ingest."""
    key = kind.key
    wins = f"(NOT _present OR {weeknr} > _cur_week OR ({weeknr} = _cur_week AND {seq} > _cur_seq))"
    ok = "_ok"
    new, replaced, unchanged, superseded = con.execute(f"""
        SELECT count(*) FILTER (WHERE NOT _present),
               count(*) FILTER (WHERE _present AND {wins} AND _hash <> _cur_hash),
               count(*) FILTER (WHERE _present AND {wins} AND _hash = _cur_hash),
               count(*) FILTER (WHERE NOT {wins}) FROM _rec WHERE {ok}""").fetchone()
    if replaced + unchanged:
        con.execute(f"""DELETE FROM {kind.name} WHERE "{key}" IN
                        (SELECT "{key}" FROM _rec WHERE _present AND {wins} AND {ok})""")
    con.execute(f"""
        INSERT INTO {kind.name}
        SELECT {_fact_select(kind)}, ?, ?, ?, ?, ?, _hash FROM _rec WHERE {wins} AND {ok}""",
                [res.file, res.week, weeknr, seq, run_id])
    res.rows_new, res.rows_replaced, res.rows_unchanged, res.rows_superseded = new, replaced, unchanged, superseded


def store_quarantine(con, kind: C.Kind, raw: RawFile, res: FileResult, run_id: str) -> None:
    recs = {r for (r,) in con.execute("SELECT DISTINCT rec FROM _err").fetchall()}
    lines = raw.line_of(recs)
    rows = [(r, lines.get(r)) for r in recs]
    con.register("_lines", pd.DataFrame(rows, columns=["rec", "line"]).astype({"rec": "int64", "line": "Int64"}))
    record = "json_object(" + ", ".join(f"{_q(h)}, r.c{i}" for i, h in enumerate(raw.headers)) + ")"
    con.execute(f"""
        INSERT INTO quarantine
        SELECT ?, ?, ?, l.line, e."column", e.value, e.reason, {record}
        FROM _err e JOIN _lines l USING (rec) JOIN {raw.table} r ON r.rowid = e.rec
        ORDER BY l.line, e."column" """, [run_id, res.file, kind.name])
    con.unregister("_lines")
    for line, text, n in raw.rejected:
        con.execute("INSERT INTO quarantine VALUES (?, ?, ?, ?, '(regel)', ?, ?, NULL)",
                    [run_id, res.file, kind.name, line, text[:2000],
                     f"te veel velden ({n}, verwacht {len(raw.headers)})"])


# ------------------------------------------------------------------ the run
def _summary_of_errors(con) -> str:
    rows = con.execute("""SELECT "column", reason, count(*) FROM _err GROUP BY ALL ORDER BY 3 DESC LIMIT 5""").fetchall()
    return "; ".join(f"{c}: {r} ({n}x)" for c, r, n in rows)


def process_file(con: duckdb.DuckDBPyConnection, path: Path, seq: int, run_id: str, cfg: Config,
                 workdir: Path) -> FileResult:
    res = FileResult(file=path.name, kind=None, week=None, status="refused", path=path)
    try:
        res.sha256 = sha256_file(path)
        kind_name, week, weeknr, week_end = parse_name(path.name)
        res.kind, res.week = kind_name, week
        kind = C.KINDS[kind_name]
        seen = con.execute("SELECT run_id FROM ingest_files WHERE sha256 = ? AND status = 'loaded' LIMIT 1",
                           [res.sha256]).fetchone()
        if seen:
            res.status = "skipped"
            res.reason = f"dezelfde inhoud is al geladen (run {seen[0]})"
            return res
        table = "_raw"
        if path.suffix.lower() == ".xlsx":
            raw = read_xlsx_file(con, path, table)
        else:
            raw = read_csv_file(con, path, table, workdir)
        mapping, ignored = C.match_headers(kind, raw.headers)
        res.ignored_columns = ignored
        missing = C.missing_required(kind, mapping)
        if missing:
            raise FileRefused(f"{path.name}: verplichte kolom ontbreekt: "
                              + "; ".join(C.describe_column(c) for c in missing)
                              + ".", details=f"Gevonden kolommen: {', '.join(raw.headers)}")
        for group, _msg in kind.one_of:
            if not any(c in mapping for c in group):
                raise FileRefused(f"{path.name}: geen van de kolommen {', '.join(group)} is aanwezig; "
                                  "minstens één ervan is verplicht.", details=f"Gevonden kolommen: {', '.join(raw.headers)}")
        chk = check(con, kind, raw, mapping, week_end)
        res.rows_read = chk.rows_read
        res.rows_quarantined = chk.rows_bad
        res.location_disagreements = chk.disagreements
        if chk.rows_read and chk.rows_bad * 100.0 > cfg.max_bad_rows_pct * chk.rows_read:
            pct = 100.0 * chk.rows_bad / chk.rows_read
            raise FileRefused(f"{path.name}: {chk.rows_bad} van {chk.rows_read} rijen afgekeurd "
                              f"({pct:.1f}%, drempel {cfg.max_bad_rows_pct:g}%): de export is waarschijnlijk kapot. "
                              f"Meest voorkomende fouten: {_summary_of_errors(con)}")
        res.rows_loaded = chk.rows_read - chk.rows_bad
        merge(con, kind, res, weeknr, seq, run_id)
        store_quarantine(con, kind, raw, res, run_id)
        res.status = "loaded"
    except FileRefused as exc:
        res.status = "refused"
        res.reason = str(exc)
        res.details = exc.details
        res.rows_loaded = 0
    return res


def inbox_files(inbox: Path) -> list[Path]:
    files = [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")
             and not p.name.endswith(".reden.txt")]

    def order(p: Path):
        m = C.FILE_NAME_RE.match(p.name)
        week = (int(m.group("year")), int(m.group("week"))) if m else (0, 0)
        return (week, p.stat().st_mtime_ns, p.name)

    return sorted(files, key=order)


def _unique_target(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    n = 1
    while target.exists() or target.with_name(target.name + ".reden.txt").exists():  # never overwrite
        stem, dot, ext = name.rpartition(".")
        target = folder / f"{stem}.{n}.{ext}" if dot else folder / f"{name}.{n}"
        n += 1
    return target


def move_files(results: list[FileResult], cfg: Config) -> None:
    """After the commit: loaded/skipped -> processed/<kind>/, refused -> refused/ + <name>.reden.txt.

    A file whose content changed since it was read (re-delivered during the run) stays in the
    inbox: the next run reads it again.
    """
    for r in results:
        if r.path is None or not r.path.exists():
            continue
        if r.sha256 is not None and sha256_file(r.path) != r.sha256:
            log.warning("bestand %s is tijdens de run veranderd; het blijft in de inbox voor de volgende run", r.file)
            continue
        if r.status == "refused":
            target = _unique_target(cfg.refused, r.path.name)
            details = f"Details: {r.details}\n" if r.details else ""
            target.with_name(target.name + ".reden.txt").write_text(  # the reason first, then the file
                f"Bestand: {r.file}\nGeweigerd op: {dt.datetime.now():%d-%m-%Y %H:%M}\nReden: {r.reason}\n{details}"
                "Herstel de export en lever het bestand opnieuw aan in de inbox.\n", encoding="utf-8")
            shutil.move(str(r.path), target)
        else:
            target = _unique_target(cfg.processed / (r.kind or "onbekend"), r.path.name)
            shutil.move(str(r.path), target)


def run_ingest(cfg: Config, progress=None, mark_demo: bool = False) -> RunResult:
    """Load every file in the inbox as one new warehouse version.

    `mark_demo` labels the warehouse as demo data (meta `demo` = 'ja'), in the same version.
    """
    run_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    cfg.inbox.mkdir(parents=True, exist_ok=True)
    result = RunResult(run_id, str(cfg.warehouse), [])
    started = dt.datetime.now()
    # one ingest at a time, from listing the inbox until the files are moved out of it
    with exclusive_lock(cfg.warehouse, cfg.lock_timeout):
        ensure_warehouse(cfg.warehouse, cfg.keep_versions, cfg.lock_timeout, lock=False)
        files = inbox_files(cfg.inbox)
        log.info("run %s: %d bestand(en) in %s", run_id, len(files), cfg.inbox)
        with tempfile.TemporaryDirectory(prefix="ingest-") as workdir, \
                write_version(cfg.warehouse, cfg.keep_versions, cfg.lock_timeout, lock=False) as w:
            con = w.con
            log.info("werkkopie van versie %d gemaakt", w.base_version)
            seq0 = int((con.execute("SELECT value FROM meta WHERE key='ingest_seq'").fetchone() or ["0"])[0])
            for i, path in enumerate(files, start=1):
                log.info("bestand %s: lezen en controleren", path.name)
                res = process_file(con, path, seq0 + i, run_id, cfg, Path(workdir))
                result.files.append(res)
                log.info("bestand %s: %s (gelezen %d, geladen %d, quarantaine %d, nieuw %d, vervangen %d)%s",
                         res.file, res.status, res.rows_read, res.rows_loaded, res.rows_quarantined, res.rows_new,
                         res.rows_replaced, f" - {res.reason}" if res.reason else "")
                con.execute("""INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                            [run_id, res.file, res.kind, res.week, res.sha256, res.status, res.rows_read,
                             res.rows_loaded, res.rows_quarantined, res.rows_new, res.rows_replaced,
                             res.rows_unchanged, res.rows_superseded, res.location_disagreements,
                             res.ignored_columns, res.reason, dt.datetime.now()])
                if progress:
                    progress(i, len(files), res)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('ingest_seq', ?)", [str(seq0 + len(files))])
            n = {s: sum(1 for f in result.files if f.status == s) for s in ("loaded", "skipped", "refused")}
            loaded = [f for f in result.files if f.status == "loaded"]  # a refused file stores no quarantine rows
            con.execute("INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, started, dt.datetime.now(), w.new_version, n["loaded"], n["skipped"], n["refused"],
                         sum(f.rows_loaded for f in loaded), sum(f.rows_quarantined for f in loaded)])
            if mark_demo:
                con.execute("INSERT OR REPLACE INTO meta VALUES ('demo', 'ja')")
            if not files:
                w.commit = False
            w.note = f"ingest {run_id}: {n['loaded']} geladen, {n['skipped']} overgeslagen, {n['refused']} geweigerd"
            result.version = w.new_version if files else w.base_version
            log.info("nieuwe versie %d wordt gepubliceerd", w.new_version)
        log.info("versie gepubliceerd; bestanden worden verplaatst")
        move_files(result.files, cfg)
    log.info("run %s klaar", run_id)
    return result


def main(args) -> int:
    """CLI entry: exit 0 all loaded/skipped, 3 some refused, 2 usage/config, 1 unexpected."""
    cfg = Config.from_env(warehouse=args.warehouse, inbox=args.inbox)
    interactive = sys.stderr.isatty() and not args.json
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s ingest %(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if interactive else logging.INFO)
    log.propagate = False
    bar = progress = None
    if interactive:
        from tqdm import tqdm

        bar = tqdm(total=len(inbox_files(cfg.inbox)) if cfg.inbox.exists() else 0, unit="bestand", desc="ingest")

        def progress(i, n, res):
            bar.set_postfix_str(f"{res.file}: {res.status}")
            bar.update(1)
    try:
        result = run_ingest(cfg, progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for f in result.files:
            print(f"{f.status:8} {f.file}: gelezen {f.rows_read}, geladen {f.rows_loaded}, "
                  f"quarantaine {f.rows_quarantined}, nieuw {f.rows_new}, vervangen {f.rows_replaced}"
                  + (f", locatie wijkt af van code {f.location_disagreements}x" if f.location_disagreements else "")
                  + (f"\n         genegeerde kolommen: {', '.join(f.ignored_columns)}" if f.ignored_columns else "")
                  + (f"\n         reden: {f.reason}" if f.reason else ""))
        print(f"versie {result.version} van {result.warehouse}")
    return result.exit_code

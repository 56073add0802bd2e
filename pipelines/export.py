"""Aggregated counts of current records, for analysts and administrators on the server."""
from __future__ import annotations

import csv
import datetime as dt
import json
import sys

from veiligheid import contract as C
from veiligheid.warehouse import connect_readonly

# by-column -> SQL expression over the fact table `f` joined to wijken `w` and soort_misdrijf `sm`
_DIMENSIONS = {
    "gemeentecode": "f.gemeentecode",
    "wijkcode": "f.wijkcode",
    "buurtcode": "f.buurtcode",
    "stadsdeel": "w.stadsdeel",
    "thema": "sm.thema",
    "soort_code": "f.soort_code",
    "categorie": "f.categorie",
    "bron": "f.bron",
    "delict": "f.delict",
    "signaalbron": "f.signaalbron",
    "type_pand": "f.type_pand",
}
_KIND_ONLY = {"thema": "incidenten", "soort_code": "incidenten", "categorie": "registraties",
              "bron": "registraties", "delict": "cyber_slachtoffers", "signaalbron": "hennep", "type_pand": "hennep"}


class ExportError(ValueError):
    pass


def allowed_columns(kind: str) -> list[str]:
    return [c for c in (*_DIMENSIONS, *C.TIME_DIMENSIONS) if _KIND_ONLY.get(c, kind) == kind]


def build_query(kind: str, by: list[str], date_from: dt.date | None, date_to: dt.date | None) -> tuple[str, list]:
    if kind not in C.KINDS:
        raise ExportError(f"onbekende soort '{kind}'; kies uit: {', '.join(C.KINDS)}")
    allowed = allowed_columns(kind)
    bad = [c for c in by if c not in allowed]
    if not by or bad:
        raise ExportError(f"kolom(men) {', '.join(bad) or '(geen)'} niet mogelijk voor {kind}; kies uit: {', '.join(allowed)}")
    if len(set(by)) != len(by):
        raise ExportError("een kolom staat dubbel in --by")
    date = C.KINDS[kind].date_column
    exprs = []
    for c in by:
        if c == "jaar":
            e = f"CAST(year(f.{date}) AS VARCHAR)"
        elif c == "maand":
            e = f"strftime(f.{date}, '%Y-%m')"
        elif c == "week":
            e = f"printf('%04d-W%02d', isoyear(f.{date}), week(f.{date}))"
        else:
            e = _DIMENSIONS[c]
        exprs.append(f'{e} AS "{c}"')
    where, params = ["TRUE"], []
    if kind == "incidenten":
        where.append("f.status <> 'vervallen'")
    if date_from:
        where.append(f"f.{date} >= ?")
        params.append(date_from)
    if date_to:
        where.append(f"f.{date} <= ?")
        params.append(date_to)
    cols = ", ".join(f'"{c}"' for c in by)
    sql = f"""SELECT {', '.join(exprs)}, count(*) AS aantal
              FROM {kind} f LEFT JOIN wijken w ON w.wijkcode = f.wijkcode
              {'LEFT JOIN soort_misdrijf sm ON sm.code = f.soort_code' if kind == 'incidenten' else ''}
              WHERE {' AND '.join(where)}
              GROUP BY ALL ORDER BY {cols} NULLS LAST"""
    return sql, params


def export(con, kind: str, by: list[str], date_from=None, date_to=None):
    sql, params = build_query(kind, by, date_from, date_to)
    cur = con.execute(sql, params)
    header = [d[0] for d in cur.description]
    return header, cur.fetchall()


def _date(value: str | None, flag: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ExportError(f"{flag} '{value}' is geen datum JJJJ-MM-DD") from None


def main(args) -> int:
    from veiligheid.config import Config
    from veiligheid.warehouse import ensure_warehouse

    cfg = Config.from_env(warehouse=args.warehouse)
    by = [c.strip() for c in args.by.split(",") if c.strip()]
    d_from, d_to = _date(args.date_from, "--from"), _date(args.date_to, "--to")
    build_query(args.kind, by, d_from, d_to)  # validate before touching the warehouse
    ensure_warehouse(cfg.warehouse, cfg.keep_versions, cfg.lock_timeout)
    con = connect_readonly(cfg.warehouse)
    try:
        header, rows = export(con, args.kind, by, d_from, d_to)
    finally:
        con.close()
    if args.format == "json":
        json.dump([dict(zip(header, r)) for r in rows], sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return 0

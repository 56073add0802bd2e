"""The priorities register of the Veiliger Wijkteams, and the results of each priority (plain Python).

Each team records the area-bound priorities it agreed: theme, area (stadsdeel or wijk), start date,
optional end date, a short note and who recorded it. The register is a small SQLite file at the
setting VEILIGHEID_REGISTER, OUTSIDE the DuckDB warehouse: the weekly ingest replaces the warehouse
file and never touches the register, and the dashboard keeps opening the warehouse read-only (it
never holds a write lock on it). SQLite in WAL mode, a schema version table, created on first use;
one short connection per operation (Streamlit serves sessions on threads).

Results: for each priority, the theme's count in its area after the start against an equally long
period before it, compared with the rest of the city over the same days, a simple
difference-in-differences: the ratio of the two rate ratios

    RRR = (after_area / before_area) / (after_rest / before_rest)

with a 95 % interval from the log-normal approximation, se(log RRR) = sqrt(1/a1 + 1/a0 + 1/c1 + 1/c0)
(0.5 added to all four counts when one is zero). RRR < 1: the area did better than the rest of the
city. Seasonality and city-wide trends affect both sides and cancel out; what stays is honest about
its uncertainty, and it is not proof that the priority caused the change.
"""
from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Collection
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import config, disclosure, fmt, queries

SCHEMA_VERSION = 1
AREA_LEVELS = {"stadsdeel": "Stadsdeel", "wijk": "Wijk"}
NOTE_MAX = 500
MIN_AFTER_DAYS = 28  # less than 4 weeks since the start: too early to say anything
MIN_BEFORE_DAYS = 28
MIN_AREA_COUNT = 10  # before + after in the area: fewer is too few for a verdict
Z95 = 1.959963984540054

MIGRATIONS: dict[int, list[str]] = {
    1: ["""
        CREATE TABLE priorities (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            team TEXT NOT NULL,
            theme TEXT NOT NULL,
            area_level TEXT NOT NULL CHECK (area_level IN ('stadsdeel', 'wijk')),
            area_code TEXT NOT NULL,
            start_date TEXT NOT NULL,
            end_date TEXT,
            note TEXT NOT NULL DEFAULT '',
            recorded_by TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            ended_by TEXT,
            ended_at TEXT,
            CHECK (end_date IS NULL OR end_date >= start_date))""",
        "CREATE INDEX priorities_team ON priorities (team, start_date)"],
}
COLUMNS = ["id", "team", "theme", "area_level", "area_code", "start_date", "end_date", "note", "recorded_by",
           "recorded_at", "ended_by", "ended_at"]


class RegisterError(ValueError):
    """A priority cannot be recorded or ended (message in Dutch, for the screen)."""


def default_path() -> Path:
    return config.setting_path("VEILIGHEID_REGISTER")


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class Register:
    """The priorities register in one SQLite file (created with its schema on first use)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_path()

    # -------------------------------------------------------------- connection and schema
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 15000")
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # e.g. a file system without shared memory: still correct, just slower
            con.execute("PRAGMA journal_mode = DELETE")
        con.execute("PRAGMA synchronous = FULL")
        self._migrate(con)
        return con

    def _migrate(self, con: sqlite3.Connection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
        current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        if current >= SCHEMA_VERSION:
            if current > SCHEMA_VERSION:
                raise RegisterError(f"Het prioriteitenregister ({self.path.name}) heeft schemaversie {current}; deze "
                                    f"versie van de app kent er {SCHEMA_VERSION}. Werk de app bij.")
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            for v in range(current + 1, SCHEMA_VERSION + 1):
                for sql in MIGRATIONS[v]:
                    con.execute(sql)
                con.execute("INSERT INTO schema_version VALUES (?, ?)", [v, _now()])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        with closing(self._connect()) as con:
            return int(con.execute("SELECT max(version) FROM schema_version").fetchone()[0])

    # -------------------------------------------------------------- writing
    def add(self, team: str, theme: str, area_level: str, area_code: str, start_date: dt.date,
            end_date: dt.date | None, note: str, recorded_by: str, *, allowed_teams: Collection[str] | None) -> int:
        """Record a priority; returns its id. Raises RegisterError (Dutch) on bad input.

        allowed_teams: the teams the acting user may act for (`allowed_teams(viewer, team)`); None = every
        team (analist, beheer). Required, so no caller can forget it."""
        team, theme, area_code = (str(x or "").strip() for x in (team, theme, area_code))
        note = str(note or "").strip()
        if not team:
            raise RegisterError("Kies het team waarvoor u de prioriteit vastlegt.")
        _check_team(team, allowed_teams)
        if not theme:
            raise RegisterError("Kies een thema.")
        if area_level not in AREA_LEVELS:
            raise RegisterError("Kies als gebied een stadsdeel of een wijk.")
        if not area_code:
            raise RegisterError("Kies het gebied.")
        if not isinstance(start_date, dt.date):
            raise RegisterError("Vul een startdatum in.")
        if end_date is not None and end_date < start_date:
            raise RegisterError("De einddatum ligt vóór de startdatum.")
        if len(note) > NOTE_MAX:
            raise RegisterError(f"De notitie is te lang (hoogstens {NOTE_MAX} tekens).")
        if not str(recorded_by or "").strip():
            raise RegisterError("Onbekend wie de prioriteit vastlegt.")
        with closing(self._connect()) as con:
            cur = con.execute(
                """INSERT INTO priorities (team, theme, area_level, area_code, start_date, end_date, note,
                                           recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [team, theme, area_level, area_code, start_date.isoformat(),
                 end_date.isoformat() if end_date else None, note, str(recorded_by).strip(), _now()])
            return int(cur.lastrowid)

    def end(self, priority_id: int, end_date: dt.date, ended_by: str, *,
            allowed_teams: Collection[str] | None) -> None:
        """End a priority on `end_date` (recorded with who and when). Raises RegisterError.
        allowed_teams: as for `add` (the priority's own team must be among them)."""
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                row = con.execute("SELECT start_date, ended_at, team FROM priorities WHERE id = ?",
                                  [int(priority_id)]).fetchone()
                if row is None:
                    raise RegisterError(f"Prioriteit {priority_id} bestaat niet.")
                _check_team(row[2], allowed_teams, "beëindigen")
                if row[1] is not None:
                    raise RegisterError("Deze prioriteit is al beëindigd.")
                if end_date < dt.date.fromisoformat(row[0]):
                    raise RegisterError("De einddatum ligt vóór de startdatum.")
                if not str(ended_by or "").strip():
                    raise RegisterError("Onbekend wie de prioriteit beëindigt.")
                con.execute("UPDATE priorities SET end_date = ?, ended_by = ?, ended_at = ? WHERE id = ?",
                            [end_date.isoformat(), str(ended_by).strip(), _now(), int(priority_id)])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # -------------------------------------------------------------- reading
    def list(self, team: str | None = None, today: dt.date | None = None) -> pd.DataFrame:
        """All priorities (of one team), newest start first, with a `status`:
        'gepland' (starts later), 'actief', 'afgelopen' (end date passed), 'beëindigd' (ended early by hand)."""
        today = today or dt.date.today()
        sql = f"SELECT {', '.join(COLUMNS)} FROM priorities"
        params: list = []
        if team is not None:
            sql += " WHERE team = ?"
            params.append(team)
        sql += " ORDER BY start_date DESC, id DESC"
        with closing(self._connect()) as con:
            rows = con.execute(sql, params).fetchall()
        cols = {c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}
        for c in ("start_date", "end_date"):
            cols[c] = [dt.date.fromisoformat(x) if x else None for x in cols[c]]
        # object columns with None for "no value" (not pandas' NA): plain Python values for the page
        df = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in cols.items()}, columns=COLUMNS)
        df["id"] = df["id"].astype("int64")
        df["status"] = [_status(s, e, ea, today) for s, e, ea in zip(df["start_date"], df["end_date"], df["ended_at"])]
        return df

    def get(self, priority_id: int) -> dict | None:
        df = self.list()
        hit = df[df["id"] == int(priority_id)]
        return None if hit.empty else hit.iloc[0].to_dict()


def allowed_teams(viewer, team: str | None = None) -> frozenset[str] | None:
    """The teams a viewer may record or end priorities for, decided by who the viewer is.

    wijkteam: only their own Veiliger Wijkteam (`viewer.team`, from the account or the OIDC team mapping),
    whatever stadsdeel they are viewing; without a team: none at all (empty set). analist and beheer: every
    team (None); they record on behalf of a team and the audit log records who did. `team` (the team being
    viewed) is accepted for older callers and does not change the answer."""
    if getattr(viewer, "unsuppressed", False):
        return None
    own = str(getattr(viewer, "team", None) or "").strip()
    return frozenset({own}) if own else frozenset()


def may_act(viewer, team: str) -> bool:
    """Whether the viewer may record and end priorities of `team` (the same rule `add` and `end` enforce)."""
    allowed = allowed_teams(viewer)
    return allowed is None or _key(team) in {_key(t) for t in allowed}


def _key(team: str) -> str:
    return str(team or "").strip().casefold()


def _check_team(team: str, allowed: Collection[str] | None, what: str = "vastleggen") -> None:
    if allowed is None:
        return
    if not allowed:
        raise RegisterError(f"Uw account is niet aan een Veiliger Wijkteam gekoppeld, dus u kunt geen prioriteiten "
                            f"{what}; vraag functioneel beheer om dat te doen.")
    if _key(team) not in {_key(t) for t in allowed}:
        own = ", ".join(sorted(str(t).strip() for t in allowed))
        raise RegisterError(f"U mag alleen prioriteiten van uw eigen team {what} ({own}), niet van {team}. "
                            "Een analist kan dit voor elk team doen.")


def _status(start: dt.date, end: dt.date | None, ended_at, today: dt.date) -> str:
    if start > today:
        return "gepland"
    if ended_at and end is not None and end <= today:
        return "beëindigd"
    if end is not None and end < today:
        return "afgelopen"
    return "actief"


STATUS_LABEL = {"gepland": "gepland", "actief": "loopt", "afgelopen": "afgelopen", "beëindigd": "beëindigd"}


# ------------------------------------------------------------------ results: difference-in-differences
@dataclass(frozen=True)
class Result:
    status: str  # 'niet_begonnen', 'te_vroeg', 'geen_voorperiode', 'te_weinig', 'beter', 'slechter', 'geen_verschil'
    verdict: str  # plain Dutch
    before: tuple[dt.date, dt.date] | None = None
    after: tuple[dt.date, dt.date] | None = None
    area_before: int = 0
    area_after: int = 0
    rest_before: int = 0
    rest_after: int = 0
    change_area: float = math.nan  # rate ratio - 1 in the area
    change_rest: float = math.nan
    ratio: float = math.nan  # ratio of rate ratios
    lo: float = math.nan
    hi: float = math.nan

    @property
    def has_estimate(self) -> bool:
        return self.status in ("beter", "slechter", "geen_verschil")


def windows(start: dt.date, end: dt.date | None, data_start: dt.date | None, data_end: dt.date
            ) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(before, after): after = start .. the end date or the last day with data; before = as many days
    just before the start (shorter when the data start later)."""
    after_end = min(end, data_end) if end else data_end
    days = (after_end - start).days + 1
    before_end = start - dt.timedelta(days=1)
    before_start = before_end - dt.timedelta(days=max(days, 1) - 1)
    if data_start is not None and before_start < data_start:
        before_start = data_start
    return (before_start, before_end), (start, after_end)


def did(a0: int, a1: int, c0: int, c1: int, days0: int, days1: int) -> tuple[float, float, float, float, float]:
    """(change in the area, change in the rest, ratio of rate ratios, 95 % low, 95 % high).

    Changes are rate ratios - 1 (per day, so unequal windows stay fair); the ratio and its interval do not
    depend on the window lengths. Zero counts: 0.5 is added to all four cells (Haldane)."""
    def rr(after, before):
        return (after / days1) / (before / days0) if before > 0 and days0 > 0 and days1 > 0 else math.nan
    cells = [a0, a1, c0, c1]
    if min(cells) == 0:
        cells = [x + 0.5 for x in cells]
    b0, b1, d0, d1 = cells
    ratio = (b1 / b0) / (d1 / d0)
    se = math.sqrt(1 / b0 + 1 / b1 + 1 / d0 + 1 / d1)
    lo, hi = math.exp(math.log(ratio) - Z95 * se), math.exp(math.log(ratio) + Z95 * se)
    return rr(a1, a0) - 1, rr(c1, c0) - 1, ratio, lo, hi


def verdict(change_area: float, change_rest: float, lo: float, hi: float) -> tuple[str, str]:
    """(status, Dutch verdict) from the changes and the interval of the ratio of rate ratios."""
    up_a = change_area > 0 if not math.isnan(change_area) else True
    if hi < 1:  # better than the rest of the city, beyond chance
        if not up_a and change_rest < 0:
            return "beter", "daling groter dan in de rest van de stad"
        if not up_a:
            return "beter", "daling, terwijl de rest van de stad gelijk bleef of steeg"
        return "beter", "minder stijging dan in de rest van de stad"
    if lo > 1:
        if up_a and change_rest > 0:
            return "slechter", "stijging groter dan in de rest van de stad"
        if up_a:
            return "slechter", "stijging, terwijl de rest van de stad gelijk bleef of daalde"
        return "slechter", "minder daling dan in de rest van de stad"
    return "geen_verschil", "geen duidelijk verschil met de rest van de stad (kan toeval zijn)"


def assess(a0: int, a1: int, c0: int, c1: int, before: tuple[dt.date, dt.date], after: tuple[dt.date, dt.date],
           start: dt.date, data_end: dt.date) -> Result:
    """The result of one priority from its four counts and windows (no disclosure: see `shown`)."""
    if start > data_end:
        return Result("niet_begonnen", "nog te vroeg: de prioriteit begint na de laatste dag met data")
    days1 = (after[1] - after[0]).days + 1
    days0 = (before[1] - before[0]).days + 1
    base = dict(before=before, after=after, area_before=int(a0), area_after=int(a1), rest_before=int(c0),
                rest_after=int(c1))
    if days1 < MIN_AFTER_DAYS:
        return Result("te_vroeg", f"nog te vroeg: pas {fmt.integer(days1)} {'dag' if days1 == 1 else 'dagen'} sinds "
                                  f"de start (minimaal {MIN_AFTER_DAYS})", **base)
    if days0 < MIN_BEFORE_DAYS:
        return Result("geen_voorperiode", "geen vergelijking: te weinig gegevens van vóór de start", **base)
    if a0 + a1 < MIN_AREA_COUNT or c0 == 0 or c1 == 0:
        return Result("te_weinig", f"te weinig meldingen in het gebied voor een uitspraak (minder dan "
                                   f"{MIN_AREA_COUNT} voor en na samen)", **base)
    ca, cr, ratio, lo, hi = did(a0, a1, c0, c1, days0, days1)
    status, text = verdict(ca, cr, lo, hi)
    return Result(status, text, change_area=ca, change_rest=cr, ratio=ratio, lo=lo, hi=hi, **base)


def result_counts(con, theme: str, area_level: str, area_code: str, before: tuple[dt.date, dt.date],
                  after: tuple[dt.date, dt.date]) -> tuple[int, int, int, int]:
    """(area before, area after, rest of the city before, rest after) for a theme key ('incidenten:X' or
    'registraties:Y'); withdrawn incidents left out."""
    bron, _, thema = theme.partition(":")
    col = "wijkcode" if area_level == "stadsdeel" else "buurtcode"
    if bron == "registraties":
        src, date, cond, join = "registraties i", "i.datum", "i.categorie = ?", ""
    else:
        src, date = "incidenten i", "i.pleegdatum"
        cond = f"{queries.ACTIVE} AND s.thema = ?"
        join = "JOIN soort_misdrijf s ON s.code = i.soort_code"
    area = f"coalesce(i.{col} = ?, false)"
    row = queries._rows(con, f"""
        SELECT count(*) FILTER (WHERE {area} AND {date} BETWEEN ? AND ?),
               count(*) FILTER (WHERE {area} AND {date} BETWEEN ? AND ?),
               count(*) FILTER (WHERE NOT {area} AND {date} BETWEEN ? AND ?),
               count(*) FILTER (WHERE NOT {area} AND {date} BETWEEN ? AND ?)
        FROM {src} {join}
        WHERE {cond} AND {date} BETWEEN ? AND ?""",
        [area_code, *before, area_code, *after, area_code, *before, area_code, *after, thema,
         min(before[0], after[0]), max(before[1], after[1])])[0]
    return tuple(int(x) for x in row)


def result(con, theme: str, area_level: str, area_code: str, start: dt.date, end: dt.date | None,
           data_start: dt.date | None, data_end: dt.date) -> Result:
    """The result so far of one priority, from the warehouse (read-only)."""
    if start > data_end:
        return assess(0, 0, 0, 0, (start, start), (start, start), start, data_end)
    before, after = windows(start, end, data_start, data_end)
    a0, a1, c0, c1 = result_counts(con, theme, area_level, area_code, before, after)
    return assess(a0, a1, c0, c1, before, after, start, data_end)


TIME_STATUSES = ("niet_begonnen", "te_vroeg", "geen_voorperiode")  # verdicts that depend on dates only


def shown(r: Result, policy: disclosure.Policy) -> dict[str, str]:
    """A result as Dutch text for the screen, CSV and PDF, after the disclosure rules: a small count is '<5'
    and an estimate derived from it is not shown."""
    if r.after is None:
        return {"Resultaat": r.verdict, "Hier (voor → na)": "–", "Rest van de stad (voor → na)": "–",
                "Verschil met de rest van de stad": "–", "Periodes": "–"}
    small = [policy.small(x) for x in (r.area_before, r.area_after, r.rest_before, r.rest_after)]
    # rest of the city = city - area: with the city's count on the overview page for the same dates, a shown
    # "rest" gives a hidden "here" away, so they are hidden together (and "here" with a hidden "rest")
    small = [small[0] or small[2], small[1] or small[3], small[0] or small[2], small[1] or small[3]]
    a = (f"{disclosure.count_text(r.area_before, small[0], policy)} → "
         f"{disclosure.count_text(r.area_after, small[1], policy)}")
    c = (f"{disclosure.count_text(r.rest_before, small[2], policy)} → "
         f"{disclosure.count_text(r.rest_after, small[3], policy)}")
    periods = (f"voor: {fmt.period(*r.before)}; na: {fmt.period(*r.after)}")
    if any(small) and r.status not in TIME_STATUSES:  # a verdict from the counts would tell about a hidden one
        return {"Resultaat": "niet te tonen: te kleine aantallen", "Hier (voor → na)": a,
                "Rest van de stad (voor → na)": c, "Verschil met de rest van de stad": "–", "Periodes": periods}
    if not r.has_estimate:
        return {"Resultaat": r.verdict, "Hier (voor → na)": a, "Rest van de stad (voor → na)": c,
                "Verschil met de rest van de stad": "–", "Periodes": periods}
    a += f" ({fmt.signed_pct(r.change_area)})"
    c += f" ({fmt.signed_pct(r.change_rest)})"
    diff = (f"{fmt.signed_pct(r.ratio - 1)} (95%-interval {fmt.signed_pct(r.lo - 1)} tot {fmt.signed_pct(r.hi - 1)})")
    return {"Resultaat": r.verdict, "Hier (voor → na)": a, "Rest van de stad (voor → na)": c,
            "Verschil met de rest van de stad": diff, "Periodes": periods}

"""Which stadsdelen each Veiliger Wijkteam works for (plain Python, no Streamlit).

Default: one team per stadsdeel. An optional TOML file (setting VEILIGHEID_TEAMS) groups them:

    [[team]]
    naam = "Veiliger Wijkteam Centrum-Oost"
    stadsdelen = ["Centrum", "Oost"]        # stadsdeel names or CBS wijkcodes (WK026801)

    [[team]]
    naam = "Veiliger Wijkteam Dukenburg-Lindenholt"
    stadsdelen = ["WK026807", "WK026808"]

Stadsdelen that no team names keep a team of their own. A file that cannot be used (missing,
not TOML, an unknown stadsdeel, a stadsdeel in two teams, ...) never stops the app: `load`
returns the default grouping and one Dutch sentence that says what is wrong.
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import config

PREFIX = "Veiliger Wijkteam"


@dataclass(frozen=True)
class Team:
    naam: str
    stadsdelen: tuple[str, ...]  # CBS wijkcodes, in the order of the file (or by name)


class TeamsError(ValueError):
    """The teams file cannot be used (message in Dutch)."""


def default(stadsdelen: Mapping[str, str]) -> list[Team]:
    """One team per stadsdeel, named after it, ordered by name. stadsdelen: wijkcode -> name."""
    return [Team(f"{PREFIX} {naam}", (code,)) for code, naam in sorted(stadsdelen.items(), key=lambda kv: kv[1])]


def parse(text: str, stadsdelen: Mapping[str, str]) -> list[Team]:
    """Teams from TOML text; raises TeamsError with a Dutch reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TeamsError(f"geen geldige TOML ({exc})") from exc
    items = data.get("team")
    if not isinstance(items, list) or not items:
        raise TeamsError("er staat geen enkel [[team]] in")
    by_code = {c.upper(): c for c in stadsdelen}
    by_name = {n.strip().lower(): c for c, n in stadsdelen.items()}
    teams: list[Team] = []
    owner: dict[str, str] = {}
    names: set[str] = set()
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise TeamsError(f"team {i} is geen tabel")
        naam = item.get("naam")
        if not isinstance(naam, str) or not naam.strip():
            raise TeamsError(f"team {i} heeft geen naam (naam = \"...\")")
        naam = naam.strip()
        if naam.lower() in names:
            raise TeamsError(f"de teamnaam '{naam}' komt twee keer voor")
        names.add(naam.lower())
        sds = item.get("stadsdelen")
        if not isinstance(sds, list) or not sds or not all(isinstance(s, str) for s in sds):
            raise TeamsError(f"team '{naam}' heeft geen lijst stadsdelen (stadsdelen = [\"...\"])")
        codes = []
        for s in sds:
            code = by_code.get(s.strip().upper()) or by_name.get(s.strip().lower())
            if code is None:
                raise TeamsError(f"team '{naam}' noemt een onbekend stadsdeel: '{s}'")
            if code in owner and owner[code] != naam:
                raise TeamsError(f"stadsdeel {stadsdelen[code]} staat bij twee teams ('{owner[code]}' en '{naam}')")
            owner[code] = naam
            if code not in codes:
                codes.append(code)
        teams.append(Team(naam, tuple(codes)))
    for team in default({c: n for c, n in stadsdelen.items() if c not in owner}):
        if team.naam.lower() in names:
            raise TeamsError(f"de teamnaam '{team.naam}' is al in gebruik voor een ander team")
        teams.append(team)
    return teams


def load(stadsdelen: Mapping[str, str], path: str | Path | None = None) -> tuple[list[Team], str | None]:
    """(teams, warning). path None: the VEILIGHEID_TEAMS setting; empty: the default grouping."""
    raw = config.setting("VEILIGHEID_TEAMS") if path is None else str(path)
    if not str(raw).strip():
        return default(stadsdelen), None
    p = Path(raw).expanduser()
    if not p.is_absolute():
        p = config.REPO_ROOT / p
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default(stadsdelen), _message(p, "het bestand bestaat niet")
    except (OSError, UnicodeDecodeError) as exc:
        return default(stadsdelen), _message(p, f"het bestand is niet te lezen ({exc.__class__.__name__})")
    try:
        return parse(text, stadsdelen), None
    except TeamsError as exc:
        return default(stadsdelen), _message(p, str(exc))


def _message(path: Path, reason: str) -> str:
    return (f"Het teambestand {path.name} (VEILIGHEID_TEAMS) is niet bruikbaar: {reason}. Elk stadsdeel is nu een "
            "eigen team; vraag functioneel beheer het bestand te herstellen.")


def team_of(teams: list[Team], stadsdeel: str) -> Team | None:
    for t in teams:
        if stadsdeel in t.stadsdelen:
            return t
    return None


def find(teams: list[Team], naam: str | None) -> Team | None:
    """The team with this name (case and surrounding spaces ignored), or None."""
    key = str(naam or "").strip().casefold()
    if not key:
        return None
    return next((t for t in teams if t.naam.strip().casefold() == key), None)


def resolve(teams: list[Team], stadsdelen: Mapping[str, str], text: str) -> Team | None:
    """A team from what an administrator typed: its name, or a stadsdeel name or CBS wijkcode (WK026801) of
    one of its stadsdelen. None when nothing matches."""
    text = str(text or "").strip()
    hit = find(teams, text)
    if hit is not None:
        return hit
    by_code = {c.upper(): c for c in stadsdelen}
    by_name: dict[str, list[str]] = {}
    for c, n in stadsdelen.items():
        by_name.setdefault(str(n).strip().casefold(), []).append(c)
    codes = [by_code[text.upper()]] if text.upper() in by_code else by_name.get(text.casefold(), [])
    found = {id(t): t for t in (team_of(teams, c) for c in codes) if t is not None}
    return next(iter(found.values())) if len(found) == 1 else None


def reference_stadsdelen(warehouse: str | Path | None = None) -> tuple[dict[str, str], str]:
    """(wijkcode -> stadsdeel name, where they came from) for tools outside the app (the users CLI).

    The warehouse when it exists (exactly what the app shows, also after `areas load`), else the bundled
    reference areas in geo/ (what a new warehouse is created with: the stadsdelen file, else the wijken
    file's stadsdeel, else the wijk name). ({}, reason) when neither can be read."""
    import csv
    import json

    from .config import GEO_DIR, Config

    path = Path(warehouse) if warehouse is not None else Config.from_env().warehouse
    if path.exists():
        try:
            from .warehouse import connect_readonly

            con = connect_readonly(path)
            try:
                rows = con.execute("SELECT wijkcode, stadsdeel FROM wijken").fetchall()
            finally:
                con.close()
            if rows:
                return {str(c): str(n) for c, n in rows}, f"het warehouse {path}"
        except Exception:  # noqa: BLE001 - an unreadable warehouse: fall back to the bundled areas
            pass
    wijken = sorted(GEO_DIR.glob("*_wijken_2024.geojson"))
    if not wijken:
        return {}, f"geen warehouse ({path}) en geen gebiedsbestanden in {GEO_DIR}"
    try:
        features = json.loads(wijken[0].read_text(encoding="utf-8")).get("features") or []
        out = {}
        for f in features:
            props = f.get("properties") or {}
            code = str(props.get("wijkcode") or "").strip().upper()
            if code:
                out[code] = str(props.get("stadsdeel") or props.get("wijknaam") or code).strip()
        for sd_file in sorted(GEO_DIR.glob("*_stadsdelen.csv"))[:1]:
            with open(sd_file, encoding="utf-8-sig", newline="") as fh:
                for row in csv.DictReader(fh):
                    code = str(row.get("wijkcode") or "").strip().upper()
                    if code in out and str(row.get("stadsdeel") or "").strip():
                        out[code] = row["stadsdeel"].strip()
    except (OSError, ValueError) as exc:
        return {}, f"de gebiedsbestanden in {GEO_DIR} zijn niet te lezen ({exc.__class__.__name__})"
    return out, f"de meegeleverde gebiedsbestanden ({wijken[0].name})"

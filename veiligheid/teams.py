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

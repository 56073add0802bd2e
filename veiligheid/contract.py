"""The extract contract as data: kinds, columns, aliases, types and allowed values.

The reader, the checks, the error messages and the docs all use these tables
(see ``shared/spec/extracts.md`` for the prose version of the same contract).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .config import REFERENCE_DIR

# Column types understood by the ingest.
TEXT, DATE, DATETIME, TIME, CODE, INT, YEAR, AMOUNT, COORD, YESNO, BUURTCODE, WIJKCODE = (
    "text", "date", "datetime", "time", "code", "int", "year", "amount", "coord", "yesno",
    "buurtcode", "wijkcode",
)

NULL_TOKENS = ("", "null", "-", "n.v.t.")
YES_TOKENS = ("ja", "j", "yes", "true", "1")
NO_TOKENS = ("nee", "n", "no", "false", "0")
DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y")
TIME_SUFFIXES = ("", " %H:%M", " %H:%M:%S")
MIN_DATE = "2010-01-01"

FILE_NAME_RE = re.compile(
    r"^(?P<kind>incidenten|registraties|cyber_slachtoffers|hennep)_(?P<year>\d{4})-W(?P<week>\d{2})"
    r"(?:_(?P<free>[^.]*))?\.(?P<ext>csv|xlsx)$",
    re.IGNORECASE,
)
FILE_NAME_PATTERN = "<soort>_<JJJJ>-W<ww>[_<vrije tekst>].<csv|xlsx>, bijv. incidenten_2024-W47.csv"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    allowed: tuple[str, ...] = ()  # canonical values for CODE columns
    synonyms: tuple[tuple[str, str], ...] = ()  # extra accepted spellings -> canonical
    default: str | None = None
    min: float | None = None
    max: float | None = None
    future_ok: bool = False  # a date that may lie after the extract week
    location: bool = False  # part of the location forms


@dataclass(frozen=True)
class Kind:
    name: str
    key: str
    date_column: str
    columns: tuple[Column, ...]
    # groups of columns of which at least one must carry a value, with the Dutch message
    one_of: tuple[tuple[tuple[str, ...], str], ...] = ()
    # (earlier, later) pairs: later may not be before earlier
    order_rules: tuple[tuple[str, str], ...] = ()
    coordinates: bool = True  # x_rd/y_rd and lat/lon accepted
    export_columns: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def norm_header(text: str) -> str:
    """Header matching: case-insensitive, spaces, dashes and underscores ignored."""
    return re.sub(r"[\s_\-]+", "", str(text or "")).lower()


@lru_cache(maxsize=1)
def soort_misdrijf() -> list[dict[str, str]]:
    with open(REFERENCE_DIR / "soort_misdrijf.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


LOCATION_COLUMNS = (
    Column("x_rd", COORD, ("x", "x_coordinaat"), location=True, min=0, max=300_000),
    Column("y_rd", COORD, ("y", "y_coordinaat"), location=True, min=289_000, max=629_000),
    Column("lat", COORD, ("latitude",), location=True, min=50.0, max=54.0),
    Column("lon", COORD, ("longitude", "lng"), location=True, min=3.0, max=7.5),
    Column("buurtcode", BUURTCODE, location=True),
    Column("wijkcode", WIJKCODE, location=True),
)
LOCATION_MESSAGE = "geen locatie: geef x_rd/y_rd, lat/lon, buurtcode of wijkcode"

REGISTRATIE_CATEGORIEEN = (
    "Jeugdoverlast", "Drugsoverlast", "Woonoverlast", "Verward gedrag", "Alcoholoverlast",
    "Geluidsoverlast", "Vandalisme", "Afval en dumping", "Parkeeroverlast", "Overig",
)
DELICTEN = (
    "Phishing", "Online aankoopfraude", "Helpdeskfraude", "Vriend-in-noodfraude", "Hacken",
    "Identiteitsfraude", "Sextortion", "Cyberpesten", "Overig",
)
SIGNAALBRONNEN = (
    "Politie", "Meld Misdaad Anoniem", "Netbeheerder", "Woningcorporatie", "Buurtbewoner",
    "Gemeente", "Overig",
)


def _kinds() -> dict[str, Kind]:
    codes = tuple(r["code"] for r in soort_misdrijf())
    incidenten = Kind(
        name="incidenten",
        key="registratienummer",
        date_column="pleegdatum",
        columns=(
            Column("registratienummer", TEXT, ("reg_nr", "registratienr", "incidentnummer", "bvh_nummer"), required=True),
            Column("pleegdatum", DATETIME, ("begindatum", "datum_feit", "pleegdatum_begin"), required=True),
            Column("pleegtijd", TIME, ("begintijd",)),
            Column("registratiedatum", DATE, ("aangiftedatum", "meldingsdatum")),
            Column("soort_code", CODE, ("misdrijfcode", "soort_misdrijf_code"), required=True, allowed=codes),
            Column("soort", TEXT, ("soort_misdrijf", "omschrijving")),
            Column("status", CODE, (), allowed=("actief", "vervallen"), default="actief"),
            *LOCATION_COLUMNS,
        ),
        one_of=((("x_rd", "lat", "buurtcode", "wijkcode"), LOCATION_MESSAGE),),
        export_columns=("gemeentecode", "wijkcode", "buurtcode", "stadsdeel", "thema", "soort_code"),
    )
    registraties = Kind(
        name="registraties",
        key="registratie_id",
        date_column="datum",
        columns=(
            Column("registratie_id", TEXT, ("melding_id", "zaak_id", "id"), required=True),
            Column("datum", DATETIME, ("meldingsdatum", "registratiedatum"), required=True),
            Column("bron", CODE, ("kanaal",), required=True,
                   allowed=("MOR", "BOA", "Toezicht", "Woningcorporatie", "Wijkteam", "Overig")),
            Column("categorie", CODE, ("onderwerp", "type"), required=True, allowed=REGISTRATIE_CATEGORIEEN),
            Column("omschrijving", TEXT, ("toelichting",)),
            *LOCATION_COLUMNS,
        ),
        one_of=((("x_rd", "lat", "buurtcode", "wijkcode"), LOCATION_MESSAGE),),
        export_columns=("gemeentecode", "wijkcode", "buurtcode", "stadsdeel", "categorie", "bron"),
    )
    cyber = Kind(
        name="cyber_slachtoffers",
        key="aangifte_id",
        date_column="aangiftedatum",
        columns=(
            Column("aangifte_id", TEXT, ("registratienummer", "id"), required=True),
            Column("aangiftedatum", DATE, ("datum",), required=True),
            Column("delict", CODE, ("soort", "modus"), required=True, allowed=DELICTEN),
            Column("leeftijd", INT, ("leeftijd_slachtoffer",), min=0, max=110),
            Column("geboortejaar", YEAR, (), min=1900, max=2100),
            Column("geslacht", CODE, ("sekse",), allowed=("M", "V", "X", "onbekend"),
                   synonyms=(("man", "M"), ("vrouw", "V"))),
            Column("opleidingsniveau", CODE, ("opleiding",), allowed=("laag", "middelbaar", "hoog", "onbekend")),
            Column("schadebedrag", AMOUNT, ("schade", "schade_eur"), min=0),
            Column("woon_buurtcode", BUURTCODE, ("buurtcode",), location=True),
            Column("woon_wijkcode", WIJKCODE, ("wijkcode",), location=True),
        ),
        one_of=(
            (("leeftijd", "geboortejaar"), "leeftijd en geboortejaar ontbreken allebei"),
            (("woon_buurtcode", "woon_wijkcode"), "woonplaats ontbreekt: geef woon_buurtcode of woon_wijkcode"),
        ),
        coordinates=False,
        export_columns=("gemeentecode", "wijkcode", "buurtcode", "stadsdeel", "delict"),
    )
    hennep = Kind(
        name="hennep",
        key="zaaknummer",
        date_column="signaaldatum",
        columns=(
            Column("zaaknummer", TEXT, ("zaak_id", "dossiernummer"), required=True),
            Column("signaaldatum", DATE, ("datum_signaal",), required=True),
            Column("signaalbron", CODE, ("bron",), required=True, allowed=SIGNAALBRONNEN),
            Column("ruimingsdatum", DATE, ("datum_ruiming", "ontmanteld_op")),
            Column("aantal_planten", INT, ("planten",), min=0),
            Column("type_pand", CODE, ("pandtype",), required=True,
                   allowed=("Woning", "Bijgebouw", "Bedrijfspand", "Overig")),
            Column("eigendom", CODE, (), allowed=("Corporatie", "Particuliere verhuur", "Koop", "Onbekend")),
            Column("stroomdiefstal", YESNO),
            Column("besluit_13b", CODE, ("besluit",), allowed=("Geen", "Waarschuwing", "Sluiting"), default="Geen"),
            Column("sluiting_begin", DATE),
            Column("sluiting_eind", DATE, future_ok=True),
            Column("adres_id", TEXT, ("bag_id", "verblijfsobject_id")),
            *LOCATION_COLUMNS,
        ),
        one_of=((("x_rd", "lat", "buurtcode", "wijkcode"), LOCATION_MESSAGE),),
        order_rules=(("signaaldatum", "ruimingsdatum"), ("sluiting_begin", "sluiting_eind")),
        export_columns=("gemeentecode", "wijkcode", "buurtcode", "stadsdeel", "signaalbron", "type_pand"),
    )
    return {k.name: k for k in (incidenten, registraties, cyber, hennep)}


KINDS: dict[str, Kind] = _kinds()

# Export dimensions valid for every kind (time buckets of the kind's date column).
TIME_DIMENSIONS = ("jaar", "maand", "week")


def match_headers(kind: Kind, headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """Map canonical column names to header positions.

    Returns (mapping, ignored): the canonical name wins over an alias when both
    appear; headers that match nothing (or a column already taken) are ignored.
    """
    lookup: dict[str, tuple[str, int]] = {}
    for col in kind.columns:
        lookup[norm_header(col.name)] = (col.name, 0)
        for alias in col.aliases:
            lookup.setdefault(norm_header(alias), (col.name, 1))
    mapping: dict[str, int] = {}
    rank: dict[str, int] = {}
    ignored: list[str] = []
    for i, h in enumerate(headers):
        hit = lookup.get(norm_header(h))
        if hit is None:
            ignored.append(str(h))
            continue
        name, r = hit
        if name in mapping and rank[name] <= r:
            ignored.append(str(h))
            continue
        if name in mapping:
            ignored.append(str(headers[mapping[name]]))
        mapping[name] = i
        rank[name] = r
    return mapping, ignored


def missing_required(kind: Kind, mapping: dict[str, int]) -> list[Column]:
    missing = [c for c in kind.columns if c.required and c.name not in mapping]
    return missing


def describe_column(col: Column) -> str:
    if col.aliases:
        return f"'{col.name}' (of: {', '.join(col.aliases)})"
    return f"'{col.name}'"

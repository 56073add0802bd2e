"""Demo data: weekly extract files of all four kinds, as the source systems deliver them.

`python -m pipelines demo` writes, for each of the last N ISO weeks up to the current one,
one file per kind (`incidenten`, `registraties`, `cyber_slachtoffers`, `hennep`) into the
inbox, named `<kind>_<YYYY>-W<ww>.csv` (or `.xlsx`). Each file is a rolling 8-week window,
so a record arrives again and again; some arrive late, some are corrected, some incidents are
withdrawn (`status` = `vervallen`), and a few rows are bad on purpose. The files mix
encodings, delimiters, header aliases, date and number formats exactly within what the
extract contract (docs: extracts.md) allows.

Everything is derived from the bundled reference files in `geo/` (buurt polygons, population,
age structure per wijk, registered crime 2023 per buurt) and from
`veiligheid/reference/soort_misdrijf.csv`; no municipality name or area code is written in
this module. The output is fully deterministic for a given seed, `today`, `weeks` and
`scale`. The sources and modelling assumptions are in `SOURCES_AND_ASSUMPTIONS` below (the
README quotes it).

Implementation: all records ("truth") are drawn up front with numpy (Poisson counts per
day x buurt x category, then vectorised attribute draws); each record gets a list of
*versions* with the ISO-week interval in which that version is delivered; a weekly file is
the set of versions whose interval contains the week, formatted once per output layout and
cached, so scale 100 stays fast.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import sys
import time
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
GEO_DIR = REPO / "geo"
SOORT_REFERENCE = REPO / "veiligheid" / "reference" / "soort_misdrijf.csv"

KINDS = ("incidenten", "registraties", "cyber_slachtoffers", "hennep")
WINDOW_WEEKS = 8
EARLIEST = dt.date(2010, 1, 1)
POLICE_UNIT = "PL0800"  # prefix of police registration numbers, as in the real BVH exports

# --------------------------------------------------------------------------------------------
# Model parameters (documented in SOURCES_AND_ASSUMPTIONS)
# --------------------------------------------------------------------------------------------

#: (soort_code, share of all registered crime in %, season profile, time profile,
#:  residential exponent, probability of a late registration)
#: residential exponent: >0 = follows where people live (population per registered crime),
#: <0 = follows the busy/commercial buurten (centre, shopping and nightlife areas).
SOORT_MIX: tuple[tuple[str, float, str, str, float, float], ...] = (
    ("1.2.3", 12.0, "fiets", "fiets", -0.5, 0.04),         # fietsdiefstal
    ("2.2.1", 12.0, "jaarwisseling", "vernieling", 0.0, 0.04),  # vernieling
    ("1.2.1", 8.0, "donker", "auto", 0.3, 0.04),           # auto-inbraken
    ("1.6.2", 8.0, "vlak", "dag", 0.0, 0.05),              # overige vermogensdelicten
    ("1.4.5", 7.0, "zomer", "uitgaan", -0.6, 0.04),        # mishandeling
    ("3.9.1", 5.5, "december", "kantoor", 0.5, 0.15),      # horizontale fraude
    ("3.9.3", 1.2, "vlak", "kantoor", 0.3, 0.15),          # fraude overig
    ("3.9.2", 0.3, "vlak", "kantoor", 0.0, 0.20),          # verticale fraude
    ("2.5.2", 6.0, "december", "winkel", -1.5, 0.03),      # winkeldiefstal
    ("1.1.1", 5.0, "donker", "woning", 1.0, 0.03),         # woninginbraak
    ("1.4.4", 4.0, "vlak", "dag", 0.0, 0.06),              # bedreiging
    ("3.7.4", 3.0, "vlak", "kantoor", 0.5, 0.15),          # cybercrime
    ("1.1.2", 3.0, "donker", "woning", 0.8, 0.04),         # inbraak box/garage/schuur
    ("2.5.1", 2.5, "donker", "auto", -1.0, 0.04),          # inbraak bedrijven/instellingen
    ("1.2.4", 2.0, "december", "winkel", -1.5, 0.05),      # zakkenrollerij
    ("3.5.5", 2.2, "vlak", "verkeer", 0.0, 0.05),          # weg (overig)
    ("3.5.2", 1.8, "zomer", "uitgaan", -0.3, 0.02),        # rijden onder invloed
    ("3.6.4", 1.5, "zomer", "uitgaan", -1.0, 0.03),        # aantasting openbare orde
    ("1.2.2", 1.5, "donker", "auto", 0.3, 0.04),           # diefstal motorvoertuigen
    ("1.3.1", 1.0, "vlak", "verkeer", 0.0, 0.05),          # ongevallen (weg)
    ("3.1.1", 1.0, "vlak", "avond", -0.5, 0.10),           # drugshandel
    ("2.1.1", 1.0, "zomer", "avond", -0.5, 0.03),          # drugs/drankoverlast
    ("1.4.1", 1.0, "vlak", "avond", 0.0, 0.25),            # zedenmisdrijf
    ("1.6.1", 1.0, "jaarwisseling", "vernieling", 0.0, 0.04),  # brand/ontploffing
    ("3.7.3", 1.0, "vlak", "kantoor", 0.0, 0.10),          # maatschappelijke integriteit
    ("1.4.3", 0.8, "zomer", "uitgaan", -1.0, 0.04),        # openlijk geweld
    ("2.4.1", 0.8, "vlak", "avond", 1.0, 0.03),            # burengerucht
    ("2.7.2", 0.8, "vlak", "dag", 0.0, 0.05),              # bijzondere wetten
    ("2.7.3", 0.8, "vlak", "dag", 0.0, 0.05),              # leefbaarheid overig
    ("1.4.6", 0.6, "donker", "avond", -0.5, 0.03),         # straatroof
    ("2.4.2", 0.6, "vlak", "avond", 0.5, 0.05),            # huisvredebreuk
    ("1.2.5", 0.5, "vlak", "auto", 0.0, 0.04),             # diefstal overige voertuigen
    ("2.6.9", 0.5, "vuurwerk", "vernieling", 0.0, 0.02),   # vuurwerk
    ("3.1.3", 0.3, "vlak", "avond", -0.5, 0.10),           # wapenhandel
    ("3.2.1", 0.3, "vlak", "kantoor", 0.5, 0.25),          # kinderporno
    ("3.7.1", 0.3, "vlak", "dag", 0.0, 0.10),              # discriminatie
    ("2.6.4", 0.3, "vlak", "dag", -0.5, 0.05),             # afval
    ("1.4.7", 0.2, "donker", "avond", -1.0, 0.02),         # overval
    ("2.6.13", 0.2, "vlak", "dag", 0.5, 0.05),             # dieren
    ("1.4.2", 0.1, "vlak", "avond", 0.0, 0.02),            # moord, doodslag
    ("1.5.2", 0.1, "zomer", "dag", 0.0, 0.05),             # diefstallen (water)
    ("1.6.3", 0.1, "vlak", "kantoor", -0.5, 0.30),         # mensenhandel
    ("3.7.2", 0.1, "vlak", "kantoor", -0.5, 0.10),         # vreemdelingenzorg
    ("2.6.1", 0.1, "vlak", "kantoor", -1.0, 0.10),         # inrichting Wet milieubeheer
)

#: corrected soort_code (a record re-sent with another classification)
SOORT_CORRECTION = {
    "1.1.1": "1.1.2", "1.1.2": "1.1.1", "1.2.1": "1.2.5", "1.2.5": "1.2.1", "1.2.2": "1.2.1",
    "1.2.3": "1.6.2", "1.6.2": "2.5.2", "1.4.5": "1.4.4", "1.4.4": "1.4.5", "1.4.3": "1.4.5",
    "1.4.6": "1.4.5", "2.2.1": "2.7.3", "3.9.1": "3.7.4", "3.7.4": "3.9.1", "2.5.2": "1.6.2",
    "1.2.4": "1.6.2", "2.5.1": "1.6.2", "3.5.2": "3.5.5", "3.5.5": "1.3.1",
}

#: month factors (Jan..Dec, interpolated smoothly between mid-months) and extra day factors
SEASONS: dict[str, list[float]] = {
    "vlak": [1.0] * 12,
    "donker": [1.35, 1.15, 0.95, 0.80, 0.75, 0.70, 0.75, 0.80, 0.90, 1.15, 1.30, 1.45],
    "fiets": [0.75, 0.70, 0.85, 0.95, 1.05, 1.05, 0.95, 0.95, 1.30, 1.30, 1.15, 0.95],
    "zomer": [0.90, 0.85, 0.95, 1.00, 1.10, 1.10, 1.05, 1.00, 1.05, 1.00, 0.95, 1.05],
    "december": [0.95, 0.90, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 1.00, 1.05, 1.15, 1.25],
    "jaarwisseling": [1.05, 0.95, 0.95, 0.95, 1.00, 1.00, 1.00, 0.95, 1.00, 1.05, 1.05, 1.10],
    "vuurwerk": [0.6, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.6, 2.5],
    "winter_licht": [1.10, 1.05, 1.00, 0.95, 0.95, 0.95, 0.95, 0.95, 1.00, 1.00, 1.05, 1.10],
}
SEASON_DAYS: dict[str, dict[tuple[int, int], float]] = {
    "jaarwisseling": {(12, 28): 1.6, (12, 29): 1.8, (12, 30): 2.2, (12, 31): 4.0, (1, 1): 5.0, (1, 2): 1.5},
    "vuurwerk": {(12, 27): 4.0, (12, 28): 5.0, (12, 29): 6.0, (12, 30): 8.0, (12, 31): 12.0, (1, 1): 15.0},
    "zomer": {(12, 31): 1.5, (1, 1): 2.5},
}

#: hour-of-day weights (0..23) and day-of-week weights (Mon..Sun) per time profile
HOURS: dict[str, list[float]] = {
    "woning": [3, 2, 2, 2, 2, 2, 3, 4, 5, 6, 7, 8, 8, 8, 9, 10, 13, 17, 21, 21, 18, 14, 9, 5],
    "auto": [16, 17, 17, 15, 12, 8, 5, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6, 7, 8, 9, 10, 11, 13, 15],
    "fiets": [6, 4, 2, 1, 1, 1, 2, 5, 8, 8, 8, 9, 10, 10, 10, 11, 12, 12, 11, 10, 10, 10, 9, 8],
    "uitgaan": [12, 12, 10, 8, 5, 2, 1, 1, 2, 2, 3, 4, 4, 4, 4, 5, 5, 6, 6, 6, 7, 8, 9, 11],
    "winkel": [.2, .1, .1, .1, .1, .1, .2, .5, 2, 6, 10, 12, 12, 13, 14, 14, 13, 11, 7, 4, 2, 1, .5, .3],
    "kantoor": [1, 1, 1, 1, 1, 1, 2, 5, 10, 12, 12, 11, 10, 11, 11, 10, 9, 6, 4, 3, 3, 2, 2, 1],
    "vernieling": [10, 10, 8, 6, 4, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 6, 6, 7, 8, 9, 10, 11, 11],
    "avond": [6, 5, 4, 3, 2, 2, 2, 3, 4, 5, 6, 6, 7, 7, 7, 8, 9, 10, 11, 11, 11, 10, 9, 8],
    "verkeer": [5, 5, 4, 3, 2, 2, 4, 9, 11, 7, 6, 6, 7, 7, 8, 10, 12, 12, 9, 7, 6, 6, 6, 6],
    "dag": [2, 1.5, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 9, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2.5],
}
WEEKDAYS: dict[str, list[float]] = {
    "woning": [1, 1, 1, 1, 1.1, 1.15, 0.95],
    "auto": [1, 1, 1, 1, 1.05, 1.15, 1.1],
    "fiets": [1.05, 1.05, 1.05, 1.1, 1.0, 0.9, 0.85],
    "uitgaan": [0.7, 0.7, 0.8, 1.0, 1.1, 1.6, 1.5],
    "winkel": [1, 1, 1, 1.05, 1.15, 1.4, 0.5],
    "kantoor": [1.2, 1.2, 1.2, 1.2, 1.1, 0.55, 0.45],
    "vernieling": [0.9, 0.9, 0.9, 0.95, 1.05, 1.3, 1.25],
    "avond": [1, 1, 1, 1, 1.05, 1.15, 1.05],
    "verkeer": [1, 1, 1, 1, 1.1, 1.2, 1.1],
    "dag": [1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.8],
}
#: nightlife: (weekday, hours, factor); Thursday is the student night, the early hours
#: of Saturday and Sunday belong to the Friday and Saturday nights out.
NIGHTLIFE = ((3, (23,), 2.0), (4, (0, 1, 2, 3, 4), 2.5), (4, (22, 23), 2.0),
             (5, (0, 1, 2, 3, 4, 5), 4.0), (5, (22, 23), 2.5), (6, (0, 1, 2, 3, 4, 5), 4.0))
NIGHTLIFE_PROFILES = ("uitgaan", "vernieling")

# registraties -------------------------------------------------------------------------------
REGISTRATIES_PER_YEAR = 9000
BRONNEN = ("MOR", "BOA", "Toezicht", "Woningcorporatie", "Wijkteam", "Overig")
#: categorie: (share %, season, time profile, residential exponent,
#:             bron probabilities in BRONNEN order, omschrijvingen)
CATEGORIES: dict[str, tuple] = {
    "Jeugdoverlast": (10, "zomer", "uitgaan", 0.3, (.55, .20, .05, .05, .10, .05), (
        "Groep jongeren hangt rond bij het winkelcentrum", "Jongeren op scooters, veel lawaai",
        "Overlast bij speeltuin 's avonds", "Jongeren op het schoolplein na sluitingstijd")),
    "Drugsoverlast": (5, "vlak", "avond", -0.5, (.45, .10, .25, .10, .05, .05), (
        "Vermoedelijk drugshandel bij portiek", "Drugsgebruik in parkeergarage",
        "Veel aanloop bij één woning", "Spuiten gevonden in het plantsoen")),
    "Woonoverlast": (8, "vlak", "avond", 1.0, (.30, .02, .08, .45, .10, .05), (
        "Burenruzie, herhaaldelijk lawaai", "Vervuilde tuin en stankoverlast",
        "Overlast van één bewoner in de flat", "Huurder houdt zich niet aan afspraken")),
    "Verward gedrag": (8, "vlak", "dag", -0.5, (.35, .10, .05, .10, .35, .05), (
        "Verward persoon op straat", "Man roept en schreeuwt bij de bushalte",
        "Zorgmelding van buurtbewoner", "Vrouw lijkt de weg kwijt, gesprek gevoerd")),
    "Alcoholoverlast": (4, "zomer", "uitgaan", -1.0, (.45, .40, .05, .03, .02, .05), (
        "Dronken personen bij café", "Alcoholgebruik op bankje in het park",
        "Lege flessen en geschreeuw 's nachts")),
    "Geluidsoverlast": (12, "zomer", "uitgaan", 0.0, (.75, .08, .02, .10, .00, .05), (
        "Harde muziek uit woning", "Feest tot laat in de nacht", "Blaffende hond, hele dag",
        "Geluid van terras na sluitingstijd")),
    "Vandalisme": (8, "jaarwisseling", "vernieling", 0.0, (.75, .15, .03, .02, .00, .05), (
        "Bushokje vernield", "Graffiti op gevel", "Fietsen in het water gegooid",
        "Lantaarnpaal beschadigd")),
    "Afval en dumping": (24, "vlak", "kantoor", 0.3, (.80, .12, .05, .01, .00, .02), (
        "Grofvuil naast ondergrondse container", "Zakken afval gedumpt in groenstrook",
        "Container vol, afval ernaast", "Matras en bankstel op de stoep")),
    "Parkeeroverlast": (14, "vlak", "dag", 0.0, (.60, .35, .02, .00, .00, .03), (
        "Auto geparkeerd op de stoep", "Scooters blokkeren het trottoir",
        "Fout geparkeerde bus bij de school", "Aanhanger staat al weken op dezelfde plek")),
    "Overig": (7, "vlak", "dag", 0.0, (.60, .10, .05, .05, .05, .15), (
        "Melding via de app", "Losliggende stoeptegel", "Overige melding, zie toelichting",
        "Vraag over coöperatie-afspraken in de buurt")),
}
CATEGORY_CORRECTION = {
    "Jeugdoverlast": "Vandalisme", "Vandalisme": "Jeugdoverlast", "Overig": "Afval en dumping",
    "Geluidsoverlast": "Woonoverlast", "Woonoverlast": "Geluidsoverlast", "Alcoholoverlast": "Jeugdoverlast",
    "Drugsoverlast": "Woonoverlast", "Verward gedrag": "Woonoverlast", "Afval en dumping": "Overig",
    "Parkeeroverlast": "Overig",
}

# cyber_slachtoffers -------------------------------------------------------------------------
CYBER_PER_YEAR = 1200
AGE_GROUPS = ("0_15", "15_25", "25_45", "45_65", "65_plus")
#: relative victimisation risk per age group (peak 15-25, cf. the 2017 analysis)
AGE_RISK = (0.15, 2.2, 1.3, 1.0, 0.75)
#: delict: (share %, season, age modifiers per AGE_GROUPS, P(male), P(schade empty),
#:          median schade in euro, lognormal sigma)
DELICTS: dict[str, tuple] = {
    "Online aankoopfraude": (30, "december", (1.0, 1.3, 1.2, 0.9, 0.6), 0.52, 0.15, 150, 1.0),
    "Phishing": (20, "vlak", (0.3, 0.8, 1.0, 1.2, 1.4), 0.50, 0.45, 600, 1.3),
    "Vriend-in-noodfraude": (10, "vlak", (0.1, 0.2, 0.5, 1.4, 2.4), 0.45, 0.30, 1500, 1.0),
    "Helpdeskfraude": (8, "vlak", (0.1, 0.2, 0.5, 1.3, 2.4), 0.50, 0.30, 2500, 1.2),
    "Hacken": (10, "vlak", (1.0, 1.5, 1.2, 0.9, 0.6), 0.55, 0.80, 300, 1.2),
    "Identiteitsfraude": (7, "vlak", (0.2, 1.0, 1.2, 1.0, 0.8), 0.50, 0.60, 800, 1.2),
    "Sextortion": (4, "vlak", (2.0, 3.0, 0.8, 0.3, 0.1), 0.75, 0.75, 250, 1.0),
    "Cyberpesten": (4, "vlak", (4.0, 2.5, 0.4, 0.2, 0.1), 0.40, 0.97, 50, 0.8),
    "Overig": (7, "vlak", (0.5, 1.0, 1.0, 1.0, 1.0), 0.50, 0.60, 200, 1.2),
}
GESLACHT = ("M", "V", "X", "onbekend")
OPLEIDING = ("laag", "middelbaar", "hoog", "onbekend")

# hennep ------------------------------------------------------------------------------------
HENNEP_PER_YEAR = 36
SIGNAALBRONNEN = ("Politie", "Meld Misdaad Anoniem", "Netbeheerder", "Woningcorporatie",
                  "Buurtbewoner", "Gemeente", "Overig")
SIGNAALBRON_P = (.30, .20, .15, .10, .12, .08, .05)
TYPE_PAND = ("Woning", "Bijgebouw", "Bedrijfspand", "Overig")
TYPE_PAND_P = (.68, .12, .15, .05)
EIGENDOM = ("Corporatie", "Particuliere verhuur", "Koop", "Onbekend")
EIGENDOM_P = {"Woning": (.35, .30, .30, .05), "Bijgebouw": (.10, .25, .55, .10),
              "Bedrijfspand": (.0, .50, .35, .15), "Overig": (.05, .30, .35, .30)}
BESLUIT = ("Geen", "Waarschuwing", "Sluiting")
BESLUIT_P = {"Woning": (.35, .30, .35), "Bijgebouw": (.45, .30, .25),
             "Bedrijfspand": (.50, .20, .30), "Overig": (.70, .20, .10)}
HENNEP_DISMANTLED = 0.88
HENNEP_REPEAT = 0.08

# dirtiness ---------------------------------------------------------------------------------
P_CORRECTION = {"incidenten": 0.03, "registraties": 0.04, "cyber_slachtoffers": 0.03}
P_WITHDRAWN = 0.012
BAD_ROW_RATE = 0.004      # expected share of bad rows per file ...
BAD_ROW_CAP = 50          # ... but never more than 1 in BAD_ROW_CAP rows (2 %)


def _soort_table_md() -> str:
    ref = pd.read_csv(SOORT_REFERENCE, dtype=str).set_index("code")["omschrijving"] \
        if SOORT_REFERENCE.is_file() else {}
    lines = ["| soort_code | omschrijving | aandeel % | seizoen | tijdprofiel |", "|---|---|---:|---|---|"]
    for code, share, season, tprof, _res, _late in SOORT_MIX:
        lines.append(f"| {code} | {ref.get(code, '') if len(ref) else ''} | {share:.1f} | {season} | {tprof} |")
    return "\n".join(lines)


SOURCES_AND_ASSUMPTIONS = """\
### Demo data: sources and assumptions

The demo data (`python -m pipelines demo`) is synthetic but calibrated on public figures.
It never contains real persons or real cases.

**Sources**
- Areas: the bundled CBS *Wijk- en buurtkaart 2024* polygons (`geo/*_buurten_2024.geojson`),
  population per buurt 2024 (`geo/*_buurten_bevolking_2024.csv`) and the age structure per
  wijk from CBS *Kerncijfers wijken en buurten 2024* (`geo/*_wijken_kerncijfers_2024.csv`).
- Crime volume: registered crime 2023 per buurt from CBS StatLine table **47018NED**
  (*Geregistreerde misdrijven; soort misdrijf, wijk en buurt*, police data), file
  `geo/*_misdrijven_buurt_2023.csv`. The yearly number of incidents equals the city total of
  that table times `--scale`, spread over the buurten in proportion to their 2023 count; a
  buurt with 0 registered crimes gets a floor of 5 a year.
- Crime codes: the police open-data classification *soort misdrijf*
  (`veiligheid/reference/soort_misdrijf.csv`).
- Cybercrime victims: age and sex profile after the 2017 analysis of reported cybercrime
  victims (highest victimisation at 15-25 years, higher education over-represented),
  applied to the age structure of the wijk where the victim lives.

**Assumptions**
- The split over `soort_code` is a typical Dutch mix for a university city (table below);
  it is fitted to the buurt totals with iterative proportional fitting, with residential
  crimes (woninginbraak, burengerucht, fraude) leaning to buurten with many inhabitants per
  registered crime and winkeldiefstal, zakkenrollerij and uitgaansgeweld to the centre and
  shopping/nightlife buurten.
- Seasonality: burglary (woning, box/schuur, auto, bedrijven), straatroof and overval peak
  in the dark months (October-February, about 2x the June level); bike theft peaks when the
  academic year starts (September-October); winkeldiefstal, zakkenrollerij and online
  aankoopfraude peak in December; vernieling, brand and vuurwerk peak sharply around the turn
  of the year (31 December / 1 January); violence is a little higher in summer.
- Time of day and weekday: burglary mostly 16-22 h, car break-ins at night, winkeldiefstal
  and zakkenrollerij during opening hours (Saturday busiest, Sunday quiet), uitgaansgeweld
  in the Thursday (students), Friday and Saturday nights, fraude and cybercrime during
  office hours. Police times are often rounded to the quarter or half hour.
- Locations: points are drawn uniformly inside the buurt polygon (rejection sampling, a few
  metres away from the border) as a fixed set of address points per buurt, about one per ten
  inhabitants; some addresses are hotspots (log-normal weights). Cyber victims and hennep
  cases are spread over buurten by population, registraties half by population and half by
  registered crime.
- Registraties: about 9,000 a year (x scale) over the ten categories (afval en dumping 24 %,
  parkeeroverlast 14 %, geluidsoverlast 12 %, jeugdoverlast 10 %, woonoverlast 8 %, verward
  gedrag 8 %, vandalisme 8 %, overig 7 %, drugsoverlast 5 %, alcoholoverlast 4 %), with a
  channel (bron) mix per category; MOR app reports carry coordinates, the rest a buurtcode.
- Cyber victims: about 1,200 a year (x scale); delicts online aankoopfraude 30 %, phishing
  20 %, hacken 10 %, vriend-in-noodfraude 10 % (mostly 65+), helpdeskfraude 8 % (mostly 65+),
  identiteitsfraude 7 %, sextortion and cyberpesten 4 % each (mostly young), overig 7 %.
  Education: hoog about 40 % of adult victims. Schadebedrag log-normal per delict, empty
  for most hacking, sextortion and cyberpesten cases.
- Hennep: about 36 cases a year (x scale); 88 % dismantled 1-4 weeks after the signal,
  50-1000 plants (log-normal, median 250), stroomdiefstal in ~60 %; art. 13b decisions
  (Waarschuwing/Sluiting) 2-6 weeks after dismantling, closures of 3-12 months (the end
  may lie in the future or still be empty); ~8 % are repeat cases at an earlier address
  (same 16-digit BAG id).
- Delivery: every weekly file is a rolling window of 8 ISO weeks (for hennep: 8 weeks after
  the latest event of the case, so its progress is re-sent). The file of the current week
  is extracted `today`: it holds nothing dated or registered after today. About 4-15 % of records
  (depending on the crime type) are registered 1-7 weeks late; ~3-4 % are re-sent once with a
  correction (soort_code/categorie/delict, coordinates or time); ~1.2 % of incidents are later
  withdrawn (`vervallen`). Roughly 0.4 % of rows (at most 2 % of a file) are bad on purpose:
  an impossible date (31-02), an unknown code, a point outside the municipality, an age above
  110, a negative amount, a dismantling before the signal.
- Formats vary per week within the contract: Windows-1252 / UTF-8 / UTF-8 with BOM, `;` or `,`,
  header aliases, `dd-mm-yyyy` / `d-m-yyyy` / `yyyy-mm-dd` / `dd/mm/yyyy`, decimal comma
  or point, codes with or without the `BU` prefix; registraties are delivered as XLSX
  every tenth week, hennep twice a year.

**Incident mix** (share of all registered crime; season and time profile as above)

""" + _soort_table_md() + "\n"


# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------

def _one(pattern: str) -> Path:
    found = sorted(GEO_DIR.glob(pattern))
    if not found:
        raise FileNotFoundError(f"referentiebestand {GEO_DIR / pattern} ontbreekt")
    return found[0]


@dataclass
class Areas:
    buurtcode: np.ndarray          # str, one per buurt
    wijkcode: np.ndarray           # str
    wijk_idx: np.ndarray           # int index into wijken
    wijken: list[str]
    inwoners: np.ndarray           # float
    crimes: np.ndarray             # float, registered crime 2023 (raw)
    age_pct: np.ndarray            # (n_wijken, 5) shares
    polygons_rd: list              # shapely polygons, RD New
    polygons_wgs: list
    gemeente_digits: str           # the 4 digits of the GM code
    bounds_rd: tuple[float, float, float, float]
    soort_ref: dict[str, str]      # code -> omschrijving


@lru_cache(maxsize=1)
def load_areas() -> Areas:
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    gj = json.loads(_one("*_buurten_2024.geojson").read_text(encoding="utf-8"))
    feats = sorted(gj["features"], key=lambda f: f["properties"]["buurtcode"])
    codes = np.array([f["properties"]["buurtcode"] for f in feats], dtype=object)
    wgs = [shape(f["geometry"]) for f in feats]
    fwd = Transformer.from_crs(4326, 28992, always_xy=True)

    def to_rd(c):
        x, y = fwd.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    rd = [shapely.transform(g, to_rd) for g in wgs]

    bev = pd.read_csv(_one("*_buurten_bevolking_2024.csv"), dtype={"buurtcode": str, "wijkcode": str})
    bev = bev.set_index("buurtcode")
    mis = pd.read_csv(_one("*_misdrijven_buurt_2023.csv"), dtype={"buurtcode": str, "soort_misdrijf_code": str})
    if "soort_misdrijf_code" in mis.columns:
        tot = mis[mis["soort_misdrijf_code"].str.strip() == "0.0.0"]
        if len(tot) == 0:
            tot = mis
    else:
        tot = mis
    crimes_by = tot.groupby("buurtcode")["geregistreerde_misdrijven"].sum()
    kern = pd.read_csv(_one("*_wijken_kerncijfers_2024.csv"), dtype={"wijkcode": str}).set_index("wijkcode")

    wijkcodes = []
    for f in feats:
        p = f["properties"]
        wk = p.get("wijkcode") or (bev.loc[p["buurtcode"], "wijkcode"] if p["buurtcode"] in bev.index else None)
        if not wk:
            wk = "WK" + p["buurtcode"][2:8]
        wijkcodes.append(wk)
    wijken = sorted(set(wijkcodes))
    wijk_idx = np.array([wijken.index(w) for w in wijkcodes])
    inw = np.array([float(bev["inwoners_2024"].get(c, 0) or 0) for c in codes])
    crimes = np.array([float(crimes_by.get(c, 0) or 0) for c in codes])

    cols = [f"pct_{g}" for g in AGE_GROUPS]
    if all(c in kern.columns for c in cols):
        city = kern[cols].mul(kern.get("inwoners", 1), axis=0).sum() / max(kern.get("inwoners", pd.Series([1])).sum(), 1)
        age = np.array([(kern.loc[w, cols] if w in kern.index else city).astype(float).to_numpy() for w in wijken])
    else:  # no age structure: national-like default
        age = np.tile([15.0, 13.0, 25.0, 26.0, 21.0], (len(wijken), 1))
    age = age / age.sum(axis=1, keepdims=True)

    gem = feats[0]["properties"].get("gemeentecode") or (bev["gemeentecode"].iloc[0] if "gemeentecode" in bev else "")
    digits = re.sub(r"\D", "", str(gem)) or str(codes[0])[2:6]
    union = shapely.union_all(rd)
    ref = pd.read_csv(SOORT_REFERENCE, dtype=str)
    return Areas(codes, np.array(wijkcodes, dtype=object), wijk_idx, wijken, inw, crimes, age, rd, wgs,
                 digits, tuple(union.bounds), dict(zip(ref["code"].str.strip(), ref["omschrijving"])))


@dataclass
class Pool:
    """Address points: RD New (rounded to 0.1 m) and WGS84 (6 decimals), grouped by buurt."""
    buurt: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    start: np.ndarray       # first point index per buurt
    end: np.ndarray         # one past the last point per buurt
    cum_w: np.ndarray       # cumulative hotspot weights (global)
    outside: np.ndarray     # indices of points outside the municipality (bad rows)
    strings: dict = field(default_factory=dict)

    def text(self, style: str) -> np.ndarray:
        if style not in self.strings:
            if style == "x_comma":
                s = [f"{v:.1f}".replace(".", ",") for v in self.x]
            elif style == "y_comma":
                s = [f"{v:.1f}".replace(".", ",") for v in self.y]
            elif style == "x_point":
                s = [f"{v:.1f}" for v in self.x]
            elif style == "y_point":
                s = [f"{v:.1f}" for v in self.y]
            elif style == "lat":
                s = [f"{v:.6f}" for v in self.lat]
            elif style == "lon":
                s = [f"{v:.6f}" for v in self.lon]
            else:  # pragma: no cover
                raise KeyError(style)
            self.strings[style] = np.array(s + [""], dtype=object)
        return self.strings[style]

    def draw(self, rng: np.random.Generator, buurt: np.ndarray, weighted: bool = True) -> np.ndarray:
        """One address point per element of `buurt`, hotspot-weighted or uniform."""
        buurt = np.asarray(buurt)
        u = rng.random(len(buurt))
        lo, hi = self.start[buurt], self.end[buurt]
        if not weighted:
            return np.minimum(lo + (u * (hi - lo)).astype(np.int64), hi - 1)
        c0 = np.where(lo > 0, self.cum_w[np.maximum(lo - 1, 0)], 0.0)
        c1 = self.cum_w[hi - 1]
        idx = np.searchsorted(self.cum_w, c0 + u * (c1 - c0), side="right")
        return np.clip(idx, lo, hi - 1)


def _build_pool(areas: Areas, rng: np.random.Generator) -> Pool:
    import shapely
    from pyproj import Transformer

    inv = Transformer.from_crs(28992, 4326, always_xy=True)
    xs, ys, bs, ws = [], [], [], []
    base = np.maximum(areas.crimes, 0)
    for b, poly in enumerate(areas.polygons_rd):
        n = int(max(40, round(areas.inwoners[b] / 10)) + round(base[b] / 5))
        inner = poly.buffer(-3.0)
        if inner.is_empty or inner.area < 0.1 * poly.area:
            inner = poly.buffer(-0.5)
        minx, miny, maxx, maxy = inner.bounds
        got_x, got_y, have = [], [], 0
        for _ in range(200):
            m = max(64, int(2.5 * (n - have) * (maxx - minx) * (maxy - miny) / max(inner.area, 1.0)))
            px = np.round(rng.uniform(minx, maxx, m), 1)
            py = np.round(rng.uniform(miny, maxy, m), 1)
            keep = shapely.contains_xy(inner, px, py)
            got_x.append(px[keep])
            got_y.append(py[keep])
            have += int(keep.sum())
            if have >= n:
                break
        px = np.concatenate(got_x)[:n]
        py = np.concatenate(got_y)[:n]
        xs.append(px)
        ys.append(py)
        bs.append(np.full(len(px), b))
        ws.append(rng.lognormal(0.0, 1.0, len(px)))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    buurt = np.concatenate(bs)
    lon, lat = inv.transform(x, y)
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    # keep only points whose rounded WGS84 position is in the same buurt as well
    ok = np.ones(len(x), dtype=bool)
    for b, poly in enumerate(areas.polygons_wgs):
        m = buurt == b
        ok[m] = shapely.contains_xy(poly, lon[m], lat[m])
    x, y, lat, lon, buurt = x[ok], y[ok], lat[ok], lon[ok], buurt[ok]
    w = np.concatenate(ws)[ok]
    counts = np.bincount(buurt, minlength=len(areas.polygons_rd))
    if (counts == 0).any():  # pragma: no cover - only for degenerate polygons
        raise RuntimeError("geen adrespunten in buurt " + str(areas.buurtcode[counts == 0][0]))
    end = np.cumsum(counts)
    start = end - counts
    # a handful of points clearly outside the municipality, for bad rows
    minx, miny, maxx, maxy = areas.bounds_rd
    k = 12
    ox = np.round(np.where(rng.random(k) < 0.5, minx - rng.uniform(3000, 15000, k),
                           maxx + rng.uniform(3000, 15000, k)), 1)
    oy = np.round(rng.uniform(miny, maxy, k), 1)
    olon, olat = inv.transform(ox, oy)
    x = np.concatenate([x, ox])
    y = np.concatenate([y, oy])
    lat = np.concatenate([lat, np.round(olat, 6)])
    lon = np.concatenate([lon, np.round(olon, 6)])
    buurt = np.concatenate([buurt, np.full(k, -1)])
    outside = np.arange(len(x) - k, len(x))
    return Pool(buurt, x, y, lat, lon, start, end, np.cumsum(w), outside)


# --------------------------------------------------------------------------------------------
# Time helpers (dates are proleptic ordinals; ISO weeks are (ordinal - 1) // 7)
# --------------------------------------------------------------------------------------------

def week_of(ordinal):
    return (np.asarray(ordinal) - 1) // 7


def monday(week: int) -> int:
    return int(week) * 7 + 1


def _iso_label(week: int) -> str:
    y, w, _ = dt.date.fromordinal(monday(week)).isocalendar()
    return f"{y}-W{w:02d}"


def _smooth_season(profile: str, days: np.ndarray) -> np.ndarray:
    """Daily season factor for ordinals `days`, normalised to mean 1 over a reference year."""
    def raw(ords):
        dates = pd.to_datetime(np.asarray(ords) - 719163, unit="D")  # 719163 = ordinal of 1970-01-01
        doy = dates.day_of_year.to_numpy().astype(float)
        centers = np.array([15.5, 45.0, 74.5, 105.0, 135.5, 166.0, 196.5, 227.5, 258.0, 288.5, 319.0, 349.5])
        f = np.interp(doy, centers, SEASONS[profile], period=365.25)
        extra = SEASON_DAYS.get(profile)
        if extra:
            md = dates.month.to_numpy() * 100 + dates.day.to_numpy()
            for (m, d), k in extra.items():
                f = np.where(md == m * 100 + d, f * k, f)
        return f

    ref = np.arange(dt.date(2023, 1, 1).toordinal(), dt.date(2024, 1, 1).toordinal())
    return raw(days) / raw(ref).mean()


def _time_matrix(profile: str) -> np.ndarray:
    m = np.outer(np.asarray(WEEKDAYS[profile], float), np.asarray(HOURS[profile], float))
    if profile in NIGHTLIFE_PROFILES:
        for dow, hours, k in NIGHTLIFE:
            m[dow, list(hours)] *= k
    return m


def _ipf(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iters: int = 60) -> np.ndarray:
    m = seed.astype(float).copy()
    for _ in range(iters):
        m *= (rows / np.maximum(m.sum(axis=1), 1e-12))[:, None]
        m *= (cols / np.maximum(m.sum(axis=0), 1e-12))[None, :]
    return m


def _draw_events(rng, days: np.ndarray, yearly: np.ndarray, seasons: list[str], tprofiles: list[str]):
    """Poisson counts per day x buurt x category -> arrays (day, buurt, cat, hour)."""
    n_b, n_k = yearly.shape
    dow = (days - 1) % 7  # ordinal 1 is a Monday
    season = np.stack([_smooth_season(s, days) for s in seasons], axis=1)          # D x K
    mats = {p: _time_matrix(p) for p in set(tprofiles)}
    wk = np.stack([mats[p].sum(axis=1) / mats[p].sum(axis=1).mean() for p in tprofiles], axis=1)  # 7 x K
    lam = (yearly / 365.25)[None, :, :] * (season * wk[dow])[:, None, :]          # D x B x K
    counts = rng.poisson(lam)
    d_i, b_i, k_i = np.nonzero(counts)
    reps = counts[d_i, b_i, k_i]
    d = np.repeat(days[d_i], reps)
    b = np.repeat(b_i, reps)
    k = np.repeat(k_i, reps)
    # hour of day given (time profile, weekday)
    hour = np.zeros(len(d), dtype=np.int64)
    prof_of_k = np.array([sorted(mats).index(p) for p in tprofiles])
    key = prof_of_k[k] * 7 + (d - 1) % 7
    order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[order], np.arange(len(mats) * 7 + 1))
    for pi, p in enumerate(sorted(mats)):
        for w in range(7):
            g = pi * 7 + w
            sel = order[bounds[g]:bounds[g + 1]]
            if len(sel):
                row = mats[p][w] / mats[p][w].sum()
                hour[sel] = rng.choice(24, size=len(sel), p=row)
    return d, b, k, hour


def _police_minutes(rng, n: int) -> np.ndarray:
    u = rng.random(n)
    m = np.where(u < 0.45, 0, np.where(u < 0.65, 30, np.where(u < 0.75, 15, np.where(u < 0.85, 45, -1))))
    free = m < 0
    m[free] = rng.integers(0, 12, int(free.sum())) * 5
    return m


def _choice(rng, options_p: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(options_p), size=n, p=np.asarray(options_p) / np.sum(options_p))


def _cond_choice(rng, probs: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw from an (n, k) probability matrix."""
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(len(probs))[:, None] > cdf).sum(axis=1), probs.shape[1] - 1)


def _seq_keys(prefix: str, sep: str, dates: np.ndarray, width: int, start: int = 1, per_year: float = 0.0):
    """Keys `<prefix><year><sep><seq>`, numbered per year of `dates` in the order given.
    In the first (partial) year numbering starts where it would have been had the year been
    generated from 1 January (`per_year` keys a year). Returns the keys and, per year, the
    next free sequence number minus `start` (bad-row keys continue from there)."""
    years = _years(dates)
    keys = np.empty(len(years), dtype=object)
    used: dict[int, int] = {}
    if len(years):
        order = np.argsort(years, kind="stable")
        ys = years[order]
        first_year = int(ys[0])
        jan1 = dt.date(first_year, 1, 1).toordinal()
        offset0 = int(per_year * max(0, int(np.min(dates)) - jan1) / 365.25)
        for y in np.unique(ys):
            lo, hi = np.searchsorted(ys, [y, y + 1])
            off = offset0 if int(y) == first_year else 0
            n = int(hi - lo) + off
            w = _key_width(width, start, n)
            keys[order[lo:hi]] = [f"{prefix}{y}{sep}{s:0{w}d}" for s in range(start + off, start + n)]
            used[int(y)] = n
    return keys, used


def _key_width(width: int, start: int, n: int) -> int:
    """Zero-padded width of the sequence number: `width`, wider only at very large scales."""
    return max(width, len(str(start + n + n // 5 + 100)))  # headroom for bad-row keys


def _years(ords: np.ndarray) -> np.ndarray:
    return pd.to_datetime(np.asarray(ords) - 719163, unit="D").year.to_numpy().astype(np.int64)


# --------------------------------------------------------------------------------------------
# Records and versions
# --------------------------------------------------------------------------------------------

@dataclass
class KindData:
    kind: str
    key_prefix: str                 # e.g. "PL0800-" -> keys PL0800-<year><seq>
    key_width: int
    key_sep: str                    # "" for PL0800-2024123456, "-" for MOR-2024-000123
    used: dict                      # keys used per year (bad-row keys continue after these)
    V: dict                         # version arrays (one element per version)
    w_from: np.ndarray
    w_to: np.ndarray
    lookups: dict                   # name -> tuple of category labels


def _make_versions(first: np.ndarray, last: np.ndarray, changes: dict[str, np.ndarray]):
    """Split each record's delivery interval [first, last] at its change weeks (-1 = none).
    Returns rec, w_from, w_to and a boolean flag per change (the change is in effect)."""
    n = len(first)
    rec = np.arange(n)
    w_from = first.astype(np.int64).copy()
    w_to = last.astype(np.int64).copy()
    flags = {name: np.zeros(n, dtype=bool) for name in changes}
    for name, cw in changes.items():
        c = cw[rec]
        has = c >= 0
        flags[name] |= has & (c <= w_from)
        split = has & (c > w_from) & (c <= w_to)
        if split.any():
            nrec = rec[split]
            nfrom = c[split]
            nto = w_to[split]
            nflags = {k: v[split].copy() for k, v in flags.items()}
            nflags[name][:] = True
            w_to = w_to.copy()
            w_to[split] = c[split] - 1
            rec = np.concatenate([rec, nrec])
            w_from = np.concatenate([w_from, nfrom])
            w_to = np.concatenate([w_to, nto])
            flags = {k: np.concatenate([flags[k], nflags[k]]) for k in flags}
    order = np.lexsort((w_from, rec))
    return rec[order], w_from[order], w_to[order], {k: v[order] for k, v in flags.items()}


def _change_week(rng, first: np.ndarray, last: np.ndarray, p: float) -> np.ndarray:
    """A week strictly after `first` and <= `last` for a share p of the records, else -1."""
    span = last - first
    pick = (rng.random(len(first)) < p) & (span >= 1)
    off = (rng.random(len(first)) * np.maximum(span, 1)).astype(np.int64) + 1
    return np.where(pick, first + off, -1)


def _incidenten(rng, areas: Areas, pool: Pool, d_lo: int, d_hi: int, scale: float) -> KindData:
    codes = [m[0] for m in SOORT_MIX]
    missing = [c for c in codes if c not in areas.soort_ref]
    if missing:
        raise ValueError(f"soort_code(s) {missing} staan niet in {SOORT_REFERENCE.name}")
    share = np.array([m[1] for m in SOORT_MIX]) / sum(m[1] for m in SOORT_MIX)
    total = float(areas.crimes.sum()) * scale
    n_b = np.maximum(areas.crimes, 5.0)
    n_b = n_b / n_b.sum() * total
    resid = (areas.inwoners + 100.0) / (np.maximum(areas.crimes, 0) + 10.0)
    resid = resid / np.exp(np.log(resid).mean())
    expo = np.array([m[4] for m in SOORT_MIX])
    yearly = _ipf(resid[:, None] ** expo[None, :], n_b, share * total)

    days = np.arange(d_lo, d_hi + 1)
    d, b, k, hour = _draw_events(rng, days, yearly, [m[2] for m in SOORT_MIX], [m[3] for m in SOORT_MIX])
    n = len(d)
    minute = hour * 60 + _police_minutes(rng, n)
    point = pool.draw(rng, b)

    # registration delay: same day mostly, 1-7 weeks for a share (higher for fraud, zeden ...)
    p_late = np.array([m[5] for m in SOORT_MIX])[k]
    u = rng.random(n)
    delay = np.where(u < p_late, rng.integers(7, 50, n),
                     np.where(u < p_late + 0.20, rng.integers(1, 4, n),
                              np.where(u < p_late + 0.25, rng.integers(4, 7, n), 0)))
    reg = d + delay
    keep = reg <= d_hi                         # not registered yet today: not delivered
    d, b, k, minute, point, reg = (a[keep] for a in (d, b, k, minute, point, reg))
    n = len(d)

    order = np.lexsort((rng.random(n), minute, d, reg))
    d, b, k, minute, point, reg = d[order], b[order], k[order], minute[order], point[order], reg[order]
    keys, used = _seq_keys(POLICE_UNIT + "-", "", reg, 6, start=100001, per_year=total)

    first = week_of(reg)
    last = week_of(d) + WINDOW_WEEKS - 1
    corr = _change_week(rng, first, last, P_CORRECTION["incidenten"])
    vv = _change_week(rng, first, last, P_WITHDRAWN)
    ctype = rng.choice(3, size=n, p=[0.5, 0.35, 0.15])       # soort, coordinates, time
    code_idx = {c: i for i, c in enumerate(codes)}
    alt_code = np.array([code_idx.get(SOORT_CORRECTION.get(c, "1.6.2"), code_idx["1.6.2"]) for c in codes])
    alt_k = alt_code[k]
    alt_point = pool.draw(rng, b, weighted=False)
    alt_minute = (minute + rng.choice([-90, -60, -30, 30, 60, 120], n)) % 1440

    rec, w_from, w_to, fl = _make_versions(first, last, {"corr": corr, "vv": vv})
    c = fl["corr"]
    ct = ctype[rec]
    V = {
        "key": keys[rec],
        "date": d[rec],
        "minute": np.where(c & (ct == 2), alt_minute[rec], minute[rec]),
        "reg": reg[rec],
        "soort": np.where(c & (ct == 0), alt_k[rec], k[rec]),
        "point": np.where(c & (ct == 1), alt_point[rec], point[rec]),
        "buurt": b[rec],
        "status": fl["vv"].astype(np.int64),
    }
    lookups = {"soort": tuple(codes), "status": ("actief", "vervallen"),
               "soort_text": tuple(areas.soort_ref[c] for c in codes)}
    return KindData("incidenten", POLICE_UNIT + "-", 6, "", used, V, w_from, w_to, lookups)


def _registraties(rng, areas: Areas, pool: Pool, d_lo: int, d_hi: int, scale: float) -> KindData:
    cats = list(CATEGORIES)
    share = np.array([CATEGORIES[c][0] for c in cats], float)
    share /= share.sum()
    total = REGISTRATIES_PER_YEAR * scale
    w_b = 0.5 * areas.inwoners / areas.inwoners.sum() + 0.5 * np.maximum(areas.crimes, 5) / np.maximum(areas.crimes, 5).sum()
    resid = (areas.inwoners + 100.0) / (np.maximum(areas.crimes, 0) + 10.0)
    resid = resid / np.exp(np.log(resid).mean())
    expo = np.array([CATEGORIES[c][3] for c in cats])
    yearly = _ipf(resid[:, None] ** expo[None, :], w_b * total, share * total)
    days = np.arange(d_lo, d_hi + 1)
    d, b, k, hour = _draw_events(rng, days, yearly, [CATEGORIES[c][1] for c in cats],
                                 [CATEGORIES[c][2] for c in cats])
    n = len(d)
    minute = hour * 60 + rng.integers(0, 60, n)
    bron_p = np.array([CATEGORIES[c][4] for c in cats], float)
    bron = _cond_choice(rng, bron_p[k])
    coords = (bron == 0) & (rng.random(n) < 0.7)            # MOR app reports carry a point
    point = pool.draw(rng, b)
    texts = [t for c in cats for t in CATEGORIES[c][5]]
    t_off = np.cumsum([0] + [len(CATEGORIES[c][5]) for c in cats])
    t_n = np.diff(t_off)
    text = t_off[k] + (rng.random(n) * t_n[k]).astype(np.int64)

    u = rng.random(n)
    delay = np.where(u < 0.02, rng.integers(7, 50, n), 0)    # backlog entered later
    entered = d + delay
    keep = entered <= d_hi
    d, b, k, minute, bron, coords, point, text, entered = (a[keep] for a in
                                                           (d, b, k, minute, bron, coords, point, text, entered))
    n = len(d)
    order = np.lexsort((rng.random(n), minute, d))
    d, b, k, minute, bron, coords, point, text, entered = (a[order] for a in
                                                           (d, b, k, minute, bron, coords, point, text, entered))
    keys, used = _seq_keys("MOR-", "-", d, 6, per_year=total)
    first = week_of(entered)
    last = week_of(d) + WINDOW_WEEKS - 1
    corr = _change_week(rng, first, last, P_CORRECTION["registraties"])
    ctype = rng.choice(2, size=n, p=[0.7, 0.3])              # categorie, location
    cat_idx = {c: i for i, c in enumerate(cats)}
    alt_k = np.array([cat_idx[CATEGORY_CORRECTION.get(c, "Overig")] for c in cats])[k]
    alt_text = t_off[alt_k] + (rng.random(n) * t_n[alt_k]).astype(np.int64)
    alt_point = pool.draw(rng, b, weighted=False)
    rec, w_from, w_to, fl = _make_versions(first, last, {"corr": corr})
    c = fl["corr"]
    ct = ctype[rec]
    V = {
        "key": keys[rec],
        "date": d[rec],
        "minute": minute[rec],
        "bron": bron[rec],
        "cat": np.where(c & (ct == 0), alt_k[rec], k[rec]),
        "text": np.where(c & (ct == 0), alt_text[rec], text[rec]),
        "coords": coords[rec],
        "point": np.where(c & (ct == 1), alt_point[rec], point[rec]),
        "buurt": b[rec],
    }
    lookups = {"bron": BRONNEN, "cat": tuple(cats), "text": tuple(texts)}
    return KindData("registraties", "MOR-", 6, "-", used, V, w_from, w_to, lookups)


def _cyber(rng, areas: Areas, pool: Pool, d_lo: int, d_hi: int, scale: float) -> KindData:
    dels = list(DELICTS)
    share = np.array([DELICTS[x][0] for x in dels], float)
    share /= share.sum()
    total = CYBER_PER_YEAR * scale
    w_b = (areas.inwoners + 20.0) / (areas.inwoners + 20.0).sum()
    yearly = np.outer(w_b, share) * total
    days = np.arange(d_lo, d_hi + 1)
    d, b, k, _hour = _draw_events(rng, days, yearly, [DELICTS[x][1] for x in dels], ["kantoor"] * len(dels))
    n = len(d)
    # age group ~ wijk age structure x risk x delict modifier
    mods = np.array([DELICTS[x][2] for x in dels], float)
    probs = areas.age_pct[areas.wijk_idx[b]] * np.asarray(AGE_RISK)[None, :] * mods[k]
    g = _cond_choice(rng, probs)
    lo = np.array([10, 15, 25, 45, 65])[g]
    hi = np.array([15, 25, 45, 65, 66])[g]
    age = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
    old = g == 4
    age[old] = np.minimum(65 + rng.exponential(8.0, int(old.sum())).astype(np.int64), 98)
    birth_year = _years(d) - age          # so that leeftijd = aangiftejaar - geboortejaar
    p_m = np.array([DELICTS[x][3] for x in dels])[k]
    u = rng.random(n)
    sex = np.where(u < 0.015, 3, np.where(u < 0.02, 2, np.where(rng.random(n) < p_m, 0, 1)))
    # education: hoog over-represented among adult victims; minors mostly unknown
    edu_adult = _choice(rng, (0.18, 0.32, 0.40, 0.10), n)
    edu_young = _choice(rng, (0.20, 0.10, 0.0001, 0.70), n)
    edu_student = _choice(rng, (0.10, 0.45, 0.35, 0.10), n)
    edu = np.where(age < 18, edu_young, np.where(age < 25, edu_student, edu_adult))
    p_empty = np.array([DELICTS[x][4] for x in dels])[k]
    med = np.array([DELICTS[x][5] for x in dels], float)[k]
    sig = np.array([DELICTS[x][6] for x in dels], float)[k]
    amount = np.exp(np.log(med) + sig * rng.standard_normal(n))
    amount = np.where(rng.random(n) < 0.4, np.round(amount, -1), np.round(amount, 2))
    amount = np.maximum(amount, 1.0)
    amount = np.where(rng.random(n) < p_empty, np.nan, amount)

    u = rng.random(n)
    delay = np.where(u < 0.03, rng.integers(7, 50, n), 0)
    entered = d + delay
    keep = entered <= d_hi
    d, b, k, age, birth_year, sex, edu, amount, entered, med, sig = (
        a[keep] for a in (d, b, k, age, birth_year, sex, edu, amount, entered, med, sig))
    n = len(d)
    order = np.lexsort((rng.random(n), d))
    d, b, k, age, birth_year, sex, edu, amount, entered = (a[order] for a in
                                                           (d, b, k, age, birth_year, sex, edu, amount, entered))
    keys, used = _seq_keys("CY-", "-", d, 6, per_year=total)
    first = week_of(entered)
    last = week_of(d) + WINDOW_WEEKS - 1
    corr = _change_week(rng, first, last, P_CORRECTION["cyber_slachtoffers"])
    ctype = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])       # delict, schade, leeftijd
    alt_k = (k + 1 + rng.integers(0, len(dels) - 1, n)) % len(dels)
    med, sig = med[order], sig[order]
    alt_amount = np.where(np.isnan(amount), np.round(np.exp(np.log(med) + sig * rng.standard_normal(n)), 2),
                          np.round(amount * rng.uniform(1.1, 2.5, n), 2))
    alt_age = np.clip(age + rng.choice([-2, -1, 1, 2], n), 10, 98)
    rec, w_from, w_to, fl = _make_versions(first, last, {"corr": corr})
    c = fl["corr"]
    ct = ctype[rec]
    a_age = np.where(c & (ct == 2), alt_age[rec], age[rec])
    V = {
        "key": keys[rec],
        "date": d[rec],
        "delict": np.where(c & (ct == 0), alt_k[rec], k[rec]),
        "age": a_age,
        "birth_year": np.where(c & (ct == 2), birth_year[rec] - (alt_age[rec] - age[rec]), birth_year[rec]),
        "sex": sex[rec],
        "edu": edu[rec],
        "amount": np.where(c & (ct == 1), alt_amount[rec], amount[rec]),
        "buurt": b[rec],
    }
    lookups = {"delict": tuple(dels), "sex": GESLACHT, "edu": OPLEIDING}
    return KindData("cyber_slachtoffers", "CY-", 6, "-", used, V, w_from, w_to, lookups)


def _hennep(rng, areas: Areas, pool: Pool, d_lo: int, d_hi: int, scale: float) -> KindData:
    total = HENNEP_PER_YEAR * scale
    w_b = (areas.inwoners + 300.0) / (areas.inwoners + 300.0).sum()
    days = np.arange(d_lo, d_hi + 1)
    d, b, _k, _h = _draw_events(rng, days, (w_b * total)[:, None], ["winter_licht"], ["dag"])
    order = np.argsort(d, kind="stable")
    d, b = d[order], b[order]
    n = len(d)
    point = pool.draw(rng, b, weighted=False)
    bron = _choice(rng, SIGNAALBRON_P, n)
    pand = _choice(rng, TYPE_PAND_P, n)
    eig = _cond_choice(rng, np.array([EIGENDOM_P[TYPE_PAND[p]] for p in pand]).reshape(n, 4)) if n else np.zeros(0, int)
    dismantled = rng.random(n) < HENNEP_DISMANTLED
    ruim = np.where(dismantled, d + rng.integers(7, 29, n), -1)
    plants = np.where(dismantled, np.clip(np.exp(np.log(250) + 0.7 * rng.standard_normal(n)), 50, 1000).astype(np.int64), -1)
    stroom = np.where(dismantled, (rng.random(n) < 0.6).astype(np.int64), -1)
    besluit = np.where(dismantled, _cond_choice(rng, np.array([BESLUIT_P[TYPE_PAND[p]] for p in pand]).reshape(n, 3))
                       if n else np.zeros(0, int), 0)
    decided = np.where(dismantled & (besluit > 0), ruim + rng.integers(14, 43, n), -1)
    s_begin = np.where(besluit == 2, decided, -1)
    s_end = np.where((besluit == 2) & (rng.random(n) < 0.9), s_begin + rng.integers(91, 367, n), -1)
    # repeat cases: same address (and BAG id) as an earlier dismantled case
    for i in range(n):
        if rng.random() < HENNEP_REPEAT:
            earlier = np.nonzero(dismantled[:i] & (ruim[:i] >= 0) & (ruim[:i] < d[i] - 30))[0]
            if len(earlier):
                j = earlier[rng.integers(0, len(earlier))]
                point[i], b[i] = point[j], b[j]
    adres = np.array([f"{areas.gemeente_digits}01{1000000 + int(p):010d}" for p in point], dtype=object)
    keys, used = _seq_keys("HZ-", "-", d, 4, per_year=total)

    # what is known today: later dismantlings and decisions have not happened yet
    ruim_seen = np.where(ruim <= d_hi, ruim, -1)
    dec_seen = np.where(decided <= d_hi, decided, -1)
    first = week_of(d)
    latest = np.maximum(d, np.maximum(ruim_seen, dec_seen))
    last = week_of(latest) + WINDOW_WEEKS - 1
    rec, w_from, w_to, fl = _make_versions(first, last, {"ruim": np.where(ruim_seen >= 0, week_of(ruim_seen), -1),
                                                          "dec": np.where(dec_seen >= 0, week_of(dec_seen), -1)})
    r, dcd = fl["ruim"], fl["dec"]
    V = {
        "key": keys[rec],
        "date": d[rec],
        "bron": bron[rec],
        "ruim": np.where(r, ruim[rec], -1),
        "plants": np.where(r, plants[rec], -1),
        "pand": pand[rec],
        "eig": eig[rec],
        "stroom": np.where(r, stroom[rec], -1),
        "besluit": np.where(dcd, besluit[rec], np.where(r, 0, -1)),
        "s_begin": np.where(dcd, s_begin[rec], -1),
        "s_end": np.where(dcd, s_end[rec], -1),
        "adres": adres[rec],
        "point": point[rec],
        "buurt": b[rec],
    }
    lookups = {"bron": SIGNAALBRONNEN, "pand": TYPE_PAND, "eig": EIGENDOM, "besluit": BESLUIT}
    return KindData("hennep", "HZ-", 4, "-", used, V, w_from, w_to, lookups)


# --------------------------------------------------------------------------------------------
# Output layouts ("what the source system sends")
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    name: str
    fmt: str                         # "csv" or "xlsx"
    encoding: str = "utf-8"          # utf-8, utf-8-sig, cp1252
    delim: str = ";"
    newline: str = "\r\n"
    columns: tuple = ()              # (header, field, style)


LAYOUTS: dict[str, tuple[tuple[Layout, float], ...]] = {
    "incidenten": (
        (Layout("bvh", "csv", "cp1252", ";", "\r\n", (
            ("Registratienummer", "key", None), ("Begindatum", "date", "dmy"), ("Begintijd", "time", None),
            ("Aangiftedatum", "reg", "dmy"), ("Misdrijfcode", "soort", None), ("Omschrijving", "soort_text", None),
            ("X-coordinaat", "x", "x_comma"), ("Y-coordinaat", "y", "y_comma"), ("Status", "status", None))), 0.70),
        (Layout("open", "csv", "utf-8", ",", "\n", (
            ("registratienummer", "key", None), ("pleegdatum", "date", "iso"), ("pleegtijd", "time", None),
            ("registratiedatum", "reg", "iso"), ("soort_code", "soort", None), ("soort", "soort_text", None),
            ("status", "status", None), ("x_rd", "x", "x_point"), ("y_rd", "y", "y_point"))), 0.12),
        (Layout("buurt", "csv", "cp1252", ";", "\r\n", (
            ("Reg_nr", "key", None), ("Datum_feit", "date", "dmy1"), ("Begintijd", "time", None),
            ("Meldingsdatum", "reg", "dmy1"), ("Soort_misdrijf_code", "soort", None),
            ("Soort_misdrijf", "soort_text", None), ("Buurtcode", "buurt", "BU"), ("Wijkcode", "wijk", "WK"),
            ("Status", "status", None))), 0.10),
        (Layout("datetime", "csv", "utf-8-sig", ";", "\r\n", (
            ("BVH nummer", "key", None), ("Pleegdatum begin", "datetime", "slash"),
            ("Registratiedatum", "reg", "slash"), ("Soort code", "soort", None), ("X", "x", "x_comma"),
            ("Y", "y", "y_comma"), ("Status", "status", None))), 0.08),
    ),
    "registraties": (
        (Layout("zaaksysteem", "csv", "utf-8", ",", "\n", (
            ("registratie_id", "key", None), ("datum", "datetime", "iso"), ("bron", "bron", None),
            ("categorie", "cat", None), ("omschrijving", "text", None), ("buurtcode", "buurt_nc", "BU"),
            ("lat", "lat", "lat"), ("lon", "lon", "lon"))), 0.60),
        (Layout("mor", "csv", "cp1252", ";", "\r\n", (
            ("Melding ID", "key", None), ("Meldingsdatum", "datetime", "dmy"), ("Kanaal", "bron", None),
            ("Onderwerp", "cat", None), ("Toelichting", "text", None), ("Buurtcode", "buurt", "BU"),
            ("X", "x", "x_comma"), ("Y", "y", "y_comma"))), 0.40),
    ),
    "cyber_slachtoffers": (
        (Layout("aangifte", "csv", "utf-8-sig", ";", "\r\n", (
            ("aangifte_id", "key", None), ("aangiftedatum", "date", "dmy"), ("delict", "delict", None),
            ("leeftijd", "age", None), ("geslacht", "sex", None), ("opleidingsniveau", "edu", None),
            ("schadebedrag", "amount", "nl"), ("woon_buurtcode", "buurt", "BU"))), 0.75),
        (Layout("export", "csv", "utf-8", ",", "\n", (
            ("Registratienummer", "key", None), ("Datum", "date", "iso"), ("Modus", "delict", None),
            ("Geboortejaar", "birth_year", None), ("Sekse", "sex", "word"), ("Opleiding", "edu", None),
            ("Schade_eur", "amount", "en"), ("Buurtcode", "buurt", "nc"))), 0.25),
    ),
    "hennep": (
        (Layout("politie", "csv", "utf-8", ",", "\r\n", (
            ("zaaknummer", "key", None), ("signaaldatum", "date", "iso"), ("signaalbron", "bron", None),
            ("ruimingsdatum", "ruim", "iso"), ("aantal_planten", "plants", None), ("type_pand", "pand", None),
            ("eigendom", "eig", None), ("stroomdiefstal", "stroom", "janee"), ("besluit_13b", "besluit", None),
            ("sluiting_begin", "s_begin", "iso"), ("sluiting_eind", "s_end", "iso"), ("adres_id", "adres", None),
            ("lat", "lat", "lat"), ("lon", "lon", "lon"))), 0.80),
        (Layout("gemeente", "csv", "cp1252", ";", "\r\n", (
            ("Dossiernummer", "key", None), ("Datum signaal", "date", "dmy"), ("Bron", "bron", None),
            ("Ontmanteld op", "ruim", "dmy"), ("Planten", "plants", None), ("Pandtype", "pand", None),
            ("Eigendom", "eig", None), ("Stroomdiefstal", "stroom", "jn"), ("Besluit", "besluit", None),
            ("Sluiting begin", "s_begin", "dmy"), ("Sluiting eind", "s_end", "dmy"), ("BAG id", "adres", None),
            ("X coordinaat", "x", "x_comma"), ("Y coordinaat", "y", "y_comma"))), 0.20),
    ),
}
XLSX_LAYOUTS = {
    "registraties": Layout("xlsx", "xlsx", columns=(
        ("Melding ID", "key", None), ("Meldingsdatum", "datetime", "dmy"), ("Kanaal", "bron", None),
        ("Onderwerp", "cat", None), ("Toelichting", "text", None), ("Buurtcode", "buurt", "BU"))),
    "hennep": Layout("xlsx", "xlsx", columns=(
        ("Zaak ID", "key", None), ("Datum signaal", "date", "iso"), ("Bron", "bron", None),
        ("Datum ruiming", "ruim", "iso"), ("Planten", "plants", None), ("Type pand", "pand", None),
        ("Eigendom", "eig", None), ("Stroomdiefstal", "stroom", "janee"), ("Besluit 13b", "besluit", None),
        ("Sluiting begin", "s_begin", "iso"), ("Sluiting eind", "s_end", "iso"), ("Verblijfsobject ID", "adres", None),
        ("Latitude", "lat", "lat"), ("Longitude", "lon", "lon"))),
}
XLSX_EVERY = {"registraties": 10, "hennep": 26}

DATE_STYLES = {"dmy": "%d-%m-%Y", "iso": "%Y-%m-%d", "slash": "%d/%m/%Y"}


class Formatter:
    """Turns version rows into field strings; lookups are built once per generate()."""

    def __init__(self, areas: Areas, pool: Pool, d_lo: int, d_hi: int):
        self.areas, self.pool = areas, pool
        self.lo, self.hi = d_lo, d_hi
        self._dates: dict[str, np.ndarray] = {}
        self._date_obj = None
        self.times = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)] + [""], dtype=object)
        self.bu = {"BU": np.array(list(areas.buurtcode) + [""], dtype=object),
                   "nc": np.array([c[2:] for c in areas.buurtcode] + [""], dtype=object)}
        self.wk = np.array(list(areas.wijkcode) + [""], dtype=object)      # per buurt
        self.small_ints = np.array([str(i) for i in range(2200)] + [""], dtype=object)

    def dates(self, ords: np.ndarray, style: str) -> np.ndarray:
        if style not in self._dates:
            ds = [dt.date.fromordinal(o) for o in range(self.lo, self.hi + 1)]
            if style == "dmy1":
                s = [f"{d.day}-{d.month}-{d.year}" for d in ds]
            else:
                s = [d.strftime(DATE_STYLES[style]) for d in ds]
            self._dates[style] = np.array(s + [""], dtype=object)
        tab = self._dates[style]
        return tab[np.where(ords >= 0, ords - self.lo, len(tab) - 1)]

    def date_objects(self, ords: np.ndarray) -> list:
        if self._date_obj is None:
            self._date_obj = [dt.datetime.fromordinal(o) for o in range(self.lo, self.hi + 1)]
        return [self._date_obj[o - self.lo] if o >= 0 else None for o in ords]

    @staticmethod
    def quote(values, delim: str | None) -> np.ndarray:
        """CSV-quote where needed; returns the values plus a trailing "" (the missing value)."""
        def q(s: str) -> str:
            if delim and (delim in s or '"' in s or "\n" in s):
                return '"' + s.replace('"', '""') + '"'
            return s
        return np.array([q(v) for v in values] + [""], dtype=object)

    @staticmethod
    @lru_cache(maxsize=256)
    def table(labels: tuple, delim: str | None) -> np.ndarray:
        return Formatter.quote(labels, delim)

    def field(self, kd: KindData, V: dict, idx: np.ndarray, fld: str, style, delim: str | None) -> np.ndarray:
        g = lambda name: V[name][idx]  # noqa: E731
        n_sentinel = lambda arr, tab_len: np.where(arr >= 0, arr, tab_len - 1)  # noqa: E731
        if fld == "key" or fld == "adres":
            return g(fld)
        if fld in ("date", "reg", "ruim", "s_begin", "s_end"):
            return self.dates(g(fld), style)
        if fld == "time":
            return self.times[g("minute")]
        if fld == "datetime":
            return self.dates(g("date"), style) + " " + self.times[g("minute")]
        if fld in ("x", "y", "lat", "lon"):
            st = style
            tab = self.pool.text(st)
            p = g("point")
            if "coords" in V:
                p = np.where(g("coords"), p, -1)
            return tab[n_sentinel(p, len(tab))]
        if fld in ("buurt", "buurt_nc"):
            tab = self.bu["BU" if style == "BU" else "nc"]
            b = g("buurt")
            if fld == "buurt_nc":          # only rows without coordinates carry the code
                b = np.where(g("coords"), -1, b)
            return tab[n_sentinel(b, len(tab))]
        if fld == "wijk":
            return self.wk[g("buurt")]
        if fld in ("age", "birth_year", "plants"):
            v = g(fld)
            return self.small_ints[np.where((v >= 0) & (v < len(self.small_ints) - 1), v, len(self.small_ints) - 1)]
        if fld == "amount":
            v = g("amount")
            out = np.full(len(v), "", dtype=object)
            ok = ~np.isnan(v)
            out[ok] = [_money(a, style) for a in v[ok]]
            return self.quote(out, delim)[:-1] if delim else out
        if fld == "stroom":
            labels = {"janee": ("nee", "ja"), "jn": ("n", "j"), "bool": ("false", "true")}[style]
            tab = np.array(list(labels) + [""], dtype=object)
            return tab[n_sentinel(g("stroom"), 3)]
        if fld == "sex" and style == "word":
            tab = np.array(["man", "vrouw", "X", "onbekend", ""], dtype=object)
            return tab[g("sex")]
        if fld == "soort_text":
            tab = self.table(kd.lookups["soort_text"], delim)
            return tab[g("soort")]
        # generic coded value
        tab = self.table(kd.lookups[fld], delim)
        return tab[n_sentinel(g(fld), len(tab))]


def _money(a: float, style: str) -> str:
    if style == "en":
        return f"{a:.2f}"
    s = f"{a:,.2f}"                       # 1,250.00
    return s.replace(",", "_").replace(".", ",").replace("_", ".")


# --------------------------------------------------------------------------------------------
# Bad rows
# --------------------------------------------------------------------------------------------

def _impossible_date(style: str, year: int, with_time: bool) -> str:
    s = {"dmy": f"31-02-{year}", "dmy1": f"31-2-{year}", "iso": f"{year}-02-31", "slash": f"31/02/{year}"}[style]
    return s + " 14:00" if with_time else s


def _bad_row(kd: KindData, layout: Layout, fields: list, rng, week_end: dt.date, areas: Areas, pool: Pool,
             V: dict, i: int) -> list:
    """Corrupt one value of a (copied) row; returns the new field list."""
    cols = {fld: j for j, (_h, fld, _s) in enumerate(layout.columns)}
    style = {fld: s for _h, fld, s in layout.columns}
    options = []
    for f in ("date", "datetime"):
        if f in cols:
            options.append(("date", f))
    code_field = {"incidenten": "soort", "registraties": "cat", "cyber_slachtoffers": "delict", "hennep": "pand"}[kd.kind]
    if code_field in cols:
        options.append(("code", code_field))
    if "x" in cols or "lat" in cols or "buurt" in cols:
        options.append(("loc", None))
    if kd.kind == "cyber_slachtoffers":
        options.append(("age", None))
        options.append(("amount", None))
    if kd.kind == "hennep" and "ruim" in cols and V["ruim"][i] >= 0:
        options.append(("ruim", None))
    what, f = options[int(rng.integers(0, len(options)))]
    out = list(fields)
    if what == "date":
        y = week_end.year if dt.date(week_end.year, 3, 3) <= week_end else week_end.year - 1
        out[cols[f]] = _impossible_date(style[f], y, f == "datetime")
    elif what == "code":
        bad = {"incidenten": ("9.9.9", "1.1.9", "4.1.1"), "registraties": ("Hondenpoep", "Straatverlichting"),
               "cyber_slachtoffers": ("Ransomware", "Datingfraude"), "hennep": ("Woonboot", "Schuur")}[kd.kind]
        bad = [v for v in bad if v not in kd.lookups.get(code_field, ()) and v not in areas.soort_ref]
        out[cols[f]] = bad[int(rng.integers(0, len(bad)))]
    elif what == "loc":
        p = pool.outside[int(rng.integers(0, len(pool.outside)))]
        put = False
        for f2 in ("x", "y", "lat", "lon"):
            if f2 in cols:
                out[cols[f2]] = pool.text(style[f2])[p]
                put = True
        if not put and "buurt" in cols:   # codes only: a code the reference areas do not know
            known = set(areas.buurtcode)
            code = next(c for c in (f"BU{areas.gemeente_digits}{t}" for t in ("9999", "9998", "9899", "9989"))
                        if c not in known)
            out[cols["buurt"]] = code if style["buurt"] == "BU" else code[2:]
            if "wijk" in cols:
                out[cols["wijk"]] = f"WK{areas.gemeente_digits}99"
    elif what == "age":
        if "age" in cols:
            out[cols["age"]] = str(int(rng.integers(120, 160)))
        else:
            out[cols["birth_year"]] = str(week_end.year - int(rng.integers(120, 160)))
    elif what == "amount":
        out[cols["amount"]] = "-" + ("125,00" if style["amount"] == "nl" else "125.00")
        if layout.delim == "," and style["amount"] == "nl":
            out[cols["amount"]] = '"-125,00"'
    elif what == "ruim":
        before = int(V["date"][i]) - int(rng.integers(3, 20))
        out[cols["ruim"]] = dt.date.fromordinal(before).strftime(DATE_STYLES.get(style["ruim"], "%d-%m-%Y"))
    return out


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        '</Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'extended-properties" Target="docProps/app.xml"/>'
        '</Relationships>'),
    "docProps/app.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        '<Application>Microsoft Excel</Application></Properties>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Export" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'styles" Target="styles.xml"/>'
        '</Relationships>'),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd-mm-yyyy hh:mm"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'),
}
_EXCEL_EPOCH = dt.date(1899, 12, 30).toordinal()


def _xml_text(s: str) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<is><t xml:space="preserve">{s}</t></is>' if s != s.strip() else f"<is><t>{s}</t></is>"


def _write_xlsx(path: Path, header: list[str], rows: list[list], stamp: dt.datetime) -> None:
    """A minimal, valid XLSX (one sheet, inline strings, date cells with a date format).

    Written directly instead of through openpyxl: about 20x faster for the big benchmark
    scales, and byte-for-byte deterministic (fixed zip timestamps and document dates).
    Excel, LibreOffice and openpyxl read it like any export."""
    letters = [chr(65 + i) for i in range(len(header))]
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for rn, row in enumerate([header, *rows], start=1):
        cells = []
        for col, v in zip(letters, row):
            if v is None or v == "":
                continue
            ref = f"{col}{rn}"
            if isinstance(v, str):
                cells.append(f'<c r="{ref}" t="inlineStr">{_xml_text(v)}</c>')
            elif isinstance(v, dt.datetime):
                serial = v.toordinal() - _EXCEL_EPOCH + (v.hour * 3600 + v.minute * 60 + v.second) / 86400
                cells.append(f'<c r="{ref}" s="2"><v>{serial!r}</v></c>')
            elif isinstance(v, dt.date):
                cells.append(f'<c r="{ref}" s="1"><v>{v.toordinal() - _EXCEL_EPOCH}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{v!r}</v></c>')
        out.append(f'<row r="{rn}">' + "".join(cells) + "</row>")
    out.append("</sheetData></worksheet>")
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>export</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{iso}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{iso}</dcterms:modified></cp:coreProperties>')
    parts = dict(_XLSX_STATIC)
    parts["docProps/core.xml"] = core
    parts["xl/worksheets/sheet1.xml"] = "".join(out)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"):
            zi = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, parts[name].encode("utf-8"))
    _write_atomic(path, buf.getvalue())


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target under a hidden name, then rename: an ingest running at the same
    time (it skips dot-files) never sees a half-written extract."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _xlsx_values(fmt: Formatter, kd: KindData, layout: Layout, idx: np.ndarray) -> list[list]:
    cols = []
    for _h, fld, style in layout.columns:
        if fld in ("date", "ruim", "s_begin", "s_end"):
            objs = fmt.date_objects(kd.V[fld][idx])
            cols.append([o.date() if o is not None else None for o in objs])
        elif fld == "datetime":
            objs = fmt.date_objects(kd.V["date"][idx])
            mins = kd.V["minute"][idx]
            cols.append([o + dt.timedelta(minutes=int(m)) for o, m in zip(objs, mins)])
        elif fld in ("plants", "age", "birth_year"):
            v = kd.V[fld][idx]
            cols.append([int(a) if a >= 0 else None for a in v])
        elif fld in ("lat", "lon"):
            p = kd.V["point"][idx]
            arr = getattr(fmt.pool, fld)
            cols.append([float(arr[q]) for q in p])
        else:
            s = fmt.field(kd, kd.V, idx, fld, style, None)
            cols.append([v if v != "" else None for v in s])
    return [list(r) for r in zip(*cols)] if cols else []


def _choose_layouts(kind: str, weeks: np.ndarray, seed: int) -> list[Layout]:
    rng = np.random.default_rng([seed, 7, KINDS.index(kind)])
    opts = LAYOUTS[kind]
    p = np.array([w for _l, w in opts])
    pick = rng.choice(len(opts), size=len(weeks), p=p / p.sum())
    out = []
    every = XLSX_EVERY.get(kind)
    for w, j in zip(weeks, pick):
        if every and (int(w) + seed * 3 + KINDS.index(kind)) % every == 0:
            out.append(XLSX_LAYOUTS[kind])
        else:
            out.append(opts[j][0])
    return out


def _generate(inbox: Path, weeks: int = 156, seed: int = 0, scale: float = 1.0,
              today: dt.date | None = None, progress=None) -> tuple[list[Path], dict]:
    if weeks < 1:
        raise ValueError("weeks moet minstens 1 zijn")
    if not scale > 0:
        raise ValueError("scale moet groter dan 0 zijn")
    today = today or dt.date.today()
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    areas = load_areas()
    w1 = int(week_of(today.toordinal()))
    w0 = w1 - weeks + 1
    d_end = today.toordinal()            # nothing is dated after today (the extract day)
    d_start = max(monday(w0 - WINDOW_WEEKS + 1), EARLIEST.toordinal())
    d_start = min(d_start, d_end)

    pool = _build_pool(areas, np.random.default_rng([seed, 1]))
    kinds = {
        "incidenten": _incidenten(np.random.default_rng([seed, 10]), areas, pool, d_start, d_end, scale),
        "registraties": _registraties(np.random.default_rng([seed, 11]), areas, pool, d_start, d_end, scale),
        "cyber_slachtoffers": _cyber(np.random.default_rng([seed, 12]), areas, pool, d_start, d_end, scale),
        # hennep cases stay in the window while they progress: start earlier
        "hennep": _hennep(np.random.default_rng([seed, 13]), areas, pool,
                          max(d_start - 26 * 7, EARLIEST.toordinal()), d_end, scale),
    }
    fmt = Formatter(areas, pool, d_start - 400, d_end + 400)
    week_list = np.arange(w0, w1 + 1)
    layouts = {k: _choose_layouts(k, week_list, seed) for k in KINDS}
    cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    bad_counter: dict[tuple[str, int], int] = {}
    stats = {k: {"files": 0, "rows": 0, "bad_rows": 0} for k in KINDS}
    stats["weeks"] = (_iso_label(w0), _iso_label(w1))
    paths: list[Path] = []

    for wi, w in enumerate(week_list):
        label = _iso_label(int(w))
        sunday = dt.date.fromordinal(monday(int(w)) + 6)
        stamp = dt.datetime.combine(sunday, dt.time(23, 0))
        for ki, kind in enumerate(KINDS):
            kd = kinds[kind]
            layout = layouts[kind][wi]
            idx = np.nonzero((kd.w_from <= w) & (kd.w_to >= w))[0]
            rng = np.random.default_rng([seed, 100 + ki, int(w)])
            n = len(idx)
            n_bad = min(int(rng.binomial(n, BAD_ROW_RATE)), n // BAD_ROW_CAP) if n else 0
            header = [h for h, _f, _s in layout.columns]
            bad_rows, bad_pos = [], []
            for _ in range(n_bad):
                i = int(idx[int(rng.integers(0, n))])
                year = sunday.year
                used = kd.used.get(year, 0) + bad_counter.get((kind, year), 0)
                bad_counter[(kind, year)] = bad_counter.get((kind, year), 0) + 1
                start = 100001 if kind == "incidenten" else 1
                seqw = _key_width(kd.key_width, start, kd.used.get(year, 0))
                key = f"{kd.key_prefix}{year}{kd.key_sep}{start + used:0{seqw}d}"
                one = np.array([i])
                if layout.fmt == "xlsx":
                    fields = [("" if v is None else v) for v in _xlsx_values(fmt, kd, layout, one)[0]]
                else:
                    fields = [fmt.field(kd, kd.V, one, f, s, layout.delim)[0] for _h, f, s in layout.columns]
                fields = _bad_row(kd, layout, fields, rng, sunday, areas, pool, kd.V, i)
                fields[0] = key
                bad_rows.append(fields)
                bad_pos.append(int(rng.integers(0, n + 1)))
            name = f"{kind}_{label}.{layout.fmt}"
            path = inbox / name
            if layout.fmt == "xlsx":
                rows = _xlsx_values(fmt, kd, layout, idx)
                for pos, r in sorted(zip(bad_pos, bad_rows), key=lambda t: -t[0]):
                    rows.insert(pos, [v if v != "" else None for v in r])
                _write_xlsx(path, header, rows, stamp)
            else:
                ck = (kind, layout.name)
                if ck not in cache:
                    cache[ck] = (np.empty(len(kd.w_from), dtype=object), np.zeros(len(kd.w_from), dtype=bool))
                lines, done = cache[ck]
                need = idx[~done[idx]]
                if len(need):
                    parts = [fmt.field(kd, kd.V, need, f, s, layout.delim) for _h, f, s in layout.columns]
                    line = parts[0]
                    for p in parts[1:]:
                        line = line + layout.delim + p
                    lines[need] = line
                    done[need] = True
                body = list(lines[idx])
                for pos, r in sorted(zip(bad_pos, bad_rows), key=lambda t: -t[0]):
                    body.insert(pos, layout.delim.join(r))
                text = layout.newline.join([layout.delim.join(header)] + body) + layout.newline
                _write_atomic(path, text.encode(layout.encoding))
            paths.append(path)
            expired = idx[kd.w_to[idx] == w]          # delivered for the last time: free their lines
            for (ck_kind, _name), (lines, _done) in cache.items():
                if ck_kind == kind and len(expired):
                    lines[expired] = None
            stats[kind]["files"] += 1
            stats[kind]["rows"] += n + n_bad
            stats[kind]["bad_rows"] += n_bad
        if progress is not None:
            progress(wi + 1, len(week_list))
    return paths, stats


def generate(inbox: Path, weeks: int = 156, seed: int = 0, scale: float = 1.0,
             today: dt.date | None = None, progress=None) -> list[Path]:
    """Write weekly extract files of all four kinds into `inbox` for the last `weeks` ISO weeks
    up to and including the ISO week of `today` (default date.today()). Returns the written paths.
    `progress`, if given, is called as progress(done:int, total:int) after each week."""
    return _generate(inbox, weeks=weeks, seed=seed, scale=scale, today=today, progress=progress)[0]


# --------------------------------------------------------------------------------------------
# Scale option for benchmarks: a big warehouse without millions of extract rows
# --------------------------------------------------------------------------------------------

#: the four fact tables, their key column and how a copy's key is made unique
SCALE_KEYS = {"incidenten": "registratienummer", "registraties": "registratie_id",
              "cyber_slachtoffers": "aangifte_id", "hennep": "zaaknummer"}

#: copies of an incident move back by 0..SHIFT_WEEKS-1 whole weeks (see build_scaled_warehouse)
SHIFT_WEEKS = 52
#: the order in which the weekly ingest appends each kind's rows, about: by the day a record was first reported
ARRIVAL_ORDER = {"incidenten": "coalesce(registratiedatum, pleegdatum), pleegdatum", "registraties": "datum",
                 "cyber_slachtoffers": "aangiftedatum", "hennep": "signaaldatum"}


def _incident_shift_sql(con, key: str) -> str:
    """The REPLACE items that move a copy `k` of an incident back by whole weeks, wrapping around within the
    data's whole weeks (counted back from the last day), so that weekday, time of day, place and the lag to
    the registration stay. The days of an unfinished oldest week stay where they are."""
    last, first, last_reg = con.execute(
        "SELECT max(pleegdatum), min(pleegdatum), max(registratiedatum) FROM incidenten").fetchone()
    if last is None:
        return ""
    span = 7 * (((last - first).days + 1) // 7)  # whole weeks back from the last day; older days stay put
    if span == 0:
        return ""
    back = f"date_diff('day', pleegdatum, DATE '{last}')"
    moved = f"(({back} + 7 * CAST(hash({key} || '-k' || k) % {SHIFT_WEEKS} AS INTEGER)) % {span})"
    delta = f"CAST(CASE WHEN pleegdatum IS NULL OR {back} >= {span} THEN 0 ELSE {back} - {moved} END AS INTEGER)"
    # a copy moved forward keeps its lag, but is never registered after the data's last registration (or day)
    cap = max(last_reg, last) if last_reg is not None else last
    reg = f"CASE WHEN registratiedatum IS NULL THEN NULL ELSE least(registratiedatum + {delta}, DATE '{cap}') END"
    return (f", pleegdatum + {delta} AS pleegdatum, pleegmoment + to_days({delta}) AS pleegmoment, "
            f"{reg} AS registratiedatum")


def build_scaled_warehouse(warehouse: Path, incidents: int, weeks: int = 156, seed: int = 0,
                           today: dt.date | None = None, base_scale: float = 1.0, keep_versions: int = 2,
                           log=None, base_cache: Path | None = None) -> dict:
    """Benchmark warehouse with about `incidents` incidents (registraties, cyber and hennep in proportion).

    Building 5M or 20M incidents through weekly extract files is far too slow (every record arrives
    in 8 rolling files: over an hour for 5M). So this *bulk builder* generates a normal demo (the
    generator above, `base_scale`, `weeks`) and loads it through the real ingest, and then writes
    the fact tables directly: every record of every kind is copied `k` times in one SQL statement per
    batch, each copy with its own key (`<key>-k<n>`) and, for hennep, its own BAG address id. Places
    (buurt, coordinates), mix and the proportions between the four kinds stay those of the generator: a
    region with k times the city's crime on the city's map. Lineage columns are those of the original record.
    For benchmarks only; the product never calls it.

    Each copy of an incident moves back by 0 to SHIFT_WEEKS-1 whole weeks (by its key; wrapping around within
    the data's weeks), keeping its weekday, time, place and registration lag. Copies on the very same day
    would leave the per-day counts (DAY_COUNTS: day x wijk x theme) as sparse as the small base: 32,000 rows
    at 5M, where real data of that size fills about 500,000. The season evens out.

    Every kind is then stored in arrival order (ARRIVAL_ORDER), as 156 weekly ingests would have appended it:
    copy after copy, each row group would hold every date, and a date filter could skip none of them.

    `base_cache`: a file where the ingested demo is kept (and reused when present), so that building
    several sizes runs the ingest of the base demo once.
    """
    import shutil

    from pipelines.ingest import run_ingest
    from veiligheid.config import Config
    from veiligheid.warehouse import write_version

    say = log or (lambda msg: None)
    warehouse = Path(warehouse)
    work = warehouse.parent / (warehouse.name + ".build")
    shutil.rmtree(work, ignore_errors=True)
    t0 = t1 = time.perf_counter()
    if base_cache is not None and Path(base_cache).exists():
        shutil.copyfile(base_cache, warehouse)
        say(f"basisdemo {base_cache} hergebruikt")
    else:
        generate(work / "inbox", weeks=weeks, seed=seed, scale=base_scale, today=today)
        t1 = time.perf_counter()
        say(f"demo gegenereerd in {t1 - t0:.0f} s")
        cfg = Config.from_env(warehouse=str(warehouse), inbox=str(work / "inbox"))
        cfg = Config(**{**cfg.__dict__, "processed": work / "processed", "refused": work / "refused",
                        "keep_versions": keep_versions})
        run_ingest(cfg, mark_demo=True)
        if base_cache is not None:
            shutil.copyfile(warehouse, base_cache)
    t2 = time.perf_counter()
    say(f"demo geladen via de ingest in {t2 - t1:.0f} s")
    shutil.rmtree(work, ignore_errors=True)
    counts = {}
    with write_version(warehouse, keep=keep_versions) as w:
        con = w.con
        base = con.execute("SELECT count(*) FROM incidenten").fetchone()[0]
        copies = max(round(incidents / max(base, 1)), 1)
        batch = max(1, 2_000_000 // max(base, 1))  # about 2M incident rows per statement
        for kind, key in SCALE_KEYS.items():
            extra = ", lpad(CAST((CAST(adres_id AS HUGEINT) + k * 1000003) % 10000000000000000 AS VARCHAR), 16, '0') " \
                    "AS adres_id" if kind == "hennep" else ""
            if kind == "incidenten":
                extra = _incident_shift_sql(con, key)
            for lo in range(1, copies, batch):
                hi = min(lo + batch, copies)
                con.execute(f"""
                    INSERT INTO {kind}
                    SELECT t.* REPLACE ({key} || '-k' || k AS {key}{extra})
                    FROM (SELECT * FROM {kind} WHERE {key} NOT LIKE '%-k%') t, range({lo}, {hi}) r(k)""")
            # stored in arrival order, as weekly ingests leave them (the copies were appended copy after copy)
            con.execute(f"CREATE TEMP TABLE arrived AS SELECT * FROM {kind} ORDER BY {ARRIVAL_ORDER[kind]}, {key}")
            con.execute(f"DELETE FROM {kind}")
            con.execute(f"INSERT INTO {kind} SELECT * FROM arrived")
            con.execute("DROP TABLE arrived")
            counts[kind] = con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]
            say(f"{kind}: x{copies} -> {counts[kind]:,}")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('bench_copies', ?)", [str(copies)])
        w.note = f"bench: demo x{copies} ({counts['incidenten']:,} incidenten)"
    t3 = time.perf_counter()
    say(f"vermenigvuldigd in {t3 - t2:.0f} s")
    return {"copies": copies, "counts": counts, "generate_s": t1 - t0, "ingest_s": t2 - t1,
            "multiply_s": t3 - t2, "bytes": warehouse.stat().st_size}


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError("moet minstens 1 zijn")
    return v


def _positive_float(s: str) -> float:
    v = float(s)
    if not v > 0:
        raise argparse.ArgumentTypeError("moet groter dan 0 zijn")
    return v


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("verwacht JJJJ-MM-DD") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weeks", type=_positive_int, default=156,
                        help="aantal ISO-weken tot en met de huidige week (standaard 156)")
    parser.add_argument("--seed", type=int, default=0, help="toevalszaad; zelfde zaad = zelfde bestanden (standaard 0)")
    parser.add_argument("--scale", type=_positive_float, default=1.0,
                        help="vermenigvuldigt alle volumes, bijv. 100 voor benchmarks (standaard 1.0)")
    parser.add_argument("--inbox", default=os.environ.get("VEILIGHEID_INBOX", "").strip() or "data/inbox",
                        help="doelmap (standaard VEILIGHEID_INBOX of data/inbox; relatief t.o.v. de repo)")
    parser.add_argument("--today", type=_date, default=None,
                        help="doe alsof het vandaag deze datum is (JJJJ-MM-DD); voor reproduceerbare demo's")
    parser.add_argument("--incidents", type=_positive_int, default=None,
                        help="alleen voor benchmarks: bouw direct een warehouse met ongeveer zoveel incidenten "
                             "(demo via de ingest, daarna vermenigvuldigd; zie build_scaled_warehouse)")
    parser.add_argument("--warehouse", default=None, help="met --incidents: het warehousebestand dat gebouwd wordt")


def run(args) -> int:
    weeks = int(getattr(args, "weeks", 156))
    seed = int(getattr(args, "seed", 0))
    scale = float(getattr(args, "scale", 1.0))
    inbox = Path(getattr(args, "inbox", None) or os.environ.get("VEILIGHEID_INBOX", "") or "data/inbox").expanduser()
    if not inbox.is_absolute():      # like veiligheid.config: relative paths are relative to the repo
        inbox = REPO / inbox
    today = getattr(args, "today", None)
    if getattr(args, "incidents", None):
        if not getattr(args, "warehouse", None):
            print("demo: --incidents vraagt om --warehouse (een nieuw bestand)", file=sys.stderr)
            return 2
        target = Path(args.warehouse).expanduser()
        if target.exists():
            print(f"demo: {target} bestaat al; kies een nieuw bestand", file=sys.stderr)
            return 2
        info = build_scaled_warehouse(target, args.incidents, weeks=weeks, seed=seed, today=today, base_scale=scale,
                                      log=lambda m: print(f"demo: {m}", file=sys.stderr, flush=True))
        print(f"demo: {target}: " + ", ".join(f"{k} {v:,}".replace(",", ".") for k, v in info["counts"].items())
              + f" ({info['bytes'] / 1e6:.0f} MB)")
        return 0
    t0 = time.perf_counter()
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=weeks, unit="week", desc="demo", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)
    else:
        step = max(1, weeks // 10)

        def progress(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                print(f"demo: {done}/{total} weken geschreven", file=sys.stderr, flush=True)
    try:
        paths, stats = _generate(inbox, weeks=weeks, seed=seed, scale=scale, today=today, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    secs = time.perf_counter() - t0
    rows = ", ".join(f"{k} {stats[k]['rows']:,}".replace(",", ".") for k in KINDS)
    print(f"demo: {len(paths)} bestanden ({stats['weeks'][0]} t/m {stats['weeks'][1]}, seed {seed}, "
          f"scale {scale:g}) in {inbox} in {secs:.1f} s; rijen: {rows}")
    return 0

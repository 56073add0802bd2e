"""The shared filter state and its URL form (plain Python, no Streamlit).

One state for all pages: period (preset or custom range), themes, stadsdeel (CBS wijkcode),
wijk (CBS buurtcode), plus the map view of the dashboard (level and measure). It is written
to and read from the URL query string so that any view can be shared as a link. Parsing never
raises: unknown or malformed values fall back to the default with a Dutch notice.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from . import fmt

PRESETS: dict[str, str] = {
    "4w": "Laatste 4 weken",
    "13w": "Laatste 13 weken",
    "52w": "Laatste 52 weken",
    "jtd": "Dit jaar tot nu",
    "aangepast": "Eigen periode",
}
# the periods under disclosure control: no free period (two periods a day apart give that day's counts away)
FIXED_PRESETS = tuple(p for p in PRESETS if p != "aangepast")
PRESET_DAYS = {"4w": 28, "13w": 91, "52w": 364}
DEFAULT_PRESET = "4w"

LEVELS = {"stadsdeel": "Stadsdelen", "wijk": "Wijken"}
MEASURES = {"aantal": "Aantal", "per1000": "Per 1.000 inwoners", "index": "Index (stad = 100)"}
DEFAULT_LEVEL = "wijk"
DEFAULT_MEASURE = "per1000"
MIN_DATE = dt.date(2010, 1, 1)

# URL parameter names
P_PERIOD, P_FROM, P_TO, P_THEME, P_SD, P_WIJK, P_LEVEL, P_MEASURE = (
    "periode", "van", "tot", "thema", "stadsdeel", "wijk", "kaart", "maat")
URL_KEYS = (P_PERIOD, P_FROM, P_TO, P_THEME, P_SD, P_WIJK, P_LEVEL, P_MEASURE)


@dataclass(frozen=True)
class FilterState:
    preset: str = DEFAULT_PRESET
    start: dt.date | None = None  # only for preset 'aangepast'
    end: dt.date | None = None
    themes: tuple[str, ...] = ()  # empty = all themes
    stadsdeel: str | None = None  # CBS wijkcode, e.g. WK026801
    wijk: str | None = None  # CBS buurtcode, e.g. BU02680101
    level: str = DEFAULT_LEVEL
    measure: str = DEFAULT_MEASURE

    def with_area(self, stadsdeel: str | None, wijk: str | None) -> "FilterState":
        return replace(self, stadsdeel=stadsdeel, wijk=wijk)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    prev_start: dt.date
    prev_end: dt.date
    ya_start: dt.date  # the same period a year earlier
    ya_end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def prev_days(self) -> int:
        return (self.prev_end - self.prev_start).days + 1

    @property
    def ya_days(self) -> int:
        return (self.ya_end - self.ya_start).days + 1


@dataclass
class Valid:
    """What the warehouse knows: used to validate URL values."""
    themes: tuple[str, ...]
    stadsdelen: Mapping[str, str]  # wijkcode -> stadsdeel name
    wijken: Mapping[str, str]  # buurtcode -> wijkcode
    data_end: dt.date
    wijk_names: Mapping[str, str] = field(default_factory=dict)



def _shown(value: str) -> str:
    """A value from a link, safe to show in a notice: short, and as inline code (never a live link)."""
    text = str(value).replace("`", "'").replace("\n", " ")
    return f"`{text[:40]}{'…' if len(text) > 40 else ''}`"

def _first(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
        if value is None:
            return None
    value = str(value).strip()
    return value or None


def _parse_date(text: str) -> dt.date | None:
    for f in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, f).date()
        except ValueError:
            continue
    return None


def parse_params(params: Mapping, valid: Valid) -> tuple[FilterState, list[str]]:
    """URL query parameters -> (state, notices). Never raises."""
    notices: list[str] = []
    state = FilterState()

    preset = _first(params.get(P_PERIOD))
    if preset is not None:
        if preset in PRESETS:
            state = replace(state, preset=preset)
        else:
            notices.append(f"Onbekende periode {_shown(preset)} in de link; de standaardperiode ({PRESETS[DEFAULT_PRESET].lower()}) wordt getoond.")

    if state.preset == "aangepast":
        raw_from, raw_to = _first(params.get(P_FROM)), _first(params.get(P_TO))
        start = _parse_date(raw_from) if raw_from else None
        end = _parse_date(raw_to) if raw_to else None
        if start is None or end is None:
            notices.append("De eigen periode in de link is onvolledig of ongeldig (verwacht: van=JJJJ-MM-DD&tot=JJJJ-MM-DD); "
                           "de standaardperiode wordt getoond.")
            state = replace(state, preset=DEFAULT_PRESET)
        else:
            if start > end:
                start, end = end, start
                notices.append("In de link lag 'van' na 'tot'; de datums zijn omgedraaid.")
            if start < MIN_DATE or end > valid.data_end + dt.timedelta(days=366):
                notices.append("De periode in de link valt buiten de beschikbare data; de standaardperiode wordt getoond.")
                state = replace(state, preset=DEFAULT_PRESET)
            else:
                state = replace(state, start=start, end=end)

    raw_themes = params.get(P_THEME)
    if raw_themes:
        items = raw_themes if isinstance(raw_themes, (list, tuple)) else [raw_themes]
        wanted = [t.strip() for item in items for t in str(item).split(",") if t.strip()]
        lookup = {t.lower(): t for t in valid.themes}
        good = [lookup[t.lower()] for t in wanted if t.lower() in lookup]
        bad = [t for t in wanted if t.lower() not in lookup]
        if bad:
            notices.append(f"Onbekend thema in de link genegeerd: {', '.join(_shown(b) for b in bad)}.")
        state = replace(state, themes=tuple(dict.fromkeys(good)))

    sd = _first(params.get(P_SD))
    if sd is not None:
        code = sd.upper()
        by_name = {name.lower(): c for c, name in valid.stadsdelen.items()}
        if code in valid.stadsdelen:
            state = replace(state, stadsdeel=code)
        elif sd.lower() in by_name:
            state = replace(state, stadsdeel=by_name[sd.lower()])
        else:
            notices.append(f"Onbekend stadsdeel {_shown(sd)} in de link; de hele stad wordt getoond.")

    wijk = _first(params.get(P_WIJK))
    if wijk is not None:
        code = wijk.upper()
        if code in valid.wijken:
            parent = valid.wijken[code]
            if state.stadsdeel is not None and state.stadsdeel != parent:
                notices.append("De wijk in de link ligt niet in het gekozen stadsdeel; het stadsdeel van de wijk wordt getoond.")
            state = replace(state, wijk=code, stadsdeel=parent)
        else:
            notices.append(f"Onbekende wijk {_shown(wijk)} in de link genegeerd.")

    for key, field_name, allowed, label in ((P_LEVEL, "level", LEVELS, "kaartindeling"),
                                            (P_MEASURE, "measure", MEASURES, "maat")):
        value = _first(params.get(key))
        if value is None:
            continue
        if value in allowed:
            state = replace(state, **{field_name: value})
        else:
            notices.append(f"Onbekende {label} {_shown(value)} in de link genegeerd.")
    return state, notices


def to_params(state: FilterState) -> dict[str, str]:
    """State -> URL query parameters (defaults left out, so links stay short)."""
    out: dict[str, str] = {}
    if state.preset != DEFAULT_PRESET:
        out[P_PERIOD] = state.preset
    if state.preset == "aangepast" and state.start and state.end:
        out[P_FROM] = state.start.isoformat()
        out[P_TO] = state.end.isoformat()
    if state.themes:
        out[P_THEME] = ",".join(state.themes)
    if state.stadsdeel:
        out[P_SD] = state.stadsdeel
    if state.wijk:
        out[P_WIJK] = state.wijk
    if state.level != DEFAULT_LEVEL:
        out[P_LEVEL] = state.level
    if state.measure != DEFAULT_MEASURE:
        out[P_MEASURE] = state.measure
    return out


def _year_earlier(d: dt.date) -> dt.date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def resolve_period(state: FilterState, data_end: dt.date) -> Period:
    """The period of a state, the previous equal period and the same period a year earlier.

    Week presets end at `data_end` (the last day with data) and compare with the same
    weekdays 52 weeks earlier; year-to-date and custom ranges with the calendar dates a year earlier.
    """
    if state.preset in PRESET_DAYS:
        end = data_end
        start = end - dt.timedelta(days=PRESET_DAYS[state.preset] - 1)
        shift = dt.timedelta(days=364)
        ya_start, ya_end = start - shift, end - shift
    else:
        if state.preset == "jtd":
            end = data_end
            start = dt.date(end.year, 1, 1)
        else:
            start = state.start or data_end - dt.timedelta(days=27)
            end = state.end or data_end
        ya_start, ya_end = _year_earlier(start), _year_earlier(end)
    length = (end - start).days + 1
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=length - 1)
    return Period(start, end, prev_start, prev_end, ya_start, ya_end)


def describe(state: FilterState, period: Period) -> str:
    label = PRESETS[state.preset]
    return f"{label}: {fmt.period(period.start, period.end)}"

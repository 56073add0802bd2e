"""Dutch number, date and week formatting (1.234,5; 28-11-2026; week 48 2026), plain Python."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd

WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
WEEKDAYS_SHORT = ("ma", "di", "wo", "do", "vr", "za", "zo")
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december")
MONTHS_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def _missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def number(x, decimals: int = 0, missing: str = "–") -> str:
    """1234.5 -> '1.234,5' (decimals fixed)."""
    if _missing(x):
        return missing
    s = f"{float(x):,.{decimals}f}"
    return s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def integer(x, missing: str = "–") -> str:
    return number(x, 0, missing)


def signed_pct(x, decimals: int = 0, missing: str = "–") -> str:
    """0.5 -> '+50%', -0.123 -> '−12%'. A fraction, not a percentage."""
    if _missing(x):
        return missing
    v = float(x) * 100
    if round(v, decimals) == 0:
        return f"{number(0, decimals)}%"
    sign = "+" if v > 0 else "−"
    return f"{sign}{number(abs(v), decimals)}%"


def date(d: dt.date | None, missing: str = "–") -> str:
    if d is None:
        return missing
    return d.strftime("%d-%m-%Y")


def date_long(d: dt.date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def datetime(t: dt.datetime | None, missing: str = "–") -> str:
    if t is None:
        return missing
    return t.strftime("%d-%m-%Y %H:%M")


def iso_week(d: dt.date) -> str:
    """ISO week id as used in the extract names: '2026-W48'."""
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def week_label(week_id: str) -> str:
    """'2026-W48' -> 'week 48 (2026)'."""
    try:
        y, w = week_id.split("-W")
        return f"week {int(w)} ({int(y)})"
    except (ValueError, AttributeError):
        return str(week_id)


def week_monday(week_id: str) -> dt.date:
    y, w = week_id.split("-W")
    return dt.date.fromisocalendar(int(y), int(w), 1)


def period(start: dt.date, end: dt.date) -> str:
    return f"{date(start)} t/m {date(end)}"


def altair_locale() -> dict:
    """Vega locale for Dutch numbers and dates (charts.dutch puts it on a chart)."""
    return {
        "number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["€ ", ""]},
        "time": {
            "dateTime": "%a %e %B %Y %X",
            "date": "%d-%m-%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": [WEEKDAYS[6], *WEEKDAYS[:6]],
            "shortDays": [WEEKDAYS_SHORT[6], *WEEKDAYS_SHORT[:6]],
            "months": list(MONTHS),
            "shortMonths": list(MONTHS_SHORT),
        },
    }

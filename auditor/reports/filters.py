"""How reports write dates and codes: the one place dates are formatted for people to read.

Each function is also a Jinja filter of the reports' environment (``{{ day|long_date }}``).
Values come either as dates and datetimes or as the ISO 8601 text a report's JSON data holds.
A day in words is the MSP's calendar day (``services.calendar``, AUDITOR_TIMEZONE), as deadlines
count them; ``short`` gives the UTC date of data tables; a time of day is shown in UTC with its
zone (``clock``, ``timestamp``) or on the MSP's wall clock (``local_clock``). The web pages use
the same filters.
"""

from __future__ import annotations

import datetime as dt

from auditor.services import calendar

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def moment(text: str | None) -> dt.datetime | None:
    """ISO 8601 text (a date, or a time with ``Z`` or an offset) as an aware UTC datetime."""
    if not text:
        return None
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def long_date(day: dt.date) -> str:
    """``2026-11-22`` as ``22 November 2026``: no month/day order to misread."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def _moment(value: str | dt.datetime | None) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else moment(value)


def _day_of(value: str | dt.datetime | None) -> dt.date | None:
    if isinstance(value, str) and len(value) == 10:
        return dt.date.fromisoformat(value)  # already a day
    found = _moment(value)
    return calendar.local_day(found) if found else None


def day(text: str | dt.datetime | None) -> str | None:
    """``2026-11-22...`` as ``22 November 2026``, the MSP's calendar day."""
    found = _day_of(text)
    return long_date(found) if found else None


def short(text: str | dt.datetime | None) -> str | None:
    """``2026-11-22T12:00:00Z`` as ``2026-11-22``: the UTC date, as the data's tables (records
    summarised by month in UTC) give it; a deadline is written with ``day``."""
    if isinstance(text, str) and len(text) == 10:
        return text
    found = _moment(text)
    return found.astimezone(dt.UTC).date().isoformat() if found else None


def local_clock(text: str | dt.datetime | None) -> str | None:
    """``2026-11-22T12:00:07Z`` as ``2026-11-22 07:00 EST``: the MSP's wall clock."""
    found = _moment(text)
    return f"{calendar.local(found):%Y-%m-%d %H:%M %Z}" if found else None


def clock(text: str | None) -> str | None:
    """``2026-11-22T12:00:07Z`` as ``2026-11-22 12:00 UTC``."""
    found = moment(text)
    return f"{found:%Y-%m-%d %H:%M} UTC" if found else None


def timestamp(text: str | None) -> str | None:
    """``2026-11-22T12:00:07.000000Z`` as ``2026-11-22 12:00:07 UTC``."""
    found = moment(text)
    return f"{found:%Y-%m-%d %H:%M:%S} UTC" if found else None


def month_label(month: dt.date) -> str:
    """The month of ``month`` as ``November 2026``."""
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def month_name(key: str) -> str:
    """``2026-11`` as ``November 2026``."""
    year, month = key.split("-")
    return f"{MONTH_NAMES[int(month) - 1]} {year}"


def words(code: str | None) -> str | None:
    """A code as words: ``in_progress`` as ``in progress``."""
    return code.replace("_", " ") if code else None


FILTERS = {
    "long_date": long_date,
    "day": day,
    "short": short,
    "clock": clock,
    "local_clock": local_clock,
    "timestamp": timestamp,
    "month_label": month_label,
    "month_name": month_name,
    "words": words,
}

"""The suite's fixed clock: the moment tests call "now", and dates around it."""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
AS_OF = NOW.date()


def at(year: int, month: int = 1, day: int = 1, hour: int = 12) -> dt.datetime:
    """Noon UTC (or ``hour``) of that day: a moment no time zone moves to another date."""
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)

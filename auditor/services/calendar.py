"""The MSP's calendar: the time zone in which its days begin and end (AUDITOR_TIMEZONE).

A privacy request is due on a day, not at an instant: it is "due today" until midnight where the
MSP works and overdue from the next day. Every place that shows a deadline (pages, CSV, API,
PDFs, the hourly check) counts days here, so they all agree. ``create_app`` sets the zone once
per process from the settings; the default is the demo MSP's, Toronto.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "America/Toronto"

_zone = ZoneInfo(DEFAULT_ZONE)


def configure(name: str) -> None:
    """Use the IANA zone ``name`` for every day counted in this process."""
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone


def local(moment: dt.datetime) -> dt.datetime:
    """``moment`` on the MSP's wall clock."""
    return moment.astimezone(_zone)


def local_day(moment: dt.datetime) -> dt.date:
    """The MSP's calendar day at ``moment``."""
    return moment.astimezone(_zone).date()


def day_start(day: dt.date) -> dt.datetime:
    """The instant (UTC) the MSP's ``day`` begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=_zone).astimezone(dt.UTC)


def days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Calendar days from ``start``'s day to ``end``'s day, on the MSP's calendar."""
    return (local_day(end) - local_day(start)).days

"""The dashboard: what is due and overdue today, on the MSP's calendar, and how many requests
were answered on time each month (an SVG chart with the same figures as a table)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, render_template

from auditor.db import get_session
from auditor.pages.clock import now
from auditor.pages.core import current_actor, page
from auditor.permissions import Permission, is_allowed
from auditor.services import dashboard

bp = Blueprint("dashboard", __name__)

FORECAST_TTL_SECONDS = 600  # a forecast computed for the page is kept 10 minutes


def _forecast() -> dashboard.ComingDue:
    """What the last daily purge forecast; before any, one computed here and kept a while."""
    db = get_session()
    found = dashboard.latest_coming_due(db)
    if found is not None:
        return found
    moment = now()
    cache: dict[str, Any] = current_app.extensions.setdefault("auditor.dashboard", {})
    key = moment.date().isoformat()
    kept = cache.get("forecast")
    if kept and kept[0] == key and time.monotonic() - kept[1] < FORECAST_TTL_SECONDS:
        coming: dashboard.ComingDue = kept[2]
        return coming
    coming = dashboard.coming_due_now(db, now=moment)
    cache["forecast"] = (key, time.monotonic(), coming)
    return coming


def chart(tallies: list[dashboard.MonthTally]) -> dict[str, Any]:
    """Bar geometry for the monthly chart: on time and late stacked, scaled to the busiest month."""
    height, bar, gap = 120, 28, 12
    top = max([t.total for t in tallies] + [1])
    bars = []
    for index, tally in enumerate(tallies):
        x = 40 + index * (bar + gap)
        on_time = round(height * tally.on_time / top)
        late = round(height * tally.late / top)
        bars.append(
            {
                "x": x,
                "tally": tally,
                "on_time": {"y": 20 + height - on_time, "h": on_time},
                "late": {"y": 20 + height - on_time - late, "h": late},
            }
        )
    return {"bars": bars, "width": 40 + len(tallies) * (bar + gap), "bar": bar, "top": top}


@page(bp, "/", permission=Permission.REQUESTS_READ)
def home() -> Any:
    actor = current_actor()
    db = get_session()
    moment = now()
    forecast = _forecast() if is_allowed(actor.role or "", Permission.RETENTION_READ) else None
    board = dashboard.build(db, actor=actor, now=moment, forecast=forecast)
    return render_template("pages/dashboard/home.html", board=board, chart=chart(board.answered))

"""The compliance report as a PDF: the open findings by severity, and two charts (dispositions
due per month for the next 12 months; requests answered on time per month for the last 12)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import PrivacyRequest
from auditor.models.compliance import ComplianceFinding, ComplianceRun
from auditor.reports import Attachment, render_pdf
from auditor.services.compliance.checks import SEVERITIES
from auditor.services.compliance.formats import as_json
from auditor.services.retention.forecast import forecast_schedule
from retention import add_months

TITLE = "Compliance findings"


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _back(day: dt.date, months: int) -> dt.date:
    return add_months(_month(day), -months)


def requests_on_time(session: Session, today: dt.date) -> list[dict[str, Any]]:
    """For each of the last 12 months, the requests answered in it: on time and late."""
    first = _back(today, 11)
    months = [_back(today, n) for n in range(11, -1, -1)]
    counts = {m: {"on_time": 0, "late": 0} for m in months}
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    answered = select(PrivacyRequest.responded_at, PrivacyRequest.due_at).where(
        PrivacyRequest.responded_at.is_not(None), PrivacyRequest.responded_at >= start
    )
    for responded_at, due_at in session.execute(answered):
        if responded_at is None:
            continue
        month = _month(responded_at.astimezone(dt.UTC).date())
        if month in counts:
            counts[month]["on_time" if responded_at <= due_at else "late"] += 1
    return [{"month": m.strftime("%Y-%m"), **counts[m]} for m in months]


def dispositions_due(session: Session, today: dt.date) -> list[dict[str, Any]]:
    """For each of the next 12 months, the records that fall due (held ones apart)."""
    forecast = forecast_schedule(session, start=today, months=12)
    out = [{"month": "now", "due": forecast.due_now.due, "held": forecast.due_now.held}]
    for bucket in forecast.by_month:
        out.append({"month": bucket.key, "due": bucket.due, "held": bucket.held})
    return out


def bars(
    series: Sequence[dict[str, Any]], keys: Sequence[str], height: float = 120
) -> dict[str, Any]:
    """Stacked bar geometry for the template's SVG: one column per entry."""
    top = max((sum(e[k] for k in keys) for e in series), default=0) or 1
    columns = []
    for entry in series:
        y = height
        parts = []
        for key in keys:
            h = entry[key] / top * height
            y -= h
            parts.append({"key": key, "y": round(y, 2), "h": round(h, 2), "n": entry[key]})
        total = sum(entry[k] for k in keys)
        columns.append({"label": entry["month"], "parts": parts, "total": total})
    return {"top": top, "height": height, "columns": columns}


def render(
    session: Session,
    run: ComplianceRun | None,
    rows: Sequence[ComplianceFinding],
    *,
    now: dt.datetime | None = None,
) -> bytes:
    moment = now or utcnow()
    today = moment.astimezone(dt.UTC).date()
    data = as_json(run, rows)
    charts = {
        "due": dispositions_due(session, today),
        "answered": requests_on_time(session, today),
    }
    by_severity = {s: [f for f in data["findings"] if f["severity"] == s] for s in SEVERITIES}
    context = {
        "report": data,
        "by_severity": by_severity,
        "due_chart": bars(charts["due"], ("due", "held")),
        "answered_chart": bars(charts["answered"], ("on_time", "late")),
        "generated_at": moment.isoformat(),
    }
    attached = json.dumps(data | {"charts": charts}, indent=2, ensure_ascii=False).encode()
    return render_pdf(
        "compliance_report.html",
        context,
        title=TITLE,
        identifier=None,  # the subtitle names the run
        attachments=[Attachment("compliance-findings.json", attached, description=TITLE)],
        now=moment,
    )

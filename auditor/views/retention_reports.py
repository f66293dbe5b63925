"""Retention reports: the disposition schedule (JSON or PDF) and a purge run's certificate as PDF.

The PDFs are the response bodies themselves (``application/pdf``, as a download); errors stay
``application/problem+json`` like everywhere else. Exporting a PDF is audited (R32).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from auditor import keys
from auditor.db import utcnow
from auditor.permissions import Permission
from auditor.schemas.retention import ScheduleQuery
from auditor.services import retention
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, download, route
from crypto.digest import key_id

bp = Blueprint("retention_reports", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/retention/schedule",
    "GET",
    summary="List what falls due month by month, and what holds and review keep back",
    permission=Permission.RETENTION_READ,
)
def retention_schedule(session: Session, query: ScheduleQuery) -> dict[str, Any]:
    start = query.start or utcnow().date()
    forecast = retention.forecast_schedule(session, start=start, months=query.months)
    return forecast.to_dict()


@route(
    bp,
    "/retention/schedule.pdf",
    "GET",
    summary="Download the disposition schedule as PDF (the JSON attached)",
    response_media_type="application/pdf",
    permission=Permission.RETENTION_READ,
    writes=True,
)
def retention_schedule_pdf(session: Session, query: ScheduleQuery, actor: Actor) -> Response:
    start = query.start or utcnow().date()
    data = retention.export_schedule_pdf(session, start=start, months=query.months, actor=actor)
    return download(data, "application/pdf", f"disposition-schedule-{start}.pdf")


@route(
    bp,
    "/retention/runs/<int:run_id>/certificate.pdf",
    "GET",
    summary="Download a purge run's disposition certificate as PDF (the JSON attached)",
    response_media_type="application/pdf",
    permission=Permission.RETENTION_READ,
    writes=True,
)
def retention_runs_certificate_pdf(session: Session, run_id: int, actor: Actor) -> Response:
    data = retention.export_certificate_pdf(
        session, run_id, digest_key_id=key_id(keys.disposition_key()), actor=actor
    )
    return download(data, "application/pdf", f"disposition-certificate-{run_id}.pdf")

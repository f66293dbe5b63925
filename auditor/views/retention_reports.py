"""Retention reports: the disposition schedule (JSON or PDF) and a purge run's certificate as PDF.

The PDFs are the response bodies themselves (``application/pdf``, as a download); errors stay
``application/problem+json`` like everywhere else. Exporting a PDF is audited (R32).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response
from pydantic import Field

from auditor import keys
from auditor.db import get_session, utcnow
from auditor.permissions import Permission
from auditor.schemas.common import InputModel
from auditor.services import retention
from auditor.views.api import API_PREFIX, route
from crypto.digest import key_id

bp = Blueprint("retention_reports", __name__, url_prefix=API_PREFIX)


class ScheduleQuery(InputModel):
    start: dt.date | None = Field(
        default=None, description="first day of the schedule (default today, UTC)"
    )
    months: int = Field(
        default=12,
        ge=1,
        le=retention.MAX_MONTHS,
        description="calendar months covered after the start day",
    )


def pdf_response(data: bytes, file_name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@route(
    bp,
    "/retention/schedule",
    "GET",
    summary="List what falls due month by month, and what holds and review keep back",
    permission=Permission.RETENTION_READ,
    query=ScheduleQuery,
    response=dict[str, Any],
    errors=(422,),
)
def retention_schedule(query: ScheduleQuery, actor: Any) -> dict[str, Any]:
    start = query.start or utcnow().date()
    forecast = retention.forecast_schedule(get_session(), start=start, months=query.months)
    return forecast.to_dict()


@route(
    bp,
    "/retention/schedule.pdf",
    "GET",
    summary="Download the disposition schedule as PDF (the JSON attached)",
    response_media_type="application/pdf",
    permission=Permission.RETENTION_READ,
    query=ScheduleQuery,
    errors=(422,),
)
def retention_schedule_pdf(query: ScheduleQuery, actor: Any) -> Response:
    start = query.start or utcnow().date()
    data = retention.export_schedule_pdf(
        get_session(), start=start, months=query.months, actor=actor
    )
    return pdf_response(data, f"disposition-schedule-{start}.pdf")


@route(
    bp,
    "/retention/runs/<int:run_id>/certificate.pdf",
    "GET",
    summary="Download a purge run's disposition certificate as PDF (the JSON attached)",
    response_media_type="application/pdf",
    permission=Permission.RETENTION_READ,
    errors=(404,),
)
def retention_runs_certificate_pdf(run_id: int, actor: Any) -> Response:
    data = retention.export_certificate_pdf(
        get_session(), run_id, digest_key_id=key_id(keys.disposition_key()), actor=actor
    )
    return pdf_response(data, f"disposition-certificate-{run_id}.pdf")

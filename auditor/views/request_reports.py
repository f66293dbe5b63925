"""What a privacy request discloses (R6, R8, R30): the access package (JSON), the access report
(PDF/A-3b, the package attached) and the Québec portability export (JSON and CSV).

They disclose personal data, so only ``requests:manage`` may fetch them, never before the
requester's identity is verified (``409 identity-not-verified``); every fetch is audited by
reference with counts only. The bodies are the files themselves; errors stay problem+json.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app
from sqlalchemy.orm import Session

from auditor import keys
from auditor.permissions import Permission
from auditor.services.context import Actor
from auditor.services.requests.access import package as request_access
from auditor.services.requests.access import portability as request_portability
from auditor.services.requests.access import report as request_pdf
from auditor.views.api import API_PREFIX, download, route

bp = Blueprint("request_reports", __name__, url_prefix=API_PREFIX)
ERRORS = (404, 409)


@route(
    bp,
    "/requests/<ref>/access-package",
    "GET",
    summary="Read the access package of a privacy request: everything held about the subject",
    permission=Permission.REQUESTS_MANAGE,
    response=dict[str, Any],
    errors=ERRORS,
    writes=True,
)
def requests_access_package(session: Session, ref: str, actor: Actor) -> Response:
    package = request_access.export_access_package(
        session,
        ref,
        actor=actor,
        signing_key=keys.audit_signing_key(),
        origin=keys.audit_origin(),
        settings=current_app.config,
    )
    response = Response(package.to_json(), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@route(
    bp,
    "/requests/<ref>/access-report.pdf",
    "GET",
    summary="Download the access report of a privacy request as PDF (the package attached)",
    response_media_type="application/pdf",
    permission=Permission.REQUESTS_MANAGE,
    errors=ERRORS,
    writes=True,
)
def requests_access_report_pdf(session: Session, ref: str, actor: Actor) -> Response:
    pdf, package = request_pdf.export_access_report(
        session,
        ref,
        actor=actor,
        signing_key=keys.audit_signing_key(),
        origin=keys.audit_origin(),
        settings=current_app.config,
    )
    return download(pdf, "application/pdf", f"access-report-{package.reference}.pdf")


@route(
    bp,
    "/requests/<ref>/portability.json",
    "GET",
    summary="Download the portability export of a Québec privacy request as JSON",
    permission=Permission.REQUESTS_MANAGE,
    errors=ERRORS,
    writes=True,
)
def requests_portability_json(session: Session, ref: str, actor: Actor) -> Response:
    data, _ = request_portability.export_portability(session, ref, actor=actor, form="json")
    return download(data, "application/json", f"portability-{ref.strip()}.json")


@route(
    bp,
    "/requests/<ref>/portability.csv",
    "GET",
    summary="Download the portability export of a Québec privacy request as CSV",
    response_media_type="text/csv",
    permission=Permission.REQUESTS_MANAGE,
    errors=ERRORS,
    writes=True,
)
def requests_portability_csv(session: Session, ref: str, actor: Actor) -> Response:
    _, data = request_portability.export_portability(session, ref, actor=actor, form="csv")
    return download(data, "text/csv", f"portability-{ref.strip()}.csv")

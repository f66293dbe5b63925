"""Breach register endpoints (R24-R27): record, change, assess, notify, report, the register."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app
from sqlalchemy.orm import Session

from auditor.permissions import Permission
from auditor.schemas.breaches import (
    AssessmentIn,
    BreachFields,
    BreachIn,
    BreachOut,
    BreachQuery,
    LetterIn,
    NotificationIn,
    NotificationOut,
    RegisterOut,
    RegisterQuery,
    ReportIn,
    ReportOut,
    ReportSent,
)
from auditor.schemas.common import Page, partial
from auditor.services import breaches
from auditor.services.breaches import export, letter
from auditor.services.context import Actor
from auditor.services.requests.common import responder
from auditor.views.api import API_PREFIX, paginate, route

bp = Blueprint("breaches", __name__, url_prefix=API_PREFIX)
READ, MANAGE = Permission.BREACHES_READ, Permission.BREACHES_MANAGE


@route(bp, "/breaches", "GET", summary="List recorded breaches", permission=READ)
def breaches_list(session: Session, query: BreachQuery) -> Page[BreachOut]:
    return paginate(
        query,
        lambda after, limit: breaches.list_breaches(
            session,
            client=query.client,
            rrosh=query.rrosh,
            quebec=query.quebec,
            after=after,
            limit=limit,
        ),
        lambda breach: breaches.to_out(session, breach),
    )


@route(
    bp,
    "/breaches",
    "POST",
    summary="Record a breach of security safeguards (whether or not it poses a real risk)",
    permission=MANAGE,
    status=201,
)
def breaches_create(session: Session, body: BreachIn, actor: Actor) -> BreachOut:
    return breaches.to_out(session, breaches.record(session, body, actor=actor))


@route(
    bp,
    "/breach-register",
    "GET",
    summary="The breach register (R24), or Québec's incident register (R27) with quebec=true",
    permission=READ,
)
def breach_register(session: Session, query: RegisterQuery) -> RegisterOut:
    return export.register(session, client=query.client, quebec=query.quebec)


@route(bp, "/breaches/<ref>", "GET", summary="Read a breach", permission=READ)
def breaches_read(session: Session, ref: str) -> BreachOut:
    return breaches.to_out(session, breaches.get(session, ref))


@route(
    bp,
    "/breaches/<ref>",
    "PATCH",
    summary="Change what is known of a breach (only the fields sent)",
    permission=MANAGE,
    body=partial(BreachFields),
    response=BreachOut,
)
def breaches_update(session: Session, ref: str, body: Any, actor: Actor) -> BreachOut:
    changes = body.model_dump(exclude_unset=True)
    return breaches.to_out(session, breaches.update(session, ref, changes, actor=actor))


@route(
    bp,
    "/breaches/<ref>/assessment",
    "PUT",
    summary="Record the real-risk-of-significant-harm assessment",
    permission=MANAGE,
)
def breaches_assess(session: Session, ref: str, body: AssessmentIn, actor: Actor) -> BreachOut:
    return breaches.to_out(session, breaches.assess(session, ref, body, actor=actor))


@route(
    bp,
    "/breaches/<ref>/notifications",
    "POST",
    summary="Record a notice given (a regulator, the individuals, an organization, the public)",
    permission=MANAGE,
    status=201,
)
def breaches_notify(
    session: Session, ref: str, body: NotificationIn, actor: Actor
) -> NotificationOut:
    return NotificationOut.model_validate(breaches.notify(session, ref, body, actor=actor))


@route(
    bp,
    "/breaches/<ref>/letter",
    "POST",
    summary="The notification letter to the people affected (PDF, its data attached)",
    permission=MANAGE,
    response_media_type="application/pdf",
)
def breaches_letter(session: Session, ref: str, body: LetterIn, actor: Actor) -> Response:
    found = letter.write_letter(
        session,
        ref,
        organization=responder(session, current_app.config),
        addressee=body.to,
        actor=actor,
    )
    return Response(
        found.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{found.file_name}"',
            "Cache-Control": "no-store",
        },
    )


@route(
    bp,
    "/breaches/<ref>/reports",
    "POST",
    summary="Generate the next version of the report to the OPC or the CAI (R26)",
    permission=MANAGE,
    status=201,
)
def breaches_report(session: Session, ref: str, body: ReportIn, actor: Actor) -> ReportOut:
    report = breaches.generate_report(
        session,
        ref,
        regulator=body.regulator,
        organization=responder(session, current_app.config),
        actor=actor,
    )
    return breaches.report_out(report)


@route(
    bp,
    "/breaches/<ref>/reports/<regulator>/<int:version>/sent",
    "POST",
    summary="Record when a report version was sent",
    permission=MANAGE,
    errors=(409,),
)
def breaches_report_sent(
    session: Session, ref: str, regulator: str, version: int, body: ReportSent, actor: Actor
) -> ReportOut:
    report = breaches.mark_sent(
        session, ref, regulator=regulator, version=version, sent_at=body.sent_at, actor=actor
    )
    return breaches.report_out(report)

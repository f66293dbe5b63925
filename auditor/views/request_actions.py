"""What privacy requests do (R10-R13): corrections and their rejection, the deletion, consent
withdrawal, the letters (PDF), and the marketing export that honours withdrawals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app
from sqlalchemy.orm import Session

from auditor import keys
from auditor.permissions import Permission
from auditor.schemas.requests import (
    CorrectionIn,
    DeletionIn,
    MarketingQuery,
    RejectionIn,
    WithdrawalIn,
)
from auditor.services import requests
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, download, route

bp = Blueprint("request_actions", __name__, url_prefix=API_PREFIX)

SETTINGS = ("ORGANIZATION_NAME", "ORGANIZATION_CONTACT", "PRIVACY_OFFICER")


@route(
    bp,
    "/requests/<ref>/corrections",
    "POST",
    summary="Apply a correction (R10): the old value is kept, third parties to notify returned",
    permission=Permission.REQUESTS_MANAGE,
    status=201,
    errors=(409,),
)
def requests_correct(
    session: Session, ref: str, body: CorrectionIn, actor: Actor
) -> dict[str, Any]:
    correction = requests.apply_correction(
        session,
        ref,
        field=body.field,
        new_value=body.new_value,
        record_id=body.record_id,
        actor=actor,
    )
    return requests.correction_out(correction)


@route(
    bp,
    "/requests/<ref>/corrections/reject",
    "POST",
    summary="Reject a correction (R11): the individual's statement becomes a dispute note",
    permission=Permission.REQUESTS_MANAGE,
    status=201,
    errors=(409,),
)
def requests_reject_correction(
    session: Session, ref: str, body: RejectionIn, actor: Actor
) -> dict[str, Any]:
    correction = requests.reject_correction(
        session,
        ref,
        field=body.field,
        record_id=body.record_id,
        reason=body.reason,
        statement=body.statement,
        requested_value=body.requested_value,
        actor=actor,
    )
    return requests.correction_out(correction, statement=body.statement)


@route(
    bp,
    "/requests/<ref>/deletion",
    "GET",
    summary="Preview a deletion (R12): what would be deleted and what kept, changing nothing",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
    writes=True,
)
def requests_deletion_plan(session: Session, ref: str) -> dict[str, Any]:
    return requests.plan_deletion(session, ref).to_dict()


@route(
    bp,
    "/requests/<ref>/deletion",
    "POST",
    summary="Carry out a deletion request (R12): delete what nothing requires, list what is kept",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_delete(session: Session, ref: str, body: DeletionIn, actor: Actor) -> dict[str, Any]:
    result = requests.execute_deletion(
        session,
        ref,
        actor=actor,
        digest_key=keys.disposition_key(),
        signing_key=keys.audit_signing_key(),
        origin=keys.audit_origin(),
    )
    return result.to_dict()


@route(
    bp,
    "/requests/<ref>/consent-withdrawals",
    "POST",
    summary="Withdraw the subject's consent for a purpose (R13), effective from a date",
    permission=Permission.REQUESTS_MANAGE,
    status=201,
    errors=(409,),
)
def requests_withdraw_consent(
    session: Session, ref: str, body: WithdrawalIn, actor: Actor
) -> dict[str, Any]:
    return requests.withdrawal_out(
        requests.withdraw_consent(
            session,
            ref,
            purpose_code=body.purpose,
            effective_at=body.effective_at,
            method=body.method,
            actor=actor,
        )
    )


@route(
    bp,
    "/requests/<ref>/letters/<kind>.pdf",
    "GET",
    summary="Download a letter about a request: extension-notice, refusal, correction-outcome, "
    "deletion-report or withdrawal-confirmation (PDF/A-3b, its data attached)",
    response_media_type="application/pdf",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
    writes=True,
)
def requests_letter(session: Session, ref: str, kind: str, actor: Actor) -> Response:
    config = current_app.config
    letter = requests.write_letter(
        session,
        ref,
        kind,
        actor=actor,
        settings={name: config.get(name) for name in SETTINGS},
        signing_key=keys.audit_signing_key() if config.get("AUDIT_SIGNING_KEY") else None,
        origin=keys.audit_origin(),
    )
    return download(letter.pdf, "application/pdf", letter.file_name)


@route(
    bp,
    "/subjects/marketing-export",
    "GET",
    summary="Export the marketing list: subjects with an active marketing consent, and emails",
    permission=Permission.SUBJECTS_READ,
    writes=True,
)
def subjects_marketing_export(
    session: Session, query: MarketingQuery, actor: Actor
) -> list[dict[str, Any]]:
    as_of: dt.datetime | None = query.as_of
    return requests.export_marketing(session, as_of=as_of, actor=actor)

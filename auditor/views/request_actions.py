"""What privacy requests do (R10-R13): corrections and their rejection, the deletion, consent
withdrawal, the letters (PDF), and the marketing export that honours withdrawals."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from flask import Blueprint, Response, current_app
from pydantic import Field, StringConstraints

from auditor import keys
from auditor.db import get_session
from auditor.permissions import Permission
from auditor.schemas.common import AwareDatetime, Code, InputModel, Text
from auditor.services import requests
from auditor.views.api import API_PREFIX, route

bp = Blueprint("request_actions", __name__, url_prefix=API_PREFIX)

FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SETTINGS = ("ORGANIZATION_NAME", "ORGANIZATION_CONTACT", "PRIVACY_OFFICER")


class CorrectionIn(InputModel):
    field: FieldName = Field(
        description="display_name, email, phone (email[2]: the second address), or a path into "
        "the record's content (summary, contact.name) with record_id"
    )
    new_value: Text
    record_id: int | None = Field(default=None, description="a record of the request's subject")


class RejectionIn(InputModel):
    field: FieldName
    record_id: int | None = None
    reason: Text = Field(description="why the value stays as it is")
    statement: Text = Field(description="the individual's statement of disagreement (R11)")
    requested_value: Text | None = Field(default=None, description="what the individual asked for")


class DeletionIn(InputModel):
    confirm: Literal[True] = Field(description="must be true: the deletion cannot be undone")


class WithdrawalIn(InputModel):
    purpose: Code = Field(description="the purpose code, e.g. marketing")
    effective_at: AwareDatetime | None = Field(
        default=None, description="when the withdrawal takes effect (default now; may be earlier)"
    )
    method: Literal["web_form", "email", "verbal", "paper", "contract", "other"] | None = None


class MarketingQuery(InputModel):
    as_of: AwareDatetime | None = Field(default=None, description="default now")


def pdf_response(data: bytes, file_name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@route(
    bp,
    "/requests/<ref>/corrections",
    "POST",
    summary="Apply a correction (R10): the old value is kept, third parties to notify returned",
    permission=Permission.REQUESTS_MANAGE,
    body=CorrectionIn,
    response=dict[str, Any],
    status=201,
    errors=(400, 404, 409, 415, 422),
)
def requests_correct(ref: str, body: CorrectionIn, actor: Any) -> dict[str, Any]:
    correction = requests.apply_correction(
        get_session(),
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
    body=RejectionIn,
    response=dict[str, Any],
    status=201,
    errors=(400, 404, 409, 415, 422),
)
def requests_reject_correction(ref: str, body: RejectionIn, actor: Any) -> dict[str, Any]:
    correction = requests.reject_correction(
        get_session(),
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
    response=dict[str, Any],
    errors=(404, 409),
)
def requests_deletion_plan(ref: str, actor: Any) -> dict[str, Any]:
    return requests.plan_deletion(get_session(), ref).to_dict()


@route(
    bp,
    "/requests/<ref>/deletion",
    "POST",
    summary="Carry out a deletion request (R12): delete what nothing requires, list what is kept",
    permission=Permission.REQUESTS_MANAGE,
    body=DeletionIn,
    response=dict[str, Any],
    errors=(400, 404, 409, 415, 422),
)
def requests_delete(ref: str, body: DeletionIn, actor: Any) -> dict[str, Any]:
    result = requests.execute_deletion(
        get_session(),
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
    body=WithdrawalIn,
    response=dict[str, Any],
    status=201,
    errors=(400, 404, 409, 415, 422),
)
def requests_withdraw_consent(ref: str, body: WithdrawalIn, actor: Any) -> dict[str, Any]:
    return requests.withdrawal_out(
        requests.withdraw_consent(
            get_session(),
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
    errors=(404, 409),
)
def requests_letter(ref: str, kind: str, actor: Any) -> Response:
    config = current_app.config
    letter = requests.write_letter(
        get_session(),
        ref,
        kind,
        actor=actor,
        settings={name: config.get(name) for name in SETTINGS},
        signing_key=keys.audit_signing_key() if config.get("AUDIT_SIGNING_KEY") else None,
        origin=keys.audit_origin(),
    )
    return pdf_response(letter.pdf, letter.file_name)


@route(
    bp,
    "/subjects/marketing-export",
    "GET",
    summary="Export the marketing list: subjects with an active marketing consent, and emails",
    permission=Permission.SUBJECTS_READ,
    query=MarketingQuery,
    response=list[dict[str, Any]],
    errors=(422,),
)
def subjects_marketing_export(query: MarketingQuery, actor: Any) -> list[dict[str, Any]]:
    as_of: dt.datetime | None = query.as_of
    return requests.export_marketing(get_session(), as_of=as_of, actor=actor)

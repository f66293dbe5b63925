"""What the other kinds of request change, from the request page: the subject linked, a
correction applied (R10), a consent withdrawn (R13), a deletion carried out (R12), a system's
search recorded; and the documents to send: the access report and the letters, as PDF."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy.orm import Session

from auditor import keys
from auditor.db import get_session
from auditor.models import PrivacyRequest
from auditor.pages.core import current_actor, page
from auditor.pages.forms import form_data
from auditor.pages.request_page import act, checked, moments
from auditor.permissions import Permission
from auditor.schemas.requests import (
    CorrectionIn,
    DeletionIn,
    SubjectLinkIn,
    TaskUpdate,
    WithdrawalIn,
)
from auditor.services import requests
from auditor.services.errors import FieldError
from auditor.services.requests import scope
from auditor.services.requests.access import report as request_pdf
from auditor.services.requests.common import get
from auditor.views.api import download

bp = Blueprint("request_outcomes", __name__, url_prefix="/requests")

LETTER_SETTINGS = ("ORGANIZATION_NAME", "ORGANIZATION_CONTACT", "PRIVACY_OFFICER")


@page(bp, "/<ref>/subject", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_link_subject(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        body = checked(form_data(("subject",)), SubjectLinkIn, [])
        requests.link_subject(db, item.reference, body.subject, actor=current_actor())

    return act(ref, "subject", action)


@page(bp, "/<ref>/correct", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_correct(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        data: dict[str, Any] = form_data(("field", "new_value", "record_id"))
        body = checked(data, CorrectionIn, [])
        requests.apply_correction(
            db,
            item.reference,
            field=body.field,
            new_value=body.new_value,
            record_id=body.record_id,
            actor=current_actor(),
        )

    return act(ref, "correct", action)


@page(bp, "/<ref>/withdraw-consent", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_withdraw_consent(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        times, errors = moments("effective_at")
        body = checked({**form_data(("purpose", "method")), **times}, WithdrawalIn, errors)
        requests.withdraw_consent(
            db,
            item.reference,
            purpose_code=body.purpose,
            effective_at=body.effective_at,
            method=body.method,
            actor=current_actor(),
        )

    return act(ref, "withdraw", action)


@page(bp, "/<ref>/delete", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_delete(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        confirmed = request.form.get("confirm") == "yes"
        errors = [] if confirmed else [FieldError("confirm", "tick the box: it cannot be undone")]
        checked({"confirm": True}, DeletionIn, errors)
        requests.execute_deletion(
            db,
            item.reference,
            actor=current_actor(),
            digest_key=keys.disposition_key(),
            signing_key=keys.audit_signing_key(),
            origin=keys.audit_origin(),
        )

    return act(ref, "delete", action)


@page(bp, "/<ref>/tasks/<int:task_id>", methods=("POST",), permission=Permission.REQUESTS_TASKS)
def request_task(ref: str, task_id: int) -> Any:
    """A system's search recorded by whoever searched it: found or not, what was done to one
    data element, a note; closing the task when the search is over."""

    def action(db: Session, item: PrivacyRequest) -> None:
        found = request.form.get("found")
        data: dict[str, Any] = {"searched": True, **form_data(("note",))}
        if found in ("yes", "no"):
            data["found"] = found == "yes"
        element = request.form.get("element", "").strip()
        if element:
            data["actions"] = [{"element": element, "action": request.form.get("action", "")}]
        if request.form.get("close") == "yes":
            data["closed"] = True
        body = checked(data, TaskUpdate, [])
        requests.update_task(db, item.reference, task_id, body, actor=current_actor())

    return act(ref, f"task-{task_id}", action)


@page(bp, "/<ref>/access-report.pdf", permission=Permission.REQUESTS_MANAGE, writes=True)
def request_access_report(ref: str) -> Any:
    db = get_session()
    scope.require_visible(db, get(db, ref), current_actor())
    pdf, package = request_pdf.export_access_report(
        db,
        ref,
        actor=current_actor(),
        signing_key=keys.audit_signing_key(),
        origin=keys.audit_origin(),
        settings=current_app.config,
    )
    return download(pdf, "application/pdf", f"access-report-{package.reference}.pdf")


@page(bp, "/<ref>/letters/<kind>.pdf", permission=Permission.REQUESTS_MANAGE, writes=True)
def request_letter(ref: str, kind: str) -> Any:
    db = get_session()
    scope.require_visible(db, get(db, ref), current_actor())
    config = current_app.config
    letter = requests.write_letter(
        db,
        ref,
        kind,
        actor=current_actor(),
        settings={name: config.get(name) for name in LETTER_SETTINGS},
        signing_key=keys.audit_signing_key() if config.get("AUDIT_SIGNING_KEY") else None,
        origin=keys.audit_origin(),
    )
    return download(letter.pdf, "application/pdf", letter.file_name)

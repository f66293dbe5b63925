"""One privacy request: its deadline, timeline, search tasks and documents, the actions its
state allows (verify, extend, fee, answer, refuse, withdraw) and its letters and report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import get_session
from auditor.models import AuditEvent, PrivacyRequest, Purpose, User
from auditor.pages.clock import now
from auditor.pages.core import current_actor, page
from auditor.pages.forms import errors_by_field, form_data, local_input, local_moment
from auditor.permissions import Permission, is_allowed
from auditor.schemas.common import parse
from auditor.schemas.requests import ExtensionIn, FeeIn, TransitionIn, VerificationIn
from auditor.services import calendar, requests
from auditor.services.errors import AuditorError, FieldError, ValidationFailed
from auditor.services.requests import desk, scope
from auditor.services.requests.common import get, is_quebec
from auditor.services.requests.deadlines import clock
from auditor.services.requests.states import OPEN, TRANSITIONS

bp = Blueprint("request_page", __name__, url_prefix="/requests")

ANSWERS = ("completed", "partially_refused", "refused", "withdrawn")
EVENTS = {
    "request.open": "Request recorded",
    "request.verify": "Identity verified",
    "request.extend": "Deadline extended",
    "request.fee": "Fee recorded",
    "request.task_update": "Search task updated",
    "request.deemed_refused": "Deemed refused: past its due date",
    "request.letter": "Letter produced",
    "request.document_add": "Document added to the file",
    "request.document_read": "Document downloaded",
    "request.correction": "Correction recorded",
    "request.deletion": "Deletion carried out",
    "request.consent_withdrawal": "Consent withdrawn",
    "request.complaint": "Complaint to the Privacy Commissioner recorded",
    "request.searches_override": "Answer allowed with searches open",
    "request.link_subject": "Data subject linked",
    "request.access_report": "Access report produced",
    "request.access_package": "Access package produced",
    "access.denied": "Access refused",
}


def event_label(event: AuditEvent) -> str:
    """An audit event of the request in plain words."""
    if event.action == "request.transition":
        moved = event.details or {}
        return f"State: {str(moved.get('from', '')).replace('_', ' ')} → " + str(
            moved.get("to", "")
        ).replace("_", " ")
    fallback = event.action.replace("request.", "").replace("_", " ")
    return EVENTS.get(event.action, fallback)


def _actor_names(db: Session) -> dict[str, str]:
    return {f"user:{user.id}": user.name for user in db.scalars(select(User))}


def _letters(item: PrivacyRequest) -> list[tuple[str, str]]:
    """The letters this request has reason to send, as (kind, title)."""
    kinds = []
    if item.extended_at is not None:
        kinds.append("extension-notice")
    if item.status in ("refused", "partially_refused"):
        kinds.append("refusal")
    by_type = {
        "correction": "correction-outcome",
        "deletion": "deletion-report",
        "consent_withdrawal": "withdrawal-confirmation",
    }
    if item.type in by_type and item.status not in OPEN:
        kinds.append(by_type[item.type])
    return [(kind, requests.LETTER_KINDS[kind]) for kind in kinds]


def _can_extend(item: PrivacyRequest, moment: dt.datetime) -> bool:
    """One extension, decided by day 30 (the original due day), never for Québec (R2, R29)."""
    return (
        item.status in OPEN
        and item.extended_at is None
        and not is_quebec(item)
        and calendar.local_day(moment) <= calendar.local_day(item.original_due_at)
    )


def _outcomes(db: Session, item: PrivacyRequest, manage: bool) -> dict[str, Any]:
    """What the request's kind asks the officer to do, once it is open and its subject known:
    link the subject, apply a correction, withdraw a consent, or carry out a deletion (whose
    preview, what would be deleted and kept, is computed here and changes nothing)."""
    acting = manage and item.status in OPEN
    linked = item.subject is not None
    found: dict[str, Any] = {
        "can_link": acting and not linked,
        "can_correct": acting and linked and item.type == "correction",
        "can_withdraw": acting and linked and item.type == "consent_withdrawal",
        "purposes": [(p.code, p.name) for p in db.scalars(select(Purpose).order_by(Purpose.code))],
        "deletion": None,
        "deletion_problem": None,
    }
    if acting and linked and item.type == "deletion":
        try:
            found["deletion"] = requests.plan_deletion(db, item, now=now())
        except AuditorError as exc:
            found["deletion_problem"] = exc.detail
    return found


def _render(
    db: Session,
    ref: str,
    *,
    errors: dict[str, dict[str, list[str]]] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
) -> Any:
    actor = current_actor()
    detail = requests.read_request_as(db, ref, actor=actor)  # refuses another client's first
    item = get(db, ref)
    moment = now()
    manage = is_allowed(actor.role or "", Permission.REQUESTS_MANAGE)
    state = clock(item, moment)
    events = desk.timeline(db, item)
    targets = [t for t in ANSWERS if t in TRANSITIONS.get(item.status, frozenset())]
    return (
        render_template(
            "pages/requests/detail.html",
            item=item,
            detail=detail,
            clock=state,
            timeline=[event for event in events if event.action != "request.read"],
            views=sum(1 for event in events if event.action == "request.read"),
            event_label=event_label,
            actor_names=_actor_names(db),
            client=desk.client_of(item),
            manage=manage,
            can_verify=manage and item.status in OPEN and item.verified_at is None,
            can_extend=manage and _can_extend(item, moment),
            can_fee=manage and item.status in OPEN and item.fee_amount_cents is None,
            can_search=is_allowed(actor.role or "", Permission.REQUESTS_TASKS)
            and item.status in OPEN,
            targets=targets if manage else [],
            letters=_letters(item) if manage else [],
            access_report=manage and item.type == "access" and item.verified_at is not None,
            errors=errors or {},
            values=values or {},
            now_input=local_input(moment),
            original_due=calendar.local_day(item.original_due_at),
            **_outcomes(db, item, manage),
        ),
        status,
    )


@page(bp, "/<ref>", permission=Permission.REQUESTS_READ, audits=True)
def request_detail(ref: str) -> Any:
    return _render(get_session(), ref)


def act(ref: str, form: str, action: Any) -> Any:
    """Run one action of the request page: back to the page when it worked, else the page again
    with the action's errors beside its fields (nothing changed)."""
    db = get_session()
    item = get(db, ref)
    scope.require_visible(db, item, current_actor())
    try:
        action(db, item)
    except ValidationFailed as exc:
        db.rollback()
        found = errors_by_field(exc.errors) or {"": [exc.detail]}
        return _render(
            db, ref, errors={form: found}, values={form: request.form.to_dict()}, status=422
        )
    except AuditorError as exc:  # a conflict with the request's state: say why, change nothing
        db.rollback()
        return _render(
            db,
            ref,
            errors={form: {"": [exc.detail]}},
            values={form: request.form.to_dict()},
            status=409,
        )
    return redirect(url_for("request_page.request_detail", ref=ref) + f"#{form}")


def moments(*names: str) -> tuple[dict[str, dt.datetime], list[FieldError]]:
    found: dict[str, dt.datetime] = {}
    errors: list[FieldError] = []
    for name in names:
        value, problems = local_moment(request.form.get(name), name)
        errors += problems
        if value is not None:
            found[name] = value
    return found, errors


def checked(data: dict[str, Any], model: Any, errors: list[FieldError]) -> Any:
    if errors:
        raise ValidationFailed("The form is not valid.", errors)
    return parse(model, data, what="form")


@page(bp, "/<ref>/verify", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_verify(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        data = form_data(("method", "note"))
        times, errors = moments("verified_at")
        body = checked({**data, **times}, VerificationIn, errors)
        requests.verify(db, item.reference, body, actor=current_actor(), now=now())

    return act(ref, "verify", action)


@page(bp, "/<ref>/extend", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_extend(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        data: dict[str, Any] = form_data(("reason", "notice_text"))
        times, errors = moments("notice_sent_at")
        data["opc_statement"] = request.form.get("opc_statement") == "yes"
        day = request.form.get("new_due_on", "").strip()
        if day:
            try:
                chosen = dt.date.fromisoformat(day)
            except ValueError:
                errors.append(FieldError("new_due_at", "enter a date, e.g. 2026-12-31"))
            else:  # the same time of day as the original due date, on the chosen day
                shift = chosen - calendar.local_day(item.original_due_at)
                data["new_due_at"] = item.original_due_at + shift
        body = checked({**data, **times}, ExtensionIn, errors)
        requests.extend(db, item.reference, body, actor=current_actor(), now=now())

    return act(ref, "extend", action)


@page(bp, "/<ref>/fee", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_fee(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        data = form_data(("amount",))
        times, errors = moments("estimate_sent_at", "confirmed_at")
        body = checked({**data, **times}, FeeIn, errors)
        requests.record_fee(db, item.reference, body, actor=current_actor(), now=now())

    return act(ref, "fee", action)


@page(bp, "/<ref>/answer", methods=("POST",), permission=Permission.REQUESTS_MANAGE)
def request_answer(ref: str) -> Any:
    def action(db: Session, item: PrivacyRequest) -> None:
        data: dict[str, Any] = form_data(("to", "reasons"))
        if request.form.get("closing_note", "").strip():
            data["note"] = request.form["closing_note"].strip()
        data["grounds"] = request.form.getlist("grounds")
        times, errors = moments("at")
        body = checked({**data, **times}, TransitionIn, errors)
        requests.transition(db, item.reference, body, actor=current_actor(), now=now())

    return act(ref, "answer", action)

"""Privacy requests (R1-R9, R29, R30): intake, listing and reading.

The rest of the workflow lives beside this module: ``request_states`` (the transition table),
``request_workflow`` (verification, transitions, complaints, linking the subject),
``request_deadlines`` (due dates, extension, deemed refusal, fees, the hourly check),
``request_tasks`` (one search task per system), ``request_documents`` (the request's file),
``request_holds`` (the R9 recourse hold) and ``request_guards`` (``require_verified``).

References are ``PR-<year received>-<5-digit sequence>``: stable, and they say nothing about the
person. The requester's name and contact and the identifiers they gave stay in the request row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.orm import Session, joinedload

from auditor.db import utcnow
from auditor.models import DataSubject, Organization, PrivacyRequest
from auditor.permissions import Permission, is_allowed
from auditor.schemas.requests import (
    ExtensionOut,
    FeeOut,
    RequestDetail,
    RequesterOut,
    RequestIn,
    RequestOut,
    SearchesOverrideOut,
    TasksSummary,
    VerificationOut,
)
from auditor.services import audit_reads, subjects
from auditor.services.context import Actor
from auditor.services.errors import FieldError, ValidationFailed
from auditor.services.identifiers import normalize
from auditor.services.inventory import resolve
from auditor.services.requests import documents as request_documents
from auditor.services.requests import recourse as request_holds
from auditor.services.requests import scope
from auditor.services.requests import tasks as request_tasks
from auditor.services.requests.common import (
    OBJECT_TYPE,
    get,
    is_quebec,
    iso,
    organization_id,
    record_event,
)
from auditor.services.requests.deadlines import clock, due_from, format_amount, overdue_before
from auditor.services.requests.guards import is_verified
from auditor.services.requests.states import OPEN
from auditor.services.transactions import conflict_as


def next_reference(session: Session, year: int) -> str:
    prefix = f"PR-{year}-"
    last = session.scalar(
        select(func.max(PrivacyRequest.reference)).where(
            PrivacyRequest.reference.like(prefix + "%")
        )
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:05d}"


def _intake_errors(data: RequestIn, moment: dt.datetime) -> list[FieldError]:
    errors = []
    if data.received_at > moment:
        errors.append(FieldError("received_at", "is in the future"))
    if data.request_text is None and data.document is None:
        errors.append(
            FieldError("request_text", "a request is made in writing: send the text or a document")
        )
    forwarded = data.channel == "client_forwarded"
    if forwarded and not data.forwarded_by:
        errors.append(FieldError("forwarded_by", "required when the channel is client_forwarded"))
    if data.forwarded_by and not forwarded:
        errors.append(FieldError("channel", "must be client_forwarded when forwarded_by is set"))
    if data.client_instructions and not data.forwarded_by:
        errors.append(FieldError("client_instructions", "only for a request forwarded by a client"))
    if data.respond_to == "client" and not data.forwarded_by:
        errors.append(FieldError("respond_to", "'client' only for a request forwarded by one"))
    return errors


def _identifiers(data: RequestIn) -> list[dict[str, str]]:
    return [
        {"kind": item.kind, "value": normalize(item.kind, item.value, field=f"identifiers[{i}]")}
        for i, item in enumerate(data.identifiers)
    ]


def _subject(
    session: Session, data: RequestIn, identifiers: list[dict[str, str]]
) -> DataSubject | None:
    """The subject named by ref, else the one subject all given identifiers lead to; None when
    they lead nowhere or to several people (the officer links the subject later)."""
    if data.subject:
        subject = session.scalar(select(DataSubject).where(DataSubject.ref == data.subject))
        if subject is None:
            raise ValidationFailed(
                "Unknown data subject.", [FieldError("subject", "no data subject with that ref")]
            )
        return subject
    found: dict[int, DataSubject] = {}
    for item in identifiers:
        for subject in subjects.find(session, item["kind"], item["value"]):
            found[subject.id] = subject
    return next(iter(found.values())) if len(found) == 1 else None


def _forwarder(session: Session, code: str | None) -> Organization | None:
    if code is None:
        return None
    org: Organization = resolve(session, Organization, code, "forwarded_by")
    if org.kind != "client":
        raise ValidationFailed(
            "Only a client forwards requests.", [FieldError("forwarded_by", "not a client")]
        )
    return org


def open_request(
    session: Session, data: RequestIn, *, actor: Actor, now: dt.datetime | None = None
) -> PrivacyRequest:
    """Register a request: due in 30 days (R1), one task per system, its written request kept,
    and the recourse hold (R9) on the subject when known. Portability is for Québec (R30)."""
    moment = now or utcnow()
    errors = _intake_errors(data, moment)
    if errors:
        raise ValidationFailed("The request is not valid.", errors)
    identifiers = _identifiers(data)
    content = request_documents.decode(data.document) if data.document else None
    forwarded_by = _forwarder(session, data.forwarded_by)
    due_at = due_from(data.received_at)
    request = PrivacyRequest(
        type=data.type,
        status="received",
        channel=data.channel,
        received_at=data.received_at,
        original_due_at=due_at,
        due_at=due_at,
        external_reference=data.external_reference,
        created_by=actor.name,
        requester_name=data.requester_name,
        requester_contact=data.requester_contact,
        subject_identifiers=identifiers,
        subject=_subject(session, data, identifiers),
        forwarded_by=forwarded_by,
        client_instructions=data.client_instructions,
        respond_to=data.respond_to or ("client" if forwarded_by else "individual"),
        refusal_grounds=[],
    )
    if request.type == "portability" and not is_quebec(request):
        raise ValidationFailed(
            "Portability (R30) is available only for a Québec-flagged subject or client.",
            [FieldError("type", "portability needs a Québec-flagged subject or client")],
        )
    if data.request_text is not None:
        request.documents.append(
            request_documents.text_document(data.request_text, actor=actor, now=moment)
        )
    if data.document is not None and content is not None:
        request.documents.append(
            request_documents.new_document(
                kind="written_request",
                content=content,
                media_type=data.document.media_type,
                filename=data.document.filename,
                actor=actor,
                now=moment,
            )
        )
    if data.type != "consent_withdrawal":  # a withdrawal acts on the consent register alone
        request_tasks.create_tasks(session, request)
    request.reference = next_reference(session, data.received_at.year)
    with conflict_as(session, "Another request took the same reference: try again."):
        session.add(request)
    record_event(
        session,
        request,
        "request.open",
        actor=actor,
        now=moment,
        type=request.type,
        channel=request.channel,
        received_at=iso(request.received_at),
        due_at=iso(request.due_at),
        subject=request.subject.ref if request.subject else None,
        forwarded_by=forwarded_by.code if forwarded_by else None,
        respond_to=request.respond_to,
        documents=len(request.documents),
        tasks=len(request.tasks),
    )
    request_holds.place(session, request, actor=actor, now=moment)
    return request


def _overdue(moment: dt.datetime) -> ColumnElement[bool]:
    return and_(PrivacyRequest.status.in_(OPEN), PrivacyRequest.due_at < overdue_before(moment))


def list_requests(
    session: Session,
    *,
    status: str | None = None,
    type: str | None = None,
    overdue: bool | None = None,
    after: int | None = None,
    limit: int = 100,
    now: dt.datetime | None = None,
    clients: set[int] | None = None,
) -> list[PrivacyRequest]:
    """A page of requests in id order, filtered by status, type and overdue (as of ``now``), and
    to the requests of ``clients`` when given (a technician's: ``scope.visible_clients``)."""
    query = (
        select(PrivacyRequest)
        .options(  # one query (many-to-one joins); the tasks stay unloaded: requests_out counts
            joinedload(PrivacyRequest.subject).joinedload(DataSubject.organization),
            joinedload(PrivacyRequest.forwarded_by),
        )
        .order_by(PrivacyRequest.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(PrivacyRequest.status == status)
    if type is not None:
        query = query.where(PrivacyRequest.type == type)
    if overdue is not None:
        condition = _overdue(now or utcnow())
        query = query.where(condition if overdue else not_(condition))
    if after is not None:
        query = query.where(PrivacyRequest.id > after)
    if clients is not None:
        query = query.where(scope.visible_condition(clients))
    return list(session.scalars(query).all())


def read_request(
    session: Session,
    reference: str,
    *,
    actor: Actor,
    requester: bool = False,
    identifiers: bool = False,
) -> PrivacyRequest:
    """One request; audited, saying whether the requester's identity or the identifiers were
    shown (personal data), never showing them in the event."""
    request = get(session, reference)
    audit_reads.record_read(  # as record_event would, but a read (it changes nothing)
        session,
        actor=actor,
        action="request.read",
        object_type=OBJECT_TYPE,
        object_id=request.reference,
        organization_id=organization_id(request),
        details={"requester": requester, "identifiers": identifiers},
    )
    return request


def read_request_as(session: Session, reference: str, *, actor: Actor) -> RequestDetail:
    """The request as ``actor``'s role may see it: officers see the requester, officers and
    technicians the identifiers to search for; reading is audited either way. A technician is
    refused (403, audited) the request of a client not granted to them."""
    scope.require_visible(session, get(session, reference), actor)
    role = actor.role or ""
    requester = is_allowed(role, Permission.REQUESTS_MANAGE)
    identifiers = requester or is_allowed(role, Permission.REQUESTS_TASKS)
    request = read_request(
        session, reference, actor=actor, requester=requester, identifiers=identifiers
    )
    return request_detail(request, requester=requester, identifiers=identifiers)


def request_out(request: PrivacyRequest, *, now: dt.datetime | None = None) -> RequestOut:
    return RequestOut(**_out_fields(request, now or utcnow()))


def requests_out(
    session: Session, items: Sequence[PrivacyRequest], *, now: dt.datetime | None = None
) -> list[RequestOut]:
    """``request_out`` of a page of requests, their task counts in one query."""
    moment = now or utcnow()
    counts = request_tasks.summaries(session, [item.id for item in items])
    return [RequestOut(**_out_fields(item, moment, counts[item.id])) for item in items]


def _out_fields(
    request: PrivacyRequest, moment: dt.datetime, tasks: TasksSummary | None = None
) -> dict[str, Any]:
    state = clock(request, moment)
    verification = extension = fee = None
    if is_verified(request):
        assert request.verification_method is not None
        assert request.verified_by is not None
        assert request.verified_at is not None
        verification = VerificationOut(
            method=request.verification_method,
            verified_by=request.verified_by,
            verified_at=request.verified_at,
            note=request.verification_note,
        )
    if request.extended_at is not None:
        # an extension is recorded with its reason and notice (deadlines.extend)
        assert request.extension_reason is not None
        assert request.extended_by is not None
        assert request.extension_notice_sent_at is not None
        assert request.extension_notice_text is not None
        extension = ExtensionOut(
            reason=request.extension_reason,
            new_due_at=request.due_at,
            notice_sent_at=request.extension_notice_sent_at,
            notice_text=request.extension_notice_text,
            opc_statement=request.extension_opc_statement,
            extended_by=request.extended_by,
            extended_at=request.extended_at,
        )
    if request.fee_amount_cents is not None:
        # a fee is recorded only after its estimate was sent and confirmed (R5)
        assert request.fee_estimate_sent_at is not None
        assert request.fee_confirmed_at is not None
        fee = FeeOut(
            amount=format_amount(request.fee_amount_cents),
            estimate_sent_at=request.fee_estimate_sent_at,
            confirmed_at=request.fee_confirmed_at,
        )
    return {
        "reference": request.reference,
        "type": request.type,
        "status": request.status,
        "channel": request.channel,
        "received_at": request.received_at,
        "original_due_at": request.original_due_at,
        "due_at": request.due_at,
        "days_left": state.days_left,
        "overdue": state.overdue,
        "deemed_refused": state.deemed_refused,
        "deadline_met": state.deadline_met,
        "subject": request.subject.ref if request.subject else None,
        "is_quebec": is_quebec(request),
        "forwarded_by": request.forwarded_by.code if request.forwarded_by else None,
        "respond_to": request.respond_to,
        "external_reference": request.external_reference,
        "verified": verification is not None,
        "verification": verification,
        "extension": extension,
        "fee": fee,
        "refusal_grounds": list(request.refusal_grounds or []),
        "responded_at": request.responded_at,
        "closed_at": request.closed_at,
        "closed_by": request.closed_by,
        "complaint_at": request.complaint_at,
        "file_retention_until": request.file_retention_until,
        "tasks_summary": tasks or request_tasks.summary(request),
        "created_by": request.created_by,
        "created_at": request.created_at,
    }


def request_detail(
    request: PrivacyRequest,
    *,
    requester: bool,
    identifiers: bool,
    now: dt.datetime | None = None,
) -> RequestDetail:
    """The request with tasks and documents. ``requester`` shows the requester's name and
    contact and the documents' file names (officers), ``identifiers`` the identifiers to search
    for and the client's instructions (officers and technicians)."""
    return RequestDetail(
        **_out_fields(request, now or utcnow()),
        requester=RequesterOut(name=request.requester_name, contact=request.requester_contact)
        if requester
        else None,
        identifiers=[dict(item) for item in request.subject_identifiers] if identifiers else None,
        client_instructions=request.client_instructions if identifiers else None,
        refusal_reasons=request.refusal_reasons,
        closing_note=request.closing_note,
        complaint_note=request.complaint_note,
        searches_override=SearchesOverrideOut(
            reason=request.searches_override_reason,
            by=request.searches_override_by or "",
            at=request.searches_override_at,
        )
        if request.searches_override_at and request.searches_override_reason
        else None,
        tasks=[request_tasks.task_out(task) for task in request.tasks],
        documents=request_documents.documents_of(request, filenames=requester),
    )

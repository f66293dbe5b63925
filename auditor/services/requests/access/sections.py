"""The sections of an access package around its records (R6, R11): who answers and to whom,
the request, the subject, identifiers, consents, statements of disagreement, holds, the search
of each system, the purposes, and the audit trail of the request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import (
    AuditEvent,
    DataSubject,
    DisputeNote,
    Hold,
    PrivacyRequest,
)
from auditor.services import audit
from auditor.services.requests.access.records import RecordsPass
from auditor.services.requests.common import OBJECT_TYPE, is_quebec


def request_section(request: PrivacyRequest) -> dict[str, Any]:
    return {
        "reference": request.reference,
        "type": request.type,
        "status": request.status,
        "channel": request.channel,
        "received_at": request.received_at,
        "due_at": request.due_at,
        "original_due_at": request.original_due_at,
        "extended": request.extended_at is not None,
        "extension_reason": request.extension_reason,
        "verified_at": request.verified_at,
        "verification_method": request.verification_method,
        "quebec": is_quebec(request),
    }


def subject_section(subject: DataSubject) -> dict[str, Any]:
    return {
        "ref": subject.ref,
        "display_name": subject.display_name,
        "kind": subject.kind,
        "organization": subject.organization.name if subject.organization else None,
        "quebec": subject.is_quebec,
    }


def consents(subject: DataSubject) -> list[dict[str, Any]]:
    return [
        {
            "purpose": c.purpose.code,
            "purpose_name": c.purpose.name,
            "given_at": c.given_at,
            "method": c.method,
            "text_version": c.text_version,
            "evidence": c.evidence,
            "withdrawn_at": c.withdrawn_at,
            "withdrawal_method": c.withdrawal_method,
        }
        for c in sorted(subject.consents, key=lambda c: (c.given_at, c.id))
    ]


def dispute_notes(session: Session, subject: DataSubject) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DisputeNote, PrivacyRequest.reference)
        .outerjoin(PrivacyRequest, PrivacyRequest.id == DisputeNote.request_id)
        .where(DisputeNote.subject_id == subject.id)
        .order_by(DisputeNote.created_at, DisputeNote.id)
    )
    return [
        {
            "field": note.field,
            "statement": note.statement,
            "recorded_at": note.created_at,
            "request": reference,
        }
        for note, reference in rows
    ]


def holds(session: Session, subject: DataSubject, held: Mapping[str, int]) -> list[dict[str, Any]]:
    """Holds in force on the subject, and any hold that keeps some of their records past their
    date. The reasons are not shown: they may name other people or an investigation."""
    ids = [int(hold_id) for hold_id in held]
    on_subject = (Hold.scope == "subject") & (Hold.scope_value == subject.ref)
    rows = session.scalars(
        select(Hold)
        .where((on_subject & Hold.released_at.is_(None)) | Hold.id.in_(ids))
        .order_by(Hold.placed_at, Hold.id)
    )
    return [
        {
            "id": hold.id,
            "kind": hold.kind,
            "scope": hold.scope,
            "placed_at": hold.placed_at,
            "until": hold.until,
            "open_ended": hold.open_ended,
            "released_at": hold.released_at,
            # a request reference says nothing about anyone; other files' names might
            "reference": hold.reference if hold.kind == "recourse" else None,
            "records_kept": held.get(str(hold.id), 0),
        }
        for hold in rows
    ]


def searches(request: PrivacyRequest) -> list[dict[str, Any]]:
    return [
        {
            "system": task.system.code,
            "system_name": task.system.name,
            "holds_records": task.holds_records,
            "searched": task.searched,
            "searched_at": task.searched_at,
            "found": task.found,
            "actions": [dict(action) for action in task.actions],
            "note": task.note,
            "closed_at": task.closed_at,
        }
        for task in request.tasks
    ]


def uses(pass_: RecordsPass, subject: DataSubject) -> list[dict[str, Any]]:
    """Purposes of the records' categories, and those the subject consented to."""
    uses = pass_.uses_section()
    for use in uses.values():
        use["consents"] = 0
    for consent in subject.consents:
        purpose = consent.purpose
        use = uses.setdefault(
            purpose.code,
            {
                "purpose": purpose.code,
                "name": purpose.name,
                "description": purpose.description,
                "categories": [],
                "records": 0,
                "consents": 0,
            },
        )
        use["consents"] += 1
    return sorted(uses.values(), key=lambda use: use["name"])


def audit_section(session: Session, request: PrivacyRequest) -> dict[str, Any]:
    """The request's events in the audit trail and the latest signed checkpoint covering them."""
    first, last, count = session.execute(
        select(func.min(AuditEvent.seq), func.max(AuditEvent.seq), func.count()).where(
            AuditEvent.object_type == OBJECT_TYPE, AuditEvent.object_id == request.reference
        )
    ).one()
    checkpoint = None
    if last is not None:
        checkpoint = audit.covering_checkpoint(session, last)
    return {
        "request_events": count,
        "first_seq": first,
        "last_seq": last,
        "checkpoint": None
        if checkpoint is None
        else {
            "id": checkpoint.id,
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash,
            "signed_at": checkpoint.created_at,
        },
    }

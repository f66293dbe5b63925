"""What every privacy-request service shares: finding a request, its Québec flag, date checks,
and the one way its actions reach the audit trail (by reference, never with personal data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import PrivacyRequest
from auditor.services import audit, inventory
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, NotFound
from auditor.services.requests.states import is_open

OBJECT_TYPE = "privacy_request"


def get(session: Session, reference: str) -> PrivacyRequest:
    request = session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.reference == reference.strip())
    )
    if request is None:
        raise NotFound("No privacy request with that reference.")
    return request


def is_quebec(request: PrivacyRequest) -> bool:
    """R29/R30: the subject, the subject's client or the forwarding client is Québec-flagged."""
    subject = request.subject
    if subject is not None and (
        subject.is_quebec or (subject.organization is not None and subject.organization.is_quebec)
    ):
        return True
    return request.forwarded_by is not None and request.forwarded_by.is_quebec


def organization_id(request: PrivacyRequest) -> int | None:
    """The organization the audit event is filed under: the subject's, else the forwarder's."""
    if request.subject is not None and request.subject.organization_id is not None:
        return request.subject.organization_id
    return request.forwarded_by_id


def record_event(
    session: Session,
    request: PrivacyRequest,
    action: str,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    **details: Any,
) -> None:
    """Audit an action on a request. ``details`` must hold no personal data: codes, dates,
    counts, subject refs; never the requester's name, contact, identifiers or free texts."""
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=request.reference,
        organization_id=organization_id(request),
        details=details,
        now=now,
    )


def require_open(request: PrivacyRequest, what: str) -> None:
    if not is_open(request.status):
        raise Conflict(f"The request is {request.status}: {what} is no longer possible.")


def check_moment(
    request: PrivacyRequest | None,
    value: dt.datetime,
    field: str,
    *,
    now: dt.datetime,
    received_at: dt.datetime | None = None,
) -> list[FieldError]:
    """A recorded time may not be in the future nor before the request was received."""
    errors = []
    if value > now:
        errors.append(FieldError(field, "is in the future"))
    received = received_at or (request.received_at if request is not None else None)
    if received is not None and value < received:
        errors.append(FieldError(field, "is before the request was received"))
    return errors


def addressee(request: PrivacyRequest) -> dict[str, Any]:
    """Who gets the answer, and so every document about the request: the forwarding client when
    the request says so (with the individual it is about), else the individual."""
    client = request.forwarded_by
    if request.respond_to == "client" and client is not None:
        return {
            "to": "client",
            "name": client.name,
            "organization": client.code,
            "contact": client.contact_email,
            "instructions": request.client_instructions,
            "their_reference": request.external_reference,
            "individual": request.requester_name,
        }
    return {
        "to": "individual",
        "name": request.requester_name,
        "contact": request.requester_contact,
        "forwarded_by": client.name if client is not None else None,
    }


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def responder(session: Session, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Who answers and writes: the settings, else the MSP organization of the inventory."""
    settings = settings or {}
    msp = inventory.msp_organization(session)
    return {
        "name": settings.get("ORGANIZATION_NAME") or (msp.name if msp else None),
        "contact": settings.get("ORGANIZATION_CONTACT") or (msp.contact_email if msp else None),
        "privacy_officer": settings.get("PRIVACY_OFFICER") or None,
    }

"""Consent withdrawal for a privacy request (R13), and the marketing list that honours it.

A withdrawal sets ``Consent.withdrawn_at`` (the effective date: back-dated if the individual
withdrew earlier, never in the future nor before the consent was given); the consent row, its
method, text version and evidence stay as the proof of the original consent. The request lists
each withdrawal as a ``withdrawn`` item: ``category`` holds the purpose code, ``basis`` the
purpose's name and ``note`` the effective time (ISO 8601), so the confirmation letter can be
written even after a deletion request removed the subject and its consent rows.

``acting_on`` is the guard the correction, deletion and withdrawal services share: the request
must be of the right type, open and verified (``require_verified``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import (
    Consent,
    DataSubject,
    PrivacyRequest,
    Purpose,
    RequestItem,
    SubjectIdentifier,
)
from auditor.reports.filters import long_date
from auditor.schemas.subjects import ConsentMethod
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, ValidationFailed
from auditor.services.inventory import resolve
from auditor.services.requests.common import get, iso, record_event, require_open
from auditor.services.requests.guards import require_verified
from auditor.services.retention import MARKETING_PURPOSE

# how a request reached us, as the consent's withdrawal method
CHANNEL_METHODS = {
    "email": "email",
    "web_form": "web_form",
    "mail": "paper",
    "phone": "verbal",
    "in_person": "verbal",
    "client_forwarded": "other",
}
METHODS: tuple[str, ...] = get_args(ConsentMethod)

# R13: what a withdrawal means for the individual, in plain language (the API answer and the
# confirmation letter both show it); "{date}" is the effective date
IMPLICATIONS = {
    MARKETING_PURPOSE: (
        "From {date} we no longer use your information to send you newsletters, offers or other "
        "marketing messages, and you are left out of every marketing list we produce from then "
        "on. Withdrawing this consent does not change the services you receive: service alerts, "
        "ticket updates, invoices and security advisories are part of the service and continue. "
        "We keep the record of your original consent and of this withdrawal, as proof of what "
        "you agreed to and when you withdrew."
    ),
}
DEFAULT_IMPLICATIONS = (
    "From {date} we no longer use your information for this purpose ({purpose}). Information "
    "we hold only for this purpose is deleted under our retention schedule. If this purpose is "
    "needed for a service you receive, we may no longer be able to provide that service. We keep "
    "the record of your original consent and of this withdrawal, as proof of what you agreed to "
    "and when you withdrew."
)


def acting_on(
    session: Session,
    request: PrivacyRequest | str,
    *,
    types: tuple[str, ...],
    what: str,
    verified: bool = True,
) -> PrivacyRequest:
    """The request (by object or reference) if it is of one of ``types``, open and (unless
    ``verified`` is false) verified."""
    found = request if isinstance(request, PrivacyRequest) else get(session, request)
    if found.type not in types:
        wanted = " or ".join(t.replace("_", " ") for t in types)
        raise Conflict(
            f"{found.reference} is a {found.type.replace('_', ' ')} request: {what} belongs to "
            f"a {wanted} request."
        )
    require_open(found, what)
    if verified:
        require_verified(found)
    return found


def require_subject(request: PrivacyRequest) -> DataSubject:
    if request.subject is None:
        raise Conflict(
            "The request is not linked to a data subject: link the subject first "
            "(POST .../subject)."
        )
    return request.subject


def implications(purpose_code: str, purpose_name: str, effective: dt.datetime) -> str:
    text = IMPLICATIONS.get(purpose_code, DEFAULT_IMPLICATIONS)
    day = long_date(effective.astimezone(dt.UTC).date())
    return text.format(date=day, purpose=purpose_name)


def _withdraw(
    session: Session,
    request: PrivacyRequest,
    consents: list[Consent],
    *,
    at: dt.datetime,
    method: str,
    now: dt.datetime,
) -> list[RequestItem]:
    items = []
    for consent in consents:
        consent.withdrawn_at, consent.withdrawal_method = at, method
        item = RequestItem(
            request_id=request.id,
            kind="withdrawn",
            category=consent.purpose.code,
            basis=consent.purpose.name,
            note=at.astimezone(dt.UTC).isoformat(),
            hold_ids=[],
            created_at=now,
        )
        session.add(item)
        items.append(item)
    session.flush()
    return items


def _active(subject: DataSubject, purpose_id: int) -> list[Consent]:
    return [c for c in subject.consents if c.purpose_id == purpose_id and c.withdrawn_at is None]


def withdraw_consent(
    session: Session,
    request: PrivacyRequest | str,
    *,
    purpose_code: str,
    effective_at: dt.datetime | None = None,
    method: str | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> list[Consent]:
    """Withdraw the subject's active consents for the purpose, effective ``effective_at``
    (default now; back-dating allowed, the future and a date before the consent was given are
    not). The consent rows stay as proof (R13); audited with ids, purpose and date only."""
    # unsubscribing from marketing needs no proof of identity: anyone may stop mail to an
    # address, and nothing is disclosed or deleted (any other purpose: verified first)
    request = acting_on(
        session,
        request,
        types=("consent_withdrawal", "deletion"),
        what="a consent withdrawal",
        verified=purpose_code.strip() != MARKETING_PURPOSE,
    )
    subject = require_subject(request)
    moment = now or utcnow()
    at = effective_at or moment
    method = method or CHANNEL_METHODS[request.channel]
    purpose: Purpose = resolve(session, Purpose, purpose_code, "purpose")
    errors = []
    if method not in METHODS:
        errors.append(FieldError("method", f"one of {', '.join(METHODS)}"))
    if at > moment:
        errors.append(FieldError("effective_at", "is in the future"))
    consents = _active(subject, purpose.id)
    if not consents:
        raise Conflict(f"The subject has no active consent for the purpose {purpose.code}.")
    if any(at < consent.given_at for consent in consents):
        errors.append(FieldError("effective_at", "is before the consent was given"))
    if errors:
        raise ValidationFailed("The withdrawal is not valid.", errors)
    _withdraw(session, request, consents, at=at, method=method, now=moment)
    record_event(
        session,
        request,
        "request.consent_withdrawal",
        actor=actor,
        now=moment,
        purpose=purpose.code,
        consents=[c.id for c in consents],
        effective_at=iso(at),
        method=method,
        subject=subject.ref,
    )
    return consents


def withdrawal_out(consents: list[Consent]) -> dict[str, Any]:
    """What the API answers: the consents withdrawn, when, and what it means (R13)."""
    first = consents[0]
    effective = first.withdrawn_at or first.given_at
    return {
        "purpose": first.purpose.code,
        "effective_at": iso(effective),
        "method": first.withdrawal_method,
        "consents": [c.id for c in consents],
        "implications": implications(first.purpose.code, first.purpose.name, effective),
    }


def withdraw_marketing(
    session: Session, request: PrivacyRequest, *, at: dt.datetime, actor: Actor
) -> list[Consent]:
    """A deletion request withdraws every active marketing consent of its subject, effective
    ``at`` (R12 is a consent withdrawal plus a retention review). Nothing to withdraw is fine."""
    subject = require_subject(request)
    consents = [
        c
        for c in subject.consents
        if c.withdrawn_at is None and c.purpose.code == MARKETING_PURPOSE and c.given_at <= at
    ]
    if consents:
        _withdraw(
            session, request, consents, at=at, method=CHANNEL_METHODS[request.channel], now=at
        )
        record_event(
            session,
            request,
            "request.consent_withdrawal",
            actor=actor,
            now=at,
            purpose=MARKETING_PURPOSE,
            consents=[c.id for c in consents],
            effective_at=iso(at),
            subject=subject.ref,
        )
    return consents


def only_marketing_withdrawn(session: Session, request: PrivacyRequest) -> bool:
    """A consent-withdrawal request whose withdrawals are all of marketing consent: answering it
    needs no identity verification (nothing is disclosed, corrected or deleted)."""
    if request.type != "consent_withdrawal":
        return False
    purposes = {item["purpose"] for item in withdrawals_of(session, request)}
    return purposes == {MARKETING_PURPOSE}


def withdrawals_of(session: Session, request: PrivacyRequest) -> list[dict[str, Any]]:
    """The request's withdrawals: purpose, effective time and their implications."""
    items = session.scalars(
        select(RequestItem)
        .where(RequestItem.request_id == request.id, RequestItem.kind == "withdrawn")
        .order_by(RequestItem.id)
    )
    found = []
    for item in items:
        effective = dt.datetime.fromisoformat(item.note or "")
        code, name = item.category or "", item.basis or item.category or ""
        found.append(
            {
                "purpose": code,
                "purpose_name": name,
                "effective_at": iso(effective),
                "implications": implications(code, name, effective),
            }
        )
    return found


# -- the marketing list ---------------------------------------------------------------------------


def marketing_recipients(session: Session, *, as_of: dt.datetime) -> list[dict[str, Any]]:
    """Subjects with a consent for 'marketing' given by ``as_of`` and not withdrawn by then,
    with their email addresses, in ref order. A withdrawal counts from its effective time."""
    active = (
        select(Consent.subject_id)
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .where(
            Purpose.code == MARKETING_PURPOSE,
            Consent.given_at <= as_of,
            or_(Consent.withdrawn_at.is_(None), Consent.withdrawn_at > as_of),
        )
    )
    rows = session.execute(
        select(DataSubject.ref, SubjectIdentifier.value)
        .outerjoin(
            SubjectIdentifier,
            and_(SubjectIdentifier.subject_id == DataSubject.id, SubjectIdentifier.kind == "email"),
        )
        .where(DataSubject.id.in_(active))
        .order_by(DataSubject.ref, SubjectIdentifier.id)
    )
    found: dict[str, list[str]] = {}
    for ref, email in rows:
        emails = found.setdefault(ref, [])
        if email is not None:
            emails.append(email)
    return [{"subject": ref, "emails": emails} for ref, emails in found.items()]


def export_marketing(
    session: Session, *, as_of: dt.datetime | None = None, actor: Actor
) -> list[dict[str, Any]]:
    """``marketing_recipients`` as an audited export (R32): the count, never the addresses."""
    moment = as_of or utcnow()
    recipients = marketing_recipients(session, as_of=moment)
    audit.record(
        session,
        actor=actor,
        action="subject.marketing_export",
        object_type="data_subject",
        details={
            "purpose": MARKETING_PURPOSE,
            "as_of": iso(moment),
            "subjects": len(recipients),
            "emails": sum(len(r["emails"]) for r in recipients),
        },
    )
    return recipients

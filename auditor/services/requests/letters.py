"""Letters about a privacy request, as PDF/A-3b with the letter's data attached as JSON.

Five kinds, each only once it applies (Conflict before): the extension notice (R2/R3), the
refusal (R7), the outcome of corrections (R10/R11), the deletion report (R12) and the consent
withdrawal confirmation (R13). Every letter names the organization and its privacy officer
(``settings``: ORGANIZATION_NAME, ORGANIZATION_CONTACT, PRIVACY_OFFICER; else the MSP of the
inventory), the request, its dates, the right to complain to the Privacy Commissioner of Canada,
and the signed audit checkpoint covering the request's events (signed now with ``signing_key``
when none covers them yet). A forwarded request answered to the client is addressed to the
client, the letter itself still written to the individual. Producing a letter is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import (
    AuditEvent,
    PrivacyRequest,
)
from auditor.reports import Attachment, render_pdf
from auditor.reports.filters import long_date
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import Conflict, NotFound
from auditor.services.requests import consents
from auditor.services.requests import corrections as request_corrections
from auditor.services.requests.common import (
    OBJECT_TYPE,
    addressee,
    get,
    iso,
    record_event,
    responder,
)
from auditor.services.requests.deletion_review import deletion_report
from auditor.services.requests.guards import require_searches_done
from auditor.services.requests.states import REFUSALS
from retention import Period

FORMAT = "auditor-request-letter/1"
LETTER_KINDS = {
    "extension-notice": "We need more time to answer your privacy request",
    "refusal": "Our answer to your privacy request",
    "correction-outcome": "The outcome of your correction request",
    "deletion-report": "What we deleted and what we kept",
    "withdrawal-confirmation": "Your consent is withdrawn",
}
#: the letters that answer the request (an extension notice says it is not answered yet)
FINAL_LETTERS = frozenset(LETTER_KINDS) - {"extension-notice"}
FIELD_WORDS = {"display_name": "Your name", "email": "Your email address", "phone": "Your phone"}
COMPLAINT_PERIOD = Period(months=6)  # PIPEDA s. 11(3): complaint about a refusal
OPC = {
    "name": "Office of the Privacy Commissioner of Canada",
    "address": "30 Victoria Street, Gatineau, Quebec  K1A 1H3",
    "phone": "1-800-282-1376 (toll-free)",
    "web": "www.priv.gc.ca",
}
TYPE_WORDS = {
    "access": "access to your personal information",
    "correction": "correction of your personal information",
    "deletion": "deletion of your personal information",
    "consent_withdrawal": "withdrawal of your consent",
    "portability": "a copy of your personal information in a portable format",
}
EXTENSION_REASONS = {
    "unreasonable_interference": (
        "Answering within the first 30 days would unreasonably interfere with our activities "
        "(PIPEDA s. 8(4)(a))."
    ),
    "consultations_needed": (
        "We must consult others before we can answer, and that cannot be done within the first "
        "30 days (PIPEDA s. 8(4)(a))."
    ),
    "alternative_format": (
        "We need time to convert the information into the alternative format you need "
        "(PIPEDA s. 8(4)(b))."
    ),
}
GROUNDS = {
    "third_party_information": (
        "Giving it would reveal personal information about someone else, and that information "
        "cannot be separated from yours (PIPEDA s. 9(1))."
    ),
    "solicitor_client_privilege": (
        "It is protected by solicitor-client or litigation privilege (PIPEDA s. 9(3)(a))."
    ),
    "confidential_commercial_information": (
        "Giving it would reveal confidential commercial information (PIPEDA s. 9(3)(b))."
    ),
    "threat_to_life_or_security": (
        "Giving it could reasonably be expected to threaten the life or security of another "
        "person (PIPEDA s. 9(3)(c))."
    ),
    "investigation_of_breach": (
        "It was collected for an investigation of a breach of an agreement or a contravention "
        "of the law (PIPEDA s. 9(3)(d))."
    ),
    "formal_dispute_resolution": (
        "It was produced in a formal dispute resolution process (PIPEDA s. 9(3)(e))."
    ),
}


@dataclass(frozen=True)
class Letter:
    kind: str
    data: dict[str, Any]  # JSON-ready: attached to the PDF as it is
    pdf: bytes

    @property
    def file_name(self) -> str:
        return f"{self.data['request']['reference']}-{self.kind}.pdf"


def attachment_name(reference: str, kind: str) -> str:
    return f"{reference}-{kind}.json"


def _day(value: dt.datetime | dt.date | None) -> str | None:
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return None if value is None else value.isoformat()


organization = responder  # who writes the letter: the same as who answers


def audit_trail(
    session: Session,
    request: PrivacyRequest,
    *,
    signing_key: Ed25519PrivateKey | None,
    origin: str | None,
    actor: Actor,
    now: dt.datetime,
) -> dict[str, Any]:
    """The request's events (letters aside) and the latest checkpoint covering them; one is
    signed now when none does and a key is given."""
    last, count = session.execute(
        select(func.max(AuditEvent.seq), func.count()).where(
            AuditEvent.object_type == OBJECT_TYPE,
            AuditEvent.object_id == request.reference,
            AuditEvent.action != "request.letter",
        )
    ).one()
    checkpoint = None
    if last is not None:
        checkpoint = audit.covering_checkpoint(session, last)
        if checkpoint is None and signing_key is not None and origin is not None:
            checkpoint = audit.create_checkpoint(
                session, signing_key=signing_key, origin=origin, actor=actor, now=now
            )
    return {
        "request_events": count,
        "last_seq": last,
        "checkpoint": None
        if checkpoint is None
        else {
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash,
            "signed_at": iso(checkpoint.created_at),
        },
    }


# -- what each letter says ------------------------------------------------------------------------


def _extension(session: Session, request: PrivacyRequest) -> dict[str, Any]:
    if request.extended_at is None:
        raise Conflict("The request was not extended: there is no extension notice to send.")
    reason = request.extension_reason or ""
    return {
        "original_due_at": iso(request.original_due_at),
        "new_due_at": iso(request.due_at),
        "reason": reason,
        "reason_text": EXTENSION_REASONS.get(reason, reason),
        "notice_sent_at": iso(request.extension_notice_sent_at),
        "notice_text": request.extension_notice_text,
    }


def _refusal(session: Session, request: PrivacyRequest) -> dict[str, Any]:
    if request.status not in REFUSALS or request.responded_at is None:
        raise Conflict(f"The request is {request.status}: there is no refusal letter.")
    return {
        "partial": request.status == "partially_refused",
        "grounds": [
            {"code": code, "text": GROUNDS.get(code, code)} for code in request.refusal_grounds
        ],
        "reasons": request.refusal_reasons,
        "responded_at": iso(request.responded_at),
        "complain_by": _day(COMPLAINT_PERIOD.after(request.responded_at.date())),
    }


def _corrections(session: Session, request: PrivacyRequest) -> dict[str, Any]:
    rows = request_corrections.corrections_of(session, request)
    if not rows:
        raise Conflict("No correction was decided for the request yet.")
    applied, rejected, parties = [], [], {}
    for row in rows:
        entry: dict[str, Any] = {
            "field": row.field,
            "label": FIELD_WORDS.get(row.field.split("[")[0], row.field),
            "record_id": row.record_id,
            "old_value": row.old_value,
            "decided_at": iso(row.decided_at),
        }
        if row.status == "applied":
            applied.append(entry | {"new_value": row.new_value, "third_parties": row.third_parties})
            parties.update({p["code"]: p for p in row.third_parties})
        else:
            statement = request_corrections.dispute_statement(session, row)
            rejected.append(
                entry
                | {"requested_value": row.new_value, "reason": row.reason, "statement": statement}
            )
    return {"applied": applied, "rejected": rejected, "notified": sorted(parties.values(), key=str)}


def _deletion(session: Session, request: PrivacyRequest) -> dict[str, Any]:
    report = deletion_report(session, request)
    if report is None:
        raise Conflict("The deletion has not been carried out yet: there is no report.")
    return report | {"withdrawals": consents.withdrawals_of(session, request)}


def _withdrawal(session: Session, request: PrivacyRequest) -> dict[str, Any]:
    if request.type == "deletion":
        raise Conflict("A deletion request reports its consent withdrawal in the deletion report.")
    withdrawals = consents.withdrawals_of(session, request)
    if not withdrawals:
        raise Conflict("No consent was withdrawn for the request yet.")
    return {"withdrawals": withdrawals}


BUILDERS = {
    "extension-notice": _extension,
    "refusal": _refusal,
    "correction-outcome": _corrections,
    "deletion-report": _deletion,
    "withdrawal-confirmation": _withdrawal,
}


def _complaint(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The right to complain to the OPC (Québec's 30 days allow no extension, R29: OPC only)."""
    text = (
        "If you are not satisfied with how we handled your request, you may complain to the "
        "Office of the Privacy Commissioner of Canada."
    )
    if kind == "extension-notice":
        text = "You have the right to complain about this extension to the " + OPC["name"] + "."
    elif kind == "refusal":
        text = (
            f"You have the right to complain about this refusal to the {OPC['name']}, within "
            f"six months after it, that is by "
            f"{long_date(dt.date.fromisoformat(body['complain_by']))}."
        )
    return {"authority": OPC, "text": text}


def letter_data(
    session: Session,
    request: PrivacyRequest,
    kind: str,
    *,
    settings: Mapping[str, Any] | None = None,
    signing_key: Ed25519PrivateKey | None = None,
    origin: str | None = None,
    actor: Actor,
    now: dt.datetime,
) -> dict[str, Any]:
    """Everything one letter says, JSON-ready (Conflict if the letter does not apply yet)."""
    if kind not in BUILDERS:
        raise NotFound(f"No letter of that kind: one of {', '.join(BUILDERS)}.")
    body = BUILDERS[kind](session, request)
    return {
        "format": FORMAT,
        "kind": kind,
        "title": LETTER_KINDS[kind],
        "date": _day(now),
        "organization": organization(session, settings),
        "addressee": addressee(request),
        "request": {
            "reference": request.reference,
            "type": request.type,
            "type_words": TYPE_WORDS.get(request.type, request.type),
            "status": request.status,
            "received_at": iso(request.received_at),
            "original_due_at": iso(request.original_due_at),
            "due_at": iso(request.due_at),
            "responded_at": iso(request.responded_at),
        },
        kind.replace("-", "_"): body,
        "complaint": _complaint(kind, body),
        "audit": audit_trail(
            session, request, signing_key=signing_key, origin=origin, actor=actor, now=now
        ),
    }


def write_letter(
    session: Session,
    reference: str,
    kind: str,
    *,
    actor: Actor,
    settings: Mapping[str, Any] | None = None,
    signing_key: Ed25519PrivateKey | None = None,
    origin: str | None = None,
    now: dt.datetime | None = None,
) -> Letter:
    """The letter as a PDF with its data attached; audited (kind and the PDF's SHA-256)."""
    moment = now or utcnow()
    request = get(session, reference)
    data = letter_data(  # first: whether this letter applies to the request at all
        session,
        request,
        kind,
        settings=settings,
        signing_key=signing_key,
        origin=origin,
        actor=actor,
        now=moment,
    )
    if kind in FINAL_LETTERS:
        require_searches_done(request, f"sending the {kind.replace('-', ' ')} letter")
    encoded = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    pdf = render_pdf(
        f"letter_{kind.replace('-', '_')}.html",
        {"letter": data},
        title=data["title"],
        identifier=request.reference,
        attachments=[
            Attachment(
                attachment_name(request.reference, kind),
                encoded,
                description=f"The data of this letter about request {request.reference} (JSON)",
            )
        ],
        now=moment,
    )
    record_event(
        session,
        request,
        "request.letter",
        actor=actor,
        now=moment,
        kind=kind,
        sha256=hashlib.sha256(pdf).hexdigest(),
    )
    return Letter(kind, data, pdf)

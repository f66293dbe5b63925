"""The letter that tells the people affected by a breach (PIPEDA s. 10.1(3) and the Breach of
Security Safeguards Regulations, s. 3): a PDF/A-3 with its data attached, like the other
letters. It is refused while something the regulation asks for is missing. Producing it is
audited; sending it is a notice the officer records (``notify``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Breach
from auditor.reports import Attachment, render_pdf
from auditor.services.breaches.register import audit_breach, get
from auditor.services.context import Actor
from auditor.services.errors import FieldError, ValidationFailed
from auditor.services.requests.letters import OPC

FORMAT = "auditor-breach-letter/1"
TITLE = "About a breach of security safeguards affecting your personal information"
CAI = {
    "name": "Commission d'accès à l'information du Québec",
    "address": "525, boulevard René-Lévesque Est, bureau 2.36, Québec (Québec)  G1R 5S9",
    "phone": "1-888-528-7741 (toll-free)",
    "web": "www.cai.gouv.qc.ca",
}
# what s. 3 of the regulations asks the notice to say, by the field that holds it
REQUIRED = {
    "circumstances": "the circumstances of the breach",
    "information": "the personal information involved",
    "mitigation": "the steps taken to reduce the risk of harm",
    "individual_advice": "what the people affected can do to reduce the risk of harm",
    "contact_name": "a contact person who can answer questions",
}


@dataclasses.dataclass(frozen=True)
class BreachLetter:
    data: dict[str, Any]
    pdf: bytes

    @property
    def file_name(self) -> str:
        return f"{self.data['breach']['reference']}-notification.pdf"


def missing(breach: Breach) -> list[str]:
    found = [field for field in REQUIRED if not getattr(breach, field)]
    if breach.contact_name and not (breach.contact_email or breach.contact_phone):
        found.append("contact_email")  # an address or a number to reach them (s. 3(f))
    return found


def letter_data(
    breach: Breach, *, organization: Mapping[str, Any], addressee: str | None, now: dt.datetime
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "date": now.astimezone(dt.UTC).date().isoformat(),
        "organization": {
            "name": organization.get("name"),
            "address": organization.get("address"),
            "contact": organization.get("contact"),
        },
        "addressee": addressee,
        "breach": {
            "reference": breach.reference,
            "occurred_from": breach.occurred_from.isoformat(),
            "occurred_to": breach.occurred_to.isoformat() if breach.occurred_to else None,
            "approximate": breach.occurred_approximate,
            "circumstances": breach.circumstances,
            "information": breach.information,
            "mitigation": breach.mitigation,
            "advice": breach.individual_advice,
        },
        "contact": {
            "name": breach.contact_name,
            "title": breach.contact_title,
            "email": breach.contact_email,
            "phone": breach.contact_phone,
        },
        "complaint": {"authorities": [OPC, CAI] if breach.quebec else [OPC]},
    }


def write_letter(
    session: Session,
    reference: str,
    *,
    organization: Mapping[str, Any],
    actor: Actor,
    addressee: str | None = None,
    now: dt.datetime | None = None,
) -> BreachLetter:
    """The notification letter as a PDF (to ``addressee``, or to the people affected)."""
    moment = now or utcnow()
    breach = get(session, reference)
    lacking = missing(breach)
    if lacking:
        raise ValidationFailed(
            "The letter must say what the regulations ask for; fill these first.",
            [FieldError(name, "is empty") for name in lacking],
        )
    name = (addressee or "").strip() or None
    if name is not None and len(name) > 200:
        raise ValidationFailed("The addressee is too long.", [FieldError("to", "200 at most")])
    data = letter_data(breach, organization=organization, addressee=name, now=moment)
    encoded = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    pdf = render_pdf(
        "letter_breach_notification.html",
        {"letter": data},
        title=TITLE,
        identifier=None,  # "Our reference" says it once
        attachments=[
            Attachment(
                f"{breach.reference}-notification.json",
                encoded,
                description=f"The data of this letter about breach {breach.reference} (JSON)",
            )
        ],
        now=moment,
    )
    # the audit trail says a letter was produced, never to whom
    audit_breach(
        session,
        breach,
        actor,
        "breach.letter",
        moment,
        sha256=hashlib.sha256(pdf).hexdigest(),
        addressed=name is not None,
    )
    return BreachLetter(data, pdf)

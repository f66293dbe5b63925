"""The demo MSP's privacy requests: one in each stage of the workflow, and one overdue.

Dated relative to ``now`` so the deadlines mean something whenever the demo is loaded; each
request carries a ``DEMO-n`` external reference, so loading twice adds nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.demo import data
from auditor.models import PrivacyRequest
from auditor.schemas.requests import (
    ExtensionIn,
    RequestIn,
    TaskUpdate,
    TransitionIn,
    VerificationIn,
)
from auditor.services import requests
from auditor.services.context import Actor

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DemoRequest:
    key: str  # the external reference, DEMO-n
    type: str
    channel: str
    days_ago: int
    person: int | None  # an index into the demo's people; None: someone not on file
    stage: str  # what follows intake: received, verifying, in_progress, extended, completed
    extra: dict[str, Any] = field(default_factory=dict)


FORWARDED = {
    "forwarded_by": "maple-logistics",
    "client_instructions": "Search our tickets and invoices; send the package to our privacy "
    "contact, not to the employee.",
}
DEMO = [
    # a former customer nobody has on file: the officer links the subject later
    DemoRequest("DEMO-1", "access", "email", 2, None, "received"),
    DemoRequest("DEMO-2", "correction", "web_form", 5, 1, "verifying"),
    DemoRequest("DEMO-3", "deletion", "phone", 12, 3, "in_progress"),
    DemoRequest("DEMO-4", "access", "mail", 25, 5, "extended"),
    DemoRequest("DEMO-5", "access", "client_forwarded", 3, 6, "received", FORWARDED),
    DemoRequest("DEMO-6", "access", "email", 28, 0, "completed"),
    # Québec (Law 25): portability is available to them, an extension would not be (R29, R30)
    DemoRequest("DEMO-7", "portability", "email", 4, 2, "received"),
    # received 40 days ago and never extended: overdue, deemed refused (R4)
    DemoRequest("DEMO-8", "access", "email", 40, 10, "verifying"),
]
OUTSIDER = ("Jordan Ellis", "jordan.ellis@mailbox.example")


def _intake(spec: DemoRequest, received: dt.datetime) -> RequestIn:
    if spec.person is None:
        name, email = OUTSIDER
    else:
        person = data.data_map()["subjects"][spec.person]
        name, email = person["display_name"], person["identifiers"][0]["value"]
    return RequestIn.model_validate(
        {
            "type": spec.type,
            "channel": spec.channel,
            "received_at": received,
            "requester_name": name,
            "requester_contact": email,
            "identifiers": [{"kind": "email", "value": email}],
            "request_text": f"Under PIPEDA I ask for {spec.type.replace('_', ' ')} of the "
            "personal information you hold about me.",
            "external_reference": spec.key,
            **spec.extra,
        }
    )


def _close_tasks(
    session: Session, request: PrivacyRequest, *, actor: Actor, now: dt.datetime
) -> None:
    for task in request.tasks:
        update = TaskUpdate(searched=True, found=task.holds_records, closed=True)
        requests.update_task(session, request.reference, task.id, update, actor=actor, now=now)


def _advance(
    session: Session, spec: DemoRequest, request: PrivacyRequest, *, actor: Actor, now: dt.datetime
) -> None:
    ref, received = request.reference, request.received_at
    if spec.stage == "verifying":
        requests.transition(session, ref, TransitionIn(to="verifying"), actor=actor, now=now)
        return
    if spec.stage == "received":
        return
    verified = VerificationIn(
        method="matched_known_contact",
        verified_at=received + DAY,
        note="Replied from the email on file.",
    )
    requests.verify(session, ref, verified, actor=actor, now=now)
    if spec.stage == "in_progress":
        first = request.tasks[0]
        update = TaskUpdate(searched=True, found=first.holds_records, closed=True)
        requests.update_task(session, ref, first.id, update, actor=actor, now=now)
    elif spec.stage == "extended":
        notice = ExtensionIn(
            reason="consultations_needed",
            new_due_at=request.original_due_at + dt.timedelta(days=30),
            notice_sent_at=received + dt.timedelta(days=23),
            notice_text="We need to consult our billing provider; we will answer by the new date. "
            "You may complain to the Privacy Commissioner of Canada about this extension.",
            opc_statement=True,
        )
        requests.extend(session, ref, notice, actor=actor, now=now)
    elif spec.stage == "completed":
        _close_tasks(session, request, actor=actor, now=now)
        requests.transition(
            session,
            ref,
            TransitionIn(to="completed", note="Access package sent."),
            actor=actor,
            now=now,
        )


def load(session: Session, *, now: dt.datetime, actor: Actor) -> int:
    """Open the demo requests that do not exist yet; returns how many were opened."""
    opened = 0
    for spec in DEMO:
        exists = select(PrivacyRequest.id).where(PrivacyRequest.external_reference == spec.key)
        if session.scalar(exists) is not None:
            continue
        received = (now - dt.timedelta(days=spec.days_ago)).replace(microsecond=0)
        request = requests.open_request(session, _intake(spec, received), actor=actor, now=now)
        _advance(session, spec, request, actor=actor, now=now)
        opened += 1
    return opened

"""The demo MSP's breach register: one breach with no real risk (kept all the same, R24), and
one at a Québec client with a real risk, reported to the OPC and the CAI, its people told.

Dated relative to ``now`` (the audit trail records it all at ``now``, when it was loaded);
loading twice adds nothing (the demo's breaches are found by title).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import Breach
from auditor.schemas.breaches import AssessmentIn, BreachIn, NotificationIn
from auditor.services import breaches
from auditor.services.context import Actor

DAY = dt.timedelta(days=1)
OFFICER = {
    "contact_name": "Morgan Privacy",
    "contact_title": "Privacy officer",
    "contact_email": "privacy@serveitpro.example",
    "contact_phone": "+1 613 555 0142",
}
ORGANIZATION = {"name": "ServeIT Pro", "contact": "privacy@serveitpro.example"}


def _with_contact(**fields: object) -> BreachIn:
    """A breach whose contact person (R26) is the demo's privacy officer."""
    return BreachIn.model_validate(fields | OFFICER)


def _misdirected(now: dt.datetime) -> BreachIn:
    return _with_contact(
        title="Invoice emailed to the wrong client",
        client="maple-logistics",
        occurred_from=(now - 40 * DAY).date(),
        discovered_at=now - 39 * DAY,
        determined_at=now - 38 * DAY,
        circumstances="A monthly invoice was sent to another client's accounts-payable address.",
        cause="The billing system suggested the wrong address book entry.",
        information="One invoice: the client's billing contact name and the services billed.",
        categories=["billing_records"],
        affected_count=1,
        mitigation="The recipient confirmed deletion in writing; address suggestions turned off.",
        notification_steps="The billing contact was told by phone the same day.",
    )


def _phishing(now: dt.datetime) -> BreachIn:
    return _with_contact(
        title="Help-desk mailbox opened after a phishing email",
        client="laurentide-avocats",
        occurred_from=(now - 21 * DAY).date(),
        occurred_to=(now - 20 * DAY).date(),
        discovered_at=now - 20 * DAY,
        determined_at=now - 19 * DAY,
        circumstances="A technician's mailbox was read from abroad for a day after a phishing "
        "email; it held tickets with the client's staff contact details.",
        cause="A password entered on a look-alike sign-in page; the account had no second factor.",
        information="Names, work phone numbers and email addresses of the client's staff, and "
        "the summaries of their support tickets.",
        categories=["personal_contact", "ticket_history"],
        affected_count=38,
        mitigation="Password reset, sessions revoked, a second factor enforced on every "
        "technician account.",
        notification_steps="A letter to each person affected, in French, with what to watch for.",
        individual_advice="Be wary of emails or calls that mention your support tickets and ask "
        "you to sign in, pay or open an attachment: we will never ask for your password. If "
        "you receive one, forward it to your IT contact and delete it.",
    )


def load(session: Session, *, now: dt.datetime, actor: Actor) -> None:
    titles = set(session.scalars(select(Breach.title)))
    first = _misdirected(now)
    if first.title not in titles:
        breach = breaches.record(session, first, actor=actor, now=now)
        breaches.assess(
            session,
            breach.reference,
            AssessmentIn(
                sensitivity="low",
                misuse_probability="low",
                rrosh=False,
                rationale="One business contact's name and the services billed, sent to a "
                "known client who confirmed deletion: no real risk of significant harm.",
            ),
            actor=actor,
            now=now,
        )
    second = _phishing(now)
    if second.title in titles:
        return
    breach = breaches.record(session, second, actor=actor, now=now)
    ref = breach.reference
    breaches.assess(
        session,
        ref,
        AssessmentIn(
            sensitivity="medium",
            misuse_probability="high",
            consequences="Targeted phishing of the firm's staff using real ticket context.",
            rrosh=True,
            rationale="The attacker read the tickets; contact details with that context make "
            "convincing phishing of a law firm's staff likely.",
        ),
        actor=actor,
        now=now,
    )
    for regulator in ("opc", "cai"):
        report = breaches.generate_report(
            session, ref, regulator=regulator, organization=ORGANIZATION, actor=actor, now=now
        )
        breaches.mark_sent(
            session, ref, regulator=regulator, version=report.version, sent_at=now, actor=actor,
            now=now,
        )  # fmt: skip
    told = NotificationIn(
        recipient="individuals", method="letter", sent_at=now - 15 * DAY, notified_count=38
    )
    breaches.notify(session, ref, told, actor=actor, now=now)

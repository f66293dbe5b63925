"""The breach register's services: retention dates (R25), disposal through the purge, and what
the register and Québec's register say (R26, R27)."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func, select

from auditor.models import Breach, BreachNotification, BreachReport, PurgeRun
from auditor.schemas.breaches import AssessmentIn, BreachIn, NotificationIn
from auditor.schemas.holds import HoldIn
from auditor.services import breaches, holds
from auditor.services.breaches import obligations, register
from auditor.services.breaches.notices import canonical, notifications_of
from auditor.services.context import Actor
from auditor.services.retention import breach_purge
from auditor.services.retention import verify as disposition_verify
from auditor.services.retention.plan import plan_disposition
from tests import factories
from tests.factories import retention as purge_factories

OFFICER = Actor(name="user:7", role="privacy_officer")
DETERMINED = dt.datetime(2024, 2, 29, 15, tzinfo=dt.UTC)


def _breach(session, *, client=None, determined=DETERMINED, **extra):
    data = BreachIn(
        title="Phishing of a help-desk account",
        occurred_from=determined.date() - dt.timedelta(days=3),
        discovered_at=determined - dt.timedelta(days=1),
        determined_at=determined,
        circumstances="A technician's mailbox was opened from abroad after a phishing email.",
        information="Work contact details of three clients' staff.",
        affected_count=120,
        mitigation="Password reset, MFA enforced, sessions revoked.",
        client=client,
        **extra,
    )
    return breaches.record(session, data, actor=OFFICER, now=determined + dt.timedelta(hours=2))


def test_retention_counts_calendar_months_from_the_determination():
    assert register.add_months(dt.date(2024, 2, 29), 24) == dt.date(2026, 2, 28)
    assert register.add_months(dt.date(2024, 2, 29), 60) == dt.date(2029, 2, 28)
    assert register.add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert register.add_months(dt.date(2025, 12, 15), 24) == dt.date(2027, 12, 15)


def test_undetermined_breaches_have_no_retention_end_until_determined(session, inventory):
    breach = _breach(session, determined=DETERMINED)
    assert breach.retain_until == dt.date(2026, 2, 28)
    breach = breaches.update(
        session, breach.reference, {"determined_at": None}, actor=OFFICER, now=DETERMINED
    )
    assert breach.retain_until is None
    assert obligations.outstanding(breach, [], [])[0].startswith("record when it was determined")


def test_the_purge_disposes_of_breaches_past_retention_and_proves_it(session, inventory, rules):
    old = _breach(session)  # retain until 2026-02-28
    quebec = _breach(session, client="qc-client")  # 5 years: 2029-02-28
    recent = _breach(session, determined=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))  # 2027-06-01
    breaches.notify(
        session,
        old.reference,
        NotificationIn(recipient="individuals", method="email", sent_at=DETERMINED),
        actor=OFFICER,
        now=DETERMINED + dt.timedelta(days=1),
    )
    held = _breach(session, determined=dt.datetime(2024, 1, 10, tzinfo=dt.UTC))
    holds.place_breach_hold(
        session,
        scope="system",
        value="siem",
        breach_reference=held.reference,
        actor=OFFICER,
        now=DETERMINED,
    )
    session.commit()
    refs = old.reference, quebec.reference, recent.reference, held.reference
    result = purge_factories.run_purge(session)

    remaining = set(session.scalars(select(Breach.reference)))
    assert remaining == {quebec.reference, recent.reference, held.reference}
    assert session.scalar(select(func.count()).select_from(BreachNotification)) == 0
    assert result.status == "completed"
    lines = purge_factories.dispositions(session, subject_type="breach")
    assert [line.subject_ref for line in lines] == [refs[0]]
    [line] = lines
    assert line.category == "breach_register"
    assert line.method == "delete" and line.run_id == result.run_id
    evidence = line.trigger_evidence
    assert evidence["due_on"] == "2026-02-28" and evidence["determined_on"] == "2024-02-29"
    assert evidence["basis"].startswith("R25") and evidence["quebec"] is False
    # the disposition rows are committed to the audit log like every other
    assert disposition_verify.verify(session).problems == []


def test_a_hold_on_the_breachs_client_keeps_it(session, inventory, rules):
    breach = _breach(session, client="acme")
    holds.place(
        session,
        HoldIn(scope="client", value="acme", reason="Litigation with the client"),
        actor=OFFICER,
        now=DETERMINED,
    )
    session.commit()
    purge_factories.run_purge(session)
    assert session.scalar(select(Breach.reference)) == breach.reference
    found = breach_purge.dispose_due(
        session,
        as_of=factories.AS_OF,
        actor=OFFICER,
        run_id=None,
        digest_key=factories.DIGEST_KEY,
        now=factories.NOW,
        holds_in_force=1,
    )
    assert found.disposed == [] and list(found.held) == [breach.reference]


def test_quebec_register_needs_the_assessment_and_both_notices_when_at_risk(session, inventory):
    breach = _breach(session, client="qc-client")
    assert breach.quebec
    assert obligations.register_missing(breach) == ["risk_assessment", "notices"]
    breaches.assess(
        session,
        breach.reference,
        AssessmentIn(
            sensitivity="high",
            misuse_probability="medium",
            consequences="Targeted phishing of the staff named.",
            rrosh=True,
            rationale="Contact details with context make phishing credible.",
        ),
        actor=OFFICER,
        now=DETERMINED + dt.timedelta(days=1),
    )
    assert obligations.register_missing(breach) == ["notices"]
    for recipient in ("cai", "individuals"):
        breaches.notify(
            session,
            breach.reference,
            NotificationIn(recipient=recipient, method="email", sent_at=DETERMINED),
            actor=OFFICER,
            now=DETERMINED + dt.timedelta(days=2),
        )
    told = notifications_of(session, breach)
    assert obligations.register_missing(breach, told) == []
    fields = obligations.register_fields(breach, told)
    assert fields["notices"]["commission"] == "2024-02-29T15:00:00.000000Z"
    assert fields["became_aware"] == "2024-02-28T15:00:00.000000Z"
    assert obligations.outstanding(breach, told, []) == [
        "report it to the Office of the Privacy Commissioner of Canada (R26)"
    ]


def test_report_versions_are_numbered_per_regulator(session, inventory):
    breach = _breach(
        session,
        notification_steps="Letters by mail.",
        contact_name="Dana Officer",
        contact_phone="+1 613 555 0100",
    )
    org = {"name": "ServeIT Pro", "contact": "privacy@serveit.example", "privacy_officer": None}
    at = DETERMINED + dt.timedelta(days=3)
    versions = [
        breaches.generate_report(
            session, breach.reference, regulator=regulator, organization=org, actor=OFFICER, now=at
        )
        for regulator in ("opc", "opc", "cai")
    ]
    assert [(r.regulator, r.version) for r in versions] == [("opc", 1), ("opc", 2), ("cai", 1)]
    first = versions[0]
    assert first.content["kind"] == "initial" and versions[1].content["kind"] == "update"
    assert first.content["fields"]["contact_person"]["phone"] == "+1 613 555 0100"
    assert first.content_sha256 == hashlib.sha256(canonical(first.content)).hexdigest()
    assert session.scalar(select(func.count()).select_from(BreachReport)) == 3


def test_the_plan_shows_breaches_due_and_held_as_the_run_then_does(session, inventory, rules):
    old = _breach(session)
    held = _breach(session, client="acme", determined=dt.datetime(2024, 1, 10, tzinfo=dt.UTC))
    hold = holds.place_breach_hold(
        session,
        scope="client",
        value="acme",
        breach_reference=held.reference,
        actor=OFFICER,
        now=DETERMINED,
    )
    session.commit()
    report = plan_disposition(session, as_of=factories.AS_OF)
    assert report.to_dict()["breaches"] == [
        {
            "reference": old.reference,
            "client": None,
            "retain_until": "2026-02-28",
            "status": "due",
            "holds": [],
        },
        {
            "reference": held.reference,
            "client": "acme",
            "retain_until": "2026-01-10",
            "status": "held",
            "holds": [hold.id],
        },
    ]
    result = purge_factories.run_purge(session)
    assert result.breaches == {"disposed": [old.reference], "held": {held.reference: [hold.id]}}
    run = session.get(PurgeRun, result.run_id)
    assert run.counts["breaches"] == {"disposed": 1, "held": 1}

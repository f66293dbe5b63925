"""The disposition dry run: due per rule and client, holds, events, per-record rules, billing,
credentials (R16), review and batching."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from auditor.models import Agreement
from auditor.schemas.holds import HoldIn
from auditor.services import holds
from auditor.services.retention import plan as retention_plan
from auditor.services.retention import rules as retention_rules
from retention import Period, RecordDate, Rule, Trigger
from tests import factories
from tests.factories import (
    AS_OF,
    NOW,
    OFFICER,
    at,
    handover,
    old_record,
    sealed_secret,
    terminated_client,
)


def test_plan_lists_due_records_per_rule_and_per_client(session, inventory, rules, beta):
    old = old_record(session)
    old_beta = old_record(session, client="beta")
    recent = old_record(session, closed_at=at(2025, 3, 1))
    log = old_record(session, category="security_logs", system="siem")
    open_ticket = old_record(session, closed_at=None)
    report = retention_plan.plan_disposition(session, as_of=AS_OF)
    data = report.to_dict()
    assert data["records_checked"] == 5
    assert data["due_count"] == 3
    assert data["due_by_rule"] == [
        {
            "rule": "security_logs",
            "version": 1,
            "action": "delete",
            "count": 1,
            "record_ids": [log.id],
            "record_ids_truncated": False,
        },
        {
            "rule": "ticket_history",
            "version": 1,
            "action": "delete",
            "count": 2,
            "record_ids": [old.id, old_beta.id],
            "record_ids_truncated": False,
        },
    ]
    by_client = {g["client"]: (g["count"], g["record_ids"]) for g in data["due_by_client"]}
    assert by_client == {"acme": (2, [old.id, log.id]), "beta": (1, [old_beta.id])}
    assert data["not_yet_due"] == {"count": 1, "next_due_on": "2032-03-01"}
    assert all(recent.id not in g["record_ids"] for g in data["due_by_rule"])
    assert data["not_computable"] == [
        {
            "reason": "rule ticket_history v1: closed_at missing",
            "rule": "ticket_history",
            "version": 1,
            "count": 1,
            "record_ids": [open_ticket.id],
            "record_ids_truncated": False,
        }
    ]


def test_plan_cites_the_current_rule_version(session, inventory, rules):
    record = old_record(session, closed_at=at(2015, 6, 1))
    assert (
        retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()["due_by_rule"][0]["version"]
        == 1
    )
    retention_rules.revise_rule(session, "ticket_history", {"period": {"years": 12}}, actor=OFFICER)
    data = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()
    assert data["due_by_rule"] == []
    assert data["not_yet_due"] == {"count": 1, "next_due_on": "2027-06-01"}
    retention_rules.revise_rule(session, "ticket_history", {"period": {"years": 5}}, actor=OFFICER)
    group = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()["due_by_rule"][0]
    assert (group["rule"], group["version"], group["record_ids"]) == (
        "ticket_history",
        3,
        [record.id],
    )


def test_hold_blocks_covered_records_and_the_plan_names_it(session, inventory, rules, beta):
    held = old_record(session)
    free = old_record(session, client="beta")
    hold = holds.place(
        session,
        HoldIn(scope="client", value="acme", reason="Litigation"),  # type: ignore[call-arg]
        actor=OFFICER,
        now=NOW - dt.timedelta(days=1),
    )
    data = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()
    assert data["blocked"] == [
        {
            "reason": "hold",
            "hold_ids": [str(hold.id)],
            "rule": "ticket_history",
            "version": 1,
            "count": 1,
            "record_ids": [held.id],
            "record_ids_truncated": False,
        }
    ]
    assert data["due_by_rule"][0]["record_ids"] == [free.id]


def test_event_rule_not_computable_before_termination_and_due_after(session, inventory, rules):
    record = old_record(session, category="business_technical")
    data = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()
    assert data["not_computable"][0]["reason"] == (
        "rule business_technical v1: event agreement_terminated not recorded"
    )
    assert data["not_computable"][0]["record_ids"] == [record.id]
    agreement = session.scalar(select(Agreement).where(Agreement.reference == "msa-1"))
    agreement.status, agreement.termination_date = "terminated", dt.date(2026, 6, 1)
    session.flush()
    soon = retention_plan.plan_disposition(session, as_of=dt.date(2026, 8, 29)).to_dict()
    assert soon["not_yet_due"] == {"count": 1, "next_due_on": "2026-08-30"}
    due = retention_plan.plan_disposition(session, as_of=dt.date(2026, 8, 30)).to_dict()
    assert due["due_by_rule"][0]["rule"] == "business_technical"
    assert due["due_by_rule"][0]["record_ids"] == [record.id]


def test_per_record_rule_replaces_the_category_default(session, inventory, rules):
    retention_rules.create_rule(
        session,
        Rule(
            id="ticket_short",
            category="ticket_history",
            trigger=Trigger.TIME,
            date_field=RecordDate.CLOSED_AT,
            period=Period(years=1),
        ),
        actor=OFFICER,
    )
    special = old_record(session, closed_at=at(2025, 1, 1), retention_rule="ticket_short")
    normal = old_record(session, closed_at=at(2025, 1, 1))
    missing = old_record(session, retention_rule="gone")
    data = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()
    assert [(g["rule"], g["record_ids"]) for g in data["due_by_rule"]] == [
        ("ticket_short", [special.id])
    ]
    assert data["not_yet_due"]["count"] == 1
    assert normal.id not in data["due_by_rule"][0]["record_ids"]
    assert data["not_computable"][0]["reason"] == "per-record rule gone not found"
    assert data["not_computable"][0]["record_ids"] == [missing.id]


def test_billing_due_date_follows_a_revised_fiscal_year_end(session, inventory, rules):
    invoice = old_record(
        session,
        category="billing_records",
        system="billing",
        document_date=dt.date(2019, 6, 15),
        event_at=at(2020, 2, 15),  # the last related transaction
    )
    as_of = dt.date(2026, 7, 1)
    data = retention_plan.plan_disposition(session, as_of=as_of).to_dict()
    assert data["due_by_rule"] == []
    assert data["not_yet_due"] == {"count": 1, "next_due_on": "2026-12-31"}
    retention_rules.revise_rule(
        session, "billing_records", {"fiscal_year_end": "03-31"}, actor=OFFICER
    )
    group = retention_plan.plan_disposition(session, as_of=as_of).to_dict()["due_by_rule"][0]
    assert (group["rule"], group["version"], group["record_ids"]) == (
        "billing_records",
        2,
        [invoice.id],
    )


def test_review_required_rule_reports_due_records_as_pending_review(session, inventory, rules):
    record = old_record(session)
    retention_rules.revise_rule(session, "ticket_history", {"requires_review": True}, actor=OFFICER)
    data = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()
    assert data["due_by_rule"] == []
    assert data["blocked"][0]["reason"] == "pending review"
    assert data["blocked"][0]["record_ids"] == [record.id]
    assert data["blocked"][0]["version"] == 2


def test_credentials_need_an_acknowledged_handover(session, inventory, rules):
    org = terminated_client(session)
    sealed_secret(session, organization=org)

    def status(as_of=AS_OF):
        (only,) = retention_plan.plan_disposition(session, as_of=as_of).to_dict()["credentials"]
        return only["client"], only["status"], only["reason"], only["due_on"]

    assert status(dt.date(2026, 10, 1)) == (
        "harbour",
        "not_yet_due",
        "retention period running",
        "2026-10-30",
    )
    assert status() == ("harbour", "blocked", "hand-over missing", "2026-10-30")
    handover(session, organization=org)
    assert status()[1:3] == ("blocked", "hand-over not acknowledged")
    acknowledged = handover(session, organization=org, acknowledged_at=at(2026, 10, 2))
    assert status()[1:3] == ("ready", f"acknowledged hand-over {acknowledged.id}")


def test_plan_reads_records_in_bounded_batches(session, inventory, rules, batch_sizes):
    made = [old_record(session) for _ in range(10)]
    report = retention_plan.plan_disposition(session, as_of=AS_OF, batch=3, ids_cap=4)
    assert batch_sizes == [3, 3, 3, 1]
    group = report.to_dict()["due_by_rule"][0]
    assert group["count"] == 10
    assert group["record_ids"] == [r.id for r in made[:4]]
    assert group["record_ids_truncated"] is True


def test_consent_withdrawal_starts_the_marketing_rule(session, inventory, rules):
    from auditor.models import Consent, Purpose, record_subject

    person = factories.subject(session)
    record = old_record(session, category="marketing_contacts")
    session.execute(record_subject.insert().values(record_id=record.id, subject_id=person.id))
    marketing = session.scalar(select(Purpose).where(Purpose.code == "marketing"))
    consent = Consent(
        subject_id=person.id,
        purpose_id=marketing.id,
        given_at=at(2024),
        method="web_form",
        text_version="v1",
    )
    session.add(consent)
    session.flush()
    data = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()
    assert data["not_computable"][0]["reason"].endswith("event consent_withdrawn not recorded")
    consent.withdrawn_at = at(2026, 10, 1)
    session.flush()
    data = retention_plan.plan_disposition(session, as_of=AS_OF).to_dict()
    assert data["due_by_rule"][0]["rule"] == "marketing_contacts"
    assert data["due_by_rule"][0]["record_ids"] == [record.id]

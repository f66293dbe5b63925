"""Retention holds (R19): placing on each scope, release, filters, audit, R9/R28 and the engine."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent
from auditor.schemas.holds import HoldIn
from auditor.services import holds
from auditor.services.context import Actor
from auditor.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from auditor.services.retention import holds as hold_policy
from retention import Outcome, Period, RecordDate, RecordFacts, Rule, Trigger, decide
from tests import factories
from tests.factories import NOW, OFFICER, TECH

TICKETS = Rule(
    id="tickets",
    category="ticket_history",
    trigger=Trigger.TIME,
    date_field=RecordDate.CLOSED_AT,
    period=Period(years=7),
)


def place(session, scope, value, **extra):
    data = HoldIn(scope=scope, value=value, reason="Litigation with the landlord", **extra)
    return holds.place(session, data, actor=OFFICER, now=NOW)


def events(session, action):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    ).all()


@pytest.mark.parametrize(
    ("scope", "value"),
    [("client", "acme"), ("system", "siem"), ("category", "security_logs")],
)
def test_place_on_a_coded_scope_records_who_when_and_why(session, inventory, scope, value):
    hold = place(session, scope, value, reference="matter-12")
    assert (hold.kind, hold.scope, hold.scope_value) == ("legal", scope, value)
    assert (hold.created_by, hold.placed_at, hold.reference) == ("user:7", NOW, "matter-12")
    assert hold.reason == "Litigation with the landlord"
    assert hold.until is None and hold.released_at is None
    assert holds.to_out(hold, now=NOW).status == "active"


def test_place_on_a_subject_and_a_record(session, inventory):
    subject = factories.subject(session, email="pat@example.com", organization="acme")
    record = factories.old_record(session)
    by_subject = place(session, "subject", subject.ref)
    by_record = place(session, "record", f" {record.id} ")
    assert by_subject.scope_value == subject.ref
    assert by_record.scope_value == str(record.id)
    [first, second] = events(session, "hold.place")
    assert first.organization_id == inventory.client.id  # the subject's organization
    assert second.organization_id == inventory.client.id  # the record's


@pytest.mark.parametrize(
    ("scope", "value", "message"),
    [
        ("subject", "sub_nobody", "no data subject with that ref"),
        ("client", "nobody", "no organization with that code"),
        ("system", "nobody", "no system with that code"),
        ("category", "nobody", "no data category with that code"),
        ("record", "999999", "no record with that id"),
        ("record", "T-1", "no record with that id"),
    ],
)
def test_unknown_scope_value_is_refused(session, inventory, scope, value, message):
    with pytest.raises(ValidationFailed) as info:
        place(session, scope, value)
    assert [(e.field, e.message) for e in info.value.errors] == [("value", message)]
    assert value not in info.value.detail
    assert events(session, "hold.place") == []


def test_reason_is_required(session, inventory):
    with pytest.raises(ValidationFailed) as info:
        holds.place_breach_hold(
            session, scope="system", value="siem", breach_reference=" ", actor=OFFICER
        )
    assert info.value.errors[0].field == "breach_reference"
    hold = place(session, "client", "acme")
    with pytest.raises(ValidationFailed) as info:
        holds.release(session, hold.id, reason="   ", actor=OFFICER)
    assert info.value.errors[0].field == "reason"
    assert hold.released_at is None


def test_release_records_who_when_and_why_and_happens_once(session, inventory):
    hold = place(session, "client", "acme", reference="matter-12")
    later = NOW + dt.timedelta(days=3)
    released = holds.release(
        session, hold.id, reason="Settled out of court", actor=OFFICER, now=later
    )
    assert (released.released_at, released.released_by) == (later, "user:7")
    assert released.release_reason == "Settled out of court"
    assert holds.to_out(released, now=later).status == "released"
    with pytest.raises(Conflict, match="already released"):
        holds.release(session, hold.id, reason="again", actor=OFFICER, now=later)
    assert len(events(session, "hold.release")) == 1


def test_release_of_an_unknown_hold_is_not_found(session):
    with pytest.raises(NotFound):
        holds.release(session, 999999, reason="x", actor=OFFICER)


def test_audit_events_name_kind_scope_and_reference_but_no_personal_data(session, inventory):
    subject = factories.subject(session, email="amelie@acme.example", name="Amélie Tremblay")
    hold = place(session, "subject", subject.ref, reference="matter-12")
    holds.release(session, hold.id, reason="Amélie withdrew the claim", actor=OFFICER, now=NOW)
    [placed] = events(session, "hold.place")
    [released] = events(session, "hold.release")
    assert placed.actor == "user:7" and placed.object_type == "retention_hold"
    assert placed.object_id == str(hold.id)
    assert placed.details == {
        "kind": "legal",
        "scope": "subject",
        "value": subject.ref,
        "reference": "matter-12",
        "until": None,
        "open_ended": False,
    }
    assert released.details == placed.details
    for event in (placed, released):
        text = str(event.details)
        assert "amelie" not in text.lower() and "Tremblay" not in text
        assert "Litigation" not in text and "withdrew" not in text  # reasons stay in the hold


def test_list_filters_by_status_kind_scope_and_reference(session, inventory):
    legal = place(session, "client", "acme", reference="matter-12")
    breach = holds.place_breach_hold(
        session, scope="system", value="siem", breach_reference="BR-2026-01", actor=OFFICER, now=NOW
    )
    old = place(session, "category", "security_logs")
    holds.release(session, old.id, reason="Audit closed", actor=OFFICER, now=NOW)
    ids = lambda **f: [h.id for h in holds.list_holds(session, now=NOW, **f)]  # noqa: E731
    assert ids(status="active") == [legal.id, breach.id]
    assert ids(status="released") == [old.id]
    assert ids(kind="breach") == [breach.id]
    assert ids(scope="client", value="acme") == [legal.id]
    assert ids(reference="BR-2026-01") == [breach.id]
    assert ids(after=legal.id, limit=1) == [breach.id]


def test_recourse_hold_lasts_six_months_after_the_later_of_response_and_due(session, inventory):
    subject = factories.subject(session, organization="acme")
    hold = holds.place_recourse_hold(
        session,
        subject_ref=subject.ref,
        request_reference="REQ-1",
        due_at=dt.date(2026, 12, 22),
        responded_at=dt.date(2027, 1, 10),  # responded late: the later date counts
        actor=Actor.system("requests"),
        now=NOW,
    )
    assert (hold.kind, hold.scope, hold.scope_value) == ("recourse", "subject", subject.ref)
    assert hold.until == dt.date(2027, 7, 10) and not hold.open_ended
    assert hold.reference == "REQ-1" and "REQ-1" in hold.reason
    assert events(session, "hold.place")[-1].details["until"] == "2027-07-10"
    with pytest.raises(Conflict):
        holds.place_recourse_hold(
            session, subject_ref=subject.ref, request_reference="REQ-1", due_at=NOW, actor=OFFICER
        )


def test_recourse_hold_is_recomputed_when_the_request_changes(session, inventory):
    subject = factories.subject(session)
    hold = holds.place_recourse_hold(
        session, subject_ref=subject.ref, request_reference="REQ-2", due_at=dt.date(2026, 12, 22),
        actor=OFFICER, now=NOW,
    )  # fmt: skip
    assert hold.until is None and not hold.open_ended  # no end while unanswered
    holds.update_recourse_hold(
        session, request_reference="REQ-2", due_at=dt.date(2026, 12, 22),
        responded_at=dt.date(2026, 12, 1), actor=OFFICER, now=NOW,
    )  # fmt: skip
    assert hold.until == dt.date(2027, 6, 22)  # the due date is later than the response
    holds.update_recourse_hold(
        session, request_reference="REQ-2", due_at=dt.date(2026, 12, 22),
        responded_at=dt.date(2026, 12, 1), complaint=True, actor=OFFICER, now=NOW,
    )  # fmt: skip
    assert hold.open_ended
    assert len(events(session, "hold.update")) == 2
    assert holds.to_out(hold, now=NOW + dt.timedelta(days=3650)).status == "active"


def test_lapsed_recourse_hold_is_neither_active_nor_released(session, inventory):
    subject = factories.subject(session)
    hold = holds.place_recourse_hold(
        session, subject_ref=subject.ref, request_reference="REQ-3", due_at=dt.date(2026, 12, 1),
        responded_at=dt.date(2026, 11, 30), actor=OFFICER, now=NOW,
    )  # fmt: skip
    later = dt.datetime(2027, 6, 2, tzinfo=dt.UTC)
    assert holds.to_out(hold, now=later).status == "lapsed"
    assert [h.id for h in holds.list_holds(session, status="lapsed", now=later)] == [hold.id]
    assert holds.list_holds(session, status="active", now=later) == []


def test_recourse_hold_is_released_only_by_an_officer_with_a_reason(session, inventory):
    subject = factories.subject(session)
    hold = holds.place_recourse_hold(
        session, subject_ref=subject.ref, request_reference="REQ-4", due_at=dt.date(2026, 12, 22),
        responded_at=dt.date(2026, 12, 1), actor=OFFICER, now=NOW,
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        holds.release(session, hold.id, reason="done", actor=TECH, now=NOW)
    holds.release(session, hold.id, reason="Individual confirmed no complaint", actor=OFFICER)
    assert hold.released_by == "user:7"
    assert events(session, "hold.release")[-1].details["early"] is True


def test_breach_hold_on_security_logs_blocks_their_purge(session, inventory):
    hold = holds.place_breach_hold(
        session,
        scope="category",
        value="security_logs",
        breach_reference="BR-2026-01",
        actor=OFFICER,
        now=NOW,
    )
    assert (hold.kind, hold.reference) == ("breach", "BR-2026-01")
    assert "BR-2026-01" in hold.reason
    logs = Rule(
        id="logs",
        category="security_logs",
        trigger=Trigger.TIME,
        date_field=RecordDate.CREATED_AT,
        period=Period(days=90),
    )
    facts = RecordFacts(id="1", category="security_logs", created_at=dt.date(2026, 1, 1))
    decision = decide(facts, logs, holds=hold_policy.engine_holds(session), as_of=NOW.date())
    assert decision.outcome is Outcome.BLOCKED and decision.hold_ids == (str(hold.id),)


def facts_of(record, subject_ids=()):
    return RecordFacts(
        id=str(record.id),
        category="ticket_history",
        client_id=str(record.organization_id),
        system_id=str(record.system_id),
        subject_ids=frozenset(str(i) for i in subject_ids),
        closed_at=record.closed_at,
    )


@pytest.mark.parametrize("scope", ["subject", "client", "system", "category", "record"])
def test_engine_holds_block_a_covered_record(session, inventory, scope):
    subject = factories.subject(session)
    record = factories.old_record(session)
    other = factories.old_record(session, external_id="T-2", category="billing_records")
    value = {
        "subject": subject.ref,
        "client": "acme",
        "system": "psa",
        "category": "ticket_history",
        "record": str(record.id),
    }[scope]
    hold = place(session, scope, value)
    facts = facts_of(record, [subject.id])
    assert decide(facts, TICKETS, as_of=NOW.date()).outcome is Outcome.DUE
    found = hold_policy.holds_for_facts(session, facts)
    assert [h.id for h in found] == [str(hold.id)]
    decision = decide(facts, TICKETS, holds=found, as_of=NOW.date())
    assert decision.outcome is Outcome.BLOCKED and decision.hold_ids == (str(hold.id),)
    uncovered = RecordFacts(
        id=str(other.id), category="billing_records", client_id=str(inventory.msp.id),
        system_id=str(inventory.billing.id),
    )  # fmt: skip
    assert hold_policy.holds_for_facts(session, uncovered) == []


def test_released_hold_blocks_through_its_release_day_only(session, inventory):
    record = factories.old_record(session)
    hold = place(session, "record", str(record.id))
    holds.release(session, hold.id, reason="Matter closed", actor=OFFICER, now=NOW)
    facts = facts_of(record)
    assert hold_policy.holds_for_facts(session, facts) == []  # unreleased only by default
    on_the_day = hold_policy.holds_for_facts(session, facts, as_of=NOW.date())
    assert decide(facts, TICKETS, holds=on_the_day, as_of=NOW.date()).outcome is Outcome.BLOCKED
    next_day = NOW.date() + dt.timedelta(days=1)
    assert hold_policy.holds_for_facts(session, facts, as_of=next_day) == []


def test_hold_on_a_deleted_subject_covers_nothing(session, inventory):
    subject = factories.subject(session)
    place(session, "subject", subject.ref)
    session.delete(subject)
    session.flush()
    assert hold_policy.engine_holds(session) == []

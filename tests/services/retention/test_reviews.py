"""Disposition review batches: opened once per rule version for the records waiting for a review,
decided by an officer with a justification, and honoured by the purge."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from auditor.models import AuditEvent, DispositionReview, DispositionReviewItem, Record
from auditor.schemas.holds import HoldIn
from auditor.services import holds
from auditor.services.context import Actor
from auditor.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from auditor.services.retention import reviews
from auditor.services.retention import rules as retention_rules
from tests.factories import AS_OF, NOW, OFFICER, TECH, dispositions, ingest, new_ticket, old_ticket
from tests.factories import run_purge as run

OPENER = Actor.system("retention.purge")


def open_now(session, **kwargs):
    opened = reviews.open_review_batches(session, as_of=AS_OF, actor=OPENER, now=NOW, **kwargs)
    session.commit()
    return opened


def decide(session, review_id, decision="approve", **kwargs):
    options = {"justification": "Retention period over", "actor": OFFICER, "now": NOW}
    done = reviews.decide_review(session, review_id, decision=decision, **(options | kwargs))
    session.commit()
    return done


def item_ids(session, review_id):
    return reviews.review_items(session, review_id, limit=10_000)


def review_events(session, action):
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    return session.scalars(query).all()


def test_open_batches_puts_waiting_records_in_one_batch_per_rule_version(session, reviewed_rules):
    ids = ingest(
        session,
        old_ticket(external_id="T-1"),
        old_ticket(external_id="T-2"),
        new_ticket(external_id="T-3"),
    )
    (batch,) = open_now(session)
    assert (batch.rule, batch.rule_version, batch.status) == ("ticket_history", 2, "open")
    assert batch.item_count == 2 and batch.created_by == "system:retention.purge"
    assert batch.created_at == NOW and batch.decided_by is None
    assert item_ids(session, batch.id) == [ids["T-1"], ids["T-2"]]  # not the one not yet due
    (event,) = review_events(session, "retention.review_open")
    assert event.object_type == "disposition_review" and event.object_id == str(batch.id)
    assert event.details == {"rule": "ticket_history", "version": 2, "item_count": 2}
    assert event.actor == "system:retention.purge"


def test_open_batches_twice_opens_nothing_new(session, reviewed_rules):
    ingest(session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2"))
    assert len(open_now(session)) == 1
    assert open_now(session) == []
    assert session.scalar(select(func.count()).select_from(DispositionReview)) == 1
    assert session.scalar(select(func.count()).select_from(DispositionReviewItem)) == 2
    assert len(review_events(session, "retention.review_open")) == 1


def test_open_batches_splits_large_batches_and_inserts_in_chunks(
    session, reviewed_rules, monkeypatch
):
    monkeypatch.setattr(reviews, "INSERT_CHUNK", 2)
    monkeypatch.setattr(reviews, "READ_BATCH", 3)
    ids = ingest(
        session, *(old_ticket(external_id=f"T-{n}", email=f"p{n}@example.com") for n in range(7))
    )
    opened = open_now(session, max_items=3)
    assert [b.item_count for b in opened] == [3, 3, 1]
    found = [i for b in opened for i in item_ids(session, b.id)]
    assert found == sorted(ids.values())
    events = review_events(session, "retention.review_open")
    assert [e.details["item_count"] for e in events] == [3, 3, 1]


def test_open_batches_leaves_held_and_unreviewed_records_alone(session, rules):
    ingest(session, old_ticket(external_id="T-1"))
    assert open_now(session) == []  # no rule requires review
    retention_rules.revise_rule(session, "ticket_history", {"requires_review": True}, actor=OFFICER)
    holds.place(
        session, HoldIn(scope="category", value="ticket_history", reason="Audit"), actor=OFFICER
    )
    session.commit()
    assert open_now(session) == []  # a hold beats everything, a review included


def test_open_batches_refuses_a_future_day(session, reviewed_rules):
    with pytest.raises(ValidationFailed) as caught:
        reviews.open_review_batches(
            session, as_of=AS_OF + dt.timedelta(days=1), actor=OPENER, now=NOW
        )
    assert [e.field for e in caught.value.errors] == ["as_of"]


def test_decide_approve_records_who_when_why_and_audits(session, reviewed_rules):
    ingest(session, old_ticket(external_id="T-1"))
    (batch,) = open_now(session)
    decided = decide(session, batch.id, justification="  Seven years are over  ")
    assert decided.status == "approved" and decided.decided_by == "user:7"
    assert decided.decided_at == NOW and decided.justification == "Seven years are over"
    assert decided.extend_until is None and decided.transfer_reference is None
    (event,) = review_events(session, "retention.review_decide")
    assert event.actor == "user:7" and event.object_id == str(batch.id)
    assert event.details == {
        "decision": "approve",
        "status": "approved",
        "rule": "ticket_history",
        "version": 2,
        "item_count": 1,
        "extend_until": None,
        "transfer_reference": None,
    }
    assert "Seven" not in str(event.details)  # the free text stays out of the audit trail


def test_decide_extend_and_reject(session, reviewed_rules):
    ingest(
        session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2", email="o@example.com")
    )
    (first,) = open_now(session, max_items=1)[:1]
    second = reviews.list_reviews(session, status="open")[-1]
    until = AS_OF + dt.timedelta(days=30)
    extended = decide(session, first.id, "extend", extend_until=until)
    assert (extended.status, extended.extend_until) == ("extended", until)
    rejected = decide(session, second.id, "reject")
    assert rejected.status == "rejected" and rejected.extend_until is None
    details = [e.details["decision"] for e in review_events(session, "retention.review_decide")]
    assert details == ["extend", "reject"]


@pytest.mark.parametrize(
    ("decision", "fields", "errors"),
    [
        ("approve", {"justification": "   "}, ["justification"]),
        ("approve", {"justification": "x" * 2001}, ["justification"]),
        ("approve", {"extend_until": dt.date(2027, 1, 1)}, ["extend_until"]),
        ("extend", {}, ["extend_until"]),
        ("extend", {"extend_until": AS_OF}, ["extend_until"]),
        ("reject", {"transfer_reference": "Box 12"}, ["transfer_reference"]),
        ("destroy", {"justification": ""}, ["justification", "decision"]),
    ],
)
def test_decide_refuses_invalid_decisions_and_changes_nothing(
    session, reviewed_rules, decision, fields, errors
):
    ingest(session, old_ticket(external_id="T-1"))
    (batch,) = open_now(session)
    with pytest.raises(ValidationFailed) as caught:
        decide(session, batch.id, decision, **fields)
    assert sorted(e.field for e in caught.value.errors) == sorted(errors)
    session.rollback()
    assert reviews.get_review(session, batch.id).status == "open"
    assert review_events(session, "retention.review_decide") == []


def test_only_an_open_batch_is_decided_and_only_by_an_officer(session, reviewed_rules):
    ingest(session, old_ticket(external_id="T-1"))
    (batch,) = open_now(session)
    with pytest.raises(PermissionDenied):
        decide(session, batch.id, actor=Actor.system("retention.purge"))
    with pytest.raises(PermissionDenied):
        decide(session, batch.id, actor=TECH)
    with pytest.raises(NotFound):
        decide(session, 999_999)
    decide(session, batch.id, "reject")
    with pytest.raises(Conflict) as caught:
        decide(session, batch.id)
    assert caught.value.detail == "The review batch is already decided (rejected)."


def test_transfer_then_delete_needs_a_transfer_reference_to_approve(session, transfer_rules):
    ids = ingest(session, old_ticket(external_id="T-1"))
    (batch,) = open_now(session)
    with pytest.raises(ValidationFailed) as caught:
        decide(session, batch.id)
    assert [e.field for e in caught.value.errors] == ["transfer_reference"]
    decide(session, batch.id, transfer_reference="Archives box 12, signed receipt")
    result = run(session)
    assert result.disposed == 1 and session.get(Record, ids["T-1"]) is None
    (row,) = dispositions(session, subject_type="record")
    assert row.method == "transfer_then_delete" and row.review_id == batch.id
    assert row.trigger_evidence["transfer_reference"] == "Archives box 12, signed receipt"


def test_a_revised_rule_version_needs_a_new_batch(session, reviewed_rules):
    ids = ingest(session, old_ticket(external_id="T-1"))
    (old,) = open_now(session)
    retention_rules.revise_rule(session, "ticket_history", {"period": {"years": 8}}, actor=OFFICER)
    session.commit()
    with pytest.raises(Conflict):
        decide(session, old.id)  # the purge would ignore it: v3 governs now
    (new,) = open_now(session)
    assert (new.rule_version, item_ids(session, new.id)) == (3, [ids["T-1"]])
    assert decide(session, old.id, "reject").status == "rejected"  # closing the stale batch


def test_purge_honours_each_decision(session, reviewed_rules):
    ids = ingest(
        session,
        old_ticket(external_id="T-1"),
        old_ticket(external_id="T-2", email="b@example.com"),
        old_ticket(external_id="T-3", email="c@example.com"),
    )
    assert run(session).blocked == {"pending review": 3}
    approve, extend, reject = open_now(session, max_items=1)
    decide(session, approve.id)
    until = AS_OF + dt.timedelta(days=10)
    decide(session, extend.id, "extend", extend_until=until)
    decide(session, reject.id, "reject")
    result = run(session)
    assert result.disposed == 1 and result.blocked == {"review rejected": 1}
    (row,) = dispositions(session, subject_type="record")
    assert (int(row.subject_ref), row.approver, row.review_id) == (ids["T-1"], "user:7", approve.id)
    assert reviews.review_counts(session, approve) == {"items": 1, "remaining": 0, "disposed": 1}
    assert reviews.review_counts(session, reject) == {"items": 1, "remaining": 1, "disposed": 0}
    # nothing new to batch while the extension runs and for the rejected record
    assert open_now(session) == []
    later = until + dt.timedelta(days=1)
    later_now = NOW + dt.timedelta(days=11)
    assert run(session, as_of=later, now=lambda: later_now).blocked == {
        "pending review": 1,
        "review rejected": 1,
    }
    (again,) = reviews.open_review_batches(session, as_of=later, actor=OPENER, now=later_now)
    assert item_ids(session, again.id) == [ids["T-2"]]  # the extension ran out: decide again


def test_list_reviews_filters_and_pages(session, reviewed_rules):
    ingest(
        session, *(old_ticket(external_id=f"T-{n}", email=f"p{n}@example.com") for n in range(3))
    )
    first, second, third = open_now(session, max_items=1)
    decide(session, second.id, "reject")
    assert [r.id for r in reviews.list_reviews(session, status="open")] == [first.id, third.id]
    assert [r.id for r in reviews.list_reviews(session, limit=2)] == [first.id, second.id]
    assert [r.id for r in reviews.list_reviews(session, after=second.id)] == [third.id]
    assert reviews.list_reviews(session, status="approved") == []
    with pytest.raises(NotFound):
        reviews.get_review(session, 999_999)


def test_detail_lists_the_first_record_ids(session, reviewed_rules):
    ids = ingest(
        session, *(old_ticket(external_id=f"T-{n}", email=f"p{n}@example.com") for n in range(3))
    )
    (batch,) = open_now(session)
    out = reviews.review_detail(session, batch.id, first=2)
    assert out.record_ids == sorted(ids.values())[:2] and out.record_ids_truncated
    assert out.counts.model_dump() == {"items": 3, "remaining": 3, "disposed": 0}
    assert reviews.review_items(session, batch.id, after=out.record_ids[-1]) == [max(ids.values())]


@pytest.mark.postgres
def test_openers_are_serialised_until_the_transaction_ends(session, reviewed_rules, engine):
    """A second opener (the scheduler while an officer opens) waits instead of batching twice."""
    reviews.open_review_batches(session, as_of=AS_OF, actor=OPENER, now=NOW)  # not committed yet
    probe = text("SELECT pg_try_advisory_xact_lock(:key)")
    with engine.connect() as other:
        assert other.scalar(probe, {"key": reviews._PG_LOCK_KEY}) is False
        other.rollback()

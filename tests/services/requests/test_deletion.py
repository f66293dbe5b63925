"""Deletion requests (R12): what is deleted through the purge's disposer, what is kept with its
basis and date, holds (the request's own recourse hold ignored, every other one respected), the
subject's removal (R21), re-runs, and the guards."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import inspect, select, text

from auditor.models import (
    AuditEvent,
    Consent,
    DataSubject,
    Hold,
    PrivacyRequest,
    PurgeRun,
    Record,
    RequestItem,
    RetentionRule,
)
from auditor.schemas.holds import HoldIn
from auditor.schemas.requests import TransitionIn
from auditor.services import holds
from auditor.services.errors import Conflict, IdentityNotVerified, NotFound
from auditor.services.requests import deletion as request_deletion
from auditor.services.requests import workflow
from auditor.services.retention.batch import subject_digest
from tests.factories import (
    DIGEST_KEY,
    EMAIL,
    NOW,
    OFFICER,
    assert_no_personal_data,
    close_tasks,
    dispositions,
    events,
    open_request,
    person,
    request_for,
    subject_record,
    verify,
)

UTC = dt.UTC


def execute(session, request, **kwargs):
    return request_deletion.execute_deletion(
        session, request, actor=OFFICER, digest_key=DIGEST_KEY, now=NOW, **kwargs
    )


def mixed_records(session, subject):
    """Four records nothing requires any more and four that something still does."""
    return {
        "old_ticket": subject_record(
            session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC)
        ),
        "old_invoice": subject_record(
            session,
            subject=subject,
            category="billing_records",
            system="billing",
            created_at=dt.datetime(2015, 6, 1, tzinfo=UTC),
            document_date=dt.date(2015, 6, 1),
        ),
        "contact": subject_record(
            session,
            subject=subject,
            category="personal_contact",
            created_at=dt.datetime(2024, 1, 1, tzinfo=UTC),
        ),
        "marketing": subject_record(
            session,
            subject=subject,
            category="marketing_contacts",
            created_at=dt.datetime(2025, 10, 18, tzinfo=UTC),
        ),
        "recent_ticket": subject_record(
            session,
            subject=subject,
            created_at=dt.datetime(2025, 1, 10, tzinfo=UTC),
            closed_at=dt.datetime(2025, 2, 1, tzinfo=UTC),
        ),
        "invoice": subject_record(
            session,
            subject=subject,
            category="billing_records",
            system="billing",
            created_at=dt.datetime(2020, 3, 1, tzinfo=UTC),
            document_date=dt.date(2020, 3, 1),
        ),
        "log": subject_record(
            session,
            subject=subject,
            category="security_logs",
            system="siem",
            created_at=NOW - dt.timedelta(30),
        ),
        "held": subject_record(
            session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC)
        ),
    }


def test_deletion_deletes_what_nothing_requires_and_keeps_the_rest(session, rules):
    subject = person(session, marketing=True)
    ids = {name: r.id for name, r in mixed_records(session, subject).items()}
    hold = holds.place(
        session,
        HoldIn(kind="legal", scope="record", value=str(ids["held"]), reason="Litigation"),
        actor=OFFICER,
        now=NOW - dt.timedelta(days=1),
    )
    request = request_for(session, subject=subject, type="deletion")
    session.commit()

    result = execute(session, request)

    deleted = {"old_ticket", "old_invoice", "contact", "marketing"}
    assert sorted(i.record_id for i in result.deleted) == sorted(ids[n] for n in deleted)
    for name in deleted:
        assert session.get(Record, ids[name]) is None
    kept = {item.record_id: item for item in result.kept}
    assert set(kept) == {ids[n] for n in ("recent_ticket", "invoice", "log", "held")}
    assert kept[ids["recent_ticket"]].basis.startswith("Legitimate business purpose")
    assert kept[ids["recent_ticket"]].dispose_on == dt.date(2032, 2, 1)
    assert kept[ids["invoice"]].basis == "CRA billing retention (R17)"
    assert kept[ids["invoice"]].dispose_on == dt.date(2027, 3, 1)
    assert kept[ids["log"]].basis.startswith("Safeguards")
    assert kept[ids["log"]].dispose_on == (NOW - dt.timedelta(30)).date() + dt.timedelta(365)
    assert kept[ids["held"]].basis == f"legal hold {hold.id}"
    assert kept[ids["held"]].hold_ids == [str(hold.id)]
    assert kept[ids["held"]].dispose_on is None
    for record_id in kept:
        assert session.get(Record, record_id) is not None

    # the dispositions cite the request, under a run of trigger "request" with a certificate
    run = session.get(PurgeRun, result.run_id)
    assert (run.trigger, run.status, run.counts["request"]) == (
        "request",
        "completed",
        request.reference,
    )
    rows = dispositions(session, run_id=run.id)
    assert {int(r.subject_ref) for r in rows} == {ids[n] for n in deleted}
    for row in rows:
        assert row.trigger_evidence["request"] == request.reference
        assert row.trigger_evidence["basis"] == "deletion request (R12)"
        assert row.post_check == "record absent after delete"
    assert run.certificate["dispositions"]["count"] == 4
    assert run.certificate["run"]["trigger"] == "request"

    # the request's items say the same; the subject stays (records are kept), consent withdrawn
    items = session.scalars(
        select(RequestItem).where(RequestItem.request_id == request.id).order_by(RequestItem.id)
    ).all()
    by_kind = {k: [i for i in items if i.kind == k] for k in ("deleted", "kept", "withdrawn")}
    assert {i.record_id: i.disposition_id for i in by_kind["deleted"]} == {
        int(r.subject_ref): r.id for r in rows
    }
    assert {i.record_id for i in by_kind["kept"]} == set(kept)
    assert [i.category for i in by_kind["withdrawn"]] == ["marketing"]
    assert result.consents_withdrawn == 1 and not result.subject_removed
    consent = session.scalars(select(Consent).where(Consent.subject_id == subject.id)).one()
    assert consent.withdrawn_at == NOW and consent.evidence == "form submission 2025-10-18"
    assert session.get(DataSubject, subject.id) is not None

    deletion = events(session, "request.deletion")[-1]
    assert deletion.details == {
        "run": run.id,
        "subject": subject.ref,
        "deleted": 4,
        "kept": 4,
        "consents_withdrawn": 1,
        "subject_removed": False,
    }
    assert_no_personal_data(events(session, ""), "printer")


def test_deletion_ignores_its_own_recourse_hold_but_not_another_requests(session, rules):
    subject = person(session)
    old = subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    request = request_for(session, subject=subject, type="deletion")
    own = session.scalars(select(Hold).where(Hold.reference == request.reference)).one()
    assert own.scope_value == subject.ref
    session.commit()

    earlier = request_for(session, subject=subject, type="access")  # its recourse hold still runs
    other = session.scalars(select(Hold).where(Hold.reference == earlier.reference)).one()
    session.commit()
    result = execute(session, request)
    assert result.deleted == []
    (item,) = result.kept
    assert (item.record_id, item.basis, item.hold_ids) == (
        old.id,
        f"recourse hold {other.id}",
        [str(other.id)],
    )
    assert item.dispose_on is None  # the other request is still open: its hold has no end yet
    assert session.get(Record, old.id) is not None

    session.get(Hold, other.id).released_at = NOW  # released today: still blocks today
    session.commit()
    assert execute(session, request).kept[0].hold_ids == [str(other.id)]


def test_a_hold_on_the_subject_keeps_everything_and_the_subject(session, rules):
    subject = person(session)
    old = subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    legal = holds.place(
        session,
        HoldIn(kind="legal", scope="subject", value=subject.ref, reason="Claim"),
        actor=OFFICER,
        now=NOW - dt.timedelta(days=2),
    )
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    result = execute(session, request)
    assert [(i.record_id, i.basis) for i in result.kept] == [(old.id, f"legal hold {legal.id}")]
    assert not result.subject_removed
    assert session.get(DataSubject, subject.id) is not None


def r21_leftovers(session, connection, *needles):
    """Tables where a needle still occurs, the request file (privacy_request, request_document:
    kept per R9, it holds the requester's name and contact) left out."""
    found = set()
    for table in inspect(connection).get_table_names():
        if table in ("privacy_request", "request_document"):
            continue
        for row in session.execute(text(f'SELECT * FROM "{table}"')):
            blob = json.dumps([str(v) for v in row], ensure_ascii=False).lower()
            if any(needle in blob for needle in needles):
                found.add(table)
    return found


@pytest.mark.parametrize("marketing", [False, True], ids=["orphan", "with-consent"])
def test_nothing_of_the_person_remains_when_nothing_is_kept(session, rules, connection, marketing):
    """R21: the name and email occur nowhere but in the request file, except as keyed digests;
    the request's subject link is nulled, its own recourse hold stays and covers nothing."""
    subject = person(session, marketing=marketing)
    ref, subject_id = subject.ref, subject.id
    subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    subject_record(
        session, subject=subject, category="personal_contact", content={"name": "Amélie Tremblay"}
    )
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    assert r21_leftovers(session, connection, "amélie", "tremblay")  # before: everywhere

    result = execute(session, request)

    assert result.subject_removed and len(result.deleted) == 2 and result.kept == []
    assert session.get(DataSubject, subject_id) is None
    assert r21_leftovers(session, connection, "amélie", "tremblay", EMAIL) == set()
    (row,) = dispositions(session, subject_type="data_subject")
    assert row.subject_ref == ref and row.run_id == result.run_id
    assert row.digest == subject_digest(DIGEST_KEY, [f"email:{EMAIL}"], "Amélie Tremblay")
    stored = session.get(PrivacyRequest, request.id)
    assert stored.subject_id is None and stored.requester_name == "Amélie Tremblay"
    own = session.scalars(select(Hold).where(Hold.reference == request.reference)).one()
    assert (own.scope_value, own.released_at) == (ref, None)
    assert events(session, "request.deletion")[-1].details["subject_removed"] is True


def test_a_subject_without_records_is_removed_too(session, rules, connection):
    subject = person(session, marketing=True)
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    result = execute(session, request)
    assert result.subject_removed and result.deleted == [] and result.consents_withdrawn == 1
    assert session.get(DataSubject, subject.id) is None
    assert request.subject is None
    assert r21_leftovers(session, connection, "tremblay", EMAIL) == set()


def test_deletion_runs_again_without_listing_anything_twice(session, rules):
    subject = person(session)
    mixed_records(session, subject)
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    first = execute(session, request)
    second = execute(session, request)
    assert len(first.deleted) == 5 and second.deleted == []  # no hold here: 5
    assert [i.record_id for i in second.kept] == [i.record_id for i in first.kept]
    kinds = session.scalars(
        select(RequestItem.kind).where(RequestItem.request_id == request.id)
    ).all()
    assert (kinds.count("deleted"), kinds.count("kept")) == (5, 3)
    assert session.scalars(select(PurgeRun.status).where(PurgeRun.trigger == "request")).all() == [
        "completed",
        "completed",
    ]


def test_the_dry_run_lists_the_same_and_changes_nothing(session, rules):
    subject = person(session, marketing=True)
    mixed_records(session, subject)
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    before = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    plan = request_deletion.plan_deletion(session, request, now=NOW)
    assert plan.dry_run and plan.run_id is None and plan.consents_withdrawn == 1
    assert session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == before
    assert session.scalars(select(PurgeRun)).all() == []
    done = execute(session, request)
    assert [i.record_id for i in plan.deleted] == [i.record_id for i in done.deleted]
    assert [(i.record_id, i.basis) for i in plan.kept] == [
        (i.record_id, i.basis) for i in done.kept
    ]


def test_deletion_needs_a_verified_deletion_request_with_a_subject(session, rules):
    subject = person(session)
    subject_record(session, subject=subject)
    unverified = request_for(session, subject=subject, type="deletion", verified=False)
    with pytest.raises(IdentityNotVerified):
        execute(session, unverified)
    access = request_for(session, subject=subject, type="access")
    with pytest.raises(Conflict, match="access request"):
        execute(session, access)
    nobody = open_request(session, type="deletion", identifiers=[])
    verify(session, nobody)
    with pytest.raises(Conflict, match="not linked"):
        execute(session, nobody)
    with pytest.raises(NotFound):
        execute(session, "PR-1999-00001")
    assert session.scalars(select(PurgeRun)).all() == []


def test_a_rule_that_cannot_be_read_stops_the_deletion_before_anything_changes(session, rules):
    subject = person(session)
    old = subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    subject_record(session, subject=subject, category="personal_contact")
    request = request_for(session, subject=subject, type="deletion")
    session.execute(
        RetentionRule.__table__.update()
        .where(RetentionRule.code == "personal_contact")
        .values(definition={"type": "rule", "trigger": "sometimes"})
    )
    session.commit()
    with pytest.raises(Conflict, match="no usable retention rule"):
        execute(session, request)
    with pytest.raises(Conflict, match="no usable retention rule"):
        request_deletion.plan_deletion(session, request, now=NOW)
    assert session.get(Record, old.id) is not None
    assert session.scalars(select(PurgeRun)).all() == []
    assert session.scalars(select(RequestItem)).all() == []


def test_the_request_is_answered_after_its_subject_is_removed(session, rules):
    """The request's file outlives the subject: its tasks close, it is completed, and its own
    recourse hold gets its end date (covering nothing: the subject is gone)."""
    subject = person(session)
    subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    assert execute(session, request).subject_removed
    close_tasks(session, request)
    workflow.transition(
        session, request.reference, TransitionIn(to="completed"), actor=OFFICER, now=NOW
    )
    own = session.scalars(select(Hold).where(Hold.reference == request.reference)).one()
    assert own.until == dt.date(2027, 6, 19)  # due date (19 December) + 6 months
    assert request.status == "completed" and request.subject_id is None

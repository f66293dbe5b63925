"""Correction requests (R10, R11): the old value kept, the third parties to notify, record
content corrected with its digest, rejections leaving a dispute note; no values in the audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import DisputeNote, Record, RequestCorrection, RequestItem, SubjectIdentifier
from auditor.schemas.subjects import IdentifierIn
from auditor.services import subjects
from auditor.services.errors import Conflict, IdentityNotVerified, NotFound, ValidationFailed
from auditor.services.ingest import content_digest
from auditor.services.requests import corrections
from tests.factories import (
    EMAIL,
    NAME,
    NOW,
    OFFICER,
    assert_no_personal_data,
    events,
    person,
    request_for,
    subject_record,
)


@pytest.fixture
def subject(session, inventory):
    return person(session)


def correct(session, request, **kwargs):
    return corrections.apply_correction(session, request, actor=OFFICER, now=NOW, **kwargs)


def test_correcting_the_name_keeps_the_old_value_and_lists_third_parties(session, subject):
    subject_record(session, subject=subject, category="personal_contact", content={"name": NAME})
    request = request_for(session, subject=subject, type="correction")
    correction = correct(session, request, field="display_name", new_value="Amélie Tremblay-Roy")
    assert subject.display_name == "Amélie Tremblay-Roy"
    stored = session.get(RequestCorrection, correction.id)
    assert (stored.status, stored.old_value, stored.new_value) == (
        "applied",
        NAME,
        "Amélie Tremblay-Roy",
    )
    assert [p["code"] for p in stored.third_parties] == ["dell", "microsoft"]
    assert stored.third_parties[0]["categories"] == ["personal_contact"]
    assert stored.third_parties[0]["purposes"] == ["procurement"]
    (item,) = session.scalars(select(RequestItem).where(RequestItem.request_id == request.id))
    assert (item.kind, item.note, item.record_id) == ("corrected", "display_name", None)
    (event,) = events(session, "request.correction")
    assert event.details == {
        "status": "applied",
        "correction": correction.id,
        "field": "display_name",
        "record": None,
        "subject": subject.ref,
        "third_parties": ["dell", "microsoft"],
    }
    assert_no_personal_data(events(session), "roy")


def test_correcting_an_email_stores_it_normalised(session, subject):
    request = request_for(session, subject=subject, type="correction")
    correction = correct(session, request, field="email", new_value=" Amelie.Roy@Acme.Example ")
    assert correction.old_value == EMAIL and correction.new_value == "amelie.roy@acme.example"
    assert [i.value for i in subject.identifiers] == ["amelie.roy@acme.example"]
    assert correction.third_parties == []  # no record of a disclosed category


def test_several_emails_need_the_one_to_correct(session, subject):
    subjects.add_identifier(
        session, subject.ref, IdentifierIn(kind="email", value="a.t@home.example"), actor=OFFICER
    )
    request = request_for(session, subject=subject, type="correction")
    with pytest.raises(ValidationFailed) as error:
        correct(session, request, field="email", new_value="x@y.example")
    assert error.value.errors[0].message == "use email[1] to email[2]"
    correction = correct(session, request, field="email[2]", new_value="a.tremblay@home.example")
    assert correction.old_value == "a.t@home.example"
    values = session.scalars(
        select(SubjectIdentifier.value)
        .where(SubjectIdentifier.subject_id == subject.id)
        .order_by(SubjectIdentifier.id)
    ).all()
    assert values == [EMAIL, "a.tremblay@home.example"]


def test_an_email_of_someone_else_is_a_conflict(session, subject):
    person(session, email="taken@acme.example", name="Other")
    request = request_for(session, subject=subject, type="correction")
    with pytest.raises(Conflict, match="another subject"):
        correct(session, request, field="email", new_value="taken@acme.example")
    assert [i.value for i in subject.identifiers] == [EMAIL]


def test_correcting_record_content_updates_the_digest(session, subject):
    invoice = subject_record(
        session,
        subject=subject,
        category="payment_data",
        system="billing",
        content={"billing": {"address": "1 Rue Old", "city": "Laval"}},
    )
    request = request_for(session, subject=subject, type="correction")
    correction = correct(
        session, request, field="billing.address", new_value="12 Rue New", record_id=invoice.id
    )
    row = session.get(Record, invoice.id)
    assert row.content == {"billing": {"address": "12 Rue New", "city": "Laval"}}
    assert row.content_digest == content_digest(row.content)
    assert (correction.old_value, correction.record_id) == ("1 Rue Old", invoice.id)
    assert [p["code"] for p in correction.third_parties] == ["payment_gateway"]
    item = session.scalars(select(RequestItem).where(RequestItem.request_id == request.id)).one()
    assert (item.record_id, item.category, item.system, item.note) == (
        invoice.id,
        "payment_data",
        "billing",
        f"record {invoice.id}: billing.address",
    )


@pytest.mark.parametrize(
    ("field", "value", "record_id", "error"),
    [
        ("summary", "4111 1111 1111 1111", "own", ValidationFailed),
        ("nowhere.summary", "x", "own", ValidationFailed),
        ("summary", "x", "other", NotFound),
        ("birthday", "x", None, ValidationFailed),
        ("display_name", NAME, None, ValidationFailed),
        ("display_name", " ", None, ValidationFailed),
    ],
    ids=["card-number", "no-such-path", "not-theirs", "unknown-field", "same-value", "empty"],
)
def test_bad_corrections_change_nothing(session, subject, field, value, record_id, error):
    own = subject_record(session, subject=subject)
    other = subject_record(session, subject=person(session, email="o@acme.example", name="Other"))
    ids = {"own": own.id, "other": other.id, None: None}
    request = request_for(session, subject=subject, type="correction")
    with pytest.raises(error):
        correct(session, request, field=field, new_value=value, record_id=ids[record_id])
    session.rollback()
    assert session.scalars(select(RequestCorrection)).all() == []


def test_corrections_need_a_verified_correction_request(session, subject):
    unverified = request_for(session, subject=subject, type="correction", verified=False)
    with pytest.raises(IdentityNotVerified):
        correct(session, unverified, field="display_name", new_value="X")
    deletion = request_for(session, subject=subject, type="deletion")
    with pytest.raises(Conflict, match="deletion request"):
        correct(session, deletion, field="display_name", new_value="X")


def test_a_rejected_correction_leaves_a_dispute_note(session, subject):
    ticket = subject_record(session, subject=subject, content={"diagnosis": "User error"})
    request = request_for(session, subject=subject, type="correction")
    correction = corrections.reject_correction(
        session,
        request,
        field="diagnosis",
        record_id=ticket.id,
        reason="The diagnosis is the technician's professional opinion.",
        statement="The printer was faulty; it was not my error.",
        requested_value="Hardware fault",
        actor=OFFICER,
        now=NOW,
    )
    assert session.get(Record, ticket.id).content == {"diagnosis": "User error"}
    assert (correction.status, correction.old_value, correction.new_value) == (
        "rejected",
        "User error",
        "Hardware fault",
    )
    note = session.scalars(select(DisputeNote)).one()
    assert (note.subject_id, note.request_id, note.field) == (
        subject.id,
        request.id,
        f"record {ticket.id}: diagnosis",
    )
    assert note.statement == "The printer was faulty; it was not my error."
    assert corrections.dispute_statement(session, correction) == note.statement
    (event,) = events(session, "request.correction")
    assert event.details["status"] == "rejected" and event.details["dispute_note"] == note.id
    assert_no_personal_data(events(session), "printer", "faulty", "professional")
    out = corrections.correction_out(correction, statement=note.statement)
    assert out["statement"] == note.statement and out["third_parties_to_notify"] == []
    assert out["decided_at"] == NOW.isoformat()


def test_a_rejection_needs_a_reason_and_a_statement(session, subject):
    request = request_for(session, subject=subject, type="correction")
    for reason, statement in (("", "mine"), ("why", " ")):
        with pytest.raises(ValidationFailed):
            corrections.reject_correction(
                session,
                request,
                field="display_name",
                reason=reason,
                statement=statement,
                actor=OFFICER,
                now=NOW + dt.timedelta(minutes=1),
            )
    assert session.scalars(select(DisputeNote)).all() == []

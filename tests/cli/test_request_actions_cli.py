"""`auditor requests correct|reject-correction|delete|withdraw-consent|letter|marketing-export`:
each does its work and says so; bad input exits 1 with a message and writes nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from auditor.db import utcnow
from auditor.models import (
    AuditEvent,
    Consent,
    DataSubject,
    DisputeNote,
    PurgeRun,
    Record,
    RequestCorrection,
    RequestItem,
)
from tests.factories import (
    EMAIL,
    default_rules,
    pdf_text,
    person,
    request_for,
    subject_record,
)

UTC = dt.UTC


def make_request(session, subject, type_, *, verified=True):
    """A request about ``subject`` received three days ago by the app's clock (the real one)."""
    request = request_for(session, subject=subject, type=type_, verified=verified, now=utcnow())
    session.commit()
    return request


def failed(result, message):
    assert result.exit_code == 1, result.output
    assert f"Error: {message}" in result.output


@pytest.fixture
def subject(session, inventory):
    return person(session, marketing=True)


def test_correct_and_reject(runner, session, subject):
    subject_record(
        session, subject=subject, category="personal_contact", content={"name": "Amélie"}
    )
    ref = make_request(session, subject, "correction").reference
    done = runner.invoke(
        args=["requests", "correct", ref, "--field", "display_name", "--value", "Amélie Roy"]
    )
    assert done.exit_code == 0, done.output
    assert "applied: display_name" in done.output
    assert "notify Dell Technologies (personal_contact)" in done.output
    session.expire_all()
    assert session.get(DataSubject, subject.id).display_name == "Amélie Roy"

    rejected = runner.invoke(
        args=["requests", "reject-correction", ref, "--field", "email", "--reason", "Verified",
              "--statement", "My address is another one.", "--requested", "a@b.example"]
    )  # fmt: skip
    assert rejected.exit_code == 0, rejected.output
    assert "rejected: email" in rejected.output
    assert session.scalars(select(DisputeNote.statement)).all() == ["My address is another one."]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--field", "shoe_size", "--value", "9"], "Unknown field of a data subject."),
        (["--field", "email", "--value", "nope"], "Invalid email address."),
        (
            ["--field", "summary", "--value", "x", "--record", "999999"],
            "The subject of the request",
        ),
    ],
    ids=["unknown-field", "bad-email", "unknown-record"],
)
def test_a_bad_correction_exits_1_and_writes_nothing(runner, session, subject, args, message):
    ref = make_request(session, subject, "correction").reference
    result = runner.invoke(args=["requests", "correct", ref, *args])
    failed(result, message)
    assert session.scalars(select(RequestCorrection)).all() == []
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "request.correction")).all()
        == []
    )


def test_delete_is_a_dry_run_without_yes(runner, session, subject):
    default_rules(session)
    old = subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    old_id = old.id
    invoice = subject_record(
        session,
        subject=subject,
        category="billing_records",
        system="billing",
        created_at=utcnow() - dt.timedelta(days=100),
        document_date=(utcnow() - dt.timedelta(days=100)).date(),
    )
    ref = make_request(session, subject, "deletion").reference

    dry = runner.invoke(args=["requests", "delete", ref])
    assert dry.exit_code == 0, dry.output
    assert f"Dry run for {ref}: 1 record(s) would be deleted, 1 kept" in dry.output
    assert f"delete record {old_id} ticket_history (psa)" in dry.output
    assert (
        f"keep   record {invoice.id} billing_records (billing): CRA billing retention" in dry.output
    )
    assert "Nothing was changed" in dry.output
    assert session.scalars(select(PurgeRun)).all() == []

    done = runner.invoke(args=["requests", "delete", ref, "--yes"])
    assert done.exit_code == 0, done.output
    assert "1 record(s) deleted, 1 kept; marketing consents withdrawn: 1" in done.output
    session.expire_all()
    assert session.get(Record, old_id) is None and session.get(Record, invoice.id) is not None
    run = session.scalars(select(PurgeRun)).one()
    assert run.trigger == "request" and run.executor == runner.actor


def test_delete_refuses_an_unverified_request(runner, session, subject):
    default_rules(session)
    subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    ref = make_request(session, subject, "deletion", verified=False).reference
    failed(runner.invoke(args=["requests", "delete", ref, "--yes"]), "The identity")
    assert session.scalars(select(PurgeRun)).all() == []
    assert len(session.scalars(select(Record)).all()) == 1


def test_withdraw_consent_with_an_effective_date(runner, session, subject):
    ref = make_request(session, subject, "consent_withdrawal").reference
    bad = runner.invoke(
        args=["requests", "withdraw-consent", ref, "--purpose", "marketing", "--effective", "soon"]
    )
    failed(bad, "--effective is not a date.")
    assert session.scalars(select(Consent.withdrawn_at)).all() == [None]
    assert session.scalars(select(RequestItem)).all() == []

    day = (utcnow() - dt.timedelta(days=2)).date()
    done = runner.invoke(
        args=["requests", "withdraw-consent", ref, "--purpose", "marketing", "--effective",
              day.isoformat()]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (
        f"consent to marketing withdrawn, effective {day.isoformat()}T00:00:00+00:00" in done.output
    )
    assert "no longer use your information to send you newsletters" in done.output
    session.expire_all()
    withdrawn = session.scalars(select(Consent.withdrawn_at)).one()
    assert withdrawn == dt.datetime.combine(day, dt.time(), tzinfo=UTC)

    listed = runner.invoke(args=["requests", "marketing-export", "--format", "csv"])
    assert listed.exit_code == 0 and listed.output == "subject,email\n"
    earlier = runner.invoke(
        args=["requests", "marketing-export", "--as-of", (day - dt.timedelta(days=1)).isoformat()]
    )
    assert json.loads(earlier.output) == [{"subject": subject.ref, "emails": [EMAIL]}]


def test_letter_writes_a_pdf_or_nothing(runner, session, subject, tmp_path):
    ref = make_request(session, subject, "consent_withdrawal").reference
    target = tmp_path / "letter.pdf"
    early = runner.invoke(
        args=["requests", "letter", ref, "withdrawal-confirmation", "-o", str(target)]
    )
    failed(early, "No consent was withdrawn for the request yet.")
    assert not target.exists()
    assert (
        runner.invoke(
            args=["requests", "withdraw-consent", ref, "--purpose", "marketing"]
        ).exit_code
        == 0
    )

    done = runner.invoke(
        args=["requests", "letter", ref, "withdrawal-confirmation", "-o", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert f"withdrawal-confirmation of {ref} written to {target}" in done.output
    text = " ".join(pdf_text(target.read_bytes()).split())
    assert "Your consent is withdrawn" in text and ref in text
    assert "Privacy Commissioner of Canada" in text
    unknown = runner.invoke(args=["requests", "letter", ref, "poem", "-o", str(target)])
    assert unknown.exit_code == 2  # click refuses an unknown kind before anything runs

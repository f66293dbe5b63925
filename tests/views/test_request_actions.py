"""The endpoints of what requests do: corrections and rejections, the deletion (confirmed, with
its dispositions, kept items, holds), consent withdrawals, the letters (PDF, or problem+json
when they do not apply yet) and the marketing export; no personal data in the audit events."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.db import utcnow
from auditor.models import (
    AuditEvent,
    Consent,
    DataSubject,
    DisputeNote,
    Hold,
    PurgeRun,
    Record,
    RequestItem,
)
from auditor.schemas.holds import HoldIn
from auditor.services import holds, retention
from tests import factories
from tests.factories import (
    EMAIL,
    OFFICER,
    assert_no_personal_data,
    attached_json,
    default_rules,
    events,
    pdf_text,
    person,
    request_for,
    subject_record,
)
from tests.factories import assert_problem as problem

BASE = "/api/v1/requests"
UTC = dt.UTC


@pytest.fixture
def officer_headers(auth):
    return auth("privacy_officer")


def make_request(session, subject, type_, *, verified=True):
    """A request about ``subject`` received three days ago by the app's clock (the real one)."""
    request = request_for(session, subject=subject, type=type_, verified=verified, now=utcnow())
    session.commit()
    return request


def test_a_correction_is_applied_and_returns_the_third_parties(
    client, officer_headers, session, inventory
):
    subject = person(session)
    subject_record(
        session, subject=subject, category="personal_contact", content={"name": "Amélie"}
    )
    request = make_request(session, subject, "correction")
    response = client.post(
        f"{BASE}/{request.reference}/corrections",
        headers=officer_headers,
        json={"field": "display_name", "new_value": "Amélie Roy"},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["old_value"], body["new_value"]) == (
        "applied",
        "Amélie Tremblay",
        "Amélie Roy",
    )
    assert [p["name"] for p in body["third_parties_to_notify"]] == [
        "Dell Technologies",
        "Microsoft Corporation",
    ]
    session.expire_all()
    assert session.get(DataSubject, subject.id).display_name == "Amélie Roy"
    assert_no_personal_data(events(session), "roy")


def test_a_rejected_correction_leaves_a_dispute_note(client, officer_headers, session, inventory):
    subject = person(session)
    request = make_request(session, subject, "correction")
    response = client.post(
        f"{BASE}/{request.reference}/corrections/reject",
        headers=officer_headers,
        json={
            "field": "display_name",
            "reason": "Matches the signed contract.",
            "statement": "My legal name is Amélie Roy.",
        },
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["statement"] == "My legal name is Amélie Roy."
    note = session.scalars(select(DisputeNote)).one()
    assert (note.field, note.subject_id) == ("display_name", subject.id)


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"field": "display_name"}, 422, "validation-failed"),
        ({"field": "shoe_size", "new_value": "9"}, 422, "validation-failed"),
        ({"field": "summary", "new_value": "x", "record_id": 999999}, 404, "not-found"),
        ({"field": "email", "new_value": "not an email"}, 422, "validation-failed"),
    ],
    ids=["no-value", "unknown-field", "unknown-record", "bad-email"],
)
def test_bad_corrections_are_problems(
    client, officer_headers, session, inventory, body, status, slug
):
    subject = person(session)
    request = make_request(session, subject, "correction")
    response = client.post(
        f"{BASE}/{request.reference}/corrections", headers=officer_headers, json=body
    )
    problem(response, status, slug)


def test_nothing_is_corrected_before_the_identity_is_verified(
    client, officer_headers, session, inventory
):
    subject = person(session)
    request = make_request(session, subject, "correction", verified=False)
    response = client.post(
        f"{BASE}/{request.reference}/corrections",
        headers=officer_headers,
        json={"field": "display_name", "new_value": "X"},
    )
    problem(response, 409, "identity-not-verified")
    assert session.get(DataSubject, subject.id).display_name == "Amélie Tremblay"
    response = client.post(
        f"{BASE}/PR-1999-00001/corrections",
        headers=officer_headers,
        json={"field": "display_name", "new_value": "X"},
    )
    problem(response, 404, "not-found")


def test_the_deletion_needs_confirmation_then_deletes_and_keeps(
    client, officer_headers, session, inventory
):
    default_rules(session)
    subject = person(session, marketing=True)
    old = subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    kept = subject_record(
        session,
        subject=subject,
        category="billing_records",
        system="billing",
        created_at=utcnow() - dt.timedelta(days=400),
        document_date=(utcnow() - dt.timedelta(days=400)).date(),
    )
    held = subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    old_id = old.id
    legal = holds.place(
        session,
        HoldIn(kind="legal", scope="record", value=str(held.id), reason="Claim"),
        actor=OFFICER,
    )
    request = make_request(session, subject, "deletion")
    own = session.scalars(select(Hold).where(Hold.reference == request.reference)).one()
    url = f"{BASE}/{request.reference}/deletion"

    for body in ({}, {"confirm": False}):
        problem(client.post(url, headers=officer_headers, json=body), 422, "validation-failed")
    assert session.get(Record, old.id) is not None

    preview = client.get(url, headers=officer_headers)
    assert preview.status_code == 200 and preview.get_json()["dry_run"] is True
    assert [i["record_id"] for i in preview.get_json()["deleted"]] == [old.id]
    assert session.scalars(select(PurgeRun)).all() == []

    response = client.post(url, headers=officer_headers, json={"confirm": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [i["record_id"] for i in body["deleted"]] == [old.id]
    assert {i["record_id"]: i["basis"] for i in body["kept"]} == {
        kept.id: "CRA billing retention (R17)",
        held.id: f"legal hold {legal.id}",
    }
    assert body["consents_withdrawn"] == 1 and body["subject_removed"] is False
    session.expire_all()
    assert session.get(Record, old_id) is None
    assert session.get(Record, kept.id) is not None and session.get(Record, held.id) is not None
    (disposition,) = factories.dispositions(session, subject_type="record")
    assert disposition.subject_ref == str(old_id)
    assert disposition.trigger_evidence["request"] == request.reference
    assert disposition.trigger_evidence["basis"] == "deletion request (R12)"
    # the request's own recourse hold was left out; the legal hold was checked (and kept its record)
    in_force = session.get(AuditEvent, disposition.audit_seq).details["holds_in_force"]
    assert str(legal.id) in in_force and str(own.id) not in in_force
    run = session.get(PurgeRun, body["run_id"])
    cert = retention.run_certificate(session, run, digest_key_id="-")
    assert run.trigger == "request" and cert["audit"]["checkpoint"] is not None
    items = session.scalars(select(RequestItem).where(RequestItem.request_id == request.id)).all()
    assert sorted(i.kind for i in items) == ["deleted", "kept", "kept", "withdrawn"]
    assert session.scalars(select(Consent.withdrawn_at)).one() is not None
    assert_no_personal_data(events(session, ""), "printer", "claim")

    report = client.get(
        f"{BASE}/{request.reference}/letters/deletion-report.pdf", headers=officer_headers
    )
    assert report.status_code == 200 and report.content_type == "application/pdf"
    assert report.headers["Content-Disposition"] == (
        f'attachment; filename="{request.reference}-deletion-report.pdf"'
    )
    text = " ".join(pdf_text(report.data).split())
    assert "What we deleted" in text and "CRA billing retention (R17)" in text
    data = attached_json(report.data, f"{request.reference}-deletion-report.json")
    assert data["deletion_report"]["run_id"] == run.id
    # the deletion signed a checkpoint covering the request: the letter cites it
    assert data["audit"]["checkpoint"]["tree_size"] >= data["audit"]["last_seq"]


def test_the_deletion_of_an_unverified_request_is_refused(
    client, officer_headers, session, inventory
):
    default_rules(session)
    subject = person(session)
    request = make_request(session, subject, "deletion", verified=False)
    url = f"{BASE}/{request.reference}/deletion"
    problem(
        client.post(url, headers=officer_headers, json={"confirm": True}),
        409,
        "identity-not-verified",
    )
    problem(client.get(url, headers=officer_headers), 409, "identity-not-verified")
    assert session.scalars(select(PurgeRun)).all() == []


def test_a_consent_withdrawal_answers_with_its_implications(
    client, officer_headers, session, inventory
):
    subject = person(session, marketing=True)
    request = make_request(session, subject, "consent_withdrawal")
    effective = (utcnow() - dt.timedelta(days=1)).replace(microsecond=0)
    response = client.post(
        f"{BASE}/{request.reference}/consent-withdrawals",
        headers=officer_headers,
        json={"purpose": "marketing", "effective_at": effective.isoformat(), "method": "email"},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["purpose"] == "marketing" and body["method"] == "email"
    assert dt.datetime.fromisoformat(body["effective_at"]) == effective
    assert "no longer use your information to send you newsletters" in body["implications"]
    again = client.post(
        f"{BASE}/{request.reference}/consent-withdrawals",
        headers=officer_headers,
        json={"purpose": "marketing"},
    )
    problem(again, 409, "conflict")
    future = client.post(
        f"{BASE}/{request.reference}/consent-withdrawals",
        headers=officer_headers,
        json={"purpose": "marketing", "effective_at": "2999-01-01T00:00:00Z"},
    )
    problem(future, 409, "conflict")  # nothing active is left to withdraw

    export = client.get("/api/v1/subjects/marketing-export", headers=officer_headers)
    assert export.status_code == 200
    assert export.get_json() == []
    before = client.get(
        "/api/v1/subjects/marketing-export",
        headers=officer_headers,
        query_string={"as_of": (effective - dt.timedelta(seconds=1)).isoformat()},
    )
    assert before.get_json() == [{"subject": subject.ref, "emails": [EMAIL]}]
    exports = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "subject.marketing_export")
    ).all()
    assert [e.details["subjects"] for e in exports] == [0, 1]


def test_the_marketing_export_needs_subjects_read(client, auth, session, inventory):
    response = client.get("/api/v1/subjects/marketing-export", headers=auth("technician"))
    problem(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("kind", "status", "slug"),
    [
        ("refusal", 409, "conflict"),
        ("extension-notice", 409, "conflict"),
        ("correction-outcome", 409, "conflict"),
        ("deletion-report", 409, "conflict"),
        ("withdrawal-confirmation", 409, "conflict"),
        ("valentine", 404, "not-found"),
    ],
)
def test_a_letter_that_does_not_apply_yet_is_a_problem(
    client, officer_headers, session, inventory, kind, status, slug
):
    request = make_request(session, person(session), "access")
    response = client.get(f"{BASE}/{request.reference}/letters/{kind}.pdf", headers=officer_headers)
    body = problem(response, status, slug)
    assert body["detail"]
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "request.letter")).all() == []
    )


def test_a_refusal_letter_names_the_request_and_the_opc(
    client, officer_headers, session, inventory
):
    request = make_request(session, person(session), "access")
    refused = client.post(
        f"{BASE}/{request.reference}/transition",
        headers=officer_headers,
        json={"to": "refused", "grounds": ["threat_to_life_or_security"], "reasons": "Safety."},
    )
    assert refused.status_code == 200, refused.get_json()
    response = client.get(
        f"{BASE}/{request.reference}/letters/refusal.pdf", headers=officer_headers
    )
    assert response.status_code == 200
    text = " ".join(pdf_text(response.data).split())
    assert request.reference in text and "Privacy Commissioner of Canada" in text
    assert "threaten the life or security of another person" in text

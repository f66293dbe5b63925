"""Consent withdrawal (R13): the effective date, the original consent kept, the request's item,
and the marketing export that leaves withdrawn subjects out from the effective date on."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent, Consent, RequestItem
from auditor.schemas.requests import TransitionIn
from auditor.schemas.subjects import ConsentIn
from auditor.services import subjects
from auditor.services.errors import Conflict, IdentityNotVerified, ValidationFailed
from auditor.services.requests import consents as request_consents
from auditor.services.requests import workflow
from tests.factories import (
    EMAIL,
    NOW,
    OFFICER,
    assert_no_personal_data,
    events,
    person,
    request_for,
)

GIVEN = NOW - dt.timedelta(days=400)


@pytest.fixture
def subject(session, inventory):
    return person(session, marketing=True)


def withdraw(session, request, **kwargs):
    options = {"purpose_code": "marketing", "actor": OFFICER, "now": NOW}
    return request_consents.withdraw_consent(session, request, **(options | kwargs))


def test_withdrawal_is_effective_from_its_date_and_keeps_the_consent(session, subject):
    request = request_for(session, subject=subject, type="consent_withdrawal")
    effective = NOW - dt.timedelta(days=5)
    (consent,) = withdraw(session, request, effective_at=effective, method="email")
    row = session.get(Consent, consent.id)
    assert (row.withdrawn_at, row.withdrawal_method) == (effective, "email")
    assert (row.given_at, row.text_version, row.evidence) == (
        GIVEN,
        "newsletter-v2",
        "form submission 2025-10-18",
    )
    item = session.scalars(select(RequestItem).where(RequestItem.request_id == request.id)).one()
    assert (item.kind, item.category, item.basis) == (
        "withdrawn",
        "marketing",
        "Marketing communications",
    )
    (out,) = request_consents.withdrawals_of(session, request)
    assert out["effective_at"] == effective.isoformat()
    assert out["implications"].startswith("From 17 November 2026 we no longer use")
    (event,) = events(session, "request.consent_withdrawal")
    assert event.details == {
        "purpose": "marketing",
        "consents": [consent.id],
        "effective_at": effective.isoformat(),
        "method": "email",
        "subject": subject.ref,
    }
    assert_no_personal_data(events(session))


def test_the_method_defaults_to_the_requests_channel(session, subject):
    request = request_for(session, subject=subject, type="consent_withdrawal", channel="phone")
    (consent,) = withdraw(session, request)
    assert (consent.withdrawn_at, consent.withdrawal_method) == (NOW, "verbal")


@pytest.mark.parametrize(
    ("effective", "field"),
    [(NOW + dt.timedelta(hours=1), "effective_at"), (GIVEN - dt.timedelta(days=1), "effective_at")],
    ids=["future", "before-consent"],
)
def test_bad_effective_dates_are_refused(session, subject, effective, field):
    request = request_for(session, subject=subject, type="consent_withdrawal")
    with pytest.raises(ValidationFailed) as error:
        withdraw(session, request, effective_at=effective)
    assert error.value.errors[0].field == field
    assert session.scalars(select(Consent.withdrawn_at)).all() == [None]


def test_nothing_to_withdraw_is_a_conflict(session, subject):
    request = request_for(session, subject=subject, type="consent_withdrawal")
    withdraw(session, request)
    with pytest.raises(Conflict, match="no active consent"):
        withdraw(session, request)
    with pytest.raises(ValidationFailed, match="Unknown purpose"):
        withdraw(session, request, purpose_code="astrology")


def test_a_withdrawal_for_another_purpose_than_marketing_needs_a_verified_request(session, subject):
    consent = ConsentIn(
        purpose="communication",
        given_at=NOW - dt.timedelta(days=90),
        method="contract",
        text_version="msa-2025",
    )  # type: ignore[call-arg]
    subjects.add_consent(session, subject.ref, consent, actor=OFFICER)
    request = request_for(session, subject=subject, type="consent_withdrawal", verified=False)
    with pytest.raises(IdentityNotVerified):
        withdraw(session, request, purpose_code="communication")
    access = request_for(session, subject=subject, type="access")
    with pytest.raises(Conflict, match="access request"):
        withdraw(session, access)


def test_the_marketing_export_leaves_withdrawn_subjects_out_from_the_effective_date(
    session, subject
):
    stays = person(session, email="stays@acme.example", name="Stays", marketing=True)
    person(session, email="never@acme.example", name="Never")  # no marketing consent at all
    later = person(session, email="later@acme.example", name="Later")
    subjects.add_consent(
        session,
        later.ref,
        ConsentIn(purpose="marketing", given_at=NOW, method="email", text_version="v3"),
        actor=OFFICER,
    )
    request = request_for(session, subject=subject, type="consent_withdrawal")
    effective = NOW - dt.timedelta(days=10)
    withdraw(session, request, effective_at=effective)

    def refs(as_of):
        return [r["subject"] for r in request_consents.marketing_recipients(session, as_of=as_of)]

    assert refs(effective - dt.timedelta(seconds=1)) == sorted([subject.ref, stays.ref])
    assert refs(effective) == [stays.ref]
    assert sorted(refs(NOW)) == sorted([stays.ref, later.ref])
    out = request_consents.export_marketing(session, as_of=NOW, actor=OFFICER)
    assert {r["subject"]: r["emails"] for r in out} == {
        stays.ref: ["stays@acme.example"],
        later.ref: ["later@acme.example"],
    }
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "subject.marketing_export")
    ).one()
    assert event.details == {
        "purpose": "marketing",
        "as_of": NOW.isoformat(),
        "subjects": 2,
        "emails": 2,
    }
    assert EMAIL not in str(event.details)


def test_unsubscribing_from_marketing_needs_no_verification_and_no_search_tasks(session, subject):
    """Anyone may stop marketing mail to an address: no proof of identity, no search of every
    system, and the request is answered as soon as the withdrawal is recorded."""
    request = request_for(session, subject=subject, type="consent_withdrawal", verified=False)
    assert request.tasks == []  # a withdrawal acts on the consent register alone
    (consent,) = withdraw(session, request)
    assert consent.withdrawn_at is not None
    for state in ("in_progress", "completed"):
        done = workflow.transition(
            session, request.reference, TransitionIn(to=state), actor=OFFICER, now=NOW
        )
    assert done.status == "completed" and done.verified_at is None


def test_completing_a_withdrawal_request_with_no_marketing_withdrawal_needs_verification(
    session, subject
):
    request = request_for(session, subject=subject, type="consent_withdrawal", verified=False)
    workflow.transition(
        session, request.reference, TransitionIn(to="in_progress"), actor=OFFICER, now=NOW
    )
    with pytest.raises(IdentityNotVerified):  # nothing withdrawn yet: not an unsubscribe
        workflow.transition(
            session, request.reference, TransitionIn(to="completed"), actor=OFFICER, now=NOW
        )

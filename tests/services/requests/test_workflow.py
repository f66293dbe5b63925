"""The request state machine, table-driven; verification; refusals (R7); tasks blocking the
answer; the recourse hold (R9) on answer, withdrawal and complaint; the file's retention date."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError as PydanticError
from sqlalchemy import select

from auditor.models import Hold
from auditor.schemas.requests import ComplaintIn, TransitionIn, VerificationIn
from auditor.services.errors import (
    Conflict,
    IdentityNotVerified,
    TasksOpen,
    ValidationFailed,
)
from auditor.services.requests import recourse as request_holds
from auditor.services.requests import states, workflow
from tests import factories
from tests.factories import (
    NOW,
    OFFICER,
    assert_no_personal_data,
    close_tasks,
    events,
    open_request,
    verify,
)

ALLOWED = [
    (current, target)
    for current, targets in states.TRANSITIONS.items()
    for target in sorted(targets)
    if target not in states.BY_ACTION_ONLY
]
REFUSED = [
    ("received", "completed"),
    ("received", "partially_refused"),
    ("verifying", "completed"),
    ("verifying", "received"),
    ("in_progress", "received"),
    ("in_progress", "verifying"),
    ("extended", "in_progress"),
    ("completed", "refused"),
    ("completed", "in_progress"),
    ("refused", "completed"),
    ("withdrawn", "in_progress"),
    ("partially_refused", "withdrawn"),
]


def move(session, request, to, **extra):
    data = TransitionIn(to=to, **extra)
    return workflow.transition(session, request.reference, data, actor=OFFICER, now=NOW)


def refusal(to):
    grounds = ["third_party_information"] if to in states.REFUSALS else []
    reasons = "Third-party details cannot be severed." if grounds else None
    return {"grounds": grounds, "reasons": reasons}


@pytest.fixture
def subject(session, inventory):
    return factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")


def test_the_table_covers_every_status_and_final_states_are_dead_ends():
    assert set(states.TRANSITIONS) == set(states.OPEN + states.FINAL)
    for state in states.FINAL:
        assert states.TRANSITIONS[state] == frozenset()
    assert not set(REFUSED) & set(ALLOWED)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_every_allowed_transition_succeeds_and_is_audited(session, inventory, current, target):
    request = open_request(session)
    verify(session, request)
    close_tasks(session, request)
    request.status = current
    move(session, request, target, **refusal(target))
    assert request.status == target
    last = events(session, "request.transition")[-1]
    assert (last.actor, last.object_id) == ("user:7", request.reference)
    assert (last.details["from"], last.details["to"]) == (current, target)
    assert last.occurred_at == NOW
    if target in states.FINAL:
        assert (request.closed_at, request.closed_by) == (NOW, "user:7")
        assert last.details["at"] == NOW.isoformat()
    assert (request.responded_at is not None) == (target in states.RESPONSES)


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_transitions_outside_the_table_are_refused(session, inventory, current, target):
    request = open_request(session)
    verify(session, request)
    close_tasks(session, request)
    request.status = current
    before = len(events(session, "request.transition"))
    with pytest.raises(Conflict, match=f"cannot go from {current} to {target}"):
        move(session, request, target, **refusal(target))
    assert request.status == current
    assert len(events(session, "request.transition")) == before


def test_extended_is_reached_only_through_an_extension(session, inventory):
    request = open_request(session)
    with pytest.raises(ValidationFailed) as info:
        move(session, request, "extended")
    assert info.value.errors[0].field == "to"
    with pytest.raises(Conflict, match="already received"):
        move(session, request, "received")


@pytest.mark.parametrize("target", ["refused", "partially_refused"])
def test_refusal_needs_a_ground_and_reasons(session, inventory, target):
    request = open_request(session)
    verify(session, request)
    close_tasks(session, request)
    with pytest.raises(ValidationFailed) as info:
        move(session, request, target)
    assert [e.field for e in info.value.errors] == ["grounds", "reasons"]
    with pytest.raises(PydanticError):  # not a ground of R7's fixed list
        move(session, request, target, grounds=["not_a_ground"], reasons="x")
    move(
        session, request, target, grounds=["solicitor_client_privilege", "formal_dispute_resolution"],
        reasons="Legal advice about the dispute.",
    )  # fmt: skip
    assert request.refusal_grounds == ["solicitor_client_privilege", "formal_dispute_resolution"]
    assert request.refusal_reasons == "Legal advice about the dispute."
    last = events(session, "request.transition")[-1]
    assert last.details["grounds"] == ["solicitor_client_privilege", "formal_dispute_resolution"]
    assert "Legal advice" not in str(last.details)


def test_grounds_belong_to_refusals_only(session, inventory):
    request = open_request(session)
    with pytest.raises(ValidationFailed) as info:
        move(session, request, "withdrawn", grounds=["third_party_information"])
    assert info.value.errors[0].field == "grounds"


def test_answering_needs_the_identity_verified(session, inventory):
    request = open_request(session)
    close_tasks(session, request)
    request.status = "in_progress"
    with pytest.raises(IdentityNotVerified):
        move(session, request, "completed")
    assert request.status == "in_progress" and request.responded_at is None


def test_open_tasks_block_completion_with_their_count(session, inventory):
    request = open_request(session)
    verify(session, request)
    first = request.tasks[0]
    request.tasks = [first, *request.tasks[1:]]
    close_tasks(session, request)
    first.closed_at = None  # one still open
    for target, extra in (("completed", {}), ("partially_refused", refusal("partially_refused"))):
        with pytest.raises(TasksOpen) as info:
            move(session, request, target, **extra)
        assert info.value.open_tasks == 1 and "1 search task(s)" in info.value.detail
    move(session, request, "refused", **refusal("refused"))  # a refusal needs no search
    assert request.status == "refused"


def test_verification_moves_the_request_on_and_is_recorded_once(session, inventory):
    request = open_request(session)
    at = NOW - dt.timedelta(days=1)
    data = VerificationIn(method="government_id_sighted", verified_at=at, note="Driver's licence")
    workflow.verify(session, request.reference, data, actor=OFFICER, now=NOW)
    assert (request.verification_method, request.verified_by) == ("government_id_sighted", "user:7")
    assert (request.verified_at, request.verification_note) == (at, "Driver's licence")
    assert request.status == "in_progress"
    assert [e.action for e in events(session)][-2:] == ["request.verify", "request.transition"]
    assert events(session, "request.verify")[-1].details == {"method": "government_id_sighted"}
    with pytest.raises(Conflict, match="already verified"):
        workflow.verify(session, request.reference, data, actor=OFFICER, now=NOW)
    assert "licence" not in str([e.details for e in events(session)])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"method": "other"}, "note"),
        ({"method": "account_login", "verified_at": NOW + dt.timedelta(hours=1)}, "verified_at"),
        ({"method": "account_login", "verified_at": NOW - dt.timedelta(days=30)}, "verified_at"),
    ],
)
def test_invalid_verification_is_refused(session, inventory, data, field):
    request = open_request(session)
    with pytest.raises(ValidationFailed) as info:
        workflow.verify(session, request.reference, VerificationIn(**data), actor=OFFICER, now=NOW)
    assert [e.field for e in info.value.errors] == [field]
    assert request.verified_at is None and request.status == "received"


def test_closed_requests_cannot_be_verified(session, inventory):
    request = open_request(session)
    move(session, request, "withdrawn", note="Changed their mind")
    with pytest.raises(Conflict, match="withdrawn"):
        verify(session, request)


def answer(session, request, *, at=NOW):
    verify(session, request)
    close_tasks(session, request)
    move(session, request, "completed", at=at)


def test_answer_sets_the_recourse_hold_end_and_the_file_retention(session, inventory, subject):
    request = open_request(session)
    hold = session.scalars(select(Hold)).one()
    assert hold.until is None
    answer(session, request, at=NOW)
    # answered before the due date (2026-12-19): the due date counts, + 6 months (R9)
    assert hold.until == dt.date(2027, 6, 19) and not hold.open_ended
    assert request.responded_at == NOW
    assert request.file_retention_until == dt.date(2029, 6, 19)  # + 2 years (design)
    assert events(session, "hold.update")[-1].details["reference"] == request.reference


def test_complaint_makes_the_hold_open_ended(session, inventory, subject):
    request = open_request(session)
    answer(session, request)
    data = ComplaintIn(complaint_at=NOW, note="Complained about missing invoices")
    workflow.record_complaint(session, request.reference, data, actor=OFFICER, now=NOW)
    hold = session.scalars(select(Hold)).one()
    assert hold.open_ended
    assert (request.complaint_at, request.file_retention_until) == (NOW, None)
    [event] = events(session, "request.complaint")
    assert event.details == {"complaint_at": NOW.isoformat()}
    with pytest.raises(Conflict, match="already recorded"):
        workflow.record_complaint(session, request.reference, data, actor=OFFICER)
    late = ComplaintIn(complaint_at=NOW + dt.timedelta(days=1))
    other = open_request(session)
    with pytest.raises(ValidationFailed):
        workflow.record_complaint(session, other.reference, late, actor=OFFICER, now=NOW)


def test_complaint_before_linking_makes_the_later_hold_open_ended(session, inventory, subject):
    request = open_request(session, identifiers=[])
    data = ComplaintIn(complaint_at=NOW)
    workflow.record_complaint(session, request.reference, data, actor=OFFICER, now=NOW)
    workflow.link_subject(session, request.reference, subject.ref, actor=OFFICER, now=NOW)
    assert session.scalars(select(Hold)).one().open_ended


def test_withdrawal_closes_and_counts_as_the_response_for_the_hold(session, inventory, subject):
    request = open_request(session)
    move(session, request, "withdrawn", note="Amélie no longer needs it")
    assert request.responded_at is None and request.closed_at == NOW
    assert request.closing_note == "Amélie no longer needs it"
    hold = session.scalars(select(Hold)).one()
    assert hold.until == dt.date(2027, 6, 19)
    assert request.file_retention_until == request_holds.file_retention_until(request)
    assert_no_personal_data(events(session, ""), "no longer needs")

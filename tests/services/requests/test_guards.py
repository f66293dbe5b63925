"""What answers a request for good waits for its searches (services/requests/guards.py): the
access report and package, the portability export, the deletion, the final letters and the
completion, unless a privacy officer recorded why the answer may go; and a recourse hold stays
while its request is open, then goes only with a real reason (R9)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent, Hold
from auditor.schemas.requests import SearchesOverrideIn, TransitionIn
from auditor.services import holds, requests
from auditor.services.errors import Conflict, TasksOpen, ValidationFailed
from auditor.services.requests import workflow
from auditor.services.requests.access import package, report
from tests.factories import NOW, OFFICER, scenario, signing

REASON = "The billing system holds no personal data of individuals (vendor attestation)."


@pytest.fixture
def unsearched(session, inventory):
    """A verified access request whose search tasks are all still open."""
    return scenario(session, searched=False).request


def test_the_access_package_and_report_wait_for_the_searches(session, unsearched):
    with pytest.raises(TasksOpen, match="search task\\(s\\) of PR-") as caught:
        package.export_access_package(session, unsearched.reference, actor=OFFICER, **signing())
    assert caught.value.open_tasks == len(unsearched.tasks) > 0
    with pytest.raises(TasksOpen):
        report.export_access_report(session, unsearched.reference, actor=OFFICER, **signing())
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("request.access_package",)))
    ).all()


def test_a_final_letter_waits_for_the_searches(session, unsearched):
    workflow.transition(
        session,
        unsearched.reference,
        TransitionIn(to="refused", grounds=["formal_dispute_resolution"], reasons="In court."),
        actor=OFFICER,
        now=NOW,
    )
    with pytest.raises(TasksOpen):
        requests.write_letter(session, unsearched.reference, "refusal", actor=OFFICER, now=NOW)


def test_completing_waits_for_the_searches(session, unsearched):
    with pytest.raises(TasksOpen):
        workflow.transition(
            session, unsearched.reference, TransitionIn(to="completed"), actor=OFFICER, now=NOW
        )


def test_an_officers_override_lets_the_answer_go_and_is_recorded(session, unsearched):
    still_open = len(unsearched.tasks)
    requests.override_open_searches(
        session, unsearched.reference, SearchesOverrideIn(reason=REASON), actor=OFFICER, now=NOW
    )
    assert (unsearched.searches_override_reason, unsearched.searches_override_by) == (
        REASON,
        OFFICER.name,
    )
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "request.searches_override")
    ).one()
    assert event.details == {"open": still_open} and REASON not in str(event.details)
    built = package.export_access_package(
        session, unsearched.reference, actor=OFFICER, now=NOW, **signing()
    )
    assert built.reference == unsearched.reference
    done = workflow.transition(
        session, unsearched.reference, TransitionIn(to="completed"), actor=OFFICER, now=NOW
    )
    assert done.status == "completed"
    detail = requests.request_detail(done, requester=True, identifiers=True)
    assert detail.searches_override is not None and detail.searches_override.reason == REASON


def test_an_override_needs_a_reason_open_tasks_and_is_recorded_once(session, unsearched):
    with pytest.raises(ValueError, match="at least 20 characters"):
        SearchesOverrideIn(reason="because")
    requests.override_open_searches(
        session, unsearched.reference, SearchesOverrideIn(reason=REASON), actor=OFFICER, now=NOW
    )
    with pytest.raises(Conflict, match="already recorded"):
        requests.override_open_searches(
            session, unsearched.reference, SearchesOverrideIn(reason=REASON), actor=OFFICER
        )


def test_nothing_to_override_once_every_search_is_closed(session, inventory):
    searched = scenario(session).request
    with pytest.raises(Conflict, match="nothing to override"):
        requests.override_open_searches(
            session, searched.reference, SearchesOverrideIn(reason=REASON), actor=OFFICER
        )


def recourse_hold(session, request):
    return session.scalars(
        select(Hold).where(Hold.kind == "recourse", Hold.reference == request.reference)
    ).one()


def test_a_recourse_hold_stays_while_its_request_is_open(session, inventory):
    request = scenario(session).request
    hold = recourse_hold(session, request)
    long_reason = "The individual withdrew the request and confirmed in writing."
    with pytest.raises(Conflict, match="is still open: its recourse hold stays"):
        holds.release(session, hold.id, reason=long_reason, actor=OFFICER, now=NOW)
    assert hold.released_at is None


def test_after_the_answer_a_recourse_hold_goes_only_with_a_real_reason(session, inventory):
    request = scenario(session).request
    workflow.transition(
        session, request.reference, TransitionIn(to="completed"), actor=OFFICER, now=NOW
    )
    hold = recourse_hold(session, request)
    with pytest.raises(ValidationFailed, match="Say why") as caught:
        holds.release(session, hold.id, reason="x", actor=OFFICER, now=NOW)
    assert caught.value.errors[0].message == "at least 20 characters"
    released = holds.release(
        session, hold.id, reason="The OPC closed the complaint file on 2026-11-01.", actor=OFFICER
    )
    assert released.released_at is not None

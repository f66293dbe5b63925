"""Search tasks: recording a system's search, actions per data element, closing and reopening,
verification before any change to data, audited without personal data."""

from __future__ import annotations

import pytest

from auditor.schemas.requests import TaskUpdate
from auditor.services.errors import Conflict, IdentityNotVerified, NotFound, ValidationFailed
from auditor.services.requests import intake
from auditor.services.requests import tasks as request_tasks
from tests.factories import NOW, TECH, assert_no_personal_data, events, open_request, verify


def update(session, request, task, **data):
    return request_tasks.update_task(
        session, request.reference, task.id, TaskUpdate(**data), actor=TECH, now=NOW
    )


def test_a_search_is_recorded_and_closed(session, inventory):
    request = open_request(session)
    task = request.tasks[0]
    update(session, request, task, searched=True)
    assert (task.searched, task.searched_at, task.found) == (True, NOW, None)
    update(session, request, task, found=True, note="Two tickets name her")
    verify(session, request)
    actions = [
        {"element": "ticket T-1 contact name", "action": "redacted", "note": "Third party"},
        {"element": "ticket T-2", "action": "unmodified"},
    ]
    update(session, request, task, actions=actions, closed=True)
    assert (task.closed_at, task.closed_by) == (NOW, "user:9")
    assert task.actions == [
        {"element": "ticket T-1 contact name", "action": "redacted", "note": "Third party"},
        {"element": "ticket T-2", "action": "unmodified", "note": None},
    ]
    assert intake.request_out(request, now=NOW).tasks_summary.model_dump() == {
        "total": 3,
        "open": 2,
        "closed": 1,
        "holding_records": 0,
    }
    last = events(session, "request.task_update")[-1]
    assert last.details == {
        "task": task.id,
        "system": task.system.code,
        "fields": ["actions", "closed"],
        "closed": True,
        "actions": {"redacted": 1, "unmodified": 1},
    }
    assert_no_personal_data(events(session, ""), "T-1", "name her", "third party")


def test_changing_data_needs_the_identity_verified(session, inventory):
    request = open_request(session)
    task = request.tasks[0]
    update(session, request, task, searched=True, found=True)
    with pytest.raises(IdentityNotVerified):
        update(session, request, task, actions=[{"element": "contact", "action": "deleted"}])
    assert task.actions == []
    update(session, request, task, actions=[{"element": "contact", "action": "unmodified"}])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"found": True}, "found"),
        ({"closed": True}, "closed"),
        ({"searched": True, "closed": True}, "closed"),
        ({"searched": True, "actions": [{"element": "x", "action": "unmodified"}]}, "actions"),
    ],
)
def test_inconsistent_task_updates_are_refused(session, inventory, data, field):
    request = open_request(session)
    task = request.tasks[0]
    with pytest.raises(ValidationFailed) as info:
        update(session, request, task, **data)
    assert field in [e.field for e in info.value.errors]


def test_closed_task_changes_only_by_reopening(session, inventory):
    request = open_request(session)
    task = request.tasks[0]
    update(session, request, task, searched=True, found=False, closed=True)
    with pytest.raises(Conflict, match="reopen"):
        update(session, request, task, note="more")
    update(session, request, task, closed=False, found=True)
    assert task.closed_at is None and task.found is True
    update(session, request, task, searched=False, found=None)
    assert task.searched_at is None


def test_tasks_of_a_closed_request_or_another_request_cannot_change(session, inventory):
    request = open_request(session)
    other = open_request(session)
    with pytest.raises(NotFound):
        update(session, request, other.tasks[0], searched=True)
    request.status = "refused"
    with pytest.raises(Conflict, match="refused"):
        update(session, request, request.tasks[0], searched=True)

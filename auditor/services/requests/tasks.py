"""The search tasks of a privacy request: one per system of the inventory, for its owner.

Which systems are relevant (design, kept simple): every system of the inventory gets a task, so
that none is forgotten; the systems that hold records linked to the subject are marked
``holds_records`` (recomputed when the subject is linked later). The assignee is the system's
``owner`` from the inventory.

A task is closed once its system was searched and ``found`` recorded. Recording an action that
changes data (deleted, corrected, redacted) needs the requester's identity verified first.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import PrivacyRequest, Record, RequestTask, System, record_subject
from auditor.schemas.requests import TaskActionOut, TaskOut, TasksSummary, TaskUpdate
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, NotFound, ValidationFailed
from auditor.services.requests.common import get, record_event, require_open
from auditor.services.requests.guards import require_verified

CHANGING_ACTIONS = frozenset({"deleted", "corrected", "redacted"})


def _systems_with_records(session: Session, request: PrivacyRequest) -> set[int]:
    # the subject relationship, not subject_id: a new request is not flushed yet
    if request.subject is None:
        return set()
    subject_id = request.subject.id
    rows = session.scalars(
        select(Record.system_id)
        .join(record_subject, record_subject.c.record_id == Record.id)
        .where(record_subject.c.subject_id == subject_id)
        .distinct()
    )
    return set(rows)


def create_tasks(session: Session, request: PrivacyRequest) -> list[RequestTask]:
    """One task per system of the inventory, in system-code order."""
    holding = _systems_with_records(session, request)
    systems = session.scalars(select(System).order_by(System.code)).all()
    tasks = [
        RequestTask(
            system=system,
            assignee=system.owner,
            holds_records=system.id in holding,
            actions=[],
        )
        for system in systems
    ]
    request.tasks.extend(tasks)
    return tasks


def refresh_holding(session: Session, request: PrivacyRequest) -> None:
    """Re-mark the systems holding the subject's records (after the subject is linked)."""
    holding = _systems_with_records(session, request)
    for task in request.tasks:
        task.holds_records = task.system_id in holding


def open_count(request: PrivacyRequest) -> int:
    return sum(1 for task in request.tasks if task.closed_at is None)


def summary(request: PrivacyRequest) -> TasksSummary:
    total = len(request.tasks)
    still_open = open_count(request)
    return TasksSummary(
        total=total,
        open=still_open,
        closed=total - still_open,
        holding_records=sum(1 for task in request.tasks if task.holds_records),
    )


def summaries(session: Session, request_ids: list[int]) -> dict[int, TasksSummary]:
    """``summary`` of many requests in one query (a list shows them, the tasks stay unloaded)."""
    rows = session.execute(
        select(
            RequestTask.request_id,
            func.count(),
            func.count(case((RequestTask.closed_at.is_(None), 1))),
            func.count(case((RequestTask.holds_records.is_(True), 1))),
        )
        .where(RequestTask.request_id.in_(request_ids))
        .group_by(RequestTask.request_id)
    ).all()
    found = {
        request_id: TasksSummary(
            total=total, open=still_open, closed=total - still_open, holding_records=holding
        )
        for request_id, total, still_open, holding in rows
    }
    empty = TasksSummary(total=0, open=0, closed=0, holding_records=0)
    return {request_id: found.get(request_id, empty) for request_id in request_ids}


def task_out(task: RequestTask) -> TaskOut:
    return TaskOut(
        id=task.id,
        system=task.system.code,
        system_name=task.system.name,
        assignee=task.assignee,
        holds_records=task.holds_records,
        searched=task.searched,
        searched_at=task.searched_at,
        found=task.found,
        actions=[TaskActionOut(**action) for action in task.actions],
        note=task.note,
        closed_at=task.closed_at,
        closed_by=task.closed_by,
    )


def _task(session: Session, request: PrivacyRequest, task_id: int) -> RequestTask:
    task = session.scalar(
        select(RequestTask).where(RequestTask.id == task_id, RequestTask.request_id == request.id)
    )
    if task is None:
        raise NotFound("The request has no task with that id.")
    return task


def _apply(task: RequestTask, data: TaskUpdate, fields: set[str], moment: dt.datetime) -> None:
    if "searched" in fields and data.searched is not None:
        if data.searched and not task.searched:
            task.searched_at = moment
        elif not data.searched:
            task.searched_at = None
        task.searched = data.searched
    if "found" in fields:
        task.found = data.found
    if "actions" in fields:
        task.actions = [a.model_dump() for a in data.actions or []]
    if "note" in fields:
        task.note = data.note


def _check(task: RequestTask, data: TaskUpdate) -> None:
    errors = []
    if task.found is not None and not task.searched:
        errors.append(FieldError("found", "record the search first (searched: true)"))
    if task.actions and task.found is not True:
        errors.append(FieldError("actions", "actions need found: true"))
    if data.closed and (not task.searched or task.found is None):
        errors.append(FieldError("closed", "a task closes once searched and found are recorded"))
    if errors:
        raise ValidationFailed("The task update is not valid.", errors)


def update_task(
    session: Session,
    reference: str,
    task_id: int,
    data: TaskUpdate,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> RequestTask:
    """Record a system's search: searched, found, the action on each data element, a note; close
    or reopen the task. The request must be open; a closed task changes only by reopening."""
    request = get(session, reference)
    require_open(request, "updating its tasks")
    task = _task(session, request, task_id)
    fields = set(data.model_fields_set)
    if task.closed_at is not None and data.closed is not False:
        raise Conflict("The task is closed: reopen it (closed: false) to change it.")
    if data.actions and {a.action for a in data.actions} & CHANGING_ACTIONS:
        require_verified(request)
    moment = now or utcnow()
    _apply(task, data, fields, moment)
    _check(task, data)
    if data.closed is True:
        task.closed_at, task.closed_by = moment, actor.name
    elif data.closed is False:
        task.closed_at, task.closed_by = None, None
    session.flush()
    record_event(
        session,
        request,
        "request.task_update",
        actor=actor,
        now=moment,
        task=task.id,
        system=task.system.code,
        fields=sorted(fields),
        closed=task.closed_at is not None,
        actions=dict(sorted(Counter(a["action"] for a in task.actions).items())),
    )
    return task

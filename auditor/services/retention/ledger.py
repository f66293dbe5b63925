"""Writing disposition records (R20): batches, their lines, and the audit event committing to them.

Every writer of dispositions (the purge's batches, a request's deletion, a vault purge) goes
through ``write``, inside the caller's transaction, after its deletes:

1. under the audit head lock (writers of dispositions take turns until they commit), ids are
   reserved for the batches and their lines (the lines of a batch are consecutive);
2. each batch's canonical lines (docs/disposition.md section 3) are built and hashed;
3. one audit event is written whose details list each batch with its line count and digest, so
   the Merkle log, and every signed checkpoint after it, commits to every disposition;
4. the batches (with the event's position) and the lines are inserted (COPY on PostgreSQL).

A crash anywhere leaves all of it or none (one transaction).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from auditor.models import Disposition, DispositionBatch
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.retention import bulk
from auditor.services.retention import lines as canonical

BATCHES = typing.cast(Table, DispositionBatch.__table__)
LINES = typing.cast(Table, Disposition.__table__)


@dataclasses.dataclass(frozen=True)
class Header:
    """What every line of a batch shares."""

    subject_type: str  # record, data_subject, client_vault
    rule: str | None
    rule_version: int | None
    method: str
    post_check: str
    review_id: int | None = None
    approver: str | None = None
    start_field: str | None = None  # the start date a line's ``started_on`` gives
    evidence: tuple[tuple[str, Any], ...] = ()  # the trigger evidence every line shares


@dataclasses.dataclass(slots=True)
class Line:
    """What one disposition has of its own."""

    subject_ref: str
    organization_id: int | None
    category: str | None
    digest: bytes | None
    due_on: dt.date | None = None
    started_on: dt.date | None = None
    evidence: dict[str, Any] | None = None


@dataclasses.dataclass
class Written:
    """The batches and the canonical lines written, in id order; the audit event's position."""

    audit_seq: int
    batches: list[dict[str, Any]]
    lines: list[dict[str, Any]]


def write(
    session: Session,
    groups: Sequence[tuple[Header, Sequence[Line]]],
    *,
    actor: Actor,
    run_id: int | None,
    now: dt.datetime,
    holds_in_force: int | None,
    action: str = "retention.dispose",
    object_type: str = "purge_run",
    object_id: str | int | None = None,
    organization_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Written:
    """Write ``groups`` (each one batch) and their audit event; see the module docstring.

    ``details``: what the audit event says besides the batches (record counts, holds by id)."""
    groups = [(header, items) for header, items in groups if items]
    if not groups:
        raise ValueError("nothing to write")
    # writers of dispositions take turns (the audit head lock, held to the commit): the ids of
    # a batch's lines are consecutive, and the event's position follows
    audit.lock_head(session)
    batch_ids = bulk.reserve_block(session, BATCHES, len(groups))
    line_ids = bulk.reserve_block(session, LINES, sum(len(items) for _, items in groups))
    batches, rows, written = [], [], []
    at = 0
    for batch_id, (header, items) in zip(batch_ids, groups, strict=True):
        batch = batch_row(
            header,
            batch_id=batch_id,
            now=now,
            run_id=run_id,
            executor=actor.name,
            holds_in_force=holds_in_force,
            first_id=line_ids[at],
            lines=len(items),
        )
        own = []
        for line_id, item in zip(line_ids[at : at + len(items)], items, strict=True):
            row = {
                "id": line_id,
                "batch_id": batch_id,
                "subject_ref": item.subject_ref,
                "organization_id": item.organization_id,
                "category": item.category,
                "digest": item.digest,
                "due_on": item.due_on,
                "started_on": item.started_on,
                "evidence": item.evidence,
                "legacy": None,
            }
            rows.append(row)
            own.append(canonical.line(batch, row))
        at += len(items)
        batch["digest"] = canonical.digest_of(own)
        batches.append(batch)
        written += own
    event = audit.record(
        session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=run_id if object_id is None else object_id,
        organization_id=organization_id,
        details={
            **(details or {}),
            "batches": [
                {"batch": b["id"], "lines": b["lines"], "digest": b["digest"]} for b in batches
            ],
        },
        now=now,
    )
    for batch in batches:
        batch["audit_seq"] = event.seq
    bulk.copy_rows(session, BATCHES, batches)
    bulk.copy_rows(session, LINES, rows)
    return Written(audit_seq=event.seq, batches=batches, lines=written)


def batch_row(
    header: Header,
    *,
    batch_id: int,
    now: dt.datetime,
    run_id: int | None,
    executor: str,
    holds_in_force: int | None,
    first_id: int,
    lines: int,
) -> dict[str, Any]:
    """A batch's row (its ``audit_seq`` and ``digest`` set once known) of line format 2."""
    return {
        "id": batch_id,
        "created_at": now,
        "run_id": run_id,
        "subject_type": header.subject_type,
        "rule": header.rule,
        "rule_version": header.rule_version,
        "review_id": header.review_id,
        "approver": header.approver,
        "executor": executor,
        "method": header.method,
        "post_check": header.post_check,
        "holds_in_force": holds_in_force,
        "evidence": dict(header.evidence),
        "start_field": header.start_field,
        "audit_seq": 0,
        "first_id": first_id,
        "lines": lines,
        "digest": "",
        "line_format": 2,
        "legacy": None,
    }


def split_evidence(
    found: Sequence[dict[str, Any]], start_field: str | None
) -> tuple[
    tuple[tuple[str, Any], ...], list[tuple[dt.date | None, dt.date | None, dict[str, Any] | None]]
]:
    """Each line's full trigger evidence as (what they all share, per line: due date, start
    date, the rest); ``canonical.evidence_of`` puts each back together exactly."""
    if not found:
        return (), []
    shared = dict(found[0])
    for other in found[1:]:
        for key in [k for k, v in shared.items() if other.get(k, _MISSING) != v]:
            del shared[key]
    for name in ("due_on", start_field):
        if name is not None and _is_day(shared.get(name)):
            del shared[name]  # a date column of its own
    own = []
    for values in found:
        rest = {k: v for k, v in values.items() if k not in shared}
        due = _day(rest, "due_on")
        started = _day(rest, start_field) if start_field else None
        own.append((due, started, rest or None))
    return tuple(sorted(shared.items())), own


_MISSING = object()


def _is_day(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _day(values: dict[str, Any], key: str) -> dt.date | None:
    """Pop ``key`` as a date when it is one written as ISO (else it stays as evidence)."""
    value = values.get(key)
    if not isinstance(value, str) or not _is_day(value):
        return None
    del values[key]
    return dt.date.fromisoformat(value)

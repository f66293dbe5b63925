"""The canonical line of a disposition: what an auditor hashes (docs/disposition.md section 3).

A disposition is stored as two rows, its batch (what every line of the batch shares) and its own
(what differs); its line puts them back together as one JSON object with sorted keys, compact,
UTF-8 unescaped, times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The digest of a set of lines is
SHA-256 over each line followed by a newline, in id order.

Line format 2 (``FIELDS``) is written since migration 0011; format 1 (``FIELDS_V1``) is the line of
a disposition converted from the earlier one-row shape, rebuilt byte for byte so that what was
certified and reported before the change still verifies.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from auditor.models import Disposition, DispositionBatch
from auditor.services import audit

FIELDS = (
    "approver",
    "batch",
    "category",
    "created_at",
    "digest",
    "executor",
    "holds_in_force",
    "id",
    "method",
    "organization_id",
    "post_check",
    "review_id",
    "rule",
    "rule_version",
    "run_id",
    "subject_ref",
    "subject_type",
    "trigger_evidence",
)
FIELDS_V1 = (
    "id",
    "created_at",
    "subject_type",
    "subject_ref",
    "organization_id",
    "category",
    "digest",
    "rule",
    "rule_version",
    "trigger_evidence",
    "holds_checked",
    "approver",
    "executor",
    "method",
    "counts",
    "post_check",
    "audit_seq",
    "run_id",
    "review_id",
)
_CHUNK = 2000
_PREFIX = "batch__"


@functools.lru_cache(maxsize=64)
def format_time(moment: dt.datetime) -> str:
    """``audit.format_time``, once per distinct time (a batch's lines share theirs)."""
    return audit.format_time(moment)


def encode(values: Mapping[str, Any]) -> bytes:
    """Sorted-key compact JSON, UTF-8 unescaped: orjson writes the same bytes as
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` for these values
    (strings, integers, null, lists, objects; no floats), several times faster."""
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def evidence_of(batch: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """A line's trigger evidence: the batch's, its due date, its start date under the batch's
    ``start_field``, then its own."""
    found = dict(batch["evidence"] or {})
    if row["due_on"] is not None:
        found["due_on"] = row["due_on"].isoformat()
    if row["started_on"] is not None and batch["start_field"]:
        found[batch["start_field"]] = row["started_on"].isoformat()
    if row["evidence"]:
        found.update(row["evidence"])
    return found


def line(batch: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """The line of ``row`` (a disposition row's columns) in ``batch`` (its batch's columns)."""
    digest = row["digest"]
    if batch["line_format"] == 1:
        legacy_batch, legacy_row = batch["legacy"] or {}, row["legacy"] or {}
        return {
            "id": row["id"],
            "created_at": format_time(batch["created_at"]),
            "subject_type": batch["subject_type"],
            "subject_ref": row["subject_ref"],
            "organization_id": row["organization_id"],
            "category": row["category"],
            "digest": bytes(digest).hex() if digest is not None else None,
            "rule": batch["rule"],
            "rule_version": batch["rule_version"],
            "trigger_evidence": row["evidence"] or {},
            "holds_checked": legacy_batch.get("holds_checked", []),
            "approver": batch["approver"],
            "executor": batch["executor"],
            "method": batch["method"],
            "counts": legacy_row.get("counts", {}),
            "post_check": batch["post_check"],
            "audit_seq": batch["audit_seq"],
            "run_id": batch["run_id"],
            "review_id": batch["review_id"],
        }
    return {
        "approver": batch["approver"],
        "batch": batch["id"],
        "category": row["category"],
        "created_at": format_time(batch["created_at"]),
        "digest": bytes(digest).hex() if digest is not None else None,
        "executor": batch["executor"],
        "holds_in_force": batch["holds_in_force"],
        "id": row["id"],
        "method": batch["method"],
        "organization_id": row["organization_id"],
        "post_check": batch["post_check"],
        "review_id": batch["review_id"],
        "rule": batch["rule"],
        "rule_version": batch["rule_version"],
        "run_id": batch["run_id"],
        "subject_ref": row["subject_ref"],
        "subject_type": batch["subject_type"],
        "trigger_evidence": evidence_of(batch, row),
    }


def digest_of(lines: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of ``lines`` (canonical line values), each followed by a newline."""
    return hashlib.sha256(b"".join(encode(v) + b"\n" for v in lines)).hexdigest()


# -- reading them back ----------------------------------------------------------------------------


def batches(session: Session, *where: ColumnElement[bool]) -> Iterator[dict[str, Any]]:
    """Batches matching ``where`` as column mappings, in id order, a chunk at a time."""
    after = 0
    while True:
        query = (
            select(DispositionBatch.__table__)
            .where(*where, DispositionBatch.id > after)
            .order_by(DispositionBatch.id)
            .limit(_CHUNK)
        )
        found = [dict(row._mapping) for row in session.execute(query)]
        if not found:
            return
        yield from found
        after = found[-1]["id"]


def rows_of(session: Session, batch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The disposition rows stored in ``batch``'s id range, in id order."""
    first = batch["first_id"]
    query = (
        select(Disposition.__table__)
        .where(Disposition.id >= first, Disposition.id < first + batch["lines"])
        .order_by(Disposition.id)
    )
    return [dict(row._mapping) for row in session.execute(query)]


def lines_of(
    session: Session, *where: ColumnElement[bool]
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each matching batch with its lines, in id order (the lines of batches are consecutive)."""
    for batch in batches(session, *where):
        yield batch, [line(batch, row) for row in rows_of(session, batch) if _in(batch, row)]


def _in(batch: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    return bool(row["batch_id"] == batch["id"])


def joined(*where: ColumnElement[bool]) -> Select[Any]:
    """Each disposition with its batch's columns (as ``batch__<name>``), in id order: the query a
    report states, which an auditor can rerun as written."""
    batch_columns = [c.label(f"{_PREFIX}{c.name}") for c in DispositionBatch.__table__.columns]
    return (
        select(*Disposition.__table__.columns, *batch_columns)
        .select_from(Disposition)
        .join(DispositionBatch, DispositionBatch.id == Disposition.batch_id)
        .where(*where)
        .order_by(Disposition.id)
    )


def split(row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A row of ``joined`` as (batch columns, disposition columns)."""
    batch = {k[len(_PREFIX) :]: v for k, v in row.items() if k.startswith(_PREFIX)}
    own = {k: v for k, v in row.items() if not k.startswith(_PREFIX)}
    return batch, own


def find(
    session: Session, subject_type: str, subject_ref: str, *, limit: int = 100
) -> list[dict[str, Any]]:
    """The lines of what was disposed of under ``subject_ref`` (a record id, a subject ref or a
    client code), oldest first."""
    query = joined(
        DispositionBatch.subject_type == subject_type, Disposition.subject_ref == subject_ref
    ).limit(limit)
    found = []
    for row in session.execute(query):
        batch, own = split(row._mapping)
        found.append(line(batch, own))
    return found

"""Records: streamed, batched, idempotent ingest (upsert on system + external id) and reads."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import DataCategory, Organization, Record, System, record_subject
from auditor.schemas.common import field_errors
from auditor.schemas.records import RecordIn
from auditor.services import audit, pan
from auditor.services.context import Actor
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from auditor.services.identifiers import normalize
from auditor.services.subjects import ensure_subjects

MAX_REPORTED_ERRORS = 1000
_SUBJECT_CACHE_LIMIT = 200_000
_COMPARED = (
    "category_id",
    "organization_id",
    "created_at",
    "closed_at",
    "document_date",
    "event_at",
)


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 of the content as sorted-key compact JSON (UTF-8)."""
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class IngestResult:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    pan_redactions: int = 0
    rejected_lines: list[tuple[int, list[FieldError]]] = field(default_factory=list)
    last_outcome: str | None = None
    last_id: int | None = None

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "pan_redactions": self.pan_redactions,
        }


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    subjects: set[tuple[str, str]]


class Ingestor:
    """Validates rows one by one and writes them in batches, in the caller's transaction.

    With ``skip_invalid`` False (all or nothing) a bad row stops all writing; every bad row is
    still reported, and ``finish`` raises ValidationFailed so that the caller rolls back.
    """

    def __init__(
        self,
        session: Session,
        *,
        actor: Actor,
        pan_policy: str = "redact",
        skip_invalid: bool = False,
        batch_size: int = 2000,
        max_content_bytes: int = 256 * 1024,
        source: str = "api",
        on_rejected: Callable[[int, list[FieldError]], None] | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.pan_policy = pan_policy
        self.skip_invalid = skip_invalid
        self.batch_size = batch_size
        self.max_content_bytes = max_content_bytes
        self.source = source
        self.on_rejected = on_rejected
        self.result = IngestResult()
        self._pending: list[_Row] = []
        self._subjects: dict[tuple[str, str], int] = {}
        self._refs = {
            name: dict(session.execute(select(model.code, model.id)).all())
            for name, model in (
                ("system", System),
                ("category", DataCategory),
                ("client", Organization),
            )
        }
        self._now = utcnow()

    # -- validation ---------------------------------------------------------------------------
    def add(self, line: int, data: Any) -> None:
        self.result.received += 1
        try:
            row = self._validate(line, data)
        except ValidationFailed as exc:
            self._reject(line, exc.errors or [FieldError("line", exc.detail)])
            return
        if self.result.rejected and not self.skip_invalid:
            return  # all or nothing: already failed, keep validating only to report every bad row
        self._pending.append(row)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def add_json_line(self, line: int, raw: bytes | str) -> None:
        """One line of JSON Lines / NDJSON; blank lines are skipped."""
        if not raw.strip():
            return
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.reject(line, [FieldError("line", "not valid JSON")])
            return
        self.add(line, data)

    def reject(self, line: int, errors: list[FieldError]) -> None:
        """A row the reader could not even parse: counted and reported like an invalid one."""
        self.result.received += 1
        self._reject(line, errors)

    def _reject(self, line: int, errors: list[FieldError]) -> None:
        self.result.rejected += 1
        if len(self.result.rejected_lines) < MAX_REPORTED_ERRORS:
            self.result.rejected_lines.append((line, errors))
        if self.on_rejected is not None:
            self.on_rejected(line, errors)
        if not self.skip_invalid:
            self._pending.clear()

    def _validate(self, line: int, data: Any) -> _Row:
        if isinstance(data, RecordIn):
            item = data
        else:
            try:
                item = RecordIn.model_validate(data)
            except ValidationError as exc:
                raise ValidationFailed("invalid record", field_errors(exc)) from None
        errors: list[FieldError] = []
        ids: dict[str, int] = {}
        for name in ("system", "category", "client"):
            code = getattr(item, name)
            found = self._refs[name].get(code)
            if found is None:
                errors.append(FieldError(name, f"unknown {name} code '{code}'"))
            else:
                ids[name] = found
        subjects: set[tuple[str, str]] = set()
        for index, ident in enumerate(item.subjects):
            try:
                subjects.add((ident.kind, normalize(ident.kind, ident.value, field="value")))
            except ValidationFailed as exc:
                errors.append(FieldError(f"subjects.{index}.value", exc.errors[0].message))
        content, redactions = pan.redact(item.content)
        if redactions and self.pan_policy == "reject":
            errors.append(FieldError("content", "contains a payment card number; remove it"))
        encoded = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
        if len(encoded) > self.max_content_bytes:
            errors.append(FieldError("content", f"larger than {self.max_content_bytes} bytes"))
        if errors:
            raise ValidationFailed("invalid record", errors)
        self.result.pan_redactions += redactions
        values = {
            "system_id": ids["system"],
            "external_id": item.external_id,
            "category_id": ids["category"],
            "organization_id": ids["client"],
            "created_at": item.created_at,
            "closed_at": item.closed_at,
            "document_date": item.document_date,
            "event_at": item.event_at,
            "content": content,
            "content_digest": hashlib.sha256(encoded).hexdigest(),
            "pan_redactions": redactions,
        }
        return _Row(line, values, subjects)

    # -- writing ------------------------------------------------------------------------------
    def flush(self) -> None:
        if not self._pending:
            return
        rows = list(
            {(r.values["system_id"], r.values["external_id"]): r for r in self._pending}.values()
        )
        self.result.updated += len(self._pending) - len(
            rows
        )  # a later line replaced an earlier one
        self._pending = []
        identifiers = set().union(*(r.subjects for r in rows))
        if len(self._subjects) > _SUBJECT_CACHE_LIMIT:
            self._subjects.clear()
        ensure_subjects(self.session, identifiers, self._subjects)
        existing = self._existing(rows)
        new, changed = [], []
        for row in rows:
            key = (row.values["system_id"], row.values["external_id"])
            subject_ids = {self._subjects[s] for s in row.subjects}
            old = existing.get(key)
            if old is None:
                new.append((row, subject_ids))
            elif _differs(old, row.values, subject_ids):
                changed.append((row, subject_ids, old["id"]))
            else:
                self.result.unchanged += 1
                self.result.last_outcome, self.result.last_id = "unchanged", old["id"]
        conn = self.session.connection()
        table = Record.__table__
        links: list[dict[str, int]] = []
        if new:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            params = [
                {**row.values, "ingested_at": self._now, "updated_at": self._now} for row, _ in new
            ]
            new_ids = [r[0] for r in conn.execute(stmt, params)]
            for (_, subject_ids), record_id in zip(new, new_ids, strict=True):
                links.extend({"record_id": record_id, "subject_id": sid} for sid in subject_ids)
            self.result.inserted += len(new)
            self.result.last_outcome, self.result.last_id = "inserted", new_ids[-1]
        if changed:
            stmt = update(table).where(table.c.id == bindparam("b_id"))
            conn.execute(
                stmt,
                [
                    {
                        **{
                            k: v
                            for k, v in row.values.items()
                            if k not in ("system_id", "external_id")
                        },
                        "updated_at": self._now,
                        "b_id": record_id,
                    }
                    for row, _, record_id in changed
                ],
            )
            changed_ids = [record_id for _, _, record_id in changed]
            conn.execute(delete(record_subject).where(record_subject.c.record_id.in_(changed_ids)))
            for _, subject_ids, record_id in changed:
                links.extend({"record_id": record_id, "subject_id": sid} for sid in subject_ids)
            self.result.updated += len(changed)
            self.result.last_outcome, self.result.last_id = "updated", changed_ids[-1]
        if links:
            conn.execute(insert(record_subject), links)

    def _existing(self, rows: list[_Row]) -> dict[tuple[int, str], dict[str, Any]]:
        table = Record.__table__
        by_system: dict[int, list[str]] = {}
        for row in rows:
            by_system.setdefault(row.values["system_id"], []).append(row.values["external_id"])
        found: dict[tuple[int, str], dict[str, Any]] = {}
        conn = self.session.connection()
        for system_id, external_ids in by_system.items():
            for start in range(0, len(external_ids), 900):
                chunk = external_ids[start : start + 900]
                result = conn.execute(
                    select(
                        table.c.id,
                        table.c.external_id,
                        table.c.content_digest,
                        *(table.c[name] for name in _COMPARED),
                    ).where(table.c.system_id == system_id, table.c.external_id.in_(chunk))
                )
                for row in result.mappings():
                    found[(system_id, row["external_id"])] = dict(row)
        if found:
            ids = [v["id"] for v in found.values()]
            links: dict[int, set[int]] = {i: set() for i in ids}
            for start in range(0, len(ids), 900):
                for record_id, subject_id in conn.execute(
                    select(record_subject.c.record_id, record_subject.c.subject_id).where(
                        record_subject.c.record_id.in_(ids[start : start + 900])
                    )
                ):
                    links[record_id].add(subject_id)
            for value in found.values():
                value["subject_ids"] = links[value["id"]]
        return found

    def finish(self) -> IngestResult:
        """Write what is pending and audit the import; raise if all-or-nothing failed."""
        if self.result.rejected and not self.skip_invalid:
            self._pending.clear()
            errors = [
                FieldError(e.field, e.message, line)
                for line, errs in self.result.rejected_lines
                for e in errs
            ]
            raise ValidationFailed(
                f"{self.result.rejected} of {self.result.received} records are invalid; "
                "nothing was imported.",
                errors,
            )
        self.flush()
        details: dict[str, Any] = {"source": self.source, **self.result.as_dict()}
        audit.record(self.session, actor=self.actor, action="records.ingest", details=details)
        return self.result


def _differs(old: dict[str, Any], values: dict[str, Any], subject_ids: set[int]) -> bool:
    if old["content_digest"] != values["content_digest"] or old["subject_ids"] != subject_ids:
        return True
    return any(_normal(old[name]) != _normal(values[name]) for name in _COMPARED)


def _normal(value: Any) -> Any:
    # SQLite hands back naive datetimes from a Core select: compare them as UTC
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def get(session: Session, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound(f"Record {record_id} does not exist.")
    return record


def read(session: Session, record_id: int, *, actor: Actor) -> Record:
    record = get(session, record_id)
    audit.record(
        session,
        actor=actor,
        action="record.read",
        object_type="record",
        object_id=record.id,
        organization_id=record.organization_id,
    )
    return record


def list_records(
    session: Session,
    *,
    after: int | None,
    limit: int,
    actor: Actor,
    client: str | None = None,
    category: str | None = None,
    system: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
) -> list[Record]:
    from auditor.services.inventory import resolve

    query = select(Record).order_by(Record.id).limit(limit)
    if after is not None:
        query = query.where(Record.id > after)
    filters: dict[str, str] = {}
    for name, model, column, code in (
        ("client", Organization, Record.organization_id, client),
        ("category", DataCategory, Record.category_id, category),
        ("system", System, Record.system_id, system),
    ):
        if code:
            query = query.where(column == resolve(session, model, code, name).id)
            filters[name] = code
    if created_from:
        query = query.where(Record.created_at >= created_from)
    if created_to:
        query = query.where(Record.created_at < created_to)
    records = list(session.scalars(query).all())
    audit.record(
        session,
        actor=actor,
        action="record.list",
        object_type="record",
        details={"filters": filters, "returned": len(records)},
    )
    return records


def codes(session: Session) -> dict[str, dict[int, str]]:
    """id -> code maps for showing records."""
    return {
        name: {i: c for c, i in session.execute(select(model.code, model.id)).all()}
        for name, model in (
            ("system", System),
            ("category", DataCategory),
            ("client", Organization),
        )
    }

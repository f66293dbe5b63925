"""Record ingest: streamed, validated, batched, idempotent (upsert on system + external id)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from pydantic import ValidationError
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import DataCategory, Organization, Record, System, record_subject
from auditor.schemas import json_input
from auditor.schemas.common import field_errors
from auditor.schemas.records import RecordIn
from auditor.services import audit, pan
from auditor.services.context import Actor
from auditor.services.errors import FieldError, MalformedRequest, ValidationFailed
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
# SQLite: SQLAlchemy's per-value type processing costs more than SQLite's own work in bulk, so
# new rows go in as the text that UTCDateTime, Date and JSON store (a test holds them equal)
_SQLITE_INSERT = (
    "INSERT INTO record (system_id, external_id, category_id, organization_id, created_at,"
    " closed_at, document_date, event_at, content, content_digest, pan_redactions, ingested_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_LINK = "INSERT INTO record_subject (record_id, subject_id) VALUES (?, ?)"


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


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
            data = json_input.loads(raw)
        except MalformedRequest:
            self.reject(line, [FieldError("line", "not valid JSON")])
            return
        except ValidationFailed as exc:
            self.reject(line, [FieldError(e.field, e.message, line) for e in exc.errors])
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
            unstorable = json_input.problems(data, "")
            if unstorable:  # NUL characters, integers beyond 64 bits: both databases refuse them
                raise ValidationFailed("invalid record", unstorable)
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
        # a later line replaced an earlier one
        self.result.updated += len(self._pending) - len(rows)
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
        table = cast(Table, Record.__table__)
        links: list[tuple[int, int]] = []
        if new:
            new_ids = self._insert([row.values for row, _ in new])
            for row, subject_ids in new:
                record_id = new_ids[(row.values["system_id"], row.values["external_id"])]
                links.extend((record_id, sid) for sid in subject_ids)
            self.result.inserted += len(new)
            self.result.last_outcome, self.result.last_id = "inserted", record_id
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
                links.extend((record_id, sid) for sid in subject_ids)
            self.result.updated += len(changed)
            self.result.last_outcome, self.result.last_id = "updated", changed_ids[-1]
        if links and conn.dialect.name == "sqlite":
            conn.exec_driver_sql(_SQLITE_LINK, links)
        elif links:
            conn.execute(
                insert(record_subject), [{"record_id": r, "subject_id": s} for r, s in links]
            )

    def _insert(self, rows: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
        """Insert new records; their ids by (system_id, external_id)."""
        conn = self.session.connection()
        table = cast(Table, Record.__table__)
        if conn.dialect.name == "sqlite":
            when, now = _sqlite_datetime, _sqlite_datetime(self._now)
            json = table.c.content.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            assert json is not None  # JSONType always processes its values
            # fmt: off
            params = [
                (v["system_id"], v["external_id"], v["category_id"], v["organization_id"],
                 when(v["created_at"]), when(v["closed_at"]), _sqlite_date(v["document_date"]),
                 when(v["event_at"]), json(v["content"]), v["content_digest"],
                 v["pan_redactions"], now, now)
                for v in rows
            ]
            # fmt: on
            conn.exec_driver_sql(_SQLITE_INSERT, params)
        else:
            stamps = {"ingested_at": self._now, "updated_at": self._now}
            conn.execute(insert(table), [{**v, **stamps} for v in rows])
        # not RETURNING: in parameter order SQLAlchemy would insert one row per statement on SQLite
        return {(r.system_id, r.external_id): r.id for r in self._by_key(rows, table.c.id)}

    def _by_key(self, rows: list[dict[str, Any]], *columns: Any) -> Iterator[Any]:
        """The columns of the stored records with the rows' (system_id, external_id)."""
        table = cast(Table, Record.__table__)
        by_system: dict[int, list[str]] = {}
        for values in rows:
            by_system.setdefault(values["system_id"], []).append(values["external_id"])
        for system_id, external_ids in by_system.items():
            for start in range(0, len(external_ids), 900):
                yield from self.session.connection().execute(
                    select(table.c.system_id, table.c.external_id, *columns).where(
                        table.c.system_id == system_id,
                        table.c.external_id.in_(external_ids[start : start + 900]),
                    )
                )

    def _existing(self, rows: list[_Row]) -> dict[tuple[int, str], dict[str, Any]]:
        table = cast(Table, Record.__table__)
        conn = self.session.connection()
        columns = [table.c.id, table.c.content_digest, *(table.c[name] for name in _COMPARED)]
        found = {
            (r.system_id, r.external_id): r._asdict()
            for r in self._by_key([row.values for row in rows], *columns)
        }
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

"""Portability (R30, Québec Law 25): the information collected from the individual, as JSON and
as CSV, for a verified request of a Québec-flagged subject or client.

"Collected from the individual" is read as every record linked to the subject (with its content,
other people's data severed as in the access package, R8), and the subject's identifiers and
consents. The JSON is the faithful copy; the CSV has one row per value (records: one row per
content field, by JSON path) so that a spreadsheet can filter it. A CSV cell that a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import DataCategory, PrivacyRequest, RequestItem, System
from auditor.services import retention
from auditor.services.context import Actor
from auditor.services.errors import Conflict
from auditor.services.requests.access.lookup import content_of, learn_people, read_batch
from auditor.services.requests.access.package import (
    disclosable_subject,
    record_redactions,
    subject_redactor,
)
from auditor.services.requests.access.records import BATCH, JsonRecords
from auditor.services.requests.access.redaction import OtherPerson, Redaction, Redactor, child_path
from auditor.services.requests.common import get, is_quebec, record_event
from auditor.services.requests.guards import require_searches_done

FORMAT = "auditor-portability-export"
VERSION = 1
CSV_COLUMNS = (
    "section",
    "item",
    "category",
    "system",
    "external_id",
    "created_at",
    "closed_at",
    "document_date",
    "event_at",
    "field",
    "value",
)
DATES = ("created_at", "closed_at", "document_date", "event_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _cell(value: Any) -> str:
    text = _text(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def leaves(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every scalar of a JSON value with its path (``$.lines[0].sku``); empty containers too."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, child_path(path, str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    elif isinstance(value, dict | list):
        yield path, orjson.dumps(value).decode()
    else:
        yield path, value


class _Writer:
    """The CSV, row by row."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")
        self.writer.writerow(CSV_COLUMNS)

    def row(self, section: str, item: Any, field: Any, value: Any, **columns: Any) -> None:
        values = {"section": section, "item": item, "field": field, "value": value, **columns}
        self.writer.writerow([_cell(values.get(name)) for name in CSV_COLUMNS])

    def data(self) -> bytes:
        return self.buffer.getvalue().encode("utf-8")


def _records(
    session: Session,
    subject_id: int,
    redactor: Redactor,
    redacted: list[tuple[Redaction, str, str]],
) -> Iterator[dict[str, Any]]:
    """The subject's records in id order, content severed, ``batch`` rows per query."""
    categories = dict(session.execute(select(DataCategory.id, DataCategory.code)).all())
    systems = dict(session.execute(select(System.id, System.code)).all())
    people: dict[int, OtherPerson] = {}
    after = 0
    while rows := read_batch(session, subject_id, after=after, limit=BATCH):
        linked = retention.subjects_of(session, [row.id for row in rows])
        learn_people(session, set().union(*linked.values()) - {subject_id}, people)
        for row in rows:
            others = [people[s] for s in sorted(linked.get(row.id, ())) if s != subject_id]
            content, found = redactor.redact(row.id, content_of(row), others)
            category, system = categories[row.category_id], systems[row.system_id]
            redacted.extend((r, category, system) for r in found)
            yield {
                "id": row.id,
                "category": category,
                "system": system,
                "external_id": row.external_id,
                **{name: getattr(row, name) for name in DATES},
                "content": content,
            }
        after = rows[-1].id


def portability_export(
    session: Session, request: PrivacyRequest, *, now: dt.datetime | None = None
) -> tuple[bytes, bytes]:
    """The export as (JSON, CSV) bytes; records an ``exported`` request item and the severings.
    Only for a Québec-flagged subject or client (Conflict otherwise)."""
    moment = now or utcnow()
    subject = disclosable_subject(request)
    if not is_quebec(request):
        raise Conflict(
            "Portability (R30) is available only for a Québec-flagged subject or client."
        )
    identifiers = [
        {"kind": i.kind, "value": i.value, "recorded_at": i.created_at} for i in subject.identifiers
    ]
    consents = [
        {
            "purpose": c.purpose.code,
            "given_at": c.given_at,
            "method": c.method,
            "text_version": c.text_version,
            "withdrawn_at": c.withdrawn_at,
            "withdrawal_method": c.withdrawal_method,
        }
        for c in sorted(subject.consents, key=lambda c: (c.given_at, c.id))
    ]
    table = _Writer()
    for index, identifier in enumerate(identifiers, start=1):
        table.row(
            "identifier",
            index,
            identifier["kind"],
            identifier["value"],
            created_at=identifier["recorded_at"],
        )
    for index, consent in enumerate(consents, start=1):
        for field, value in consent.items():
            table.row("consent", index, field, value)
    redacted: list[tuple[Redaction, str, str]] = []
    records = JsonRecords()
    redactor = subject_redactor(request, subject)
    for record in _records(session, subject.id, redactor, redacted):
        records.add(record)
        columns = {name: record[name] for name in ("category", "system", "external_id", *DATES)}
        for path, value in leaves(record["content"]):
            table.row("record", record["id"], path, value, **columns)
    head = {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": moment,
        "request": request.reference,
        "subject": {"ref": subject.ref, "display_name": subject.display_name},
        "identifiers": identifiers,
        "consents": consents,
    }
    record_redactions(session, request, redacted)
    session.add(
        RequestItem(
            request_id=request.id,
            kind="exported",
            note=f"portability export (JSON and CSV): records {records.count}, "
            f"identifiers {len(identifiers)}, consents {len(consents)}",
            hold_ids=[],
            created_at=moment,
        )
    )
    session.flush()
    return records.document(head), table.data()


def export_portability(
    session: Session,
    reference: str,
    *,
    actor: Actor,
    form: str,
    now: dt.datetime | None = None,
) -> tuple[bytes, bytes]:
    """The export of a request by reference, audited as ``request.portability_export`` with the
    format handed out and counts (no personal data)."""
    request = get(session, reference)
    json_data, csv_data = portability_export(session, request, now=now)
    require_searches_done(request, "exporting the information collected from the individual")
    record_event(
        session,
        request,
        "request.portability_export",
        actor=actor,
        now=now,
        format=form,
        subject=request.subject.ref if request.subject else None,
        json_bytes=len(json_data),
        csv_bytes=len(csv_data),
    )
    return json_data, csv_data

"""Record endpoints: single upsert, bulk NDJSON ingest, reads and filtered lists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy.orm import Session

from auditor.db import get_session
from auditor.models import Record
from auditor.permissions import Permission
from auditor.schemas.common import Page, decode_cursor, encode_cursor
from auditor.schemas.records import (
    BulkQuery,
    IngestSummary,
    RecordIn,
    RecordOut,
    RecordQuery,
    RecordWriteResult,
)
from auditor.services import ingest, records, subjects
from auditor.services.errors import FieldError, UnsupportedMediaType, ValidationFailed
from auditor.views.api import API_PREFIX, page_limit, route

bp = Blueprint("records", __name__, url_prefix=API_PREFIX)
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq")


def records_out(session: Session, items: list[Record]) -> list[RecordOut]:
    names = records.codes(session)
    refs = subjects.subject_refs(session, [r.id for r in items])
    return [
        RecordOut(
            id=r.id,
            system=names["system"][r.system_id],
            external_id=r.external_id,
            category=names["category"][r.category_id],
            client=names["client"][r.organization_id],
            subjects=refs[r.id],
            created_at=r.created_at,
            closed_at=r.closed_at,
            document_date=r.document_date,
            event_at=r.event_at,
            content=r.content,
            content_digest=r.content_digest,
            pan_redactions=r.pan_redactions,
            ingested_at=r.ingested_at,
            updated_at=r.updated_at,
        )
        for r in items
    ]


def _ingestor(session: Session, actor: Any, *, skip_invalid: bool, source: str) -> ingest.Ingestor:
    config = current_app.config
    return ingest.Ingestor(
        session,
        actor=actor,
        pan_policy=config["PAN_POLICY"],
        skip_invalid=skip_invalid,
        batch_size=config["INGEST_BATCH_SIZE"],
        max_content_bytes=config["MAX_RECORD_CONTENT_BYTES"],
        source=source,
    )


@route(
    bp,
    "/records",
    "POST",
    summary="Create or update one record",
    permission=Permission.RECORDS_WRITE,
    body=RecordIn,
    response=RecordWriteResult,
    errors=(400, 415, 422),
)
def records_upsert(body: RecordIn, actor: Any) -> RecordWriteResult:
    session = get_session()
    ingestor = _ingestor(session, actor, skip_invalid=False, source="api")
    ingestor.add(1, body)
    try:
        result = ingestor.finish()
    except ValidationFailed as exc:  # one record: line numbers mean nothing to the caller
        errors = [FieldError(e.field, e.message) for e in exc.errors]
        raise ValidationFailed("The record is not valid.", errors) from None
    record = records.get(session, result.last_id or 0)
    return RecordWriteResult(record=records_out(session, [record])[0], outcome=result.last_outcome)


@route(
    bp,
    "/records/bulk",
    "POST",
    summary="Ingest records as NDJSON (one JSON record per line)",
    permission=Permission.RECORDS_WRITE,
    body=RecordIn,
    body_media_type="application/x-ndjson",
    query=BulkQuery,
    response=IngestSummary,
    errors=(400, 413, 415, 422),
)
def records_bulk(query: BulkQuery, actor: Any) -> IngestSummary:
    if request.mimetype not in NDJSON_TYPES:
        raise UnsupportedMediaType("Send the body as application/x-ndjson.")
    request.max_content_length = current_app.config["BULK_MAX_CONTENT_LENGTH"]
    session = get_session()
    ingestor = _ingestor(session, actor, skip_invalid=query.skip_invalid, source="api-bulk")
    for number, raw in enumerate(request.stream, start=1):
        ingestor.add_json_line(number, raw)
    result = ingestor.finish()
    return IngestSummary(
        **result.as_dict(),
        rejected_lines=[
            {"line": line, "errors": [e.as_dict() for e in errs]}
            for line, errs in result.rejected_lines
        ],
    )


@route(
    bp,
    "/records",
    "GET",
    summary="List records",
    permission=Permission.RECORDS_READ,
    query=RecordQuery,
    response=Page[RecordOut],
    errors=(422,),
)
def records_list(query: RecordQuery, actor: Any) -> Page[RecordOut]:
    session = get_session()
    limit = page_limit(query.limit)
    items = records.list_records(
        session,
        after=decode_cursor(query.cursor),
        limit=limit,
        actor=actor,
        client=query.client,
        category=query.category,
        system=query.system,
        created_from=query.created_from,
        created_to=query.created_to,
    )
    cursor = encode_cursor(items[-1].id) if len(items) == limit else None
    return Page[RecordOut](items=records_out(session, items), next_cursor=cursor)


@route(
    bp,
    "/records/<int:record_id>",
    "GET",
    summary="Read a record",
    permission=Permission.RECORDS_READ,
    response=RecordOut,
    errors=(404,),
)
def records_read(record_id: int, actor: Any) -> RecordOut:
    session = get_session()
    return records_out(session, [records.read(session, record_id, actor=actor)])[0]

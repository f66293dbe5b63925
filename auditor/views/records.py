"""Record endpoints: single upsert, bulk NDJSON ingest, reads and filtered lists."""

from __future__ import annotations

import typing
from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy.orm import Session

from auditor.permissions import Permission
from auditor.schemas.common import Page
from auditor.schemas.records import (
    BulkQuery,
    IngestSummary,
    RecordIn,
    RecordOut,
    RecordQuery,
    RecordWriteResult,
    RejectedLine,
    WriteOutcome,
)
from auditor.services import ingest, records
from auditor.services.context import Actor
from auditor.services.errors import FieldError, UnsupportedMediaType, ValidationFailed
from auditor.views.api import API_PREFIX, paginate, route
from auditor.views.limits import body_lines

bp = Blueprint("records", __name__, url_prefix=API_PREFIX)
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq")


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
)
def records_upsert(session: Session, body: RecordIn, actor: Actor) -> RecordWriteResult:
    ingestor = _ingestor(session, actor, skip_invalid=False, source="api")
    ingestor.add(1, body)
    try:
        result = ingestor.finish()
    except ValidationFailed as exc:  # one record: line numbers mean nothing to the caller
        errors = [FieldError(e.field, e.message) for e in exc.errors]
        raise ValidationFailed("The record is not valid.", errors) from None
    record = records.get(session, result.last_id or 0)
    assert result.last_outcome is not None  # one record was written
    return RecordWriteResult(
        record=records.records_out(session, [record])[0],
        outcome=typing.cast(WriteOutcome, result.last_outcome),
    )


@route(
    bp,
    "/records/bulk",
    "POST",
    summary="Ingest records as NDJSON (one JSON record per line)",
    permission=Permission.RECORDS_WRITE,
    body=RecordIn,
    body_media_type="application/x-ndjson",
    errors=(413,),
)
def records_bulk(session: Session, query: BulkQuery, actor: Actor) -> IngestSummary:
    if request.mimetype not in NDJSON_TYPES:
        raise UnsupportedMediaType("Send the body as application/x-ndjson.")
    limit = int(current_app.config["BULK_MAX_CONTENT_LENGTH"])
    request.max_content_length = limit
    ingestor = _ingestor(session, actor, skip_invalid=query.skip_invalid, source="api-bulk")
    for number, raw in enumerate(body_lines(limit), start=1):
        ingestor.add_json_line(number, raw)
    result = ingestor.finish()
    return IngestSummary(
        **result.as_dict(),
        rejected_lines=[
            RejectedLine(line=line, errors=[e.as_dict() for e in errs])
            for line, errs in result.rejected_lines
        ],
    )


@route(
    bp, "/records", "GET", summary="List records", permission=Permission.RECORDS_READ, audits=True
)
def records_list(session: Session, query: RecordQuery, actor: Actor) -> Page[RecordOut]:
    return paginate(
        query,
        lambda after, limit: records.list_records(
            session,
            after=after,
            limit=limit,
            actor=actor,
            client=query.client,
            category=query.category,
            system=query.system,
            created_from=query.created_from,
            created_to=query.created_to,
        ),
        out_all=lambda rows: records.records_out(session, rows),
    )


@route(
    bp,
    "/records/<int:record_id>",
    "GET",
    summary="Read a record",
    permission=Permission.RECORDS_READ,
    audits=True,
)
def records_read(session: Session, record_id: int, actor: Actor) -> RecordOut:
    return records.records_out(session, [records.read(session, record_id, actor=actor)])[0]

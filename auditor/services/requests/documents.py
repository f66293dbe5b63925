"""A privacy request's file: the written request and later documents, stored with their SHA-256.

Documents are personal data: their bytes and names stay in ``request_document``; the audit trail
records only their kind, media type and size.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import PrivacyRequest, RequestDocument
from auditor.schemas.requests import DocumentIn, DocumentOut, FileIn
from auditor.services.context import Actor
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from auditor.services.requests.common import get, record_event

# decoded size of one document; the JSON body limit (MAX_CONTENT_LENGTH, 1 MiB) bounds it too
MAX_DOCUMENT_BYTES = 512 * 1024
TEXT_MEDIA_TYPE = "text/plain"


def decode(file: FileIn, field: str = "document") -> bytes:
    """The file's bytes, or a field error: not base64, or over MAX_DOCUMENT_BYTES."""
    try:
        content = base64.b64decode(file.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            "The document is not valid.",
            [FieldError(f"{field}.content_base64", "not valid base64")],
        ) from None
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(
            "The document is too large.",
            [FieldError(f"{field}.content_base64", f"over {MAX_DOCUMENT_BYTES} bytes decoded")],
        )
    return content


def new_document(
    *,
    kind: str,
    content: bytes,
    media_type: str,
    filename: str | None,
    actor: Actor,
    now: dt.datetime,
) -> RequestDocument:
    return RequestDocument(
        kind=kind,
        filename=filename,
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        added_by=actor.name,
        added_at=now,
    )


def text_document(text: str, *, actor: Actor, now: dt.datetime) -> RequestDocument:
    """The written request typed in (an email body, notes of a letter) as a UTF-8 document."""
    return new_document(
        kind="written_request",
        content=text.encode("utf-8"),
        media_type=TEXT_MEDIA_TYPE,
        filename=None,
        actor=actor,
        now=now,
    )


def attach_document(
    session: Session,
    reference: str,
    data: DocumentIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> RequestDocument:
    """Add a document to a request's file (open or answered: letters come after the answer)."""
    request = get(session, reference)
    content = decode(data, field="content_base64")
    moment = now or utcnow()
    document = new_document(
        kind=data.kind,
        content=content,
        media_type=data.media_type,
        filename=data.filename,
        actor=actor,
        now=moment,
    )
    request.documents.append(document)
    session.flush()
    record_event(
        session,
        request,
        "request.document_add",
        actor=actor,
        now=moment,
        document=document.id,
        kind=document.kind,
        media_type=document.media_type,
        size=document.size,
    )
    return document


def read_document(
    session: Session, reference: str, document_id: int, *, actor: Actor
) -> RequestDocument:
    """One document with its bytes; reading it is audited (it is personal data)."""
    request = get(session, reference)
    document = session.scalar(
        select(RequestDocument).where(
            RequestDocument.id == document_id, RequestDocument.request_id == request.id
        )
    )
    if document is None:
        raise NotFound("The request has no document with that id.")
    record_event(
        session,
        request,
        "request.document_read",
        actor=actor,
        document=document.id,
        kind=document.kind,
    )
    return document


def document_out(document: RequestDocument, *, filename: bool = True) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        kind=document.kind,
        filename=document.filename if filename else None,  # a file name may name the person
        media_type=document.media_type,
        size=document.size,
        sha256=document.sha256,
        added_by=document.added_by,
        added_at=document.added_at,
    )


def documents_of(request: PrivacyRequest, *, filenames: bool = True) -> list[DocumentOut]:
    return [document_out(document, filename=filenames) for document in request.documents]

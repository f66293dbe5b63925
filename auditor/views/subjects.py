"""Data-subject endpoints: subjects, identifiers, consents, and the look-up across all records."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from auditor.db import get_session
from auditor.permissions import Permission
from auditor.schemas.common import Page, PageQuery, decode_cursor, encode_cursor
from auditor.schemas.records import RecordOut
from auditor.schemas.subjects import (
    ConsentIn,
    ConsentOut,
    ConsentWithdrawal,
    IdentifierIn,
    SubjectIn,
    SubjectLookup,
    SubjectOut,
    SubjectUpdate,
)
from auditor.services import subjects
from auditor.views.api import API_PREFIX, page_limit, route
from auditor.views.records import records_out

bp = Blueprint("subjects", __name__, url_prefix=API_PREFIX)

from auditor.schemas.common import OutputModel  # noqa: E402


class SubjectLookupOut(OutputModel):
    subjects: list[SubjectOut]
    records: list[RecordOut]
    next_cursor: str | None


class SubjectQuery(PageQuery):
    organization: str | None = None


@route(
    bp,
    "/subjects",
    "GET",
    summary="List data subjects",
    permission=Permission.SUBJECTS_READ,
    query=SubjectQuery,
    response=Page[SubjectOut],
    errors=(422,),
)
def subjects_list(query: SubjectQuery, actor: Any) -> Page[SubjectOut]:
    session = get_session()
    limit = page_limit(query.limit)
    items = subjects.list_subjects(
        session,
        after=decode_cursor(query.cursor),
        limit=limit,
        actor=actor,
        organization=query.organization,
    )
    cursor = encode_cursor(items[-1].id) if len(items) == limit else None
    return Page[SubjectOut](items=[subjects.to_out(s) for s in items], next_cursor=cursor)


@route(
    bp,
    "/subjects",
    "POST",
    summary="Create a data subject",
    permission=Permission.SUBJECTS_WRITE,
    body=SubjectIn,
    response=SubjectOut,
    status=201,
    errors=(400, 409, 415, 422),
)
def subjects_create(body: SubjectIn, actor: Any) -> SubjectOut:
    return subjects.to_out(subjects.create(get_session(), body, actor=actor))


@route(
    bp,
    "/subjects/<ref>",
    "GET",
    summary="Read a data subject",
    permission=Permission.SUBJECTS_READ,
    response=SubjectOut,
    errors=(404,),
)
def subjects_read(ref: str, actor: Any) -> SubjectOut:
    return subjects.to_out(subjects.read(get_session(), ref, actor=actor))


@route(
    bp,
    "/subjects/<ref>",
    "PATCH",
    summary="Change a data subject",
    permission=Permission.SUBJECTS_WRITE,
    body=SubjectUpdate,
    response=SubjectOut,
    errors=(400, 404, 415, 422),
)
def subjects_update(ref: str, body: SubjectUpdate, actor: Any) -> SubjectOut:
    return subjects.to_out(subjects.update(get_session(), ref, body, actor=actor))


@route(
    bp,
    "/subjects/<ref>",
    "DELETE",
    summary="Delete a data subject without records",
    permission=Permission.SUBJECTS_WRITE,
    status=204,
    errors=(404, 409),
)
def subjects_delete(ref: str, actor: Any) -> None:
    subjects.delete(get_session(), ref, actor=actor)


@route(
    bp,
    "/subjects/<ref>/identifiers",
    "POST",
    summary="Add an identifier to a subject",
    permission=Permission.SUBJECTS_WRITE,
    body=IdentifierIn,
    response=SubjectOut,
    status=201,
    errors=(400, 404, 409, 415, 422),
)
def subjects_add_identifier(ref: str, body: IdentifierIn, actor: Any) -> SubjectOut:
    return subjects.to_out(subjects.add_identifier(get_session(), ref, body, actor=actor))


@route(
    bp,
    "/subjects/<ref>/consents",
    "POST",
    summary="Record a consent",
    permission=Permission.SUBJECTS_WRITE,
    body=ConsentIn,
    response=ConsentOut,
    status=201,
    errors=(400, 404, 409, 415, 422),
)
def consents_create(ref: str, body: ConsentIn, actor: Any) -> ConsentOut:
    return subjects.consent_out(subjects.add_consent(get_session(), ref, body, actor=actor))


@route(
    bp,
    "/subjects/<ref>/consents/<int:consent_id>/withdraw",
    "POST",
    summary="Record a consent withdrawal",
    permission=Permission.SUBJECTS_WRITE,
    body=ConsentWithdrawal,
    response=ConsentOut,
    errors=(400, 404, 409, 415, 422),
)
def consents_withdraw(ref: str, consent_id: int, body: ConsentWithdrawal, actor: Any) -> ConsentOut:
    consent = subjects.withdraw_consent(get_session(), ref, consent_id, body, actor=actor)
    return subjects.consent_out(consent)


@route(
    bp,
    "/subjects/lookup",
    "POST",
    summary="Find everything held about a person by email, phone or name",
    permission=Permission.SUBJECTS_READ,
    body=SubjectLookup,
    response=SubjectLookupOut,
    errors=(400, 415, 422),
)
def subjects_lookup(body: SubjectLookup, actor: Any) -> SubjectLookupOut:
    session = get_session()
    limit = page_limit(body.limit)
    found, records = subjects.lookup(
        session, body.kind, body.value, after=decode_cursor(body.cursor), limit=limit, actor=actor
    )
    cursor = encode_cursor(records[-1].id) if len(records) == limit else None
    return SubjectLookupOut(
        subjects=[subjects.to_out(s) for s in found],
        records=records_out(session, records),
        next_cursor=cursor,
    )

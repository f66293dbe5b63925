"""Data-subject endpoints: subjects, identifiers, consents, and the look-up across all records."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy.orm import Session

from auditor.permissions import Permission
from auditor.schemas.common import Page, decode_cursor, encode_cursor
from auditor.schemas.records import SubjectLookupOut
from auditor.schemas.subjects import (
    ConsentIn,
    ConsentOut,
    ConsentWithdrawal,
    IdentifierIn,
    SubjectIn,
    SubjectLookup,
    SubjectOut,
    SubjectQuery,
    SubjectUpdate,
)
from auditor.services import records as record_service
from auditor.services import subjects
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, page_limit, paginate, route

bp = Blueprint("subjects", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/subjects",
    "GET",
    summary="List data subjects",
    permission=Permission.SUBJECTS_READ,
    audits=True,
)
def subjects_list(session: Session, query: SubjectQuery, actor: Actor) -> Page[SubjectOut]:
    return paginate(
        query,
        lambda after, limit: subjects.list_subjects(
            session, after=after, limit=limit, actor=actor, organization=query.organization
        ),
        subjects.to_out,
    )


@route(
    bp,
    "/subjects",
    "POST",
    summary="Create a data subject",
    permission=Permission.SUBJECTS_WRITE,
    status=201,
    errors=(409,),
)
def subjects_create(session: Session, body: SubjectIn, actor: Actor) -> SubjectOut:
    return subjects.to_out(subjects.create(session, body, actor=actor))


@route(
    bp,
    "/subjects/<ref>",
    "GET",
    summary="Read a data subject",
    permission=Permission.SUBJECTS_READ,
    audits=True,
)
def subjects_read(session: Session, ref: str, actor: Actor) -> SubjectOut:
    return subjects.to_out(subjects.read(session, ref, actor=actor))


@route(
    bp,
    "/subjects/<ref>",
    "PATCH",
    summary="Change a data subject",
    permission=Permission.SUBJECTS_WRITE,
)
def subjects_update(session: Session, ref: str, body: SubjectUpdate, actor: Actor) -> SubjectOut:
    return subjects.to_out(subjects.update(session, ref, body, actor=actor))


@route(
    bp,
    "/subjects/<ref>",
    "DELETE",
    summary="Delete a data subject without records",
    permission=Permission.SUBJECTS_WRITE,
    status=204,
    errors=(409,),
)
def subjects_delete(session: Session, ref: str, actor: Actor) -> None:
    subjects.delete(session, ref, actor=actor)


@route(
    bp,
    "/subjects/<ref>/identifiers",
    "POST",
    summary="Add an identifier to a subject",
    permission=Permission.SUBJECTS_WRITE,
    status=201,
    errors=(409,),
)
def subjects_add_identifier(
    session: Session, ref: str, body: IdentifierIn, actor: Actor
) -> SubjectOut:
    return subjects.to_out(subjects.add_identifier(session, ref, body, actor=actor))


@route(
    bp,
    "/subjects/<ref>/consents",
    "POST",
    summary="Record a consent",
    permission=Permission.SUBJECTS_WRITE,
    status=201,
    errors=(409,),
)
def consents_create(session: Session, ref: str, body: ConsentIn, actor: Actor) -> ConsentOut:
    return subjects.consent_out(subjects.add_consent(session, ref, body, actor=actor))


@route(
    bp,
    "/subjects/<ref>/consents/<int:consent_id>/withdraw",
    "POST",
    summary="Record a consent withdrawal",
    permission=Permission.SUBJECTS_WRITE,
    errors=(409,),
)
def consents_withdraw(
    session: Session, ref: str, consent_id: int, body: ConsentWithdrawal, actor: Actor
) -> ConsentOut:
    consent = subjects.withdraw_consent(session, ref, consent_id, body, actor=actor)
    return subjects.consent_out(consent)


@route(
    bp,
    "/subjects/lookup",
    "POST",
    summary="Find everything held about a person by email, phone or name",
    permission=Permission.SUBJECTS_READ,
)
def subjects_lookup(session: Session, body: SubjectLookup, actor: Actor) -> SubjectLookupOut:
    limit = page_limit(body.limit)
    found, records = subjects.lookup(
        session, body.kind, body.value, after=decode_cursor(body.cursor), limit=limit, actor=actor
    )
    cursor = encode_cursor(records[-1].id) if len(records) == limit else None
    return SubjectLookupOut(
        subjects=[subjects.to_out(s) for s in found],
        records=record_service.records_out(session, records),
        next_cursor=cursor,
    )

"""Retention hold endpoints (R19): list, place, read, release."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy.orm import Session

from auditor.permissions import Permission
from auditor.schemas.common import Page
from auditor.schemas.holds import HoldIn, HoldOut, HoldQuery, HoldRelease
from auditor.services import holds
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, paginate, route

bp = Blueprint("holds", __name__, url_prefix=API_PREFIX)


@route(bp, "/holds", "GET", summary="List retention holds", permission=Permission.HOLDS_READ)
def holds_list(session: Session, query: HoldQuery) -> Page[HoldOut]:
    return paginate(
        query,
        lambda after, limit: holds.list_holds(
            session,
            status=query.status,
            kind=query.kind,
            scope=query.scope,
            value=query.value,
            reference=query.reference,
            after=after,
            limit=limit,
        ),
        holds.to_out,
    )


@route(
    bp,
    "/holds",
    "POST",
    summary="Place a legal, breach or CRA-objection hold",
    permission=Permission.HOLDS_MANAGE,
    status=201,
)
def holds_create(session: Session, body: HoldIn, actor: Actor) -> HoldOut:
    return holds.to_out(holds.place(session, body, actor=actor))


@route(
    bp,
    "/holds/<int:hold_id>",
    "GET",
    summary="Read a retention hold",
    permission=Permission.HOLDS_READ,
)
def holds_read(session: Session, hold_id: int) -> HoldOut:
    return holds.to_out(holds.get(session, hold_id))


@route(
    bp,
    "/holds/<int:hold_id>/release",
    "POST",
    summary="Release a retention hold, with a reason",
    permission=Permission.HOLDS_MANAGE,
    errors=(409,),
)
def holds_release(session: Session, hold_id: int, body: HoldRelease, actor: Actor) -> HoldOut:
    return holds.to_out(holds.release(session, hold_id, reason=body.reason, actor=actor))

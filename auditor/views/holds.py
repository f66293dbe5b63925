"""Retention hold endpoints (R19): list, place, read, release."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from auditor.db import get_session
from auditor.permissions import Permission
from auditor.schemas.common import Page, decode_cursor, encode_cursor
from auditor.schemas.holds import HoldIn, HoldOut, HoldQuery, HoldRelease
from auditor.services import holds
from auditor.views.api import API_PREFIX, page_limit, route

bp = Blueprint("holds", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/holds",
    "GET",
    summary="List retention holds",
    permission=Permission.HOLDS_READ,
    query=HoldQuery,
    response=Page[HoldOut],
    errors=(422,),
)
def holds_list(query: HoldQuery, actor: Any) -> Page[HoldOut]:
    limit = page_limit(query.limit)
    items = holds.list_holds(
        get_session(),
        status=query.status,
        kind=query.kind,
        scope=query.scope,
        value=query.value,
        reference=query.reference,
        after=decode_cursor(query.cursor),
        limit=limit,
    )
    cursor = encode_cursor(items[-1].id) if len(items) == limit else None
    return Page[HoldOut](items=[holds.to_out(h) for h in items], next_cursor=cursor)


@route(
    bp,
    "/holds",
    "POST",
    summary="Place a legal, breach or CRA-objection hold",
    permission=Permission.HOLDS_MANAGE,
    body=HoldIn,
    response=HoldOut,
    status=201,
    errors=(400, 415, 422),
)
def holds_create(body: HoldIn, actor: Any) -> HoldOut:
    return holds.to_out(holds.place(get_session(), body, actor=actor))


@route(
    bp,
    "/holds/<int:hold_id>",
    "GET",
    summary="Read a retention hold",
    permission=Permission.HOLDS_READ,
    response=HoldOut,
    errors=(404,),
)
def holds_read(hold_id: int, actor: Any) -> HoldOut:
    return holds.to_out(holds.get(get_session(), hold_id))


@route(
    bp,
    "/holds/<int:hold_id>/release",
    "POST",
    summary="Release a retention hold, with a reason",
    permission=Permission.HOLDS_MANAGE,
    body=HoldRelease,
    response=HoldOut,
    errors=(400, 404, 409, 415, 422),
)
def holds_release(hold_id: int, body: HoldRelease, actor: Any) -> HoldOut:
    return holds.to_out(holds.release(get_session(), hold_id, reason=body.reason, actor=actor))

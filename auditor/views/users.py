"""User, token and audit-trail endpoints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from auditor.db import get_session
from auditor.keys import audit_origin, audit_public_key, audit_signing_key
from auditor.permissions import Permission
from auditor.schemas.common import Page, decode_cursor, encode_cursor
from auditor.schemas.users import (
    AuditEventOut,
    AuditQuery,
    CheckpointOut,
    Me,
    NewToken,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserUpdate,
    VerifyOut,
)
from auditor.services import audit, users
from auditor.views.api import API_PREFIX, page_limit, route

bp = Blueprint("users", __name__, url_prefix=API_PREFIX)


@route(bp, "/me", "GET", summary="Show who the token belongs to", permission=None, response=Me)
def me(actor: Any) -> Me:
    user = users.get_user(get_session(), actor.user_id)
    return Me(user=UserOut.model_validate(user), permissions=users.permissions_of(user))


@route(
    bp,
    "/users",
    "GET",
    summary="List users",
    permission=Permission.USERS_MANAGE,
    response=list[UserOut],
)
def users_list(actor: Any) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in users.list_users(get_session())]


@route(
    bp,
    "/users",
    "POST",
    summary="Create a user",
    permission=Permission.USERS_MANAGE,
    body=UserIn,
    response=UserOut,
    status=201,
    errors=(400, 409, 415, 422),
)
def users_create(body: UserIn, actor: Any) -> UserOut:
    return UserOut.model_validate(users.create_user(get_session(), body, actor=actor))


@route(
    bp,
    "/users/<int:user_id>",
    "PATCH",
    summary="Change a user's name, role or status",
    permission=Permission.USERS_MANAGE,
    body=UserUpdate,
    response=UserOut,
    errors=(400, 404, 415, 422),
)
def users_update(user_id: int, body: UserUpdate, actor: Any) -> UserOut:
    return UserOut.model_validate(users.update_user(get_session(), user_id, body, actor=actor))


@route(
    bp,
    "/users/<int:user_id>/tokens",
    "GET",
    summary="List a user's API tokens",
    permission=Permission.USERS_MANAGE,
    response=list[TokenOut],
    errors=(404,),
)
def tokens_list(user_id: int, actor: Any) -> list[TokenOut]:
    session = get_session()
    users.get_user(session, user_id)
    return [TokenOut.model_validate(t) for t in users.list_tokens(session, user_id)]


@route(
    bp,
    "/users/<int:user_id>/tokens",
    "POST",
    summary="Create an API token",
    permission=Permission.USERS_MANAGE,
    body=TokenIn,
    response=NewToken,
    status=201,
    errors=(400, 404, 409, 415, 422),
)
def tokens_create(user_id: int, body: TokenIn, actor: Any) -> NewToken:
    token, row = users.create_token(
        get_session(),
        user_id,
        body,
        actor=actor,
        default_ttl_days=current_app.config["TOKEN_TTL_DAYS"],
    )
    return NewToken(token=token, info=TokenOut.model_validate(row))


@route(
    bp,
    "/tokens/<int:token_id>",
    "DELETE",
    summary="Revoke an API token",
    permission=Permission.USERS_MANAGE,
    status=204,
    errors=(404,),
)
def tokens_revoke(token_id: int, actor: Any) -> None:
    users.revoke_token(get_session(), token_id, actor=actor)


@route(
    bp,
    "/audit/events",
    "GET",
    summary="List audit events",
    permission=Permission.AUDIT_READ,
    query=AuditQuery,
    response=Page[AuditEventOut],
    errors=(422,),
)
def audit_events(query: AuditQuery, actor: Any) -> Page[AuditEventOut]:
    limit = page_limit(query.limit)
    items = audit.list_events(
        get_session(),
        after=decode_cursor(query.cursor),
        limit=limit,
        action=query.action,
        organization_id=query.organization_id,
        since=query.since,
    )
    cursor = encode_cursor(items[-1].seq) if len(items) == limit else None
    return Page[AuditEventOut](
        items=[AuditEventOut.model_validate(e) for e in items], next_cursor=cursor
    )


@route(
    bp,
    "/audit/verify",
    "POST",
    summary="Verify the audit trail",
    permission=Permission.AUDIT_READ,
    response=VerifyOut,
)
def audit_verify(actor: Any) -> VerifyOut:
    report = audit.verify_and_record(
        get_session(), public_key=audit_public_key(), origin=audit_origin(), actor=actor
    )
    return VerifyOut.model_validate(report)


@route(
    bp,
    "/audit/checkpoints",
    "POST",
    summary="Sign a checkpoint of the audit trail",
    permission=Permission.AUDIT_CHECKPOINT,
    response=CheckpointOut,
    status=201,
    errors=(500,),
)
def audit_checkpoint(actor: Any) -> CheckpointOut:
    checkpoint = audit.create_checkpoint(
        get_session(), signing_key=audit_signing_key(), origin=audit_origin(), actor=actor
    )
    return CheckpointOut.model_validate(checkpoint)


@route(
    bp,
    "/audit/checkpoints/latest",
    "GET",
    summary="Read the latest signed checkpoint",
    permission=Permission.AUDIT_READ,
    response=CheckpointOut,
    errors=(404,),
)
def audit_checkpoint_latest(actor: Any) -> CheckpointOut:
    checkpoint = audit.latest_checkpoint(get_session())
    if checkpoint is None:
        from auditor.services.errors import NotFound

        raise NotFound("No checkpoint has been signed yet.")
    return CheckpointOut.model_validate(checkpoint)

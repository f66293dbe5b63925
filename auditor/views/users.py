"""User, token and audit-trail endpoints."""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy.orm import Session

from auditor.keys import audit_origin, audit_public_key, audit_signing_key
from auditor.permissions import Permission
from auditor.schemas.common import Page
from auditor.schemas.json_input import INT64_MAX
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
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, paginate, route

bp = Blueprint("users", __name__, url_prefix=API_PREFIX)


@route(bp, "/me", "GET", summary="Show who the token belongs to", permission=None)
def me(session: Session, actor: Actor) -> Me:
    assert actor.user_id is not None  # a token always belongs to a user
    user = users.get_user(session, actor.user_id)
    return Me(user=UserOut.model_validate(user), permissions=users.permissions_of(user))


@route(bp, "/users", "GET", summary="List users", permission=Permission.USERS_MANAGE)
def users_list(session: Session) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in users.list_users(session)]


@route(
    bp,
    "/users",
    "POST",
    summary="Create a user",
    permission=Permission.USERS_MANAGE,
    status=201,
    errors=(409,),
)
def users_create(session: Session, body: UserIn, actor: Actor) -> UserOut:
    return UserOut.model_validate(users.create_user(session, body, actor=actor))


@route(
    bp,
    "/users/<int:user_id>",
    "PATCH",
    summary="Change a user's name, role or status",
    permission=Permission.USERS_MANAGE,
)
def users_update(session: Session, user_id: int, body: UserUpdate, actor: Actor) -> UserOut:
    return UserOut.model_validate(users.update_user(session, user_id, body, actor=actor))


@route(
    bp,
    "/users/<int:user_id>/tokens",
    "GET",
    summary="List a user's API tokens",
    permission=Permission.USERS_MANAGE,
)
def tokens_list(session: Session, user_id: int) -> list[TokenOut]:
    users.get_user(session, user_id)
    return [TokenOut.model_validate(t) for t in users.list_tokens(session, user_id)]


@route(
    bp,
    "/users/<int:user_id>/tokens",
    "POST",
    summary="Create an API token",
    permission=Permission.USERS_MANAGE,
    status=201,
    errors=(409,),
)
def tokens_create(session: Session, user_id: int, body: TokenIn, actor: Actor) -> NewToken:
    token, row = users.create_token(
        session,
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
)
def tokens_revoke(session: Session, token_id: int, actor: Actor) -> None:
    users.revoke_token(session, token_id, actor=actor)


@route(bp, "/audit/events", "GET", summary="List audit events", permission=Permission.AUDIT_READ)
def audit_events(session: Session, query: AuditQuery) -> Page[AuditEventOut]:
    return paginate(
        query,
        lambda after, limit: audit.list_events(
            session,
            after=after,
            limit=limit,
            action=query.action,
            organization_id=query.organization_id,
            since=query.since,
        ),
        AuditEventOut.model_validate,
        key="seq",
        key_max=INT64_MAX,
    )


@route(
    bp, "/audit/verify", "POST", summary="Verify the audit trail", permission=Permission.AUDIT_READ
)
def audit_verify(session: Session, actor: Actor) -> VerifyOut:
    report = audit.verify_and_record(
        session, public_key=audit_public_key(), origin=audit_origin(), actor=actor
    )
    return VerifyOut.model_validate(report)


@route(
    bp,
    "/audit/checkpoints",
    "POST",
    summary="Sign a checkpoint of the audit trail",
    permission=Permission.AUDIT_CHECKPOINT,
    status=201,
    errors=(500,),
)
def audit_checkpoint(session: Session, actor: Actor) -> CheckpointOut:
    checkpoint = audit.create_checkpoint(
        session, signing_key=audit_signing_key(), origin=audit_origin(), actor=actor
    )
    return CheckpointOut.model_validate(checkpoint)


@route(
    bp,
    "/audit/checkpoints/latest",
    "GET",
    summary="Read the latest signed checkpoint",
    permission=Permission.AUDIT_READ,
    errors=(404,),
)
def audit_checkpoint_latest(session: Session) -> CheckpointOut:
    checkpoint = audit.latest_checkpoint(session)
    if checkpoint is None:
        from auditor.services.errors import NotFound

        raise NotFound("No checkpoint has been signed yet.")
    return CheckpointOut.model_validate(checkpoint)

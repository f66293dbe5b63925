"""Vault endpoints: secrets' metadata, explicit audited reveals, and per-client grants."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from auditor.keys import master_key_ring
from auditor.permissions import Permission
from auditor.schemas.common import Page
from auditor.schemas.vault import (
    GrantIn,
    GrantOut,
    Revealed,
    RevealIn,
    SecretIn,
    SecretOut,
    SecretQuery,
    SecretUpdate,
)
from auditor.services import vault
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, json_response, paginate, route

bp = Blueprint("vault", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/clients/<code>/secrets",
    "GET",
    summary="List a client's secrets (metadata only)",
    permission=Permission.VAULT_READ,
)
def secrets_list(session: Session, code: str, query: SecretQuery, actor: Actor) -> Page[SecretOut]:
    return paginate(
        query,
        lambda after, limit: vault.list_secrets(
            session,
            master_key_ring(),
            code,
            actor=actor,
            after=after,
            limit=limit,
            q=query.q,
            kind=query.kind,
        ),
        vault.secret_out,
    )


@route(
    bp,
    "/clients/<code>/secrets",
    "POST",
    summary="Store a secret for a client",
    permission=Permission.VAULT_WRITE,
    status=201,
)
def secrets_create(session: Session, code: str, body: SecretIn, actor: Actor) -> SecretOut:
    secret = vault.create_secret(session, master_key_ring(), code, body, actor=actor)
    return vault.secret_out(secret)


@route(
    bp,
    "/secrets/<ref>",
    "GET",
    summary="Read a secret's metadata",
    permission=Permission.VAULT_READ,
)
def secrets_read(session: Session, ref: str, actor: Actor) -> SecretOut:
    return vault.secret_out(vault.read_secret(session, ref, actor=actor))


@route(
    bp,
    "/secrets/<ref>",
    "PATCH",
    summary="Change a secret's metadata or value",
    permission=Permission.VAULT_WRITE,
)
def secrets_update(session: Session, ref: str, body: SecretUpdate, actor: Actor) -> SecretOut:
    return vault.secret_out(vault.update_secret(session, master_key_ring(), ref, body, actor=actor))


@route(
    bp,
    "/secrets/<ref>",
    "DELETE",
    summary="Delete a secret",
    permission=Permission.VAULT_WRITE,
    status=204,
)
def secrets_delete(session: Session, ref: str, actor: Actor) -> None:
    vault.delete_secret(session, ref, actor=actor)


@route(
    bp,
    "/secrets/<ref>/reveal",
    "POST",
    summary="Reveal a secret's value, username and notes, with a reason",
    permission=Permission.VAULT_REVEAL,
    response=Revealed,
)
def secrets_reveal(session: Session, ref: str, body: RevealIn, actor: Actor) -> Response:
    revealed = vault.reveal_secret(session, master_key_ring(), ref, body.reason, actor=actor)
    response = json_response(revealed)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@route(
    bp,
    "/users/<int:user_id>/grants",
    "GET",
    summary="List a user's vault grants",
    permission=Permission.USERS_MANAGE,
)
def grants_list(session: Session, user_id: int) -> list[GrantOut]:
    return [
        GrantOut(user_id=g.user_id, client=code, granted_by=g.granted_by, granted_at=g.granted_at)
        for g, code in vault.grants_of(session, user_id)
    ]


@route(
    bp,
    "/users/<int:user_id>/grants",
    "POST",
    summary="Grant a user a client's vault",
    permission=Permission.USERS_MANAGE,
    status=201,
)
def grants_create(session: Session, user_id: int, body: GrantIn, actor: Actor) -> GrantOut:
    row = vault.grant(session, user_id, body.client, actor=actor)
    return GrantOut(
        user_id=row.user_id,
        client=body.client,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
    )


@route(
    bp,
    "/users/<int:user_id>/grants/<code>",
    "DELETE",
    summary="Withdraw a user's grant to a client's vault",
    permission=Permission.USERS_MANAGE,
    status=204,
)
def grants_delete(session: Session, user_id: int, code: str, actor: Actor) -> None:
    vault.revoke_grant(session, user_id, code, actor=actor)

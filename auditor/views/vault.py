"""Vault endpoints: secrets' metadata, explicit audited reveals, and per-client grants."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from auditor.db import get_session
from auditor.keys import master_key_ring
from auditor.permissions import Permission
from auditor.schemas.common import Page, decode_cursor, encode_cursor
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
from auditor.views.api import API_PREFIX, json_response, page_limit, route

bp = Blueprint("vault", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/clients/<code>/secrets",
    "GET",
    summary="List a client's secrets (metadata only)",
    permission=Permission.VAULT_READ,
    query=SecretQuery,
    response=Page[SecretOut],
    errors=(404, 422),
)
def secrets_list(code: str, query: SecretQuery, actor: Any) -> Page[SecretOut]:
    limit = page_limit(query.limit)
    items = vault.list_secrets(
        get_session(),
        code,
        actor=actor,
        after=decode_cursor(query.cursor),
        limit=limit,
        q=query.q,
        kind=query.kind,
    )
    cursor = encode_cursor(items[-1].id) if len(items) == limit else None
    return Page[SecretOut](items=[vault.secret_out(s) for s in items], next_cursor=cursor)


@route(
    bp,
    "/clients/<code>/secrets",
    "POST",
    summary="Store a secret for a client",
    permission=Permission.VAULT_WRITE,
    body=SecretIn,
    response=SecretOut,
    status=201,
    errors=(400, 404, 415, 422),
)
def secrets_create(code: str, body: SecretIn, actor: Any) -> SecretOut:
    secret = vault.create_secret(get_session(), master_key_ring(), code, body, actor=actor)
    return vault.secret_out(secret)


@route(
    bp,
    "/secrets/<ref>",
    "GET",
    summary="Read a secret's metadata",
    permission=Permission.VAULT_READ,
    response=SecretOut,
    errors=(404,),
)
def secrets_read(ref: str, actor: Any) -> SecretOut:
    return vault.secret_out(vault.read_secret(get_session(), ref, actor=actor))


@route(
    bp,
    "/secrets/<ref>",
    "PATCH",
    summary="Change a secret's metadata or value",
    permission=Permission.VAULT_WRITE,
    body=SecretUpdate,
    response=SecretOut,
    errors=(400, 404, 415, 422),
)
def secrets_update(ref: str, body: SecretUpdate, actor: Any) -> SecretOut:
    return vault.secret_out(
        vault.update_secret(get_session(), master_key_ring(), ref, body, actor=actor)
    )


@route(
    bp,
    "/secrets/<ref>",
    "DELETE",
    summary="Delete a secret",
    permission=Permission.VAULT_WRITE,
    status=204,
    errors=(404,),
)
def secrets_delete(ref: str, actor: Any) -> None:
    vault.delete_secret(get_session(), ref, actor=actor)


@route(
    bp,
    "/secrets/<ref>/reveal",
    "POST",
    summary="Reveal a secret's value, with a reason",
    permission=Permission.VAULT_REVEAL,
    body=RevealIn,
    response=Revealed,
    errors=(400, 404, 415, 422),
)
def secrets_reveal(ref: str, body: RevealIn, actor: Any) -> Response:
    value, moment = vault.reveal_secret(
        get_session(), master_key_ring(), ref, body.reason, actor=actor
    )
    response = json_response(Revealed(ref=ref, value=value, revealed_at=moment))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@route(
    bp,
    "/users/<int:user_id>/grants",
    "GET",
    summary="List a user's vault grants",
    permission=Permission.USERS_MANAGE,
    response=list[GrantOut],
    errors=(404,),
)
def grants_list(user_id: int, actor: Any) -> list[GrantOut]:
    return [
        GrantOut(user_id=g.user_id, client=code, granted_by=g.granted_by, granted_at=g.granted_at)
        for g, code in vault.grants_of(get_session(), user_id)
    ]


@route(
    bp,
    "/users/<int:user_id>/grants",
    "POST",
    summary="Grant a user a client's vault",
    permission=Permission.USERS_MANAGE,
    body=GrantIn,
    response=GrantOut,
    status=201,
    errors=(400, 404, 415, 422),
)
def grants_create(user_id: int, body: GrantIn, actor: Any) -> GrantOut:
    row = vault.grant(get_session(), user_id, body.client, actor=actor)
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
    errors=(404,),
)
def grants_delete(user_id: int, code: str, actor: Any) -> None:
    vault.revoke_grant(get_session(), user_id, code, actor=actor)

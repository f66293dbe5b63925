"""The API's one route decorator: authentication, the role matrix, input parsing, the transaction
boundary and the endpoint registry from which the OpenAPI description is generated."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel

from auditor.db import get_session
from auditor.permissions import Permission, is_allowed
from auditor.schemas.common import parse
from auditor.services import audit, users
from auditor.services.context import Actor
from auditor.services.errors import (
    AuthenticationFailed,
    MalformedRequest,
    PermissionDenied,
    UnsupportedMediaType,
)

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Endpoint:
    """One API operation, as the OpenAPI generator and the role-matrix tests see it."""

    method: str
    rule: str  # Flask rule, with the /api/v1 prefix
    name: str
    summary: str
    tag: str
    permission: Permission | None
    body: type[BaseModel] | None = None
    body_media_type: str = "application/json"
    query: type[BaseModel] | None = None
    response: Any = None
    response_media_type: str = "application/json"  # a file (PDF, CSV, ...): bytes, no schema
    status: int = 200
    errors: tuple[int, ...] = field(default=())

    @property
    def path(self) -> str:
        """The OpenAPI path: <int:id> becomes {id}."""
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)


REGISTRY: list[Endpoint] = []


def client_ip() -> str | None:
    return request.remote_addr


def current_actor() -> Actor:
    actor: Actor = g.actor
    return actor


def _authenticate(endpoint: Endpoint) -> Actor:
    session = get_session()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    try:
        user = users.authenticate_token(session, token, source_ip=client_ip())
    except AuthenticationFailed as exc:
        session.rollback()
        reason = "missing" if not token else exc.detail
        users.audit_auth_failure(session, reason, source_ip=client_ip(), path=request.path)
        raise
    actor = users.actor_for(user, client_ip())
    if endpoint.permission is not None and not is_allowed(user.role, endpoint.permission):
        session.rollback()
        audit.record(
            session,
            actor=actor,
            action="access.denied",
            outcome="denied",
            details={"permission": endpoint.permission.value, "endpoint": endpoint.name},
        )
        session.commit()
        raise PermissionDenied(f"The role '{user.role}' may not {endpoint.summary.lower()}.")
    return actor


def read_json() -> Any:
    if not request.mimetype or request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    data = request.get_data(cache=False)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedRequest("The body is not valid JSON.") from None


def _query_args(model: type[BaseModel]) -> BaseModel:
    args = request.args.to_dict(flat=True)
    return parse(model, args, what="query string")


def to_json(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [to_json(item) for item in result]
    if isinstance(result, dict):
        return {key: to_json(value) for key, value in result.items()}
    return result


def json_response(result: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(to_json(result)), status=status, mimetype="application/json")


def page_limit(limit: int | None) -> int:
    return min(limit or current_app.config["PAGE_SIZE"], current_app.config["MAX_PAGE_SIZE"])


def route(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    permission: Permission | None,
    body: type[BaseModel] | None = None,
    body_media_type: str = "application/json",
    query: type[BaseModel] | None = None,
    response: Any = None,
    response_media_type: str = "application/json",
    status: int = 200,
    errors: tuple[int, ...] = (),
    name: str | None = None,
    public: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as an API operation; it gets path args, ``body``, ``query``, ``actor``."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        full_rule = (bp.url_prefix or "") + rule
        endpoint = Endpoint(
            method=method,
            rule=full_rule,
            name=name or fn.__name__,
            summary=summary,
            tag=bp.name,
            permission=None if public else permission,
            body=body,
            body_media_type=body_media_type,
            query=query,
            response=response,
            response_media_type=response_media_type,
            status=status,
            errors=errors,
        )

        @functools.wraps(fn)
        def view(**path_args: Any) -> Response:
            kwargs = dict(path_args)
            if not public:
                g.actor = kwargs["actor"] = _authenticate(endpoint)
            if query is not None:
                kwargs["query"] = _query_args(query)
            if body is not None and body_media_type == "application/json":
                kwargs["body"] = parse(body, read_json())
            result = fn(**kwargs)
            if isinstance(result, Response):
                response_obj = result
            elif status == 204:
                response_obj = Response(status=204)
            else:
                response_obj = json_response(result, status)
            get_session().commit()
            return response_obj

        bp.add_url_rule(rule, endpoint=endpoint.name, view_func=view, methods=[method])
        REGISTRY.append(endpoint)
        return view

    return decorate

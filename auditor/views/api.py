"""The API's one route decorator: authentication, the role matrix, input parsing, the transaction
boundary and the endpoint registry from which the OpenAPI description is generated."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from auditor.db import access, current_access, get_session, utcnow
from auditor.permissions import Permission, is_allowed
from auditor.schemas import json_input
from auditor.schemas.common import Page, decode_cursor, encode_cursor, parse
from auditor.schemas.json_input import ROW_ID_MAX
from auditor.services import audit, audit_reads, throttle, users
from auditor.services.context import Actor
from auditor.services.errors import (
    AuthenticationFailed,
    PermissionDenied,
    UnsupportedMediaType,
    ValidationFailed,
)
from auditor.views.limits import check_path_integers, read_body

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
    writes: bool = True  # False: a read-only request (auditor/db.py: access)
    audits: bool = False  # a read whose audit events are recorded after it (audit_reads)

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
    moment = utcnow()
    try:
        row = users.authenticate_token(session, token, now=moment)
    except AuthenticationFailed as exc:
        source = client_ip()
        throttle.record_failure(  # 429 instead, once the source has failed too often
            session,
            f"token:{source or 'unknown'}",
            limit=throttle.Limit.from_settings(current_app.config),
            actor=Actor.anonymous(source),
            now=moment,
            event={
                "action": "auth.token",
                # the route's pattern, never the path: a path may hold personal data
                "details": {
                    "reason": "missing" if not token else exc.detail,
                    "route": endpoint.rule,
                },
            },
        )
        raise
    if users.token_use_is_stale(row, moment):
        _record_token_use(session, row.id, moment)
    user = row.user
    actor = users.actor_for(user, client_ip())
    if endpoint.permission is not None and not is_allowed(user.role, endpoint.permission):
        audit.record_refusal(
            session,
            actor=actor,
            action="access.denied",
            details={"permission": endpoint.permission.value, "endpoint": endpoint.name},
        )
        raise PermissionDenied(f"The role '{user.role}' may not {endpoint.summary.lower()}.")
    return actor


def _record_token_use(session: Session, token_id: int, moment: dt.datetime) -> None:
    """A writing request records the use with its own work; a reading one in a short writing
    transaction of its own, at most once per token per TOKEN_USE_RESOLUTION."""
    if current_access() == "write":
        users.record_token_use(session, token_id, moment)
        return
    session.rollback()
    with access("write"):
        users.record_token_use(session, token_id, moment)
        session.commit()


def read_json() -> Any:
    if not request.mimetype or request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    return json_input.loads(read_body(int(current_app.config["MAX_CONTENT_LENGTH"])))


def _query_args(model: type[BaseModel]) -> BaseModel:
    args = request.args.to_dict(flat=True)
    query = parse(model, args, what="query string")
    unstorable = json_input.problems(query.model_dump())
    if unstorable:  # an integer beyond 64 bits would overflow the database's integer
        # (named as the parser names the query's fields: ``limit``, not ``query.limit``)
        raise ValidationFailed("The query string is not valid.", unstorable)
    return query


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
    config = current_app.config
    return min(limit or int(config["PAGE_SIZE"]), int(config["MAX_PAGE_SIZE"]))


class Paged(typing.Protocol):
    """What a listing's query says about its page (PageQuery and the lists' own queries)."""

    @property
    def cursor(self) -> str | None: ...

    @property
    def limit(self) -> int | None: ...


def paginate(
    query: Paged,
    fetch: Callable[..., Sequence[Any]],
    out: Callable[[Any], Any] | None = None,
    *,
    out_all: Callable[[Sequence[Any]], list[Any]] | None = None,
    key: str = "id",
    key_max: int = ROW_ID_MAX,
) -> Page[Any]:
    """One page of a keyset-paginated list.

    ``fetch(after=, limit=)`` reads the rows after the query's cursor; ``out`` turns each row
    into its output model (``out_all`` the whole page at once, when that saves queries). A full
    page carries the cursor of the next one: the ``key`` of its last row (at most ``key_max``).
    """
    limit = page_limit(query.limit)
    rows = fetch(after=decode_cursor(query.cursor, key_max), limit=limit)
    items = out_all(rows) if out_all is not None else [out(row) for row in rows] if out else []
    cursor = encode_cursor(getattr(rows[-1], key)) if len(rows) == limit else None
    return Page(items=items, next_cursor=cursor)


def download(data: bytes, media_type: str, file_name: str) -> Response:
    """A file as the response body: saved under ``file_name``, never cached (personal data)."""
    response = Response(data, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _annotations(fn: Callable[..., Any]) -> tuple[dict[str, Any], set[str]]:
    """The handler's ``body`` and ``query`` models and its response type (the annotations of
    ``body``, ``query`` and the return), and the names of its parameters."""
    hints = typing.get_type_hints(fn)
    found = {name: hints.get(name) for name in ("body", "query", "return")}
    if found["return"] in (Response, type(None)):
        found["return"] = None  # a file, a hand-made response or 204: no schema
    return found, set(inspect.signature(fn).parameters)


def _implied_errors(body: Any, query: Any, rule: str) -> set[int]:
    """400/415/422 with a body, 422 with a query, 404 with a path parameter."""
    errors: set[int] = set()
    if body is not None:
        errors |= {400, 415, 422}
    if query is not None:
        errors.add(422)
    if "<" in rule:
        errors.add(404)
    return errors


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
    writes: bool | None = None,
    audits: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as an API operation.

    The handler says what it takes: path arguments by name, ``body`` and ``query`` (parsed into
    the models they are annotated with), ``session`` and ``actor`` when it names them; its return
    annotation is the response schema. ``body``, ``query`` and ``response`` given here override
    the annotations (a streamed body, models built at run time). ``errors`` lists the statuses
    beyond those the signature implies (409, 413, ...). The transaction commits after the handler
    returns; a domain error rolls it back (auditor/errors.py).

    ``writes`` says whether the request changes anything (default: every method but GET); a GET
    that records an audit event (a read of personal data, an export) says ``writes=True``. A
    writing request takes SQLite's write lock up front; a reading one must not write. A GET whose
    only write is the audit of what it discloses says ``audits=True`` instead: it reads in a
    reading transaction and records its events (``audit_reads.record_read``) in a short writing
    one after the handler, before the answer leaves.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        hints, params = _annotations(fn)
        body_model = body or hints["body"]
        query_model = query or hints["query"]
        endpoint = Endpoint(
            method=method,
            rule=(bp.url_prefix or "") + rule,
            name=name or fn.__name__,
            summary=summary,
            tag=bp.name,
            permission=None if public else permission,
            body=body_model,
            body_media_type=body_media_type,
            query=query_model,
            response=response or hints["return"],
            response_media_type=response_media_type,
            status=status,
            errors=tuple(sorted(_implied_errors(body_model, query_model, rule) | set(errors))),
            writes=method != "GET" if writes is None else writes,
            audits=audits,
        )
        parse_body = "body" in params and body_media_type == "application/json"

        @functools.wraps(fn)
        def view(**path_args: Any) -> Response:
            if not endpoint.audits:
                with access("write" if endpoint.writes else "read"):
                    return _serve(path_args)
            with access("read"), audit_reads.deferring() as pending:
                answer = _serve(path_args)
            audit_reads.record_pending(get_session(), pending)  # the read is over: its audit
            return answer

        def _serve(path_args: dict[str, Any]) -> Response:
            check_path_integers(path_args)
            kwargs = dict(path_args)
            session = get_session()
            if not public:
                g.actor = _authenticate(endpoint)
                if "actor" in params:
                    kwargs["actor"] = g.actor
            if "session" in params:
                kwargs["session"] = session
            if "query" in params:
                kwargs["query"] = _query_args(query_model)
            if parse_body:
                kwargs["body"] = parse(body_model, read_json())
            result = fn(**kwargs)
            if isinstance(result, Response):
                response_obj = result
            elif status == 204:
                response_obj = Response(status=204)
            else:
                response_obj = json_response(result, status)
            session.commit()
            return response_obj

        bp.add_url_rule(rule, endpoint=endpoint.name, view_func=view, methods=[method])
        REGISTRY.append(endpoint)
        return view

    return decorate

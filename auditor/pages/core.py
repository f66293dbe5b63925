"""The web application's one page decorator: signed in with both factors, the role matrix, the
transaction boundary, no caching, and the registry the role-walk test reads.

A page is as thin as an API view: it parses a form, calls one service and renders a template of
``templates/pages/<area>/``. It declares the permission it needs in the same role matrix as the
API (``auditor.permissions``). A visitor who is not signed in (or whose session timed out) is
sent to the sign-in page and brought back afterwards; a role without the permission gets a 403
page, and the refusal is audited.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, make_response, redirect, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from auditor.db import access, get_session
from auditor.models import User
from auditor.pages.store import ServerSession
from auditor.permissions import ROLE_PERMISSIONS, Permission, Role, is_allowed
from auditor.services import audit, audit_reads
from auditor.services.context import Actor
from auditor.services.errors import PermissionDenied
from auditor.views.limits import check_path_integers

VIA = "web"


@dataclass(frozen=True)
class Page:
    """One page route, as the role-walk test sees it."""

    rule: str
    name: str  # the Flask endpoint: "<blueprint>.<function>"
    methods: tuple[str, ...]
    permission: Permission | None
    public: bool  # reachable before signing in (the sign-in pages)


PAGES: list[Page] = []


def server_session() -> ServerSession:
    current = session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(current, ServerSession)
    return current


def current_user() -> User:
    user: User = g.user
    return user


def current_actor() -> Actor:
    actor: Actor = g.actor
    return actor


def web_actor(user: User) -> Actor:
    """The user as the audit trail names them, reached through the web (``details.via``)."""
    return Actor(
        name=f"user:{user.id}",
        user_id=user.id,
        role=user.role,
        source_ip=request.remote_addr,
        via=VIA,
    )


def safe_next(target: str | None) -> str | None:
    """A path on this site to come back to after signing in; anything else is dropped."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


def _sign_in_first() -> BaseResponse:
    state = server_session()
    if state.expired:  # the sign-in page says why (a new, anonymous session carries it there)
        state["notice"] = "expired"
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.sign_in", next=safe_next(target)))


def _signed_in_user(db: Session) -> User | None:
    state = server_session()
    if state.user_id is None or state.mfa_at is None:
        return None
    user = db.get(User, state.user_id)
    if user is None or not user.is_active:
        state.end()
        return None
    return user


def page(
    bp: Blueprint,
    rule: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    permission: Permission | None = None,
    public: bool = False,
    writes: bool | None = None,
    audits: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., BaseResponse]]:
    """Register a page: ``public`` before signing in (the sign-in pages), else for a signed-in
    user whose role has ``permission`` (None: any signed-in user, e.g. their own account).
    ``writes`` (default: any method but GET) opens a writing transaction;
    ``audits`` reads in a reading one and records the read's audit events after it, before the
    page leaves (as the API's ``audits=True``)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., BaseResponse]:
        entry = Page(
            rule=(bp.url_prefix or "") + rule,
            name=f"{bp.name}.{fn.__name__}",
            methods=methods,
            permission=permission,
            public=public,
        )

        @functools.wraps(fn)
        def view(**path_args: Any) -> BaseResponse:
            check_path_integers(path_args)
            is_writing = request.method != "GET" if writes is None else writes
            if not audits or request.method != "GET":
                with access("write" if is_writing else "read"):
                    return _serve(path_args)
            with access("read"), audit_reads.deferring() as pending:
                answer = _serve(path_args)
            audit_reads.record_pending(get_session(), pending)  # the read is over: its audit
            return answer

        def _serve(path_args: dict[str, Any]) -> BaseResponse:
            db = get_session()
            if not public:
                user = _signed_in_user(db)
                if user is None:
                    return _sign_in_first()
                g.user = user
                g.actor = web_actor(user)
                g.user_permissions = {p.value for p in ROLE_PERMISSIONS[Role(user.role)]}
                if permission is not None and not is_allowed(user.role, permission):
                    audit.record_refusal(
                        db,
                        actor=g.actor,
                        action="access.denied",
                        details={"permission": permission.value, "page": entry.name},
                    )
                    raise PermissionDenied("Your role does not give access to this page.")
            response = make_response(fn(**path_args))
            db.commit()
            response.headers["Cache-Control"] = "no-store"  # personal data; no page after sign-out
            return response

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=list(methods))
        PAGES.append(entry)
        return view

    return decorate

"""Flask's ``session`` kept in the database (``web_session``), not in a signed cookie.

The cookie carries a random token only. Opening a page reads its session in a short reading
transaction; the response writes it back in a short writing one when it changed, when it is new
or rotated, or when its last use is older than a minute (the idle timeout's precision). The API,
health and metrics never open one: a bearer token is their only credential.

The cookie is ``__Host-auditor_session`` (Secure, Path=/, no Domain) when the request came over
TLS, and ``auditor_session`` without Secure on plain HTTP (a browser refuses a ``__Host-`` cookie
that is not Secure: the development server on 127.0.0.1). Both are HttpOnly and SameSite=Lax, and
last as long as the browser: the server ends the session after its idle or absolute lifetime.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from auditor.db import access, get_session
from auditor.models import WebSession
from auditor.pages.clock import now as utcnow
from auditor.services import web_sessions
from auditor.services.web_sessions import Lifetime

COOKIE = "auditor_session"
SECURE_COOKIE = "__Host-auditor_session"
UNSESSIONED = ("/api/", "/healthz", "/metrics", "/static/")


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """One browser's session: its data, who signed in, and what the response must write."""

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        user_id: int | None = None,
        mfa_at: dt.datetime | None = None,
        last_seen_at: dt.datetime | None = None,
        expired: bool = False,
        inert: bool = False,
    ) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.token = token
        self.user_id = user_id
        self.mfa_at = mfa_at
        self.last_seen_at = last_seen_at
        self.expired = expired  # a session existed but timed out: say so on the sign-in page
        self.inert = inert  # an API request: never stored
        self.modified = False
        self.rotated_from: str | None = None
        self.ended: list[str] = []

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.token is None

    def sign_in(self, user_id: int, *, mfa_at: dt.datetime | None) -> None:
        """A step of the sign-in: a new session id, so that one planted before it is useless."""
        if self.token is not None:
            self.ended.append(self.token)
        self.token = None
        self.user_id, self.mfa_at = user_id, mfa_at
        self.modified = True

    def end(self) -> None:
        """Sign out: the row goes and the browser gets an empty session."""
        if self.token is not None:
            self.ended.append(self.token)
        self.token, self.user_id, self.mfa_at = None, None, None
        self.clear()
        self.modified = False


def cookie_name(incoming: Request) -> str:
    return SECURE_COOKIE if incoming.is_secure else COOKIE


class DatabaseSessions(SessionInterface):
    def open_session(self, app: Flask, incoming: Request) -> ServerSession:
        if incoming.path.startswith(UNSESSIONED):
            return ServerSession(inert=True)
        token = incoming.cookies.get(cookie_name(incoming))
        if not token:
            return ServerSession()
        db = get_session()
        lifetime = Lifetime.from_settings(app.config)
        with access("read"):
            row, expired = web_sessions.find(db, token, lifetime, utcnow())
            found = (
                ServerSession(
                    dict(row.data),
                    token=token,
                    user_id=row.user_id,
                    mfa_at=row.mfa_at,
                    last_seen_at=row.last_seen_at,
                )
                if row is not None
                else None
            )
            db.rollback()
        if found is None:
            stale = ServerSession(expired=expired)
            stale.ended.append(token)  # gone or timed out: delete it with the next write
            return stale
        return found

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ServerSession) or session.inert:
            return
        now = utcnow()
        stale = session.last_seen_at is None or (
            now - session.last_seen_at >= web_sessions.TOUCH_RESOLUTION
        )
        creating = session.token is None and (session.modified or session.user_id is not None)
        if not (session.ended or creating or session.modified or stale):
            return
        db = get_session()
        db.rollback()
        with access("write"):
            for token in session.ended:
                web_sessions.end(db, token)
            if creating:
                session.token = web_sessions.new_token()
                web_sessions.create(
                    db,
                    session.token,
                    data=dict(session),
                    user_id=session.user_id,
                    mfa_at=session.mfa_at,
                    source_ip=request.remote_addr,
                    now=now,
                )
                web_sessions.prune(db, Lifetime.from_settings(app.config), now)
            elif session.token is not None:
                row = db.get(WebSession, web_sessions.session_id(session.token))
                if row is not None:
                    row.data, row.last_seen_at = dict(session), now
                    row.user_id, row.mfa_at = session.user_id, session.mfa_at
            db.commit()
        name = cookie_name(request)
        if session.token is None:
            if session.ended:
                response.delete_cookie(name, path="/", secure=name == SECURE_COOKIE)
            return
        if creating:
            response.set_cookie(
                name,
                session.token,
                path="/",
                secure=name == SECURE_COOKIE,
                httponly=True,
                samesite="Lax",
            )
        response.vary.add("Cookie")

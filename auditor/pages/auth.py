"""Signing in and out: email and password, then the second factor (enrolled at the first
sign-in), throttled per account and per source, every step audited."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from auditor.db import get_session
from auditor.keys import master_key_ring
from auditor.models import User
from auditor.pages.clock import now
from auditor.pages.core import (
    current_actor,
    current_user,
    page,
    safe_next,
    server_session,
    web_actor,
)
from auditor.pages.forms import CodeForm, SignInForm
from auditor.services import audit, mfa, throttle, users, web_sessions
from auditor.services.context import Actor
from auditor.services.errors import AuthenticationFailed, TooManyFailures

bp = Blueprint("auth", __name__)

WRONG_PASSWORD = "The email address or the password is not right."  # noqa: S105 - a message
WRONG_CODE = "That code is not right, or it was already used. Wait for the next code."


def _limit() -> throttle.Limit:
    config = current_app.config
    return throttle.Limit(
        int(config["SIGNIN_FAILURE_LIMIT"]),
        dt.timedelta(seconds=int(config["SIGNIN_LOCKOUT_SECONDS"])),
    )


def _account_key(email: str) -> str:
    # the throttle's key names no one: a digest of the address, not the address
    return "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _lockout_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        f"Too many failed attempts. Sign-in is locked for about {minutes} "
        f"minute{'s' if minutes != 1 else ''}; try again later."
    )


def _fail(db: Session, keys: list[str], actor: Actor, action: str, reason: str) -> int | None:
    """Count a failure under every key; the seconds of the lockout it caused, if it did."""
    retry = None
    for key in keys:
        try:
            throttle.record_failure(
                db,
                key,
                limit=_limit(),
                actor=actor,
                now=now(),
                event={"action": action, "details": {"reason": reason, "key": key.split(":")[0]}},
            )
        except TooManyFailures as exc:
            retry = max(retry or 0, exc.retry_after)
    return retry


def _locked(db: Session, keys: list[str]) -> int | None:
    waits = [throttle.locked_for(db, key, limit=_limit(), now=now()) for key in keys]
    found = [wait for wait in waits if wait]
    return max(found) if found else None


def _after_sign_in() -> BaseResponse:
    state = server_session()
    target = safe_next(state.pop("next", None)) or url_for("dashboard.home")
    return redirect(target)


def _pending_user(db: Session) -> User | None:
    """The user whose password was checked, waiting for the second factor."""
    state = server_session()
    if state.user_id is None:
        return None
    user = db.get(User, state.user_id)
    return user if user is not None and user.is_active else None


@page(bp, "/sign-in", methods=("GET", "POST"), public=True)
def sign_in() -> Any:
    state = server_session()
    if state.user_id is not None and state.mfa_at is not None:
        return redirect(url_for("dashboard.home"))
    form = SignInForm()
    error = None
    status = 200
    if form.validate_on_submit():
        db = get_session()
        email = (form.email.data or "").strip().lower()
        ip = request.remote_addr
        keys = [f"signin:{ip or 'unknown'}", _account_key(email)]
        anonymous = Actor.anonymous(ip)
        retry = _locked(db, keys)
        if retry is not None:
            _fail(db, keys, anonymous, "auth.signin", "locked")
            error, status = _lockout_message(retry), 429
        else:
            try:
                user = users.check_password(db, email, form.password.data or "", source_ip=ip)
            except AuthenticationFailed:
                retry = _fail(db, keys, anonymous, "auth.signin", "password")
                error = _lockout_message(retry) if retry else WRONG_PASSWORD
                status = 429 if retry else 422
            else:
                state.sign_in(user.id, mfa_at=None)
                state["next"] = safe_next(request.args.get("next"))
                return redirect(url_for("auth.second_factor"))
    elif request.method == "POST":
        status = 422
    expired = state.expired or state.pop("notice", None) == "expired"
    notice = "Your session has expired. Sign in again." if expired else None
    if request.args.get("expired"):
        notice = "The sign-in page had expired. Enter your details again."
    if request.args.get("signed_out"):
        notice = "You are signed out."
    return (
        render_template("pages/auth/sign_in.html", form=form, error=error, notice=notice),
        status,
    )


@page(bp, "/sign-in/code", methods=("GET", "POST"), public=True)
def second_factor() -> Any:
    db = get_session()
    user = _pending_user(db)
    if user is None:
        return redirect(url_for("auth.sign_in"))
    if not mfa.is_enrolled(user):
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        keys = [f"mfa:{user.id}"]
        actor = web_actor(user)
        retry = _locked(db, keys)
        if retry is None:
            method = mfa.check_code(
                db, user, form.code.data or "", ring=master_key_ring(), actor=actor, now=now()
            )
            if method is not None:
                moment = now()
                audit.record(
                    db,
                    actor=actor,
                    action="auth.signin",
                    object_type="user",
                    object_id=user.id,
                    details={"second_factor": method},
                    now=moment,
                )
                server_session().sign_in(user.id, mfa_at=moment)
                return _after_sign_in()
            retry = _fail(db, keys, actor, "auth.mfa", "code")
        else:
            _fail(db, keys, actor, "auth.mfa", "locked")
        error = _lockout_message(retry) if retry else WRONG_CODE
        status = 429 if retry else 422
    elif request.method == "POST":
        status = 422
    return render_template("pages/auth/code.html", form=form, error=error), status


@page(bp, "/sign-in/enrol", methods=("GET", "POST"), public=True)
def enrol() -> Any:
    db = get_session()
    user = _pending_user(db)
    if user is None:
        return redirect(url_for("auth.sign_in"))
    if mfa.is_enrolled(user):
        return redirect(url_for("auth.second_factor"))
    state = server_session()
    secret = state.get("enrol_secret")
    if not secret:
        secret = state["enrol_secret"] = mfa.new_secret()
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        actor = web_actor(user)
        moment = now()
        code = form.code.data or ""
        ring = master_key_ring()
        codes = mfa.enrol(db, user, secret, code, ring=ring, actor=actor, now=moment)
        if codes is not None:
            state.pop("enrol_secret", None)
            state.sign_in(user.id, mfa_at=moment)
            target = safe_next(state.pop("next", None)) or url_for("dashboard.home")
            return render_template("pages/auth/recovery_codes.html", codes=codes, next=target)
        error, status = "That code does not match. Check the time on your phone and try again.", 422
    elif request.method == "POST":
        status = 422
    uri = mfa.provisioning_uri(secret, user.email)
    return (
        render_template(
            "pages/auth/enrol.html",
            form=form,
            error=error,
            qr=mfa.qr_svg(uri),
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        ),
        status,
    )


@page(bp, "/sign-out", methods=("POST",), public=True)
def sign_out() -> Any:
    state = server_session()
    if state.user_id is not None:  # the form's CSRF token was checked before the page ran
        db = get_session()
        user = db.get(User, state.user_id)
        if user is not None:
            audit.record(
                db,
                actor=web_actor(user),
                action="auth.signout",
                object_type="user",
                object_id=user.id,
            )
    state.end()
    return redirect(url_for("auth.sign_in", signed_out=1))


@page(bp, "/account")
def account() -> Any:
    db = get_session()
    user = current_user()
    return render_template(
        "pages/auth/account.html",
        user=user,
        recovery_left=mfa.remaining_codes(db, user),
        permissions=users.permissions_of(user),
    )


@page(bp, "/account/sign-out-everywhere", methods=("POST",))
def sign_out_everywhere() -> Any:
    db = get_session()
    user = current_user()
    ended = web_sessions.end_all(db, user.id)
    audit.record(
        db,
        actor=current_actor(),
        action="auth.signout_everywhere",
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": ended},
    )
    server_session().end()
    return redirect(url_for("auth.sign_in", signed_out=1))

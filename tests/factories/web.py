"""The web application as a person uses it, through Flask's test client: forms with their CSRF
token, sign-in with a TOTP code computed here, users with a password and an enrolled phone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from auditor.models import User
from auditor.services import mfa, users
from tests.factories.actors import ACTOR
from tests.factories.keys import keyring
from tests.factories.people import user as new_user

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: TestResponse) -> str:
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def web_user(
    session: Session,
    *,
    role: str = "privacy_officer",
    email: str | None = None,
    enrolled: bool = True,
) -> User:
    """A user with the tests' password and, when ``enrolled``, an authenticator already set up
    (its secret sealed under the tests' master key: ``secret_of(user)``)."""
    found = new_user(session, role=role, email=email)
    users.set_password(session, found.id, PASSWORD, actor=ACTOR)
    if enrolled:
        mfa.seal_secret(keyring(), found, mfa.new_secret())
        found.totp_enrolled_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    session.flush()
    return found


def secret_of(user: User) -> str:
    """The user's TOTP secret, unsealed with the tests' master key (what their phone holds)."""
    return mfa.secret_of(keyring(), user)


def code_at(secret: str, moment: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def freeze(app: Flask, moment: dt.datetime) -> None:
    """The pages' clock, stopped at ``moment`` (auditor.pages.core.now)."""
    app.extensions["auditor.clock"] = lambda: moment


def post_form(
    client: FlaskClient, path: str, data: dict[str, Any], *, page: str | None = None, **kwargs: Any
) -> TestResponse:
    """Submit a form the way a browser does: its CSRF token read from the page that shows it."""
    token = csrf_token(client.get(page or path))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def sign_in(client: FlaskClient, user: User, *, moment: dt.datetime | None = None) -> TestResponse:
    """Password, then the TOTP code of ``moment`` (default: now); returns the last response."""
    answer = post_form(client, "/sign-in", {"email": user.email, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    when = moment or dt.datetime.now(dt.UTC)
    return post_form(client, "/sign-in/code", {"code": code_at(secret_of(user), when)})


def signed_in(
    app: Flask,
    session: Session,
    *,
    role: str = "privacy_officer",
    moment: dt.datetime | None = None,
) -> tuple[FlaskClient, User]:
    client = app.test_client()
    person = web_user(session, role=role)
    if moment is not None:
        freeze(app, moment)
    answer = sign_in(client, person, moment=moment)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client, person

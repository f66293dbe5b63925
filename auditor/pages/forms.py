"""The web forms: Flask-WTF gives each its CSRF token; fields are checked by the same pydantic
models as the API where one exists (``errors_by_field`` maps its errors beside the fields)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from auditor.services import calendar
from auditor.services.errors import FieldError


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[
            DataRequired("Enter the 6-digit code from your authenticator app"),
            Length(max=40, message="A code is 6 digits, or a recovery code of 16 letters"),
        ],
    )


def errors_by_field(errors: Iterable[FieldError]) -> dict[str, list[str]]:
    """The API's field errors keyed by the form's field names (``identifiers.0.value`` is the
    field ``identifiers``; an error of the whole body goes under ``""``)."""
    found: dict[str, list[str]] = {}
    for error in errors:
        name = re.split(r"[.\[]", error.field)[0] if error.field not in ("body", "") else ""
        found.setdefault(name, []).append(error.message)
    return found


def local_moment(value: str | None, field: str) -> tuple[dt.datetime | None, list[FieldError]]:
    """A ``datetime-local`` input, read on the MSP's wall clock, as an aware UTC datetime."""
    if not value:
        return None, []
    try:
        naive = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None, [FieldError(field, "enter a date and time, e.g. 2026-11-22 09:30")]
    if naive.tzinfo is not None:
        return naive.astimezone(dt.UTC), []
    return naive.replace(tzinfo=calendar.zone()).astimezone(dt.UTC), []


def local_input(moment: dt.datetime) -> str:
    """An aware datetime as the value of a ``datetime-local`` input (MSP wall clock)."""
    return calendar.local(moment).strftime("%Y-%m-%dT%H:%M")


def form_data(names: Iterable[str]) -> dict[str, Any]:
    """The named fields of the posted form that are not empty, stripped of surrounding spaces."""
    from flask import request

    data: dict[str, Any] = {}
    for name in names:
        value = request.form.get(name, "")
        if value.strip():
            data[name] = value.strip()
    return data

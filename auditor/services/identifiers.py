"""Normalising identifiers so that one person's email or phone always matches itself."""

from __future__ import annotations

import re

from auditor.services.errors import FieldError, ValidationFailed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_NOISE = re.compile(r"[\s().\-]")


def normalize(kind: str, value: str, *, field: str = "value") -> str:
    """Emails lower-cased; phones in E.164 (10-digit numbers taken as North American)."""
    value = value.strip()
    if kind == "email":
        value = value.lower()
        if not _EMAIL.match(value) or len(value) > 320:
            raise ValidationFailed(
                "Invalid email address.", [FieldError(field, "not an email address")]
            )
        return value
    if kind == "phone":
        digits = _PHONE_NOISE.sub("", value)
        if digits.startswith("+"):
            body = digits[1:]
        elif len(digits) == 10:
            body = "1" + digits
        elif len(digits) == 11 and digits.startswith("1"):
            body = digits
        else:
            body = ""
        if not body.isdigit() or not 8 <= len(body) <= 15:
            raise ValidationFailed(
                "Invalid phone number.", [FieldError(field, "not a phone number")]
            )
        return "+" + body
    raise ValidationFailed("Unknown identifier kind.", [FieldError("kind", "email or phone")])

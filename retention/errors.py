"""Errors of the retention package. Messages name rule fields and values, never personal data."""

from __future__ import annotations


class RetentionError(Exception):
    """Base class of every error raised by retention/."""


class InvalidDefinition(RetentionError):
    """A rule, period or hold is refused: a value out of bounds, a missing or contradictory field.

    Callers tell it apart from other retention errors: it is bad input (a validation failure, 422),
    not a conflict with the state of the data.
    """

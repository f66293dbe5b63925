"""Errors of the retention package."""

from __future__ import annotations


class RetentionError(Exception):
    """Base class of every error raised by retention/."""

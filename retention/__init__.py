"""Retention rules and the purge engine (pure library: standard library and SQLAlchemy only)."""

from __future__ import annotations

from retention.errors import RetentionError

__all__ = ["RetentionError"]

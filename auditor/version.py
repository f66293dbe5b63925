"""The version of auditor, in one place (the package, the OpenAPI document, the wheel)."""

from __future__ import annotations

__version__ = "0.1.0"

"""The web application's clock: the real one, or the one a test set on the app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app

from auditor.db import utcnow


def now() -> dt.datetime:
    """``app.extensions["auditor.clock"]()`` when set (the tests freeze it), else the time."""
    clock: Callable[[], dt.datetime] = current_app.extensions.get("auditor.clock", utcnow)
    return clock()

"""One counter for every generated code, email and external id, so no two builders collide."""

from __future__ import annotations

import itertools

_numbers = itertools.count(1)


def next_number() -> int:
    return next(_numbers)

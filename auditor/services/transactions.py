"""One way to turn a unique or foreign-key violation into a Conflict without losing the session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auditor.services.errors import Conflict


@contextmanager
def conflict_as(session: Session, detail: str) -> Iterator[None]:
    """Run the block in a savepoint and flush it; an integrity error rolls back only the block
    and becomes Conflict(detail), so the caller's transaction stays usable."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        raise Conflict(detail) from None

"""The audit of reads: what was disclosed, to whom, without holding the chain's lock.

A read of personal data is audited like a change, but the event is all it writes. Recorded in
the read's own transaction, it would hold the audit chain's lock (on SQLite, the database's
write lock) while the answer is built, and so serialise every such read. Inside
``deferring()`` a reading unit of work queues the event instead; the API records the queue in a
short writing transaction of its own before the answer leaves, or fails without answering
(auditor/views/api.py, ``audits=True``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session

from auditor.db import access, current_access
from auditor.services import audit
from auditor.services.context import Actor

_DEFERRED: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "audit_deferred", default=None
)


@contextlib.contextmanager
def deferring() -> Iterator[list[dict[str, Any]]]:
    """Within: ``record_read`` in a reading unit of work queues its events in the list yielded."""
    pending: list[dict[str, Any]] = []
    token = _DEFERRED.set(pending)
    try:
        yield pending
    finally:
        _DEFERRED.reset(token)


def record_read(session: Session, *, actor: Actor, action: str, **event: Any) -> None:
    """Audit a read: at once in a writing unit of work, queued in a reading one (``deferring``).
    Outside ``deferring`` a reading unit of work cannot write, and recording fails loudly."""
    pending = _DEFERRED.get()
    if pending is not None and current_access() == "read":
        pending.append({"actor": actor, "action": action, **event})
        return
    audit.record(session, actor=actor, action=action, **event)


def record_all(session: Session, pending: Sequence[dict[str, Any]]) -> None:
    """Record the queued events, in order, in the caller's writing transaction."""
    for event in pending:
        audit.record(session, **event)


def record_pending(session: Session, pending: Sequence[dict[str, Any]]) -> None:
    """After a reading unit of work: its queued events in a short writing transaction of their
    own, committed (the API's and the pages' ``audits=True``)."""
    if not pending:
        return
    with access("write"):
        record_all(session, pending)
        session.commit()

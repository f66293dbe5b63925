"""Purge runs: the one-at-a-time lock, opening a run and closing it with its certificate.

A run (a retention purge, a request's deletion, a vault purge) is a ``purge_run`` row marked
running with its ``retention.run_start`` audit event; it ends with ``retention.run_complete`` (or
``run_failed``). A completed run stores its certificate, whose digest the completion event
carries; from then on the database refuses to change the row (migration 0011).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from auditor.models import PurgeRun
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import AuditorError, PurgeInProgress, safe_error
from auditor.services.retention import dispositions as disposition_records

LOCK_KEY = 0x7075726765727573  # "purgerus": the advisory lock of the running purge


@contextlib.contextmanager
def run_lock(session: Session) -> Iterator[None]:
    """PostgreSQL: hold the purge's advisory lock on a dedicated connection for the whole run."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield
        return
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}):
            raise PurgeInProgress(
                "Another purge run is in progress; try again when it has finished."
            )
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})


def interrupt_stale(session: Session, now: dt.datetime) -> list[int]:
    """Runs still marked running belong to a killed process (we hold the run lock)."""
    stale = list(session.scalars(select(PurgeRun.id).where(PurgeRun.status == "running")))
    if stale:
        session.execute(
            update(PurgeRun)
            .where(PurgeRun.id.in_(stale))
            .values(status="interrupted", finished_at=now, error="the process stopped mid-run")
        )
    return stale


def open_run(
    session: Session,
    *,
    as_of: dt.date,
    actor: Actor,
    trigger: str,
    now: dt.datetime,
    job_run_id: int | None = None,
    details: dict[str, Any] | None = None,
    counts: dict[str, Any] | None = None,
    interrupt: bool = True,
) -> PurgeRun:
    """A run row marked running (``counts`` added to its counts) and its ``retention.run_start``
    audit event (``details`` added), after marking runs left running by a killed process
    interrupted; not committed."""
    # only the holder of the run lock knows that a running row is stale (a vault purge does not
    # take it: it runs alongside a retention purge)
    interrupted = interrupt_stale(session, now) if interrupt else []
    run = PurgeRun(
        as_of=as_of,
        started_at=now,
        status="running",
        executor=actor.name,
        trigger=trigger,
        job_run_id=job_run_id,
        last_record_id=0,
        counts={},
    )
    session.add(run)
    session.flush()
    started = audit.record(
        session,
        actor=actor,
        action="retention.run_start",
        object_type="purge_run",
        object_id=run.id,
        details={"as_of": as_of.isoformat(), **(details or {}), "interrupted_runs": interrupted},
        now=now,
    )
    run.counts = {"audit_seq_started": started.seq, **(counts or {})}
    return run


def close_run(
    session: Session,
    run: PurgeRun,
    status: str,
    counts: dict[str, Any],
    *,
    actor: Actor,
    now: dt.datetime,
    error: BaseException | None = None,
    digest_key_id: str | None = None,
    summary: disposition_records.Summary | None = None,
) -> None:
    """End a run: its ``retention.run_complete`` (or ``run_failed``) audit event with ``counts``
    (the credentials' entries left out), status, end time and error; not committed.

    A completed run (given ``digest_key_id``) stores its certificate, whose digest the completion
    event carries, so the signed log commits to the certificate as to each batch; ``summary``:
    the run's lines as it wrote them (otherwise recomputed)."""
    # the row is written once, after the event: a completed run cannot be changed afterwards
    details = {k: v for k, v in counts.items() if k != "credentials"}
    body = None
    if status == "completed" and digest_key_id is not None:
        body = disposition_records.certificate_body(
            session,
            run,
            digest_key_id=digest_key_id,
            summary=summary,
            status=status,
            finished_at=now,
            counts=counts,
        )
        details["certificate_digest"] = disposition_records.certificate_digest(body)
    event = audit.record(
        session,
        actor=actor,
        action="retention.run_complete" if status == "completed" else "retention.run_failed",
        outcome="success" if status == "completed" else "failure",
        object_type="purge_run",
        object_id=run.id,
        details=details,
        now=now,
    )
    run.status, run.finished_at = status, now
    run.counts = {**counts, "audit_seq_completed": event.seq}
    if body is not None:
        run.certificate = {
            **body,
            "audit": {
                "run_started_seq": counts.get("audit_seq_started"),
                "run_completed_seq": event.seq,
            },
        }
    if error is not None:
        run.error = safe_error(error, safe_types=(AuditorError,))

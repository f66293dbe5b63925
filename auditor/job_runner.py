"""One run of a scheduled job: claimed, kept alive by a heartbeat while it runs, recorded; and
the runs whose process died, recognised and marked interrupted (auditor/services/jobs.py).

The scheduler (auditor/scheduler.py) decides when a job runs; ``auditor scheduler run-once``
runs one now. Both go through ``run_job``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from auditor.config import ConfigError
from auditor.db import get_database
from auditor.keys import audit_origin, audit_public_key, audit_signing_key, disposition_key
from auditor.models import JobRun
from auditor.services import jobs, throttle
from auditor.services.context import Actor
from auditor.services.errors import PurgeInProgress

log = logging.getLogger("auditor.scheduler")

JobFunction = Callable[[Session, dt.datetime], dict[str, Any]]


def _checkpoint(session: Session, now: dt.datetime) -> dict[str, Any]:
    return jobs.sign_checkpoint(
        session, signing_key=audit_signing_key(), origin=audit_origin(), now=now
    )


def _compliance(session: Session, now: dt.datetime) -> dict[str, Any]:
    return jobs.check_compliance(
        session, public_key=audit_public_key(), origin=audit_origin(), now=now
    )


#: the job run being run in this thread: the purge cites it in its purge run
_CURRENT_RUN: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_run", default=None)


def _purge(session: Session, now: dt.datetime) -> dict[str, Any]:
    return jobs.purge_expired(
        session,
        now=now,
        digest_key=disposition_key(),
        job_run_id=_CURRENT_RUN.get(),
        signing_key=audit_signing_key(),
        origin=audit_origin(),
        batch=int(current_app.config["PURGE_BATCH_SIZE"]),
    )


def _hourly(session: Session, now: dt.datetime) -> dict[str, Any]:
    """The deadline check, and the count of failed authentications of every interval that has
    ended since (a burst that stopped is still recorded: auditor/services/throttle.py)."""
    counts = jobs.check_deadlines(session, now=now)
    limit = throttle.Limit.from_settings(current_app.config)
    actor = Actor.system(jobs.DEADLINES)
    counts["auth_failure_intervals_counted"] = throttle.summarise_closed(
        session, limit=limit, now=now, actor=actor
    )
    return counts


# job id -> the service it runs (with the app context pushed, for the keys)
JOB_FUNCTIONS: dict[str, JobFunction] = {
    jobs.PURGE: _purge,
    jobs.DEADLINES: lambda session, now: _hourly(session, now),
    jobs.CHECKPOINT: _checkpoint,
    jobs.COMPLIANCE: _compliance,
}


def host_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_alive(pid: int) -> bool:
    """True while a process of this machine with that pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def interrupt_stale(app: Flask, now: dt.datetime) -> list[JobRun]:
    """Mark the runs whose process is gone (killed, machine lost) as interrupted."""
    stale_after = dt.timedelta(seconds=int(app.config["SCHEDULER_STALE_RUN_SECONDS"]))
    with app.app_context(), get_database(app).session() as session:
        stale = jobs.interrupt_stale(
            session,
            now=now,
            stale_after=stale_after,
            host=socket.gethostname(),
            alive=process_alive,
        )
    for run in stale:
        log.warning(
            "job run interrupted: its process is gone",
            extra={"job": run.job, "scheduled_for": run.scheduled_for.isoformat()},
        )
    return stale


class _Heartbeat:
    """While a job runs, refresh its run's heartbeat every SCHEDULER_HEARTBEAT_SECONDS (in a
    session of its own), so another scheduler can tell it from a run whose process died."""

    def __init__(self, app: Flask, run_id: int) -> None:
        self.app, self.run_id = app, run_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="auditor-heartbeat", daemon=True)

    def _beat(self) -> None:
        every = int(self.app.config["SCHEDULER_HEARTBEAT_SECONDS"])
        while not self.stop.wait(every):
            try:
                with self.app.app_context(), get_database(self.app).session() as session:
                    jobs.beat(session, self.run_id)
            except SQLAlchemyError:  # busy database: the next beat will do
                log.warning("job heartbeat not recorded", extra={"run": self.run_id})

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def run_job(
    app: Flask, job_id: str, scheduled_for: dt.datetime, *, now: dt.datetime | None = None
) -> JobRun | None:
    """Claim, run and record one run of a job. None when the run was claimed elsewhere already.

    The claim and the result are committed in their own transactions, the job in another: a job
    that fails is rolled back, recorded as a failure (type and safe message) and runs again at
    its next scheduled time."""
    function = JOB_FUNCTIONS[job_id]
    extra = {"job": job_id, "scheduled_for": scheduled_for.isoformat()}
    with app.app_context(), get_database(app).session() as session:
        try:
            run = jobs.start_run(
                session,
                job=job_id,
                scheduled_for=scheduled_for,
                host=host_name(),
                pid=os.getpid(),
                now=now,
            )
        except SQLAlchemyError:
            log.exception("job run not started: database error", extra=extra)
            return None
        if run is None:
            log.info("job run skipped: already claimed by another run", extra=extra)
            return None
        token = _CURRENT_RUN.set(run.id)
        try:
            with _Heartbeat(app, run.id):
                counts = function(session, now or run.started_at)
                session.commit()
        except PurgeInProgress as exc:  # a run already at it: nothing failed
            session.rollback()
            log.info("job run skipped: a purge is already in progress", extra=extra)
            return _record(session, run, extra, error=exc)
        except Exception as exc:
            session.rollback()
            log.exception("job run failed", extra=extra)
            return _record(session, run, extra, error=exc)
        finally:
            _CURRENT_RUN.reset(token)
        log.info("job run succeeded", extra={**extra, "counts": counts})
        return _record(session, run, extra, counts=counts)


def _record(session: Session, run: JobRun, extra: dict[str, Any], **result: Any) -> JobRun:
    try:
        return jobs.finish_run(session, run, safe_types=(ConfigError,), **result)
    except SQLAlchemyError:
        session.rollback()
        log.exception("job run result not recorded: database error", extra=extra)
        return run

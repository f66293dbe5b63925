"""Scheduled jobs: what each job does, and the job-run bookkeeping that stops a run happening twice.

A run is claimed by inserting its (job, scheduled_for) row in a committed transaction before the
job starts: the unique key on job_run makes a second claim of the same scheduled time fail, so two
scheduler instances can never both run it, even if their advisory lock failed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import JobRun
from auditor.services import audit, retention
from auditor.services.context import Actor
from auditor.services.errors import MAX_ERROR_LENGTH as MAX_ERROR_LENGTH  # re-exported
from auditor.services.errors import safe_error

PURGE = "retention.purge"
DEADLINES = "requests.deadlines"
CHECKPOINT = "audit.checkpoint"
JOB_IDS = (PURGE, DEADLINES, CHECKPOINT)
OUTCOMES = ("running", "success", "failure")


# --- the jobs -----------------------------------------------------------------------------------


def purge_expired(
    session: Session,
    *,
    now: dt.datetime,
    digest_key: bytes,
    signing_key: Ed25519PrivateKey | None = None,
    origin: str | None = None,
    batch: int = retention.BATCH,
) -> dict[str, Any]:
    """The daily retention purge for the scheduled day: the plan executed in batches, with its
    certificate; blocked records and credentials are counted (and listed in the run). Then the
    due records whose rule requires review are put in review batches for an officer."""
    day = now.astimezone(dt.UTC).date()
    result = retention.execute_purge(
        session,
        as_of=day,
        actor=Actor.system(PURGE),
        digest_key=digest_key,
        trigger="scheduler",
        batch=batch,
        signing_key=signing_key,
        origin=origin,
    )
    opened = retention.open_review_batches(session, as_of=day, actor=Actor.system(PURGE))
    session.commit()
    credentials = [entry["status"] for entry in result.credentials]
    return {
        "reviews_opened": len(opened),
        "purge_run": result.run_id,
        "disposed": result.disposed,
        "subjects_removed": result.subjects_removed,
        "blocked": sum(result.blocked.values()),
        "credentials_purged": credentials.count("purged"),
        "credentials_blocked": credentials.count("blocked"),
    }


def check_deadlines(session: Session, *, now: dt.datetime) -> dict[str, int]:
    """The hourly deadline check of privacy requests: counts of open requests, those due within
    7 days and the overdue ones; each newly overdue request is audited once as deemed refused
    (R4, ``request.deemed_refused``)."""
    from auditor.services import requests

    return requests.check_deadlines(session, now=now, actor=Actor.system(DEADLINES))


def sign_checkpoint(
    session: Session, *, signing_key: Ed25519PrivateKey, origin: str, now: dt.datetime
) -> dict[str, int]:
    """The daily audit checkpoint: sign the current tree head, attributed to this job."""
    checkpoint = audit.create_checkpoint(
        session, signing_key=signing_key, origin=origin, actor=Actor.system(CHECKPOINT), now=now
    )
    return {"tree_size": checkpoint.tree_size}


# --- run bookkeeping ----------------------------------------------------------------------------


def start_run(
    session: Session,
    *,
    job: str,
    scheduled_for: dt.datetime,
    host: str,
    now: dt.datetime | None = None,
) -> JobRun | None:
    """Claim the run of ``job`` at ``scheduled_for`` and commit the claim.

    None when that run was already claimed (by another instance, or an earlier attempt): the
    caller must then skip it."""
    run = JobRun(
        job=job,
        scheduled_for=scheduled_for,
        started_at=now or utcnow(),
        outcome="running",
        counts={},
        host=host[:200],
    )
    session.add(run)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return run


def finish_run(
    session: Session,
    run: JobRun,
    *,
    counts: dict[str, Any] | None = None,
    error: BaseException | None = None,
    safe_types: tuple[type[BaseException], ...] = (),
    now: dt.datetime | None = None,
) -> JobRun:
    """Record the end of a run, its outcome and counts (or a safe error message); commit."""
    run.finished_at = now or utcnow()
    run.outcome = "failure" if error is not None else "success"
    run.counts = dict(counts or {})
    run.error = None if error is None else safe_error(error, safe_types=safe_types)
    session.add(run)
    session.commit()
    return run


def has_run(session: Session, *, job: str, scheduled_for: dt.datetime) -> bool:
    """True if the run of ``job`` at ``scheduled_for`` was claimed (whatever its outcome)."""
    found = session.scalar(
        select(JobRun.id).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for)
    )
    return found is not None


def list_runs(session: Session, *, job: str | None = None, limit: int = 20) -> list[JobRun]:
    """The most recent runs first (by scheduled time)."""
    query = select(JobRun).order_by(JobRun.scheduled_for.desc(), JobRun.id.desc()).limit(limit)
    if job is not None:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))


def latest_runs(session: Session) -> dict[str, JobRun]:
    """The latest run of every job that has run, by job id."""
    latest = (
        select(JobRun.job, func.max(JobRun.scheduled_for).label("at"))
        .group_by(JobRun.job)
        .subquery()
    )
    rows = session.scalars(
        select(JobRun).join(
            latest, (JobRun.job == latest.c.job) & (JobRun.scheduled_for == latest.c.at)
        )
    )
    return {run.job: run for run in rows}

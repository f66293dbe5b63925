"""Scheduled jobs: what each job does, and the job-run bookkeeping that stops a run happening twice.

A run is claimed by inserting its (job, scheduled_for) row in a committed transaction before the
job starts: the unique key on job_run makes a second claim of the same scheduled time fail, so two
scheduler instances can never both run it, even if their advisory lock failed.

A run whose process died (killed, machine lost) would stay 'running' for ever. It records its
process (host, pid) and a heartbeat; once the process is gone (same host) or the heartbeat is
older than the stale limit (any host), the run is marked 'interrupted', and a claim of that
scheduled time takes the run over to do it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import JobRun
from auditor.services import audit, retention
from auditor.services.context import Actor
from auditor.services.errors import MAX_ERROR_LENGTH as MAX_ERROR_LENGTH  # re-exported
from auditor.services.errors import PurgeInProgress, safe_error

PURGE = "retention.purge"
DEADLINES = "requests.deadlines"
CHECKPOINT = "audit.checkpoint"
COMPLIANCE = "compliance.check"
JOB_IDS = (PURGE, DEADLINES, CHECKPOINT, COMPLIANCE)
OUTCOMES = ("running", "success", "failure", "interrupted", "skipped")
#: the outcomes a monitoring check must hear about (``auditor scheduler status`` exits 1)
TROUBLE = ("failure", "interrupted")


# --- the jobs -----------------------------------------------------------------------------------


def purge_expired(
    session: Session,
    *,
    now: dt.datetime,
    digest_key: bytes,
    job_run_id: int | None = None,
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
        job_run_id=job_run_id,
        signing_key=signing_key,
        origin=origin,
    )
    opened = retention.open_review_batches(session, as_of=day, actor=Actor.system(PURGE))
    session.commit()
    credentials = [entry["status"] for entry in result.credentials]
    # what falls due next, for the dashboard: it reads every record, so it is computed here,
    # once a day, rather than on a page (services/dashboard.py)
    coming = forecast_summary(retention.forecast_schedule(session, start=day, months=2))
    return {
        "forecast": coming,
        "reviews_opened": len(opened),
        "purge_run": result.run_id,
        "disposed": result.disposed,
        "subjects_removed": result.subjects_removed,
        "blocked": sum(result.blocked.values()),
        "credentials_purged": credentials.count("purged"),
        "credentials_blocked": credentials.count("blocked"),
    }


def forecast_summary(forecast: retention.Forecast) -> dict[str, Any]:
    """The disposition forecast's buckets as the dashboard shows them (JSON-ready)."""
    return {
        "start": forecast.start.isoformat(),
        "buckets": [
            {
                "label": bucket.label,
                "due": bucket.due,
                "held": bucket.held,
                "pending_review": bucket.pending_review,
            }
            for bucket in [forecast.due_now, *forecast.by_month]
        ],
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


def check_compliance(
    session: Session, *, public_key: Ed25519PublicKey | None, origin: str, now: dt.datetime
) -> dict[str, Any]:
    """The daily compliance checks: each finding's state, and the open ones by severity."""
    from auditor.services import compliance

    context = compliance.Context(now, public_key, origin)
    run = compliance.run_checks(session, context=context, actor=Actor.system(COMPLIANCE), now=now)
    return {"run": run.id, **{k: v for k, v in run.counts.items() if k != "open"}}


# --- run bookkeeping ----------------------------------------------------------------------------


def start_run(
    session: Session,
    *,
    job: str,
    scheduled_for: dt.datetime,
    host: str,
    pid: int | None = None,
    now: dt.datetime | None = None,
) -> JobRun | None:
    """Claim the run of ``job`` at ``scheduled_for`` and commit the claim.

    A run of that time that was interrupted is taken over (run again). None when that run was
    already claimed otherwise (by another instance, or an earlier attempt): skip it."""
    moment = now or utcnow()
    run = JobRun(
        job=job,
        scheduled_for=scheduled_for,
        started_at=moment,
        outcome="running",
        counts={},
        host=host[:200],
        pid=pid,
        heartbeat_at=moment,
    )
    session.add(run)
    try:
        session.commit()
        return run
    except IntegrityError:
        session.rollback()
    taken = session.execute(
        update(JobRun)
        .where(
            JobRun.job == job,
            JobRun.scheduled_for == scheduled_for,
            JobRun.outcome == "interrupted",
        )
        .values(
            outcome="running",
            host=host[:200],
            pid=pid,
            started_at=moment,
            heartbeat_at=moment,
            finished_at=None,
            error=None,
            counts={},
        )
    )
    session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalars(
        select(JobRun).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for)
    ).one()


def beat(session: Session, run_id: int, now: dt.datetime | None = None) -> None:
    """The running job is alive: refresh its heartbeat (commits)."""
    session.execute(update(JobRun).where(JobRun.id == run_id).values(heartbeat_at=now or utcnow()))
    session.commit()


def is_stale(
    run: JobRun,
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
    host: str,
    alive: Callable[[int], bool],
) -> bool:
    """A 'running' run whose process is gone: on this host and not alive, or silent (no
    heartbeat) for longer than ``stale_after`` wherever it ran."""
    if run.outcome != "running":
        return False
    if run.pid is not None and run.host.rpartition(":")[0] == host and not alive(run.pid):
        return True
    return (run.heartbeat_at or run.started_at) < now - stale_after


def interrupt_stale(
    session: Session,
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
    host: str,
    alive: Callable[[int], bool],
) -> list[JobRun]:
    """Mark the runs whose process is gone as interrupted (commits); they are run again by the
    next claim of their scheduled time."""
    running = session.scalars(select(JobRun).where(JobRun.outcome == "running")).all()
    stale = [
        run
        for run in running
        if is_stale(run, now=now, stale_after=stale_after, host=host, alive=alive)
    ]
    for run in stale:
        run.outcome, run.finished_at = "interrupted", now
        run.error = "the scheduler process stopped while the job ran"
    session.commit()
    return stale


def finish_run(
    session: Session,
    run: JobRun,
    *,
    counts: dict[str, Any] | None = None,
    error: BaseException | None = None,
    safe_types: tuple[type[BaseException], ...] = (),
    now: dt.datetime | None = None,
) -> JobRun:
    """Record the end of a run, its outcome and counts (or a safe error message); commit. A run
    refused because its work was already in progress elsewhere is 'skipped', not a failure."""
    run.finished_at = now or utcnow()
    if isinstance(error, PurgeInProgress):
        run.outcome = "skipped"
    else:
        run.outcome = "failure" if error is not None else "success"
    run.counts = dict(counts or {})
    run.error = None if error is None else safe_error(error, safe_types=safe_types)
    session.add(run)
    session.commit()
    return run


def has_run(session: Session, *, job: str, scheduled_for: dt.datetime) -> bool:
    """True if the run of ``job`` at ``scheduled_for`` was claimed and not interrupted (an
    interrupted run is still to do)."""
    found = session.scalar(
        select(JobRun.id).where(
            JobRun.job == job,
            JobRun.scheduled_for == scheduled_for,
            JobRun.outcome != "interrupted",
        )
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

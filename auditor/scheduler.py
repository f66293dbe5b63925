"""The job scheduler (APScheduler 3.x): the job table, the PostgreSQL leader lock, run bookkeeping.

Which instance runs jobs: on PostgreSQL, the one holding a session-level advisory lock on its own
autocommit connection. The others are standbys: they poll ``pg_try_advisory_lock`` every
SCHEDULER_LOCK_POLL_SECONDS and schedule nothing until the holder exits or loses its connection
(the server then releases the lock). Polling rather than a blocking ``pg_advisory_lock`` keeps a
standby responsive to SIGTERM and lets it log that it is standing by. Should two instances ever
both run (a lock lost mid-run), the job_run unique key (job, scheduled_for) still refuses the
second run: see auditor.services.jobs. SQLite has no such lock: run one scheduler process only.

Every instance derives the same scheduled time for a run from the trigger alone (cron times, or
intervals anchored at a fixed instant), so the unique key compares like with like.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from flask.cli import run_command
from flask.helpers import get_debug_flag
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from auditor.config import ConfigError, parse_clock_time
from auditor.db import get_database, utcnow
from auditor.job_runner import JOB_FUNCTIONS, interrupt_stale, run_job
from auditor.services import jobs

log = logging.getLogger(__name__)

LOCK_KEY = 0x7363686564756C65  # "schedule": the advisory lock of the active scheduler
# interval triggers count from this instant, so every instance computes the same fire times
INTERVAL_ANCHOR = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class JobSpec:
    """One row of the job table. ``lookback`` exceeds the longest gap between two fire times."""

    id: str
    trigger: BaseTrigger
    lookback: dt.timedelta
    when: str


def job_table(config: Mapping[str, Any]) -> list[JobSpec]:
    """The jobs this scheduler runs, from the settings (SCHEDULER_JOBS selects among them)."""
    tz = ZoneInfo(config["SCHEDULER_TIMEZONE"])

    def daily(setting: str) -> CronTrigger:
        hour, minute = parse_clock_time(config[setting]) or (0, 0)
        return CronTrigger(hour=hour, minute=minute, timezone=tz)

    two_days = dt.timedelta(days=2)  # a day may last 25 hours at a DST change
    purge_at, checkpoint_at = config["SCHEDULER_PURGE_AT"], config["SCHEDULER_CHECKPOINT_AT"]
    hourly = CronTrigger(minute=0, timezone=tz)
    table = [
        JobSpec(jobs.PURGE, daily("SCHEDULER_PURGE_AT"), two_days, f"daily {purge_at}"),
        JobSpec(jobs.DEADLINES, hourly, dt.timedelta(hours=2), "hourly :00"),
        JobSpec(
            jobs.CHECKPOINT, daily("SCHEDULER_CHECKPOINT_AT"), two_days, f"daily {checkpoint_at}"
        ),
        JobSpec(
            jobs.COMPLIANCE,
            daily("SCHEDULER_COMPLIANCE_AT"),
            two_days,
            f"daily {config['SCHEDULER_COMPLIANCE_AT']}",
        ),
    ]
    every = int(config["SCHEDULER_TEST_INTERVAL_SECONDS"])
    if every > 0:
        table = [
            JobSpec(
                spec.id,
                IntervalTrigger(seconds=every, start_date=INTERVAL_ANCHOR, timezone=dt.UTC),
                dt.timedelta(seconds=2 * every),
                f"every {every} s",
            )
            for spec in table
        ]
    return [spec for spec in table if spec.id in selected_jobs(config)]


def selected_jobs(config: Mapping[str, Any]) -> set[str]:
    value = str(config["SCHEDULER_JOBS"]).strip()
    if value == "all":
        return set(jobs.JOB_IDS)
    chosen = {name.strip() for name in value.split(",") if name.strip()}
    unknown = chosen - set(jobs.JOB_IDS)
    if unknown:
        raise ConfigError(
            f"AUDITOR_SCHEDULER_JOBS: unknown job {sorted(unknown)[0]!r}; "
            f"known: {', '.join(jobs.JOB_IDS)}"
        )
    return chosen


def add_jobs(scheduler: BackgroundScheduler, app: Flask) -> None:
    """Register the job table: stable ids, at most one run of a job at a time, missed runs
    collapsed into one and still started up to the misfire grace late."""
    for spec in job_table(app.config):
        scheduler.add_job(
            fire,
            trigger=spec.trigger,
            args=(app, spec),
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(app.config["SCHEDULER_MISFIRE_GRACE_SECONDS"]),
        )


def missed_runs(app: Flask, now: dt.datetime) -> list[tuple[JobSpec, dt.datetime]]:
    """Each job's latest scheduled time before ``now`` that has no run recorded (the service was
    down then, or this is a fresh install): anacron-style, only the latest one per job."""
    missed = []
    with app.app_context(), get_database(app).session() as session:
        for spec in job_table(app.config):
            due = spec.trigger.get_next_fire_time(None, now - spec.lookback)
            if due is None or due > now:
                continue
            moment = latest_fire_time(spec, now)
            if not jobs.has_run(session, job=spec.id, scheduled_for=moment):
                missed.append((spec, moment))
    return missed


def catch_up(scheduler: BackgroundScheduler, app: Flask, now: dt.datetime) -> None:
    """Start the missed runs now, once each (their unique job-run key refuses a duplicate)."""
    for spec, moment in missed_runs(app, now):
        log.info("catching up a missed run", extra={"job": spec.id, "at": moment.isoformat()})
        scheduler.add_job(
            run_job,
            args=(app, spec.id, moment),
            id=f"catch-up:{spec.id}",
            replace_existing=True,
            misfire_grace_time=None,
        )


def latest_fire_time(spec: JobSpec, now: dt.datetime) -> dt.datetime:
    """The latest time at or before ``now`` the job was due: the run APScheduler just fired
    (a late run of a coalesced job included)."""
    moment: dt.datetime | None = spec.trigger.get_next_fire_time(None, now - spec.lookback)
    if moment is None or moment > now:
        return now.replace(microsecond=0)
    while True:
        following = spec.trigger.get_next_fire_time(moment, moment + dt.timedelta(seconds=1))
        if following is None or following > now:
            return moment.astimezone(dt.UTC)
        moment = following


def fire(app: Flask, spec: JobSpec) -> None:
    """What APScheduler calls: run the job for the scheduled time it is due at."""
    run_job(app, spec.id, latest_fire_time(spec, utcnow()))


def rerun_interrupted(scheduler: BackgroundScheduler, app: Flask, now: dt.datetime) -> None:
    """The latest run of each job, interrupted: run it again now (the claim takes it over)."""
    interrupt_stale(app, now)
    with app.app_context(), get_database(app).session() as session:
        latest = jobs.latest_runs(session)
    for job_id, run in latest.items():
        if run.outcome == "interrupted" and job_id in JOB_FUNCTIONS:
            log.info("running an interrupted run again", extra={"job": job_id})
            scheduler.add_job(
                run_job,
                args=(app, job_id, run.scheduled_for),
                id=f"rerun:{job_id}",
                replace_existing=True,
                misfire_grace_time=None,
            )


class LeaderLock:
    """PostgreSQL: a session-level advisory lock held on a dedicated autocommit connection (no
    transaction stays open). SQLite: always granted; one scheduler process only."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None
        self.is_postgresql = engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        if not self.is_postgresql:
            return True
        try:
            if self.connection is None:
                self.connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            query = text("SELECT pg_try_advisory_lock(:key)")
            return bool(self.connection.execute(query, {"key": LOCK_KEY}).scalar())
        except SQLAlchemyError:
            log.warning("scheduler lock not available: database error")
            self.release()
            return False

    def is_held(self) -> bool:
        """False once the lock's connection is gone (the server has released the lock)."""
        if self.connection is None:
            return not self.is_postgresql
        try:
            self.connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def release(self) -> None:
        """Closing the connection ends its session, which releases the lock."""
        if self.connection is not None:
            try:
                self.connection.invalidate()  # never back to the pool: the lock goes with it
                self.connection.close()
            except SQLAlchemyError:
                pass
            self.connection = None


def job_workers(app: Flask) -> int:
    """SQLite has one writer at a time: jobs run one after the other there (the 03:00 purge and
    the hourly deadline check would otherwise collide). PostgreSQL runs them side by side."""
    return 1 if get_database(app).engine.dialect.name == "sqlite" else 4


def serve(app: Flask, stop: threading.Event) -> None:
    """The scheduler process: stand by until this instance holds the lock, then run the job
    table until ``stop`` is set (or the lock is lost: then stand by again)."""
    lock = LeaderLock(get_database(app).engine)
    poll = int(app.config["SCHEDULER_LOCK_POLL_SECONDS"])
    standing_by = False
    while not stop.is_set():
        if not lock.try_acquire():
            if not standing_by:
                log.info("scheduler standing by: another instance holds the lock")
                standing_by = True
            stop.wait(poll)
            continue
        standing_by = False
        scheduler = BackgroundScheduler(
            timezone=ZoneInfo(app.config["SCHEDULER_TIMEZONE"]),
            executors={"default": ThreadPoolExecutor(max_workers=job_workers(app))},
        )
        add_jobs(scheduler, app)
        scheduler.start()
        log.info("scheduler active", extra={"jobs": [job.id for job in scheduler.get_jobs()]})
        rerun_interrupted(scheduler, app, utcnow())  # what the previous holder left half done
        if app.config["SCHEDULER_CATCH_UP"]:
            catch_up(scheduler, app, utcnow())
        try:
            while not stop.wait(poll):
                if not lock.is_held():
                    log.error("scheduler lock lost (database connection); standing by")
                    break
                rerun_interrupted(scheduler, app, utcnow())
        finally:
            scheduler.shutdown(wait=True)  # let a running job finish and record its result
            lock.release()
    log.info("scheduler stopped")


# --- embedded in the web process ----------------------------------------------------------------


def embedded_wanted(app: Flask) -> bool:
    """AUDITOR_SCHEDULER=embedded, not testing, and this process serves the app.

    Under a WSGI server there is no click context: start. Under ``auditor run`` start only in
    the process that serves (the reloader's child, not the watcher that restarts it). Any other
    command (``auditor db upgrade``, ``auditor scheduler run``) never embeds a scheduler."""
    if app.config["SCHEDULER"] != "embedded" or app.config["TESTING"]:
        return False
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    if ctx.command is not run_command:
        return False
    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def init_app(app: Flask) -> None:
    """Start the embedded scheduler in a background thread when wanted (create_app calls this)."""
    if not embedded_wanted(app) or "auditor.scheduler" in app.extensions:
        return
    if get_database(app).engine.dialect.name == "sqlite":
        log.warning("embedded scheduler on SQLite: serve with one process only")
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(app, stop), name="auditor-scheduler", daemon=True)
    app.extensions["auditor.scheduler"] = (thread, stop)
    thread.start()

    def _stop() -> None:
        stop.set()
        thread.join(timeout=30)

    atexit.register(_stop)

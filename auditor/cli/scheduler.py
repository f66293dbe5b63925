"""``auditor scheduler``: the scheduler process, one job run on demand, and recent runs."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor import job_runner
from auditor import scheduler as runner
from auditor.cli import groups
from auditor.cli.common import command, fail
from auditor.db import get_database, utcnow
from auditor.models import JobRun
from auditor.services import jobs


@command(groups.scheduler, "run")
def run() -> None:
    """Run the scheduler until SIGTERM or Ctrl-C.

    On PostgreSQL start as many as you like: one runs the jobs, the others stand by for it. On
    SQLite run exactly one (and not beside AUDITOR_SCHEDULER=embedded)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    table = runner.job_table(app.config)  # refuse a bad AUDITOR_SCHEDULER_JOBS before starting
    if get_database(app).engine.dialect.name == "sqlite":
        click.echo(
            "Warning: SQLite has no scheduler lock: run ONE scheduler process only "
            "(use PostgreSQL for a standby).",
            err=True,
        )
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"scheduler starting: {', '.join(f'{s.id} ({s.when})' for s in table)}", err=True)
    runner.serve(app, stop)


@command(groups.scheduler, "run-once")
@click.argument("job", type=click.Choice(jobs.JOB_IDS))
def run_once(job: str) -> None:
    """Run JOB now, recorded like a scheduled run (exit 1 if it fails)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    result = job_runner.run_job(app, job, utcnow())
    if result is None:
        fail(f"{job} was not run (already claimed, or the database is unavailable)")
        return
    click.echo(_describe(result))
    if result.outcome != "success":
        raise SystemExit(1)


@command(groups.scheduler, "status")
@click.option("--job", type=click.Choice(jobs.JOB_IDS), help="only this job's runs")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def status(session: Session, job: str | None, limit: int) -> None:
    """The job table, the latest run of every job and the recent runs.

    Exits 1 when the latest run of a job failed, was interrupted, or is still marked running
    though its process is gone: usable as a monitoring check."""
    job_runner.interrupt_stale(current_app, utcnow())  # a run whose process is gone
    latest = jobs.latest_runs(session)
    click.echo("jobs:")
    for spec in runner.job_table(current_app.config):
        last = latest.get(spec.id)
        seen = f"last {last.outcome}, scheduled {_at(last)}" if last else "never run"
        click.echo(f"  {spec.id:<20} {spec.when:<12} {seen}")
    click.echo("recent runs:")
    runs = jobs.list_runs(session, job=job, limit=limit)
    for job_run in runs:
        click.echo("  " + _describe(job_run))
    if not runs:
        click.echo("  (none)")
    troubled = sorted(
        f"{name} ({last.outcome})" for name, last in latest.items() if last.outcome in jobs.TROUBLE
    )
    if troubled:
        fail(f"latest run not successful: {', '.join(troubled)}")


def _describe(run: JobRun) -> str:
    counts = ", ".join(f"{key}={value}" for key, value in sorted(run.counts.items())) or "-"
    took = ""
    if run.finished_at is not None:
        took = f" in {(run.finished_at - run.started_at).total_seconds():.1f} s"
    line = f"{run.job} scheduled {_at(run)}: {run.outcome}{took} counts: {counts} on {run.host}"
    return line + (f" error: {run.error}" if run.error else "")


def _at(run: JobRun) -> str:
    return f"{run.scheduled_for:%Y-%m-%d %H:%M:%S}Z"

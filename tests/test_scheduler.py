"""The scheduler: job table, run wrapper, leader lock, CLI, embedding, and two real processes."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask.cli import run_command
from sqlalchemy import delete, select

from auditor import config, job_runner, scheduler
from auditor.models import AuditEvent, JobRun
from auditor.services import audit, jobs
from auditor.services.context import Actor
from auditor.services.errors import ValidationFailed
from tests.factories import process_environment


def settings(**extra):
    return {**config.load(environ={}), **extra}


def test_job_table_has_stable_ids_and_the_house_options(app, request):
    sched = BackgroundScheduler(timezone=dt.UTC)
    sched.start(paused=True)
    request.addfinalizer(lambda: sched.shutdown(wait=False))
    scheduler.add_jobs(sched, app)
    table = {job.id: job for job in sched.get_jobs()}
    assert sorted(table) == [
        "audit.checkpoint",
        "compliance.check",
        "requests.deadlines",
        "retention.purge",
    ]
    for job in table.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 3600)
        assert job.func is scheduler.fire
        assert isinstance(job.trigger, CronTrigger)
    assert str(table["retention.purge"].trigger) == "cron[hour='3', minute='0']"
    assert str(table["requests.deadlines"].trigger) == "cron[minute='0']"
    assert str(table["audit.checkpoint"].trigger) == "cron[hour='0', minute='15']"
    assert str(table["compliance.check"].trigger) == "cron[hour='6', minute='30']"
    scheduler.add_jobs(sched, app)  # re-registering replaces, never duplicates
    assert len(sched.get_jobs()) == 4


def test_job_table_follows_settings():
    table = scheduler.job_table(
        settings(
            SCHEDULER_PURGE_AT="4:30",
            SCHEDULER_TIMEZONE="America/Toronto",
            SCHEDULER_JOBS="retention.purge, audit.checkpoint",
        )
    )
    assert [(spec.id, spec.when) for spec in table] == [
        ("retention.purge", "daily 4:30"),
        ("audit.checkpoint", "daily 00:15"),
    ]
    assert str(table[0].trigger) == "cron[hour='4', minute='30']"
    fast = scheduler.job_table(settings(SCHEDULER_TEST_INTERVAL_SECONDS=2))
    assert {spec.when for spec in fast} == {"every 2 s"}
    assert all(isinstance(spec.trigger, IntervalTrigger) for spec in fast)


def test_job_table_refuses_an_unknown_job():
    with pytest.raises(config.ConfigError, match="unknown job 'purge'"):
        scheduler.job_table(settings(SCHEDULER_JOBS="purge"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCHEDULER", "always"),
        ("SCHEDULER_TIMEZONE", "Mars/Olympus"),
        ("SCHEDULER_PURGE_AT", "25:00"),
        ("SCHEDULER_CHECKPOINT_AT", "noon"),
        ("SCHEDULER_LOCK_POLL_SECONDS", 0),
    ],
)
def test_config_check_refuses_bad_scheduler_settings(name, value):
    with pytest.raises(config.ConfigError, match=f"AUDITOR_{name}"):
        config.check(settings(TESTING=True, **{name: value}))


UTC = dt.UTC


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        ("UTC", dt.datetime(2026, 11, 22, 12, 0, tzinfo=UTC), dt.datetime(2026, 11, 22, 3, 0)),
        ("UTC", dt.datetime(2026, 11, 22, 3, 0, tzinfo=UTC), dt.datetime(2026, 11, 22, 3, 0)),
        ("UTC", dt.datetime(2026, 11, 22, 2, 59, tzinfo=UTC), dt.datetime(2026, 11, 21, 3, 0)),
        # 03:00 in Toronto is 08:00 UTC in winter (EST) and 07:00 in summer (EDT)
        ("America/Toronto", dt.datetime(2026, 11, 22, 9, tzinfo=UTC), dt.datetime(2026, 11, 22, 8)),
        ("America/Toronto", dt.datetime(2026, 7, 1, 9, tzinfo=UTC), dt.datetime(2026, 7, 1, 7)),
    ],
)
def test_latest_fire_time_is_the_daily_run_due_at_or_before_now(tz, now, expected):
    purge = scheduler.job_table(settings(SCHEDULER_TIMEZONE=tz))[0]
    assert scheduler.latest_fire_time(purge, now) == expected.replace(tzinfo=UTC)


def test_latest_fire_time_of_intervals_is_the_same_in_every_process():
    spec = scheduler.job_table(settings(SCHEDULER_TEST_INTERVAL_SECONDS=5))[0]
    at = dt.datetime(2026, 11, 22, 12, 0, 7, 300_000, tzinfo=UTC)
    assert scheduler.latest_fire_time(spec, at) == dt.datetime(2026, 11, 22, 12, 0, 5, tzinfo=UTC)
    hourly = scheduler.job_table(settings())[1]
    assert scheduler.latest_fire_time(hourly, at) == dt.datetime(2026, 11, 22, 12, tzinfo=UTC)


def test_missed_runs_are_each_jobs_latest_unrun_time(app, session, monkeypatch):
    now = dt.datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
    missed = {spec.id: at for spec, at in scheduler.missed_runs(app, now)}
    assert missed == {
        jobs.PURGE: dt.datetime(2026, 11, 22, 3, tzinfo=UTC),
        jobs.DEADLINES: dt.datetime(2026, 11, 22, 14, tzinfo=UTC),
        jobs.CHECKPOINT: dt.datetime(2026, 11, 22, 0, 15, tzinfo=UTC),
        jobs.COMPLIANCE: dt.datetime(2026, 11, 22, 6, 30, tzinfo=UTC),
    }
    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.PURGE, lambda s, at: {})
    scheduler.run_job(app, jobs.PURGE, missed[jobs.PURGE])
    again = {spec.id for spec, _ in scheduler.missed_runs(app, now)}
    assert again == {jobs.DEADLINES, jobs.CHECKPOINT, jobs.COMPLIANCE}


def test_catch_up_starts_each_missed_run_once(app, session, monkeypatch):
    calls = []
    monkeypatch.setattr(scheduler, "run_job", lambda app, job, at: calls.append((job, at)))

    class Recorder:
        def add_job(self, func, *, args, id, **options):
            func(*args)

    now = dt.datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
    scheduler.catch_up(Recorder(), app, now)
    assert sorted(job for job, _ in calls) == sorted(jobs.JOB_IDS)


def test_run_job_records_start_end_outcome_and_counts(app, session, now, monkeypatch):
    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.PURGE, lambda s, at: {"disposed": 2})
    run = scheduler.run_job(app, jobs.PURGE, now)
    assert run is not None
    stored = session.scalars(select(JobRun)).one()
    assert (stored.job, stored.scheduled_for, stored.outcome) == (jobs.PURGE, now, "success")
    assert stored.counts == {"disposed": 2}
    assert stored.finished_at is not None and stored.finished_at >= stored.started_at
    assert stored.host == job_runner.host_name() and stored.error is None


def test_run_job_skips_a_scheduled_time_already_claimed(app, session, now, monkeypatch, caplog):
    calls = []
    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.PURGE, lambda s, at: calls.append(at) or {})
    first = scheduler.run_job(app, jobs.PURGE, now)
    second = scheduler.run_job(app, jobs.PURGE, now)
    assert first is not None and second is None
    assert len(calls) == 1
    assert session.scalars(select(JobRun.outcome)).all() == ["success"]
    assert "job run skipped: already claimed by another run" in caplog.messages


def test_failed_run_is_rolled_back_recorded_safely_and_runs_at_the_next_time(
    app, session, now, monkeypatch
):
    def boom(job_session, at):
        audit.record(job_session, actor=Actor.system("test"), action="test.partial")
        raise RuntimeError("could not purge jane.doe@example.com")

    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.PURGE, boom)
    failed = scheduler.run_job(app, jobs.PURGE, now)
    assert failed is not None and failed.outcome == "failure"
    stored = session.scalars(select(JobRun)).one()
    assert stored.error == "RuntimeError (message withheld; see the process log)"
    assert stored.finished_at is not None
    assert session.scalars(select(AuditEvent)).all() == []  # the job's writes were rolled back

    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.PURGE, lambda s, at: {"disposed": 1})
    again = scheduler.run_job(app, jobs.PURGE, now + dt.timedelta(days=1))
    assert again is not None
    rows = session.execute(select(JobRun.outcome, JobRun.counts).order_by(JobRun.scheduled_for))
    assert [tuple(row) for row in rows] == [("failure", {}), ("success", {"disposed": 1})]


def test_failed_run_keeps_a_domain_errors_message(app, session, now, monkeypatch):
    def refuse(job_session, at):
        raise ValidationFailed("The retention rules are not loaded.")

    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.DEADLINES, refuse)
    scheduler.run_job(app, jobs.DEADLINES, now)
    stored = session.scalars(select(JobRun)).one()
    assert stored.error == "ValidationFailed: The retention rules are not loaded."


def test_checkpoint_job_signs_a_verifiable_checkpoint(app, session, now, signing_key):
    run = scheduler.run_job(app, jobs.CHECKPOINT, now)
    assert run is not None and run.outcome == "success"
    assert run.counts == {"tree_size": 0}
    report = audit.verify(
        session, public_key=signing_key.public_key(), origin=app.config["AUDIT_LOG_ORIGIN"]
    )
    assert (report.ok, report.checkpoints_checked) == (True, 1)
    actors = session.scalars(select(AuditEvent.actor)).all()
    assert actors == ["system:audit.checkpoint"]


def test_cli_run_once_and_status_report_runs(runner, monkeypatch):
    result = runner.invoke(args=["scheduler", "run-once", "audit.checkpoint"])
    assert result.exit_code == 0, result.output
    assert "audit.checkpoint scheduled " in result.output
    assert ": success in " in result.output and "counts: tree_size=0" in result.output

    result = runner.invoke(args=["scheduler", "status"])
    assert result.exit_code == 0, result.output
    assert "retention.purge      daily 03:00  never run" in result.output
    assert "audit.checkpoint     daily 00:15  last success, scheduled " in result.output


def test_cli_status_exits_1_when_the_latest_run_failed(runner, monkeypatch):
    def boom(job_session, at):
        raise OSError("disk full")

    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.PURGE, boom)
    result = runner.invoke(args=["scheduler", "run-once", "retention.purge"])
    assert result.exit_code == 1
    assert "failure" in result.output and "OSError (message withheld" in result.output
    assert "disk full" not in result.output

    result = runner.invoke(args=["scheduler", "status", "--job", "retention.purge"])
    assert result.exit_code == 1
    assert "retention.purge scheduled " in result.output
    assert "Error: latest run not successful: retention.purge (failure)" in result.output


def _context(command, **params):
    ctx = click.Context(command, info_name=command.name)
    ctx.params = params
    return ctx


def test_embedded_scheduler_starts_only_in_the_serving_process(app, monkeypatch):
    app.config.update(SCHEDULER="embedded", TESTING=False)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert scheduler.embedded_wanted(app)  # a WSGI server: no click context
    with _context(click.Command("upgrade")):
        assert not scheduler.embedded_wanted(app)
    with _context(click.Command("run")):
        assert not scheduler.embedded_wanted(app)  # 'auditor scheduler run', not Flask's
    with _context(run_command, reload=False):
        assert scheduler.embedded_wanted(app)
    with _context(run_command, reload=True):
        assert not scheduler.embedded_wanted(app)  # the reloader's watcher
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
        assert scheduler.embedded_wanted(app)  # the reloader's serving child
    app.config["SCHEDULER"] = "off"
    assert not scheduler.embedded_wanted(app)
    app.config.update(SCHEDULER="embedded", TESTING=True)
    assert not scheduler.embedded_wanted(app)


@pytest.mark.postgres
def test_leader_lock_admits_one_holder_at_a_time(engine):
    first, second = scheduler.LeaderLock(engine), scheduler.LeaderLock(engine)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.is_held()
        first.release()
        assert not first.is_held()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


# --- two real scheduler processes on PostgreSQL -------------------------------------------------

JOB = jobs.DEADLINES  # a placeholder job: the processes commit nothing but their job_run rows


def _start(tmp_path: Path, database_url: str, name: str) -> subprocess.Popen[bytes]:
    env = process_environment(
        database_url=database_url,
        instance=tmp_path,
        SCHEDULER_JOBS=JOB,
        SCHEDULER_TEST_INTERVAL_SECONDS=1,
        SCHEDULER_LOCK_POLL_SECONDS=1,
    )
    command = [sys.executable, "-c", "from auditor.cli import main; main()", "scheduler", "run"]
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _runs(engine) -> list[JobRun]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun.scheduled_for, JobRun.host, JobRun.outcome)
            .where(JobRun.job == JOB)
            .order_by(JobRun.scheduled_for)
        ).all()
    return list(rows)


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_scheduler_processes_run_every_scheduled_time_exactly_once(
    engine, database_url, tmp_path
):
    assert _runs(engine) == []
    procs, names = {}, {}
    try:
        for name in ("a", "b"):
            proc = _start(tmp_path, database_url, name)
            procs[f":{proc.pid}"], names[proc.pid] = proc, name
        # one process leads, the other stands by: every run so far comes from one host
        _wait_for(lambda: len(_runs(engine)) >= 4, timeout=20)
        hosts = {row.host for row in _runs(engine)}
        assert len(hosts) == 1
        (leader_host,) = hosts
        leader = next(p for suffix, p in procs.items() if leader_host.endswith(suffix))
        standby = next(p for p in procs.values() if p is not leader)

        leader.kill()  # a crash: the server ends its session and releases the lock
        leader.wait(timeout=10)
        _wait_for(lambda: sum(r.host != leader_host for r in _runs(engine)) >= 3, timeout=20)
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=15) == 0

        runs = _runs(engine)
        times = [row.scheduled_for for row in runs]
        assert len(times) == len(set(times))  # every scheduled time ran once
        assert all(moment.microsecond == 0 for moment in times)
        led = [row for row in runs if row.host == leader_host]
        took_over = [row for row in runs if row.host != leader_host]
        assert max(r.scheduled_for for r in led) < min(r.scheduled_for for r in took_over)
        assert {r.outcome for r in took_over} == {"success"}
        assert {r.outcome for r in led[:-1]} == {"success"}  # the last may have been killed
        standby_log = tmp_path / f"{names[standby.pid]}.log"
        assert "scheduler standing by" in standby_log.read_text()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        with engine.begin() as conn:
            conn.execute(delete(JobRun).where(JobRun.job == JOB))


def test_jobs_run_one_at_a_time_on_sqlite(app):
    expected = 1 if app.config["DATABASE_URL"].startswith("sqlite") else 4
    assert scheduler.job_workers(app) == expected


def test_a_run_that_meets_a_purge_in_progress_is_recorded_as_skipped(
    app, session, now, monkeypatch
):
    from auditor.services.errors import PurgeInProgress

    def busy(session, at):
        raise PurgeInProgress("Another purge run is in progress; try again when it has finished.")

    monkeypatch.setitem(scheduler.JOB_FUNCTIONS, jobs.PURGE, busy)
    run = scheduler.run_job(app, jobs.PURGE, now)
    assert run is not None and run.outcome == "skipped"
    result = app.test_cli_runner().invoke(args=["scheduler", "status"])
    assert result.exit_code == 0, result.output  # a skip is not a failure to monitor


def test_the_scheduled_purge_cites_its_job_run(app, session, now, rules):
    from auditor.models import PurgeRun

    run = scheduler.run_job(app, jobs.PURGE, now)
    assert run is not None and run.outcome == "success", run.error
    assert session.scalars(select(PurgeRun.job_run_id)).all() == [run.id]


def test_the_hourly_job_counts_the_failed_authentications_of_ended_intervals(
    app, client, session, now
):
    for _ in range(5):
        client.get("/api/v1/me", headers={"Authorization": "Bearer aud_bad"})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    hour = later.replace(minute=0, second=0, microsecond=0)
    run = scheduler.run_job(app, jobs.DEADLINES, hour, now=later)
    assert run is not None and run.counts["auth_failure_intervals_counted"] == 1
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.failures"))
    assert event.details["failures"] == 4 and event.actor == "system:requests.deadlines"

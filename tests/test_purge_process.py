"""The purge as operators run it: a real `auditor retention run --yes` process killed mid-run and
run again (every record disposed exactly once, every disposition recorded once), and the
scheduler's daily purge job executing the real engine."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from auditor import create_app, migrate, scheduler
from auditor.db import access, get_database, get_session, make_engine
from auditor.models import Disposition, DispositionBatch, JobRun, PurgeRun, Record
from auditor.services import datamap, jobs, retention
from tests import factories
from tests.factories import AS_OF, OPERATOR, app_settings, process_environment

RECORDS = 3000


def _fresh_database(tmp_path: Path, test_database_url: str) -> str:
    """A database of its own (the child process cannot see the test's rolled-back transaction):
    a SQLite file, or a new database beside the PostgreSQL test database."""
    if test_database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'crash.db'}"
    url = make_url(test_database_url)
    name = f"{url.database}_crash_{os.getpid()}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def _drop(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        return
    url = make_url(database_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def _load(database_url: str) -> set[int]:
    """Migrate, load the policy defaults and RECORDS old tickets (all due); their ids."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(app_settings(database_url))
    with app.app_context():
        session = get_session()
        datamap.load_defaults(session, actor=OPERATOR)
        factories.organization(session, code="acme")
        factories.system(session, code="psa")
        factories.default_rules(session, now=None)
        factories.operator_user(session)  # who runs the purge (AUDITOR_OPERATOR)
        tickets = (
            factories.old_ticket(external_id=f"T-{n}", email=f"person{n % 50}@example.com")
            for n in range(RECORDS)
        )
        ids = set(factories.ingest(session, *tickets).values())
        session.commit()
    get_database(app).engine.dispose()
    return ids


def _purge_process(database_url: str, tmp_path: Path, batch: int) -> subprocess.Popen[bytes]:
    env = process_environment(
        database_url=database_url, instance=tmp_path / "instance", PURGE_BATCH_SIZE=batch
    )
    env["AUDITOR_OPERATOR"] = factories.OPERATOR_EMAIL
    command = [sys.executable, "-c", "from auditor.cli import main; main()"]
    command += ["retention", "run", "--yes", "--as-of", AS_OF.isoformat()]
    with (tmp_path / "purge.log").open("ab") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


RECORD_REFS = (
    select(Disposition.subject_ref)
    .join(DispositionBatch, DispositionBatch.id == Disposition.batch_id)
    .where(DispositionBatch.subject_type == "record")
)


def _count(engine) -> int:
    """How many records the purge has disposed of so far (from its batches' line counts).

    A reading transaction: on SQLite a writing one (the default) would queue for the write lock
    behind the purge's batches and could see the run only once it is over."""
    with access("read"), engine.connect() as conn:
        query = select(func.sum(DispositionBatch.lines)).where(
            DispositionBatch.subject_type == "record"
        )
        return conn.scalar(query) or 0


@pytest.mark.slow
def test_a_purge_killed_mid_run_completes_when_run_again(tmp_path, database_url):
    database_url = _fresh_database(tmp_path, database_url)
    try:
        expected = _load(database_url)
        engine = make_engine(database_url)
        proc = _purge_process(database_url, tmp_path, batch=5)
        deadline = time.monotonic() + 60
        while _count(engine) < 300:
            assert proc.poll() is None, (tmp_path / "purge.log").read_text()
            assert time.monotonic() < deadline, "the purge made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # no clean-up of any kind
        proc.wait(timeout=10)

        with engine.connect() as conn:
            left = set(conn.scalars(select(Record.id)))
            refs = list(conn.scalars(RECORD_REFS))
            (status,) = conn.scalars(select(PurgeRun.status)).all()
        assert status == "running"  # killed: nobody closed it
        assert 0 < len(left) < RECORDS
        # whatever batch was in flight rolled back whole: dispositions match deletions exactly
        assert sorted(map(int, refs)) == sorted(expected - left)

        again = _purge_process(database_url, tmp_path, batch=50)
        assert again.wait(timeout=120) == 0, (tmp_path / "purge.log").read_text()
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Record)) == 0
            refs = list(conn.scalars(RECORD_REFS))
            statuses = conn.execute(select(PurgeRun.id, PurgeRun.status).order_by(PurgeRun.id))
            assert [s for _, s in statuses] == ["interrupted", "completed"]
        counts = Counter(map(int, refs))
        assert set(counts) == expected and set(counts.values()) == {1}
        engine.dispose()
    finally:
        _drop(database_url)


def test_the_scheduled_purge_job_runs_the_engine(app, session, rules):
    factories.ingest(session, factories.old_ticket(external_id="T-old"))
    session.commit()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    run = scheduler.run_job(app, jobs.PURGE, now)
    assert run is not None and run.outcome == "success", run and run.error
    stored = session.scalars(select(JobRun).where(JobRun.job == jobs.PURGE)).one()
    assert stored.counts["disposed"] == 1
    purge_run = session.get(PurgeRun, stored.counts["purge_run"])
    assert (purge_run.trigger, purge_run.executor) == ("scheduler", "system:retention.purge")
    # signed after the run: the certificate as read covers the run with it
    cert = retention.run_certificate(session, purge_run, digest_key_id="-")
    assert cert["audit"]["checkpoint"] is not None
    assert cert["audit"]["checkpoint"]["tree_size"] >= cert["audit"]["run_completed_seq"]
    assert session.scalar(select(Record).where(Record.external_id == "T-old")) is None


def _scheduler_process(database_url: str, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """``auditor scheduler run`` with the purge alone, every hour on the hour: its start catches
    up the latest hour at once; small batches, a fast heartbeat and a short stale limit."""
    env = process_environment(
        database_url=database_url,
        instance=tmp_path / "instance",
        PURGE_BATCH_SIZE=5,
        SCHEDULER_JOBS=jobs.PURGE,
        SCHEDULER_TEST_INTERVAL_SECONDS=3600,
        SCHEDULER_HEARTBEAT_SECONDS=1,
        SCHEDULER_STALE_RUN_SECONDS=3,
        SCHEDULER_LOCK_POLL_SECONDS=1,
    )
    command = [sys.executable, "-c", "from auditor.cli import main; main()", "scheduler", "run"]
    with (tmp_path / f"{name}.log").open("ab") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _status(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = process_environment(database_url=database_url, instance=tmp_path / "instance")
    command = [sys.executable, "-c", "from auditor.cli import main; main()", "scheduler", "status"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_a_scheduler_killed_mid_job_leaves_an_interrupted_run_that_the_next_one_completes(
    tmp_path, database_url
):
    database_url = _fresh_database(tmp_path, database_url)
    try:
        expected = _load(database_url)
        engine = make_engine(database_url)
        first = _scheduler_process(database_url, tmp_path, "first")
        deadline = time.monotonic() + 90
        while _count(engine) < 300:
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        with engine.connect() as conn:
            (run,) = conn.execute(select(JobRun)).all()
        assert (run.outcome, run.pid) == ("running", first.pid)  # nobody closed it

        status = _status(database_url, tmp_path)
        assert status.returncode == 1
        assert "latest run not successful: retention.purge (interrupted)" in status.stderr

        second = _scheduler_process(database_url, tmp_path, "second")
        try:
            deadline = time.monotonic() + 120
            while True:
                with engine.connect() as conn:
                    runs = conn.execute(select(JobRun)).all()
                if runs and runs[0].outcome == "success":
                    break
                assert second.poll() is None, (tmp_path / "second.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "second.log").read_text()
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        (done,) = runs  # the same scheduled run, taken over: not a second one
        assert (done.id, done.scheduled_for, done.pid) == (run.id, run.scheduled_for, second.pid)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Record)) == 0
            refs = conn.scalars(RECORD_REFS).all()
            purges = conn.execute(
                select(PurgeRun.status, PurgeRun.job_run_id).order_by(PurgeRun.id)
            )
            assert list(purges) == [("interrupted", run.id), ("completed", run.id)]
        counts = Counter(map(int, refs))
        assert set(counts) == expected and set(counts.values()) == {1}
        assert _status(database_url, tmp_path).returncode == 0
        engine.dispose()
    finally:
        _drop(database_url)

"""Scheduled jobs and their run bookkeeping (auditor.services.jobs)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from auditor.models import AuditEvent, JobRun
from auditor.services import audit, jobs
from auditor.services.errors import Conflict

ORIGIN = "test.example/audit-log"


def test_start_run_claims_and_commits_a_running_row(session, now):
    run = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h1:1", now=now)
    assert run is not None
    stored = session.scalars(select(JobRun)).one()
    assert (stored.job, stored.scheduled_for, stored.started_at) == (jobs.PURGE, now, now)
    assert (stored.outcome, stored.finished_at, stored.counts, stored.host) == (
        "running",
        None,
        {},
        "h1:1",
    )


def test_start_run_refuses_a_second_claim_of_the_same_scheduled_time(session, now):
    first = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h1:1")
    second = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h2:2")
    other_job = jobs.start_run(session, job=jobs.DEADLINES, scheduled_for=now, host="h2:2")
    next_time = jobs.start_run(
        session, job=jobs.PURGE, scheduled_for=now + dt.timedelta(days=1), host="h2:2"
    )
    assert first is not None and second is None
    assert other_job is not None and next_time is not None
    hosts = session.execute(select(JobRun.job, JobRun.host).order_by(JobRun.id)).all()
    assert [tuple(row) for row in hosts] == [
        (jobs.PURGE, "h1:1"),
        (jobs.DEADLINES, "h2:2"),
        (jobs.PURGE, "h2:2"),
    ]


def test_finish_run_records_end_outcome_and_counts(session, now):
    run = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h", now=now)
    assert run is not None
    later = now + dt.timedelta(seconds=42)
    jobs.finish_run(session, run, counts={"disposed": 3}, now=later)
    stored = session.scalars(select(JobRun)).one()
    assert (stored.outcome, stored.finished_at, stored.counts, stored.error) == (
        "success",
        later,
        {"disposed": 3},
        None,
    )


def test_finish_run_with_an_error_keeps_only_a_safe_message(session, now):
    run = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h")
    assert run is not None
    jobs.finish_run(session, run, error=ValueError("bad row for jane.doe@example.com"))
    stored = session.scalars(select(JobRun)).one()
    assert stored.outcome == "failure"
    assert stored.error == "ValueError (message withheld; see the process log)"
    assert "jane" not in stored.error


def test_safe_error_shows_domain_error_messages_and_chosen_types():
    assert jobs.safe_error(Conflict("The hold is already released.")) == (
        "Conflict: The hold is already released."
    )
    assert jobs.safe_error(KeyError("x"), safe_types=(KeyError,)) == "KeyError: 'x'"
    assert jobs.safe_error(Conflict("x" * 1000)).startswith("Conflict: xxx")
    assert len(jobs.safe_error(Conflict("x" * 1000))) == jobs.MAX_ERROR_LENGTH


def test_list_runs_newest_first_and_by_job(session, now):
    for hours, job in ((0, jobs.PURGE), (1, jobs.DEADLINES), (2, jobs.PURGE)):
        jobs.start_run(session, job=job, scheduled_for=now + dt.timedelta(hours=hours), host="h")
    runs = jobs.list_runs(session)
    assert [(r.job, r.scheduled_for.hour) for r in runs] == [
        (jobs.PURGE, 14),
        (jobs.DEADLINES, 13),
        (jobs.PURGE, 12),
    ]
    assert [r.scheduled_for.hour for r in jobs.list_runs(session, job=jobs.PURGE, limit=1)] == [14]


def test_latest_runs_gives_each_jobs_last_run(session, now):
    old = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h")
    new = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now + dt.timedelta(1), host="h")
    assert old is not None and new is not None
    jobs.finish_run(session, old, counts={})
    jobs.finish_run(session, new, error=RuntimeError("boom"))
    latest = jobs.latest_runs(session)
    assert set(latest) == {jobs.PURGE}
    assert (latest[jobs.PURGE].scheduled_for, latest[jobs.PURGE].outcome) == (
        now + dt.timedelta(1),
        "failure",
    )


def test_placeholder_jobs_do_nothing_yet_and_return_no_counts(session, now):
    # the purge job runs the real engine: tests/test_purge_process.py
    assert session.scalars(select(AuditEvent)).all() == []


def test_sign_checkpoint_creates_a_verifiable_checkpoint_by_the_job(session, now, signing_key):
    counts = jobs.sign_checkpoint(session, signing_key=signing_key, origin=ORIGIN, now=now)
    session.commit()
    assert counts == {"tree_size": 0}
    event = session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor) == ("audit.checkpoint", "system:audit.checkpoint")
    report = audit.verify(session, public_key=signing_key.public_key(), origin=ORIGIN)
    assert (report.ok, report.checkpoints_checked, report.tree_size) == (True, 1, 1)


STALE = dt.timedelta(minutes=5)


def _stale(session, now, alive):
    return jobs.interrupt_stale(session, now=now, stale_after=STALE, host="h1", alive=alive)


def test_a_run_whose_process_is_gone_is_interrupted_and_its_time_is_still_to_run(session, now):
    dead = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h1:41", pid=41, now=now)
    live = jobs.start_run(
        session, job=jobs.DEADLINES, scheduled_for=now, host="h1:42", pid=42, now=now
    )
    stale = _stale(session, now + dt.timedelta(seconds=5), alive=lambda pid: pid == 42)
    assert [run.id for run in stale] == [dead.id]
    session.refresh(dead), session.refresh(live)
    assert (dead.outcome, live.outcome) == ("interrupted", "running")
    assert dead.error == "the scheduler process stopped while the job ran"
    assert not jobs.has_run(session, job=jobs.PURGE, scheduled_for=now)
    assert jobs.has_run(session, job=jobs.DEADLINES, scheduled_for=now)


def test_a_silent_run_of_another_machine_is_interrupted_once_its_heartbeat_is_old(session, now):
    run = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h2:7", pid=7, now=now)
    assert _stale(session, now + STALE - dt.timedelta(seconds=1), alive=lambda pid: False) == []
    jobs.beat(session, run.id, now + STALE)  # still alive: the limit counts from the last beat
    assert _stale(session, now + STALE + dt.timedelta(seconds=30), alive=lambda pid: False) == []
    stale = _stale(session, now + 2 * STALE + dt.timedelta(seconds=1), alive=lambda pid: False)
    assert [r.id for r in stale] == [run.id]


def test_a_claim_of_an_interrupted_time_takes_the_run_over(session, now):
    run = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h1:41", pid=41, now=now)
    _stale(session, now, alive=lambda pid: False)
    later = now + dt.timedelta(minutes=1)
    again = jobs.start_run(
        session, job=jobs.PURGE, scheduled_for=now, host="h1:43", pid=43, now=later
    )
    assert again is not None and again.id == run.id
    assert (again.outcome, again.pid, again.started_at, again.error) == ("running", 43, later, None)
    assert jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h1:44") is None
    assert len(session.scalars(select(JobRun)).all()) == 1


def test_a_run_that_found_a_purge_in_progress_is_skipped_not_failed(session, now):
    from auditor.services.errors import PurgeInProgress

    run = jobs.start_run(session, job=jobs.PURGE, scheduled_for=now, host="h1:1")
    jobs.finish_run(session, run, error=PurgeInProgress("Another purge run is in progress."))
    assert (run.outcome, run.error) == (
        "skipped",
        "PurgeInProgress: Another purge run is in progress.",
    )


def test_the_daily_purge_forecasts_what_falls_due_next_for_the_dashboard(
    session, rules, digest_key, now
):
    counts = jobs.purge_expired(session, now=now, digest_key=digest_key)
    forecast = counts["forecast"]
    assert forecast["start"] == now.date().isoformat()
    labels = [bucket["label"] for bucket in forecast["buckets"]]
    assert labels == ["Due now (on or before 22 November 2026)", "November 2026", "December 2026"]
    assert all(set(b) == {"label", "due", "held", "pending_review"} for b in forecast["buckets"])

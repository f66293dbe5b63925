"""The disposition records checked against the audit log: intact after purges, a request's
deletion and a vault purge; each kind of tampering (a row edited, deleted or added, a batch
edited or deleted, a stored certificate patched or deleted) named; the rows and completed runs
refused any change by the database itself."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from auditor.models import PurgeRun
from auditor.services import retention
from tests.factories import dispositions, ingest, old_ticket
from tests.factories import run_purge as run
from tests.factories.audit_log import is_postgres


def purged(session):
    ingest(
        session,
        old_ticket(external_id="T-1"),
        old_ticket(external_id="T-2", email="b@example.com"),
        old_ticket(external_id="T-3", email="c@example.com"),
    )
    result = run(session)
    session.commit()
    return result


def unprotect(session):
    """What someone with the database does first (trigger names: migration 0011)."""
    connection = session.connection()
    for table in ("disposition", "disposition_batch", "purge_run"):
        if is_postgres(connection):
            connection.exec_driver_sql(f"DROP TRIGGER {table}_append_only ON {table}")
        else:
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")


def problems(session):
    check = retention.verify_dispositions(session)
    return check.problems


def test_an_intact_purge_verifies(session, rules):
    result = purged(session)
    check = retention.verify_dispositions(session)
    assert check.ok, check.problems
    assert (check.lines, check.runs) == (6, 1)  # three records and their three subjects
    assert check.batches == 2  # one batch per rule and kind, under one audit event
    assert result.certificate["dispositions"]["count"] == 6


def test_an_edited_disposition_is_named_by_its_batch(session, rules):
    purged(session)
    first = dispositions(session, subject_type="record")[0]
    unprotect(session)
    session.execute(
        text("UPDATE disposition SET category = 'marketing' WHERE id = :id"), {"id": first.id}
    )
    found = problems(session)
    assert any(
        f"batch {first.batch} (run {first.run_id}, rule ticket_history v1, record)" in p
        and "was edited" in p
        for p in found
    ), found
    # and the run's certificate no longer matches its dispositions
    assert any("certificate's dispositions.digest differs" in p for p in found), found


def test_a_deleted_disposition_is_named_by_its_id(session, rules):
    purged(session)
    second = dispositions(session, subject_type="record")[1]
    unprotect(session)
    session.execute(text("DELETE FROM disposition WHERE id = :id"), {"id": second.id})
    found = problems(session)
    assert any(f"disposition {second.id} deleted (2 of 3 lines stored)" in p for p in found), found


def test_an_added_disposition_is_found(session, rules):
    purged(session)
    last = dispositions(session)[-1]
    session.execute(
        text("INSERT INTO disposition (id, batch_id, subject_ref) VALUES (:id, :batch, '999')"),
        {"id": last.id + 10, "batch": last.batch},
    )
    found = problems(session)
    assert f"disposition {last.id + 10} (batch {last.batch}) is in no batch: it was added" in found


def test_an_edited_batch_is_named(session, rules):
    purged(session)
    first = dispositions(session, subject_type="record")[0]
    unprotect(session)
    session.execute(
        text("UPDATE disposition_batch SET approver = 'someone' WHERE id = :id"),
        {"id": first.batch},
    )
    found = problems(session)
    assert any(f"batch {first.batch} " in p and "was edited" in p for p in found), found


def test_a_deleted_batch_is_named_by_the_event_that_commits_to_it(session, rules):
    purged(session)
    first = dispositions(session, subject_type="record")[0]
    unprotect(session)
    session.execute(text("DELETE FROM disposition_batch WHERE id = :id"), {"id": first.batch})
    found = problems(session)
    assert (
        f"batch {first.batch} was deleted: audit event {first.audit_seq} commits to it, "
        "and it is not stored"
    ) in found


def test_a_patched_certificate_is_found_even_when_its_digest_is_patched_too(session, rules):
    # what the outside check did: change a stored certificate; it must not go unnoticed
    result = purged(session)
    run_row = session.get(PurgeRun, result.run_id)
    patched = json.loads(json.dumps(run_row.certificate))
    patched["dispositions"]["count"] = 5
    unprotect(session)
    session.execute(
        text("UPDATE purge_run SET certificate = :c WHERE id = :id"),
        {"c": json.dumps(patched), "id": result.run_id},
    )
    session.expire_all()
    found = problems(session)
    assert any(
        f"purge run {result.run_id}: its stored certificate's dispositions.count differs" in p
        for p in found
    ), found
    assert any(
        f"purge run {result.run_id}: its stored certificate was changed" in p for p in found
    ), found


def test_a_deleted_certificate_is_found(session, rules):
    result = purged(session)
    unprotect(session)
    session.execute(
        text("UPDATE purge_run SET certificate = NULL WHERE id = :id"), {"id": result.run_id}
    )
    session.expire_all()
    found = problems(session)
    assert any(f"purge run {result.run_id}: its certificate was deleted" in p for p in found)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE disposition SET category = 'x'",
        "DELETE FROM disposition",
        "UPDATE disposition_batch SET approver = 'x'",
        "DELETE FROM disposition_batch",
        "UPDATE purge_run SET certificate = NULL",
        "DELETE FROM purge_run",
    ],
)
def test_the_database_refuses_to_change_dispositions_and_completed_runs(session, rules, statement):
    purged(session)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))

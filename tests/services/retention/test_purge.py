"""The retention purge: batches that dispose and record together (R20), holds and review honoured,
idempotent re-runs, anonymisation, credentials (R16), certificates, and R21."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select, text

from auditor.models import (
    AuditEvent,
    DataSubject,
    Disposition,
    PurgeRun,
    Record,
    Secret,
    SubjectIdentifier,
)
from auditor.schemas.holds import HoldIn
from auditor.services import holds, retention
from auditor.services.retention import dispositions as disposition_records
from auditor.services.retention import rules as retention_rules
from auditor.services.retention.batch import record_digest, subject_digest
from crypto.digest import keyed_digest
from tests import factories
from tests.factories import (
    AS_OF,
    NOW,
    OFFICER,
    dispositions,
    ingest,
    new_ticket,
    old_ticket,
    records_around_cutoffs,
    review,
    sealed_secret,
    terminated_client,
)
from tests.factories import run_purge as run


def test_purge_disposes_due_records_and_records_each_disposition(session, rules, digest_key):
    ids = ingest(
        session,
        old_ticket(external_id="T-1"),
        old_ticket(external_id="T-2"),
        new_ticket(external_id="T-3"),
    )
    before = {
        r.id: (r.external_id, r.content_digest) for r in session.scalars(select(Record)).all()
    }
    result = run(session)
    assert result.status == "completed"
    assert result.disposed == 2
    left = session.scalars(select(Record.external_id)).all()
    assert left == ["T-3"]
    rows = dispositions(session, subject_type="record")
    assert [int(r.subject_ref) for r in rows] == [ids["T-1"], ids["T-2"]]
    first = rows[0]
    external_id, digest = before[ids["T-1"]]
    assert first.digest == record_digest(digest_key, "psa", external_id, digest)
    assert first.digest == keyed_digest(digest_key, "auditor.record.v1", "psa", "T-1", digest)
    assert (first.rule, first.rule_version, first.method) == ("ticket_history", 1, "delete")
    assert first.category == "ticket_history"
    assert first.trigger_evidence == {
        "due_on": "2022-02-01",
        "as_of": "2026-11-22",
        "closed_at": "2015-02-01",
    }
    assert first.executor == "cli:ops" and first.approver is None
    assert first.post_check == "record absent after delete"
    assert first.run_id == result.run_id
    event = session.get(AuditEvent, first.audit_seq)
    assert event.action == "retention.dispose"
    assert event.details["records"] == 2 and event.details["rules"] == {"ticket_history v1": 2}
    assert first.holds_in_force == 0 and event.details["holds_in_force"] == []
    (batch,) = event.details["batches"]
    assert batch == {"batch": first.batch, "lines": 2, "digest": batch["digest"]}
    assert batch["digest"] == hashlib.sha256(b"".join(_line(r) for r in rows)).hexdigest()


def test_purge_never_touches_a_record_under_a_hold(session, rules, inventory):
    ids = ingest(
        session,
        old_ticket(external_id="T-1"),
        old_ticket(external_id="T-2", email="other@example.com"),
    )
    subject_ref = session.scalar(
        select(DataSubject.ref)
        .join(SubjectIdentifier)
        .where(SubjectIdentifier.value == "other@example.com")
    )
    hold = holds.place(
        session,
        HoldIn(kind="legal", scope="subject", value=subject_ref, reason="Litigation"),
        actor=OFFICER,
    )
    session.commit()
    result = run(session)
    assert result.disposed == 1
    assert result.blocked == {"hold": 1}
    assert session.get(Record, ids["T-2"]) is not None
    assert session.get(Record, ids["T-1"]) is None
    (row,) = dispositions(session, subject_type="record")
    event = session.get(AuditEvent, row.audit_seq)
    assert event.details["holds_in_force"] == [str(hold.id)]
    # the held subject keeps its identity; the other one is gone with its last record
    assert session.scalar(select(DataSubject).where(DataSubject.ref == subject_ref))


def test_a_second_run_disposes_nothing_and_records_nothing(session, rules):
    ingest(session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2"))
    first = run(session)
    count = session.scalar(select(func.count()).select_from(Disposition))
    second = run(session)
    assert (first.disposed, second.disposed) == (2, 0)
    assert session.scalar(select(func.count()).select_from(Disposition)) == count
    assert second.certificate["dispositions"]["count"] == 0


@pytest.mark.parametrize("set_based", [True, False], ids=["set-based", "evaluated"])
def test_a_failed_batch_leaves_neither_deletes_nor_dispositions(
    session, rules, monkeypatch, set_based
):
    ids = ingest(
        session, *(old_ticket(external_id=f"T-{n}", email=f"p{n}@example.com") for n in range(6))
    )
    from auditor.services.retention import batch as purge_batch
    from auditor.services.retention import fast_batch

    owner, name = (
        (fast_batch.FastDisposer, "dispose_ids")
        if set_based
        else (purge_batch.BatchDisposer, "dispose")
    )
    original = getattr(owner, name)
    calls = []

    def flaky(self, due, *rest):
        calls.append(len(due))
        if len(calls) == 2:
            original(self, due, *rest)  # the deletes and inserts happen, then the batch fails
            raise RuntimeError("disk full")
        return original(self, due, *rest)

    monkeypatch.setattr(owner, name, flaky)
    with pytest.raises(RuntimeError):
        run(session, batch=2, set_based=set_based)
    failed = session.scalars(select(PurgeRun)).one()
    assert failed.status == "failed"
    assert failed.error == "RuntimeError (message withheld; see the process log)"
    left = set(session.scalars(select(Record.id)))
    assert left == {ids[f"T-{n}"] for n in range(2, 6)}  # batch 1 committed, batch 2 rolled back
    assert len(dispositions(session, subject_type="record")) == 2
    monkeypatch.setattr(owner, name, original)
    again = run(session, batch=2, set_based=set_based)
    assert again.disposed == 4
    refs = [r.subject_ref for r in dispositions(session, subject_type="record")]
    assert sorted(map(int, refs)) == sorted(ids.values())  # each record exactly once
    assert retention.verify_dispositions(session).ok


def test_anonymise_rule_keeps_the_row_without_content_or_subjects(session, rules):
    retention_rules.revise_rule(session, "ticket_history", {"action": "anonymise"}, actor=OFFICER)
    session.commit()
    ids = ingest(session, old_ticket(external_id="T-1", content={"summary": "Pat's laptop"}))
    result = run(session)
    assert result.disposed == 1
    record = session.get(Record, ids["T-1"])
    session.refresh(record)
    assert record.content == {"anonymised": True}
    assert record.external_id == f"anonymised:{record.id}"
    assert record.anonymised_at is not None
    assert session.execute(text("SELECT count(*) FROM record_subject")).scalar() == 0
    (row,) = dispositions(session, subject_type="record")
    assert (row.method, row.rule_version) == ("anonymise", 2)
    assert row.post_check == "content replaced and subject links removed"
    assert run(session).disposed == 0  # an anonymised record is not disposed of twice


def test_records_under_review_wait_for_an_approved_batch(session, rules):
    retention_rules.revise_rule(session, "ticket_history", {"requires_review": True}, actor=OFFICER)
    session.commit()
    ids = ingest(
        session,
        old_ticket(external_id="T-1"),
        old_ticket(external_id="T-2"),
        old_ticket(external_id="T-3"),
    )
    assert run(session).blocked == {"pending review": 3}
    approved = review(session, record_ids=[ids["T-1"]], status="approved", decided_by="user:7")
    review(session, record_ids=[ids["T-2"]], status="rejected", decided_by="user:7")
    review(session, record_ids=[ids["T-3"]], status="extended", extend_until=dt.date(2027, 1, 1))
    result = run(session)
    assert result.disposed == 1
    assert result.blocked == {"review rejected": 1}
    (row,) = dispositions(session, subject_type="record")
    assert row.approver == "user:7" and row.review_id == approved.id
    assert row.trigger_evidence["review_id"] == approved.id
    later = run(session, as_of=dt.date(2027, 1, 2), now=lambda: NOW + dt.timedelta(days=42))
    assert later.blocked == {"pending review": 1, "review rejected": 1}


def test_transfer_then_delete_waits_for_a_recorded_transfer(session, transfer_rules):
    ids = ingest(session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2"))
    review(session, record_ids=[ids["T-1"]], status="approved", decided_by="user:7")
    review(
        session,
        record_ids=[ids["T-2"]],
        status="approved",
        decided_by="user:7",
        transfer_reference="Archives box 12",
    )
    result = run(session)
    assert result.disposed == 1 and result.blocked == {"transfer not recorded": 1}
    (row,) = dispositions(session, subject_type="record")
    assert row.method == "transfer_then_delete"
    assert row.trigger_evidence["transfer_reference"] == "Archives box 12"


def test_no_personal_data_remains_after_a_purge(session, rules, connection, digest_key):
    """R21: the purged person's name and email occur nowhere, except as keyed digests."""
    from sqlalchemy import inspect

    person = factories.subject(session, email="jordan.q@example.org", name="Jordan Quill")
    session.commit()
    ingest(
        session,
        old_ticket(
            external_id="T-9", email="jordan.q@example.org", content={"from": "Jordan Quill"}
        ),
    )
    result = run(session)
    assert result.disposed == 1 and result.subjects_removed == 1
    found = []
    for table in inspect(connection).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')):
            blob = json.dumps([str(v) for v in row]).lower()
            if "jordan" in blob or "quill" in blob:
                found.append(table)
    assert found == []
    (row,) = dispositions(session, subject_type="data_subject")
    assert row.subject_ref == person.ref
    assert row.digest == subject_digest(digest_key, ["email:jordan.q@example.org"], "Jordan Quill")


def test_certificate_counts_and_digest_can_be_recomputed(session, rules):
    ingest(
        session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2", email="b@example.com")
    )
    result = run(session)
    cert = result.certificate
    rows = dispositions(session, run_id=result.run_id)
    lines = b"".join(_line(r) for r in rows)
    assert cert["dispositions"]["digest"] == hashlib.sha256(lines).hexdigest()
    assert cert["format"] == "auditor-disposition-certificate/2"
    assert cert["dispositions"]["count"] == 4  # two records and their two subjects
    by_rule = {(g["subject_type"], g["count"]) for g in cert["dispositions"]["by_rule"]}
    assert by_rule == {("record", 2), ("data_subject", 2)}
    assert cert["run"]["status"] == "completed"
    completed = session.get(AuditEvent, cert["audit"]["run_completed_seq"])
    assert completed.action == "retention.run_complete"
    assert completed.details["disposed"] == 2
    stored = session.get(PurgeRun, result.run_id)
    assert stored.certificate["audit"] == {
        "run_started_seq": cert["audit"]["run_started_seq"],
        "run_completed_seq": completed.seq,
    }
    body = {k: v for k, v in stored.certificate.items() if k != "audit"}
    assert body == {k: v for k, v in cert.items() if k != "audit"}
    canonical_body = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical_body.encode()).hexdigest()
    assert completed.details["certificate_digest"] == digest


def test_credentials_are_purged_only_after_an_acknowledged_handover(session, rules, inventory):
    org = terminated_client(session)
    sealed_secret(session, organization=org)
    session.commit()
    blocked = run(session)
    assert blocked.credentials == [
        {"client": "harbour", "secrets": 1, "status": "blocked", "reason": "hand-over missing"}
    ]
    assert session.scalar(select(func.count()).select_from(Secret)) == 1
    factories.handover(
        session,
        organization=org,
        exported_at=NOW - dt.timedelta(days=2),
        acknowledged_at=NOW - dt.timedelta(days=1),
    )
    session.commit()
    done = run(session)
    (entry,) = done.credentials
    assert entry["status"] == "purged"
    assert session.scalar(select(func.count()).select_from(Secret)) == 0
    (row,) = dispositions(session, id=entry["disposition_id"])
    assert (row.subject_type, row.method, row.run_id) == (
        "client_vault",
        "crypto_shred",
        done.run_id,
    )
    assert (row.rule, row.rule_version) == ("credentials", 1)


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted(session, rules):
    stale = PurgeRun(as_of=AS_OF, executor="cli:x", trigger="cli", last_record_id=0, counts={})
    session.add(stale)
    session.commit()
    run(session)
    session.refresh(stale)
    assert stale.status == "interrupted"


def test_the_stated_query_rerun_as_written_returns_exactly_the_reports_rows(session, rules):
    # what an auditor does: paste the report's SQL into sqlite3 or psql, no SQLAlchemy between
    ingest(session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2"))
    run(session)
    data = disposition_records.disposition_report(
        session, start=AS_OF, end=AS_OF + dt.timedelta(days=1)
    )
    assert data["summary"]["count"] >= 2
    raw = session.connection().exec_driver_sql(data["query"]["sql"]).mappings().all()
    assert [row["id"] for row in raw] == [d["id"] for d in data["dispositions"]]
    for day in (AS_OF - dt.timedelta(days=1), AS_OF + dt.timedelta(days=1)):  # no other day's
        other = disposition_records.disposition_report(
            session, start=day, end=day + dt.timedelta(days=1)
        )
        assert session.connection().exec_driver_sql(other["query"]["sql"]).all() == []


def test_disposition_report_states_its_query_and_lists_the_period(session, rules):
    ingest(session, old_ticket(external_id="T-1"))
    run(session)
    data = disposition_records.disposition_report(
        session, start=AS_OF, end=AS_OF + dt.timedelta(days=1)
    )
    assert data["summary"]["count"] == 2
    assert "FROM disposition JOIN disposition_batch ON" in data["query"]["sql"]
    assert "WHERE disposition_batch.created_at >=" in data["query"]["sql"]
    assert "ORDER BY disposition.id" in data["query"]["sql"]
    stored = {
        "sqlite": ("2026-11-22 00:00:00.000000", "2026-11-23 00:00:00.000000"),
        "postgresql": ("2026-11-22 00:00:00+00:00", "2026-11-23 00:00:00+00:00"),
    }[data["query"]["dialect"]]
    assert data["query"]["parameters"] == {"start": stored[0], "end": stored[1]}
    assert f"'{stored[0]}'" in data["query"]["sql"] and f"'{stored[1]}'" in data["query"]["sql"]
    assert [d["subject_type"] for d in data["dispositions"]] == ["record", "data_subject"]
    empty = disposition_records.disposition_report(
        session, start=dt.date(2020, 1, 1), end=dt.date(2020, 2, 1)
    )
    assert empty["summary"]["count"] == 0 and empty["dispositions"] == []


def test_the_purge_reads_only_candidates_and_disposes_exactly_what_the_plan_calls_due(
    session, rules
):
    """The SQL prefilter is a superset of the due records: dates straddling every cutoff."""
    from auditor.services.retention import facts
    from auditor.services.retention import plan as retention_plan

    rows = records_around_cutoffs(offsets=range(-3, 4))
    ingest(session, *rows)
    plan = retention_plan.plan_disposition(session, as_of=AS_OF)
    due = {i for group in plan.due_by_rule.values() for i in group.record_ids}
    evaluator = facts.Evaluator(session, as_of=AS_OF, executing_on=AS_OF)
    read = facts.read_batch(session, after=0, limit=1000, where=evaluator.candidate_filter())
    candidates = {row.id for row in read}
    assert due and due <= candidates
    assert len(candidates) < len(rows)  # the recent ones are not even read
    result = run(session)
    disposed = {int(r.subject_ref) for r in dispositions(session, subject_type="record")}
    assert result.disposed == len(due) and disposed == due


def _line(row):
    """A disposition's canonical line as docs/disposition.md defines it, with the standard library."""
    text = json.dumps(row.line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode() + b"\n"


@pytest.mark.parametrize("set_based", [True, False], ids=["set-based", "evaluated"])
def test_a_hold_placed_during_a_run_protects_what_the_run_has_not_reached(
    session, rules, set_based
):
    ids = ingest(
        session, *(old_ticket(external_id=f"T-{n}", email=f"p{n}@example.com") for n in range(4))
    )
    session.commit()
    placed = []

    def hold_after_the_first_batch(checked, disposed):
        if not placed:  # between two batches, as an officer would from another process
            placed.append(
                holds.place(
                    session,
                    HoldIn(kind="legal", scope="client", value="acme", reason="Litigation"),
                    actor=OFFICER,
                )
            )
            session.commit()

    result = run(session, batch=1, set_based=set_based, progress=hold_after_the_first_batch)
    assert result.disposed == 1 and result.blocked == {"hold": 3}
    left = set(session.scalars(select(Record.id)))
    assert left == {ids[f"T-{n}"] for n in range(1, 4)}

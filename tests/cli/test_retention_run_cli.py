"""``auditor retention run|runs|certificate|report``: dry run by default, a real run with --yes,
its certificate, and the R22 report; bad input exits 1 and changes nothing."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select

from auditor.models import DispositionBatch, PurgeRun, Record
from tests.factories import ingest, new_ticket, old_ticket


def test_run_without_yes_is_a_dry_run(runner, session, rules):
    ingest(session, old_ticket(external_id="T-1"), new_ticket(external_id="T-2"))
    result = runner.invoke(args=["retention", "run", "--as-of", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert "1 record(s) would be disposed" in result.output
    assert "Nothing was changed; add --yes" in result.output
    assert session.scalar(select(func.count()).select_from(Record)) == 2
    assert session.scalar(select(func.count()).select_from(PurgeRun)) == 0


def test_run_yes_disposes_and_prints_the_certificate_reference(runner, session, rules):
    ingest(session, old_ticket(external_id="T-1"), new_ticket(external_id="T-2"))
    result = runner.invoke(args=["retention", "run", "--yes", "--as-of", "2026-11-22"])
    assert result.exit_code == 0, result.output
    run_id = session.scalar(select(PurgeRun.id))
    assert f"Purge run {run_id} completed: 1 record(s) disposed" in result.output
    assert f"auditor retention certificate {run_id}" in result.output
    assert session.scalar(select(Record.external_id)) == "T-2"
    listed = runner.invoke(args=["retention", "runs"])
    assert f"{run_id:>5}  completed" in listed.output and "disposed 1" in listed.output

    cert = runner.invoke(args=["retention", "certificate", str(run_id)])
    assert cert.exit_code == 0, cert.output
    data = json.loads(cert.output)
    assert data["run"]["id"] == run_id and data["dispositions"]["count"] == 1  # T-2 keeps Pat
    assert data["audit"]["checkpoint"]["tree_size"] >= data["audit"]["run_completed_seq"]


def test_run_refuses_a_future_day_and_unknown_run(runner, session, rules):
    ingest(session, old_ticket(external_id="T-1"))
    future = runner.invoke(args=["retention", "run", "--yes", "--as-of", "2999-01-01"])
    assert future.exit_code != 0 and "future" in future.output
    assert session.scalar(select(func.count()).select_from(Record)) == 1
    missing = runner.invoke(args=["retention", "certificate", "999"])
    assert missing.exit_code == 1 and "No purge run with that id." in missing.output


def test_report_json_and_csv_state_the_query(runner, session, rules, tmp_path):
    ingest(session, old_ticket(external_id="T-1"))
    runner.invoke(args=["retention", "run", "--yes", "--as-of", "2026-11-22"])
    day = session.scalar(select(DispositionBatch.created_at)).date()
    period = ["--from", day.isoformat(), "--to", "2999-01-01"]
    data = json.loads(runner.invoke(args=["retention", "report", *period]).output)
    assert data["summary"]["count"] == 2 and "FROM disposition" in data["query"]["sql"]
    out = tmp_path / "report.csv"
    result = runner.invoke(args=["retention", "report", *period, "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# disposition report")
    assert f"# count: 2; sha256 of canonical lines: {data['summary']['digest']}" in text
    rows = list(
        csv.DictReader(
            io.StringIO(
                "".join(line + "\n" for line in text.splitlines() if not line.startswith("#"))
            )
        )
    )
    assert [r["subject_type"] for r in rows] == ["record", "data_subject"]
    bad = runner.invoke(args=["retention", "report", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert bad.exit_code == 1 and "must be after the start date" in bad.output


def test_report_finds_one_record_by_its_id(runner, session, rules):
    ids = ingest(session, old_ticket(external_id="T-1"))
    runner.invoke(args=["retention", "run", "--yes", "--as-of", "2026-11-22"])
    found = runner.invoke(args=["retention", "report", "--record", str(ids["T-1"])])
    assert found.exit_code == 0, found.output
    (line,) = json.loads(found.output)["dispositions"]
    assert (line["subject_ref"], line["rule"]) == (str(ids["T-1"]), "ticket_history")
    both = runner.invoke(args=["retention", "report", "--record", "1", "--from", "2026-01-01"])
    assert both.exit_code != 0 and "either --record or --from" in both.output
    neither = runner.invoke(args=["retention", "report"])
    assert neither.exit_code != 0 and "give --from and --to" in neither.output


def test_verify_names_a_tampered_disposition_and_audit_verify_runs_it(runner, session, rules):
    ingest(session, old_ticket(external_id="T-1"))
    runner.invoke(args=["retention", "run", "--yes", "--as-of", "2026-11-22"])
    intact = runner.invoke(args=["retention", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "disposition records intact: 2 dispositions in 2 batches, 1 completed runs'" in (
        intact.output
    )
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0 and "disposition records intact" in audit.output
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP TRIGGER disposition_append_only ON disposition")
    else:
        connection.exec_driver_sql("DROP TRIGGER disposition_no_update")
    connection.exec_driver_sql("UPDATE disposition SET category = 'invoices'")
    session.commit()
    broken = runner.invoke(args=["retention", "verify"])
    assert broken.exit_code == 1
    assert "was edited" in broken.output and "verification FAILED: " in broken.output
    as_json = runner.invoke(args=["retention", "verify", "--format", "json"])
    assert as_json.exit_code == 1 and json.loads(as_json.output)["ok"] is False
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1

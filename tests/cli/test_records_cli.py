"""`auditor records import`: CSV and JSON Lines, line numbers, all or nothing, --skip-invalid."""

from __future__ import annotations

import json

import orjson
from sqlalchemy import func, select

from auditor.models import AuditEvent, Record
from tests import factories

HEADER = "system,external_id,category,client,created_at,closed_at,subject_emails,summary,content\n"


def count(session):
    return session.scalar(select(func.count()).select_from(Record))


def write_jsonl(path, records):
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")


def test_jsonl_import_and_idempotent_reimport(runner, inventory, session, tmp_path):
    path = tmp_path / "records.jsonl"
    write_jsonl(path, [factories.record(external_id=f"T-{i}") for i in range(10)])
    first = runner.invoke(args=["records", "import", str(path)])
    assert first.exit_code == 0, first.output
    assert "received 10: inserted 10, updated 0, unchanged 0, rejected 0" in first.output
    second = runner.invoke(args=["records", "import", str(path)])
    assert "inserted 0, updated 0, unchanged 10" in second.output
    assert count(session) == 10


def test_csv_import_maps_columns_and_subjects(runner, inventory, session, tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text(
        HEADER
        + "psa,T-1,ticket_history,acme,2025-01-01T09:00:00Z,2025-01-02T09:00:00Z,"
        + 'a@example.com;b@example.com,"VPN, again",\n'
        + "psa,T-2,ticket_history,acme,2025-01-03T09:00:00Z,,c@example.com,Printer,"
        + '"{""priority"": ""high""}"\n'
    )
    result = runner.invoke(args=["records", "import", str(path)])
    assert result.exit_code == 0, result.output
    rows = {r.external_id: r for r in session.scalars(select(Record))}
    assert rows["T-1"].content == {"summary": "VPN, again"}
    assert rows["T-2"].content == {"summary": "Printer", "priority": "high"}
    assert rows["T-2"].closed_at is None


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    runner, inventory, session, tmp_path
):
    path = tmp_path / "mixed.csv"
    path.write_text(
        HEADER
        + "psa,T-1,ticket_history,acme,2025-01-01T09:00:00Z,,a@example.com,ok,\n"
        + "psa,T-2,ticket_history,nobody,2025-01-01T09:00:00Z,,a@example.com,bad client,\n"
        + "psa,T-3,ticket_history,acme,2025-01-01,,not-an-email,two problems,\n"
        + "psa,T-4,ticket_history,acme,2025-01-01T09:00:00Z,,a@example.com,ok,\n"
    )
    result = runner.invoke(args=["records", "import", str(path)])
    assert result.exit_code == 1
    assert "Error: 2 of 4 records are invalid; nothing was imported." in result.output
    assert "line 3: client: unknown client code 'nobody'" in result.output
    # the first problem of a row is reported: the date lacks its time zone
    assert "line 4: created_at: must include a time zone" in result.output
    assert count(session) == 0
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "records.ingest")).all() == []
    )


def test_skip_invalid_imports_good_rows_and_writes_the_rejects(
    runner, inventory, session, tmp_path
):
    path = tmp_path / "mixed.jsonl"
    good = factories.record(external_id="good")
    path.write_bytes(
        orjson.dumps(good)
        + b"\n{broken\n"
        + orjson.dumps(factories.record(external_id="bad", category="nope"))
        + b"\n"
    )
    result = runner.invoke(args=["records", "import", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "inserted 1" in result.output and "rejected 2" in result.output
    assert "line 2: line: not valid JSON" in result.output
    rejects = tmp_path / "mixed.jsonl.rejected.jsonl"
    assert rejects.read_text().splitlines() == [
        "{broken",
        orjson.dumps(factories.record(external_id="bad", category="nope")).decode(),
    ]
    reasons = [
        json.loads(line)
        for line in (tmp_path / "mixed.jsonl.rejected.jsonl.errors.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in reasons] == [2, 3]
    assert reasons[1]["errors"] == [
        {"field": "category", "message": "unknown category code 'nope'"}
    ]
    assert [r.external_id for r in session.scalars(select(Record))] == ["good"]


def test_skip_invalid_csv_rejects_keep_the_header(runner, inventory, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "psa,T-9,ticket_history,acme,bad-date,,a@example.com,x,\n")
    runner.invoke(args=["records", "import", str(path), "--skip-invalid"])
    assert (tmp_path / "x.csv.rejected.csv").read_text().splitlines() == [
        HEADER.strip(),
        "psa,T-9,ticket_history,acme,bad-date,,a@example.com,x,",
    ]


def test_csv_without_required_columns_is_refused(runner, inventory, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("system,external_id\npsa,1\n")
    result = runner.invoke(args=["records", "import", str(path)])
    assert result.exit_code == 1
    assert "line 1: category: missing column" in result.output


def test_unknown_file_type_needs_a_format(runner, inventory, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("")
    result = runner.invoke(args=["records", "import", str(path)])
    assert result.exit_code == 1 and "--format csv or jsonl" in result.output


ROW = "psa,T-{n},ticket_history,acme,2025-01-01T09:00:00Z,,pat@example.com,{summary},\n"


def test_invalid_utf8_is_refused_with_its_line_not_replaced(runner, inventory, session, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + ROW.format(n=1, summary="fine")).encode()
        + ROW.format(n=2, summary="caf\xe9").encode("latin-1")
    )
    result = runner.invoke(args=["records", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 3: line: not valid UTF-8" in result.output
    assert "\ufffd" not in result.output and count(session) == 0


def test_a_field_over_the_csv_limit_is_refused_with_its_line(runner, inventory, session, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(HEADER + ROW.format(n=1, summary="x" * (200 * 1024)), encoding="utf-8")
    result = runner.invoke(args=["records", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "line 2" in result.output
    assert "larger than" in result.output and count(session) == 0


def test_a_nul_character_in_a_csv_cell_is_refused_on_every_database(
    runner, inventory, session, tmp_path
):
    path = tmp_path / "nul.csv"
    path.write_text(HEADER + ROW.format(n=1, summary="a\x00b"), encoding="utf-8")
    result = runner.invoke(args=["records", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 2: content.summary: contains a NUL character" in result.output
    assert "Traceback" not in result.output and count(session) == 0


def test_a_rejects_file_that_cannot_be_written_is_a_clear_error(
    runner, inventory, session, tmp_path
):
    path = tmp_path / "tickets.csv"
    path.write_text(HEADER + ROW.format(n=1, summary="ok"), encoding="utf-8")
    where = tmp_path / "no-such-folder" / "rejects.csv"
    result = runner.invoke(
        args=["records", "import", str(path), "--skip-invalid", "--rejects", str(where)]
    )
    assert result.exit_code == 1, result.output
    assert "Error: Cannot write the rejected rows to" in result.output
    assert "Traceback" not in result.output and count(session) == 0

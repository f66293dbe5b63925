"""`auditor requests access-report` and `auditor requests portability`: files written, counts
(not personal data) on the terminal, errors as exit status 1 with a message."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from auditor.models import AuditEvent
from tests.factories import EMAIL, attached_json, pdf_text, scenario


def test_access_report_writes_the_pdf_and_the_json(runner, session, inventory, tmp_path):
    s = scenario(session)
    session.commit()
    ref = s.request.reference
    pdf_path, json_path = tmp_path / "report.pdf", tmp_path / "package.json"
    result = runner.invoke(
        args=["requests", "access-report", ref, "-o", str(pdf_path), "--json", str(json_path)]
    )
    assert result.exit_code == 0, result.output
    assert f"access report of {ref}: 6 record(s), 5 severing(s); checkpoint " in result.output
    assert str(pdf_path) in result.output and str(json_path) in result.output
    assert EMAIL not in result.output and "Amélie" not in result.output
    pdf = pdf_path.read_bytes()
    assert "How to check this report" in pdf_text(pdf)
    package = json.loads(json_path.read_text(encoding="utf-8"))
    assert attached_json(pdf, f"access-package-{ref}.json") == package
    actor = session.scalars(
        select(AuditEvent.actor).where(AuditEvent.action == "request.access_report")
    ).one()
    assert actor == runner.actor


def test_access_report_refuses_an_unverified_request(runner, session, inventory, tmp_path):
    s = scenario(session, verified=False)
    session.commit()
    output = tmp_path / "report.pdf"
    result = runner.invoke(
        args=["requests", "access-report", s.request.reference, "-o", str(output)]
    )
    assert result.exit_code == 1
    assert "is not verified" in result.output
    assert not output.exists()


def test_portability_writes_json_and_csv(runner, session, inventory, tmp_path):
    s = scenario(session, organization="qc-client", type="portability")
    session.commit()
    json_path, csv_path = tmp_path / "export.json", tmp_path / "export.csv"
    args = ["requests", "portability", s.request.reference]
    result = runner.invoke(args=[*args, "--json", str(json_path), "--csv", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(json_path.read_bytes())["records"]) == 6
    table = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert any(row["external_id"] == "INV-7" for row in table)
    details = session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "request.portability_export")
    ).one()
    assert details["format"] == "both"


def test_portability_needs_an_output_and_a_quebec_subject(runner, session, inventory, tmp_path):
    s = scenario(session)
    session.commit()
    none = runner.invoke(args=["requests", "portability", s.request.reference])
    assert none.exit_code == 2 and "give --json FILE, --csv FILE or both" in none.output
    outside = runner.invoke(
        args=["requests", "portability", s.request.reference, "--json", str(tmp_path / "x")]
    )
    assert outside.exit_code == 1 and "Québec" in outside.output

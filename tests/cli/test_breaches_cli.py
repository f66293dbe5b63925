"""``auditor breaches``: the register from the command line, with errors that change nothing."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from auditor.models import AuditEvent, Breach, BreachReport
from tests.factories.pdf import flat_text

NOW = dt.datetime.now(dt.UTC)
YEAR = NOW.year


def _at(days_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).isoformat()


RECORD = [
    "breaches", "record",
    "--title", "Ransomware on a file server",
    "--occurred-from", (NOW - dt.timedelta(days=5)).date().isoformat(),
    "--discovered-at", _at(4),
    "--determined-at", _at(3),
    "--circumstances", "Encrypted shares; a ransom note; logs show data copied out.",
    "--information", "Payroll exports of the client's employees.",
    "--category", "payment_data",
    "--client", "qc-client",
]  # fmt: skip


def test_record_assess_notify_report_and_show(runner, session, inventory, tmp_path):
    recorded = runner.invoke(args=RECORD)
    assert recorded.exit_code == 0, recorded.output
    ref = f"BR-{YEAR}-0001"
    assert recorded.stdout.startswith(f"breach {ref} recorded; kept until ")
    refused = runner.invoke(args=["breaches", "report", ref])
    assert refused.exit_code == 1
    assert "seven fields" in refused.stderr and "Traceback" not in refused.output
    assert session.scalar(select(func.count()).select_from(BreachReport)) == 0

    updated = runner.invoke(
        args=[
            "breaches",
            "update",
            ref,
            "--set",
            "affected_count=310",
            "--set",
            "mitigation=Restored from backups; accounts reset.",
            "--set",
            "notification_steps=Letters to every employee.",
            "--set",
            "contact_name=Dana Officer",
            "--set",
            "contact_email=privacy@msp.example",
        ]
    )
    assert updated.exit_code == 0, updated.output
    assessed = runner.invoke(
        args=[
            "breaches",
            "assess",
            ref,
            "--sensitivity",
            "high",
            "--misuse",
            "high",
            "--rrosh",
            "--rationale",
            "Payroll data with bank details was copied out by the attacker.",
            "--consequences",
            "Fraud and identity theft.",
        ]
    )
    assert assessed.stdout.strip() == f"breach {ref} assessed: a real risk of significant harm"
    out = runner.invoke(args=["breaches", "report", ref])
    assert out.exit_code == 0, out.output
    content = json.loads(out.stdout[: out.stdout.rindex("}") + 1])
    assert content["fields"]["individuals_affected"] == {"count": 310, "approximate": False}
    assert "report version 1 to opc: SHA-256 " in out.stdout
    sent = runner.invoke(args=["breaches", "report-sent", ref, "1", "--sent-at", _at(0)])
    assert sent.exit_code == 0, sent.output
    for recipient in ("individuals", "cai"):
        told = runner.invoke(
            args=[
                "breaches",
                "notify",
                ref,
                "--recipient",
                recipient,
                "--method",
                "letter",
                "--sent-at",
                _at(0),
            ]
        )
        assert told.exit_code == 0, told.output

    refused = runner.invoke(args=["breaches", "letter", ref, "--output", str(tmp_path / "x.pdf")])
    assert refused.exit_code == 1 and "individual_advice: is empty" in refused.stderr
    assert not (tmp_path / "x.pdf").exists()
    advice = "individual_advice=Watch your bank statements and call your bank about fraud."
    runner.invoke(args=["breaches", "update", ref, "--set", advice])
    written = runner.invoke(args=["breaches", "letter", ref, "--output", str(tmp_path / "x.pdf")])
    assert written.exit_code == 0, written.output
    text = flat_text((tmp_path / "x.pdf").read_bytes())
    assert "Dear Sir or Madam," in text and "Watch your bank statements" in text
    assert "Commission d'accès à l'information du Québec" in text  # a Québec breach
    again = runner.invoke(args=["breaches", "letter", ref, "--output", str(tmp_path / "x.pdf")])
    assert again.exit_code == 1 and "not overwritten" in again.stderr

    shown = runner.invoke(args=["breaches", "show", ref]).stdout
    assert "(Québec)" in shown and "real risk" in shown
    assert "missing for the OPC report: nothing" in shown
    assert "missing for Québec's register: nothing" in shown
    assert "report to opc v1 (initial): sent" in shown
    assert "to do:" not in shown
    listed = runner.invoke(args=["breaches", "list", "--rrosh", "yes"]).stdout
    assert listed.startswith(ref) and "[qc-client]" in listed
    register = json.loads(runner.invoke(args=["breaches", "register", "--quebec"]).stdout)
    assert register["kind"] == "quebec_incidents"
    [row] = register["items"]
    assert row["risk_assessment"]["consequences"] == "Fraud and identity theft."
    assert row["notices"]["commission"] is not None
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "breach").order_by(AuditEvent.seq)
    ).all()
    assert actions == [
        "breach.record",
        "breach.update",
        "breach.assess",
        "breach.report",
        "breach.report.sent",
        "breach.notify",
        "breach.notify",
        "breach.update",
        "breach.letter",
    ]


def test_bad_input_is_a_message_and_exit_1(runner, session, inventory):
    cases = [
        ([*RECORD, "--affected", "-3"], "affected_count"),
        ([*RECORD[:-2], "--client", "nobody"], "client"),
        ([*RECORD, "--occurred-to", "1999-01-01"], "occurred_to"),
        (["breaches", "show", "BR-1999-0001"], "No breach with that reference."),
        (["breaches", "update", "BR-1999-0001", "--set", "nonsense"], "expected FIELD=VALUE"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.output
    assert session.scalar(select(func.count()).select_from(Breach)) == 0
    assert runner.invoke(args=["breaches", "list"]).stdout.strip() == "no breaches recorded"

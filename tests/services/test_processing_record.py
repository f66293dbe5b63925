"""The record of processing (R14) as a PDF: for the MSP, and for one client's people only."""

from __future__ import annotations

from auditor.services import processing_record
from tests import factories
from tests.factories.pdf import attached_json, flat_text


def test_durations_read_as_people_say_them():
    assert processing_record.duration(2557) == "7 years (2557 days)"
    assert processing_record.duration(365) == "1 year (365 days)"
    assert processing_record.duration(90) == "90 days"
    assert processing_record.duration(1) == "1 day"
    assert processing_record.duration(0) == "no minimum"
    assert processing_record.duration(None) is None


def test_the_msp_and_a_client_record(session, inventory, rules):
    factories.ingest(
        session,
        factories.record(category="personal_contact", client="acme"),
        factories.record(category="ticket_history", client="acme", email="sam@example.com"),
        factories.record(category="security_logs", system="siem", client="qc-client"),
    )
    whole = processing_record.data(session, client=None)
    assert {c["code"] for c in whole["categories"]} >= {
        "personal_contact",
        "ticket_history",
        "security_logs",
        "payment_data",
    }
    acme = processing_record.data(session, client="acme")
    assert [c["code"] for c in acme["categories"]] == ["personal_contact", "ticket_history"]
    assert [s["code"] for s in acme["systems"]] == ["psa"]
    assert acme["categories"][1]["trigger"] == "when the ticket or case was closed"
    assert {t["code"] for t in acme["third_parties"]} >= {"microsoft"}
    contact = acme["categories"][0]
    assert contact["records"] == 1 and contact["systems"] == ["PSA"]
    assert contact["rule"].startswith("personal_contact v1")

    pdf = processing_record.render(session, client="acme")
    text = flat_text(pdf)
    for expected in (
        "Record of processing",
        "What Msp holds about the people of Acme",  # the MSP of the fixture is "Msp"
        "Personal contact data",
        "Kept at most",
        "Systems and where they are hosted",
        "Microsoft Corporation",
        "Licence purchases name the client's administrators.",
    ):
        assert expected in text, expected
    assert "Security and system logs" not in text  # none of acme's people's records
    assert attached_json(pdf, "record-of-processing-acme.json")["client"]["code"] == "acme"


def test_the_command_writes_it_once(runner, session, inventory, tmp_path):
    out = tmp_path / "record.pdf"
    made = runner.invoke(args=["inventory", "report", "--client", "acme", "--output", str(out)])
    assert made.exit_code == 0, made.output
    assert "about the people of Acme" in flat_text(out.read_bytes())
    again = runner.invoke(args=["inventory", "report", "--output", str(out)])
    assert again.exit_code == 1 and "not overwritten" in again.stderr
    unknown = runner.invoke(
        args=["inventory", "report", "--client", "nobody", "--output", str(tmp_path / "x.pdf")]
    )
    assert unknown.exit_code == 1 and not (tmp_path / "x.pdf").exists()

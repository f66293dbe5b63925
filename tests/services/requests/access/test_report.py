"""The access report PDF: the subject's data in plain words, every R6 section (with "None." when
empty), the due date, severed third parties, page numbers, the request id and the checkpoint;
the attached JSON equal to the package; a large subject's logs summarised by system and month."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import insert, select

from auditor.models import DataCategory, Record, record_subject
from auditor.services.requests.access import package as request_access
from auditor.services.requests.access import report as request_pdf
from tests import factories
from tests.factories import (
    DISPUTE,
    EMAIL,
    NOW,
    OFFICER,
    OTHER_EMAIL,
    OTHER_NAME,
    STRANGER_EMAIL,
    attached_json,
    events,
    open_request,
    scenario,
    signing,
    verify,
)
from tests.factories import flat_text as flat

SECTIONS = [
    "About this request",
    "Summary",
    "1. The information we hold about you",
    "How we recognise you",
    "Log entries, summarised by month",
    "2. Where it came from",
    "3. How it has been used",
    "4. To whom it has been disclosed",
    "5. How long we keep it",
    "6. Your consents",
    "7. Your statements of disagreement",
    "8. Holds on your information",
    "9. Systems searched for this request",
    "10. Information about other people removed",
    "11. Your rights and whom to contact",
    "12. How to check this report",
]


def section_text(text: str, title: str) -> str:
    """The flattened text from ``title`` to the next section title."""
    start = text.index(title) + len(title)
    ends = [text.find(other, start) for other in SECTIONS if other != title]
    return text[start : min((end for end in ends if end >= 0), default=len(text))]


@pytest.fixture
def exported(session, inventory):
    s = scenario(session)
    pdf, package = request_pdf.export_access_report(
        session, s.request.reference, actor=OFFICER, now=NOW, **signing()
    )
    return s, pdf, package


def test_the_report_shows_the_subjects_data_in_every_section(exported):
    s, pdf, _ = exported
    text = flat(pdf)
    for title in SECTIONS:
        assert title in text, title
    assert "Personal information access report" in text
    assert EMAIL in text and "+14165550101" in text
    assert "Printer offline" in text and "2025-0000007" in text
    assert "[redacted: third party]" in text
    for third_party in (OTHER_NAME, OTHER_EMAIL, STRANGER_EMAIL):
        assert third_party not in text
    assert "Response due 19 December 2026" in text
    assert "Received 19 November 2026" in text
    assert "Page 1 of" in text and re.search(r"Page (\d+) of \1", text)
    assert text.count(s.request.reference) >= 3
    assert "7 years after closing" in text and "until 2032-03-04" in text
    assert "Microsoft Corporation" in section_text(text, "4. To whom it has been disclosed")
    consents = section_text(text, "6. Your consents")
    assert "Marketing communications 2024-01-10 web form 2026-02-01 email" in consents
    assert DISPUTE in section_text(text, "7. Your statements of disagreement")
    assert "Recourse hold" in section_text(text, "8. Holds on your information")
    assert "Email: 3. Name: 1. Phone: 1." in text
    assert "Privacy officer (not configured)" in text


def test_the_report_states_the_request_and_its_covering_checkpoint(exported):
    s, pdf, package = exported
    checkpoint = package.head["audit"]["checkpoint"]
    text = flat(pdf)
    check = section_text(text, "12. How to check this report")
    assert f"Request {s.request.reference}" in check
    assert f"Events covered (tree size) {checkpoint['tree_size']}" in check
    assert checkpoint["root_hash"] in check.replace(" ", "")
    assert f"access-package-{s.request.reference}.json" in check.replace(" ", "")


def test_the_attached_json_is_the_package(exported):
    s, pdf, package = exported
    attached = attached_json(pdf, f"access-package-{s.request.reference}.json")
    assert attached == package.to_dict()
    assert len(attached["records"]) == 6
    assert attached["audit"]["checkpoint"] is not None


def test_the_pdf_renders_from_the_dict_too(session, inventory):
    s = scenario(session)
    data = request_access.build_access_package(session, s.request, now=NOW)
    pdf = request_pdf.access_report_pdf(data, now=NOW)
    assert attached_json(pdf, f"access-package-{s.request.reference}.json") == data
    assert "No signed checkpoint covers this request's events yet." in flat(pdf)


def test_empty_sections_say_none(session, inventory):
    factories.subject(session, email=EMAIL, name="Amélie Tremblay")
    request = open_request(session)
    verify(session, request)
    pdf = request_pdf.access_report_pdf(request_access.collect(session, request, now=NOW), now=NOW)
    text = flat(pdf)
    assert "We hold 0 records about you." in text
    for title in (
        "Log entries, summarised by month",
        "2. Where it came from",
        "3. How it has been used",
        "4. To whom it has been disclosed",
        "5. How long we keep it",
        "6. Your consents",
        "7. Your statements of disagreement",
        "10. Information about other people removed",
    ):
        assert section_text(text, title).strip().startswith("None."), title


def test_a_forwarded_request_is_addressed_to_the_client(session, inventory):
    s = scenario(
        session,
        channel="client_forwarded",
        forwarded_by="acme",
        client_instructions="Send the package to our privacy desk.",
    )
    pdf = request_pdf.access_report_pdf(
        request_access.collect(session, s.request, now=NOW), now=NOW
    )
    text = flat(pdf)
    assert "For Acme, about Amélie Tremblay" in text
    assert "As Acme instructed, this report is addressed to Acme, not to Amélie Tremblay" in text
    assert "Send the package to our privacy desk." in text
    assert "1. The information we hold about Amélie Tremblay" in text
    assert "6. Amélie Tremblay's consents" in text


def test_the_settings_name_the_organization_and_its_privacy_officer(session, inventory):
    s = scenario(session)
    settings = {
        "ORGANIZATION_NAME": "ServeITPro Inc.",
        "ORGANIZATION_CONTACT": "privacy@serveitpro.example",
        "PRIVACY_OFFICER": "Marie Roy, privacy@serveitpro.example",
    }
    package = request_access.collect(session, s.request, now=NOW, settings=settings)
    text = flat(request_pdf.access_report_pdf(package, now=NOW))
    assert "the personal information ServeITPro Inc. holds about you" in text
    assert "Privacy officer Marie Roy, privacy@serveitpro.example" in text
    assert "Contact privacy@serveitpro.example" in text


def test_export_is_audited_as_an_access_report(session, exported):
    s, _, _ = exported
    (event,) = events(session, "request.access_report")
    assert event.object_id == s.request.reference
    assert event.details["records"] == 6 and event.details["addressed_to"] == "individual"


def _logs(session, inventory, subject, count: int) -> None:
    """``count`` security log entries over two systems and three months (Core inserts)."""
    category = session.scalar(select(DataCategory.id).where(DataCategory.code == "security_logs"))
    second = factories.system(session, code="edr", kind="log_store")
    start = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    rows = [
        {
            "system_id": (inventory.siem if n % 3 else second).id,
            "external_id": f"LOG-{n:05d}",
            "category_id": category,
            "organization_id": inventory.client.id,
            "created_at": start + dt.timedelta(hours=n * 3),
            "content": {"event": "login_success", "message": f"login for {EMAIL}"},
            "content_digest": "0" * 64,
            "pan_redactions": 0,
        }
        for n in range(count)
    ]
    session.execute(insert(Record), rows)
    ids = session.scalars(
        select(Record.id).where(Record.external_id.like("LOG-%"), Record.category_id == category)
    ).all()
    session.execute(
        insert(record_subject), [{"record_id": i, "subject_id": subject.id} for i in ids]
    )


def test_a_large_subject_is_summarised_by_system_and_month(session, inventory):
    s = scenario(session)
    _logs(session, inventory, s.subject, 600)
    package = request_access.collect(session, s.request, now=NOW, batch=250)
    pdf = request_pdf.access_report_pdf(package, now=NOW)
    text = flat(pdf)
    logs = section_text(text, "Log entries, summarised by month")
    # every third entry (n % 3 == 0) is EDR's, one every 3 hours from 1 August
    in_siem_august = sum(1 for n in range(31 * 8) if n % 3)
    in_edr_october = sum(1 for n in range(61 * 8, 600) if n % 3 == 0)
    assert f"SIEM August 2026 {in_siem_august} 2026-08-01 2026-08-31" in logs
    assert f"EDR October 2026 {in_edr_october} 2026-10-01" in logs
    assert "LOG-00599" not in text and "LOG-00001" not in text  # no log entry listed one by one
    assert "T-100" in text  # the ticket is
    attached = attached_json(pdf, f"access-package-{s.request.reference}.json")
    assert len(attached["records"]) == 606
    assert sum(g["count"] for g in attached["log_summary"]) == 603
    assert {r["external_id"] for r in attached["records"]} >= {"LOG-00000", "LOG-00599"}

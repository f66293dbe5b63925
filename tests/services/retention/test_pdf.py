"""The schedule and certificate PDFs: their sections, counts, month names, digest and checkpoint,
"None." where empty, the JSON attached unchanged, render time, and audited exports."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent, Organization
from auditor.schemas.holds import HoldIn
from auditor.services import holds
from auditor.services.retention import forecast as retention_forecast
from auditor.services.retention import pdf as disposition_pdf
from crypto.digest import key_id
from tests import factories
from tests.factories import AS_OF as START
from tests.factories import (
    DIGEST_KEY,
    OFFICER,
    at,
    attached_json,
    closed_ticket,
    old_record,
    sealed_secret,
    signing,
    terminated_client,
)
from tests.factories import flat_text as flat

MONTHS_SHOWN = ["November 2026", "December 2026", "January 2027", "October 2027"]


@pytest.fixture
def schedule_data(session, inventory, rules):
    closed_ticket(session, closed=dt.date(2010, 1, 2))
    closed_ticket(session, closed=dt.date(2019, 12, 10))
    closed_ticket(session, closed=dt.date(2020, 1, 3))
    old_record(session, category="security_logs", system="siem")
    old_record(session, category="business_technical")
    hold = holds.place(
        session,
        HoldIn(scope="system", value="siem", reason="Breach BR-7"),  # type: ignore[call-arg]
        actor=OFFICER,
        now=at(2026, 11, 1),
    )
    sealed_secret(session, organization=terminated_client(session))
    return retention_forecast.forecast_schedule(session, start=START).to_dict(), hold


def test_schedule_pdf_shows_months_counts_holds_and_sections(schedule_data):
    data, hold = schedule_data
    started = time.perf_counter()
    pdf = disposition_pdf.schedule_pdf(data, organization="ServeITPro Managed Services")
    elapsed = time.perf_counter() - started
    text = flat(pdf)
    assert "Disposition schedule: the next 12 months" in text
    assert "ServeITPro Managed Services" in text
    for section in (
        "Summary",
        "Month by month",
        "Due date not computable",
        "Credentials of terminated clients",
        "About this schedule",
    ):
        assert section in text
    for month in [*MONTHS_SHOWN, "After October 2027"]:
        assert month in text
    assert "Due now (on or before 22 November 2026)" in text
    assert "ticket_history v1 (delete): 1" in text
    assert "acme: 1" in text
    assert f"1 (hold {hold.id})" in text  # the security log, held in the "due now" row
    assert "rule business_technical v1: event agreement_terminated not recorded" in text
    assert "harbour" in text and "hand-over missing" in text and "2026-10-30" in text
    assert re.search(r"Page 1 of \d", text)
    assert "None." not in text
    assert attached_json(pdf, "disposition-schedule.json") == data
    assert elapsed < 5, f"rendering took {elapsed:.2f} s"


def test_schedule_pdf_says_none_for_empty_sections(session):
    data = retention_forecast.forecast_schedule(session, start=START, months=3).to_dict()
    pdf = disposition_pdf.schedule_pdf(data)
    text = flat(pdf)
    assert "Disposition schedule: the next 3 months" in text
    assert "Due date not computable None." in text
    assert "Credentials of terminated clients None." in text
    assert "After January 2027" in text
    assert "Records checked 0" in text
    assert attached_json(pdf, "disposition-schedule.json") == data
    one = retention_forecast.forecast_schedule(session, start=START, months=1).to_dict()
    assert "Disposition schedule: the next month" in flat(disposition_pdf.schedule_pdf(one))


def run_purge(session, *, signed=True):
    return factories.run_purge(session, **(signing(origin="test/audit") if signed else {}))


def test_certificate_pdf_shows_the_run_its_counts_digest_and_checkpoint(session, inventory, rules):
    closed_ticket(session, closed=dt.date(2010, 1, 2))
    closed_ticket(session, closed=dt.date(2011, 1, 2))
    old_record(session, category="security_logs", system="siem")
    held = closed_ticket(session, closed=dt.date(2012, 1, 2))
    holds.place(
        session,
        HoldIn(scope="record", value=str(held.id), reason="Audit"),  # type: ignore[call-arg]
        actor=OFFICER,
        now=at(2026, 11, 1),
    )
    sealed_secret(session, organization=terminated_client(session))
    session.commit()
    result = run_purge(session)
    cert = result.certificate
    summary, checkpoint = cert["dispositions"], cert["audit"]["checkpoint"]
    assert checkpoint is not None and summary["count"] == 3
    started = time.perf_counter()
    pdf = disposition_pdf.certificate_pdf(cert, organization="ServeITPro")
    elapsed = time.perf_counter() - started
    text = flat(pdf)
    run_id = result.run_id
    assert f"Disposition certificate: purge run {run_id}" in text
    for section in (
        "What this certificate says",
        "The run",
        "Disposition records",
        "Disposed of, by rule",
        "Disposed of, by category",
        "Disposed of, by method",
        "Not disposed of: blocked",
        "Credentials of terminated clients",
        "Audit log",
        "How to check this certificate",
    ):
        assert section in text
    assert "Disposing as of 22 November 2026" in text
    assert "Status completed" in text and "Executed by cli:ops" in text
    assert "Started 2026-11-22 12:00:00 UTC" in text
    assert f"ids {summary['first_id']} to {summary['last_id']}" in text
    assert summary["digest"] in text
    assert "sha256 of canonical lines in id order (docs/disposition.md)" in text
    assert cert["digest_key_id"] == key_id(DIGEST_KEY) and key_id(DIGEST_KEY) in text
    assert "ticket_history 1 ticket_history record delete 2" in text
    assert "security_logs 1 security_logs record delete 1" in text
    assert "delete 3" in text  # by method
    assert "hold 1" in text  # blocked
    assert "harbour 1 blocked hand-over missing" in text
    assert f"Run completed: audit event {cert['audit']['run_completed_seq']}" in text
    assert f"Checkpoint tree size {checkpoint['tree_size']}" in text
    assert checkpoint["root_hash"] in text
    for line in checkpoint["note"].splitlines():
        if line and not line.startswith("—"):
            assert line in text  # the signed note, verbatim
    assert "auditor audit verify" in text
    assert "auditor retention report --from 2026-11-22 --to 2026-11-23" in text
    assert attached_json(pdf, f"disposition-certificate-{run_id}.json") == cert
    assert elapsed < 5, f"rendering took {elapsed:.2f} s"


def test_certificate_of_a_run_that_disposed_of_nothing(session, inventory, rules):
    result = run_purge(session, signed=False)
    cert = result.certificate
    pdf = disposition_pdf.certificate_pdf(cert)
    text = flat(pdf)
    assert cert["dispositions"]["digest"] == hashlib.sha256(b"").hexdigest()
    assert "SHA-256 digest of empty input" in text
    for section in (
        "Disposed of, by rule",
        "Disposed of, by category",
        "Disposed of, by method",
        "Not disposed of: blocked",
        "Credentials of terminated clients",
    ):
        assert f"{section} None." in text
    assert "No signed checkpoint covers this run yet" in text
    assert "Their ids —" in text
    assert attached_json(pdf, f"disposition-certificate-{result.run_id}.json") == cert


def test_organization_name_comes_from_the_inventory(session, inventory):
    assert disposition_pdf.organization_name(session) == "Msp"
    session.delete(session.scalar(select(Organization).where(Organization.kind == "msp")))
    session.flush()
    assert disposition_pdf.organization_name(session) is None


def test_exports_are_audited_with_the_pdf_digest(session, inventory, rules):
    pdf = disposition_pdf.export_schedule_pdf(session, start=START, months=2, actor=OFFICER)
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "retention.report_export" and event.actor == "user:7"
    assert event.details == {
        "report": "disposition_schedule",
        "start": "2026-11-22",
        "months": 2,
        "sha256": hashlib.sha256(pdf).hexdigest(),
    }
    assert "Msp" in flat(pdf)
    result = run_purge(session, signed=False)
    pdf = disposition_pdf.export_certificate_pdf(
        session, result.run_id, digest_key_id=key_id(DIGEST_KEY), actor=OFFICER
    )
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.object_type, event.object_id) == ("purge_run", str(result.run_id))
    assert event.details["report"] == "disposition_certificate"
    assert event.details["sha256"] == hashlib.sha256(pdf).hexdigest()

"""The access package (R6, R8, R11): every record with its category, source, purposes, third
parties and disposal date; identifiers, consents, dispute notes, holds, searches; other people's
data severed and recorded; empty sections empty; addressed to the client when it forwarded the
request; nothing before the identity is verified; audited and covered by a signed checkpoint."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from sqlalchemy import select

from auditor.models import AuditCheckpoint, AuditEvent, RequestItem
from auditor.schemas.requests import TaskUpdate, TransitionIn
from auditor.services import audit
from auditor.services.errors import Conflict, IdentityNotVerified
from auditor.services.requests import tasks as request_tasks
from auditor.services.requests import workflow
from auditor.services.requests.access import package as request_access
from auditor.services.requests.access.records import JsonRecords
from auditor.services.requests.access.redaction import REDACTED
from tests import factories
from tests.factories import (
    DISPUTE,
    EMAIL,
    NOW,
    OFFICER,
    ORIGIN,
    OTHER_EMAIL,
    OTHER_NAME,
    OTHER_PHONE,
    PHONE,
    STRANGER_EMAIL,
    TECH,
    assert_no_personal_data,
    at,
    events,
    open_request,
    scenario,
    signing,
    stored_record,
    verify,
)


def build(session, request, **kwargs):
    return request_access.build_access_package(session, request, now=NOW, **kwargs)


def verified_request(session):
    request = open_request(session)
    verify(session, request)
    return request


def by_id(package):
    return {record["id"]: record for record in package["records"]}


def test_every_record_with_category_source_purposes_third_parties_and_disposal(session, inventory):
    s = scenario(session)
    package = build(session, s.request)
    records = by_id(package)
    assert set(records) == {s.ticket.id, s.invoice.id, s.contact.id, *(r.id for r in s.logs)}
    ticket = records[s.ticket.id]
    assert (ticket["category"], ticket["category_name"]) == ("ticket_history", "Ticket history")
    assert (ticket["system"], ticket["external_id"]) == ("psa", "T-100")
    assert ticket["created_at"] == "2025-03-03T12:00:00Z"
    assert ticket["closed_at"] == "2025-03-04T12:00:00Z"
    assert ticket["purposes"] == ["Service delivery"]
    assert ticket["disclosed_to"] == []
    assert ticket["retention"] == {
        "rule": "ticket_history",
        "version": 1,
        "period": "7 years after closing",
        "dispose_on": "2032-03-04",
        "status": "scheduled",
        "held_by": ["recourse"],  # the request's own hold covers it, but the date is later
    }
    contact = records[s.contact.id]
    assert contact["disclosed_to"] == ["Dell Technologies", "Microsoft Corporation"]
    assert contact["purposes"] == ["Communication", "Procurement", "Service delivery"]
    assert contact["retention"]["status"] == "not_yet_known"
    assert contact["retention"]["period"] == "365 days after the business relationship ends"
    assert contact["retention"]["dispose_on"] is None
    invoice = records[s.invoice.id]
    assert invoice["document_date"] == "2025-04-01"
    assert invoice["retention"]["dispose_on"] == "2032-04-01"
    assert "fiscal year" in invoice["retention"]["period"]
    log = records[s.logs[0].id]
    assert log["retention"]["period"] == "365 days after creation"
    assert log["retention"]["dispose_on"] == "2027-09-02"
    assert log["content"] == {"event": "login_success", "message": f"login_success for {EMAIL}"}


def test_other_people_are_severed_and_the_subjects_own_data_kept(session, inventory):
    s = scenario(session)
    package = build(session, s.request)
    text = orjson.dumps(package).decode()
    for third_party in (OTHER_NAME, OTHER_EMAIL, OTHER_PHONE, STRANGER_EMAIL, "grace"):
        assert third_party.lower() not in text.lower()
    content = by_id(package)[s.ticket.id]["content"]
    assert content["notes"] == (
        f"Amélie called from {PHONE}; {REDACTED} ({REDACTED}, {REDACTED}) in copy. "
        f"Reply to {EMAIL}. Vendor contact {REDACTED}."
    )
    assert content["cc"] == [REDACTED]
    assert content["minutes"] == 30 and content["summary"] == "Printer offline"
    assert by_id(package)[s.contact.id]["content"]["name"] == "Amélie Tremblay"
    # in the order of the content's keys (PostgreSQL's JSONB keeps its own order): by path
    redactions = [r for r in package["redactions"] if r["path"] == "$.notes"]
    assert redactions == [
        {"record_id": s.ticket.id, "path": "$.notes", "kind": kind}
        for kind in ("name", "email", "phone", "email")
    ]
    assert {"record_id": s.ticket.id, "path": "$.cc[0]", "kind": "email"} in package["redactions"]
    assert package["records_summary"]["redactions"] == 5
    assert [i["value"] for i in package["identifiers"]] == [EMAIL, "+14165550101"]


def test_export_records_each_severing_once_without_the_value(session, inventory):
    s = scenario(session)
    for _ in range(2):  # a second export adds no duplicates
        request_access.export_access_package(
            session, s.request.reference, actor=OFFICER, now=NOW, **signing()
        )
    items = session.scalars(
        select(RequestItem).where(RequestItem.request_id == s.request.id).order_by(RequestItem.id)
    ).all()
    assert sorted((i.kind, i.record_id, i.note, i.category, i.system) for i in items) == [
        ("redacted", s.ticket.id, "$.cc[0] email", "ticket_history", "psa"),
        ("redacted", s.ticket.id, "$.notes email", "ticket_history", "psa"),
        ("redacted", s.ticket.id, "$.notes name", "ticket_history", "psa"),
        ("redacted", s.ticket.id, "$.notes phone", "ticket_history", "psa"),
    ]


def test_identifiers_consents_dispute_notes_holds_and_searches(session, inventory):
    s = scenario(session, searched=False)
    task = s.request.tasks[0]
    update = TaskUpdate(
        searched=True,
        found=True,
        actions=[{"element": "invoices", "action": "unmodified"}],
        note="Searched by customer number",
        closed=True,
    )
    request_tasks.update_task(session, s.request.reference, task.id, update, actor=TECH, now=NOW)
    package = build(session, s.request)
    assert package["consents"] == [
        {
            "purpose": "marketing",
            "purpose_name": "Marketing communications",
            "given_at": "2024-01-10T12:00:00Z",
            "method": "web_form",
            "text_version": "v3",
            "evidence": None,
            "withdrawn_at": "2026-02-01T12:00:00Z",
            "withdrawal_method": "email",
        }
    ]
    assert package["dispute_notes"] == [
        {
            "field": "job title",
            "statement": DISPUTE,
            "recorded_at": "2026-03-01T12:00:00Z",
            "request": None,
        }
    ]
    (hold,) = package["holds"]
    assert (hold["kind"], hold["scope"], hold["reference"]) == (
        "recourse",
        "subject",
        s.request.reference,
    )
    assert "reason" not in hold and hold["records_kept"] == 0
    searches = {search["system"]: search for search in package["searches"]}
    assert set(searches) == {"billing", "psa", "siem"}
    assert searches[task.system.code]["found"] is True
    assert searches[task.system.code]["actions"] == [
        {"element": "invoices", "action": "unmodified", "note": None}
    ]
    assert searches[task.system.code]["note"] == "Searched by customer number"


def test_where_it_came_from_how_it_is_used_and_to_whom_disclosed(session, inventory):
    s = scenario(session)
    package = build(session, s.request)
    sources = {source["system"]: source for source in package["sources"]}
    assert {code: source["records"] for code, source in sources.items()} == {
        "billing": 1,
        "psa": 2,
        "siem": 3,
    }
    assert sources["psa"]["categories"] == ["Personal contact data", "Ticket history"]
    uses = {use["purpose"]: use for use in package["uses"]}
    assert uses["security_monitoring"]["records"] == 3
    assert uses["service_delivery"]["categories"] == ["Personal contact data", "Ticket history"]
    assert (uses["marketing"]["records"], uses["marketing"]["consents"]) == (0, 1)
    assert [(d["third_party"], d["category"], d["purpose"]) for d in package["disclosures"]] == [
        ("dell", "personal_contact", "Procurement"),
        ("microsoft", "personal_contact", "Procurement"),
    ]
    categories = {c["category"]: c for c in package["categories"]}
    assert categories["security_logs"]["summarised_in_report"] is True
    assert categories["ticket_history"]["summarised_in_report"] is False
    assert categories["security_logs"]["dispose_from"] == "2027-09-02"
    assert categories["security_logs"]["dispose_to"] == "2027-10-05"


def test_security_logs_are_grouped_by_system_and_month(session, inventory):
    s = scenario(session)
    package = build(session, s.request)
    assert [(g["system"], g["month"], g["count"]) for g in package["log_summary"]] == [
        ("siem", "2026-09", 2),
        ("siem", "2026-10", 1),
    ]
    september = package["log_summary"][0]
    assert (september["first"], september["last"]) == (
        "2026-09-02T12:00:00Z",
        "2026-09-20T12:00:00Z",
    )
    summary = package["records_summary"]
    assert (summary["records"], summary["shown_in_full"], summary["summarised"]) == (6, 3, 3)


def test_a_record_past_its_date_is_shown_as_kept_by_the_hold(session, inventory):
    s = scenario(session)
    old = stored_record(
        session,
        subjects=[s.subject],
        system="siem",
        category="security_logs",
        external_id="EV-old",
        content={"event": "login_failed"},
        created_at=at(2025, 1, 5),
    )
    package = build(session, s.request)
    retention = by_id(package)[old.id]["retention"]
    assert retention["status"] == "held" and retention["dispose_on"] == "2026-01-05"
    assert retention["held_by"] == ["recourse"]
    assert package["holds"][0]["records_kept"] == 1


def test_a_subject_with_nothing_held_has_empty_sections(session, inventory):
    factories.subject(session, email="amelie.tremblay@acme.example", name="Amélie Tremblay")
    package = build(session, verified_request(session))
    for section in (
        "records",
        "categories",
        "log_summary",
        "sources",
        "uses",
        "disclosures",
        "consents",
        "dispute_notes",
        "redactions",
    ):
        assert package[section] == [], section
    assert package["records_summary"]["records"] == 0
    assert [h["kind"] for h in package["holds"]] == ["recourse"]


def test_a_request_forwarded_by_a_client_is_addressed_to_the_client(session, inventory):
    s = scenario(
        session,
        channel="client_forwarded",
        forwarded_by="acme",
        client_instructions="Send the package to our privacy desk.",
        external_reference="ACME-42",
    )
    package = build(session, s.request)
    assert package["addressed_to"] == {
        "to": "client",
        "name": "Acme",
        "organization": "acme",
        "contact": None,
        "instructions": "Send the package to our privacy desk.",
        "their_reference": "ACME-42",
        "individual": "Amélie Tremblay",
    }
    individual = build(session, verified_request(session))
    assert individual["addressed_to"] == {
        "to": "individual",
        "name": "Amélie Tremblay",
        "contact": "amelie@home.example",
        "forwarded_by": None,
    }


def scenario_individual(session, inventory):
    request = open_request(session)
    verify(session, request)
    return build(session, request)


def test_organization_from_settings_else_from_the_inventory(session, inventory):
    s = scenario(session)
    assert build(session, s.request)["organization"] == {
        "name": "Msp",
        "contact": None,
        "privacy_officer": None,
    }
    settings = {
        "ORGANIZATION_NAME": "ServeITPro Inc.",
        "ORGANIZATION_CONTACT": "privacy@serveitpro.example",
        "PRIVACY_OFFICER": "Marie Roy, privacy@serveitpro.example",
    }
    assert build(session, s.request, settings=settings)["organization"] == {
        "name": "ServeITPro Inc.",
        "contact": "privacy@serveitpro.example",
        "privacy_officer": "Marie Roy, privacy@serveitpro.example",
    }


def test_nothing_is_built_before_the_identity_is_verified(session, inventory):
    s = scenario(session, verified=False)
    with pytest.raises(IdentityNotVerified):
        build(session, s.request)
    with pytest.raises(IdentityNotVerified):
        request_access.export_access_package(
            session, s.request.reference, actor=OFFICER, now=NOW, **signing()
        )
    assert not events(session, "request.access")


def test_a_subject_must_be_linked_and_the_request_not_withdrawn(session, inventory):
    unlinked = open_request(session, identifiers=[{"kind": "email", "value": "x@nowhere.example"}])
    verify(session, unlinked)
    with pytest.raises(Conflict, match="no linked data subject"):
        build(session, unlinked)
    s = scenario(session)
    workflow.transition(
        session,
        s.request.reference,
        TransitionIn(to="withdrawn", note="The requester withdrew."),
        actor=OFFICER,
        now=NOW,
    )
    with pytest.raises(Conflict, match="withdrawn"):
        build(session, s.request)


def test_export_is_audited_and_covered_by_a_signed_checkpoint(session, inventory, signing_key):
    s = scenario(session)
    package = request_access.export_access_package(
        session, s.request.reference, actor=OFFICER, now=NOW, **signing()
    )
    (event,) = events(session, "request.access_package")
    assert event.object_id == s.request.reference
    assert event.details == {
        "subject": s.subject.ref,
        "addressed_to": "individual",
        "records": 6,
        "redactions": 5,
        "redactions_recorded": 4,
    }
    assert_no_personal_data(events(session), "grace", "chen")
    trail = package.head["audit"]
    assert trail["last_seq"] == event.seq
    assert trail["request_events"] == len(events(session, "request."))
    checkpoint = session.get(AuditCheckpoint, trail["checkpoint"]["id"])
    assert checkpoint.tree_size >= event.seq
    assert trail["checkpoint"]["root_hash"] == checkpoint.root_hash
    report = audit.verify(session, public_key=signing_key.public_key(), origin=ORIGIN)
    assert report.ok, report.problem
    signed = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.checkpoint"))
    assert len(signed.all()) == 1


def test_package_json_and_dict_agree_and_read_back(session, inventory):
    s = scenario(session)
    package = request_access.collect(session, s.request, now=NOW)
    data = package.to_dict()
    assert orjson.loads(package.to_json()) == data
    assert len(data["records"]) == package.records.count == 6
    again = request_access.AccessPackage.from_dict(data)
    assert again.to_dict() == data
    assert [r["id"] for r in again.shown] == [r["id"] for r in package.shown]
    assert package.reference == s.request.reference
    empty = request_access.AccessPackage(
        head={"a": dt.date(2026, 1, 1)}, records=JsonRecords(), shown=[]
    )
    assert empty.to_dict() == {"a": "2026-01-01", "records": []}

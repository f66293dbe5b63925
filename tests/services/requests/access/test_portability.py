"""Portability (R30): the Québec subject's records, identifiers and consents as JSON and CSV,
other people severed, spreadsheet formulas neutralised, the export recorded and audited; refused
for a subject outside Québec and before the identity is verified."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from sqlalchemy import select

from auditor.models import RequestItem
from auditor.services.errors import Conflict, IdentityNotVerified
from auditor.services.requests.access import portability as request_portability
from auditor.services.requests.access.redaction import REDACTED
from tests.factories import (
    EMAIL,
    NOW,
    OFFICER,
    OTHER_EMAIL,
    OTHER_NAME,
    assert_no_personal_data,
    at,
    events,
    scenario,
    stored_record,
)


@pytest.fixture
def quebec(session, inventory):
    return scenario(session, organization="qc-client", type="portability")


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_json_has_the_records_identifiers_and_consents(session, inventory, quebec):
    json_data, _ = request_portability.portability_export(session, quebec.request, now=NOW)
    data = orjson.loads(json_data)
    assert (data["format"], data["request"]) == ("auditor-portability-export", "PR-2026-00001")
    assert data["subject"] == {"ref": quebec.subject.ref, "display_name": "Amélie Tremblay"}
    assert [i["value"] for i in data["identifiers"]] == [EMAIL, "+14165550101"]
    assert data["consents"][0]["purpose"] == "marketing"
    assert data["consents"][0]["withdrawn_at"] == "2026-02-01T12:00:00Z"
    records = {r["external_id"]: r for r in data["records"]}
    assert set(records) == {"T-100", "INV-7", "C-1", "EV-0", "EV-1", "EV-2"}
    assert records["INV-7"]["content"]["lines"] == [{"sku": "SEAT"}]
    assert records["INV-7"]["document_date"] == "2025-04-01"
    assert records["T-100"]["content"]["cc"] == [REDACTED]
    assert OTHER_EMAIL not in json_data.decode() and OTHER_NAME not in json_data.decode()


def test_csv_has_one_row_per_value(session, inventory, quebec):
    _, csv_data = request_portability.portability_export(session, quebec.request, now=NOW)
    table = rows(csv_data)
    assert list(table[0]) == list(request_portability.CSV_COLUMNS)
    identifiers = [r for r in table if r["section"] == "identifier"]
    assert [(r["field"], r["value"]) for r in identifiers] == [
        ("email", EMAIL),
        ("phone", "'+14165550101"),  # would start a formula in a spreadsheet
    ]
    invoice = {r["field"]: r for r in table if r["external_id"] == "INV-7"}
    assert set(invoice) == {"$.invoice_no", "$.amount_cents", "$.lines[0].sku"}
    assert invoice["$.amount_cents"]["value"] == "8900"
    assert invoice["$.lines[0].sku"]["value"] == "SEAT"
    assert invoice["$.invoice_no"]["document_date"] == "2025-04-01"
    assert invoice["$.invoice_no"]["created_at"] == "2025-04-01T12:00:00Z"
    consent = {r["field"]: r["value"] for r in table if r["section"] == "consent"}
    assert consent["given_at"] == "2024-01-10T12:00:00Z" and consent["method"] == "web_form"
    assert OTHER_EMAIL not in csv_data.decode()


def test_formulas_are_neutralised_and_empty_containers_kept(session, inventory, quebec):
    stored_record(
        session,
        subjects=[quebec.subject],
        client="acme",
        external_id="T-200",
        content={"cmd": "=HYPERLINK(1)", "tags": [], "meta": {}, "flag": True, "none": None},
        created_at=at(2025, 5, 5),
    )
    _, csv_data = request_portability.portability_export(session, quebec.request, now=NOW)
    values = {r["field"]: r["value"] for r in rows(csv_data) if r["external_id"] == "T-200"}
    assert values == {
        "$.cmd": "'=HYPERLINK(1)",
        "$.tags": "[]",
        "$.meta": "{}",
        "$.flag": "true",
        "$.none": "",
    }


def test_the_export_is_recorded_and_audited(session, inventory, quebec):
    request_portability.export_portability(
        session, quebec.request.reference, actor=OFFICER, form="csv", now=NOW
    )
    items = session.scalars(
        select(RequestItem).where(RequestItem.request_id == quebec.request.id)
    ).all()
    kinds = sorted(item.kind for item in items)
    assert kinds == ["exported"] + ["redacted"] * 4
    (exported,) = [item for item in items if item.kind == "exported"]
    assert exported.note == (
        "portability export (JSON and CSV): records 6, identifiers 2, consents 1"
    )
    (event,) = events(session, "request.portability_export")
    assert event.details["format"] == "csv" and event.details["subject"] == quebec.subject.ref
    assert_no_personal_data(events(session), "grace")


def test_refused_outside_quebec(session, inventory):
    outside = scenario(session)
    with pytest.raises(Conflict, match="Québec"):
        request_portability.portability_export(session, outside.request, now=NOW)


def test_refused_before_the_identity_is_verified(session, inventory):
    s = scenario(session, organization="qc-client", type="portability", verified=False)
    with pytest.raises(IdentityNotVerified):
        request_portability.export_portability(
            session, s.request.reference, actor=OFFICER, form="json", now=NOW
        )
    assert not events(session, "request.portability")

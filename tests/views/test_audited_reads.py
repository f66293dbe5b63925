"""Audited reads through the API (``route(audits=True)``): the read runs in a reading
transaction, its audit event is recorded after it in a writing one, and the answer leaves only
once the event is recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auditor.db import current_access
from auditor.models import AuditEvent
from auditor.services import audit_reads
from auditor.views import all_endpoints
from tests import factories
from tests.factories import assert_problem

AUDITED_READS = {
    "GET /api/v1/records",
    "GET /api/v1/records/{record_id}",
    "GET /api/v1/subjects",
    "GET /api/v1/subjects/{ref}",
    "GET /api/v1/requests/{ref}",
}


def test_the_reads_of_personal_data_defer_their_audit():
    endpoints = all_endpoints()
    audited = {f"{e.method} {e.path}" for e in endpoints if e.audits}
    assert audited == AUDITED_READS
    assert not any(e.writes for e in endpoints if e.audits)


def test_a_record_list_is_audited_after_a_read_only_transaction(
    client, auth, inventory, session, monkeypatch
):
    factories.ingest(session, factories.record(external_id="T-1"))
    session.commit()
    seen: list[str] = []
    original = audit_reads.record_read

    def spy(*args, **kwargs):
        seen.append(current_access())
        return original(*args, **kwargs)

    monkeypatch.setattr(audit_reads, "record_read", spy)
    response = client.get("/api/v1/records", headers=auth("privacy_officer"))
    assert response.status_code == 200 and len(response.get_json()["items"]) == 1
    assert seen == ["read"]
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None and event.action == "record.list"
    assert event.details == {"filters": {}, "returned": 1}


def test_no_answer_leaves_when_its_audit_cannot_be_recorded(
    client, auth, inventory, session, monkeypatch
):
    factories.ingest(session, factories.record(external_id="T-1", content={"summary": "VPN"}))
    session.commit()
    headers = auth("privacy_officer")

    def broken(session, pending):
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(audit_reads, "record_all", broken)
    response = client.get("/api/v1/records", headers=headers)
    assert_problem(response, 500, "internal-error")
    assert b"VPN" not in response.data and b"T-1" not in response.data


@pytest.mark.parametrize("path", ["/api/v1/records/999999", "/api/v1/subjects/sub_nobody"])
def test_a_read_that_finds_nothing_records_nothing(client, auth, session, path):
    headers = auth("privacy_officer")
    before = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first()
    assert_problem(client.get(path, headers=headers), 404, "not-found")
    after = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first()
    assert after == before

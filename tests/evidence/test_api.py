"""``POST /api/v1/evidence/bundles``: the same bundle as the CLI's, problem+json for bad input."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import func, select

from auditor.models import AuditEvent
from auditor.services import evidence

BODY = {"from": "2026-10-01", "to": "2026-10-31"}


def test_the_api_returns_a_bundle_that_verifies(client, auth, log, tmp_path, app):
    answer = client.post("/api/v1/evidence/bundles", headers=auth("auditor"), json=BODY)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/zip"
    assert answer.headers["Cache-Control"] == "no-store"
    assert 'filename="evidence-2026-10-01--2026-10-31.zip"' in answer.headers["Content-Disposition"]
    path = tmp_path / "b.zip"
    path.write_bytes(answer.data)
    with app.app_context():
        from auditor import keys

        report = evidence.verify_bundle(
            path, key=keys.audit_public_key(), origin=keys.audit_origin()
        )
    assert report.ok, report.problems
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        tags = archive.read("evidence-2026-10-01--2026-10-31/tagmanifest-sha256.txt")
    assert answer.headers["X-Tag-Manifest-SHA256"] == hashlib.sha256(tags).hexdigest()


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"from": "2026-10-31", "to": "2026-10-01"}, 422, "the period ends before it starts"),
        ({**BODY, "client": "NOPE"}, 422, "no client with the code 'NOPE'"),
        ({"from": "2026-10-01"}, 422, "to"),
        ({**BODY, "extra": 1}, 422, "extra"),
    ],
)
def test_bad_input_is_a_problem_and_changes_nothing(client, auth, session, log, body, status, text):
    headers = auth("auditor")
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    answer = client.post("/api/v1/evidence/bundles", headers=headers, json=body)
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
    assert text in answer.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_technicians_may_not_export_and_auditors_get_no_personal_information(client, auth, log):
    denied = client.post("/api/v1/evidence/bundles", headers=auth("technician"), json=BODY)
    assert denied.status_code == 403
    personal = {**BODY, "personal_information": True}
    refused = client.post("/api/v1/evidence/bundles", headers=auth("auditor"), json=personal)
    assert refused.status_code == 403
    assert "privacy officers" in refused.get_json()["detail"]
    allowed = client.post(
        "/api/v1/evidence/bundles", headers=auth("privacy_officer"), json=personal
    )
    assert allowed.status_code == 200
    with zipfile.ZipFile(io.BytesIO(allowed.data)) as archive:
        info = archive.read("evidence-2026-10-01--2026-10-31/bag-info.txt").decode()
    assert "Contains-Personal-Information: yes" in info

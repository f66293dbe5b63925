"""The service answers: /healthz reaches the database at the code's schema revision."""

from __future__ import annotations

from auditor import migrate


def test_healthz_reports_database_and_revision(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "schema_revision": migrate.head_revision(),
    }

from __future__ import annotations


def test_healthz_reports_database_and_revision(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "schema_revision": "0007"}


def test_inventory_fixture_loads(inventory, client, auth):
    response = client.get("/api/v1/organizations", headers=auth("auditor"))
    assert [o["code"] for o in response.get_json()["items"]] == ["msp", "acme", "qc-client"]

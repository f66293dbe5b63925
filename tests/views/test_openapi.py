"""The OpenAPI 3.1 description is generated from the code and covers every endpoint."""

from __future__ import annotations

from openapi_spec_validator import validate

from auditor.views import all_endpoints


def test_description_is_valid_openapi_31(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_description_covers_every_registered_endpoint_with_errors(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for ep in all_endpoints():
        operation = document["paths"][ep.path][ep.method.lower()]
        assert operation["operationId"] == ep.name
        if ep.tag != "system":
            assert operation["security"] == [{"bearer": []}]
            for status in ("401", "403"):
                problem = operation["responses"][status]["content"]["application/problem+json"]
                assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_description_carries_request_schemas_and_query_parameters(client):
    document = client.get("/api/v1/openapi.json").get_json()
    create = document["paths"]["/api/v1/systems"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False
    assert {"code", "name", "kind"} <= set(schema["required"])
    listing = document["paths"]["/api/v1/records"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"cursor", "limit", "client", "category"}
    bulk = document["paths"]["/api/v1/records/bulk"]["post"]
    assert "application/x-ndjson" in bulk["requestBody"]["content"]
    assert "422" in bulk["responses"] and "413" in bulk["responses"]


def test_openapi_and_healthz_need_no_token(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_file_downloads_are_described_with_their_media_type(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    def content(path):
        return paths[path]["get"]["responses"]["200"]["content"]

    binary = {"schema": {"type": "string", "format": "binary"}}
    assert content("/api/v1/retention/schedule.pdf") == {"application/pdf": binary}
    assert content("/api/v1/retention/runs/{run_id}/certificate.pdf") == {"application/pdf": binary}
    assert content("/api/v1/requests/{ref}/letters/{kind}.pdf") == {"application/pdf": binary}
    assert content("/api/v1/requests/{ref}/access-report.pdf") == {"application/pdf": binary}
    assert content("/api/v1/requests/{ref}/portability.csv") == {"text/csv": binary}
    assert "application/json" in content("/api/v1/retention/schedule")

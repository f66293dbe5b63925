"""The OpenAPI document is a contract: it changes only on purpose, never as a side effect.

tests/views/data/openapi-v1.json is the document as served before the code was reorganised
(issue 10). A change to the API must update that copy in the same commit, so the diff shows
exactly what clients will see. Regenerate it with:
    .venv/bin/python -c "from tests.views.test_openapi_snapshot import regenerate; regenerate()"
"""

from __future__ import annotations

from pathlib import Path

SNAPSHOT = Path(__file__).parent / "data" / "openapi-v1.json"


def test_openapi_document_is_byte_identical_to_the_saved_copy(client):
    served = client.get("/api/v1/openapi.json").data
    assert served == SNAPSHOT.read_bytes()


def regenerate() -> None:  # pragma: no cover - a maintenance helper, not a test
    from auditor import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x" * 40})
    SNAPSHOT.write_bytes(app.test_client().get("/api/v1/openapi.json").data)

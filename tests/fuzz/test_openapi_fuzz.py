"""The API against its own OpenAPI description, fuzzed by schemathesis on the demo's data: no
request, however odd, gets a server error, a status the description does not list, a media
type it does not declare or a body that does not match its schema. Bounded (a few examples an
operation, one shared database) so that it runs on every CI run, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auditor import demo
from tests import factories
from tests.factories import OPERATOR

pytestmark = pytest.mark.slow
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 15  # per operation: about 1,700 requests in all


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: object, value: object) -> bytes:
    """The bulk ingest's body: one JSON record per line, described as a string."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]


def test_no_request_gets_an_answer_the_description_does_not_promise(app, session, keyring):
    demo.load(session, actor=OPERATOR, ring=keyring)
    headers = {"Authorization": f"Bearer {factories.token(session, role='admin')}"}
    session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def probe(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            probe()
        except Exception as exc:  # every operation is tried; the failures are listed at the end
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:600]}"
    assert failures == {}

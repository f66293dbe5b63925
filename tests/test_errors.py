"""Every domain exception has an HTTP mapping; unexpected errors are generic and logged safely."""

from __future__ import annotations

import inspect
import json
import logging

import pytest

import crypto.errors
import retention.errors
from auditor import errors
from auditor.services import errors as domain
from tests.factories import assert_problem


def exception_classes(module):
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == module.__name__
    ]


@pytest.mark.parametrize("module", [domain, crypto.errors, retention.errors])
def test_every_exported_exception_is_in_the_table(module):
    for cls in exception_classes(module):
        assert cls in errors.ERROR_TABLE, cls.__name__


def test_unexpected_error_is_a_generic_500_and_logged_without_its_message(app, client, caplog):
    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret value jane@example.com")

    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["detail"] == "An unexpected error occurred."
    assert "jane@example.com" not in response.get_data(as_text=True)
    formatted = [logging.getLogger().handlers[0].format(r) for r in caplog.records]
    assert formatted and all("jane@example.com" not in line for line in formatted)
    entry = json.loads(formatted[-1])
    assert entry["exc_type"] == "RuntimeError" and entry["stack"]


def test_unknown_route_is_problem_json_under_api_and_html_elsewhere(client):
    api = client.get("/api/v1/nothing-here")
    body = assert_problem(api, 404, "not-found", title="Not Found")
    assert body["detail"].startswith("The requested URL was not found on the server.")
    page = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert (
        page.status_code == 404
        and b"404" in page.data
        and page.content_type.startswith("text/html")
    )


def test_wrong_method_is_problem_json(client):
    response = client.put("/api/v1/me")
    detail = "The method is not allowed for the requested URL."
    assert_problem(response, 405, "method-not-allowed", title="Method Not Allowed", detail=detail)

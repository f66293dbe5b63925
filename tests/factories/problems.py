"""The reader of the API's errors: an RFC 9457 problem+json body, checked field by field."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://auditor.invalid/problems/"


def assert_problem(
    response: Any, status: int, slug: str, *, title: str | None = None, detail: str | None = None
) -> dict[str, Any]:
    """The body of ``response`` once it is a problem+json of ``status`` and type ``slug`` (with
    that ``title`` and ``detail`` when given), and says so in its own status."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json", response.content_type
    body: dict[str, Any] = response.get_json()
    assert body["type"] == PROBLEM_BASE + slug, body
    assert body["status"] == status, body
    if title is not None:
        assert body["title"] == title, body
    if detail is not None:
        assert body["detail"] == detail, body
    return body


def assert_denied(response: Any, role: str) -> dict[str, Any]:
    """The 403 a role without the endpoint's permission gets, naming that role."""
    body = assert_problem(response, 403, "forbidden", title="Not allowed for this role")
    assert body["detail"].startswith(f"The role '{role}' may not "), body
    return body

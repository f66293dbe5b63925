"""Unauthenticated endpoints: the home page, health, metrics and the OpenAPI description."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy.orm import Session

from auditor import openapi
from auditor.migrate import head_revision
from auditor.observability import metrics_response
from auditor.permissions import matrix_markdown
from auditor.schemas.users import Health
from auditor.services import health
from auditor.views.api import REGISTRY, json_response, route

bp = Blueprint("system", __name__)


@bp.get("/about/api")
def index() -> str:
    return render_template("pages/index.html", matrix=matrix_markdown(), endpoints=REGISTRY)


@route(
    bp,
    "/healthz",
    "GET",
    summary="Liveness: the service and its database",
    permission=None,
    response=Health,
    public=True,
)
def healthz(session: Session) -> Response:
    ok, revision = health.check(session)
    healthy = ok and revision == head_revision()
    body = Health(
        status="ok" if healthy else "degraded",
        database="ok" if ok else "unreachable",
        schema_revision=revision,
    )
    return json_response(body, 200 if healthy else 503)


@bp.get("/metrics")
def metrics() -> Response:
    return metrics_response(current_app)


@route(
    bp,
    "/api/v1/openapi.json",
    "GET",
    summary="This OpenAPI description",
    permission=None,
    public=True,
    response=dict[str, Any],
)
def openapi_json() -> Response:
    document = current_app.extensions.get("auditor.openapi")
    if document is None:
        document = current_app.extensions["auditor.openapi"] = openapi.build(REGISTRY)
    return json_response(document)

"""Compliance finding endpoints: the findings (JSON, OCSF, SARIF) and a run of the checks now."""

from __future__ import annotations

import json

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.keys import audit_origin, audit_public_key
from auditor.models.compliance import ComplianceFinding
from auditor.permissions import Permission
from auditor.schemas.compliance import FindingQuery, FindingsOut, RunOut
from auditor.services import compliance
from auditor.services.compliance.formats import run_out
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, route

bp = Blueprint("compliance", __name__, url_prefix=API_PREFIX)
READ, RUN = Permission.COMPLIANCE_READ, Permission.COMPLIANCE_RUN


def _rows(session: Session, query: FindingQuery) -> list[ComplianceFinding]:
    return compliance.findings(
        session, include_resolved=query.resolved, severity=query.severity, check=query.check
    )


@route(
    bp,
    "/compliance/findings",
    "GET",
    summary="Compliance findings, most severe first, with their state across runs",
    permission=READ,
)
def compliance_findings(session: Session, query: FindingQuery) -> FindingsOut:
    found = compliance.as_json(compliance.latest_run(session), _rows(session, query))
    return FindingsOut.model_validate(found)


@route(
    bp,
    "/compliance/findings/ocsf",
    "GET",
    summary="The findings as OCSF Compliance Finding events (class 2003), JSON Lines",
    permission=READ,
    query=FindingQuery,
    response_media_type="application/x-ndjson",
)
def compliance_findings_ocsf(session: Session, query: FindingQuery) -> Response:
    return Response(compliance.ocsf_lines(_rows(session, query)), mimetype="application/x-ndjson")


@route(
    bp,
    "/compliance/findings/sarif",
    "GET",
    summary="The open failures as SARIF 2.1.0",
    permission=READ,
    query=FindingQuery,
    response_media_type="application/sarif+json",
)
def compliance_findings_sarif(session: Session, query: FindingQuery) -> Response:
    body = json.dumps(compliance.as_sarif(_rows(session, query)), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/sarif+json")


@route(
    bp,
    "/compliance/runs",
    "POST",
    summary="Run every compliance check now",
    permission=RUN,
    status=201,
)
def compliance_run(session: Session, actor: Actor) -> RunOut:
    context = compliance.Context(
        now=utcnow(),
        public_key=audit_public_key(),
        origin=audit_origin(),
    )
    run = compliance.run_checks(session, context=context, actor=actor)
    return RunOut.model_validate(run_out(run))

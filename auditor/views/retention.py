"""Retention endpoints: the current rules and the dry-run disposition plan (nothing is written)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from auditor.db import get_session, utcnow
from auditor.permissions import Permission
from auditor.schemas.retention import PlanQuery, RuleOut
from auditor.services import retention_plan, retention_rules
from auditor.views.api import API_PREFIX, route

bp = Blueprint("retention", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/retention/rules",
    "GET",
    summary="List the current retention rules",
    permission=Permission.RETENTION_READ,
    response=list[RuleOut],
)
def retention_rules_list(actor: Any) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in retention_rules.current_rules(get_session())]


@route(
    bp,
    "/retention/plan",
    "GET",
    summary="List what would be disposed of, what is blocked and why (dry run)",
    permission=Permission.RETENTION_READ,
    query=PlanQuery,
    response=dict[str, Any],
    errors=(422,),
)
def retention_plan_view(query: PlanQuery, actor: Any) -> dict[str, Any]:
    as_of = query.as_of or utcnow().date()
    return retention_plan.plan(get_session(), as_of=as_of).to_dict()

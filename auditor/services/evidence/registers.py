"""The registers of a bundle: the breach register (R24-R27), and access reviews with the
deprovisioning times (R35, R36)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from auditor.models import (
    AccessReview,
    AccessReviewDecision,
    Breach,
    BreachNotification,
    BreachReport,
    Deprovisioning,
    User,
)
from auditor.services import access_reviews, deprovisioning
from auditor.services.breaches import export as breach_export
from auditor.services.evidence.bag import BagWriter
from auditor.services.evidence.jsonl import Population, Scope, columns, write_query


def breaches(session: Session, bag: BagWriter, scope: Scope) -> list[Population]:
    """R24-R27: every breach on record at the period's end, the notices given and the reports
    sent to regulators by then (notes on a notice, free text, only with personal information)."""
    query = breach_export.query(organization_id=scope.organization_id)
    register = write_query(
        session,
        bag,
        "breaches/register.jsonl",
        "the breach register (R24, R25)",
        query.where(Breach.recorded_at < scope.end),
        lambda row: breach_export.general_row(session, row[0], row[1]),
    )
    told = (
        select(BreachNotification, Breach.reference)
        .join(Breach, Breach.id == BreachNotification.breach_id)
        .where(BreachNotification.sent_at < scope.end)
        .order_by(BreachNotification.id)
    )
    reports = (
        select(BreachReport, Breach.reference)
        .join(Breach, Breach.id == BreachReport.breach_id)
        .where(BreachReport.generated_at < scope.end)
        .order_by(BreachReport.id)
    )
    if scope.organization_id is not None:
        told = told.where(Breach.organization_id == scope.organization_id)
        reports = reports.where(Breach.organization_id == scope.organization_id)
    hidden = set() if scope.personal else {"notes"}

    def notice(row: Any) -> dict[str, Any]:
        values = {k: v for k, v in columns(row).items() if k not in hidden | {"breach_id"}}
        return values | {"breach": row[1]}

    def report(row: Any) -> dict[str, Any]:
        return {k: v for k, v in columns(row).items() if k != "breach_id"} | {"breach": row[1]}

    return [
        register,
        write_query(
            session, bag, "breaches/notifications.jsonl", "notices given (R24)", told, notice
        ),
        write_query(
            session, bag, "breaches/reports.jsonl", "reports to regulators (R26)", reports, report
        ),
    ]


def access(session: Session, bag: BagWriter, scope: Scope) -> list[Population]:
    """R35, R36: the access reviews under way or completed in the period (each with its frozen
    snapshot), their decisions, and the accounts deprovisioned in the period. The MSP's staff are
    the same in every bundle; the reasons given are free text, only with personal information."""
    reviews = (
        select(AccessReview)
        .where(
            AccessReview.started_at < scope.end,
            or_(AccessReview.completed_at.is_(None), AccessReview.completed_at >= scope.start),
        )
        .order_by(AccessReview.id)
    )
    decisions = (
        select(AccessReviewDecision)
        .where(
            AccessReviewDecision.decided_at >= scope.start,
            AccessReviewDecision.decided_at < scope.end,
        )
        .order_by(AccessReviewDecision.id)
    )
    ended = (
        select(Deprovisioning, User)
        .join(User, User.id == Deprovisioning.user_id)
        .where(Deprovisioning.deactivated_at >= scope.start)
        .where(Deprovisioning.deactivated_at < scope.end)
        .order_by(Deprovisioning.id)
    )

    def review(row: Any) -> dict[str, Any]:
        out = access_reviews.review_out(session, row[0], detail=False)
        return out | {"snapshot": row[0].snapshot}

    def decision(row: Any) -> dict[str, Any]:
        out = access_reviews.decision_out(session, row[0])
        out["review_id"] = row[0].review_id
        out["has_reason"] = out["reason"] is not None
        if not scope.personal:
            del out["reason"]
        return out

    return [
        write_query(session, bag, "access/reviews.jsonl", "access reviews (R35)", reviews, review),
        write_query(
            session, bag, "access/decisions.jsonl", "their decisions (R35)", decisions, decision
        ),
        write_query(
            session,
            bag,
            "access/deprovisioning.jsonl",
            "accounts deprovisioned in the period, with the times (R36)",
            ended,
            lambda row: deprovisioning.row_out(row[0], row[1]),
        ),
    ]

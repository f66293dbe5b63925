"""The compliance checks: each looks at one promise and returns what fails it, as findings.

A finding's id is stable across runs (the check and the object it is about), so a run can tell
which findings are new, which are unchanged and which were resolved. The evidence says what was
seen, in ids and counts, never personal information; the fix says what to do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import (
    Breach,
    DataCategory,
    Hold,
    PrivacyRequest,
    System,
    ThirdParty,
    User,
)
from auditor.models.access import AccessReview, AccessReviewDecision
from auditor.models.requests import OPEN_STATUSES
from auditor.services import audit
from auditor.services.breaches import notices, obligations
from auditor.services.retention.plan import plan_disposition

SEVERITIES = ("critical", "high", "medium", "low", "info")
DUE_SOON = dt.timedelta(days=7)
REVIEW_EVERY = dt.timedelta(days=90)
HOLD_REVIEW_AFTER = dt.timedelta(days=365)
ATTESTATIONS = ("soc2", "soc 2", "iso27001", "iso 27001", "iso/iec 27001")


@dataclasses.dataclass(frozen=True)
class Found:
    """One failure, as a check sees it."""

    check: str
    key: str  # the object it is about: a request reference, a category code, ...
    severity: str
    title: str
    evidence: dict[str, Any]
    fix: str
    rule: str  # the rule of docs/requirements.md it fails

    @property
    def finding_id(self) -> str:
        return f"{self.check}:{self.key.replace(' ', '_')}"


@dataclasses.dataclass(frozen=True)
class Context:
    now: dt.datetime
    public_key: Ed25519PublicKey | None
    origin: str


Check = Callable[[Session, Context], Iterator[Found]]


def _day(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).date().isoformat()


def requests_deadlines(session: Session, ctx: Context) -> Iterator[Found]:
    """R1-R4: open privacy requests past their due date, or due within a week."""
    rows = session.scalars(
        select(PrivacyRequest)
        .where(PrivacyRequest.status.in_(OPEN_STATUSES))
        .order_by(PrivacyRequest.id)
    )
    for request in rows:
        evidence = {"status": request.status, "due_at": audit.format_time(request.due_at)}
        if request.due_at < ctx.now:
            late = (ctx.now - request.due_at).days
            yield Found(
                "requests.overdue", request.reference, "high",
                f"Privacy request {request.reference} is {late} day(s) past its due date",
                evidence | {"days_late": late},
                "Answer the request now; the individual may complain to the OPC (deemed refusal).",
                "R3",
            )  # fmt: skip
        elif request.due_at - ctx.now <= DUE_SOON:
            yield Found(
                "requests.due_soon", request.reference, "medium",
                f"Privacy request {request.reference} is due on {_day(request.due_at)}",
                evidence,
                "Finish the searches and answer, or extend it with a ground if one applies.",
                "R3",
            )  # fmt: skip


def retention_overdue(session: Session, ctx: Context) -> Iterator[Found]:
    """R15-R18: records past their disposal date (not yet purged, or kept back, and why), and
    terminated clients' credentials still held."""
    report = plan_disposition(session, as_of=ctx.now.astimezone(dt.UTC).date(), ids_cap=10)
    for group in report.due_by_rule.values():
        found = group.to_dict()
        yield Found(
            "retention.due", f"{found['rule']}-v{found['version']}", "medium",
            f"{found['count']} record(s) of rule {found['rule']} are past their disposal date",
            {"count": found["count"], "record_ids": found["record_ids"]},
            "Run the purge (auditor retention run --yes), or check that the scheduler runs it.",
            "R15",
        )  # fmt: skip
    for group in report.blocked.values():
        found = group.to_dict()
        yield Found(
            "retention.kept_back", f"{found['rule']}-v{found['version']}-{found['reason']}", "low",
            f"{found['count']} record(s) past disposal are kept back: {found['reason']}",
            {k: found[k] for k in ("count", "reason", "hold_ids", "record_ids") if k in found},
            "Check that each hold or pending review still needs to keep them.",
            "R19",
        )  # fmt: skip
    for status in report.credentials:
        if status.status == "blocked":
            yield Found(
                "vault.terminated_credentials", status.client, "high",
                f"Credentials of terminated client {status.client} are still held",
                {"secrets": status.secrets, "reason": status.reason,
                 "terminated_on": status.terminated_on.isoformat()},
                "Hand the credentials over (auditor vault handover), record the acknowledgement, "
                "then purge them.",
                "R16",
            )  # fmt: skip


def inventory_gaps(session: Session, ctx: Context) -> Iterator[Found]:
    """R14: categories, systems and vendors missing what the data map must say."""
    for category in session.scalars(select(DataCategory).order_by(DataCategory.code)):
        missing = [
            name
            for name, absent in (
                ("purpose", not category.purposes),
                ("controller", not category.controller_kind),
                ("basis", not category.basis),
                ("minimum retention", category.min_retention_days is None),
                ("maximum retention", category.max_retention_days is None),
                ("trigger", not category.trigger_type or not category.trigger),
            )
            if absent
        ]
        if missing:
            yield Found(
                "inventory.category_incomplete", category.code, "medium",
                f"Data category {category.code} lacks: {', '.join(missing)}",
                {"missing": missing},
                "Complete the category in the data map (auditor inventory or the API).",
                "R14",
            )  # fmt: skip
    for system in session.scalars(select(System).order_by(System.code)):
        missing = [n for n, v in (("hosting country", system.hosting_country),
                                  ("safeguards", system.safeguards)) if not v]  # fmt: skip
        if missing:
            yield Found(
                "inventory.system_incomplete", system.code, "medium",
                f"System {system.code} lacks: {', '.join(missing)}",
                {"missing": missing},
                "Say where the system is hosted and which safeguards protect it.",
                "R14",
            )  # fmt: skip
    for vendor in session.scalars(select(ThirdParty).order_by(ThirdParty.code)):
        held = [c.lower() for c in vendor.certifications or []]
        if not any(a in c for c in held for a in ATTESTATIONS):
            yield Found(
                "inventory.vendor_unattested", vendor.code, "medium",
                f"Vendor {vendor.code} has no SOC 2 or ISO 27001 attestation on file",
                {"certifications": vendor.certifications or []},
                "Obtain the vendor's SOC 2 report or ISO 27001 certificate and record it.",
                "R14",
            )  # fmt: skip


def access_reviewed(session: Session, ctx: Context) -> Iterator[Found]:
    """R35: every active account decided in a completed access review of the last 90 days."""
    since = ctx.now - REVIEW_EVERY
    reviewed = set(
        session.scalars(
            select(AccessReviewDecision.user_id)
            .join(AccessReview, AccessReview.id == AccessReviewDecision.review_id)
            .where(AccessReview.status == "completed", AccessReview.completed_at >= since)
        )
    )
    for user in session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id)):
        if user.id not in reviewed:
            yield Found(
                "access.not_reviewed", f"user-{user.id}", "medium",
                f"Account user:{user.id} ({user.role}) has not been reviewed in 90 days",
                {"user_id": user.id, "role": user.role},
                "Run an access review (auditor access review-start) and decide every account.",
                "R35",
            )  # fmt: skip


def breach_records(session: Session, ctx: Context) -> Iterator[Found]:
    """R24-R27: breaches unassessed, or missing what their conclusion requires."""
    for breach in session.scalars(select(Breach).order_by(Breach.id)):
        told = notices.notifications_of(session, breach)
        reports = notices.reports_of(session, breach)
        todo = obligations.outstanding(breach, told, reports)
        lacking = obligations.register_missing(breach, told, reports)
        if breach.rrosh:
            lacking = obligations.report_missing(breach) + lacking
        if todo or lacking:
            yield Found(
                "breaches.incomplete", breach.reference,
                "high" if breach.rrosh or breach.rrosh is None else "low",
                f"Breach {breach.reference} has work outstanding",
                {"outstanding": todo, "missing_fields": lacking, "quebec": breach.quebec},
                "Complete the breach record: " + "; ".join(todo or ["fill the missing fields"]),
                "R24",
            )  # fmt: skip


def holds_in_order(session: Session, ctx: Context) -> Iterator[Found]:
    """R19: active holds have a reason, and are looked at again after a year."""
    active = select(Hold).where(Hold.released_at.is_(None)).order_by(Hold.id)
    for hold in session.scalars(active):
        if not (hold.reason or "").strip():
            yield Found(
                "holds.no_reason", str(hold.id), "medium", f"Hold {hold.id} has no reason",
                {"kind": hold.kind, "scope": hold.scope},
                "Record why the hold keeps the data, or release it.", "R19",
            )  # fmt: skip
        if hold.kind != "recourse" and ctx.now - hold.placed_at > HOLD_REVIEW_AFTER:
            yield Found(
                "holds.stale", str(hold.id), "low",
                f"Hold {hold.id} was placed more than a year ago",
                {"kind": hold.kind, "placed_at": audit.format_time(hold.placed_at)},
                "Confirm the matter is still open, or release the hold.", "R19",
            )  # fmt: skip


def audit_log(session: Session, ctx: Context) -> Iterator[Found]:
    """R33, R34: the audit log verifies against its chain, tree and signed checkpoints."""
    report = audit.verify(session, public_key=ctx.public_key, origin=ctx.origin)
    if not report.ok:
        yield Found(
            "audit.verification_failed", "log", "critical",
            "The audit log fails verification",
            {"tree_size": report.tree_size, "problem": report.problem,
             "first_bad_seq": report.first_bad_seq},
            "Stop and investigate: restore the log from a backup and find who changed it.",
            "R33",
        )  # fmt: skip


CHECKS: tuple[Check, ...] = (
    requests_deadlines,
    retention_overdue,
    inventory_gaps,
    access_reviewed,
    breach_records,
    holds_in_order,
    audit_log,
)

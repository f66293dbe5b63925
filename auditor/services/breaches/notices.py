"""A breach's assessment (R24), the notices given, and the versioned reports to a regulator
(R26): a report is generated only once its seven fields are filled, frozen with its SHA-256, and
a version recorded as sent cannot change (the database refuses it)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Breach, BreachNotification, BreachReport, Organization
from auditor.schemas.breaches import (
    AssessmentIn,
    BreachOut,
    NotificationIn,
    NotificationOut,
    ReportOut,
)
from auditor.services import audit
from auditor.services.breaches import obligations
from auditor.services.breaches.register import audit_breach, get
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, NotFound, ValidationFailed

REGULATORS = {
    "opc": "Office of the Privacy Commissioner of Canada",
    "cai": "Commission d'accès à l'information du Québec",
}


def assess(
    session: Session,
    reference: str,
    data: AssessmentIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Breach:
    """Record (or revise) the real-risk-of-significant-harm assessment; kept when not reported."""
    moment = now or utcnow()
    breach = get(session, reference)
    breach.sensitivity = data.sensitivity
    breach.misuse_probability = data.misuse_probability
    breach.consequences = data.consequences
    breach.rrosh = data.rrosh
    breach.rrosh_rationale = data.rationale
    breach.assessed_by = actor.name
    breach.assessed_at = moment
    breach.updated_at = moment
    audit_breach(
        session,
        breach,
        actor,
        "breach.assess",
        moment,
        rrosh=data.rrosh,
        sensitivity=data.sensitivity,
        misuse_probability=data.misuse_probability,
    )
    return breach


def notifications_of(session: Session, breach: Breach) -> list[BreachNotification]:
    query = select(BreachNotification).where(BreachNotification.breach_id == breach.id)
    return list(session.scalars(query.order_by(BreachNotification.sent_at, BreachNotification.id)))


def reports_of(session: Session, breach: Breach) -> list[BreachReport]:
    query = select(BreachReport).where(BreachReport.breach_id == breach.id)
    return list(session.scalars(query.order_by(BreachReport.regulator, BreachReport.version)))


def notify(
    session: Session,
    reference: str,
    data: NotificationIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> BreachNotification:
    """Record a notice given (to a regulator, the individuals, an organization, the public)."""
    moment = now or utcnow()
    breach = get(session, reference)
    if data.sent_at > moment:
        raise ValidationFailed(
            "A notice is recorded once given.", [FieldError("sent_at", "in the future")]
        )
    if data.sent_at < breach.discovered_at:
        raise ValidationFailed(
            "A notice cannot precede the breach's discovery.",
            [FieldError("sent_at", "before discovered_at")],
        )
    notice = BreachNotification(
        breach_id=breach.id, **data.model_dump(), recorded_by=actor.name, recorded_at=moment
    )
    session.add(notice)
    session.flush()
    breach.updated_at = moment
    audit_breach(
        session,
        breach,
        actor,
        "breach.notify",
        moment,
        recipient=data.recipient,
        method=data.method,
        sent_at=data.sent_at,
        notified_count=data.notified_count,
    )
    return notice


canonical = audit.canonical_json  # the bytes a report's SHA-256 is taken over


def generate_report(
    session: Session,
    reference: str,
    *,
    regulator: str,
    organization: dict[str, Any],
    actor: Actor,
    now: dt.datetime | None = None,
) -> BreachReport:
    """The next version of the report to ``regulator``: refused while an R26 field is empty."""
    moment = now or utcnow()
    breach = get(session, reference)
    missing = obligations.report_missing(breach)
    if missing:
        raise ValidationFailed(
            "The report needs its seven fields (R26); fill these first.",
            [FieldError(name, "is empty") for name in missing],
        )
    last = session.scalar(
        select(func.max(BreachReport.version)).where(
            BreachReport.breach_id == breach.id, BreachReport.regulator == regulator
        )
    )
    version = (last or 0) + 1
    content = {
        "breach": breach.reference,
        "regulator": REGULATORS[regulator],
        "version": version,
        "kind": "initial" if version == 1 else "update",
        "organization": organization,
        "client": _client_name(session, breach),
        "determined_at": audit.format_time(breach.determined_at) if breach.determined_at else None,
        "fields": obligations.report_fields(breach),
        "real_risk_of_significant_harm": breach.rrosh,
        "generated_at": audit.format_time(moment),
    }
    report = BreachReport(
        breach_id=breach.id,
        regulator=regulator,
        version=version,
        content=content,
        content_sha256=hashlib.sha256(canonical(content)).hexdigest(),
        generated_by=actor.name,
        generated_at=moment,
    )
    session.add(report)
    session.flush()
    audit_breach(
        session,
        breach,
        actor,
        "breach.report",
        moment,
        regulator=regulator,
        version=version,
        sha256=report.content_sha256,
    )
    return report


def _client_name(session: Session, breach: Breach) -> str | None:
    if breach.organization_id is None:
        return None
    name = select(Organization.name).where(Organization.id == breach.organization_id)
    return session.scalar(name)


def mark_sent(
    session: Session,
    reference: str,
    *,
    regulator: str,
    version: int,
    sent_at: dt.datetime,
    actor: Actor,
    now: dt.datetime | None = None,
) -> BreachReport:
    """Record when a report version was sent; it is also a notice to that regulator."""
    moment = now or utcnow()
    breach = get(session, reference)
    report = session.scalar(
        select(BreachReport).where(
            BreachReport.breach_id == breach.id,
            BreachReport.regulator == regulator,
            BreachReport.version == version,
        )
    )
    if report is None:
        raise NotFound("No report of that version for that breach.")
    if report.sent_at is not None:
        raise Conflict("That report version is already recorded as sent.")
    # to the minute: a sent time is often written without seconds
    if not report.generated_at.replace(second=0, microsecond=0) <= sent_at <= moment:
        raise ValidationFailed(
            "A report is sent after it is generated, and recorded once sent.",
            [FieldError("sent_at", "before the report was generated, or in the future")],
        )
    report.sent_at = sent_at
    report.sent_by = actor.name
    session.add(
        BreachNotification(
            breach_id=breach.id,
            recipient=regulator,
            method="portal",
            sent_at=sent_at,
            notes=f"report version {version} (SHA-256 {report.content_sha256})",
            recorded_by=actor.name,
            recorded_at=moment,
        )
    )
    breach.updated_at = moment
    audit_breach(
        session,
        breach,
        actor,
        "breach.report.sent",
        moment,
        regulator=regulator,
        version=version,
        sent_at=sent_at,
    )
    session.flush()
    return report


def report_out(report: BreachReport) -> ReportOut:
    return ReportOut.model_validate(
        {
            **{c.key: getattr(report, c.key) for c in BreachReport.__table__.columns},
            "kind": "initial" if report.version == 1 else "update",
        }
    )


def to_out(session: Session, breach: Breach) -> BreachOut:
    notices = notifications_of(session, breach)
    reports = reports_of(session, breach)
    client = None
    if breach.organization_id is not None:
        client = session.scalar(
            select(Organization.code).where(Organization.id == breach.organization_id)
        )
    columns = {c.key: getattr(breach, c.key) for c in Breach.__table__.columns}
    return BreachOut.model_validate(
        {
            **columns,
            "client": client,
            "report_missing": obligations.report_missing(breach),
            "register_missing": obligations.register_missing(breach, notices, reports),
            "outstanding": obligations.outstanding(breach, notices, reports),
            "notifications": [NotificationOut.model_validate(n) for n in notices],
            "reports": [report_out(r) for r in reports],
        }
    )

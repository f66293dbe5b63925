"""The breach register as rows (R24), and Québec's confidentiality-incident register (R27): for
the API, the command line and the evidence bundle alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from auditor.models import Breach, Organization
from auditor.schemas.breaches import RegisterOut
from auditor.services import audit
from auditor.services.breaches import notices, obligations

GENERAL_FIELDS = (
    "reference",
    "client",
    "quebec",
    "title",
    "date_or_period",
    "discovered_at",
    "determined_at",
    "circumstances",
    "information_involved",
    "individuals_affected",
    "assessment",
    "notified",
    "steps_to_reduce_harm",
    "retain_until",
)


def query(*, organization_id: int | None = None, quebec: bool | None = None) -> Select[Breach, str]:
    found = select(Breach, Organization.code).outerjoin(
        Organization, Organization.id == Breach.organization_id
    )
    if organization_id is not None:
        found = found.where(Breach.organization_id == organization_id)
    if quebec:
        found = found.where(Breach.quebec.is_(True))
    return found.order_by(Breach.id)


def general_row(session: Session, breach: Breach, client: str | None) -> dict[str, Any]:
    """R24: one breach as the register lists it."""
    told = notices.notifications_of(session, breach)

    def first(recipient: str) -> str | None:
        return obligations.first_notice(told, recipient)

    fields = obligations.report_fields(breach)
    return {
        "reference": breach.reference,
        "client": client,
        "quebec": breach.quebec,
        "title": breach.title,
        "date_or_period": fields["date_or_period"],
        "discovered_at": audit.format_time_or_none(breach.discovered_at),
        "determined_at": audit.format_time_or_none(breach.determined_at),
        "circumstances": fields["circumstances_and_cause"],
        "information_involved": breach.information,
        "individuals_affected": fields["individuals_affected"],
        "assessment": {
            "sensitivity": breach.sensitivity,
            "misuse_probability": breach.misuse_probability,
            "real_risk_of_significant_harm": breach.rrosh,
            "rationale": breach.rrosh_rationale,
            "assessed_by": breach.assessed_by,
            "assessed_at": audit.format_time_or_none(breach.assessed_at),
        },
        "notified": {
            "opc": first("opc"),
            "cai": first("cai"),
            "individuals": first("individuals"),
            "organizations": sorted(
                {n.recipient_name or "" for n in told if n.recipient == "organization"}
            ),
            "public": first("public"),
        },
        "steps_to_reduce_harm": breach.mitigation,
        "retain_until": breach.retain_until.isoformat() if breach.retain_until else None,
    }


def quebec_row(session: Session, breach: Breach, client: str | None) -> dict[str, Any]:
    """R27: one incident as Québec's register lists it (its eight fields)."""
    found = obligations.register_fields(
        breach, notices.notifications_of(session, breach), notices.reports_of(session, breach)
    )
    return {"reference": breach.reference, "client": client, **found}


def register(
    session: Session, *, client: str | None = None, quebec: bool | None = None
) -> RegisterOut:
    """Every breach on record (or only the Québec-flagged ones, as Québec's register)."""
    organization_id = None
    if client is not None:
        organization_id = session.scalar(select(Organization.id).where(Organization.code == client))
        if organization_id is None:
            return _out(quebec, [])
    shape = quebec_row if quebec else general_row
    rows = session.execute(query(organization_id=organization_id, quebec=quebec))
    return _out(quebec, [shape(session, breach, code) for breach, code in rows])


def _out(quebec: bool | None, items: list[dict[str, Any]]) -> RegisterOut:
    if quebec:
        fields = ["reference", "client", *obligations.REGISTER_FIELDS]
        return RegisterOut(kind="quebec_incidents", fields=fields, items=items)
    return RegisterOut(kind="breaches", fields=list(GENERAL_FIELDS), items=items)


def rows(session: Session, select_rows: Select[Breach, str]) -> Iterator[dict[str, Any]]:
    for breach, code in session.execute(select_rows):
        yield general_row(session, breach, code)

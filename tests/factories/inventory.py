"""Keyword-only builders of the inventory: organizations with their agreements, and systems."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import Organization, System, VaultGrant
from auditor.schemas.inventory import OrganizationIn, SystemIn
from auditor.services import datamap
from auditor.services import inventory as inventory_service
from tests.factories.actors import ACTOR
from tests.factories.sequence import next_number


@dataclass
class Inventory:
    msp: Organization
    client: Organization
    quebec_client: Organization
    psa: System
    billing: System
    siem: System


def organization(
    session: Session,
    *,
    code: str | None = None,
    kind: str = "client",
    is_quebec: bool = False,
    agreements: list[dict[str, Any]] | None = None,
) -> Organization:
    code = code or f"org-{next_number()}"
    data = OrganizationIn(
        code=code, name=code.title(), kind=kind, is_quebec=is_quebec, agreements=agreements or []
    )  # type: ignore[arg-type]
    return inventory_service.create(
        session, inventory_service.KINDS["organizations"], data, actor=ACTOR
    )


def active_client(session: Session, *, code: str = "beta") -> Organization:
    """A second client with an agreement in force since 2015."""
    agreement = {"reference": f"msa-{code}", "status": "active", "start_date": dt.date(2015, 1, 1)}
    return organization(session, code=code, agreements=[agreement])


def terminated_client(
    session: Session, *, code: str = "harbour", termination: dt.date = dt.date(2026, 9, 30)
) -> Organization:
    """A client whose agreement (msa-<code>, from 2021) ended on ``termination``."""
    agreement = {
        "reference": f"msa-{code}",
        "status": "terminated",
        "start_date": dt.date(2021, 1, 1),
        "termination_date": termination,
    }
    return organization(session, code=code, agreements=[agreement])


def system(session: Session, *, code: str, kind: str = "psa") -> System:
    data = SystemIn(code=code, name=code.upper(), kind=kind)  # type: ignore[arg-type]
    return inventory_service.create(session, inventory_service.KINDS["systems"], data, actor=ACTOR)


def inventory(session: Session) -> Inventory:
    """The policy defaults (categories, purposes, third parties), the MSP, two clients (acme, with
    an active agreement, and a Québec one) and three systems (psa, billing, siem)."""
    datamap.load_defaults(session, actor=ACTOR)
    return Inventory(
        msp=organization(session, code="msp", kind="msp"),
        client=organization(
            session,
            code="acme",
            agreements=[
                {"reference": "msa-1", "status": "active", "start_date": dt.date(2020, 1, 1)}
            ],
        ),
        quebec_client=organization(session, code="qc-client", is_quebec=True),
        psa=system(session, code="psa", kind="psa"),
        billing=system(session, code="billing", kind="billing"),
        siem=system(session, code="siem", kind="log_store"),
    )


def grant(session: Session, user: Any, code: str) -> None:
    """The client ``code`` granted to ``user`` (a technician's vault and requests)."""
    client = session.scalar(select(Organization).where(Organization.code == code))
    assert client is not None, code
    session.add(VaultGrant(user_id=user.id, organization_id=client.id, granted_by="test"))
    session.flush()

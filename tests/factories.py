"""Keyword-only builders of test data: they add and flush, never commit."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from auditor.models import DataSubject, Organization, System, User
from auditor.schemas.inventory import OrganizationIn, SystemIn
from auditor.schemas.subjects import SubjectIn
from auditor.schemas.users import TokenIn, UserIn
from auditor.services import datamap, subjects, users
from auditor.services import inventory as inventory_service
from auditor.services.context import Actor

ACTOR = Actor(name="test:factory", role="admin")
_counter = itertools.count(1)


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
    code = code or f"org-{next(_counter)}"
    data = OrganizationIn(
        code=code, name=code.title(), kind=kind, is_quebec=is_quebec, agreements=agreements or []
    )  # type: ignore[arg-type]
    return inventory_service.create(
        session, inventory_service.KINDS["organizations"], data, actor=ACTOR
    )


def system(session: Session, *, code: str, kind: str = "psa") -> System:
    data = SystemIn(code=code, name=code.upper(), kind=kind)  # type: ignore[arg-type]
    return inventory_service.create(session, inventory_service.KINDS["systems"], data, actor=ACTOR)


def inventory(session: Session) -> Inventory:
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


def subject(
    session: Session,
    *,
    email: str | None = None,
    name: str = "Pat Example",
    organization: str | None = None,
    phone: str | None = None,
) -> DataSubject:
    identifiers = [{"kind": "email", "value": email or f"person{next(_counter)}@example.com"}]
    if phone:
        identifiers.append({"kind": "phone", "value": phone})
    data = SubjectIn(
        display_name=name, kind="client_staff", organization=organization, identifiers=identifiers
    )  # type: ignore[arg-type]
    return subjects.create(session, data, actor=ACTOR)


def user(session: Session, *, role: str = "admin", email: str | None = None) -> User:
    email = email or f"{role}{next(_counter)}@msp.example"
    return users.create_user(
        session,
        UserIn(email=email, name=role.title(), role=role),  # type: ignore[arg-type]
        actor=ACTOR,
    )


def token(
    session: Session,
    *,
    role: str = "admin",
    user_obj: User | None = None,
    days: int = 30,
    now: dt.datetime | None = None,
) -> str:
    owner = user_obj or user(session, role=role)
    secret, _ = users.create_token(
        session,
        owner.id,
        TokenIn(name="test", expires_in_days=days),
        actor=ACTOR,
        default_ttl_days=90,
        now=now,
    )
    return secret


def record(
    *,
    external_id: str | None = None,
    system: str = "psa",
    category: str = "ticket_history",
    client: str = "acme",
    email: str | None = "pat@example.com",
    content: dict[str, Any] | None = None,
    **dates: Any,
) -> dict[str, Any]:
    """A record as the API and the importers take it (a dict, not yet validated)."""
    data: dict[str, Any] = {
        "system": system,
        "external_id": external_id or f"T-{next(_counter)}",
        "category": category,
        "client": client,
        "subjects": [{"kind": "email", "value": email}] if email else [],
        "created_at": "2025-01-15T10:00:00Z",
        "content": content if content is not None else {"summary": "Printer offline"},
    }
    data.update(dates)
    return data

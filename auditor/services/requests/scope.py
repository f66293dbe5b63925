"""Which privacy requests an actor may see: every one, or a technician's clients only.

Admins, officers and auditors see every request. A technician sees the requests of the clients
they are granted (``vault_grant``: the clients they work for), found through the subject's client
or the forwarding client; a request tied to no client is the officers' alone. The API, the pages
and the CSV all ask here.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from auditor.models import DataSubject, PrivacyRequest, VaultGrant
from auditor.permissions import Role
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import ClientAccessDenied
from auditor.services.requests.common import OBJECT_TYPE, organization_id


def visible_clients(session: Session, actor: Actor) -> set[int] | None:
    """The clients whose requests ``actor`` may see: None for every request."""
    if actor.role != Role.TECHNICIAN.value:
        return None
    if actor.user_id is None:
        return set()
    rows = session.scalars(
        select(VaultGrant.organization_id).where(VaultGrant.user_id == actor.user_id)
    )
    return set(rows)


def visible_condition(clients: set[int]) -> ColumnElement[bool]:
    """SQL: the request's subject's client or its forwarding client is one of ``clients``."""
    if not clients:
        return false()
    of_clients = select(DataSubject.id).where(DataSubject.organization_id.in_(clients))
    return or_(
        PrivacyRequest.forwarded_by_id.in_(clients), PrivacyRequest.subject_id.in_(of_clients)
    )


def require_visible(session: Session, request: PrivacyRequest, actor: Actor) -> None:
    """Refuse (403, audited) a request of a client the technician was not granted."""
    visible = visible_clients(session, actor)
    if visible is None:
        return
    clients = {
        request.subject.organization_id if request.subject is not None else None,
        request.forwarded_by_id,
    } - {None}
    if clients & visible:
        return
    audit.record_refusal(
        session,
        actor=actor,
        action="access.denied",
        object_type=OBJECT_TYPE,
        object_id=request.reference,
        organization_id=organization_id(request),
        details={"reason": "client not granted"},
    )
    raise ClientAccessDenied("You have no access to this client's requests.")

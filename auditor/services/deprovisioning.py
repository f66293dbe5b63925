"""Deprovisioning (R36): a deactivated account loses its tokens, its web sessions and its vault
grants in the same transaction, and a ``deprovisioning`` row says when each went, so the time
from deactivation to access removed is evidence rather than an assumption."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import ApiToken, Organization, User, VaultGrant
from auditor.models.access import Deprovisioning
from auditor.services import audit, web_sessions
from auditor.services.context import Actor


def deprovision(
    session: Session,
    user: User,
    *,
    actor: Actor,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Deprovisioning:
    """Deactivate ``user`` (the caller checked it may be) and remove every access it had."""
    moment = now or utcnow()
    user.is_active = False
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    tokens = int(getattr(revoked, "rowcount", 0) or 0)
    sessions = web_sessions.end_all(session, user.id)
    clients = list(
        session.scalars(
            select(Organization.code)
            .join(VaultGrant, VaultGrant.organization_id == Organization.id)
            .where(VaultGrant.user_id == user.id)
            .order_by(Organization.code)
        )
    )
    session.execute(delete(VaultGrant).where(VaultGrant.user_id == user.id))
    row = Deprovisioning(
        user_id=user.id,
        role=user.role,
        deactivated_at=moment,
        deactivated_by=actor.name,
        reason=reason,
        tokens_revoked=tokens,
        tokens_revoked_at=moment if tokens else None,
        sessions_ended=sessions,
        grants_removed=clients,
        grants_removed_at=moment if clients else None,
        completed_at=moment,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.deprovision",
        object_type="user",
        object_id=user.id,
        details={
            "deprovisioning": row.id,
            "role": user.role,
            "tokens_revoked": tokens,
            "sessions_ended": sessions,
            "grants_removed": clients,
        },
        now=moment,
    )
    return row


def row_out(row: Deprovisioning, user: User | None) -> dict[str, Any]:
    """One deprovisioning as the API, the command line and the evidence bundle give it."""
    return {
        "id": row.id,
        "user_id": row.user_id,
        "name": user.name if user else None,
        "role": row.role,
        "deactivated_at": audit.format_time(row.deactivated_at),
        "deactivated_by": row.deactivated_by,
        "tokens_revoked": row.tokens_revoked,
        "tokens_revoked_at": audit.format_time_or_none(row.tokens_revoked_at),
        "sessions_ended": row.sessions_ended,
        "grants_removed": row.grants_removed,
        "grants_removed_at": audit.format_time_or_none(row.grants_removed_at),
        "completed_at": audit.format_time(row.completed_at),
        "seconds_to_complete": (row.completed_at - row.deactivated_at).total_seconds(),
    }


def list_rows(
    session: Session, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The deprovisionings in [start, end), oldest first."""
    query = select(Deprovisioning, User).join(User, User.id == Deprovisioning.user_id)
    if start is not None:
        query = query.where(Deprovisioning.deactivated_at >= start)
    if end is not None:
        query = query.where(Deprovisioning.deactivated_at < end)
    rows = session.execute(query.order_by(Deprovisioning.id))
    return [row_out(row, user) for row, user in rows]

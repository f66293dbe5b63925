"""Vault reports: the secrets a user revealed that have not changed since (off-boarding)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import AuditEvent, Organization, Secret, User
from auditor.schemas.vault import RevealedUnchanged
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import NotFound


def revealed_unchanged(session: Session, user_id: int, *, actor: Actor) -> list[RevealedUnchanged]:
    """Secrets ``user_id`` revealed whose value has not changed since their last reveal: what to
    rotate when a technician leaves. Read from the audit trail (``vault.reveal`` events), so
    reveals stay counted even after the user's grants are gone. The report is itself audited."""
    if session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} does not exist.")
    reveals = (
        select(
            AuditEvent.object_id.label("ref"),
            func.max(AuditEvent.occurred_at).label("last_reveal"),
        )
        .where(
            AuditEvent.action == "vault.reveal",
            AuditEvent.outcome == "success",
            AuditEvent.actor == f"user:{user_id}",
        )
        .group_by(AuditEvent.object_id)
        .subquery()
    )
    rows = session.execute(
        select(Secret, Organization.code, reveals.c.last_reveal)
        .join(reveals, reveals.c.ref == Secret.ref)
        .join(Organization, Organization.id == Secret.organization_id)
        .where(Secret.value_changed_at <= reveals.c.last_reveal)
        .order_by(Organization.code, Secret.name, Secret.id)
    ).all()
    report = [
        RevealedUnchanged(
            ref=secret.ref,
            client=code,
            name=secret.name,
            kind=secret.kind,
            last_revealed_by_user_at=last_reveal,
            value_changed_at=secret.value_changed_at,
        )
        for secret, code, last_reveal in rows
    ]
    audit.record(
        session,
        actor=actor,
        action="vault.report",
        object_type="user",
        object_id=user_id,
        details={"report": "revealed_unchanged", "rows": len(report)},
    )
    return report

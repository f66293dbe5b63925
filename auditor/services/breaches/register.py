"""Recording breaches (R24) and keeping their retention date (R25).

Every breach of security safeguards is recorded, whether or not it poses a real risk of
significant harm. Its audit events name the breach by reference and list what changed by field
name, never the free text (circumstances and notes may name people).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Breach, DataCategory, Organization
from auditor.schemas.breaches import BreachFields, BreachIn
from auditor.schemas.json_input import ROW_ID_MAX
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from retention import add_months

KEEP_MONTHS = 24  # R25: at least 24 months after the breach was determined
KEEP_MONTHS_QUEBEC = 60  # R25, R27: 5 years when the Québec flag is set


def retain_until(breach: Breach) -> dt.date | None:
    """R25: the first day the breach record may be disposed of (None until determined)."""
    if breach.determined_at is None:
        return None
    months = KEEP_MONTHS_QUEBEC if breach.quebec else KEEP_MONTHS
    return add_months(breach.determined_at.astimezone(dt.UTC).date(), months)


def get(session: Session, reference: str) -> Breach:
    breach = session.scalar(select(Breach).where(Breach.reference == reference.strip().upper()))
    if breach is None:
        raise NotFound("No breach with that reference.")
    return breach


def _next_reference(session: Session, year: int) -> str:
    prefix = f"BR-{year}-"
    taken = session.scalars(select(Breach.reference).where(Breach.reference.like(prefix + "%")))
    numbers = [int(ref[len(prefix) :]) for ref in taken if ref[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"


def _client(session: Session, code: str | None) -> Organization | None:
    if code is None:
        return None
    found = session.scalar(select(Organization).where(Organization.code == code))
    if found is None or found.kind != "client":
        raise ValidationFailed(
            "The client of the breach does not exist.",
            [FieldError("client", "no client organization with that code")],
        )
    return found


def _check_categories(session: Session, codes: list[str]) -> list[str]:
    wanted = sorted(set(codes))
    if not wanted:
        return []
    known = set(session.scalars(select(DataCategory.code).where(DataCategory.code.in_(wanted))))
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise ValidationFailed(
            "A data category of the breach does not exist.",
            [FieldError("categories", f"no data category {code!r}") for code in unknown],
        )
    return wanted


def _check_times(breach: Breach, now: dt.datetime) -> None:
    errors = []
    if breach.discovered_at > now:
        errors.append(FieldError("discovered_at", "must not be in the future"))
    if breach.determined_at is not None and breach.determined_at > now:
        errors.append(FieldError("determined_at", "must not be in the future"))
    if breach.occurred_from > now.astimezone(dt.UTC).date():
        errors.append(FieldError("occurred_from", "must not be in the future"))
    if breach.occurred_from > breach.discovered_at.astimezone(dt.UTC).date():
        errors.append(FieldError("occurred_from", "must not be after discovered_at"))
    if breach.occurred_to is not None and breach.occurred_to < breach.occurred_from:
        errors.append(FieldError("occurred_to", "must not be before occurred_from"))
    if breach.determined_at is not None and breach.determined_at < breach.discovered_at:
        errors.append(FieldError("determined_at", "must not be before discovered_at"))
    if errors:
        raise ValidationFailed("The dates of the breach are not consistent.", errors)


def record(
    session: Session, data: BreachIn, *, actor: Actor, now: dt.datetime | None = None
) -> Breach:
    """Record a breach (R24); Québec rules apply when asked or when its client is flagged."""
    moment = now or utcnow()
    client = _client(session, data.client)
    fields = data.model_dump(exclude={"client", "quebec"})
    fields["categories"] = _check_categories(session, data.categories)
    quebec = data.quebec if data.quebec is not None else bool(client and client.is_quebec)
    breach = Breach(
        **fields,
        reference=_next_reference(session, moment.astimezone(dt.UTC).year),
        organization_id=client.id if client else None,
        quebec=quebec,
        recorded_by=actor.name,
        recorded_at=moment,
        updated_at=moment,
    )
    _check_times(breach, moment)
    breach.retain_until = retain_until(breach)
    session.add(breach)
    session.flush()
    audit_breach(session, breach, actor, "breach.record", moment, determined=breach.determined_at)
    return breach


def update(
    session: Session,
    reference: str,
    changes: dict[str, Any],
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Breach:
    """Apply the fields sent (a PATCH); the audit event lists the names of those that changed."""
    moment = now or utcnow()
    breach = get(session, reference)
    unknown = sorted(set(changes) - set(BreachFields.model_fields))
    if unknown:
        errors = [FieldError(f, "not a breach field") for f in unknown]
        raise ValidationFailed("Unknown fields.", errors)
    required = {"title", "occurred_from", "discovered_at", "circumstances", "information"}
    cleared = sorted(f for f in required & set(changes) if changes[f] is None)
    if cleared:
        raise ValidationFailed(
            "A required field cannot be emptied.", [FieldError(f, "is required") for f in cleared]
        )
    if "categories" in changes:
        changes["categories"] = _check_categories(session, changes["categories"] or [])
    changed = sorted(f for f, value in changes.items() if getattr(breach, f) != value)
    if not changed:
        return breach
    for field in changed:
        setattr(breach, field, changes[field])
    _check_times(breach, moment)
    breach.retain_until = retain_until(breach)
    breach.updated_at = moment
    audit_breach(session, breach, actor, "breach.update", moment, fields=changed)
    return breach


def audit_breach(
    session: Session,
    breach: Breach,
    actor: Actor,
    action: str,
    moment: dt.datetime,
    **details: Any,
) -> None:
    plain = {
        k: audit.format_time(v) if isinstance(v, dt.datetime) else v for k, v in details.items()
    }
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="breach",
        object_id=breach.reference,
        organization_id=breach.organization_id,
        details={
            "quebec": breach.quebec,
            "retain_until": breach.retain_until.isoformat() if breach.retain_until else None,
            **plain,
        },
        now=moment,
    )


def list_breaches(
    session: Session,
    *,
    client: str | None = None,
    rrosh: str | None = None,
    quebec: bool | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[Breach]:
    """A page of breaches in id order (oldest first), filtered by client, conclusion, Québec."""
    query = select(Breach).order_by(Breach.id).limit(limit)
    if client is not None:
        org = session.scalar(select(Organization.id).where(Organization.code == client))
        query = query.where(Breach.organization_id == (org if org is not None else -1))
    if rrosh is not None:
        query = query.where(
            Breach.rrosh.is_(None) if rrosh == "unassessed" else Breach.rrosh.is_(rrosh == "yes")
        )
    if quebec is not None:
        query = query.where(Breach.quebec.is_(quebec))
    if after is not None:
        query = query.where(Breach.id > min(after, ROW_ID_MAX))
    return list(session.scalars(query))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Breach)) or 0

"""R25 through the retention purge: a breach record past its ``retain_until`` (24 months after it
was determined, 5 years in Québec) is disposed of with its notices and reports, unless a hold
keeps it, and leaves a disposition line like any record's (docs/disposition.md).

A hold keeps a breach when it is active and names the breach as its reference, or is placed on
the breach's client. The line's keyed digest covers the register row, the notices and the
reports exactly as they were, so whoever kept a copy can show it was the one disposed of.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from auditor.models import Breach, Hold, Organization
from auditor.services import audit, holds
from auditor.services.breaches import export, notices
from auditor.services.context import Actor
from auditor.services.retention import ledger
from crypto.digest import keyed_digest

DIGEST_DOMAIN = "auditor breach record v1"
CATEGORY = "breach_register"
POST_CHECK = "0 breach, notice or report rows remain"
BASIS = "R25: 24 months after the breach was determined, 5 years when the Québec flag is set"


@dataclasses.dataclass
class Disposal:
    """What the step did: references disposed of, and those a hold kept (by hold id)."""

    disposed: list[str] = dataclasses.field(default_factory=list)
    held: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {"disposed": len(self.disposed), "held": len(self.held)}


def _holds_on(session: Session, breach: Breach, code: str | None, as_of: dt.date) -> list[int]:
    names = [Hold.reference == breach.reference]
    if code is not None:
        names.append(and_(Hold.scope == "client", Hold.scope_value == code))
    active = holds.status_clause("active", as_of)
    return list(session.scalars(select(Hold.id).where(active, or_(*names)).order_by(Hold.id)))


def due(session: Session, as_of: dt.date) -> list[tuple[Breach, str | None]]:
    """The breaches whose retention ends on or before ``as_of``, with their client's code."""
    query = (
        select(Breach, Organization.code)
        .outerjoin(Organization, Organization.id == Breach.organization_id)
        .where(Breach.retain_until.is_not(None), Breach.retain_until <= as_of)
        .order_by(Breach.id)
    )
    return [(breach, code) for breach, code in session.execute(query)]


def plan(session: Session, as_of: dt.date) -> list[dict[str, Any]]:
    """The dry run: each breach due on ``as_of``, ``due`` or ``held`` (with the holds' ids)."""
    found = []
    for breach, code in due(session, as_of):
        holding = _holds_on(session, breach, code, as_of)
        found.append(
            {
                "reference": breach.reference,
                "client": code,
                "retain_until": breach.retain_until.isoformat() if breach.retain_until else None,
                "status": "held" if holding else "due",
                "holds": holding,
            }
        )
    return found


def digest(session: Session, breach: Breach, code: str | None, key: bytes) -> bytes:
    """The keyed digest of everything disposed of for ``breach``."""
    content = {
        "register": export.general_row(session, breach, code),
        "notices": [
            {c.key: _plain(getattr(n, c.key)) for c in n.__table__.columns}
            for n in notices.notifications_of(session, breach)
        ],
        "reports": [r.content_sha256 for r in notices.reports_of(session, breach)],
    }
    return bytes.fromhex(keyed_digest(key, DIGEST_DOMAIN, audit.canonical_json(content)))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def dispose_due(
    session: Session,
    *,
    as_of: dt.date,
    actor: Actor,
    run_id: int | None,
    digest_key: bytes,
    now: dt.datetime,
    holds_in_force: int | None,
) -> Disposal:
    """Dispose of the breaches due on ``as_of`` (in the caller's transaction)."""
    found = Disposal()
    lines, ids = [], []
    for breach, code in due(session, as_of):
        holding = _holds_on(session, breach, code, as_of)
        if holding:
            found.held[breach.reference] = holding
            continue
        determined = breach.determined_at
        lines.append(
            ledger.Line(
                subject_ref=breach.reference,
                organization_id=breach.organization_id,
                category=CATEGORY,
                digest=digest(session, breach, code, digest_key),
                due_on=breach.retain_until,
                started_on=determined.astimezone(dt.UTC).date() if determined else None,
                evidence={"quebec": breach.quebec},
            )
        )
        ids.append(breach.id)
        found.disposed.append(breach.reference)
    if not ids:
        return found
    session.execute(delete(Breach).where(Breach.id.in_(ids)))  # notices, reports: ON DELETE CASCADE
    header = ledger.Header(
        subject_type="breach",
        rule=None,
        rule_version=None,
        method="delete",
        post_check=POST_CHECK,
        start_field="determined_on",
        evidence=(("basis", BASIS),),
    )
    ledger.write(
        session,
        [(header, lines)],
        actor=actor,
        run_id=run_id,
        now=now,
        holds_in_force=holds_in_force,
        action="retention.dispose",
        details={"breaches": len(lines)},
    )
    return found

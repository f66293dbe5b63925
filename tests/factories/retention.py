"""Keyword-only builders of the retention engine's data: the default rules, review batches,
stand-in vault rows for the credentials rule; a purge run at the fixed clock and its
dispositions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from auditor.models import (
    DispositionReview,
    DispositionReviewItem,
    Handover,
    Organization,
    RetentionRule,
    Secret,
)
from auditor.services.retention import lines as canonical
from auditor.services.retention import purge
from auditor.services.retention import rules as retention_rules
from auditor.services.retention.purge import RunResult
from tests.factories.actors import OFFICER, OPERATOR
from tests.factories.clock import AS_OF, NOW, at
from tests.factories.keys import DIGEST_KEY


def default_rules(
    session: Session,
    *,
    now: dt.datetime | None = NOW,
    ticket_history: dict[str, Any] | None = None,
) -> list[RetentionRule]:
    """Version 1 of every default rule, loaded by the officer at ``now`` (None: the real clock);
    with ``ticket_history``, that rule revised by those changes (version 2)."""
    made = retention_rules.load_default_rules(session, actor=OFFICER, now=now)
    if ticket_history:
        retention_rules.revise_rule(session, "ticket_history", ticket_history, actor=OFFICER)
    session.flush()
    return made


def review(
    session: Session,
    *,
    record_ids: Sequence[int],
    status: str,
    rule: str = "ticket_history",
    version: int = 2,
    **fields: Any,
) -> DispositionReview:
    """A review batch of ``record_ids`` already in ``status`` (``fields``: decided_by,
    extend_until, transfer_reference, ...)."""
    batch = DispositionReview(
        rule=rule, rule_version=version, status=status, created_by="test", **fields
    )
    batch.item_count = len(record_ids)
    session.add(batch)
    session.flush()
    session.add_all(DispositionReviewItem(review_id=batch.id, record_id=i) for i in record_ids)
    session.flush()
    return batch


def sealed_secret(session: Session, *, organization: Organization) -> Secret:
    """A stand-in vault secret of ``organization`` stored on 1 January 2026 (its value is not a
    real envelope: only the credentials rule looks at it)."""
    moment = at(2026, 1, 1)
    secret = Secret(
        organization_id=organization.id,
        name="Router admin",
        kind="password",
        value=b"sealed",
        client_key_version=1,
        created_by="test",
        created_at=moment,
        updated_at=moment,
        value_changed_at=moment,
    )
    session.add(secret)
    session.flush()
    return secret


def handover(
    session: Session,
    *,
    organization: Organization,
    exported_at: dt.datetime = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC),
    acknowledged_at: dt.datetime | None = None,
) -> Handover:
    """The record of a hand-over file of one secret given to ``organization``'s owner."""
    row = Handover(
        organization_id=organization.id,
        recipient="Owner",
        method="usb",
        secrets_count=1,
        file_sha256="0" * 64,
        exported_by="test",
        exported_at=exported_at,
        acknowledged_at=acknowledged_at,
    )
    session.add(row)
    session.flush()
    return row


def run_purge(session: Session, **options: Any) -> RunResult:
    """The purge as the operator runs it on 22 November 2026 (``options`` change it)."""
    defaults = {"as_of": AS_OF, "actor": OPERATOR, "digest_key": DIGEST_KEY, "now": lambda: NOW}
    return purge.execute_purge(session, **(defaults | options))


def dispositions(session: Session, **where: Any) -> list[SimpleNamespace]:
    """The dispositions whose canonical lines match ``where`` (field=value), in id order, each
    with its line's fields as attributes, and ``audit_seq`` (its batch's) and ``line``."""
    found = []
    for batch, lines in canonical.lines_of(session):
        for line in lines:
            if all(line.get(k) == v for k, v in where.items()):
                found.append(SimpleNamespace(**line, audit_seq=batch["audit_seq"], line=line))
    return found

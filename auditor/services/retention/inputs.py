"""What the retention evaluation reads besides the records: clients' terminations, each record's
subjects, subjects' consent withdrawals and records' review batches (one query per batch each)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import (
    Agreement,
    Consent,
    DispositionReview,
    DispositionReviewItem,
    Purpose,
    record_subject,
)
from auditor.services.retention import bulk

MARKETING_PURPOSE = "marketing"


@dataclasses.dataclass(frozen=True, slots=True)
class Review:
    """The latest review batch holding a record for its governing rule version."""

    id: int
    status: str  # open, approved, extended, rejected
    decided_by: str | None
    extend_until: dt.date | None
    transfer_reference: str | None


def terminations(session: Session) -> dict[int, dt.date]:
    """Clients with no active agreement and a terminated one: the latest termination date."""
    rows = session.execute(
        select(Agreement.organization_id, Agreement.status, Agreement.termination_date)
    )
    active: set[int] = set()
    ended: dict[int, dt.date] = {}
    for org_id, status, termination in rows:
        if status == "active":
            active.add(org_id)
        elif status == "terminated" and termination is not None:
            ended[org_id] = max(termination, ended.get(org_id, termination))
    return {org_id: day for org_id, day in ended.items() if org_id not in active}


def subjects_of(session: Session, record_ids: list[int]) -> dict[int, set[int]]:
    """The ids of the people each record names (records naming nobody are absent)."""
    found: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(record_subject.c.record_id, record_subject.c.subject_id).where(
            bulk.id_in(session, record_subject.c.record_id, record_ids)
        )
    )
    for record_id, subject_id in rows:
        found[record_id].add(subject_id)
    return found


def withdrawal_days(session: Session, subject_ids: set[int]) -> dict[int, dt.date]:
    """Subjects whose latest marketing consent is withdrawn: the withdrawal day."""
    if not subject_ids:
        return {}
    rows = session.execute(
        select(Consent.subject_id, Consent.withdrawn_at)
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .where(
            Purpose.code == MARKETING_PURPOSE,
            bulk.id_in(session, Consent.subject_id, sorted(subject_ids)),
        )
        .order_by(Consent.subject_id, Consent.given_at, Consent.id)
    )
    latest: dict[int, dt.datetime | None] = {}
    for subject_id, withdrawn in rows:
        latest[subject_id] = withdrawn
    return {
        subject_id: withdrawn.astimezone(dt.UTC).date()
        for subject_id, withdrawn in latest.items()
        if withdrawn is not None
    }


def consent_withdrawn_on(subjects: set[int], withdrawals: dict[int, dt.date]) -> dt.date | None:
    """Recorded once every subject of the record has withdrawn, on the latest withdrawal."""
    days = [withdrawals.get(subject) for subject in subjects]
    if not days or any(day is None for day in days):
        return None
    return max(day for day in days if day is not None)


def review_batches(session: Session, record_ids: list[int]) -> dict[tuple[int, str, int], Review]:
    """The latest review batch of each record, per rule code and version."""
    rows = session.execute(
        select(
            DispositionReviewItem.record_id,
            DispositionReview.rule,
            DispositionReview.rule_version,
            DispositionReview.id,
            DispositionReview.status,
            DispositionReview.decided_by,
            DispositionReview.extend_until,
            DispositionReview.transfer_reference,
        )
        .join(DispositionReview, DispositionReview.id == DispositionReviewItem.review_id)
        .where(bulk.id_in(session, DispositionReviewItem.record_id, record_ids))
        .order_by(DispositionReview.id)
    )
    found: dict[tuple[int, str, int], Review] = {}
    for record_id, rule, version, review_id, status, decided_by, until, transfer in rows:
        found[(record_id, rule, version)] = Review(review_id, status, decided_by, until, transfer)
    return found

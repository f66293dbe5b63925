"""Disposition review as a pure decision: what a review batch's state makes of a record that is
due under a rule requiring review, and the transfer-then-delete rule.

A record whose rule requires review is disposed of only once an officer has approved its batch.
Until then it is blocked, "pending review"; a rejected batch keeps it ("review rejected"); an
extension keeps it until the new date, after which it needs a new decision. A record whose rule
says ``transfer_then_delete`` may go only once the transfer is recorded on its review.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from retention.rules import Action
from retention.schedule import Outcome

PENDING_REVIEW = "pending review"
REVIEW_REJECTED = "review rejected"
TRANSFER_NOT_RECORDED = "transfer not recorded"


class ReviewStatus(enum.StrEnum):
    """The state of a disposition review batch."""

    OPEN = "open"
    APPROVED = "approved"
    EXTENDED = "extended"
    REJECTED = "rejected"


@dataclasses.dataclass(frozen=True, slots=True)
class ReviewVerdict:
    """What review makes of a due record: its outcome, why it is blocked, the date it is kept
    until (an extension), and whether the batch still stands (an ended extension does not)."""

    outcome: Outcome
    reason: str | None = None
    due_on: dt.date | None = None
    batch_stands: bool = True


def review_verdict(
    status: ReviewStatus | str | None, extend_until: dt.date | None, as_of: dt.date
) -> ReviewVerdict:
    """The verdict on ``as_of`` for a due record whose latest batch is in ``status`` (None: in
    no batch yet). ``extend_until`` is the extended batch's new date."""
    if status is None or status == ReviewStatus.OPEN:
        return ReviewVerdict(Outcome.BLOCKED, PENDING_REVIEW)
    if status == ReviewStatus.APPROVED:
        return ReviewVerdict(Outcome.DUE)
    if status == ReviewStatus.REJECTED:
        return ReviewVerdict(Outcome.BLOCKED, REVIEW_REJECTED)
    if status != ReviewStatus.EXTENDED or extend_until is None:
        raise ValueError(f"unknown review status {status!r}")
    if extend_until > as_of:
        return ReviewVerdict(Outcome.NOT_YET_DUE, due_on=extend_until)
    # the extension ran out: the record needs a new decision
    return ReviewVerdict(Outcome.BLOCKED, PENDING_REVIEW, batch_stands=False)


def needs_batch(outcome: Outcome, reason: str | None, status: ReviewStatus | str | None) -> bool:
    """True for a record waiting for review that is in no open batch (an ended extension counts
    as none): the next review batch must take it."""
    if outcome is not Outcome.BLOCKED or reason != PENDING_REVIEW:
        return False
    return status != ReviewStatus.OPEN


def transfer_blocks(action: Action | str, transfer_reference: str | None) -> str | None:
    """None if a due record may go now, else why not: ``transfer_then_delete`` needs the
    transfer recorded first."""
    if action == Action.TRANSFER_THEN_DELETE and not transfer_reference:
        return TRANSFER_NOT_RECORDED
    return None

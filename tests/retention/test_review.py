"""Review verdicts as pure decisions: what a batch's state makes of a due record whose rule needs
review, when such a record needs a new batch, and what transfer-then-delete waits for."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import retention
from retention import (
    PENDING_REVIEW,
    REVIEW_REJECTED,
    TRANSFER_NOT_RECORDED,
    Action,
    Outcome,
    ReviewStatus,
    ReviewVerdict,
    needs_batch,
    review_verdict,
    transfer_blocks,
)

AS_OF = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, ReviewVerdict(Outcome.BLOCKED, PENDING_REVIEW)),  # in no batch yet
        (ReviewStatus.OPEN, ReviewVerdict(Outcome.BLOCKED, PENDING_REVIEW)),
        ("open", ReviewVerdict(Outcome.BLOCKED, PENDING_REVIEW)),  # as the database stores it
        (ReviewStatus.APPROVED, ReviewVerdict(Outcome.DUE)),
        ("approved", ReviewVerdict(Outcome.DUE)),
        (ReviewStatus.REJECTED, ReviewVerdict(Outcome.BLOCKED, REVIEW_REJECTED)),
        ("rejected", ReviewVerdict(Outcome.BLOCKED, REVIEW_REJECTED)),
    ],
)
def test_review_verdict_of_an_undecided_approved_or_rejected_batch(status, expected):
    verdict = review_verdict(status, None, AS_OF)
    assert verdict == expected
    assert verdict.due_on is None and verdict.batch_stands is True


@pytest.mark.parametrize("status", [ReviewStatus.EXTENDED, "extended"])
def test_review_verdict_keeps_an_extended_record_until_its_new_date(status):
    until = AS_OF + dt.timedelta(days=1)
    assert review_verdict(status, until, AS_OF) == ReviewVerdict(
        Outcome.NOT_YET_DUE, reason=None, due_on=until, batch_stands=True
    )


@pytest.mark.parametrize("until", [AS_OF, AS_OF - dt.timedelta(days=30)])
def test_review_verdict_of_a_run_out_extension_asks_for_a_new_decision(until):
    """On the new date itself the extension is over: the record waits for a new batch."""
    assert review_verdict(ReviewStatus.EXTENDED, until, AS_OF) == ReviewVerdict(
        Outcome.BLOCKED, PENDING_REVIEW, due_on=None, batch_stands=False
    )


@pytest.mark.parametrize(
    ("status", "extend_until"),
    [
        ("cancelled", None),  # no such state
        ("cancelled", AS_OF),
        (ReviewStatus.EXTENDED, None),  # an extension without its date
        ("APPROVED", None),  # states are lower case
    ],
)
def test_review_verdict_refuses_an_unknown_status_or_an_extension_without_a_date(
    status, extend_until
):
    with pytest.raises(ValueError, match=r"^unknown review status ") as caught:
        review_verdict(status, extend_until, AS_OF)
    assert repr(status) in str(caught.value)


def test_review_verdict_is_a_frozen_value():
    verdict = review_verdict(ReviewStatus.APPROVED, None, AS_OF)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.outcome = Outcome.BLOCKED  # type: ignore[misc]
    assert ReviewVerdict(Outcome.DUE) == verdict and hash(verdict) == hash(
        ReviewVerdict(Outcome.DUE)
    )


@pytest.mark.parametrize(
    ("outcome", "reason", "status", "needed"),
    [
        # waiting for review and in no open batch: the next batch takes it
        (Outcome.BLOCKED, PENDING_REVIEW, None, True),
        (Outcome.BLOCKED, PENDING_REVIEW, ReviewStatus.EXTENDED, True),  # the extension ran out
        (Outcome.BLOCKED, PENDING_REVIEW, "extended", True),
        # already in an open batch: batching it again would count it twice
        (Outcome.BLOCKED, PENDING_REVIEW, ReviewStatus.OPEN, False),
        (Outcome.BLOCKED, PENDING_REVIEW, "open", False),
        # blocked for another reason, or not blocked at all
        (Outcome.BLOCKED, REVIEW_REJECTED, ReviewStatus.REJECTED, False),
        (Outcome.BLOCKED, "hold", None, False),
        (Outcome.BLOCKED, None, None, False),
        (Outcome.DUE, None, ReviewStatus.APPROVED, False),
        (Outcome.DUE, PENDING_REVIEW, None, False),
        (Outcome.NOT_YET_DUE, None, ReviewStatus.EXTENDED, False),
        (Outcome.NOT_COMPUTABLE, PENDING_REVIEW, None, False),
    ],
)
def test_needs_batch_only_for_a_record_waiting_for_review_outside_an_open_batch(
    outcome, reason, status, needed
):
    assert needs_batch(outcome, reason, status) is needed


def test_needs_batch_follows_the_verdict_of_each_batch_state():
    """The purge asks review_verdict, then needs_batch with the same status: the two agree."""
    until = AS_OF + dt.timedelta(days=10)
    cases = {
        None: (None, True),
        ReviewStatus.OPEN: (None, False),
        ReviewStatus.APPROVED: (None, False),
        ReviewStatus.REJECTED: (None, False),
        ReviewStatus.EXTENDED: (until, False),  # still extended
    }
    for status, (extend_until, needed) in cases.items():
        verdict = review_verdict(status, extend_until, AS_OF)
        assert needs_batch(verdict.outcome, verdict.reason, status) is needed, status
    ran_out = review_verdict(ReviewStatus.EXTENDED, AS_OF, AS_OF)
    assert needs_batch(ran_out.outcome, ran_out.reason, ReviewStatus.EXTENDED) is True


@pytest.mark.parametrize(
    ("action", "reference", "blocks"),
    [
        (Action.TRANSFER_THEN_DELETE, None, TRANSFER_NOT_RECORDED),
        (Action.TRANSFER_THEN_DELETE, "", TRANSFER_NOT_RECORDED),  # blank is not recorded
        ("transfer_then_delete", None, TRANSFER_NOT_RECORDED),
        (Action.TRANSFER_THEN_DELETE, "Archives box 12", None),
        ("transfer_then_delete", "Archives box 12", None),
        (Action.DELETE, None, None),  # other actions need no transfer
        (Action.ANONYMISE, None, None),
        (Action.CRYPTO_SHRED, None, None),
        ("delete", "Archives box 12", None),
    ],
)
def test_transfer_blocks_until_the_transfer_is_recorded(action, reference, blocks):
    assert transfer_blocks(action, reference) == blocks


def test_review_status_values_are_the_stored_strings():
    assert [s.value for s in ReviewStatus] == ["open", "approved", "extended", "rejected"]
    assert ReviewStatus("approved") is ReviewStatus.APPROVED and ReviewStatus.OPEN == "open"
    with pytest.raises(ValueError):
        ReviewStatus("cancelled")


def test_the_package_exports_the_review_decisions():
    exported = {
        "PENDING_REVIEW",
        "REVIEW_REJECTED",
        "TRANSFER_NOT_RECORDED",
        "ReviewStatus",
        "ReviewVerdict",
        "needs_batch",
        "review_verdict",
        "transfer_blocks",
    }
    assert exported <= set(retention.__all__)
    assert (PENDING_REVIEW, REVIEW_REJECTED, TRANSFER_NOT_RECORDED) == (
        "pending review",
        "review rejected",
        "transfer not recorded",
    )

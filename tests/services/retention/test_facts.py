"""The evaluator's fast lane: records no hold and no record rule name are decided without
``decide()``, and give the same verdicts; anything a hold names still goes through ``decide()``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import DataSubject, Record, SubjectIdentifier
from auditor.schemas.holds import HoldIn
from auditor.services import holds
from auditor.services.retention import facts
from retention import Outcome
from tests.factories import AS_OF, NOW, OFFICER, ingest, old_ticket, records_around_cutoffs


def verdicts(session, *, lanes=True):
    evaluator = facts.Evaluator(session, as_of=AS_OF, executing_on=AS_OF)
    if not lanes:
        evaluator.lanes = {}
    rows = facts.read_batch(session, after=0, limit=1000)
    return {v.row.id: v for v in evaluator.evaluate(rows)}


def test_lane_verdicts_equal_decide_verdicts(session, rules):
    # tickets open and closed, logs of two sources, invoices, dates around every cutoff
    ingest(
        session,
        *records_around_cutoffs(
            offsets=range(-2, 3), log_systems=("siem", "psa"), open_tickets=True
        ),
    )
    fast, slow = verdicts(session), verdicts(session, lanes=False)
    assert fast == slow
    statuses = {v.status for v in fast.values()}
    assert {Outcome.DUE, Outcome.NOT_YET_DUE} <= statuses
    assert Outcome.NOT_COMPUTABLE in statuses  # the open tickets


def _subject_ref(session, email):
    return session.scalar(
        select(DataSubject.ref).join(SubjectIdentifier).where(SubjectIdentifier.value == email)
    )


@pytest.mark.parametrize("scope", ["client", "system", "category", "record", "subject"])
def test_a_record_any_hold_names_is_blocked_not_taken_by_the_lane(session, rules, scope):
    ids = ingest(
        session,
        old_ticket(external_id="T-1"),
        old_ticket(external_id="T-2", email="other@example.com"),
    )
    value = {
        "client": "acme",
        "system": "psa",
        "category": "ticket_history",
        "record": str(ids["T-1"]),
        "subject": _subject_ref(session, "pat@example.com"),
    }[scope]
    hold = holds.place(
        session, HoldIn(scope=scope, value=value, reason="Litigation"), actor=OFFICER, now=NOW
    )
    session.commit()
    found = verdicts(session)
    held = found[ids["T-1"]]
    assert (held.status, held.reason, held.hold_ids) == ("blocked", "hold", (str(hold.id),))
    other = found[ids["T-2"]]
    if scope in ("client", "system", "category"):
        assert other.status == "blocked"
    else:
        assert other.status == "due" and other.hold_ids == ()


def test_a_released_hold_no_longer_blocks(session, rules):
    ids = ingest(session, old_ticket(external_id="T-1"))
    placed = NOW - dt.timedelta(days=30)
    hold = holds.place(
        session,
        HoldIn(scope="record", value=str(ids["T-1"]), reason="Litigation"),
        actor=OFFICER,
        now=placed,
    )
    holds.release(session, hold.id, reason="Settled", actor=OFFICER, now=placed)
    session.commit()
    verdict = verdicts(session)[ids["T-1"]]
    assert verdict.status == "due" and verdict.due_on == dt.date(2022, 2, 1)
    assert session.get(Record, ids["T-1"]) is not None

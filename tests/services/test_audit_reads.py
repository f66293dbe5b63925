"""The audit of reads (auditor/services/audit_reads.py): recorded at once in a writing unit of
work, queued in a reading one inside ``deferring()`` and recorded afterwards; never silently
dropped."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auditor.db import ReadOnlyViolation, access
from auditor.models import AuditEvent
from auditor.services import audit_reads
from tests.factories import OFFICER


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_a_writing_unit_of_work_records_the_read_at_once(session):
    with access("write"), audit_reads.deferring() as pending:
        audit_reads.record_read(session, actor=OFFICER, action="record.read", object_id=1)
    assert pending == [] and actions(session) == ["record.read"]


def test_a_reading_unit_of_work_queues_it_and_the_caller_records_it_afterwards(session):
    with access("read"), audit_reads.deferring() as pending:
        audit_reads.record_read(
            session, actor=OFFICER, action="record.list", details={"returned": 3}
        )
        assert actions(session) == []  # nothing written while reading
    assert [event["action"] for event in pending] == ["record.list"]
    with access("write"):
        audit_reads.record_all(session, pending)
    (event,) = session.scalars(select(AuditEvent)).all()
    assert (event.actor, event.action, event.details) == ("user:7", "record.list", {"returned": 3})


def test_outside_deferring_a_reading_unit_of_work_cannot_record_a_read(session):
    """Nothing is lost quietly: a read that must be audited and cannot be fails."""
    session.commit()
    with access("read"), pytest.raises(ReadOnlyViolation):
        audit_reads.record_read(session, actor=OFFICER, action="record.read")
    session.rollback()
    assert actions(session) == []

"""Set-at-a-time statements of the purge: one parameter however many ids, rows inserted with
the ids they were given, values stored exactly as SQLAlchemy stores them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from auditor.models import Disposition, DispositionBatch, Record
from auditor.services.retention import bulk
from tests import factories
from tests.factories import NOW, OPERATOR, ingest

PRECISE = NOW.replace(microsecond=123456)  # stored to the microsecond


def test_id_in_takes_more_ids_than_sqlite_takes_parameters(session, inventory):
    ids = ingest(session, factories.record(external_id="T-1"), factories.record(external_id="T-2"))
    wanted = [ids["T-2"], *range(10_000_000, 10_300_000)]  # 300,001 ids, one of them present
    query = select(func.count()).where(bulk.id_in(session, Record.id, wanted))
    assert session.scalar(query) == 1
    assert session.scalar(select(func.count()).where(bulk.id_in(session, Record.id, []))) == 0


def _row(rule, evidence):
    return {
        "created_at": PRECISE,
        "run_id": 7,
        "subject_type": "record",
        "rule": rule,
        "rule_version": 2,
        "review_id": None,
        "approver": None,
        "executor": OPERATOR.name,
        "method": "delete",
        "post_check": "record absent after delete",
        "holds_in_force": 2,
        "evidence": evidence,
        "start_field": "closed_at",
        "audit_seq": 41,
        "first_id": 1,
        "lines": 1,
        "digest": "ab" * 32,
        "line_format": 2,
        "legacy": SHARED,
    }


SHARED = {"holds_checked": [{"holds_in_force": 2}]}  # one object in every row


def test_insert_rows_gives_each_row_its_id_and_stores_the_values(session):
    before = session.scalar(select(func.max(DispositionBatch.id))) or 0
    rows = [_row(f"r{n}", {"as_of": f"2020-01-{n:02d}", "note": "é"}) for n in range(1, 4)]
    ids = bulk.insert_rows(session, DispositionBatch.__table__, rows)
    assert len(ids) == 3 and ids == sorted(ids) and ids[0] > before
    stored = session.scalars(
        select(DispositionBatch).where(DispositionBatch.id.in_(ids)).order_by(DispositionBatch.id)
    ).all()
    assert [d.id for d in stored] == ids
    assert [d.rule for d in stored] == ["r1", "r2", "r3"]
    assert [d.evidence for d in stored] == [r["evidence"] for r in rows]
    assert all(d.legacy == SHARED and d.created_at == PRECISE for d in stored)
    assert (stored[0].rule_version, stored[0].approver, stored[0].audit_seq) == (2, None, 41)
    assert bulk.insert_rows(session, DispositionBatch.__table__, []) == []
    more = bulk.insert_rows(session, DispositionBatch.__table__, [_row("r4", {})])
    assert more[0] > ids[-1]


def test_copy_rows_stores_dates_and_the_keyed_digest_as_bytes(session):
    (first,) = bulk.reserve_ids(session, Disposition.__table__, 1)
    row = {
        "id": first,
        "batch_id": 3,
        "subject_ref": "1187",
        "organization_id": None,
        "category": "ticket_history",
        "digest": bytes(range(32)),
        "due_on": dt.date(2026, 5, 2),
        "started_on": dt.date(2019, 5, 2),
        "evidence": None,
        "legacy": None,
    }
    bulk.copy_rows(session, Disposition.__table__, [row])
    stored = session.get(Disposition, first)
    assert stored.digest == bytes(range(32)) and stored.evidence is None
    assert (stored.due_on, stored.started_on) == (dt.date(2026, 5, 2), dt.date(2019, 5, 2))

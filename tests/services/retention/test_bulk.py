"""Set-at-a-time statements of the purge: one parameter however many ids, rows inserted with
the ids they were given, values stored exactly as SQLAlchemy stores them."""

from __future__ import annotations

from sqlalchemy import func, select

from auditor.models import Disposition, Record
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


def _row(ref, evidence):
    return {
        "created_at": PRECISE,
        "subject_type": "record",
        "subject_ref": ref,
        "organization_id": None,
        "category": "ticket_history",
        "digest": "ab" * 32,
        "rule": "ticket_history",
        "rule_version": 2,
        "trigger_evidence": evidence,
        "holds_checked": SHARED,
        "approver": None,
        "executor": OPERATOR.name,
        "method": "delete",
        "counts": {"records": 1},
        "post_check": "record absent after delete",
        "audit_seq": 41,
        "run_id": 7,
        "review_id": None,
    }


SHARED = [{"holds_in_force": 2, "listed_in_audit_seq": 41}]  # one object in every row


def test_insert_rows_gives_each_row_its_id_and_stores_the_values(session):
    before = session.scalar(select(func.max(Disposition.id))) or 0
    rows = [_row(str(n), {"due_on": f"2020-01-{n:02d}", "note": "é"}) for n in range(1, 4)]
    ids = bulk.insert_rows(session, Disposition.__table__, rows)
    assert len(ids) == 3 and ids == sorted(ids) and ids[0] > before
    stored = session.scalars(
        select(Disposition).where(Disposition.id.in_(ids)).order_by(Disposition.id)
    ).all()
    assert [d.id for d in stored] == ids
    assert [d.subject_ref for d in stored] == ["1", "2", "3"]
    assert [d.trigger_evidence for d in stored] == [r["trigger_evidence"] for r in rows]
    assert all(d.holds_checked == SHARED and d.created_at == PRECISE for d in stored)
    assert (stored[0].rule_version, stored[0].approver, stored[0].audit_seq) == (2, None, 41)
    assert bulk.insert_rows(session, Disposition.__table__, []) == []
    more = bulk.insert_rows(session, Disposition.__table__, [_row("4", {})])
    assert more[0] > ids[-1]

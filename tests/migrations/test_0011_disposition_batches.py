"""Migration 0011 on a database made before it: the wide disposition rows become batches and
narrow lines with nothing lost. The certificate and the R22 report made before the change (their
digests recomputed here with the standard library, from the rows as the old code wrote them)
still verify after it, every old line is rebuilt byte for byte, and the downgrade gives the old
rows back."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from auditor import migrate
from auditor.db import make_engine
from auditor.models import PurgeRun
from auditor.services import retention

BEFORE = "0010"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
FIELDS = (
    "id", "created_at", "subject_type", "subject_ref", "organization_id", "category", "digest",
    "rule", "rule_version", "trigger_evidence", "holds_checked", "approver", "executor",
    "method", "counts", "post_check", "audit_seq", "run_id", "review_id",
)  # fmt: skip
OLD = sa.table(
    "disposition",
    *(
        sa.column(
            name,
            JSON
            if name in ("trigger_evidence", "holds_checked", "counts")
            else sa.DateTime(timezone=True)
            if name == "created_at"
            else None,
        )
        for name in FIELDS
    ),
)
RUN = sa.table(
    "purge_run",
    *(
        sa.column(n, JSON if n in ("counts", "certificate") else None)
        for n in (
            *("id", "as_of", "started_at", "finished_at", "status", "executor", "trigger"),
            *("last_record_id", "counts", "certificate"),
        )
    ),
)
T1 = dt.datetime(2026, 11, 22, 3, 0, 4, 512000, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 11, 22, 3, 0, 5, tzinfo=dt.UTC)  # no fraction: stored without one?
HELD = [{"holds_in_force": 2, "listed_in_audit_seq": 905}]


def old_row(id_: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": id_,
        "created_at": T1,
        "subject_type": "record",
        "subject_ref": str(1000 + id_),
        "organization_id": 3,
        "category": "ticket_history",
        "digest": hashlib.sha256(str(id_).encode()).hexdigest(),
        "rule": "ticket_history",
        "rule_version": 1,
        "trigger_evidence": {
            "as_of": "2026-11-22",
            "closed_at": "2019-05-02",
            "due_on": "2026-05-02",
        },
        "holds_checked": HELD,
        "approver": None,
        "executor": "system:retention.purge",
        "method": "delete",
        "counts": {"records": 1, "subject_links": id_ % 3},
        "post_check": "record absent after delete",
        "audit_seq": 905,
        "run_id": 7,
        "review_id": None,
    }
    return row | values


ROWS = [
    old_row(1),
    old_row(2, trigger_evidence={"as_of": "2026-11-22", "closed_at": "2018-01-09", "due_on": "2025-01-09", "retained_by": "x v2"}),
    old_row(3, subject_type="data_subject", subject_ref="sub_5f1c", counts={"identifiers": 2},
            trigger_evidence={"last_record_id": 2, "reason": "no record, consent or hold"},
            post_check="subject and identifiers absent after delete"),
    old_row(4, rule="billing_records", category="invoices", approver="user:3", review_id=5,
            method="transfer_then_delete", trigger_evidence={"review_id": 5, "transfer_reference": "CRA-2026-14"}),
    old_row(5, created_at=T2, audit_seq=911, subject_type="client_vault", subject_ref="oldco",
            category="credentials", digest=None, rule="credentials", method="crypto_shred",
            holds_checked=[{"holds_in_force": 2}], counts={"secrets": 4, "client_key_versions": 1},
            trigger_evidence={"agreement": "msa-oldco", "handover_id": 2},
            post_check="0 secrets and 0 client keys remain"),
    old_row(7, run_id=8, audit_seq=930, trigger_evidence={"request": "PR-2026-0001", "basis": "deletion request (R12)"}),
]  # fmt: skip


def v1_line(row: dict[str, object]) -> bytes:
    """The old canonical line (docs/disposition.md before 0011), with the standard library."""
    values = dict(row)
    moment = row["created_at"]
    assert isinstance(moment, dt.datetime)
    values["created_at"] = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode() + b"\n"


def digest(rows: list[dict[str, object]]) -> str:
    return hashlib.sha256(b"".join(v1_line(r) for r in rows)).hexdigest()


def old_summary(rows: list[dict[str, object]]) -> dict[str, object]:
    """A certificate's ``dispositions`` as the code before 0011 computed it."""
    groups: dict[tuple[object, ...], int] = {}
    categories: dict[str, int] = {}
    for r in rows:
        key = (r["rule"], r["rule_version"], r["category"], r["subject_type"], r["method"])
        groups[key] = groups.get(key, 0) + 1
        categories[str(r["category"] or "-")] = categories.get(str(r["category"] or "-"), 0) + 1
    first, last = json.loads(v1_line(rows[0])), json.loads(v1_line(rows[-1]))
    return {
        "count": len(rows),
        "digest": digest(rows),
        "digest_algorithm": "sha256 of canonical lines in id order (docs/disposition.md)",
        "first_id": first["id"],
        "last_id": last["id"],
        "first_at": first["created_at"],
        "last_at": last["created_at"],
        "by_rule": [
            dict(zip(("rule", "version", "category", "subject_type", "method"), k, strict=True))
            | {"count": n}
            for k, n in sorted(groups.items(), key=str)
        ],
        "by_category": dict(sorted(categories.items())),
    }


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    """The database at 0010 holding ROWS as the code before 0011 wrote them, and run 7's
    certificate as it stored it."""
    engine = make_engine(url)
    migrate.upgrade(engine, BEFORE)
    run7 = [r for r in ROWS if r["run_id"] == 7]
    certificate = {
        "format": "auditor-disposition-certificate/1",
        "dispositions": old_summary(run7),
        "digest_key_id": "a0411a95e5a81711",
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(OLD), ROWS)
        conn.execute(
            sa.insert(RUN),
            [
                {
                    "id": 7,
                    "as_of": dt.date(2026, 11, 22),
                    "started_at": T1,
                    "finished_at": T2,
                    "status": "completed",
                    "executor": "system:retention.purge",
                    "trigger": "scheduler",
                    "last_record_id": 0,
                    "counts": {},
                    "certificate": certificate,
                }
            ],
        )
    yield engine
    engine.dispose()


def test_old_certificates_and_reports_still_verify_after_the_upgrade(engine):
    migrate.upgrade(engine)
    with Session(engine) as session:
        report = retention.disposition_report(
            session, start=dt.date(2026, 11, 22), end=dt.date(2026, 11, 23)
        )
        # the report of that day lists the same lines, with the digest the old report stated
        assert report["summary"]["digest"] == digest(ROWS)
        assert [r["id"] for r in report["dispositions"]] == [r["id"] for r in ROWS]
        rebuilt = [json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                   for r in report["dispositions"]]  # fmt: skip
        assert [(t + "\n").encode() for t in rebuilt] == [v1_line(r) for r in ROWS]
        # run 7's certificate, recomputed from the converted records, states the same digest
        run = session.get(PurgeRun, 7)
        assert run is not None
        fresh = retention.run_certificate(session, run, digest_key_id="a0411a95e5a81711")
        assert fresh["format"] == "auditor-disposition-certificate/1"
        assert fresh["dispositions"]["digest"] == run.certificate["dispositions"]["digest"]
        assert fresh["dispositions"]["count"] == 5
        check = retention.verify_dispositions(session)
        assert check.ok, check.problems
        # consecutive rows of one transaction and rule share a batch; the others have their own
        assert (check.lines, check.batches, check.legacy_batches) == (6, 5, 5)
        # a record is still found by its id
        (found,) = retention.dispositions_of(session, 1004)
        assert found["approver"] == "user:3" and found["counts"] == {
            "records": 1,
            "subject_links": 1,
        }


def test_new_dispositions_follow_the_converted_ones(engine):
    migrate.upgrade(engine)
    with engine.connect() as conn:
        first = conn.execute(
            sa.text("SELECT id FROM disposition ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    with Session(engine) as session:
        from auditor.models import Disposition
        from auditor.services.retention import bulk

        (next_id,) = bulk.reserve_ids(session, Disposition.__table__, 1)
        assert next_id > first


def test_the_downgrade_gives_the_old_rows_back(engine):
    migrate.upgrade(engine)
    migrate.downgrade(engine, BEFORE)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(OLD).order_by(OLD.c.id))]
    for row in rows:
        row["created_at"] = (
            row["created_at"].replace(tzinfo=dt.UTC)
            if row["created_at"].tzinfo is None
            else row["created_at"]
        )
    assert [v1_line(r) for r in rows] == [v1_line(r) for r in ROWS]

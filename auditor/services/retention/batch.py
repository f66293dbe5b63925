"""Dispose of one batch of due records inside the caller's transaction (R20, R21).

The records are deleted (or anonymised) with ``RETURNING``, so disposition records are written
only for rows this transaction really removed: two purges racing over the same records, or a
purge that was killed and is run again, dispose of each record exactly once. The batch's audit
event and its disposition records are written in the same transaction as the deletes, so a crash
leaves either all of them or none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, delete, exists, func, literal, select, update
from sqlalchemy.orm import Session

from auditor.models import (
    Consent,
    DataSubject,
    Record,
    SubjectIdentifier,
    record_subject,
)
from auditor.services.context import Actor
from auditor.services.retention import bulk, facts, ledger
from crypto.digest import KeyedDigester, keyed_digest
from retention import BillingRule, Trigger

RECORD_DIGEST = "auditor.record.v1"
SUBJECT_DIGEST = "auditor.subject.v1"
ANONYMISED_CONTENT: dict[str, Any] = {"anonymised": True}
ANONYMISED_DIGEST = hashlib.sha256(b'{"anonymised":true}').hexdigest()
# the method a disposition row states, per rule action (crypto_shred records are deleted: their
# content is not encrypted under a key of their own)
METHODS = {
    "delete": "delete",
    "crypto_shred": "delete",
    "transfer_then_delete": "transfer_then_delete",
    "anonymise": "anonymise",
}
POST_CHECKS = {
    "delete": "record absent after delete",
    "anonymise": "content replaced and subject links removed",
}
SUBJECT_POST_CHECK = "subject and identifiers absent after delete"


@dataclasses.dataclass
class BatchResult:
    disposed: Counter[tuple[str, int, str, str]] = dataclasses.field(default_factory=Counter)
    subjects_removed: int = 0
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)
    lines: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # canonical, in id order
    audit_seq: int | None = None


def record_digest(key: bytes, system: str, external_id: str, content_digest: str) -> str:
    """The keyed digest of a record: its source system, its id there and its content's SHA-256."""
    return keyed_digest(key, RECORD_DIGEST, system, external_id, content_digest)


def subject_digest(key: bytes, identifiers: Sequence[str], display_name: str | None) -> str:
    """The keyed digest of a subject: its sorted ``kind:value`` identifiers and its name."""
    return keyed_digest(key, SUBJECT_DIGEST, *sorted(identifiers), display_name or "")


def evidence(verdict: facts.Evaluation) -> tuple[dict[str, Any], str | None]:
    """Why the record fell due: the governing rule's start date or event, and the due date; and
    the name of the start date (none for an event rule)."""
    decision = verdict.decision
    assert decision is not None
    assert verdict.rule is not None
    row, winner = verdict.row, decision.retained_by or verdict.rule
    found: dict[str, Any] = {"due_on": str(decision.due_on), "as_of": str(decision.as_of)}
    if winner is not verdict.rule:
        found["retained_by"] = f"{winner.id} v{winner.version}"
    start: str | None
    if isinstance(winner, BillingRule):
        start = "document_date"
        found["document_date"] = str(row.document_date)
        found["last_transaction_on"] = str(facts.last_transaction_on(row))
    elif winner.trigger is Trigger.EVENT:
        assert winner.event is not None
        start = None
        found["event"] = str(winner.event)
    else:
        assert winner.date_field is not None
        start = str(winner.date_field)
        found[start] = str(facts.day_of(getattr(row, start)))
    if verdict.review is not None:
        found["review_id"] = verdict.review.id
        if verdict.review.transfer_reference:
            found["transfer_reference"] = verdict.review.transfer_reference
    return found, start


class BatchDisposer:
    """Writes one batch: the deletes/anonymisations, one audit event, the disposition records."""

    def __init__(
        self,
        session: Session,
        *,
        run_id: int,
        actor: Actor,
        digest_key: bytes,
        systems: dict[int, str],
        holds_in_force: list[str],
        subject_holds: frozenset[str],
        now: dt.datetime,
        extra_evidence: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.run_id = run_id
        self.actor = actor
        self.key = digest_key
        self.record_digest = KeyedDigester(digest_key, RECORD_DIGEST)
        self.systems = systems
        self.holds_in_force = holds_in_force
        self.subject_holds = subject_holds  # subjects under a hold in force: never removed
        self.now = now
        # added to every record's trigger evidence (a deletion request: its reference and R12)
        self.extra_evidence = dict(extra_evidence or {})

    def dispose(self, due: Sequence[facts.Evaluation]) -> BatchResult:
        result = BatchResult()
        ready = []
        for verdict in due:
            if (why := verdict.transfer_pending()) is not None:
                result.skipped[why] += 1
            else:
                ready.append(verdict)
        if not ready:
            return result
        by_id = {v.row.id: v for v in ready}
        deleted = self._delete([i for i, v in by_id.items() if _method(v) == "delete"])
        anonymised = self._anonymise([i for i, v in by_id.items() if _method(v) == "anonymise"])
        gone = {**deleted, **anonymised}
        if not gone:
            return result
        subjects = self._orphans({s for i in gone for s in by_id[i].subject_ids})
        groups: dict[ledger.Header, list[ledger.Line]] = {}
        for header, item in self._lines(by_id, gone):
            groups.setdefault(header, []).append(item)
        for header, item in (self._subject_line(s, by_id, gone) for s in subjects):
            groups.setdefault(header, []).append(item)
        rule_counts = Counter(_rule_name(by_id[i]) for i in gone)
        written = ledger.write(
            self.session,
            list(groups.items()),
            actor=self.actor,
            run_id=self.run_id,
            now=self.now,
            holds_in_force=len(self.holds_in_force),
            details={
                "records": len(gone),
                "subjects": len(subjects),
                "rules": dict(sorted(rule_counts.items())),
                "first_record_id": min(gone),
                "last_record_id": max(gone),
                "holds_in_force": self.holds_in_force,
            },
        )
        result.audit_seq = written.audit_seq
        for header, items in groups.items():
            if header.subject_type == "record":
                for item in items:
                    key = (header.rule, header.rule_version, item.category, header.method)
                    result.disposed[key] += 1  # type: ignore[index]
        result.lines = written.lines
        result.subjects_removed = len(subjects)
        return result

    # -- the writes -------------------------------------------------------------------------------

    def _delete(self, ids: list[int]) -> dict[int, Any]:
        if not ids:
            return {}
        returned = self.session.execute(
            delete(Record)
            .where(bulk.id_in(self.session, Record.id, ids))
            .returning(Record.id, Record.external_id, Record.content_digest),
            execution_options={"synchronize_session": False},
        ).all()
        left = self.session.scalar(
            select(func.count()).where(bulk.id_in(self.session, Record.id, ids))
        )
        if left:  # the post-check failed: the batch is rolled back, nothing is recorded
            raise RuntimeError("records survived their delete")
        return {row.id: row for row in returned}

    def _anonymise(self, ids: list[int]) -> dict[int, Any]:
        if not ids:
            return {}
        returned = self.session.execute(
            update(Record)
            .where(bulk.id_in(self.session, Record.id, ids), Record.anonymised_at.is_(None))
            .values(
                content=ANONYMISED_CONTENT,
                content_digest=ANONYMISED_DIGEST,
                external_id=literal("anonymised:") + cast(Record.id, String),
                anonymised_at=self.now,
                retention_rule=None,
                pan_redactions=0,
                updated_at=self.now,
            )
            .returning(Record.id, Record.external_id, Record.content_digest),
            execution_options={"synchronize_session": False},
        ).all()
        # the values RETURNING gives are the new ones: read the old ones before the update
        done = [row.id for row in returned]
        if done:
            self.session.execute(
                delete(record_subject).where(
                    bulk.id_in(self.session, record_subject.c.record_id, done)
                )
            )
        return {row.id: None for row in returned}

    def _lines(
        self, by_id: dict[int, facts.Evaluation], gone: dict[int, Any]
    ) -> list[tuple[ledger.Header, ledger.Line]]:
        """Each disposed record's line and the header of its batch, the trigger evidence split
        into what a batch shares and what is the record's own."""
        by_header: dict[ledger.Header, list[tuple[int, dict[str, Any]]]] = {}
        for record_id in gone:
            verdict = by_id[record_id]
            rule, review = verdict.rule, verdict.review
            assert rule is not None
            found, start = evidence(verdict)
            if self.extra_evidence:
                found |= self.extra_evidence
            header = ledger.Header(
                subject_type="record",
                rule=rule.id,
                rule_version=rule.version,
                method=METHODS[rule.action],
                post_check=POST_CHECKS[_method(verdict)],
                review_id=review.id if review else None,
                approver=review.decided_by if review else None,
                start_field=start,
            )
            by_header.setdefault(header, []).append((record_id, found))
        out = []
        for header, members in by_header.items():
            shared, own = ledger.split_evidence([f for _, f in members], header.start_field)
            batch_header = dataclasses.replace(header, evidence=shared)
            for (record_id, _), (due, started, rest) in zip(members, own, strict=True):
                row, returned = by_id[record_id].row, gone[record_id]
                out.append(
                    (
                        batch_header,
                        ledger.Line(
                            subject_ref=str(record_id),
                            organization_id=row.organization_id,
                            category=by_id[record_id].category,
                            digest=self._digest(row, returned),
                            due_on=due,
                            started_on=started,
                            evidence=rest,
                        ),
                    )
                )
        return out

    def _digest(self, row: Any, returned: Any) -> bytes:
        """The record's keyed digest; anonymised (nothing returned): of what the record was."""
        source = self.systems[row.system_id]
        if returned is None:
            return bytes.fromhex(self.record_digest(source, row.external_id, row.content_digest))
        digest = self.record_digest(source, returned.external_id, returned.content_digest)
        return bytes.fromhex(digest)

    def _orphans(self, subject_ids: set[int]) -> list[tuple[int, str, str | None, list[str]]]:
        """Subjects left with no record, no consent and no hold: removed with their identifiers
        (R21: nothing about the person stays behind once their last record is gone)."""
        if not subject_ids:
            return []
        held = {int(v) for v in self.subject_holds if v.isdigit()}
        wanted = sorted(subject_ids - held)
        if not wanted:
            return []
        # one index probe per person (EXISTS), not a read of every link they still have; the
        # people (few) are read only for those with no link left
        each = bulk.id_values(self.session, wanted)
        unlinked = self.session.scalars(
            select(each).where(~exists().where(record_subject.c.subject_id == each))
        ).all()
        if not unlinked:
            return []
        people = self.session.execute(
            select(DataSubject.id, DataSubject.ref, DataSubject.display_name)
            .where(
                bulk.id_in(self.session, DataSubject.id, unlinked),
                ~exists().where(record_subject.c.subject_id == DataSubject.id),
                ~exists().where(Consent.subject_id == DataSubject.id),
            )
            .order_by(DataSubject.id)
        ).all()
        if not people:
            return []
        candidates = [p.id for p in people]
        identifiers: dict[int, list[str]] = {}
        for subject_id, kind, value in self.session.execute(
            select(
                SubjectIdentifier.subject_id, SubjectIdentifier.kind, SubjectIdentifier.value
            ).where(bulk.id_in(self.session, SubjectIdentifier.subject_id, candidates))
        ):
            identifiers.setdefault(subject_id, []).append(f"{kind}:{value}")
        self.session.execute(
            delete(DataSubject).where(bulk.id_in(self.session, DataSubject.id, candidates)),
            execution_options={"synchronize_session": False},
        )
        return [(p.id, p.ref, p.display_name, identifiers.get(p.id, [])) for p in people]

    def _subject_line(
        self,
        subject: tuple[int, str, str | None, list[str]],
        by_id: dict[int, facts.Evaluation],
        gone: dict[int, Any],
    ) -> tuple[ledger.Header, ledger.Line]:
        subject_id, ref, name, identifiers = subject
        last = max(i for i in gone if subject_id in by_id[i].subject_ids)
        rule = by_id[last].rule
        assert rule is not None
        header = subject_header(rule)
        line = ledger.Line(
            subject_ref=ref,
            organization_id=by_id[last].row.organization_id,
            category=by_id[last].category,
            digest=bytes.fromhex(subject_digest(self.key, identifiers, name)),
            evidence={"last_record_id": last},
        )
        return header, line


def subject_header(rule: Any) -> ledger.Header:
    """The batch of the people removed with their last record, under that record's rule (R21)."""
    return ledger.Header(
        subject_type="data_subject",
        rule=rule.id,
        rule_version=rule.version,
        method="delete",
        post_check=SUBJECT_POST_CHECK,
        evidence=(("reason", "no record, consent or hold"),),
    )


def _method(verdict: facts.Evaluation) -> str:
    """How the record goes: "delete" (delete, crypto_shred, transfer_then_delete) or "anonymise"."""
    assert verdict.rule is not None
    return "anonymise" if verdict.rule.action == "anonymise" else "delete"


def _rule_name(verdict: facts.Evaluation) -> str:
    assert verdict.rule is not None
    return f"{verdict.rule.id} v{verdict.rule.version}"

"""Deletion requests (R12): delete what no purpose or law still requires, list what is kept.

R12 is treated as a consent withdrawal plus a retention review (design). Each record of the
subject is evaluated by the retention engine as of today, without the request's OWN recourse
hold (it was placed because the person asked; every other hold still blocks). A record is KEPT
  - while another hold covers it (basis "legal hold 12", ...; disposed of after the hold ends),
  - when its governing rule is the CRA billing rule and its due date is not reached (R17),
  - while its category's minimum retention since the record's creation runs (basis: the
    category's basis), or while an officer's review kept or extended it,
  - until the hand-over a transfer-then-delete rule needs is recorded (R16);
its ``dispose_on`` is the engine's due date. Everything else is DELETED now through the purge's
``BatchDisposer`` (disposition records whose trigger evidence cites the request and R12) under a
``PurgeRun`` of trigger "request" with its own certificate. A rule that cannot be read stops the
deletion before anything changes.

First the subject's marketing consents are withdrawn, effective now. When nothing is kept and no
other hold names the subject, the subject goes too (R21): the disposer's orphan logic removes a
subject left with no record and no consent; a subject with consents (whose withdrawal is in the
request file) or without records is removed here the same way, with a disposition record. The
request keeps its file (R9); its ``subject_id`` becomes NULL (ON DELETE SET NULL), its recourse
hold stays, naming the removed subject's ref, and covers nothing. The request items and the
disposition records (subject ref, keyed digest) say what happened.

Each batch of records is one transaction; running it again lists no deleted record twice and
recomputes the kept items.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import (
    Consent,
    DataSubject,
    DisputeNote,
    PrivacyRequest,
    PurgeRun,
    RequestItem,
    SubjectIdentifier,
    record_subject,
)
from auditor.services import audit, retention
from auditor.services.context import Actor
from auditor.services.requests.common import record_event
from auditor.services.requests.consents import acting_on, require_subject, withdraw_marketing
from auditor.services.requests.deletion_review import (
    DeletionResult,
    Item,
    Review,
    plan_deletion,
    subject_rows,
)
from auditor.services.requests.guards import require_searches_done
from auditor.services.retention import BatchDisposer, ledger, subject_digest
from auditor.services.retention.batch import SUBJECT_POST_CHECK
from crypto.digest import key_id
from retention import Scope

__all__ = ["DeletionResult", "Item", "execute_deletion", "plan_deletion"]

BATCH = 500
BASIS = "deletion request (R12)"


def execute_deletion(
    session: Session,
    request: PrivacyRequest | str,
    *,
    actor: Actor,
    digest_key: bytes,
    now: dt.datetime | None = None,
    batch: int = BATCH,
    signing_key: Ed25519PrivateKey | None = None,
    origin: str | None = None,
) -> DeletionResult:
    """Carry out the deletion (see the module docstring); commits after every batch. With a
    signing key and origin, a checkpoint covering the run is signed at the end."""
    request = acting_on(session, request, types=("deletion",), what="a deletion")
    require_subject(request)
    require_searches_done(request, "deleting")
    with retention.run_lock(session):
        run = _Deletion(session, request, actor, digest_key, now or utcnow(), batch)
        return run.go(signing_key, origin)


class _Deletion:
    def __init__(
        self,
        session: Session,
        request: PrivacyRequest,
        actor: Actor,
        key: bytes,
        now: dt.datetime,
        batch: int,
    ) -> None:
        self.session, self.request, self.actor, self.key = session, request, actor, key
        self.now, self.batch = now, batch
        self.today = now.astimezone(dt.UTC).date()
        subject = require_subject(request)
        self.subject_id, self.subject_ref = subject.id, subject.ref
        self.result = DeletionResult(request.reference, subject.ref, dry_run=False)
        self.by_rule: Counter[str] = Counter()

    def go(self, signing_key: Ed25519PrivateKey | None, origin: str | None) -> DeletionResult:
        session = self.session
        review = Review(session, self.request, self.today)
        review.check_rules(self.subject_id)
        self.start()
        try:
            after = 0
            while True:
                session.execute(
                    update(PurgeRun).where(PurgeRun.id == self.run_id).values(last_record_id=after)
                )
                audit.lock_head(session)
                rows = subject_rows(session, self.subject_id, after=after, limit=self.batch)
                if not rows:
                    break
                review.refresh()
                kept, due = review.sort(rows)
                self.keep(kept)
                if due:
                    self.dispose(review, due)
                after = rows[-1].id
                session.commit()
            self.finish(review)
        except BaseException as exc:
            session.rollback()
            self.fail(exc)
            raise
        if signing_key is not None and origin is not None:
            audit.create_checkpoint(
                session, signing_key=signing_key, origin=origin, actor=self.actor, now=self.now
            )
            session.commit()
        run = retention.get_run(session, self.run_id)
        self.result.certificate = retention.run_certificate(
            session, run, digest_key_id=key_id(self.key)
        )
        return self.result

    def start(self) -> None:
        """The run row and the consent withdrawal, committed before any record is touched."""
        session = self.session
        audit.lock_head(session)
        reference = self.request.reference
        run = retention.open_run(
            session,
            as_of=self.today,
            actor=self.actor,
            trigger="request",
            now=self.now,
            details={"trigger": "request", "request": reference},
            counts={"request": reference},
        )
        self.run_id = self.result.run_id = run.id
        withdrawn = withdraw_marketing(session, self.request, at=self.now, actor=self.actor)
        self.result.consents_withdrawn = len(withdrawn)
        # kept items are recomputed on every run; deleted ones stay (their records are gone)
        session.execute(
            delete(RequestItem).where(
                RequestItem.request_id == self.request.id, RequestItem.kind == "kept"
            )
        )
        session.commit()

    def keep(self, kept: list[Item]) -> None:
        self.result.kept += kept
        self.session.add_all(_request_item(self.request.id, item, self.now) for item in kept)

    def dispose(self, review: Review, due: list[retention.Evaluation]) -> None:
        in_force = review.in_force
        disposer = BatchDisposer(
            self.session,
            run_id=self.run_id,
            actor=self.actor,
            digest_key=self.key,
            systems=review.evaluator.systems,
            holds_in_force=[h.id for h in in_force],
            subject_holds=frozenset(h.scope_value for h in in_force if h.scope is Scope.SUBJECT),
            now=self.now,
            extra_evidence={"request": self.request.reference, "basis": BASIS},
        )
        outcome = disposer.dispose(due)
        for (rule, version, _category, _method), count in outcome.disposed.items():
            self.by_rule[f"{rule} v{version}"] += count
        written = {line["subject_ref"]: line["id"] for line in outcome.lines}
        for verdict in due:
            row = verdict.row
            if (disposition_id := written.get(str(row.id))) is None:
                continue  # gone already (another run got there first)
            system = review.evaluator.systems[row.system_id]
            item = Item("deleted", row.id, verdict.category, system, disposition_id=disposition_id)
            self.result.deleted.append(item)
            self.session.add(_request_item(self.request.id, item, self.now))
        if self.subject_ref in written:
            self.result.subject_removed = True

    def finish(self, review: Review) -> None:
        session = self.session
        review.refresh()
        if (
            not self.result.kept
            and not self.result.subject_removed
            and not review.holds_subject(self.subject_id)
        ):
            self.result.subject_removed = self.remove_subject(review)
        self.close("completed")
        record_event(
            session,
            self.request,
            "request.deletion",
            actor=self.actor,
            now=self.now,
            run=self.run_id,
            subject=self.subject_ref,
            deleted=len(self.result.deleted),
            kept=len(self.result.kept),
            consents_withdrawn=self.result.consents_withdrawn,
            subject_removed=self.result.subject_removed,
        )
        session.commit()
        if self.result.subject_removed:
            self.forget_subject()

    def forget_subject(self) -> None:
        """Drop the removed subject's objects from the session, re-read the request's link
        (the database set it to NULL) and any correction's."""
        session, subject_id = self.session, self.subject_id
        for obj in list(session.identity_map.values()):
            state = sa_inspect(obj)
            if obj not in session:
                continue  # expunged with its subject already
            if isinstance(obj, DataSubject) and state.identity == (subject_id,):
                session.expunge(obj)
            elif state.dict.get("subject_id") == subject_id:
                if isinstance(obj, SubjectIdentifier | Consent | DisputeNote):
                    session.expunge(obj)
                else:
                    session.expire(obj, ["subject_id"])
        session.expire(self.request, ["subject", "subject_id"])

    def remove_subject(self, review: Review) -> bool:
        """R21 when nothing is kept: the subject with its identifiers, consents and dispute
        notes, for a subject the disposer's orphan logic leaves (it has consents, or had no
        record to dispose of). A disposition record proves it, as for an orphan."""
        session, subject_id = self.session, self.subject_id
        linked = session.scalar(
            select(func.count())
            .select_from(record_subject)
            .where(record_subject.c.subject_id == subject_id)
        )
        person = session.execute(
            select(DataSubject.display_name, DataSubject.organization_id).where(
                DataSubject.id == subject_id
            )
        ).first()
        if linked or person is None:
            return False
        identifiers = [
            f"{kind}:{value}"
            for kind, value in session.execute(
                select(SubjectIdentifier.kind, SubjectIdentifier.value).where(
                    SubjectIdentifier.subject_id == subject_id
                )
            )
        ]
        consents = session.scalar(
            select(func.count()).select_from(Consent).where(Consent.subject_id == subject_id)
        )
        session.execute(
            delete(DataSubject).where(DataSubject.id == subject_id),
            execution_options={"synchronize_session": False},
        )
        in_force = [h.id for h in review.in_force]
        header = ledger.Header(
            subject_type="data_subject",
            rule=None,
            rule_version=None,
            method="delete",
            post_check=SUBJECT_POST_CHECK,
            evidence=(
                ("basis", BASIS),
                ("reason", "nothing kept: no record, other hold or consent left"),
                ("request", self.request.reference),
            ),
        )
        line = ledger.Line(
            subject_ref=self.subject_ref,
            organization_id=person.organization_id,
            category=None,
            digest=bytes.fromhex(subject_digest(self.key, identifiers, person.display_name)),
            evidence={"identifiers": len(identifiers), "consents": consents},
        )
        ledger.write(
            session,
            [(header, [line])],
            actor=self.actor,
            run_id=self.run_id,
            now=self.now,
            holds_in_force=len(in_force),
            details={"records": 0, "subjects": 1, "rules": {}, "holds_in_force": in_force},
        )
        return True

    def close(self, status: str, error: BaseException | None = None) -> None:
        run = self.session.get(PurgeRun, self.run_id)
        assert run is not None
        counts = {
            **run.counts,
            "disposed": len(self.result.deleted),
            "kept": len(self.result.kept),
            "subjects_removed": int(self.result.subject_removed),
            "by_rule": dict(sorted(self.by_rule.items())),
            "blocked": {},
            "credentials": [],
        }
        retention.close_run(
            self.session,
            run,
            status,
            counts,
            actor=self.actor,
            now=self.now,
            error=error,
            digest_key_id=key_id(self.key),
        )

    def fail(self, error: BaseException) -> None:
        self.close("failed", error)
        self.session.commit()


def _request_item(request_id: int, item: Item, now: dt.datetime) -> RequestItem:
    return RequestItem(
        request_id=request_id,
        created_at=now,
        kind=item.kind,
        record_id=item.record_id,
        category=item.category,
        system=item.system,
        basis=item.basis,
        dispose_on=item.dispose_on,
        disposition_id=item.disposition_id,
        hold_ids=item.hold_ids,
        note=item.note,
    )

"""The retention purge: the disposition plan executed in batches, each one transaction (R15-R23).

A run walks the records in id order, ``batch`` at a time. Each batch transaction first marks the
run's progress (on SQLite this takes the write lock) and takes the audit head lock (PostgreSQL:
hold placement writes an audit event too, so a hold placed during a run either commits before
the batch reads the holds, or waits until the batch has committed); then it evaluates the
records exactly as the dry-run plan does, disposes of the due ones and writes their disposition
records and one audit event, and commits. Killing the process at any moment loses at most the
batch in flight, which rolls back whole; running again disposes of what is left, each record once.

Only one run at a time: on PostgreSQL a session-level advisory lock on a dedicated connection
(a second run is refused); a run row left "running" by a killed process is then marked
"interrupted" by the next run. On SQLite (single process) a stale running row is marked the same.
After the records, credentials of terminated clients go through the vault's purge (R16), and
breach records past their retention are disposed of (R25, ``breach_purge``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import PurgeRun
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import (
    Conflict,
    FieldError,
    HandoverRequired,
    ValidationFailed,
    safe_error,
)
from auditor.services.retention import breach_purge, facts, fast, vault_purge
from auditor.services.retention import dispositions as disposition_records
from auditor.services.retention import plan as retention_plan
from auditor.services.retention.batch import BatchDisposer
from auditor.services.retention.fast_batch import FastDisposer
from auditor.services.retention.runs import close_run, open_run, run_lock
from crypto.digest import key_id
from retention import Outcome, Scope

BATCH = 1000


@dataclasses.dataclass
class RunResult:
    """What a run did; ``certificate`` is the run's certificate (JSON-ready)."""

    run_id: int
    status: str
    disposed: int
    subjects_removed: int
    blocked: dict[str, int]
    credentials: list[dict[str, Any]]
    certificate: dict[str, Any]
    breaches: dict[str, Any] = dataclasses.field(default_factory=dict)


def execute_purge(
    session: Session,
    *,
    as_of: dt.date,
    actor: Actor,
    digest_key: bytes,
    trigger: str = "cli",
    batch: int = BATCH,
    job_run_id: int | None = None,
    signing_key: Ed25519PrivateKey | None = None,
    origin: str | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    progress: Callable[[int, int], None] | None = None,
    set_based: bool = True,
) -> RunResult:
    """Run the purge for ``as_of``; commits after every batch. See the module docstring.

    ``set_based``: first dispose of the records the database can select as due (``fast``),
    then evaluate the others; without it every candidate is evaluated (the same outcome, slower:
    tests compare both)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    with run_lock(session):
        run = _Run(session, as_of, actor, digest_key, trigger, batch, now)
        run.set_based = set_based
        return run.go(
            job_run_id=job_run_id, signing_key=signing_key, origin=origin, progress=progress
        )


class _Run:
    def __init__(
        self,
        session: Session,
        as_of: dt.date,
        actor: Actor,
        digest_key: bytes,
        trigger: str,
        batch: int,
        now: Callable[[], dt.datetime],
    ) -> None:
        self.session = session
        self.as_of = as_of
        self.actor = actor
        self.key = digest_key
        self.trigger = trigger
        self.batch = batch
        self.now = now
        self.disposed = 0
        self.subjects = 0
        self.blocked: Counter[str] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.summary = disposition_records.Summary()  # the run's dispositions, as written
        self.set_based = True
        self.breaches = breach_purge.Disposal()
        self.holds_in_force = 0

    def go(
        self,
        *,
        job_run_id: int | None,
        signing_key: Ed25519PrivateKey | None,
        origin: str | None,
        progress: Callable[[int, int], None] | None,
    ) -> RunResult:
        session = self.session
        moment = self.now()
        self.today = moment.astimezone(dt.UTC).date()
        if self.as_of > self.today:
            raise ValidationFailed(
                "A purge cannot run for a future day.",
                [FieldError("as_of", f"must be on or before {self.today}")],
            )
        run = open_run(
            session,
            as_of=self.as_of,
            actor=self.actor,
            trigger=self.trigger,
            now=moment,
            job_run_id=job_run_id,
        )
        session.commit()
        self.run_id = run.id
        try:
            self.records(progress)
            credentials = self.credentials()
            self.breach_records()
        except BaseException as exc:
            session.rollback()
            self.finish(run, "failed", [], error=exc)
            raise
        self.finish(run, "completed", credentials)
        if signing_key is not None and origin is not None:
            audit.create_checkpoint(
                session, signing_key=signing_key, origin=origin, actor=self.actor, now=self.now()
            )
            session.commit()
        run = session.get(PurgeRun, self.run_id) or run
        cert = disposition_records.stored_certificate(session, run)
        return RunResult(
            run_id=run.id,
            status=run.status,
            disposed=self.disposed,
            subjects_removed=self.subjects,
            blocked=dict(self.blocked),
            credentials=credentials,
            certificate=cert,
            breaches={"disposed": self.breaches.disposed, "held": self.breaches.held},
        )

    def records(self, progress: Callable[[int, int], None] | None) -> None:
        session = self.session
        evaluator = facts.Evaluator(session, as_of=self.as_of, executing_on=self.today)
        candidates = evaluator.candidate_filter()  # records that cannot be due are not read
        session.commit()
        checked = self.set_based_records(evaluator, progress) if self.set_based else 0
        after = 0
        while True:
            # the first write takes SQLite's write lock; then the audit head lock (PostgreSQL)
            session.execute(
                update(PurgeRun).where(PurgeRun.id == self.run_id).values(last_record_id=after)
            )
            audit.lock_head(session)
            rows = facts.read_batch(session, after=after, limit=self.batch, where=candidates)
            if not rows:
                session.commit()
                return
            evaluator.refresh_holds()
            verdicts = evaluator.evaluate(rows)
            due = []
            for verdict in verdicts:
                if verdict.status == Outcome.DUE:
                    due.append(verdict)
                elif verdict.status == Outcome.BLOCKED and _due(verdict, self.as_of):
                    # due but for a hold or a review: what the run leaves behind, and why
                    self.blocked[verdict.reason or "blocked"] += 1
            self.pending_lines: list[dict[str, Any]] = []
            if due:
                self.dispose(evaluator, due)
            after = rows[-1].id
            session.commit()
            self.summary.add_many(self.pending_lines)
            checked += len(rows)
            if progress is not None:
                progress(checked, self.disposed)

    def set_based_records(
        self, evaluator: facts.Evaluator, progress: Callable[[int, int], None] | None
    ) -> int:
        """Dispose of what ``fast.due_filter`` selects, a batch per transaction; returns how many
        records it disposed of (what is left goes through the evaluation)."""
        session = self.session
        checked = 0
        for category in fast.fast_categories(evaluator).values():
            after = 0
            while True:
                session.execute(
                    update(PurgeRun).where(PurgeRun.id == self.run_id).values(last_record_id=after)
                )
                audit.lock_head(session)
                evaluator.refresh_holds()
                where = fast.due_filter(evaluator, category)
                if where is None:
                    break
                last, ids, links = fast.due_links(
                    session,
                    where,
                    after=after,
                    limit=self.batch,
                    held_subjects=evaluator.held_ids["subject"],
                )
                if last is None:
                    break
                if ids:
                    self.set_based_batch(evaluator, category, ids, links)
                after = last
                checked += len(ids)
                if progress is not None:
                    progress(checked, self.disposed)
        session.commit()
        return checked

    def set_based_batch(
        self,
        evaluator: facts.Evaluator,
        category: fast.FastCategory,
        ids: Sequence[int],
        links: dict[int, list[int]],
    ) -> None:
        """One transaction of ``set_based_records``: dispose of ``ids`` and commit."""
        disposer = FastDisposer(
            self.session,
            **self.disposer_options(evaluator),
            categories={category.category_id: category},
            as_of=self.as_of,
        )
        disposed, subjects, parts = disposer.dispose_ids(ids, links)
        self.session.commit()
        for part in parts:
            self.summary.add_encoded(*part)
        for (rule, version, _category, _method), count in disposed.items():
            self.by_rule[f"{rule} v{version}"] += count
            self.disposed += count
        self.subjects += subjects

    def disposer_options(self, evaluator: facts.Evaluator) -> dict[str, Any]:
        in_force = [h for h in evaluator.holds if h.is_active(evaluator.holds_on)]
        return {
            "run_id": self.run_id,
            "actor": self.actor,
            "digest_key": self.key,
            "systems": evaluator.systems,
            "holds_in_force": [h.id for h in in_force],
            "subject_holds": frozenset(h.scope_value for h in in_force if h.scope is Scope.SUBJECT),
            "now": self.now(),
        }

    def dispose(self, evaluator: facts.Evaluator, due: list[facts.Evaluation]) -> None:
        disposer = BatchDisposer(self.session, **self.disposer_options(evaluator))
        result = disposer.dispose(due)
        self.pending_lines = result.lines  # added to the summary once the batch has committed
        for reason, count in result.skipped.items():
            self.blocked[reason] += count
        for (rule, version, _category, _method), count in result.disposed.items():
            self.by_rule[f"{rule} v{version}"] += count
            self.disposed += count
        self.subjects += result.subjects_removed

    def credentials(self) -> list[dict[str, Any]]:
        """R16: purge the vault of each terminated client that is due and handed over."""
        session = self.session
        evaluator = facts.Evaluator(session, as_of=self.as_of, executing_on=self.today)
        self.holds_in_force = len(evaluator.holds)  # the breach records' step reports it too
        found = []
        for status in retention_plan.credentials_status(session, evaluator):
            entry = {"client": status.client, "secrets": status.secrets, "status": status.status}
            entry["reason"] = status.reason
            if status.status == "ready":
                try:
                    out = vault_purge.purge_client_vault(
                        session,
                        status.client,
                        actor=self.actor,
                        dry_run=False,
                        digest_key_id=key_id(self.key),
                        now=self.now(),
                        run_id=self.run_id,
                        rule=(status.rule, status.version),
                        holds_in_force=len(evaluator.holds),
                    )
                    session.commit()
                    entry |= {"status": "purged", "disposition_id": out.disposition_id}
                except (Conflict, HandoverRequired) as exc:
                    session.rollback()
                    entry |= {"status": "blocked", "reason": safe_error(exc)}
            found.append(entry)
        session.commit()
        return found

    def breach_records(self) -> None:
        """R25: breach records past their retention, unless a hold keeps them (after
        ``credentials``, which counted the holds in force)."""
        session = self.session
        self.breaches = breach_purge.dispose_due(
            session,
            as_of=self.as_of,
            actor=self.actor,
            run_id=self.run_id,
            digest_key=self.key,
            now=self.now(),
            holds_in_force=self.holds_in_force,
        )
        session.commit()

    def finish(
        self,
        run: PurgeRun,
        status: str,
        credentials: list[dict[str, Any]],
        *,
        error: BaseException | None = None,
    ) -> None:
        session = self.session
        moment = self.now()
        run = session.get(PurgeRun, self.run_id) or run
        counts = {
            **run.counts,
            "disposed": self.disposed,
            "subjects_removed": self.subjects,
            "by_rule": dict(sorted(self.by_rule.items())),
            "blocked": dict(sorted(self.blocked.items())),
            "credentials": credentials,
            "breaches": self.breaches.counts(),
        }
        # the credentials' and breaches' dispositions were written apart: recomputed when any
        apart = any(c.get("disposition_id") for c in credentials) or self.breaches.disposed
        summary = None if apart else self.summary
        close_run(
            session,
            run,
            status,
            counts,
            actor=self.actor,
            now=moment,
            error=error,
            digest_key_id=key_id(self.key),
            summary=summary,
        )
        session.commit()


def _due(verdict: facts.Evaluation, as_of: dt.date) -> bool:
    return verdict.due_on is not None and verdict.due_on <= as_of


def list_runs(session: Session, *, limit: int = 20) -> list[PurgeRun]:
    """The latest purge runs, newest first."""
    return list(session.scalars(select(PurgeRun).order_by(PurgeRun.id.desc()).limit(limit)))

"""The disposition dry run: what the retention rules would dispose of on a day, and what is
blocked and why (R15-R19). Nothing is written.

Records are read in id order, ``batch`` at a time (only the columns the rules need), so memory
stays flat whatever the number of records; only the aggregates and at most ``ids_cap`` record ids
per group are kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import Secret
from auditor.services.errors import HandoverRequired
from auditor.services.retention import breach_purge, facts, inputs
from auditor.services.vault import purge_readiness
from retention import AnyRule, Event, Outcome, RecordFacts, decide

IDS_CAP = 1000
CREDENTIALS_CATEGORY = "credentials"


@dataclasses.dataclass
class Group:
    """Records sharing one outcome; ``record_ids`` lists at most the plan's ``ids_cap`` of them."""

    key: dict[str, Any]
    count: int = 0
    record_ids: list[int] = dataclasses.field(default_factory=list)

    def add(self, record_id: int, cap: int) -> None:
        self.count += 1
        if len(self.record_ids) < cap:
            self.record_ids.append(record_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.key,
            "count": self.count,
            "record_ids": self.record_ids,
            "record_ids_truncated": self.count > len(self.record_ids),
        }


@dataclasses.dataclass
class CredentialsStatus:
    """One client's vault after its agreement ended: may its credentials be purged (R16)?"""

    client: str
    secrets: int
    terminated_on: dt.date
    due_on: dt.date | None
    status: str  # ready, blocked or not_yet_due
    reason: str
    hold_ids: list[str] = dataclasses.field(default_factory=list)
    rule: str | None = None
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        due_on = self.due_on.isoformat() if self.due_on else None
        return dataclasses.asdict(self) | {
            "terminated_on": str(self.terminated_on),
            "due_on": due_on,
        }


@dataclasses.dataclass
class PlanReport:
    as_of: dt.date
    ids_cap: int
    records_checked: int = 0
    due_by_rule: dict[tuple[str, int], Group] = dataclasses.field(default_factory=dict)
    due_by_client: dict[str, Group] = dataclasses.field(default_factory=dict)
    blocked: dict[tuple[Any, ...], Group] = dataclasses.field(default_factory=dict)
    not_computable: dict[tuple[Any, ...], Group] = dataclasses.field(default_factory=dict)
    not_yet_due: int = 0
    next_due_on: dt.date | None = None
    credentials: list[CredentialsStatus] = dataclasses.field(default_factory=list)
    breaches: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # R25

    @property
    def due_count(self) -> int:
        return sum(group.count for group in self.due_by_rule.values())

    def to_dict(self) -> dict[str, Any]:
        def groups(table: dict[Any, Group]) -> list[dict[str, Any]]:
            return [table[key].to_dict() for key in sorted(table, key=str)]

        return {
            "as_of": self.as_of.isoformat(),
            "records_checked": self.records_checked,
            "record_ids_cap": self.ids_cap,
            "due_count": self.due_count,
            "due_by_rule": groups(self.due_by_rule),
            "due_by_client": groups(self.due_by_client),
            "blocked": groups(self.blocked),
            "not_computable": groups(self.not_computable),
            "not_yet_due": {
                "count": self.not_yet_due,
                "next_due_on": self.next_due_on.isoformat() if self.next_due_on else None,
            },
            "credentials": [status.to_dict() for status in self.credentials],
            "breaches": self.breaches,
        }


def _group(table: dict[Any, Group], key: tuple[Any, ...], fields: dict[str, Any]) -> Group:
    if key not in table:
        table[key] = Group(key=fields)
    return table[key]


class _Planner:
    def __init__(self, session: Session, report: PlanReport) -> None:
        self.session = session
        self.report = report
        self.evaluator = facts.Evaluator(session, as_of=report.as_of)

    def run_batch(self, rows: Sequence[Any]) -> None:
        for verdict in self.evaluator.evaluate(rows):
            self.report.records_checked += 1
            self.one(verdict)

    def one(self, verdict: facts.Evaluation) -> None:
        record_id, rule = verdict.row.id, verdict.rule
        if verdict.status == Outcome.NOT_COMPUTABLE:
            self.not_computable(record_id, rule, verdict.reason or "not computable")
        elif verdict.status == Outcome.BLOCKED:
            assert rule is not None
            reason = verdict.reason or "blocked"
            self.blocked(record_id, rule, reason, list(verdict.hold_ids), verdict.review)
        elif verdict.status == Outcome.NOT_YET_DUE:
            self.report.not_yet_due += 1
            assert verdict.due_on is not None
            if self.report.next_due_on is None or verdict.due_on < self.report.next_due_on:
                self.report.next_due_on = verdict.due_on
        else:
            assert rule is not None
            self.due(record_id, rule, verdict.client)

    def due(self, record_id: int, rule: AnyRule, client: str) -> None:
        cap = self.report.ids_cap
        fields = {"rule": rule.id, "version": rule.version, "action": str(rule.action)}
        _group(self.report.due_by_rule, (rule.id, rule.version), fields).add(record_id, cap)
        _group(self.report.due_by_client, (client,), {"client": client}).add(record_id, cap)

    def blocked(
        self,
        record_id: int,
        rule: AnyRule,
        reason: str,
        hold_ids: list[str],
        review: inputs.Review | None,
    ) -> None:
        review_id = review.id if review is not None else None
        key = (reason, tuple(hold_ids), rule.id, rule.version, review_id)
        fields = {"reason": reason, "hold_ids": hold_ids, "rule": rule.id, "version": rule.version}
        if review_id is not None:
            fields["review_id"] = review_id
        _group(self.report.blocked, key, fields).add(record_id, self.report.ids_cap)

    def not_computable(self, record_id: int, rule: AnyRule | None, reason: str) -> None:
        code, version = (rule.id, rule.version) if rule else (None, None)
        fields = {"reason": reason, "rule": code, "version": version}
        _group(self.report.not_computable, (reason, code, version), fields).add(
            record_id, self.report.ids_cap
        )

    def credentials(self) -> None:
        self.report.credentials = credentials_status(self.session, self.evaluator)


def credentials_status(session: Session, evaluator: facts.Evaluator) -> list[CredentialsStatus]:
    """R16: clients whose agreement ended and who still have secrets in the vault."""
    counts = dict(
        session.execute(
            select(Secret.organization_id, func.count()).group_by(Secret.organization_id)
        ).all()
    )
    rule = evaluator.rules.get(CREDENTIALS_CATEGORY)
    found: list[CredentialsStatus] = []
    for org_id, terminated in sorted(evaluator.terminations.items()):
        if not counts.get(org_id):
            continue
        record = RecordFacts(
            id=f"vault:{org_id}",
            category=CREDENTIALS_CATEGORY,
            client_id=str(org_id),
            events={Event.AGREEMENT_TERMINATED: terminated},
        )
        status = CredentialsStatus(
            client=evaluator.clients[org_id],
            secrets=counts[org_id],
            terminated_on=terminated,
            due_on=None,
            status="blocked",
            reason="",
        )
        if rule is None:
            status.reason = "no current retention rule for credentials"
        else:
            decision = decide(
                record,
                rule,
                holds=evaluator.holds,
                as_of=evaluator.as_of,
                holds_on=evaluator.holds_on,
            )
            status.due_on = decision.due_on
            status.hold_ids = list(decision.hold_ids)
            status.rule, status.version = rule.id, rule.version
            if decision.hold_ids:
                status.reason = "hold"
            elif decision.outcome is Outcome.NOT_YET_DUE:
                status.status, status.reason = "not_yet_due", "retention period running"
            else:
                status.status, status.reason = _handover_state(session, org_id)
        found.append(status)
    return found


def _handover_state(session: Session, org_id: int) -> tuple[str, str]:
    """ready with an acknowledged hand-over that holds every current secret, else why not."""
    try:
        handover = purge_readiness(session, org_id)
    except HandoverRequired as exc:
        return "blocked", exc.reason
    return "ready", f"acknowledged hand-over {handover.id}"


def plan_disposition(
    session: Session, *, as_of: dt.date, batch: int = 2000, ids_cap: int = IDS_CAP
) -> PlanReport:
    """What would be disposed of on ``as_of``, what is blocked and why, nothing written."""
    if batch < 1 or ids_cap < 0:
        raise ValueError("batch must be at least 1 and ids_cap at least 0")
    report = PlanReport(as_of=as_of, ids_cap=ids_cap)
    planner = _Planner(session, report)
    for rows in facts.iter_batches(session, batch):
        planner.run_batch(rows)
    planner.credentials()
    report.breaches = breach_purge.plan(session, report.as_of)
    return report

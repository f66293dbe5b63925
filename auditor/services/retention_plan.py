"""The disposition dry run: what the retention rules would dispose of on a day, and what is
blocked and why (R15-R19). Nothing is written.

Records are read in id order, ``batch`` at a time (only the columns the rules need), so memory
stays flat whatever the number of records; only the aggregates and at most ``ids_cap`` record ids
per group are kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import (
    Agreement,
    Consent,
    DataCategory,
    Organization,
    Purpose,
    Record,
    Secret,
    System,
    record_subject,
)
from auditor.services import retention_rules
from auditor.services.errors import HandoverRequired
from auditor.services.handover import purge_readiness
from auditor.services.hold_policy import engine_holds
from retention import AnyRule, Event, InvalidDefinition, Outcome, RecordFacts, decide
from retention import Hold as PolicyHold

IDS_CAP = 1000
MARKETING_PURPOSE = "marketing"
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
        }


def _group(table: dict[Any, Group], key: tuple[Any, ...], fields: dict[str, Any]) -> Group:
    if key not in table:
        table[key] = Group(key=fields)
    return table[key]


# -- what the rules need to know ----------------------------------------------------------------


def _load_rules(session: Session) -> tuple[dict[str, AnyRule], dict[str, str]]:
    """The current rule per code, and the codes of stored rules that no longer parse."""
    rules: dict[str, AnyRule] = {}
    broken: dict[str, str] = {}
    for row in retention_rules.current_rules(session):
        try:
            rules[row.code] = retention_rules.to_rule(row)
        except InvalidDefinition as exc:
            broken[row.code] = str(exc)
    return rules, broken


def _terminations(session: Session) -> dict[int, dt.date]:
    """Clients with no active agreement and a terminated one: the latest termination date."""
    rows = session.execute(
        select(Agreement.organization_id, Agreement.status, Agreement.termination_date)
    )
    active: set[int] = set()
    ended: dict[int, dt.date] = {}
    for org_id, status, termination in rows:
        if status == "active":
            active.add(org_id)
        elif status == "terminated" and termination is not None:
            ended[org_id] = max(termination, ended.get(org_id, termination))
    return {org_id: day for org_id, day in ended.items() if org_id not in active}


def _subjects(session: Session, record_ids: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(record_subject.c.record_id, record_subject.c.subject_id).where(
            record_subject.c.record_id.in_(record_ids)
        )
    )
    for record_id, subject_id in rows:
        found[record_id].add(subject_id)
    return found


def _withdrawals(session: Session, subject_ids: set[int]) -> dict[int, dt.date]:
    """Subjects whose latest marketing consent is withdrawn: the withdrawal day."""
    if not subject_ids:
        return {}
    rows = session.execute(
        select(Consent.subject_id, Consent.withdrawn_at)
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .where(Purpose.code == MARKETING_PURPOSE, Consent.subject_id.in_(subject_ids))
        .order_by(Consent.subject_id, Consent.given_at, Consent.id)
    )
    latest: dict[int, dt.datetime | None] = {}
    for subject_id, withdrawn in rows:
        latest[subject_id] = withdrawn
    return {
        subject_id: withdrawn.astimezone(dt.UTC).date()
        for subject_id, withdrawn in latest.items()
        if withdrawn is not None
    }


def _consent_withdrawn(subjects: set[int], withdrawals: dict[int, dt.date]) -> dt.date | None:
    """Recorded once every subject of the record has withdrawn, on the latest withdrawal."""
    days = [withdrawals.get(subject) for subject in subjects]
    if not days or any(day is None for day in days):
        return None
    return max(day for day in days if day is not None)


_COLUMNS = (
    Record.id,
    Record.category_id,
    Record.organization_id,
    Record.system_id,
    Record.created_at,
    Record.closed_at,
    Record.document_date,
    Record.event_at,
    Record.retention_rule,
)


def iter_batches(session: Session, batch: int) -> Any:
    """The needed columns of every record in id order, ``batch`` rows per query (keyset)."""
    after = 0
    while True:
        rows = session.execute(
            select(*_COLUMNS).where(Record.id > after).order_by(Record.id).limit(batch)
        ).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


# -- the plan -----------------------------------------------------------------------------------


class _Planner:
    def __init__(self, session: Session, report: PlanReport) -> None:
        self.session = session
        self.report = report
        self.rules, self.broken = _load_rules(session)
        self.holds: list[PolicyHold] = engine_holds(session, as_of=report.as_of)
        self.categories = dict(session.execute(select(DataCategory.id, DataCategory.code)).all())
        self.clients = dict(session.execute(select(Organization.id, Organization.code)).all())
        self.systems = dict(session.execute(select(System.id, System.code)).all())
        self.terminations = _terminations(session)

    def run_batch(self, rows: list[Any]) -> None:
        subjects = _subjects(self.session, [row.id for row in rows])
        withdrawals = _withdrawals(self.session, set().union(*subjects.values()))
        for row in rows:
            self.report.records_checked += 1
            self.one(row, subjects.get(row.id, set()), withdrawals)

    def one(self, row: Any, subjects: set[int], withdrawals: dict[int, dt.date]) -> None:
        category = self.categories[row.category_id]
        client = self.clients[row.organization_id]
        events: dict[Event, dt.date] = {}
        if (terminated := self.terminations.get(row.organization_id)) is not None:
            events[Event.AGREEMENT_TERMINATED] = terminated
        if (withdrawn := _consent_withdrawn(subjects, withdrawals)) is not None:
            events[Event.CONSENT_WITHDRAWN] = withdrawn
        last_transaction = max(
            (d for d in (row.document_date, _day(row.event_at)) if d is not None), default=None
        )
        facts = RecordFacts(
            id=str(row.id),
            category=category,
            client_id=str(row.organization_id),
            system_id=str(row.system_id),
            subject_ids=frozenset(str(s) for s in subjects),
            created_at=row.created_at,
            closed_at=row.closed_at,
            document_date=row.document_date,
            event_at=row.event_at,
            last_transaction_on=last_transaction,
            source=self.systems[row.system_id],
            events=events,
        )
        problem, category_rule, record_rule = self.rules_for(category, row.retention_rule)
        if problem is not None or category_rule is None:
            self.not_computable(row.id, None, problem or "no rule")
            return
        decision = decide(
            facts, category_rule, record_rule, holds=self.holds, as_of=self.report.as_of
        )
        rule = decision.rule
        if decision.outcome is Outcome.BLOCKED:
            self.blocked(row.id, rule, "hold", list(decision.hold_ids))
        elif decision.outcome is Outcome.NOT_COMPUTABLE:
            self.not_computable(row.id, rule, decision.reason or "not computable")
        elif decision.outcome is Outcome.NOT_YET_DUE:
            self.report.not_yet_due += 1
            assert decision.due_on is not None
            if self.report.next_due_on is None or decision.due_on < self.report.next_due_on:
                self.report.next_due_on = decision.due_on
        elif rule.requires_review:
            self.blocked(row.id, rule, "pending review", [])
        else:
            self.due(row.id, rule, client)

    def rules_for(
        self, category: str, record_code: str | None
    ) -> tuple[str | None, AnyRule | None, AnyRule | None]:
        for code in (category, record_code):
            if code is not None and code in self.broken:
                return f"rule {code} cannot be read: {self.broken[code]}", None, None
        category_rule = self.rules.get(category)
        if category_rule is None:
            return f"no current retention rule for category {category}", None, None
        if record_code is None:
            return None, category_rule, None
        record_rule = self.rules.get(record_code)
        if record_rule is None:
            return f"per-record rule {record_code} not found", None, None
        return None, category_rule, record_rule

    def due(self, record_id: int, rule: AnyRule, client: str) -> None:
        cap = self.report.ids_cap
        fields = {"rule": rule.id, "version": rule.version, "action": str(rule.action)}
        _group(self.report.due_by_rule, (rule.id, rule.version), fields).add(record_id, cap)
        _group(self.report.due_by_client, (client,), {"client": client}).add(record_id, cap)

    def blocked(self, record_id: int, rule: AnyRule, reason: str, hold_ids: list[str]) -> None:
        key = (reason, tuple(hold_ids), rule.id, rule.version)
        fields = {"reason": reason, "hold_ids": hold_ids, "rule": rule.id, "version": rule.version}
        _group(self.report.blocked, key, fields).add(record_id, self.report.ids_cap)

    def not_computable(self, record_id: int, rule: AnyRule | None, reason: str) -> None:
        code, version = (rule.id, rule.version) if rule else (None, None)
        fields = {"reason": reason, "rule": code, "version": version}
        _group(self.report.not_computable, (reason, code, version), fields).add(
            record_id, self.report.ids_cap
        )

    def credentials(self) -> None:
        """R16: clients whose agreement ended and who still have secrets in the vault."""
        counts = dict(
            self.session.execute(
                select(Secret.organization_id, func.count()).group_by(Secret.organization_id)
            ).all()
        )
        rule = self.rules.get(CREDENTIALS_CATEGORY)
        for org_id, terminated in sorted(self.terminations.items()):
            if not counts.get(org_id):
                continue
            facts = RecordFacts(
                id=f"vault:{org_id}",
                category=CREDENTIALS_CATEGORY,
                client_id=str(org_id),
                events={Event.AGREEMENT_TERMINATED: terminated},
            )
            status = CredentialsStatus(
                client=self.clients[org_id],
                secrets=counts[org_id],
                terminated_on=terminated,
                due_on=None,
                status="blocked",
                reason="",
            )
            if rule is None:
                status.reason = "no current retention rule for credentials"
            else:
                decision = decide(facts, rule, holds=self.holds, as_of=self.report.as_of)
                status.due_on = decision.due_on
                status.hold_ids = list(decision.hold_ids)
                if decision.hold_ids:
                    status.reason = "hold"
                elif decision.outcome is Outcome.NOT_YET_DUE:
                    status.status, status.reason = "not_yet_due", "retention period running"
                else:
                    status.status, status.reason = _handover_state(self.session, org_id)
            self.report.credentials.append(status)


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.astimezone(dt.UTC).date() if value else None


def _handover_state(session: Session, org_id: int) -> tuple[str, str]:
    """ready with an acknowledged hand-over that holds every current secret, else why not."""
    try:
        handover = purge_readiness(session, org_id)
    except HandoverRequired as exc:
        return "blocked", exc.reason
    return "ready", f"acknowledged hand-over {handover.id}"


def plan(
    session: Session, *, as_of: dt.date, batch: int = 2000, ids_cap: int = IDS_CAP
) -> PlanReport:
    """What would be disposed of on ``as_of``, what is blocked and why, nothing written."""
    if batch < 1 or ids_cap < 0:
        raise ValueError("batch must be at least 1 and ids_cap at least 0")
    report = PlanReport(as_of=as_of, ids_cap=ids_cap)
    planner = _Planner(session, report)
    for rows in iter_batches(session, batch):
        planner.run_batch(rows)
    planner.credentials()
    return report

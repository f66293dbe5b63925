"""Due dates, holds and the disposition decision for one record (DOMAIN.md R9, R15, R17-R19).

Pure functions over plain frozen values: the caller passes the record's facts, its rules, its
holds and ``as_of``; nothing here reads a clock or a database.

Precedence (R18), applied by ``decide`` in this order:

1. Any active hold whose scope covers the record blocks it, whatever the dates say.
2. An explicit per-record rule replaces the category default: the default is not consulted
   (it may be longer or shorter), and the record rule's action and review flag apply.
3. Retention obligations from other sources (``obligations``, e.g. the CRA billing rule next to
   the policy rule) are never replaced: the record is due only on the latest of all their due
   dates (the longest retention wins), and not computable if any of them is not computable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
from collections.abc import Iterable, Mapping, Sequence

from retention.errors import InvalidDefinition, RetentionError
from retention.rules import AnyRule, BillingRule, Event, Period, RecordDate, Trigger, coerce

RECOURSE_PERIOD = Period(months=6)  # R9: time to complain to the OPC after the response


def as_date(value: dt.date | None, field: str) -> dt.date | None:
    """A date; an aware datetime becomes its UTC date. Naive datetimes are refused."""
    if value is None or type(value) is dt.date:
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise RetentionError(f"{field} must be a date or an aware datetime")
        return value.astimezone(dt.UTC).date()
    if value is not None and not isinstance(value, dt.date):
        raise RetentionError(f"{field} must be a date, not {type(value).__name__}")
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecordFacts:
    """What the rules need to know about one record, as plain values.

    ``last_transaction_on`` is the date of the latest transaction related to a billing document
    (at least the document's own date); ``events`` maps each recorded event to its effective date,
    which may be back-dated; ``source`` names the log source of a security log.
    """

    id: str
    category: str
    client_id: str | None = None
    system_id: str | None = None
    subject_ids: frozenset[str] = frozenset()
    created_at: dt.date | None = None
    closed_at: dt.date | None = None
    document_date: dt.date | None = None
    event_at: dt.date | None = None
    last_transaction_on: dt.date | None = None
    source: str | None = None
    events: Mapping[Event, dt.date] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in (*RecordDate, "last_transaction_on"):
            set_(self, name, as_date(getattr(self, name), name))
        set_(self, "subject_ids", frozenset(self.subject_ids))
        events = {
            coerce(Event, name, "event"): as_date(day, f"event {name}")
            for name, day in self.events.items()
        }
        set_(self, "events", types.MappingProxyType(events))


class HoldKind(enum.StrEnum):
    LEGAL = "legal"
    RECOURSE = "recourse"
    BREACH = "breach"
    CRA_OBJECTION = "cra_objection"


class Scope(enum.StrEnum):
    SUBJECT = "subject"
    CLIENT = "client"
    SYSTEM = "system"
    CATEGORY = "category"
    RECORD = "record"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hold:
    """A hold over every record in its scope (R19), active by whole days.

    Active from ``placed_at`` through ``released_at`` inclusive (the release day still blocks, so
    a purge the same day cannot overtake the release). No automatic expiry, except that a
    recourse hold with ``until`` lapses after that day unless ``open_ended`` (a complaint).
    """

    id: str
    kind: HoldKind
    scope: Scope
    scope_value: str
    placed_at: dt.date
    released_at: dt.date | None = None
    until: dt.date | None = None
    open_ended: bool = False

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", HoldKind(self.kind))
            object.__setattr__(self, "scope", Scope(self.scope))
        except ValueError as exc:
            raise InvalidDefinition(f"hold {self.id}: {exc}") from None
        for name in ("placed_at", "released_at", "until"):
            object.__setattr__(self, name, as_date(getattr(self, name), f"hold {name}"))
        if self.placed_at is None:
            raise InvalidDefinition(f"hold {self.id}: placed_at is required")
        if self.released_at is not None and self.released_at < self.placed_at:
            raise InvalidDefinition(f"hold {self.id}: released before it was placed")
        if self.kind is not HoldKind.RECOURSE and (self.until is not None or self.open_ended):
            raise InvalidDefinition(f"hold {self.id}: only a recourse hold has until or open_ended")

    def is_active(self, as_of: dt.date) -> bool:
        """True if the hold is in force on ``as_of``."""
        if as_of < self.placed_at:
            return False
        if self.released_at is not None and as_of > self.released_at:
            return False
        return self.open_ended or self.until is None or as_of <= self.until

    def covers(self, facts: RecordFacts) -> bool:
        """True if the record is within the hold's scope."""
        match self.scope:
            case Scope.SUBJECT:
                return self.scope_value in facts.subject_ids
            case Scope.CLIENT:
                return self.scope_value == facts.client_id
            case Scope.SYSTEM:
                return self.scope_value == facts.system_id
            case Scope.CATEGORY:
                return self.scope_value == facts.category
            case _:
                return self.scope_value == facts.id


def recourse_hold(
    *,
    id: str,
    subject_id: str,
    placed_at: dt.date,
    due_at: dt.date,
    responded_at: dt.date | None = None,
    complaint: bool = False,
) -> Hold:
    """The R9 recourse hold on a requester's records.

    Lasts until max(responded, due) + 6 months; with no response yet it has no end (the service
    recomputes it when the response is recorded); open-ended once a complaint is recorded.
    """
    responded = as_date(responded_at, "responded_at")
    due = as_date(due_at, "due_at")
    if due is None:
        raise InvalidDefinition(f"hold {id}: a recourse hold needs the request's due date")
    until = None if responded is None else RECOURSE_PERIOD.after(max(responded, due))
    return Hold(
        id=id,
        kind=HoldKind.RECOURSE,
        scope=Scope.SUBJECT,
        scope_value=subject_id,
        placed_at=placed_at,
        until=until,
        open_ended=complaint,
    )


def active_holds(holds: Iterable[Hold], facts: RecordFacts, as_of: dt.date) -> tuple[Hold, ...]:
    """The holds in force on ``as_of`` whose scope covers the record, in the given order."""
    return tuple(hold for hold in holds if hold.covers(facts) and hold.is_active(as_of))


@dataclasses.dataclass(frozen=True)
class NotComputable:
    """Why a due date cannot be computed yet (a missing date, or an event not recorded)."""

    reason: str


def compute_due(rule: AnyRule, facts: RecordFacts) -> dt.date | NotComputable:
    """The rule's due date for the record, or why it cannot be computed yet."""
    if isinstance(rule, BillingRule):
        if facts.document_date is None:
            return NotComputable("document_date missing")
        if facts.last_transaction_on is None:
            # Not defaulted to the document date: a transaction not yet recorded could extend it.
            return NotComputable("last_transaction_on missing")
        return rule.due(facts.document_date, facts.last_transaction_on)
    if rule.trigger is Trigger.EVENT:
        assert rule.event is not None
        start = facts.events.get(rule.event)
        if start is None:
            return NotComputable(f"event {rule.event} not recorded")
    else:
        assert rule.date_field is not None
        start = getattr(facts, rule.date_field)
        if start is None:
            return NotComputable(f"{rule.date_field} missing")
    return rule.period_for(facts.source).after(start)


def due_date(rule: AnyRule, facts: RecordFacts) -> dt.date | None:
    """The rule's due date for the record; None if not computable yet (R15)."""
    due = compute_due(rule, facts)
    return None if isinstance(due, NotComputable) else due


class Outcome(enum.StrEnum):
    DUE = "due"
    NOT_YET_DUE = "not_yet_due"
    BLOCKED = "blocked"
    NOT_COMPUTABLE = "not_computable"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision:
    """What to do with one record on ``as_of``.

    ``rule`` is the governing rule (record rule, else category default): its id, version, action
    and review flag go into the disposition. ``retained_by`` is the rule whose due date won (the
    governing rule or an obligation). ``due_on`` is set whenever computable, even when blocked.
    """

    record_id: str
    outcome: Outcome
    rule: AnyRule
    as_of: dt.date
    due_on: dt.date | None = None
    retained_by: AnyRule | None = None
    hold_ids: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def is_due(self) -> bool:
        return self.outcome is Outcome.DUE


def decide(
    facts: RecordFacts,
    category_rule: AnyRule,
    record_rule: AnyRule | None = None,
    *,
    holds: Iterable[Hold] = (),
    as_of: dt.date,
    obligations: Sequence[AnyRule] = (),
    holds_on: dt.date | None = None,
) -> Decision:
    """Apply R18 precedence (see the module docstring) to one record on ``as_of``.

    Holds are judged on ``holds_on`` (default ``as_of``): a purge executed today for an earlier
    day must still respect a hold placed since, so the executor passes the later of the two.
    """
    if category_rule.category != facts.category:
        raise RetentionError(
            f"rule {category_rule.id} is for category {category_rule.category!r}, "
            f"record {facts.id} is {facts.category!r}"
        )
    governing = record_rule if record_rule is not None else category_rule
    due_on: dt.date | None = None
    retained_by: AnyRule | None = None
    reason: str | None = None
    for rule in (governing, *obligations):
        due = compute_due(rule, facts)
        if isinstance(due, NotComputable):
            reason = reason or f"rule {rule.id} v{rule.version}: {due.reason}"
        elif due_on is None or due > due_on:
            due_on, retained_by = due, rule
    if reason is not None:
        due_on = retained_by = None
    blocking = active_holds(holds, facts, holds_on or as_of)
    if blocking:
        outcome = Outcome.BLOCKED
    elif reason is not None:
        outcome = Outcome.NOT_COMPUTABLE
    else:
        assert due_on is not None
        outcome = Outcome.DUE if due_on <= as_of else Outcome.NOT_YET_DUE
    return Decision(
        record_id=facts.id,
        outcome=outcome,
        rule=governing,
        as_of=as_of,
        due_on=due_on,
        retained_by=retained_by,
        hold_ids=tuple(hold.id for hold in blocking),
        reason=reason,
    )

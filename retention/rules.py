"""Frozen, versioned retention rules and calendar-correct periods (DOMAIN.md R14-R17).

Everything here is pure: no clock, no database. A rule is never edited in place: ``revise``
returns the next version, so a disposition can cite the exact ``(id, version)`` it applied.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Mapping
from typing import Any, TypeVar

from retention.errors import InvalidDefinition

_E = TypeVar("_E", bound=enum.Enum)
_R = TypeVar("_R", "Rule", "BillingRule")


class Trigger(enum.StrEnum):
    """What starts the clock: a date of the record itself, or a recorded event (R15)."""

    TIME = "time"
    EVENT = "event"


class RecordDate(enum.StrEnum):
    """The named dates of a record that a time rule may count from."""

    CREATED_AT = "created_at"
    CLOSED_AT = "closed_at"
    DOCUMENT_DATE = "document_date"
    EVENT_AT = "event_at"


class Event(enum.StrEnum):
    """Events an event rule waits for; they may be recorded with an earlier (back-dated) date."""

    AGREEMENT_TERMINATED = "agreement_terminated"
    RELATIONSHIP_ENDED = "relationship_ended"
    CONSENT_WITHDRAWN = "consent_withdrawn"


class Action(enum.StrEnum):
    """How a record is disposed of once due."""

    DELETE = "delete"
    ANONYMISE = "anonymise"
    CRYPTO_SHRED = "crypto_shred"
    TRANSFER_THEN_DELETE = "transfer_then_delete"


def coerce(enum_cls: type[_E], value: object, field: str) -> _E:
    """``value`` as a member of ``enum_cls`` (plain strings from a database are accepted)."""
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum_cls)
        raise InvalidDefinition(f"{field} must be one of {allowed}, not {value!r}") from None


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` plus whole months; a day missing in the target month becomes its last day.

    So Feb 29 + 1 year is Feb 28, and Aug 31 + 6 months is the last day of February.
    """
    years, month_index = divmod(start.month - 1 + months, 12)
    year = start.year + years
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return dt.date(year, month_index + 1, min(start.day, last_day))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Period:
    """A calendar period: whole years and months first (clamped to month ends), then days."""

    years: int = 0
    months: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        for name in ("years", "months", "days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidDefinition(f"period {name} must be a whole number >= 0, not {value!r}")

    def after(self, start: dt.date) -> dt.date:
        """The date this period after ``start``."""
        shifted = add_months(start, self.years * 12 + self.months)
        return shifted + dt.timedelta(days=self.days)

    def min_days(self) -> int:
        """The fewest days this period spans from any start date (a year is at least 365 days,
        a month at least 28): ``after(start) - start >= min_days()`` always. Lets a database
        query leave out records that cannot be due yet."""
        return self.years * 365 + self.months * 28 + self.days

    def is_at_most(self, other: Period) -> bool:
        """True if this period never ends after ``other`` from the same start date.

        Years and months have no fixed length in days, so this is checked from every start date of
        a full leap-year cycle (every month length, month end and Feb 29 occurs in it).
        """
        return _never_longer(self, other)

    def __str__(self) -> str:
        parts = [f"{n} {unit}" for n, unit in zip(_fields(self), ("y", "m", "d"), strict=True) if n]
        return " ".join(parts) or "0 d"


def _fields(period: Period) -> tuple[int, int, int]:
    return period.years, period.months, period.days


_CYCLE_START = dt.date(2000, 1, 1)
_CYCLE_DAYS = 366 + 3 * 365


@functools.lru_cache(maxsize=1024)
def _never_longer(shorter: Period, longer: Period) -> bool:
    if not (shorter.years * 12 + shorter.months) and not (longer.years * 12 + longer.months):
        return shorter.days <= longer.days
    starts = (_CYCLE_START + dt.timedelta(days=n) for n in range(_CYCLE_DAYS))
    return all(shorter.after(start) <= longer.after(start) for start in starts)


def _check_identity(rule_id: object, category: object, version: object) -> None:
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise InvalidDefinition("a rule needs a non-empty id")
    if not isinstance(category, str) or not category.strip():
        raise InvalidDefinition(f"rule {rule_id}: category must be a non-empty string")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidDefinition(f"rule {rule_id}: version must be an integer >= 1, not {version!r}")


def _revise(rule: _R, changes: dict[str, Any]) -> _R:
    forbidden = sorted({"id", "version"} & changes.keys())
    if forbidden:
        raise InvalidDefinition(f"rule {rule.id}: revise cannot change {', '.join(forbidden)}")
    try:
        return dataclasses.replace(rule, version=rule.version + 1, **changes)
    except TypeError as exc:  # an unknown field name
        raise InvalidDefinition(f"rule {rule.id}: {exc}") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rule:
    """A time or event retention rule for one category (R14, R15).

    A time rule counts ``period`` from the record's ``date_field``; an event rule counts it from
    the date of ``event``, and computes nothing until that event is recorded. ``minimum`` and
    ``maximum`` bound ``period`` and every per-source period in ``source_periods`` (security logs:
    90 to 365 days per log source); values outside are refused.
    """

    id: str
    category: str
    trigger: Trigger
    period: Period
    action: Action = Action.DELETE
    version: int = 1
    date_field: RecordDate | None = None
    event: Event | None = None
    minimum: Period | None = None
    maximum: Period | None = None
    source_periods: tuple[tuple[str, Period], ...] = ()
    requires_review: bool = False

    def __post_init__(self) -> None:
        _check_identity(self.id, self.category, self.version)
        set_ = functools.partial(object.__setattr__, self)
        set_("trigger", coerce(Trigger, self.trigger, f"rule {self.id}: trigger"))
        set_("action", coerce(Action, self.action, f"rule {self.id}: action"))
        if self.trigger is Trigger.TIME:
            if self.date_field is None or self.event is not None:
                raise InvalidDefinition(
                    f"rule {self.id}: a time rule needs a date_field and no event"
                )
            set_("date_field", coerce(RecordDate, self.date_field, f"rule {self.id}: date_field"))
        else:
            if self.event is None or self.date_field is not None:
                raise InvalidDefinition(
                    f"rule {self.id}: an event rule needs an event and no date_field"
                )
            set_("event", coerce(Event, self.event, f"rule {self.id}: event"))
        set_("source_periods", tuple(sorted(self.source_periods)))
        self._check_bounds()

    def _check_bounds(self) -> None:
        for name in ("period", "minimum", "maximum"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Period):
                raise InvalidDefinition(f"rule {self.id}: {name} must be a Period")
        if self.minimum and self.maximum and not self.minimum.is_at_most(self.maximum):
            raise InvalidDefinition(
                f"rule {self.id}: minimum {self.minimum} is longer than maximum {self.maximum}"
            )
        sources = [source for source, _ in self.source_periods]
        if len(set(sources)) != len(sources) or not all(
            isinstance(s, str) and s.strip() for s in sources
        ):
            raise InvalidDefinition(f"rule {self.id}: log sources must be distinct non-empty names")
        labelled = [("period", self.period)]
        labelled += [(f"period of source {s!r}", p) for s, p in self.source_periods]
        for label, period in labelled:
            if not isinstance(period, Period):
                raise InvalidDefinition(f"rule {self.id}: {label} must be a Period")
            if self.minimum and not self.minimum.is_at_most(period):
                raise InvalidDefinition(
                    f"rule {self.id}: {label} {period} is shorter than the minimum {self.minimum}"
                )
            if self.maximum and not period.is_at_most(self.maximum):
                raise InvalidDefinition(
                    f"rule {self.id}: {label} {period} is longer than the maximum {self.maximum}"
                )

    def period_for(self, source: str | None = None) -> Period:
        """The period for a log ``source``: its own if configured, else the rule's default."""
        return dict(self.source_periods).get(source or "", self.period)

    def revise(self, **changes: Any) -> Rule:
        """The next version with ``changes`` applied and validated; this one is unchanged."""
        return _revise(self, changes)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BillingRule:
    """CRA retention of billing records (R17).

    Due on the later of ``document_date + document_period`` (7 years) and the end of the fiscal
    year that contains the last related transaction ``+ transaction_period`` (6 years). The
    fiscal year-end is a setting, given as ``(month, day)``; (2, 29) means the last day of
    February. Changing it makes a new rule version, and due dates are recomputed from it.
    """

    id: str
    category: str = "billing"
    fiscal_year_end: tuple[int, int] = (12, 31)
    document_period: Period = Period(years=7)
    transaction_period: Period = Period(years=6)
    action: Action = Action.DELETE
    version: int = 1
    requires_review: bool = False

    trigger = Trigger.TIME

    def __post_init__(self) -> None:
        _check_identity(self.id, self.category, self.version)
        object.__setattr__(self, "action", coerce(Action, self.action, f"rule {self.id}: action"))
        try:
            month, day = self.fiscal_year_end
            dt.date(2000, month, day)  # a leap year, so Feb 29 is accepted
        except (TypeError, ValueError):
            raise InvalidDefinition(
                f"rule {self.id}: fiscal_year_end must be a valid (month, day), "
                f"not {self.fiscal_year_end!r}"
            ) from None
        object.__setattr__(self, "fiscal_year_end", (month, day))
        for name in ("document_period", "transaction_period"):
            if not isinstance(getattr(self, name), Period):
                raise InvalidDefinition(f"rule {self.id}: {name} must be a Period")

    def fiscal_year_end_on_or_after(self, day: dt.date) -> dt.date:
        """The last day of the fiscal year that contains ``day``."""
        end = self._year_end_in(day.year)
        return end if end >= day else self._year_end_in(day.year + 1)

    def _year_end_in(self, year: int) -> dt.date:
        month, day = self.fiscal_year_end
        return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))

    def due(self, document_date: dt.date, last_transaction_on: dt.date) -> dt.date:
        """The R17 due date: the later of the document and the fiscal-year branches."""
        by_document = self.document_period.after(document_date)
        year_end = self.fiscal_year_end_on_or_after(last_transaction_on)
        return max(by_document, self.transaction_period.after(year_end))

    def revise(self, **changes: Any) -> BillingRule:
        """The next version with ``changes`` applied and validated; this one is unchanged."""
        return _revise(self, changes)


AnyRule = Rule | BillingRule

SECURITY_LOG_MINIMUM = Period(days=90)
SECURITY_LOG_MAXIMUM = Period(days=365)


def security_log_rule(
    *,
    id: str,
    default_days: int,
    source_days: Mapping[str, int] | None = None,
    category: str = "security_logs",
    action: Action = Action.DELETE,
    version: int = 1,
    requires_review: bool = False,
) -> Rule:
    """Security and system logs: created + N days, N per log source within [90, 365] (policy)."""
    return Rule(
        id=id,
        category=category,
        trigger=Trigger.TIME,
        date_field=RecordDate.CREATED_AT,
        period=Period(days=default_days),
        minimum=SECURITY_LOG_MINIMUM,
        maximum=SECURITY_LOG_MAXIMUM,
        source_periods=tuple(
            sorted((source, Period(days=days)) for source, days in (source_days or {}).items())
        ),
        action=action,
        version=version,
        requires_review=requires_review,
    )

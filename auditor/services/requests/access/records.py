"""The records of an access package (R6, R8): every record of the subject, read in batches.

Each batch is evaluated by the retention ``Evaluator`` (rule, period, disposal date, holds),
its content severed of other people's data (``request_redaction``), serialised at once with
orjson and dropped: only the JSON bytes of every record, the records the PDF shows in full and
small counters stay in memory. Voluminous categories (security logs) are summarised for the PDF
by system and month; the JSON keeps every entry.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from auditor.models import Hold, System
from auditor.services.requests.access.lookup import (
    Span,
    content_of,
    learn_people,
    load_categories,
    read_batch,
    rule_words,
)
from auditor.services.requests.access.redaction import OtherPerson, Redaction, Redactor
from auditor.services.retention import Evaluation, Evaluator
from retention import Outcome

#: categories the PDF summarises by system and month (every entry stays in the JSON)
SUMMARISED_CATEGORIES = frozenset({"security_logs"})
BATCH = 2000
JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


class JsonRecords:
    """Records serialised one by one into one buffer, then spliced after a document's other
    sections. (orjson's own bytes objects are over-allocated, about 8 KB each however small the
    record: 100,000 of them kept apart would take 800 MB.)"""

    SEPARATOR = b",\n    "

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.count = 0

    def add(self, record: Mapping[str, Any]) -> bytes:
        encoded = orjson.dumps(record, option=JSON_OPTIONS)
        if self.count:
            self.buffer += self.SEPARATOR
        self.buffer += encoded
        self.count += 1
        return encoded

    def document(self, head: Mapping[str, Any]) -> bytes:
        """``head`` (indented) with a last key ``records``: one record per line."""
        encoded = orjson.dumps(head, option=JSON_OPTIONS | orjson.OPT_INDENT_2)
        assert encoded.endswith(b"\n}"), "a non-empty object"
        if not self.count:
            return encoded[:-2] + b',\n  "records": []\n}'
        return b"".join((encoded[:-2], b',\n  "records": [\n    ', self.buffer, b"\n  ]\n}"))


# the Evaluator's verdict as the package states it
_STATUS = {
    Outcome.NOT_YET_DUE: "scheduled",
    Outcome.DUE: "due",
    Outcome.NOT_COMPUTABLE: "not_yet_known",
}


class RecordsPass:
    """One pass over the subject's records; ``run()`` then read the attributes."""

    def __init__(
        self,
        session: Session,
        subject_id: int,
        redactor: Redactor,
        *,
        as_of: dt.date,
        batch: int = BATCH,
    ) -> None:
        self.session = session
        self.subject_id = subject_id
        self.redactor = redactor
        self.batch = batch
        self.as_of = as_of
        self.evaluator = Evaluator(session, as_of=as_of)
        self.categories = load_categories(session)
        self.systems = {s.id: s for s in session.scalars(select(System))}
        self.hold_kinds = {str(i): k for i, k in session.execute(select(Hold.id, Hold.kind))}
        self.people: dict[int, OtherPerson] = {}
        self.records = JsonRecords()  # every record
        self.shown: list[dict[str, Any]] = []  # the records the PDF shows in full
        self.redactions: list[Redaction] = []
        self.redacted: list[tuple[Redaction, str, str]] = []  # with category and system codes
        # per (category, system); per (category, period, status); per (system, category, month)
        self.spans: dict[tuple[int, int], Span] = {}
        self.statuses: Counter[tuple[int, str | None, str]] = Counter()
        self.log_groups: dict[tuple[int, int, str], Span] = {}
        self.by_category: dict[int, Span] = {}
        self.by_system: dict[int, Span] = {}
        self.system_categories: dict[int, set[int]] = {}
        self.held: Counter[str] = Counter()  # hold id: records it keeps

    def run(self) -> RecordsPass:
        after = 0
        while rows := read_batch(self.session, self.subject_id, after=after, limit=self.batch):
            self.run_batch(rows)
            after = rows[-1].id
        for (category_id, system_id), span in self.spans.items():
            self.by_category.setdefault(category_id, Span()).merge(span)
            self.by_system.setdefault(system_id, Span()).merge(span)
            self.system_categories.setdefault(system_id, set()).add(category_id)
        return self

    def run_batch(self, rows: Sequence[Row[Any]]) -> None:
        verdicts = self.evaluator.evaluate(rows)
        subject_ids = set().union(*(v.subject_ids for v in verdicts))
        learn_people(self.session, subject_ids - {self.subject_id}, self.people)
        for verdict in verdicts:
            self.one(verdict)

    def retention(self, verdict: Evaluation, source: str) -> dict[str, Any]:
        """The record's rule, period, disposal date and status. A hold blocks a record's disposal
        whatever its date (R18), but it keeps the record longer only once the date has passed:
        only then is the record "held" (and counted against the hold)."""
        rule, due = verdict.rule, verdict.due_on
        status = _STATUS.get(verdict.status, "kept")
        if verdict.status == Outcome.BLOCKED:
            if verdict.reason != "hold":
                status = "awaiting_review"
            elif due is None:
                status = "not_yet_known"
            elif due > self.as_of:
                status = "scheduled"
            else:
                status = "held"
                for hold_id in verdict.hold_ids:
                    self.held[hold_id] += 1
        held_by = verdict.hold_ids
        return {
            "rule": rule.id if rule else None,
            "version": rule.version if rule else None,
            "period": rule_words(rule, source) if rule else None,
            "dispose_on": due,
            "status": status,
            "held_by": sorted({self.hold_kinds.get(h, "hold") for h in held_by}) if held_by else [],
        }

    def one(self, verdict: Evaluation) -> None:
        row = verdict.row
        category = self.categories[row.category_id]
        system = self.systems[row.system_id]
        content = content_of(row)
        others: tuple[OtherPerson, ...] = ()
        if len(verdict.subject_ids) > 1:
            others = tuple(self.people[s] for s in sorted(verdict.subject_ids - {self.subject_id}))
        content, found = self.redactor.redact(row.id, content, others)
        if found:
            self.redactions.extend(found)
            self.redacted.extend((redaction, category.code, system.code) for redaction in found)
        retention = self.retention(verdict, system.code)
        record = {
            "id": row.id,
            "external_id": row.external_id,
            "category": category.code,
            "category_name": category.name,
            "system": system.code,
            "system_name": system.name,
            "created_at": row.created_at,
            "closed_at": row.closed_at,
            "document_date": row.document_date,
            "event_at": row.event_at,
            "purposes": category.purpose_names,
            "disclosed_to": category.third_parties,
            "retention": retention,
            "content": content,
        }
        encoded = self.records.add(record)
        created, dispose_on = row.created_at, verdict.due_on
        key = (row.category_id, row.system_id)
        span = self.spans.get(key) or self.spans.setdefault(key, Span())
        span.add(created, dispose_on)
        self.statuses[(row.category_id, retention["period"], retention["status"])] += 1
        if category.code in SUMMARISED_CATEGORIES:
            group = (row.system_id, row.category_id, f"{created.year:04d}-{created.month:02d}")
            span = self.log_groups.get(group) or self.log_groups.setdefault(group, Span())
            span.add(created, dispose_on)
        else:
            self.shown.append(orjson.loads(encoded))

    def category_retention(self, category_id: int) -> tuple[list[str], dict[str, int]]:
        """The periods and the status counts of a category's records."""
        periods: set[str] = set()
        statuses: Counter[str] = Counter()
        for (category, period, status), count in self.statuses.items():
            if category == category_id:
                if period:
                    periods.add(period)
                statuses[status] += count
        return sorted(periods), dict(sorted(statuses.items()))

    # -- the package's sections -----------------------------------------------------------------

    def categories_section(self) -> list[dict[str, Any]]:
        out = []
        for category_id, span in sorted(
            self.by_category.items(), key=lambda item: self.categories[item[0]].code
        ):
            info = self.categories[category_id]
            periods, statuses = self.category_retention(category_id)
            out.append(
                {
                    "category": info.code,
                    "name": info.name,
                    "description": info.description,
                    "records": span.count,
                    "summarised_in_report": info.code in SUMMARISED_CATEGORIES,
                    "purposes": info.purpose_names,
                    "disclosed_to": info.third_parties,
                    "basis": info.basis,
                    "retention_periods": periods,
                    "retention_status": statuses,
                    **{k: v for k, v in span.to_dict().items() if k != "count"},
                }
            )
        return out

    def sources_section(self) -> list[dict[str, Any]]:
        out = []
        for system_id, span in sorted(
            self.by_system.items(), key=lambda item: self.systems[item[0]].code
        ):
            system = self.systems[system_id]
            out.append(
                {
                    "system": system.code,
                    "name": system.name,
                    "kind": system.kind,
                    "vendor": system.vendor,
                    "hosting_country": system.hosting_country,
                    "records": span.count,
                    "categories": sorted(
                        self.categories[c].name for c in self.system_categories[system_id]
                    ),
                    "first": span.first,
                    "last": span.last,
                }
            )
        return out

    def uses_section(self) -> dict[str, dict[str, Any]]:
        """Per purpose (by code): name, description, categories and records."""
        uses: dict[str, dict[str, Any]] = {}
        for category_id, span in self.by_category.items():
            info = self.categories[category_id]
            for code, name, description in info.purposes:
                use = uses.setdefault(
                    code,
                    {
                        "purpose": code,
                        "name": name,
                        "description": description,
                        "categories": [],
                        "records": 0,
                    },
                )
                use["categories"] = sorted({*use["categories"], info.name})
                use["records"] += span.count
        return uses

    def disclosures_section(self) -> list[dict[str, Any]]:
        out = []
        for category_id, span in self.by_category.items():
            info = self.categories[category_id]
            out += [
                {**d, "category": info.code, "category_name": info.name, "records": span.count}
                for d in info.disclosures
            ]
        return sorted(out, key=lambda d: (d["name"], d["category"], d["purpose"]))

    def log_summary_section(self) -> list[dict[str, Any]]:
        out = []
        for (system_id, category_id, month), span in sorted(
            self.log_groups.items(),
            key=lambda item: (self.systems[item[0][0]].code, item[0][1], item[0][2]),
        ):
            system = self.systems[system_id]
            out.append(
                {
                    "system": system.code,
                    "system_name": system.name,
                    "category": self.categories[category_id].code,
                    "month": month,
                    **span.to_dict(),
                }
            )
        return out

"""Dispose of one batch of records the database selected as due (``fast.due_filter``), inside
the caller's transaction: the same deletes, audit event, batches and lines as
``batch.BatchDisposer``, built without an object per record (see ``fast``'s docstring).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import operator
import typing
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, func, select

from auditor.models import Disposition, DispositionBatch, Record
from auditor.services import audit
from auditor.services.retention import bulk, ledger
from auditor.services.retention import lines as canonical
from auditor.services.retention.batch import (
    METHODS,
    POST_CHECKS,
    RECORD_DIGEST,
    BatchDisposer,
    subject_digest,
    subject_header,
)
from auditor.services.retention.fast import FastCategory

LINE_COLUMNS = tuple(c.name for c in Disposition.__table__.columns)
RECORD_COLUMNS = LINE_COLUMNS[:9]  # a record's line: no legacy
# placeholders a template is made with: each appears once in the encoded line
_ID, _REF, _ORG, _LAST = "\x01I", "\x01R", "\x01O", "\x01T"
_DIGEST = b"\xab" * 32
_DUE, _START = dt.date(1111, 1, 11), dt.date(1222, 2, 22)
# a part of the keyed digest is its 4-byte big-endian length, then its UTF-8 bytes
Part = typing.Callable[[str], bytes]


def _part(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(4, "big") + raw


def _content_part(value: str) -> bytes:
    """``_part`` of a content digest (64 hex digits, so its length is known)."""
    return b"\x00\x00\x00@" + value.encode() if len(value) == 64 else _part(value)


# a summary's share of a batch: its encoded lines, their count, the group, first and last line
Written = tuple[bytes, int, tuple[Any, ...], dict[str, Any], dict[str, Any]]


class FastDisposer(BatchDisposer):
    """``BatchDisposer`` for records ``fast.due_filter`` selected: ids in, proof written."""

    def __init__(
        self, *args: Any, categories: dict[int, FastCategory], as_of: dt.date, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.categories = categories
        self.as_of = as_of
        self._macs = {
            system_id: hmac.new(self.key, _part(RECORD_DIGEST) + _part(code), hashlib.sha256)
            for system_id, code in self.systems.items()
        }

    def dispose_ids(
        self, ids: Sequence[int], links: dict[int, list[int]]
    ) -> tuple[Counter[tuple[Any, ...]], int, list[Written]]:
        """Delete ``ids`` and write their proof; ``links``: the subjects of each (read before the
        delete, which cascades to them: ``fast.due_links``). Returns the records disposed of
        per (rule, version, category, method), the subjects removed, and what the run's summary
        adds."""
        session = self.session
        (only,) = self.categories.values()  # one category per batch (fast.due_filter)
        gone = sorted(
            session.execute(
                delete(Record)
                .where(bulk.id_in(session, Record.id, ids))
                .returning(
                    Record.id,
                    Record.organization_id,
                    Record.category_id,
                    Record.system_id,
                    Record.external_id,
                    Record.content_digest,
                    getattr(Record, only.date_field).label("start"),
                    Record.event_at,
                ),
                execution_options={"synchronize_session": False},
            ).all(),
            key=_first,
        )
        # every id returned: each was deleted by this statement, so none is left in this
        # transaction; fewer (another transaction removed some first): check none survived
        survivors = len(gone) < len(ids) and session.scalar(
            select(func.count()).where(bulk.id_in(session, Record.id, ids))
        )
        if survivors:
            raise RuntimeError("records survived their delete")  # rolled back, nothing recorded
        if not gone:
            return Counter(), 0, []
        by_category: dict[int, list[Any]] = {}
        for row in gone:
            by_category.setdefault(row.category_id, []).append(row)
        last_of: dict[int, Any] = {}
        for row in gone:
            for subject_id in links.get(row.id, ()):
                last_of[subject_id] = row
        subjects = self._orphans(set(last_of))
        by_rule: dict[tuple[str, int], list[tuple[int, str, str | None, list[str]]]] = {}
        for subject in subjects:
            rule = self.categories[last_of[subject[0]].category_id].rule
            by_rule.setdefault((rule.id, rule.version), []).append(subject)
        count = len(by_category) + len(by_rule)
        # the audit head lock is held since the batch began: these ids stay consecutive
        batch_ids = bulk.reserve_block(session, _BATCHES, count)
        line_ids = bulk.reserve_block(session, _LINES, len(gone) + len(subjects))
        batches: list[dict[str, Any]] = []
        records: list[tuple[Any, ...]] = []  # record lines, as the drivers take them
        tuples: list[tuple[Any, ...]] = []  # subject lines
        summary: list[Written] = []
        written = 0
        disposed: Counter[tuple[Any, ...]] = Counter()
        for batch_id, (category_id, rows) in zip(batch_ids, by_category.items(), strict=False):
            category = self.categories[category_id]
            first = line_ids[written]
            batch = self._batch(batch_id, category, first, len(rows))
            encoded = self._encode(batch, category, rows, line_ids[written:], records)
            batch["digest"] = hashlib.sha256(encoded).hexdigest()
            batches.append(batch)
            rule = category.rule
            group = (rule.id, rule.version, category.code, "record", batch["method"])
            disposed[(rule.id, rule.version, category.code, batch["method"])] += len(rows)
            summary.append((encoded, len(rows), group, *self._ends(batch, first, len(rows))))
            written += len(rows)
        for batch_id, people in zip(batch_ids[len(by_category) :], by_rule.values(), strict=True):
            batch, encoded, group = self._subjects(
                batch_id, line_ids[written:], people, last_of, tuples
            )
            batches.append(batch)
            ends = self._ends(batch, batch["first_id"], len(people))
            summary.append((encoded, len(people), group, *ends))
            written += len(people)
        rule_counts = Counter(
            f"{c.rule.id} v{c.rule.version}" for c in (self.categories[r.category_id] for r in gone)
        )
        event = audit.record(
            session,
            actor=self.actor,
            action="retention.dispose",
            object_type="purge_run",
            object_id=self.run_id,
            details={
                "records": len(gone),
                "subjects": len(subjects),
                "rules": dict(sorted(rule_counts.items())),
                "first_record_id": gone[0].id,
                "last_record_id": gone[-1].id,
                "holds_in_force": self.holds_in_force,
                "batches": [
                    {"batch": b["id"], "lines": b["lines"], "digest": b["digest"]} for b in batches
                ],
            },
            now=self.now,
        )
        for batch in batches:
            batch["audit_seq"] = event.seq
        bulk.copy_rows(session, _BATCHES, batches)
        bulk.copy_tuples(session, _LINES, RECORD_COLUMNS, records, convert=False)
        bulk.copy_tuples(session, _LINES, LINE_COLUMNS, tuples)
        return disposed, len(subjects), summary

    # -- one batch ------------------------------------------------------------------------------

    def _batch(
        self, batch_id: int, category: FastCategory, first: int, count: int
    ) -> dict[str, Any]:
        rule = category.rule
        header = ledger.Header(
            subject_type="record",
            rule=rule.id,
            rule_version=rule.version,
            method=METHODS[str(rule.action)],
            post_check=POST_CHECKS["delete"],
            start_field=category.date_field,
            evidence=(("as_of", self.as_of.isoformat()),),
        )
        return self._row(header, batch_id, first, count)

    def _row(self, header: ledger.Header, batch_id: int, first: int, count: int) -> dict[str, Any]:
        return ledger.batch_row(
            header,
            batch_id=batch_id,
            now=self.now,
            run_id=self.run_id,
            executor=self.actor.name,
            holds_in_force=len(self.holds_in_force),
            first_id=first,
            lines=count,
        )

    def _encode(
        self,
        batch: dict[str, Any],
        category: FastCategory,
        rows: list[Any],
        line_ids: Sequence[int],
        tuples: list[tuple[Any, ...]],
    ) -> bytes:
        """The batch's lines, encoded with a template (and their rows added to ``tuples``)."""
        billing = category.transaction_cutoff is not None
        template, order = _template(batch, category.code, billing=billing)
        pick = operator.itemgetter(*order)
        document = category.date_field == "document_date"
        rule, as_of, days = category.rule, self.as_of, category.days
        macs, code, batch_id = self._macs, category.code, batch["id"]
        utc = dt.UTC
        out: list[str] = []
        append, keep = out.append, tuples.append
        for line_id, row in zip(line_ids, rows, strict=False):
            record_id, org_id, _, system_id, external_id, content, value, event = row
            # the start's day (and the last transaction), its due day, as ISO text: memoised
            start = value if document else _day(value, utc)
            last = (
                (max(start, _day(event, utc)) if event is not None else start) if billing else None
            )
            key = (start, last if billing else system_id)
            found = days.get(key)
            if found is None:
                if billing:
                    due = rule.due(start, last)
                else:
                    due = rule.period_for(self.systems[system_id]).after(start)
                if due > as_of:  # the filter selected it as due: never happens
                    raise RuntimeError(f"record {record_id} is not due")
                found = days[key] = (due.isoformat(), start.isoformat(), _last_text(last))
            due_text, start_text, last_text = found
            mac = macs[system_id].copy()
            mac.update(_part(external_id) + _content_part(content))
            digest = mac.digest()
            org = "null" if org_id is None else str(org_id)
            values = (digest.hex(), line_id, org, record_id, due_text, start_text, last_text)
            append(template % pick(values))
            # as both drivers take them (dates as ISO text, JSON as text): copied as they are
            evidence = f'{{"last_transaction_on":"{last_text}"}}' if billing else None
            ref = str(record_id)
            keep((line_id, batch_id, ref, org_id, code, digest, due_text, start_text, evidence))
        return "".join(out).encode()

    def _subjects(
        self,
        batch_id: int,
        line_ids: Sequence[int],
        subjects: list[tuple[int, str, str | None, list[str]]],
        last_of: dict[int, Any],
        tuples: list[tuple[Any, ...]],
    ) -> tuple[dict[str, Any], bytes, tuple[Any, ...]]:
        """Subjects removed whose last record's rule is the same: one batch under that rule (as
        ``BatchDisposer`` writes them)."""
        rule = self.categories[last_of[subjects[0][0]].category_id].rule
        batch = self._row(subject_header(rule), batch_id, line_ids[0], len(subjects))
        values = []
        for line_id, (subject_id, ref, name, identifiers) in zip(line_ids, subjects, strict=False):
            last = last_of[subject_id]
            category = self.categories[last.category_id]
            row = {
                "id": line_id,
                "batch_id": batch_id,
                "subject_ref": ref,
                "organization_id": last.organization_id,
                "category": category.code,
                "digest": bytes.fromhex(subject_digest(self.key, identifiers, name)),
                "due_on": None,
                "started_on": None,
                "evidence": {"last_record_id": last.id},
                "legacy": None,
            }
            values.append(canonical.line(batch, row))
            tuples.append(tuple(row[c] for c in LINE_COLUMNS))
        encoded = b"".join(canonical.encode(v) + b"\n" for v in values)
        batch["digest"] = hashlib.sha256(encoded).hexdigest()
        group = (rule.id, rule.version, values[0]["category"], "data_subject", "delete")
        return batch, encoded, group

    @staticmethod
    def _ends(
        batch: dict[str, Any], first: int, count: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        at = canonical.format_time(batch["created_at"])
        return {"id": first, "created_at": at}, {"id": first + count - 1, "created_at": at}


_BATCHES = typing.cast(Table, DispositionBatch.__table__)
_first = operator.itemgetter(0)
_LINES = typing.cast(Table, Disposition.__table__)


def _day(value: dt.datetime, utc: dt.tzinfo) -> dt.date:
    """``facts.day_of`` of a timestamp (the database gives UTC ones)."""
    return (value if value.tzinfo is utc else value.astimezone(utc)).date()


def _last_text(last: dt.date | None) -> str:
    return last.isoformat() if last is not None else ""


def _template(
    batch: dict[str, Any], category: str, *, billing: bool
) -> tuple[str, tuple[int, ...]]:
    """A ``%`` template of the batch's line (a newline after it) and the order its values go
    in: digest, id, organization, record id, due date, start date and (billing) the last
    transaction, as ``_encode`` gives them."""
    sample = {
        "id": _ID,
        "batch_id": batch["id"],
        "subject_ref": _REF,
        "organization_id": _ORG,
        "category": category,
        "digest": _DIGEST,
        "due_on": _DUE,
        "started_on": _START,
        "evidence": {"last_transaction_on": _LAST} if billing else None,
    }
    text = canonical.encode(canonical.line(batch, sample)).decode().replace("%", "%%")
    marks = [
        ('"' + _DIGEST.hex() + '"', '"%s"'),
        ('"\\u0001I"', "%d"),
        ('"\\u0001O"', "%s"),
        ('"\\u0001R"', '"%d"'),
        ('"' + _DUE.isoformat() + '"', '"%s"'),
        ('"' + _START.isoformat() + '"', '"%s"'),
    ]
    if billing:
        marks.append(('"\\u0001T"', '"%s"'))
    if any(text.count(mark) != 1 for mark, _ in marks):
        raise RuntimeError("the line template is ambiguous")
    order = tuple(sorted(range(len(marks)), key=lambda i: text.index(marks[i][0])))
    # the values _encode gives: without the last transaction for a time rule
    for mark, slot in marks:
        text = text.replace(mark, slot)
    return text + "\n", order

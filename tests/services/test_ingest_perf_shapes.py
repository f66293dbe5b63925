"""The fast paths of ingest give what the plain paths give: stored values, links, PAN counts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite

from auditor.models import Record, record_subject
from auditor.services import ingest as records
from auditor.services import pan
from auditor.services.context import Actor
from auditor.services.errors import ValidationFailed
from auditor.services.subjects import find
from tests import factories

ACTOR = Actor(name="test:ingest", role="admin")
SQLITE = sqlite.dialect()
COLUMNS = Record.__table__.c
aware = st.datetimes(
    min_value=dt.datetime(1900, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=5.5))]
    ),
)


@given(aware)
def test_sqlite_datetime_is_what_the_column_type_stores(value):
    assert records._sqlite_datetime(value) == COLUMNS.created_at.type._cached_bind_processor(
        SQLITE
    )(value)


def test_sqlite_datetime_refuses_naive_values_like_the_column_type():
    with pytest.raises(ValueError, match="naive"):
        records._sqlite_datetime(dt.datetime(2025, 1, 1))
    assert records._sqlite_datetime(None) is None


@given(st.dates())
def test_sqlite_date_is_what_the_column_type_stores(value):
    assert records._sqlite_date(value) == COLUMNS.document_date.type._cached_bind_processor(SQLITE)(
        value
    )


def _old_redact_text(value: str) -> tuple[str, int]:
    """redact_text before its shortcut: every digit-bearing text through the regex."""
    if len(value) < 13 or not any(ch.isdigit() for ch in value):
        return value, 0
    count = 0

    def replace(match):
        nonlocal count
        if pan.is_pan(match.group(0)):
            count += 1
            return pan._mask(match)
        return match.group(0)

    return pan._CANDIDATE.sub(replace, value), count


digits_and_separators = st.text(alphabet="0123456789 -x\u0663\u00b2", max_size=40)


@given(st.one_of(digits_and_separators, st.text(max_size=40)))
def test_redact_text_shortcut_changes_nothing(value):
    assert pan.redact_text(value) == _old_redact_text(value)


@pytest.mark.parametrize("edge", [10**12 - 1, 10**12, 4222222222222, 4111111111111111])
@given(offset=st.integers(-3, 3), sign=st.sampled_from([1, -1]))
def test_small_integers_skip_the_text_check(edge, offset, sign):
    value = sign * (edge + offset)
    found, count = _old_redact_text(str(value))
    assert pan.redact(value) == ((found if count else value), count)


def _ingest(session, rows, **kwargs):
    ingestor = records.Ingestor(session, actor=ACTOR, batch_size=3, **kwargs)
    for number, row in enumerate(rows, start=1):
        ingestor.add(number, row)
    return ingestor.finish()


def _stored(session, external_id):
    return session.execute(
        select(*(c for c in COLUMNS if c.name not in ("id", "external_id"))).where(
            COLUMNS.external_id == external_id
        )
    ).one()


def test_batched_inserts_store_what_the_orm_reads_and_link_every_subject(inventory, session):
    rows = [
        factories.record(
            external_id=f"T-{i}",
            email=f"person{i % 2}@example.com",
            closed_at="2025-01-16T10:00:00.25-05:00",
            content={"n": i, "memo": "card 4111 1111 1111 1111"},
        )
        for i in range(7)
    ]
    rows.append(
        factories.record(
            external_id="INV-1",
            system="billing",
            category="billing_records",
            document_date="2025-01-31",
            email=None,
        )
    )
    result = _ingest(session, rows)
    assert (result.inserted, result.pan_redactions) == (8, 7)
    saved = session.scalars(select(Record).order_by(Record.id)).all()
    assert [r.external_id for r in saved] == [f"T-{i}" for i in range(7)] + ["INV-1"]
    first = saved[0]
    assert first.closed_at == dt.datetime(2025, 1, 16, 15, 0, 0, 250000, tzinfo=dt.UTC)
    assert first.content == {"n": 0, "memo": "card [card number removed, ending 1111]"}
    assert first.content_digest == records.content_digest(first.content)
    assert saved[-1].document_date == dt.date(2025, 1, 31)
    assert result.last_outcome == "inserted" and result.last_id == saved[-1].id
    person = find(session, "email", "person1@example.com")[0]
    linked = session.scalars(
        select(record_subject.c.record_id).where(record_subject.c.subject_id == person.id)
    ).all()
    assert sorted(linked) == [r.id for r in saved if r.content.get("n", 0) % 2 == 1]


def test_fast_insert_stores_the_same_text_as_a_core_insert(inventory, session):
    row = factories.record(
        external_id="T-fast",
        closed_at="2025-01-15T12:00:00.000001+01:30",
        event_at="2025-01-15T10:00:00Z",
        content={"é": ["ü", 1.5, None, {"k": True}]},
    )
    _ingest(session, [row])
    values = session.execute(select(Record).where(Record.external_id == "T-fast")).scalar_one()
    copy = {c.name: getattr(values, c.name) for c in COLUMNS if c.name != "id"}
    session.execute(insert(Record.__table__), [{**copy, "external_id": "T-core"}])
    if session.get_bind().dialect.name == "sqlite":  # the text as stored, not as read back
        query = text("SELECT * FROM record WHERE external_id = :e")
        fast = session.execute(query, {"e": "T-fast"}).one()._asdict()
        core = session.execute(query, {"e": "T-core"}).one()._asdict()
        assert {k: v for k, v in fast.items() if k not in ("id", "external_id")} == {
            k: v for k, v in core.items() if k not in ("id", "external_id")
        }
    assert _stored(session, "T-fast") == _stored(session, "T-core")


def test_reimport_is_unchanged_and_a_change_rewrites_links(inventory, session):
    rows = [factories.record(external_id=f"T-{i}", email="a@example.com") for i in range(5)]
    assert _ingest(session, rows).inserted == 5
    again = _ingest(session, rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    rows[2] = factories.record(external_id="T-2", email="b@example.com")
    changed = _ingest(session, rows)
    assert (changed.updated, changed.unchanged) == (1, 4)
    record = session.scalars(select(Record).where(Record.external_id == "T-2")).one()
    subject = find(session, "email", "b@example.com")[0]
    assert session.scalars(
        select(record_subject.c.subject_id).where(record_subject.c.record_id == record.id)
    ).all() == [subject.id]


def test_all_or_nothing_writes_nothing_after_a_bad_row(inventory, session):
    rows = [factories.record(external_id=f"T-{i}") for i in range(5)]
    rows.append(factories.record(external_id="T-bad", client="nobody"))
    with pytest.raises(ValidationFailed):
        _ingest(session, rows)
    session.rollback()
    assert session.scalars(select(Record)).all() == []


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "n": st.integers(0, 3),
                # PostgreSQL's jsonb refuses NUL; orjson refuses integers beyond 64 bits
                "note": st.text(
                    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                    max_size=30,
                ),
                # 64-bit signed, the range every input is held to (auditor/schemas/json_input.py)
                "value": st.integers(-(2**63), 2**63 - 1),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_content_round_trips_with_its_digest(inventory, session, contents):
    rows = [
        factories.record(external_id=f"H-{c['n']}", content={"note": c["note"], "v": c["value"]})
        for c in contents
    ]
    nested = session.begin_nested()
    try:
        _ingest(session, rows)
        for record in session.scalars(select(Record).where(Record.external_id.like("H-%"))):
            latest = next(r for r in reversed(rows) if r["external_id"] == record.external_id)
            expected, _ = pan.redact(latest["content"])
            assert record.content == expected
            assert record.content_digest == records.content_digest(expected)
    finally:
        nested.rollback()

"""Dates and codes as people read them in reports: day month-name year, UTC times, month names,
codes as words; days are the MSP's calendar days (America/Toronto by default); None and empty text stay empty; every function is a filter of the reports'
Jinja environment."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor import reports
from auditor.reports import filters


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 11, 22), "22 November 2026"),
        (dt.date(2027, 1, 1), "1 January 2027"),  # no leading zero
        (dt.date(2024, 2, 29), "29 February 2024"),
        (dt.date(2026, 12, 31), "31 December 2026"),
        (dt.datetime(2026, 5, 3, 23, 59, tzinfo=dt.UTC), "3 May 2026"),  # a datetime is a date
    ],
)
def test_long_date_writes_day_month_name_year(value, expected):
    assert filters.long_date(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22", "22 November 2026"),
        ("2026-11-22T12:00:00Z", "22 November 2026"),
        ("2026-11-22T12:00:00.000000Z", "22 November 2026"),
        ("2026-11-22T23:30:00-05:00", "22 November 2026"),  # 23:30 in Toronto: still the 22nd
        ("2026-11-23T01:00:00+02:00", "22 November 2026"),
        ("2026-03-01T00:00:00+00:00", "28 February 2026"),  # 19:00 on the 28th in Toronto
        (dt.datetime(2026, 12, 3, 4, 30, tzinfo=dt.UTC), "2 December 2026"),
    ],
)
def test_day_gives_the_msps_calendar_day(text, expected):
    assert filters.day(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22", "2026-11-22"),
        ("2026-11-22T12:00:00Z", "2026-11-22"),
        ("2026-11-22T23:30:00-05:00", "2026-11-23"),  # the UTC date of data tables
        ("2027-01-01T00:00:00.123456Z", "2027-01-01"),
    ],
)
def test_short_gives_the_iso_date_in_utc(text, expected):
    assert filters.short(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T12:00:07Z", "2026-11-22 12:00 UTC"),  # seconds dropped, not rounded
        ("2026-11-22T12:00:59.999999Z", "2026-11-22 12:00 UTC"),
        ("2026-11-22T07:05:00-05:00", "2026-11-22 12:05 UTC"),
        ("2026-11-22", "2026-11-22 00:00 UTC"),  # a date is its midnight
    ],
)
def test_clock_gives_the_utc_time_to_the_minute(text, expected):
    assert filters.clock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T12:00:07.000000Z", "2026-11-22 12:00:07 UTC"),
        ("2026-11-22T12:00:07.999999Z", "2026-11-22 12:00:07 UTC"),  # fractions dropped
        ("2026-11-22T14:00:07+02:00", "2026-11-22 12:00:07 UTC"),
        ("2026-12-31T23:59:59-01:00", "2027-01-01 00:59:59 UTC"),
        ("2026-11-22", "2026-11-22 00:00:00 UTC"),
    ],
)
def test_timestamp_gives_the_utc_time_to_the_second(text, expected):
    assert filters.timestamp(text) == expected


@pytest.mark.parametrize("function", [filters.day, filters.short, filters.clock, filters.timestamp])
@pytest.mark.parametrize("empty", [None, ""])
def test_time_filters_leave_a_missing_value_missing(function, empty):
    assert function(empty) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("2026-11-22", dt.datetime(2026, 11, 22, tzinfo=dt.UTC)),
        ("2026-11-22T12:00:00Z", dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)),
        ("2026-11-22T07:00:00-05:00", dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)),
    ],
)
def test_moment_reads_iso_text_as_an_aware_utc_datetime(text, expected):
    found = filters.moment(text)
    assert found == expected
    if found is not None:
        assert found.tzinfo is dt.UTC


@pytest.mark.parametrize("text", ["22/11/2026", "soon", "2026-13-01"])
def test_moment_refuses_text_that_is_no_iso_date(text):
    with pytest.raises(ValueError):
        filters.moment(text)


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        (dt.date(2026, 11, 1), "November 2026"),
        (dt.date(2026, 11, 30), "November 2026"),  # any day of the month
        (dt.date(2027, 1, 15), "January 2027"),
        (dt.date(2026, 12, 1), "December 2026"),
    ],
)
def test_month_label_names_the_month_of_a_date(month, expected):
    assert filters.month_label(month) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("2026-11", "November 2026"),
        ("2027-01", "January 2027"),
        ("2026-12", "December 2026"),
        ("2026-1", "January 2026"),
    ],
)
def test_month_name_reads_a_year_month_key(key, expected):
    assert filters.month_name(key) == expected


@pytest.mark.parametrize("key", ["", "2026", "due_now", "2026-13"])
def test_month_name_refuses_what_is_no_month_key(key):
    with pytest.raises((ValueError, IndexError)):
        filters.month_name(key)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("in_progress", "in progress"),
        ("transfer_then_delete", "transfer then delete"),
        ("completed", "completed"),
        ("_leading", " leading"),
        (None, None),
        ("", None),
    ],
)
def test_words_writes_a_code_as_words(code, expected):
    assert filters.words(code) == expected


def test_every_month_has_its_english_name():
    assert len(filters.MONTH_NAMES) == 12
    assert [filters.month_label(dt.date(2026, m, 1)) for m in (1, 6, 12)] == [
        "January 2026",
        "June 2026",
        "December 2026",
    ]


def test_every_filter_is_registered_in_the_reports_environment():
    environment = reports.environment()
    for name, function in filters.FILTERS.items():
        assert environment.filters[name] is function
    assert set(filters.FILTERS) == {
        "long_date",
        "day",
        "short",
        "clock",
        "local_clock",
        "timestamp",
        "month_label",
        "month_name",
        "words",
    }
    template = environment.from_string(
        "{{ d|long_date }}|{{ t|day }}|{{ t|clock }}|{{ k|month_name }}|{{ c|words }}"
    )
    rendered = template.render(
        d=dt.date(2026, 11, 22), t="2026-11-22T12:00:07Z", k="2027-01", c="in_progress"
    )
    assert rendered == (
        "22 November 2026|22 November 2026|2026-11-22 12:00 UTC|January 2027|in progress"
    )


def test_local_clock_is_the_msps_wall_clock():
    assert filters.local_clock("2026-11-22T12:00:07Z") == "2026-11-22 07:00 EST"
    assert filters.local_clock(dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC)) == (
        "2026-07-01 12:00 EDT"
    )
    assert filters.local_clock(None) is None

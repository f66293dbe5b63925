"""Severing other people's data from record content (R8): emails, phone numbers and the names of
the record's other subjects; the subject's own identifiers kept in any format; numbers that only
look like phones left alone; every severing recorded by path and kind, never by value."""

from __future__ import annotations

import pytest

from auditor.services.requests.access.redaction import (
    REDACTED,
    OtherPerson,
    Redaction,
    Redactor,
    child_path,
)

OWN = [("email", "amelie@acme.example"), ("phone", "+14165550101")]


def redact(content, others=()):
    return Redactor(OWN).redact(7, content, others)


@pytest.mark.parametrize(
    "phone",
    [
        "514-555-0199",
        "(514) 555-0199",
        "514.555.0199",
        "5145550199",
        "+1 514 555 0199",
        "1-514-555-0199",
        "+44 20 7946 0958",
    ],
)
def test_other_peoples_phone_numbers_are_severed(phone):
    content, found = redact({"notes": f"call {phone} today"})
    assert content == {"notes": f"call {REDACTED} today"}
    assert found == [Redaction(7, "$.notes", "phone")]


@pytest.mark.parametrize("own", ["416-555-0101", "(416) 555-0101", "+1 416 555 0101", "4165550101"])
def test_the_subjects_own_phone_is_kept_in_any_format(own):
    content, found = redact({"notes": f"call back on {own}"})
    assert content == {"notes": f"call back on {own}"} and found == []


@pytest.mark.parametrize(
    "text",
    [
        "src 10.3.122.201",
        "ts 1732276800000",
        "invoice 2025-0000007",
        "on 2026-11-22T12:00:00Z",
        "card ending 4242",
        "amount 12345.6789",
        "ticket T-0000123",
    ],
)
def test_numbers_that_only_look_like_phones_are_left_alone(text):
    assert redact({"x": text}) == ({"x": text}, [])


def test_emails_other_than_the_subjects_are_severed_whatever_their_case():
    content, found = redact(
        {"to": "AMELIE@acme.example", "cc": ["Grace.Chen@Acme.example", "x"], "n": 5}
    )
    assert content == {"to": "AMELIE@acme.example", "cc": [REDACTED, "x"], "n": 5}
    assert found == [Redaction(7, "$.cc[0]", "email")]


def test_names_of_the_records_other_subjects_are_severed_as_whole_words():
    others = [OtherPerson("Grace Chen"), OtherPerson(None), OtherPerson("Al")]
    content, found = redact(
        {"notes": "grace chen asked Al; Alfred and GraceChen are someone else"}, others
    )
    assert content == {
        "notes": f"{REDACTED} asked {REDACTED}; Alfred and GraceChen are someone else"
    }
    assert [r.kind for r in found] == ["name", "name"]


def test_a_name_inside_an_email_is_severed_once():
    content, found = redact({"n": "write to lee@vendor.example"}, [OtherPerson("Lee")])
    assert content == {"n": f"write to {REDACTED}"}
    assert found == [Redaction(7, "$.n", "email")]


def test_paths_name_nested_and_odd_keys():
    content, found = redact({"lines": [{"memo": "x@y.example"}], "odd key": "z@y.example"})
    assert content == {"lines": [{"memo": REDACTED}], "odd key": REDACTED}
    assert [r.path for r in found] == ["$.lines[0].memo", '$["odd key"]']
    assert child_path("$", 'a"b') == '$["a\\"b"]'
    assert found[0].note == "$.lines[0].memo email"
    assert found[0].to_dict() == {"record_id": 7, "path": "$.lines[0].memo", "kind": "email"}


def test_content_without_strings_is_returned_as_is():
    assert redact({"n": 1, "ok": True, "none": None, "list": []}) == (
        {"n": 1, "ok": True, "none": None, "list": []},
        [],
    )

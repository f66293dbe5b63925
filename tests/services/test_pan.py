"""Card-number detection: Luhn-valid numbers with a network's issuer prefix, never timestamps."""

from __future__ import annotations

import pytest

from auditor.services import pan


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("4111111111111111", True),  # Visa test number
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("5555555555554444", True),  # Mastercard
        ("2223003122003222", True),  # Mastercard 2-series
        ("378282246310005", True),  # American Express (15 digits)
        ("6011111111111117", True),  # Discover
        ("3566002020360505", True),  # JCB
        ("4111111111111112", False),  # fails Luhn
        ("1732300000000", False),  # a millisecond timestamp (no issuer starts with 1)
        ("9111111111111111", False),  # no such issuer
        ("411111111111", False),  # 12 digits: too short
        ("41111111111111111111", False),  # 20 digits: too long
        ("4111  1111 1111 1111", False),  # two spaces break the number
    ],
)
def test_detection(text, found):
    redacted, count = pan.redact_text(f"paid with {text} today")
    assert (count == 1) is found
    assert (text in redacted) is not found


def test_redaction_keeps_only_the_last_four_digits():
    assert pan.redact_text("card 4111 1111 1111 1111.") == (
        "card [card number removed, ending 1111].",
        1,
    )


def test_redact_walks_json_values_and_keys():
    value = {"a": [4111111111111111, {"4111111111111111": "x"}], "b": 3.5, "c": None, "d": True}
    redacted, count = pan.redact(value)
    assert count == 2
    assert redacted == {
        "a": ["[card number removed, ending 1111]", {"[card number removed, ending 1111]": "x"}],
        "b": 3.5,
        "c": None,
        "d": True,
    }


def test_text_without_digits_is_untouched():
    assert pan.redact_text("no numbers here at all") == ("no numbers here at all", 0)

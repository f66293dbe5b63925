"""Payment card numbers (PANs) in record content: found, then redacted or refused, never stored.

A candidate is 13 to 19 digits (single spaces or hyphens allowed between them) that passes the
Luhn check and starts with an issuer prefix of a card network. The prefix test keeps long
numeric identifiers such as millisecond timestamps (which start with 1) from being redacted.
"""

from __future__ import annotations

import re
from typing import Any

_CANDIDATE = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
# issuer identification number ranges of the major networks (ISO/IEC 7812)
_ISSUER = re.compile(
    r"^(?:4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9]|2)|35)"
)

_SMALLEST_13_DIGITS = 10**12  # smaller integers cannot hold a candidate


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def is_pan(candidate: str) -> bool:
    digits = candidate.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and bool(_ISSUER.match(digits)) and luhn_ok(digits)


def _mask(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("-", "")
    return f"[card number removed, ending {digits[-4:]}]"


def redact_text(text: str) -> tuple[str, int]:
    """The text with every PAN replaced, and how many were replaced."""
    if len(text) < 13 or _CANDIDATE.search(text) is None:
        return text, 0
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if is_pan(match.group(0)):
            count += 1
            return _mask(match)
        return match.group(0)

    return _CANDIDATE.sub(replace, text), count


def redact(value: Any) -> tuple[Any, int]:
    """Redact PANs in every string (keys included) of a JSON value; numbers are checked as text."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value, 0
    if isinstance(value, int):
        if -_SMALLEST_13_DIGITS < value < _SMALLEST_13_DIGITS:
            return value, 0
        text, count = redact_text(str(value))
        return (text if count else value), count
    if isinstance(value, list):
        total, out = 0, []
        for item in value:
            new, count = redact(item)
            out.append(new)
            total += count
        return out, total
    if isinstance(value, dict):
        total, result = 0, {}
        for key, item in value.items():
            new_key, key_count = redact_text(str(key))
            new, count = redact(item)
            result[new_key] = new
            total += count + key_count
        return result, total
    return value, 0

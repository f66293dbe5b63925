"""Identifier normalisation: one person's email or phone always matches itself."""

from __future__ import annotations

import pytest

from auditor.services.errors import ValidationFailed
from auditor.services.identifiers import normalize


@pytest.mark.parametrize(
    ("kind", "raw", "normal"),
    [
        ("email", "  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("phone", "(416) 555-0101", "+14165550101"),
        ("phone", "1-416-555-0101", "+14165550101"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "416.555.0101", "+14165550101"),
    ],
)
def test_normalize(kind, raw, normal):
    assert normalize(kind, raw) == normal


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("email", "no-at-sign"),
        ("email", "a@b"),
        ("phone", "555-0101"),
        ("phone", "call me"),
        ("fax", "123"),
    ],
)
def test_invalid_identifiers_are_refused_without_echoing_them(kind, raw):
    with pytest.raises(ValidationFailed) as exc:
        normalize(kind, raw)
    assert raw not in str(exc.value) and raw not in str(exc.value.errors)

"""Keyed digests of disposition records: HMAC-SHA256 over length-prefixed fields."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from crypto.digest import key_id, keyed_digest, new_digest_key, parse_digest_key
from crypto.errors import KeyRingError

KEY = bytes(range(32))


def test_keyed_digest_is_hmac_sha256_over_length_prefixed_fields():
    expected = hmac.new(
        KEY, b"\x00\x00\x00\x03tag" + b"\x00\x00\x00\x02ab" + b"\x00\x00\x00\x01c", hashlib.sha256
    ).hexdigest()
    assert keyed_digest(KEY, "tag", "ab", b"c") == expected


def test_field_boundaries_matter_and_the_key_matters():
    assert keyed_digest(KEY, "t", "ab", "c") != keyed_digest(KEY, "t", "a", "bc")
    assert keyed_digest(KEY, "t", "x") != keyed_digest(bytes(32), "t", "x")
    assert keyed_digest(KEY, "t", "é") == keyed_digest(KEY, "t", "é".encode())


def test_short_keys_are_refused_without_echoing_them():
    with pytest.raises(KeyRingError, match="at least 32 bytes") as exc:
        keyed_digest(b"k" * 31, "t")
    assert "kkk" not in str(exc.value)


def test_generated_keys_parse_and_have_a_stable_public_id():
    text = new_digest_key()
    key = parse_digest_key(text + "\n")
    assert len(key) == 32 and key != parse_digest_key(new_digest_key())
    assert key_id(key) == key_id(key) and len(key_id(key)) == 16
    assert key_id(key) != key_id(KEY)


@pytest.mark.parametrize(
    ("text", "message"),
    [("not base64!", "not valid base64"), (base64.b64encode(b"x" * 16).decode(), "32 bytes")],
)
def test_bad_key_text_is_refused(text, message):
    with pytest.raises(KeyRingError, match=message):
        parse_digest_key(text)


def test_keyed_digester_equals_keyed_digest_and_refuses_short_keys():
    from crypto.digest import KeyedDigester

    digester = KeyedDigester(KEY, "tag")
    assert digester("ab", b"c") == keyed_digest(KEY, "tag", "ab", b"c")
    assert digester("x") == keyed_digest(KEY, "tag", "x")  # the base state is not consumed
    with pytest.raises(KeyRingError):
        KeyedDigester(b"short", "tag")

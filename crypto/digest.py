"""Keyed digests (HMAC-SHA256) for disposition records (R20, R21).

A disposition record must let an auditor confirm that a given record was the one destroyed,
without keeping anything a reader could turn back into personal data: a plain hash of an email
address or a short log line is reversed by guessing, a keyed digest is not without the key.

``keyed_digest(key, domain, *parts)`` is HMAC-SHA256 under ``key`` of the domain tag and each part,
each written as a 4-byte big-endian length followed by its UTF-8 bytes, so no two different
inputs share a byte string. docs/disposition.md specifies it with a worked example.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from crypto.errors import KeyRingError

KEY_BYTES = 32
_KEY_ID_TAG = b"auditor disposition key id\x00"


def _field(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return len(raw).to_bytes(4, "big") + raw


def keyed_digest(key: bytes, domain: str, *parts: str | bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the length-prefixed domain tag and parts."""
    if len(key) < KEY_BYTES:
        raise KeyRingError(f"a digest key must be at least {KEY_BYTES} bytes")
    mac = hmac.new(key, _field(domain), hashlib.sha256)
    for part in parts:
        mac.update(_field(part))
    return mac.hexdigest()


class KeyedDigester:
    """``keyed_digest`` for one key and domain, many times: the keyed state is set up once."""

    def __init__(self, key: bytes, domain: str) -> None:
        if len(key) < KEY_BYTES:
            raise KeyRingError(f"a digest key must be at least {KEY_BYTES} bytes")
        self._base = hmac.new(key, _field(domain), hashlib.sha256)

    def __call__(self, *parts: str | bytes) -> str:
        mac = self._base.copy()
        for part in parts:
            mac.update(_field(part))
        return mac.hexdigest()


def key_id(key: bytes) -> str:
    """A short public name of the key (16 hex digits), so a digest says which key made it."""
    return hashlib.sha256(_KEY_ID_TAG + key).hexdigest()[:16]


def new_digest_key() -> str:
    """A fresh key, base64 encoded (what `auditor instance init` writes)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_digest_key(text: str) -> bytes:
    """The key from its base64 form; refused unless it decodes to at least 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError("the disposition digest key is not valid base64") from None
    if len(key) < KEY_BYTES:
        raise KeyRingError(f"the disposition digest key must be at least {KEY_BYTES} bytes")
    return key

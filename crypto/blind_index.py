"""Blind indexes: exact-match search keys for sealed usernames, keyed by the client key.

A username is sealed like a value, so the database cannot compare it with a search term. Beside
the sealed blob the service stores ``HMAC-SHA256(index key, normalise(username))``: equal
usernames of one client get equal indexes, so an exact search still works, but the index cannot
be reversed or checked against a guess without the client key (docs/crypto-format.md, section 7).

The index key is derived from the client key version that seals the row, not from the master key:
the index dies with the client key (crypto-shredding), differs between clients (the same username
at two clients does not link them), and a master key rotation leaves it alone.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import unicodedata

from crypto.envelope import FORMAT_VERSION, ClientKey

INDEX_MAGIC = b"AUI"  # the label of an index key; an index key is never stored
INDEX_HEX_CHARS = 64  # the stored form: lowercase hex of the 32-byte HMAC-SHA256


def normalise(text: str) -> str:
    """What the spellings of one username share: NFKC, then Unicode full case folding.

    ``Admin@Érable.example`` and ``ADMIN@E\\u0301RABLE.EXAMPLE`` are the same username."""
    return unicodedata.normalize("NFKC", text).casefold()


def index_label(field: str) -> bytes:
    """``"AUI" || 0x01 || u16 length || the field's name in UTF-8``."""
    name = field.encode("utf-8")
    if not 1 <= len(name) <= 0xFFFF:
        raise ValueError("field must be 1 to 65535 bytes in UTF-8")
    return INDEX_MAGIC + bytes([FORMAT_VERSION]) + struct.pack(">H", len(name)) + name


class BlindIndex:
    """The blind index of one field under one client key version, for many values."""

    __slots__ = ("_mac", "version")

    def __init__(self, key: ClientKey, field: str = "username") -> None:
        self.version = key.version
        self._mac = hmac.new(key.derive(index_label(field)), digestmod=hashlib.sha256)

    def __call__(self, text: str) -> str | None:
        """The index of ``text`` (64 lowercase hex digits); None when it normalises to nothing."""
        normal = normalise(text)
        if not normal:
            return None
        mac = self._mac.copy()
        mac.update(normal.encode("utf-8"))
        return mac.hexdigest()

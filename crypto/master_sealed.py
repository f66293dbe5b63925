"""Small secrets sealed directly under the master key ring ("AUM", docs/crypto-format.md 15).

For a secret that belongs to no client, so has no client key: a user's TOTP secret. The value
is encrypted with AES-256-GCM under the current master key version; the associated data names
what it is for and whose it is, so a blob copied to another user or another use fails to open.
A master key rotation reseals it under the new version, like a client key.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from crypto.envelope import FORMAT_VERSION, NONCE_BYTES, TAG_BYTES, _check_blob_version, _context
from crypto.envelope import _check_prefix as check_prefix
from crypto.errors import DecryptionFailed, MalformedCiphertext, UnknownKeyVersion
from crypto.keys import MasterKeyRing

MAGIC = b"AUM"
MAX_PLAINTEXT_BYTES = 1024  # a TOTP secret, a recovery seed: small by design
_HEADER = struct.Struct(">3sBI12s")  # magic, format version, master version, nonce
_MIN = _HEADER.size + TAG_BYTES


@dataclass(frozen=True, slots=True)
class MasterSealed:
    """The parts of a master-sealed blob (format "AUM", version 1)."""

    format_version: int
    master_version: int
    nonce: bytes
    ciphertext: bytes  # the value encrypted under master key version m, then the 16-byte tag


def aad(master_version: int, purpose: str, owner: str) -> bytes:
    """The blob's 8-byte prefix (magic, format, master version), then str(purpose), str(owner)."""
    prefix = MAGIC + struct.pack(">BI", FORMAT_VERSION, master_version)
    return prefix + _context(purpose, "purpose") + _context(owner, "owner")


def parse(blob: bytes) -> MasterSealed:
    """Split a master-sealed blob into its parts; MalformedCiphertext if it is not one."""
    check_prefix(blob, MAGIC, "master-sealed value")
    if len(blob) < _MIN:
        raise MalformedCiphertext("master-sealed value is truncated")
    if len(blob) > _MIN + MAX_PLAINTEXT_BYTES:
        raise MalformedCiphertext("master-sealed value is longer than the format allows")
    _, version, master_version, nonce = _HEADER.unpack_from(blob)
    _check_blob_version(master_version, "master-sealed value")
    return MasterSealed(version, master_version, nonce, blob[_HEADER.size :])


def seal(ring: MasterKeyRing, plaintext: bytes, *, purpose: str, owner: str) -> bytes:
    """``plaintext`` sealed under the ring's current master version."""
    if not isinstance(plaintext, bytes):
        raise TypeError("the plaintext must be bytes")
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueError(f"a master-sealed value holds at most {MAX_PLAINTEXT_BYTES} bytes")
    master_version = ring.current
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.aead(master_version).encrypt(
        nonce, plaintext, aad(master_version, purpose, owner)
    )
    return _HEADER.pack(MAGIC, FORMAT_VERSION, master_version, nonce) + sealed


def unseal(ring: MasterKeyRing, blob: bytes, *, purpose: str, owner: str) -> bytes:
    """The plaintext of a blob sealed for ``purpose`` and ``owner``; DecryptionFailed when the
    key is wrong or the blob was altered or moved, UnknownKeyVersion when its version is gone."""
    parts = parse(blob)
    if parts.master_version not in ring:
        raise UnknownKeyVersion(
            f"master key version {parts.master_version} is not in the master key ring"
        )
    try:
        return ring.aead(parts.master_version).decrypt(
            parts.nonce, parts.ciphertext, aad(parts.master_version, purpose, owner)
        )
    except InvalidTag:
        raise DecryptionFailed(
            "could not decrypt: wrong key, or the ciphertext was altered or moved"
        ) from None


def reseal(ring: MasterKeyRing, blob: bytes, *, purpose: str, owner: str) -> bytes:
    """The same value sealed again under the ring's current version (master key rotation)."""
    return seal(
        ring, unseal(ring, blob, purpose=purpose, owner=owner), purpose=purpose, owner=owner
    )


def master_version_of(blob: bytes) -> int:
    return parse(blob).master_version

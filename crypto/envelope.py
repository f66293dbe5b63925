"""Envelope encryption: client keys wrapped by the master ring, secret values sealed under them.

Three levels (docs/crypto-format.md): a versioned master key (outside the database) wraps one
key per client organization, which wraps a fresh random data key per sealed value; the value is
encrypted with AES-256-GCM under that data key. Nonces are drawn here from os.urandom; no
function lets a caller choose one. Every failure to decrypt raises DecryptionFailed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import DecryptionFailed, MalformedCiphertext, UnknownKeyVersion
from crypto.keys import KEY_BYTES, MasterKeyRing, check_version

FORMAT_VERSION = 1
SECRET_MAGIC = b"AUS"  # a sealed secret value
CLIENT_KEY_MAGIC = b"AUK"  # a client key wrapped by a master key
CANARY_MAGIC = b"AUC"  # a master key canary
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_PLAINTEXT_BYTES = 1 << 20  # 1 MiB: a credential, a key file, a note; not a document store
CANARY_PLAINTEXT = b"auditor master key canary"
MAX_CONTEXT_BYTES = 0xFFFF  # ids and field names are prefixed by a 16-bit length

# magic, format version, client key version, key nonce, wrapped data key (key + tag)
_SECRET_KEY_PART = struct.Struct(">3sBI12s48s")
VALUE_OFFSET = _SECRET_KEY_PART.size  # 68: the value nonce, ciphertext and tag follow
_SECRET_MIN = VALUE_OFFSET + NONCE_BYTES + TAG_BYTES  # 96: an empty value
# magic, format version, master key version, client key version, nonce, wrapped client key
_CLIENT_KEY = struct.Struct(">3sBII12s48s")
# magic, format version, master key version, nonce; then the canary ciphertext and tag
_CANARY = struct.Struct(">3sBI12s")
_CANARY_SIZE = _CANARY.size + len(CANARY_PLAINTEXT) + TAG_BYTES


def _context(text: str, what: str) -> bytes:
    """A 16-bit big-endian length, then the UTF-8 bytes: an unambiguous concatenation."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text") from None
    if not 1 <= len(data) <= MAX_CONTEXT_BYTES:
        raise ValueError(f"{what} must be 1 to {MAX_CONTEXT_BYTES} bytes in UTF-8")
    return struct.pack(">H", len(data)) + data


def secret_aad(client_id: str, secret_id: str, field: str) -> bytes:
    """Associated data of a sealed value and its wrapped data key: where the value belongs."""
    return (
        SECRET_MAGIC
        + bytes([FORMAT_VERSION])
        + _context(client_id, "client id")
        + _context(secret_id, "secret id")
        + _context(field, "field")
    )


def client_key_aad(master_version: int, client_key_version: int, client_id: str) -> bytes:
    """Associated data of a wrapped client key: the blob's 12-byte header and the client id."""
    header = struct.pack(
        ">3sBII", CLIENT_KEY_MAGIC, FORMAT_VERSION, master_version, client_key_version
    )
    return header + _context(client_id, "client id")


def canary_aad(master_version: int) -> bytes:
    """Associated data of a canary: the blob's 8-byte header."""
    return struct.pack(">3sBI", CANARY_MAGIC, FORMAT_VERSION, master_version)


class ClientKey:
    """One version of one client organization's key, unwrapped, with its cached AES-GCM instance.

    Hold it for a batch of seals, unseals or rewraps; never store it unwrapped.
    """

    __slots__ = ("_aead", "_client_id", "_key", "_version")

    def __init__(self, client_id: str, version: int, key: bytes) -> None:
        _context(client_id, "client id")
        check_version(version, "client key")
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ValueError(f"a client key must be {KEY_BYTES} bytes")
        self._client_id = client_id
        self._version = version
        self._key = key
        self._aead = AESGCM(key)

    @classmethod
    def generate(cls, client_id: str, version: int = 1) -> ClientKey:
        """A fresh random key for a client (version 1 for a new client, higher on rotation)."""
        return cls(client_id, version, os.urandom(KEY_BYTES))

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def version(self) -> int:
        return self._version

    def derive(self, label: bytes) -> bytes:
        """A 32-byte subkey for one purpose, HMAC-SHA256(this key, label): the blind index key
        (crypto/blind_index.py). Derived when needed, never stored."""
        if not isinstance(label, bytes) or not label:
            raise ValueError("a derivation label must be non-empty bytes")
        return hmac.new(self._key, label, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"ClientKey(client_id={self._client_id!r}, version={self._version})"


ClientKeys: TypeAlias = ClientKey | Mapping[int, ClientKey]


def _pick(keys: ClientKeys, version: int) -> ClientKey:
    if isinstance(keys, ClientKey):
        if keys.version == version:
            return keys
    elif version in keys:
        return keys[version]
    raise UnknownKeyVersion(f"client key version {version} is not available")


# --- parsing (no keys needed) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """The parts of a sealed secret blob (format "AUS", version 1)."""

    format_version: int
    client_key_version: int
    key_nonce: bytes
    wrapped_data_key: bytes  # 32-byte data key encrypted under the client key, then 16-byte tag
    value_nonce: bytes
    ciphertext: bytes  # the value's ciphertext, then its 16-byte tag

    @property
    def value_part(self) -> bytes:
        """Value nonce, ciphertext and tag: the bytes a client key rotation leaves unchanged."""
        return self.value_nonce + self.ciphertext


@dataclass(frozen=True, slots=True)
class WrappedClientKey:
    """The parts of a wrapped client key blob (format "AUK", version 1)."""

    format_version: int
    master_version: int
    client_key_version: int
    nonce: bytes
    ciphertext: bytes  # 32-byte client key encrypted under the master key, then 16-byte tag


@dataclass(frozen=True, slots=True)
class Canary:
    """The parts of a master key canary blob (format "AUC", version 1)."""

    format_version: int
    master_version: int
    nonce: bytes
    ciphertext: bytes


def _check_prefix(blob: bytes, magic: bytes, what: str) -> None:
    if not isinstance(blob, bytes):
        raise TypeError(f"a {what} must be bytes")
    if len(blob) < 4:
        raise MalformedCiphertext(f"{what} is truncated")
    if blob[:3] != magic:
        raise MalformedCiphertext(f"not a {what} (wrong magic bytes)")
    if blob[3] != FORMAT_VERSION:
        raise MalformedCiphertext(f"{what} has an unsupported format version {blob[3]}")


def _check_blob_version(version: int, what: str) -> None:
    if version == 0:
        raise MalformedCiphertext(f"{what} names key version 0")


def parse_sealed(blob: bytes) -> SealedSecret:
    """Split a sealed secret into its parts; MalformedCiphertext if it is not one."""
    _check_prefix(blob, SECRET_MAGIC, "sealed secret")
    if len(blob) < _SECRET_MIN:
        raise MalformedCiphertext("sealed secret is truncated")
    if len(blob) > _SECRET_MIN + MAX_PLAINTEXT_BYTES:
        raise MalformedCiphertext("sealed secret is longer than the format allows")
    _, version, client_key_version, key_nonce, wrapped = _SECRET_KEY_PART.unpack_from(blob)
    _check_blob_version(client_key_version, "sealed secret")
    value_nonce = blob[VALUE_OFFSET : VALUE_OFFSET + NONCE_BYTES]
    ciphertext = blob[VALUE_OFFSET + NONCE_BYTES :]
    return SealedSecret(version, client_key_version, key_nonce, wrapped, value_nonce, ciphertext)


def parse_wrapped_client_key(blob: bytes) -> WrappedClientKey:
    """Split a wrapped client key into its parts; MalformedCiphertext if it is not one."""
    _check_prefix(blob, CLIENT_KEY_MAGIC, "wrapped client key")
    if len(blob) != _CLIENT_KEY.size:
        raise MalformedCiphertext(f"wrapped client key must be {_CLIENT_KEY.size} bytes")
    _, version, master_version, client_key_version, nonce, ciphertext = _CLIENT_KEY.unpack(blob)
    _check_blob_version(master_version, "wrapped client key")
    _check_blob_version(client_key_version, "wrapped client key")
    return WrappedClientKey(version, master_version, client_key_version, nonce, ciphertext)


def parse_canary(blob: bytes) -> Canary:
    """Split a canary into its parts; MalformedCiphertext if it is not one."""
    _check_prefix(blob, CANARY_MAGIC, "canary")
    if len(blob) != _CANARY_SIZE:
        raise MalformedCiphertext(f"canary must be {_CANARY_SIZE} bytes")
    _, version, master_version, nonce = _CANARY.unpack_from(blob)
    _check_blob_version(master_version, "canary")
    return Canary(version, master_version, nonce, blob[_CANARY.size :])


# --- client keys under the master key ring ----------------------------------------------------


def wrap_client_key(ring: MasterKeyRing, key: ClientKey) -> bytes:
    """The client key encrypted under the ring's current master version (72 bytes, "AUK")."""
    master_version = ring.current
    nonce = os.urandom(NONCE_BYTES)
    aad = client_key_aad(master_version, key.version, key.client_id)
    ciphertext = ring.aead(master_version).encrypt(nonce, key._key, aad)
    return _CLIENT_KEY.pack(
        CLIENT_KEY_MAGIC, FORMAT_VERSION, master_version, key.version, nonce, ciphertext
    )


def unwrap_client_key(ring: MasterKeyRing, client_id: str, wrapped: bytes) -> ClientKey:
    """The client key in a wrapped blob; it only opens for the client it was wrapped for."""
    parts = parse_wrapped_client_key(wrapped)
    aead = ring.aead(parts.master_version)
    aad = client_key_aad(parts.master_version, parts.client_key_version, client_id)
    try:
        key = aead.decrypt(parts.nonce, parts.ciphertext, aad)
    except InvalidTag:
        raise DecryptionFailed() from None
    return ClientKey(client_id, parts.client_key_version, key)


def rewrap_client_key(ring: MasterKeyRing, client_id: str, wrapped: bytes) -> bytes:
    """Master rotation: the same client key, wrapped again under the ring's current version."""
    return wrap_client_key(ring, unwrap_client_key(ring, client_id, wrapped))


# --- secret values under client keys ----------------------------------------------------------


def seal(key: ClientKey, plaintext: bytes, *, secret_id: str, field: str) -> bytes:
    """Encrypt one value of one field of one secret under a fresh data key ("AUS" blob)."""
    if not isinstance(plaintext, bytes):
        raise TypeError("plaintext must be bytes")
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueError(f"a sealed value is at most {MAX_PLAINTEXT_BYTES} bytes")
    aad = secret_aad(key.client_id, secret_id, field)
    data_key = os.urandom(KEY_BYTES)
    key_nonce = os.urandom(NONCE_BYTES)
    value_nonce = os.urandom(NONCE_BYTES)
    wrapped = key._aead.encrypt(key_nonce, data_key, aad)
    ciphertext = AESGCM(data_key).encrypt(value_nonce, plaintext, aad)
    head = _SECRET_KEY_PART.pack(SECRET_MAGIC, FORMAT_VERSION, key.version, key_nonce, wrapped)
    return head + value_nonce + ciphertext


def _data_key(key: ClientKey, parts: SealedSecret, aad: bytes) -> bytes:
    try:
        return key._aead.decrypt(parts.key_nonce, parts.wrapped_data_key, aad)
    except InvalidTag:
        raise DecryptionFailed() from None


def unseal(keys: ClientKeys, blob: bytes, *, secret_id: str, field: str) -> bytes:
    """The value sealed for (this client, secret_id, field); DecryptionFailed otherwise.

    keys is the client's key, or its keys by version (during a client key rotation).
    """
    parts = parse_sealed(blob)
    key = _pick(keys, parts.client_key_version)
    aad = secret_aad(key.client_id, secret_id, field)
    data_key = _data_key(key, parts, aad)
    try:
        return AESGCM(data_key).decrypt(parts.value_nonce, parts.ciphertext, aad)
    except InvalidTag:
        raise DecryptionFailed() from None


def rewrap(blob: bytes, old: ClientKeys, new: ClientKey, *, secret_id: str, field: str) -> bytes:
    """Client key rotation: the data key re-wrapped under `new`; value bytes left identical.

    Only the wrapped data key is authenticated here (the value is not decrypted, which keeps
    rotation cheap): an altered value still fails at unseal.
    """
    parts = parse_sealed(blob)
    key = _pick(old, parts.client_key_version)
    if key.client_id != new.client_id:
        raise ValueError(
            "rewrap keeps a secret with its client: both keys must be the same client's"
        )
    aad = secret_aad(key.client_id, secret_id, field)
    data_key = _data_key(key, parts, aad)
    key_nonce = os.urandom(NONCE_BYTES)
    wrapped = new._aead.encrypt(key_nonce, data_key, aad)
    head = _SECRET_KEY_PART.pack(SECRET_MAGIC, FORMAT_VERSION, new.version, key_nonce, wrapped)
    return head + blob[VALUE_OFFSET:]


# --- canaries ---------------------------------------------------------------------------------


def make_canary(ring: MasterKeyRing, version: int | None = None) -> bytes:
    """A canary for one master version (default: current), stored to detect a wrong key later."""
    master_version = ring.current if version is None else version
    aead = ring.aead(master_version)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = aead.encrypt(nonce, CANARY_PLAINTEXT, canary_aad(master_version))
    return _CANARY.pack(CANARY_MAGIC, FORMAT_VERSION, master_version, nonce) + ciphertext


def check_canary(ring: MasterKeyRing, blob: bytes) -> int:
    """Check the ring's key against a stored canary; return its master version.

    UnknownKeyVersion if the ring lacks that version, DecryptionFailed if its key is wrong.
    """
    parts = parse_canary(blob)
    version = parts.master_version
    if version not in ring:
        raise UnknownKeyVersion(
            f"master key version {version} is missing from the master key ring, but its canary "
            "shows data may be wrapped under it: add that version back to the key ring"
        )
    wrong = DecryptionFailed(
        f"master key version {version} does not match its canary: the configured key for "
        "that version is wrong (or the canary was altered); no data was touched"
    )
    try:
        plaintext = ring.aead(version).decrypt(parts.nonce, parts.ciphertext, canary_aad(version))
    except InvalidTag:
        raise wrong from None
    if plaintext != CANARY_PLAINTEXT:
        raise wrong
    return version


def check_canaries(ring: MasterKeyRing, canaries: Iterable[bytes]) -> list[int]:
    """The start-up check: every stored canary must open with the ring (else raise, as in
    check_canary). Returns the ring's versions that have no canary yet, to make and store."""
    checked = {check_canary(ring, blob) for blob in canaries}
    return [version for version in ring.versions if version not in checked]

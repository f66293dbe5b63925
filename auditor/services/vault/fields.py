"""A secret's sealed fields in its row: the value, the username and the notes, one AUS blob each,
all under the row's client key version, and the username's blind index beside them.

The field names are part of each blob's associated data (docs/crypto-format.md, section 4): a
blob copied to another field, secret or client does not open. Every function here keeps one rule:
the three blobs and the index of a row are always under the same client key version, the one
``client_key_version`` names, so a client key rotation can move the row as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from auditor.models import Secret
from crypto import envelope
from crypto.blind_index import BlindIndex

VALUE_FIELD = "value"
USERNAME_FIELD = "username"
NOTES_FIELD = "notes"
SEALED_COLUMNS = {
    VALUE_FIELD: "value",
    USERNAME_FIELD: "username_sealed",
    NOTES_FIELD: "notes_sealed",
}


@dataclass(frozen=True)
class Opened:
    """The plaintext of a secret's sealed fields, in memory only."""

    value: str
    username: str | None
    notes: str | None


def _given(text: str | None) -> str | None:
    """An empty username or note is no username or note: nothing is sealed for it."""
    return text if text else None


def _seal(key: envelope.ClientKey, ref: str, field: str, text: str) -> bytes:
    return envelope.seal(key, text.encode("utf-8"), secret_id=ref, field=field)


def seal_value(key: envelope.ClientKey, ref: str, value: str) -> dict[str, Any]:
    return {"value": _seal(key, ref, VALUE_FIELD, value)}


def seal_username(
    key: envelope.ClientKey, ref: str, username: str | None, index: BlindIndex | None = None
) -> dict[str, Any]:
    """The sealed username and its blind index (both None for no username)."""
    text = _given(username)
    if text is None:
        return {"username_sealed": None, "username_index": None}
    return {
        "username_sealed": _seal(key, ref, USERNAME_FIELD, text),
        "username_index": (index or BlindIndex(key))(text),
    }


def seal_notes(key: envelope.ClientKey, ref: str, notes: str | None) -> dict[str, Any]:
    text = _given(notes)
    return {"notes_sealed": None if text is None else _seal(key, ref, NOTES_FIELD, text)}


def seal_fields(
    key: envelope.ClientKey,
    ref: str,
    *,
    value: str,
    username: str | None,
    notes: str | None,
    index: BlindIndex | None = None,
) -> dict[str, Any]:
    """The columns of a new secret's sealed fields, each under a fresh data key of ``key``."""
    return {
        **seal_value(key, ref, value),
        **seal_username(key, ref, username, index),
        **seal_notes(key, ref, notes),
        "client_key_version": key.version,
    }


def _open(keys: envelope.ClientKeys, blob: bytes | None, ref: str, field: str) -> str | None:
    if blob is None:
        return None
    return envelope.unseal(keys, bytes(blob), secret_id=ref, field=field).decode("utf-8")


def open_fields(keys: envelope.ClientKeys, secret: Secret) -> Opened:
    """Decrypt the value, username and notes of a secret (DecryptionFailed if any was moved)."""
    value = _open(keys, secret.value, secret.ref, VALUE_FIELD)
    assert value is not None
    return Opened(
        value=value,
        username=_open(keys, secret.username_sealed, secret.ref, USERNAME_FIELD),
        notes=_open(keys, secret.notes_sealed, secret.ref, NOTES_FIELD),
    )


def rewrap_fields(
    old: envelope.ClientKeys,
    new: envelope.ClientKey,
    ref: str,
    sealed: Mapping[str, Any],
    index: BlindIndex | None = None,
) -> dict[str, Any]:
    """A client key rotation of one row: every blob's data key re-wrapped under ``new`` (value
    bytes unchanged), and the username's blind index recomputed under ``new``, for which the
    username alone is decrypted. ``sealed`` maps each column of SEALED_COLUMNS to its blob."""
    columns: dict[str, Any] = {"client_key_version": new.version}
    for field, column in SEALED_COLUMNS.items():
        blob = sealed.get(column)
        moved = None
        if blob is not None:
            moved = envelope.rewrap(bytes(blob), old, new, secret_id=ref, field=field)
        columns[column] = moved
    username = _open(old, sealed.get("username_sealed"), ref, USERNAME_FIELD)
    columns["username_index"] = None if username is None else (index or BlindIndex(new))(username)
    return columns


def username_matches(keys: Mapping[int, envelope.ClientKey], text: str) -> ColumnElement[bool]:
    """Secrets of these client keys whose username is ``text`` (normalised): the blind index of
    the text under each version, compared with the rows on that version."""
    found = []
    for version, key in keys.items():
        index = BlindIndex(key)(text)
        if index is not None:
            found.append(and_(Secret.client_key_version == version, Secret.username_index == index))
    return or_(*found) if found else false()

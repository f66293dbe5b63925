"""Blind indexes of usernames: one index for every spelling of a name, another under every other
client key or field, nothing for an empty name; the derivation refuses what it cannot encode."""

from __future__ import annotations

import pytest

from crypto import BlindIndex, ClientKey, index_label, normalise

KEY = ClientKey("42", 3, bytes(range(32)))


@pytest.mark.parametrize(
    "spelling",
    [
        "Admin@Érable.example",
        "ADMIN@ÉRABLE.EXAMPLE",
        "admin@e\u0301rable.example",
        "\uff41\uff44\uff4d\uff49\uff4e@érable.example",  # full-width letters,
    ],
)
def test_every_spelling_of_a_username_has_one_index(spelling):
    assert normalise(spelling) == "admin@érable.example"
    assert BlindIndex(KEY)(spelling) == BlindIndex(KEY)("admin@érable.example")


def test_the_index_is_64_hex_digits_and_differs_by_key_version_client_and_field():
    index = BlindIndex(KEY)("Straße-Admin")
    assert len(index) == 64 and int(index, 16) >= 0 and index == index.lower()
    assert BlindIndex(KEY)("STRASSE-ADMIN") == index  # full case folding: ß is ss
    others = [
        BlindIndex(ClientKey("42", 4, bytes(range(32, 64))))("Straße-Admin"),
        BlindIndex(ClientKey("43", 1, bytes(range(1, 33))))("Straße-Admin"),
        BlindIndex(KEY, "notes")("Straße-Admin"),
        BlindIndex(KEY)("Straße-Admin2"),
    ]
    assert index not in others and len(set(others)) == len(others)
    assert BlindIndex(KEY).version == 3


def test_an_empty_username_has_no_index():
    assert BlindIndex(KEY)("") is None


def test_labels_and_derivations_refuse_what_they_cannot_encode():
    assert index_label("username") == b"AUI\x01\x00\x08username"
    with pytest.raises(ValueError, match="1 to 65535 bytes"):
        index_label("")
    with pytest.raises(ValueError, match="non-empty bytes"):
        KEY.derive(b"")
    assert KEY.derive(b"a") != KEY.derive(b"b") and len(KEY.derive(b"a")) == 32

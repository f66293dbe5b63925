"""docs/crypto-format.md: its worked example recomputed by the code, and an independent decryptor
written from the document alone (doc and code cannot drift). The decryptor opens the worked
example, and the values, usernames and notes the service stored in the database: the demo's
secrets and others, read from the raw columns, through a master and a client key rotation."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import os
import re
import struct
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import crypto
from tests.factories import MASTER_KEY

DOC = Path(__file__).resolve().parents[2] / "docs" / "crypto-format.md"


def doc_block(name: str) -> str:
    """The fenced block after ``<!-- example:name -->``, fences removed."""
    pattern = rf"<!-- example:{re.escape(name)} -->\n```[a-z]*\n(.*?)```"
    match = re.search(pattern, DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"docs/crypto-format.md has no example block {name!r}"
    return match.group(1)


def doc_line(name: str) -> str:
    block = doc_block(name)
    assert block.count("\n") == 1 and block.endswith("\n"), name
    return block[:-1]


def doc_hex(name: str) -> bytes:
    return bytes.fromhex(doc_block(name))


# --- an independent decryptor ------------------------------------------------------------------
# Written from docs/crypto-format.md alone: struct, base64, hmac, hashlib, unicodedata and
# cryptography's AESGCM, nothing from crypto/ or auditor/. It must open what the service stores;
# if it cannot, the document is wrong.


def independent_read_ring(text: str) -> tuple[dict[int, bytes], int]:
    """Section 3: the key ring file; returns ({version: key}, current)."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    assert lines[0] == "auditor-master-key-ring 1"
    keys: dict[int, bytes] = {}
    current = 0
    for line in lines[1:]:
        words = line.split()
        if words[0] == "current":
            current = int(words[1])
        else:
            assert words[0] == "key" and int(words[1]) not in keys
            keys[int(words[1])] = base64.b64decode(words[2], validate=True)
            assert len(keys[int(words[1])]) == 32
    assert current in keys
    return keys, current


def independent_read_env_key(text: str) -> dict[int, bytes]:
    """Section 3: AUDITOR_MASTER_KEY, base64 of 32 bytes, is master key version 1."""
    key = base64.b64decode(text, validate=True)
    assert len(key) == 32
    return {1: key}


def independent_str(text: str) -> bytes:
    """Section 2: u16 big-endian length of the UTF-8 bytes, then the bytes."""
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def independent_unwrap(
    master_keys: dict[int, bytes], client_id: str, blob: bytes
) -> tuple[int, bytes]:
    """Section 5: returns (client key version, client key)."""
    assert len(blob) == 72 and blob[:4] == b"AUK\x01"
    master_version, client_key_version = struct.unpack(">II", blob[4:12])
    aad = blob[:12] + independent_str(client_id)
    key = AESGCM(master_keys[master_version]).decrypt(blob[12:24], blob[24:72], aad)
    return client_key_version, key


def independent_unseal(
    client_keys: dict[int, bytes], client_id: str, secret_id: str, field: str, blob: bytes
) -> bytes:
    """Section 8, steps 1 and 4-6."""
    assert len(blob) >= 96 and blob[:4] == b"AUS\x01"
    (client_key_version,) = struct.unpack(">I", blob[4:8])
    aad = (
        b"AUS\x01"
        + independent_str(client_id)
        + independent_str(secret_id)
        + independent_str(field)
    )
    data_key = AESGCM(client_keys[client_key_version]).decrypt(blob[8:20], blob[20:68], aad)
    return AESGCM(data_key).decrypt(blob[68:80], blob[80:], aad)


def independent_blind_index(client_key: bytes, username: str) -> str:
    """Section 7: the index key from the client key, then HMAC-SHA256 of the normalised name."""
    index_key = hmac.new(
        client_key, b"AUI\x01" + independent_str("username"), hashlib.sha256
    ).digest()
    normalised = unicodedata.normalize("NFKC", username).casefold()
    return hmac.new(index_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def independent_open_row(
    master_keys: dict[int, bytes], client_key_rows: list[tuple[int, int, bytes]], row: dict
) -> dict[str, str | None]:
    """Sections 8 and 10: a ``secret`` row's value, username and notes, from its raw columns and
    the (organization_id, version, wrapped) rows of ``client_key``; checks the blind index."""
    client_id = str(row["organization_id"])
    client_keys = dict(
        independent_unwrap(master_keys, client_id, bytes(wrapped))
        for organization_id, _, wrapped in client_key_rows
        if organization_id == row["organization_id"]
    )
    opened: dict[str, str | None] = {}
    for field, column in (("value", "value"), ("username", "username_sealed"),
                          ("notes", "notes_sealed")):  # fmt: skip
        blob = row[column]
        if blob is None:
            opened[field] = None
            continue
        assert struct.unpack(">I", bytes(blob)[4:8])[0] == row["client_key_version"]
        plain = independent_unseal(client_keys, client_id, row["ref"], field, bytes(blob))
        opened[field] = plain.decode("utf-8")
    if opened["username"] is None:
        assert row["username_index"] is None
    else:
        client_key = client_keys[row["client_key_version"]]
        assert independent_blind_index(client_key, opened["username"]) == row["username_index"]
    return opened


def independent_check_canary(master_keys: dict[int, bytes], blob: bytes) -> int:
    """Section 7: returns the master version whose key opened the canary."""
    assert len(blob) == 61 and blob[:4] == b"AUC\x01"
    (master_version,) = struct.unpack(">I", blob[4:8])
    text = AESGCM(master_keys[master_version]).decrypt(blob[8:20], blob[20:], blob[:8])
    assert text == b"auditor master key canary"
    return master_version


# --- the independent decryptor opens the document's example -----------------------------------


def test_independent_decryptor_opens_the_doc_example():
    master_keys, current = independent_read_ring(doc_block("key-ring-file"))
    assert current == 2 and master_keys[2] == doc_hex("master-key-2")
    client_id = doc_line("client-id")
    version, client_key = independent_unwrap(master_keys, client_id, doc_hex("wrapped-client-key"))
    assert (version, client_key) == (3, doc_hex("client-key"))
    keys = {3: client_key, 4: doc_hex("client-key-4")}
    place = (client_id, doc_line("secret-id"), doc_line("field"))
    plaintext = doc_line("plaintext").encode("utf-8")
    assert len(plaintext) == 23
    assert independent_unseal(keys, *place, doc_hex("sealed-secret")) == plaintext
    assert independent_unseal(keys, *place, doc_hex("rewrapped-secret")) == plaintext
    assert independent_check_canary(master_keys, doc_hex("canary")) == 2
    username = doc_line("username")
    assert unicodedata.normalize("NFKC", username).casefold() == doc_line("username-normalised")
    assert independent_blind_index(keys[3], username) == doc_line("blind-index")
    assert independent_blind_index(keys[3], username.upper()) == doc_line("blind-index")


def test_independent_decryptor_refuses_the_doc_example_moved_elsewhere():
    master_keys, _ = independent_read_ring(doc_block("key-ring-file"))
    _, client_key = independent_unwrap(master_keys, "42", doc_hex("wrapped-client-key"))
    with pytest.raises(InvalidTag):
        independent_unwrap(master_keys, "43", doc_hex("wrapped-client-key"))
    with pytest.raises(InvalidTag):
        independent_unseal(
            {3: client_key}, "42", doc_line("secret-id"), "username", doc_hex("sealed-secret")
        )


# --- the code reproduces the document's example ------------------------------------------------


@pytest.fixture
def draws(monkeypatch):
    """The random draws the code will make, in order; each must have the requested length."""
    queue: list[bytes] = []

    def fake_urandom(n: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == n
        return value

    monkeypatch.setattr(os, "urandom", fake_urandom)
    yield queue
    assert queue == []


def example_keys():
    ring = crypto.parse_key_ring(doc_block("key-ring-file"))
    client_key = crypto.ClientKey(doc_line("client-id"), 3, doc_hex("client-key"))
    return ring, client_key


def test_doc_key_ring_file_is_what_the_code_writes_and_reads():
    ring, _ = example_keys()
    assert ring.versions == (1, 2) and ring.current == 2
    assert ring.key_bytes(2) == doc_hex("master-key-2")
    assert crypto.dump_key_ring(
        crypto.MasterKeyRing({1: ring.key_bytes(1), 2: ring.key_bytes(2)}, 2)
    ) == (doc_block("key-ring-file"))


def test_doc_example_wrapped_client_key_matches_the_code(draws):
    ring, client_key = example_keys()
    assert crypto.client_key_aad(2, 3, "42") == doc_hex("client-key-aad")
    draws.append(doc_hex("client-key-nonce"))
    assert crypto.wrap_client_key(ring, client_key) == doc_hex("wrapped-client-key")
    assert crypto.unwrap_client_key(ring, "42", doc_hex("wrapped-client-key")).version == 3


def test_doc_example_sealed_secret_matches_the_code(draws):
    _, client_key = example_keys()
    secret_id, field = doc_line("secret-id"), doc_line("field")
    plaintext = doc_line("plaintext").encode("utf-8")
    assert crypto.secret_aad("42", secret_id, field) == doc_hex("secret-aad")
    draws.extend([doc_hex("data-key"), doc_hex("key-nonce"), doc_hex("value-nonce")])
    sealed = crypto.seal(client_key, plaintext, secret_id=secret_id, field=field)
    assert sealed == doc_hex("sealed-secret") and len(sealed) == 96 + 23
    assert crypto.unseal(client_key, sealed, secret_id=secret_id, field=field) == plaintext


def test_doc_example_rewrap_matches_the_code(draws):
    _, client_key = example_keys()
    new_key = crypto.ClientKey("42", 4, doc_hex("client-key-4"))
    secret_id, field = doc_line("secret-id"), doc_line("field")
    draws.append(doc_hex("rewrap-key-nonce"))
    moved = crypto.rewrap(
        doc_hex("sealed-secret"), client_key, new_key, secret_id=secret_id, field=field
    )
    assert moved == doc_hex("rewrapped-secret")
    assert moved[68:] == doc_hex("sealed-secret")[68:]
    assert (
        crypto.unseal(new_key, moved, secret_id=secret_id, field=field)
        == doc_line("plaintext").encode()
    )


def test_doc_example_canary_matches_the_code(draws):
    ring, _ = example_keys()
    assert crypto.canary_aad(2) == doc_hex("canary-aad")
    assert crypto.CANARY_PLAINTEXT.decode() == "auditor master key canary"
    draws.append(doc_hex("canary-nonce"))
    assert crypto.make_canary(ring) == doc_hex("canary")
    assert crypto.check_canary(ring, doc_hex("canary")) == 2


def test_doc_example_blind_index_matches_the_code():
    _, client_key = example_keys()
    assert crypto.index_label("username") == doc_hex("index-label")
    assert client_key.derive(doc_hex("index-label")) == doc_hex("index-key")
    assert crypto.normalise(doc_line("username")) == doc_line("username-normalised")
    assert crypto.BlindIndex(client_key)(doc_line("username")) == doc_line("blind-index")


def layout(name: str, n: int) -> list[tuple[int, int]]:
    """The (offset, length) rows of the table after ``<!-- layout:name -->``, n substituted."""
    text = DOC.read_text(encoding="utf-8").split(f"<!-- layout:{name} -->\n", 1)[1]
    rows = []
    for line in text.splitlines()[2:]:
        if not line.startswith("|"):
            break
        offset, length = (cell.strip().replace("n", str(n)) for cell in line.split("|")[1:3])
        rows.append((sum(map(int, offset.split("+"))), int(length)))  # "80 + n" -> 80 + 23
    return rows


@pytest.mark.parametrize(
    ("name", "example", "n"),
    [
        ("wrapped-client-key", "wrapped-client-key", 0),
        ("sealed-secret", "sealed-secret", 23),
        ("canary", "canary", 0),
    ],
)
def test_doc_layout_tables_are_contiguous_and_add_up_to_the_examples(name, example, n):
    rows = layout(name, n)
    position = 0
    for offset, length in rows:
        assert offset == position, (name, offset)
        position += length
    assert position == len(doc_hex(example))


def test_doc_states_the_sizes_and_limits_of_the_code():
    text = DOC.read_text(encoding="utf-8")
    assert "Always **72 bytes**" in text and "Always **61 bytes**" in text
    assert "**96 + n bytes**" in text and f"n ≤ {crypto.MAX_PLAINTEXT_BYTES}" in text
    assert crypto.envelope.VALUE_OFFSET == 68 and crypto.envelope.FORMAT_VERSION == 1


# --- the independent decryptor opens what the code seals now -----------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("value", "correct horse battery staple"),
        ("username", "jane.tremblay@exemple.ca"),
        ("notes", ""),
        ("value", "-----BEGIN KEY-----\n密钥 🔑\n" * 50),
    ],
)
def test_independent_decryptor_opens_freshly_sealed_values(tmp_path, field, value):
    ring = crypto.new_key_ring().add_version()  # two master versions, the second current
    path = tmp_path / "master.keys"
    crypto.write_key_ring_file(path, ring)
    assert crypto.read_key_ring_file(path) == ring
    old, new = crypto.ClientKey.generate("1017", 1), crypto.ClientKey.generate("1017", 2)
    rows = [crypto.wrap_client_key(ring, old), crypto.wrap_client_key(ring, new)]
    secret_id = "sec_5b0c8d0e8c334a539df47f0e2b3c9a11"
    sealed = crypto.seal(old, value.encode(), secret_id=secret_id, field=field)
    moved = crypto.rewrap(sealed, old, new, secret_id=secret_id, field=field)

    master_keys, current = independent_read_ring(path.read_text(encoding="utf-8"))
    assert current == 2 and independent_check_canary(master_keys, crypto.make_canary(ring, 1)) == 1
    client_keys = dict(independent_unwrap(master_keys, "1017", row) for row in rows)
    for blob in (sealed, moved):
        assert independent_unseal(client_keys, "1017", secret_id, field, blob) == value.encode()
    with pytest.raises(InvalidTag):
        independent_unseal(client_keys, "1018", secret_id, field, sealed)


# --- the independent decryptor opens what the service stored in the database ------------------


def test_independent_decryptor_opens_the_secrets_the_service_stored(session, keyring, tmp_path):
    """The demo's 25 secrets and two more, with usernames and notes, after a master key rotation
    (the key ring file holds two versions) and a client key rotation: every value, username and
    note opened from the raw columns, every blind index recomputed. auditor's code only creates
    the data and says what each secret holds (its reveal)."""
    from auditor import demo
    from auditor.schemas.vault import SecretIn
    from auditor.services.context import Actor
    from auditor.services.vault import client_rotation, rotation, store

    actor = Actor.cli()
    demo.load(session, actor=actor, ring=keyring)
    for name, username, notes, value in [
        ("Wi-Fi", "Réception-Borne", "Recovery codes: 1111 2222\nPIN 4417", "  Wifi pass  "),
        ("Alarm code", None, "front door; 密码 🔑", "1234\r\n5678"),
    ]:
        data = SecretIn(name=name, username=username, notes=notes, value=value)  # type: ignore[arg-type]
        store.create_secret(session, keyring, "northwind-dental", data, actor=actor)
    session.commit()
    refs = session.scalars(sa.text("SELECT ref FROM secret ORDER BY id")).all()
    assert len(refs) == 27
    expected = {}
    for ref in refs:
        revealed = store.reveal_secret(session, keyring, ref, "format check", actor=actor)
        expected[ref] = {"value": revealed.value, "username": revealed.username,
                         "notes": revealed.notes}  # fmt: skip
    assert sum(e["username"] is not None for e in expected.values()) == 21
    assert sum(e["notes"] is not None for e in expected.values()) == 2

    ring_file = tmp_path / "master-keys"
    rotated = rotation.rotate_master(
        session, keyring, actor=actor, save=lambda new: crypto.write_key_ring_file(ring_file, new)
    )
    session.commit()
    rotation.rewrap_client_keys(session, rotated, actor=actor)
    client_rotation.rotate_client(session, rotated, "northwind-dental", actor=actor)

    master_keys, current = independent_read_ring(ring_file.read_text(encoding="utf-8"))
    assert current == 2 and set(master_keys) == {1, 2}
    assert master_keys[1] == independent_read_env_key(MASTER_KEY)[1]
    key_rows = [tuple(r) for r in session.execute(
        sa.text("SELECT organization_id, version, wrapped FROM client_key"))]  # fmt: skip
    assert {struct.unpack(">I", bytes(w)[4:8])[0] for _, _, w in key_rows} == {2}
    rows = session.execute(
        sa.text(
            "SELECT ref, organization_id, client_key_version, value, username_sealed, "
            "username_index, notes_sealed FROM secret"
        )
    ).mappings()
    opened = {row["ref"]: independent_open_row(master_keys, key_rows, dict(row)) for row in rows}
    assert opened == expected
    canaries = session.scalars(sa.text("SELECT canary FROM master_key_canary")).all()
    assert sorted(independent_check_canary(master_keys, bytes(c)) for c in canaries) == [1, 2]


def test_the_independent_decryptor_uses_only_the_standard_library_and_aesgcm():
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    functions = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("independent_")
    ]
    allowed = {"AESGCM", "base64", "hashlib", "hmac", "struct", "unicodedata"}
    allowed |= {function.name for function in functions}
    assert len(functions) == 8
    for function in functions:
        used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)} & set(globals())
        assert used <= allowed, (function.name, used - allowed)


def test_doc_master_sealed_layout_matches_what_the_code_makes():
    from crypto import master_sealed

    value = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    ring = crypto.keys.MasterKeyRing({1: bytes(32)}, current=1)
    blob = master_sealed.seal(ring, value, purpose="totp", owner="user:7")
    rows = layout("master-sealed", len(value))
    position = 0
    for offset, length in rows:
        assert offset == position
        position += length
    assert position == len(blob) == 36 + len(value)
    text = DOC.read_text(encoding="utf-8")
    assert f"n ≤ {master_sealed.MAX_PLAINTEXT_BYTES}" in text and "**36 + n bytes**" in text

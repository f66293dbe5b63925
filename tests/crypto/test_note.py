"""C2SP signed notes and tlog checkpoints: signing, opening, key IDs, malformed input."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.errors import SignatureInvalid
from crypto.note import (
    Checkpoint,
    generate_private_key_pem,
    key_id,
    load_private_key,
    open_note,
    public_key_bytes,
    public_key_pem,
    sign_note,
    verifier_key,
)

# The example of golang.org/x/mod/sumdb/note (note_test.go and the package documentation):
# an independent implementation's key, text and signature, reproduced byte for byte.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

NAME = "auditor.test/log"
TEXT = "auditor.test/log\n5\n" + base64.b64encode(b"\x07" * 32).decode() + "\n"


def go_key() -> Ed25519PrivateKey:
    encoded = GO_SKEY.split("+", 4)[4]  # the base64 itself may contain '+'
    raw = base64.b64decode(encoded)
    assert raw[0] == 1  # the Ed25519 algorithm byte
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_sign_note_reproduces_the_go_reference_note():
    assert sign_note(GO_TEXT, "PeterNeumann", go_key()) == GO_TEXT + "\n" + GO_SIGNATURE


def test_open_note_accepts_the_go_reference_note():
    note = GO_TEXT + "\n" + GO_SIGNATURE
    assert open_note(note, "PeterNeumann", go_key().public_key()) == GO_TEXT


def test_verifier_key_matches_the_go_reference_vkey():
    assert verifier_key("PeterNeumann", go_key().public_key()) == GO_VKEY


def test_key_id_follows_the_c2sp_definition(key):
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected = hashlib.sha256(NAME.encode() + b"\n\x01" + raw).digest()[:4]
    assert key_id(NAME, public) == expected
    assert public_key_bytes(public) == raw
    assert key_id("PeterNeumann", go_key().public_key()).hex() == "c74f20a3"


def test_verifier_key_has_name_key_id_and_typed_public_key(key):
    name, hex_id, encoded = verifier_key(NAME, key.public_key()).split("+", 2)
    assert name == NAME
    assert bytes.fromhex(hex_id) == key_id(NAME, key.public_key())
    assert base64.b64decode(encoded) == b"\x01" + public_key_bytes(key.public_key())


def test_sign_and_open_round_trip(key):
    note = sign_note(TEXT, NAME, key)
    text, signature_line = note.split("\n\n")
    assert text + "\n" == TEXT
    dash, name, blob = signature_line.rstrip("\n").split(" ")
    assert (dash, name) == ("\u2014", NAME)
    assert len(base64.b64decode(blob)) == 4 + 64
    assert open_note(note, NAME, key.public_key()) == TEXT


def flip(text: str, index: int) -> str:
    """Change one character, keeping base64 alphabets valid."""
    replacement = "B" if text[index] != "B" else "C"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("index", [0, 17, len(TEXT) - 2])
def test_open_note_rejects_a_changed_text(key, index):
    note = sign_note(TEXT, NAME, key)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        open_note(flip(note, index), NAME, key.public_key())


def test_open_note_rejects_a_changed_signature(key):
    note = sign_note(TEXT, NAME, key)
    # past the key ID (the first 4 bytes are 6 base64 characters, rounded up to 8)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        open_note(flip(note, len(note) - 20), NAME, key.public_key())


def test_open_note_rejects_a_changed_key_id(key):
    note = sign_note(TEXT, NAME, key)
    start = note.rindex(" ") + 1
    with pytest.raises(SignatureInvalid, match="no signature by the expected key"):
        open_note(flip(note, start), NAME, key.public_key())


def test_open_note_ignores_signatures_by_other_keys(key):
    other = Ed25519PrivateKey.generate()
    ours = sign_note(TEXT, NAME, key)
    theirs = sign_note(TEXT, "witness.example/w1", other).split("\n\n")[1]
    same_name = sign_note(TEXT, NAME, other).split("\n\n")[1]
    cosigned = ours + theirs + same_name
    assert open_note(cosigned, NAME, key.public_key()) == TEXT
    assert open_note(cosigned, "witness.example/w1", other.public_key()) == TEXT


@pytest.mark.parametrize("signer_name", [NAME, "other.example/log"])
def test_open_note_without_the_expected_signature_fails(key, signer_name):
    note = sign_note(TEXT, signer_name, Ed25519PrivateKey.generate())
    with pytest.raises(SignatureInvalid, match="no signature by the expected key"):
        open_note(note, NAME, key.public_key())


def test_open_note_checks_the_name_as_well_as_the_key(key):
    note = sign_note(TEXT, NAME, key)
    with pytest.raises(SignatureInvalid, match="no signature by the expected key"):
        open_note(note, "other.example/log", key.public_key())


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n[:-1], "no blank line"),
        (lambda n: n.split("\n\n")[0] + "\n\n", "no signature by the expected key"),
        (lambda n: n.replace("\u2014 ", "- "), "bad signature line"),
        (lambda n: n.replace("\u2014 ", "\u2014  "), "bad signature line"),
        (lambda n: n[:-1] + " extra\n", "bad signature line"),
        (lambda n: n[:-3] + "!!\n", "not base64"),
        (lambda n: n[:-2] + "\n", "not base64"),
    ],
    ids=[
        "no-blank-line",
        "no-final-newline",
        "no-signature",
        "hyphen-not-em-dash",
        "double-space",
        "four-fields",
        "bad-base64-alphabet",
        "bad-base64-padding",
    ],
)
def test_open_note_rejects_malformed_notes(key, mangle, message):
    with pytest.raises(SignatureInvalid, match=message):
        open_note(mangle(sign_note(TEXT, NAME, key)), NAME, key.public_key())


def test_open_note_rejects_a_truncated_signature_blob(key):
    note = sign_note(TEXT, NAME, key)
    start = note.rindex(" ") + 1
    blob = base64.b64decode(note[start:])
    short = note[:start] + base64.b64encode(blob[:40]).decode() + "\n"
    with pytest.raises(SignatureInvalid, match="does not verify"):
        open_note(short, NAME, key.public_key())


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\tname"])
def test_sign_note_refuses_bad_key_names(key, name):
    with pytest.raises(ValueError, match="key name"):
        sign_note(TEXT, name, key)


def test_sign_note_refuses_text_without_final_newline(key):
    with pytest.raises(ValueError, match="newline"):
        sign_note(TEXT.rstrip("\n"), NAME, key)


def test_checkpoint_text_and_parse_round_trip():
    root = hashlib.sha256(b"root").digest()
    body = Checkpoint(NAME, 42, root, ("time 2026-11-22T12:00:00.000000Z",))
    assert body.text() == (
        f"{NAME}\n42\n{base64.b64encode(root).decode()}\ntime 2026-11-22T12:00:00.000000Z\n"
    )
    assert Checkpoint.parse(body.text()) == body
    assert Checkpoint.parse(Checkpoint(NAME, 0, root).text()) == Checkpoint(NAME, 0, root)


ROOT_B64 = base64.b64encode(b"\x01" * 32).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "origin\n",
        f"origin\n3\n{ROOT_B64}",  # no final newline
        f"origin\n3\n{ROOT_B64}\n\n",  # an empty line
        f"\n3\n{ROOT_B64}\n",  # empty origin
        f"origin\n3\n{ROOT_B64}\n\nextension\n",
        f"origin\nthree\n{ROOT_B64}\n",
        f"origin\n03\n{ROOT_B64}\n",
        f"origin\n+3\n{ROOT_B64}\n",
        f"origin\n-1\n{ROOT_B64}\n",
        f"origin\n 3\n{ROOT_B64}\n",
        "origin\n\u0663\n" + ROOT_B64 + "\n",  # ARABIC-INDIC DIGIT THREE: int() accepts it
        "origin\n3\nnot base64!\n",
        "origin\n3\n" + ROOT_B64.rstrip("=") + "\n",  # missing padding
        "origin\n3\n" + base64.b64encode(b"\x01" * 31).decode() + "\n",  # 31 bytes
        "origin\n3\n" + base64.b64encode(b"\x01" * 33).decode() + "\n",  # 33 bytes
    ],
)
def test_checkpoint_parse_rejects_bad_bodies(text):
    with pytest.raises(SignatureInvalid, match="malformed checkpoint"):
        Checkpoint.parse(text)


def test_load_private_key_reads_generated_pem():
    key = load_private_key(generate_private_key_pem())
    pem = public_key_pem(key.public_key())
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    loaded = serialization.load_pem_public_key(pem)
    assert public_key_bytes(loaded) == public_key_bytes(key.public_key())  # type: ignore[arg-type]
    assert isinstance(load_private_key(generate_private_key_pem().decode()), Ed25519PrivateKey)


def test_load_private_key_refuses_non_pem():
    with pytest.raises(SignatureInvalid, match="not a PEM private key"):
        load_private_key(b"not a key")


def test_load_private_key_refuses_other_key_types():
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(SignatureInvalid, match="not an Ed25519 key"):
        load_private_key(pem)

"""Envelope encryption: sealing, binding to place and client, rotation, canaries, safe errors."""

from __future__ import annotations

import base64
import inspect
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import envelope, keys
from crypto.envelope import (
    CANARY_PLAINTEXT,
    MAX_PLAINTEXT_BYTES,
    VALUE_OFFSET,
    ClientKey,
    canary_aad,
    check_canaries,
    check_canary,
    client_key_aad,
    make_canary,
    parse_canary,
    parse_sealed,
    parse_wrapped_client_key,
    rewrap,
    rewrap_client_key,
    seal,
    secret_aad,
    unseal,
    unwrap_client_key,
    wrap_client_key,
)
from crypto.errors import CryptoError, DecryptionFailed, MalformedCiphertext, UnknownKeyVersion
from crypto.keys import MasterKeyRing

MASTER_1 = bytes(range(32))
MASTER_2 = bytes(range(64, 96))
KEY_A = bytes(range(128, 160))
KEY_A2 = bytes(range(160, 192))
KEY_B = bytes(range(192, 224))
SECRET_ID = "0b7e3c1a-5d2f-4f6e-9a8b-1c2d3e4f5a6b"
OTHER_SECRET_ID = "7f00d1e5-2a3b-4c5d-8e9f-0a1b2c3d4e5f"
PLAINTEXT = "Érable-Montréal-2026!".encode()
DECRYPTION_FAILED = "could not decrypt: wrong key, or the ciphertext was altered or moved"
FIELDS = ["username", "password", "url", "notes", "totp_seed", "private_key", "api_token"]


@pytest.fixture
def ring() -> MasterKeyRing:
    return MasterKeyRing({1: MASTER_1}, 1)


@pytest.fixture
def key_a() -> ClientKey:
    return ClientKey("org-17", 1, KEY_A)


@pytest.fixture
def key_b() -> ClientKey:
    return ClientKey("org-23", 1, KEY_B)


def assert_safe(exc: BaseException, *secrets: bytes) -> None:
    """No plaintext or key in the message: raw, hex, base64, or UTF-8 text."""
    text = f"{exc} {exc!r} {exc.args!r}"
    for secret in filter(None, secrets):
        forms = [secret.hex(), base64.b64encode(secret).decode(), secret.decode("latin-1")]
        forms += (
            [secret.decode("utf-8", "ignore")] if len(secret.decode("utf-8", "ignore")) > 3 else []
        )
        assert not any(form in text for form in forms), text
    assert exc.__cause__ is None  # no chained InvalidTag or codec error carrying bytes


ALL_SECRETS = (MASTER_1, MASTER_2, KEY_A, KEY_A2, KEY_B, PLAINTEXT)


# --- sealing and unsealing --------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    "value",
    [b"", b"x", b"hunter2", PLAINTEXT, "密码 🔑 ключ".encode(), bytes(range(256)) * 64],
    ids=["empty", "one-byte", "ascii", "accents", "unicode", "binary-16k"],
)
def test_seal_unseal_round_trips_every_field_kind_and_value(key_a, field, value):
    blob = seal(key_a, value, secret_id=SECRET_ID, field=field)
    assert len(blob) == 96 + len(value)
    assert unseal(key_a, blob, secret_id=SECRET_ID, field=field) == value
    assert value not in blob[VALUE_OFFSET:] or len(value) < 2


def test_seal_unseal_round_trips_the_largest_value(key_a):
    value = os.urandom(MAX_PLAINTEXT_BYTES)
    blob = seal(key_a, value, secret_id=SECRET_ID, field="notes")
    assert unseal(key_a, blob, secret_id=SECRET_ID, field="notes") == value


def test_seal_refuses_values_over_the_limit_and_non_bytes(key_a):
    with pytest.raises(ValueError, match="at most 1048576 bytes"):
        seal(key_a, b"\x00" * (MAX_PLAINTEXT_BYTES + 1), secret_id=SECRET_ID, field="notes")
    with pytest.raises(TypeError, match="plaintext must be bytes") as info:
        seal(key_a, "hunter2", secret_id=SECRET_ID, field="password")  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value)


def test_seal_draws_a_fresh_data_key_and_nonces_every_time(key_a):
    first = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    second = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    a, b = parse_sealed(first), parse_sealed(second)
    assert a.key_nonce != b.key_nonce and a.value_nonce != b.value_nonce
    assert a.wrapped_data_key != b.wrapped_data_key and a.ciphertext != b.ciphertext


def test_parse_sealed_reads_the_header_without_keys(key_a):
    blob = seal(ClientKey("org-17", 7, KEY_A), PLAINTEXT, secret_id=SECRET_ID, field="password")
    parts = parse_sealed(blob)
    assert blob[:4] == b"AUS\x01" and blob[4:8] == b"\x00\x00\x00\x07"
    assert (parts.format_version, parts.client_key_version) == (1, 7)
    assert (len(parts.key_nonce), len(parts.wrapped_data_key), len(parts.value_nonce)) == (
        12,
        48,
        12,
    )
    assert len(parts.ciphertext) == len(PLAINTEXT) + 16
    assert (
        blob == b"AUS\x01" + blob[4:8] + parts.key_nonce + parts.wrapped_data_key + parts.value_part
    )
    assert parts.value_part == blob[68:]


def test_no_public_function_lets_a_caller_choose_a_nonce():
    for module in (envelope, keys):
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and not name.startswith("_"):
                assert not any("nonce" in p for p in inspect.signature(obj).parameters), name
    assert "nonce" not in str(inspect.signature(ClientKey))


# --- tampering and moving ---------------------------------------------------------------------


def small_blob(key: ClientKey) -> bytes:
    return seal(key, b"pw", secret_id=SECRET_ID, field="password")


@pytest.mark.parametrize("offset", range(96 + 2))
def test_a_flipped_byte_anywhere_in_a_sealed_secret_fails(key_a, offset):
    blob = bytearray(small_blob(key_a))
    blob[offset] ^= 0x01
    with pytest.raises(CryptoError) as info:
        unseal(key_a, bytes(blob), secret_id=SECRET_ID, field="password")
    if offset < 4:
        assert info.type is MalformedCiphertext
    elif offset < 8:
        assert info.type in (UnknownKeyVersion, MalformedCiphertext)
    else:
        assert info.type is DecryptionFailed and str(info.value) == DECRYPTION_FAILED
    assert_safe(info.value, b"pw", KEY_A)


@pytest.mark.parametrize(
    ("secret_id", "field"),
    [(OTHER_SECRET_ID, "password"), (SECRET_ID, "username"), (SECRET_ID.upper(), "password")],
)
def test_a_sealed_secret_moved_to_another_secret_or_field_fails(key_a, secret_id, field):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed, match=r"^could not decrypt: wrong key, or") as info:
        unseal(key_a, blob, secret_id=secret_id, field=field)
    assert_safe(info.value, *ALL_SECRETS)


def test_a_sealed_secret_moved_to_another_client_fails_even_with_the_same_key_bytes(key_a):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    impostor = ClientKey("org-18", 1, KEY_A)
    with pytest.raises(DecryptionFailed):
        unseal(impostor, blob, secret_id=SECRET_ID, field="password")


def test_one_clients_key_cannot_open_another_clients_secrets(key_a, key_b):
    blob_a = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    for client_id in ("org-17", "org-23"):
        with pytest.raises(DecryptionFailed) as info:
            unseal(ClientKey(client_id, 1, KEY_B), blob_a, secret_id=SECRET_ID, field="password")
        assert_safe(info.value, *ALL_SECRETS)
    with pytest.raises(DecryptionFailed):
        unseal(key_b, blob_a, secret_id=SECRET_ID, field="password")


def test_the_wrapped_data_key_and_the_value_of_two_secrets_cannot_be_spliced(key_a):
    one = seal(key_a, b"first", secret_id=SECRET_ID, field="password")
    two = seal(key_a, b"other", secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed):
        unseal(
            key_a, one[:VALUE_OFFSET] + two[VALUE_OFFSET:], secret_id=SECRET_ID, field="password"
        )


def test_an_unknown_client_key_version_fails_with_unknown_key_version(key_a):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    newer = ClientKey("org-17", 2, KEY_A2)
    with pytest.raises(UnknownKeyVersion, match=r"^client key version 1 is not available$"):
        unseal(newer, blob, secret_id=SECRET_ID, field="password")
    with pytest.raises(UnknownKeyVersion, match="client key version 1"):
        unseal({2: newer}, blob, secret_id=SECRET_ID, field="password")
    assert unseal({1: key_a, 2: newer}, blob, secret_id=SECRET_ID, field="password") == PLAINTEXT


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"", "sealed secret is truncated"),
        (b"AUS", "sealed secret is truncated"),
        (b"AUK\x01" + bytes(92), "not a sealed secret (wrong magic bytes)"),
        (b"aus\x01" + bytes(92), "not a sealed secret (wrong magic bytes)"),
        (b"AUS\x02" + bytes(92), "unsupported format version 2"),
        (b"AUS\x00" + bytes(92), "unsupported format version 0"),
        (b"AUS\x01" + bytes(91), "sealed secret is truncated"),
        (b"AUS\x01" + bytes(92), "names key version 0"),
        (b"AUS\x01" + bytes(92 + MAX_PLAINTEXT_BYTES + 1), "longer than the format allows"),
    ],
)
def test_parse_sealed_refuses_malformed_blobs(blob, expected):
    with pytest.raises(MalformedCiphertext) as info:
        parse_sealed(blob)
    assert expected in str(info.value)


def test_every_truncation_of_a_sealed_secret_is_malformed(key_a):
    blob = small_blob(key_a)
    for length in range(96):
        with pytest.raises(MalformedCiphertext):
            unseal(key_a, blob[:length], secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed):  # one byte of the value cut off: the tag fails
        unseal(key_a, blob[:-1], secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed):  # one byte too many
        unseal(key_a, blob + b"\x00", secret_id=SECRET_ID, field="password")


def test_parse_refuses_non_bytes():
    with pytest.raises(TypeError, match="a sealed secret must be bytes"):
        parse_sealed("AUS\x01")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a canary must be bytes"):
        parse_canary(bytearray(b"AUC\x01"))  # type: ignore[arg-type]


# --- associated data and context strings ------------------------------------------------------


def test_secret_aad_is_magic_version_and_length_prefixed_utf8_fields():
    assert secret_aad("42", "é", "password") == (
        b"AUS\x01" + b"\x00\x0242" + b"\x00\x02\xc3\xa9" + b"\x00\x08password"
    )
    assert secret_aad("a", "bc", "d") != secret_aad("ab", "c", "d")


def test_client_key_and_canary_aad_are_their_headers():
    assert client_key_aad(2, 3, "42") == b"AUK\x01" + struct.pack(">II", 2, 3) + b"\x00\x0242"
    assert canary_aad(5) == b"AUC\x01\x00\x00\x00\x05"


@pytest.mark.parametrize(
    ("client_id", "secret_id", "field", "error", "expected"),
    [
        ("", SECRET_ID, "password", ValueError, "client id must be 1 to 65535 bytes"),
        ("org", "", "password", ValueError, "secret id must be 1 to 65535 bytes"),
        ("org", SECRET_ID, "", ValueError, "field must be 1 to 65535 bytes"),
        ("org", "x" * 65536, "password", ValueError, "secret id must be 1 to 65535 bytes"),
        ("org", "\ud800", "password", ValueError, "secret id is not valid Unicode text"),
        (17, SECRET_ID, "password", TypeError, "client id must be a string"),
    ],
)
def test_context_strings_are_checked(client_id, secret_id, field, error, expected):
    with pytest.raises(error, match=expected):
        secret_aad(client_id, secret_id, field)
    assert secret_aad("o", "s" * 65535, "f")  # the longest allowed


# --- client keys ------------------------------------------------------------------------------


def test_client_key_validates_its_parts_and_hides_its_key():
    key = ClientKey("org-17", 3, KEY_A)
    assert (key.client_id, key.version) == ("org-17", 3)
    assert repr(key) == "ClientKey(client_id='org-17', version=3)"
    with pytest.raises(ValueError, match="a client key must be 32 bytes") as info:
        ClientKey("org-17", 1, KEY_A[:16])
    assert_safe(info.value, KEY_A[:16])
    with pytest.raises(ValueError, match="client key version must be between"):
        ClientKey("org-17", 0, KEY_A)
    with pytest.raises(ValueError, match="client id"):
        ClientKey("", 1, KEY_A)


def test_generated_client_keys_are_random():
    one, two = ClientKey.generate("org-17"), ClientKey.generate("org-17", 2)
    assert (one.version, two.version) == (1, 2)
    blob = seal(one, PLAINTEXT, secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed):
        unseal(ClientKey("org-17", 1, KEY_A), blob, secret_id=SECRET_ID, field="password")


def test_wrap_unwrap_client_key_round_trips(ring, key_a):
    wrapped = wrap_client_key(ring, key_a)
    parts = parse_wrapped_client_key(wrapped)
    assert len(wrapped) == 72 and wrapped[:12] == b"AUK\x01" + struct.pack(">II", 1, 1)
    assert (parts.format_version, parts.master_version, parts.client_key_version) == (1, 1, 1)
    assert KEY_A not in wrapped
    unwrapped = unwrap_client_key(ring, "org-17", wrapped)
    assert (unwrapped.client_id, unwrapped.version) == ("org-17", 1)
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    assert unseal(unwrapped, blob, secret_id=SECRET_ID, field="password") == PLAINTEXT


def test_a_wrapped_client_key_only_unwraps_for_its_client(ring, key_a):
    wrapped = wrap_client_key(ring, key_a)
    with pytest.raises(DecryptionFailed) as info:
        unwrap_client_key(ring, "org-23", wrapped)
    assert_safe(info.value, *ALL_SECRETS)


def test_a_wrong_master_key_cannot_unwrap(ring, key_a):
    wrapped = wrap_client_key(ring, key_a)
    with pytest.raises(DecryptionFailed):
        unwrap_client_key(MasterKeyRing({1: MASTER_2}, 1), "org-17", wrapped)


def test_an_unknown_master_version_fails_with_unknown_key_version(ring, key_a):
    wrapped = wrap_client_key(MasterKeyRing({4: MASTER_2}, 4), key_a)
    with pytest.raises(UnknownKeyVersion, match=r"^master key version 4 is not in the master"):
        unwrap_client_key(ring, "org-17", wrapped)


@pytest.mark.parametrize("offset", range(72))
def test_a_flipped_byte_anywhere_in_a_wrapped_client_key_fails(ring, key_a, offset):
    blob = bytearray(wrap_client_key(ring, key_a))
    blob[offset] ^= 0x01
    with pytest.raises(CryptoError) as info:
        unwrap_client_key(ring, "org-17", bytes(blob))
    if offset < 4:
        assert info.type is MalformedCiphertext
    elif offset < 12:
        assert info.type in (UnknownKeyVersion, MalformedCiphertext, DecryptionFailed)
    else:
        assert info.type is DecryptionFailed
    assert_safe(info.value, *ALL_SECRETS)


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"AUK\x01" + bytes(67), "wrapped client key must be 72 bytes"),
        (b"AUK\x01" + bytes(69), "wrapped client key must be 72 bytes"),
        (b"AUK\x03" + bytes(68), "unsupported format version 3"),
        (b"AUS\x01" + bytes(68), "not a wrapped client key"),
        (b"AUK\x01" + bytes(68), "names key version 0"),
        (b"AUK\x01\x00\x00\x00\x01" + bytes(64), "names key version 0"),
    ],
)
def test_parse_wrapped_client_key_refuses_malformed_blobs(blob, expected):
    with pytest.raises(MalformedCiphertext, match=expected):
        parse_wrapped_client_key(blob)


# --- rotation ---------------------------------------------------------------------------------


def test_master_rotation_rewraps_client_keys_to_the_same_key(ring, key_a):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    old_wrapped = wrap_client_key(ring, key_a)
    rotated = ring.add_version(MASTER_2)
    new_wrapped = rewrap_client_key(rotated, "org-17", old_wrapped)
    assert parse_wrapped_client_key(new_wrapped).master_version == 2
    assert parse_wrapped_client_key(new_wrapped).client_key_version == 1
    retired = rotated.drop_version(1)  # version 1 can go once nothing is wrapped under it
    unwrapped = unwrap_client_key(retired, "org-17", new_wrapped)
    assert unseal(unwrapped, blob, secret_id=SECRET_ID, field="password") == PLAINTEXT
    with pytest.raises(UnknownKeyVersion, match="master key version 1"):
        unwrap_client_key(retired, "org-17", old_wrapped)
    with pytest.raises(UnknownKeyVersion, match="master key version 2"):
        unwrap_client_key(ring, "org-17", new_wrapped)


def test_rewrap_keeps_the_value_bytes_and_opens_with_the_new_key_only(key_a):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    new = ClientKey("org-17", 2, KEY_A2)
    moved = rewrap(blob, key_a, new, secret_id=SECRET_ID, field="password")
    assert moved[VALUE_OFFSET:] == blob[VALUE_OFFSET:]
    assert parse_sealed(moved).value_part == parse_sealed(blob).value_part
    assert (
        parse_sealed(moved).client_key_version == 2 and moved[:VALUE_OFFSET] != blob[:VALUE_OFFSET]
    )
    assert unseal(new, moved, secret_id=SECRET_ID, field="password") == PLAINTEXT
    with pytest.raises(UnknownKeyVersion):
        unseal(key_a, moved, secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed):  # the old key bytes under the new version number
        unseal(ClientKey("org-17", 2, KEY_A), moved, secret_id=SECRET_ID, field="password")


def test_rewrap_accepts_the_old_keys_by_version_and_checks_the_place(key_a):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    new = ClientKey("org-17", 2, KEY_A2)
    moved = rewrap(blob, {1: key_a, 2: new}, new, secret_id=SECRET_ID, field="password")
    assert unseal({2: new}, moved, secret_id=SECRET_ID, field="password") == PLAINTEXT
    with pytest.raises(DecryptionFailed):
        rewrap(blob, key_a, new, secret_id=OTHER_SECRET_ID, field="password")
    with pytest.raises(UnknownKeyVersion):
        rewrap(blob, new, new, secret_id=SECRET_ID, field="password")


def test_rewrap_refuses_to_move_a_secret_to_another_client(key_a, key_b):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    with pytest.raises(ValueError, match="both keys must be the same client's"):
        rewrap(blob, key_a, key_b, secret_id=SECRET_ID, field="password")


def test_rewrap_does_not_launder_an_altered_value(key_a):
    blob = bytearray(seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password"))
    blob[-1] ^= 0x80
    new = ClientKey("org-17", 2, KEY_A2)
    moved = rewrap(bytes(blob), key_a, new, secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed):
        unseal(new, moved, secret_id=SECRET_ID, field="password")


def test_crypto_shredding_a_fresh_key_for_the_same_client_opens_nothing(ring, key_a):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    del key_a  # the client key rows are deleted: only a new key for the same client can exist
    replacement = ClientKey.generate("org-17")
    with pytest.raises(DecryptionFailed):
        unseal(replacement, blob, secret_id=SECRET_ID, field="password")


# --- canaries ---------------------------------------------------------------------------------


def test_a_canary_checks_out_with_the_right_key(ring):
    canary = make_canary(ring)
    parts = parse_canary(canary)
    assert (
        len(canary) == 20 + len(CANARY_PLAINTEXT) + 16 and canary[:8] == b"AUC\x01\x00\x00\x00\x01"
    )
    assert (parts.format_version, parts.master_version) == (1, 1)
    assert check_canary(ring, canary) == 1


def test_a_wrong_master_key_fails_the_canary_naming_the_version(ring):
    canary = make_canary(ring.add_version(MASTER_2), 1)
    wrong = MasterKeyRing({1: MASTER_2}, 1)
    with pytest.raises(DecryptionFailed) as info:
        check_canary(wrong, canary)
    assert str(info.value).startswith("master key version 1 does not match its canary")
    assert_safe(info.value, MASTER_1, MASTER_2, CANARY_PLAINTEXT)


def test_a_missing_master_version_fails_the_canary_naming_the_version(ring):
    canary = make_canary(ring.add_version(MASTER_2))
    with pytest.raises(UnknownKeyVersion) as info:
        check_canary(ring, canary)
    assert str(info.value).startswith("master key version 2 is missing from the master key ring")
    assert_safe(info.value, MASTER_1, MASTER_2)


def test_a_canary_with_other_content_under_the_right_key_fails(ring):
    nonce = bytes(12)
    forged = AESGCM(MASTER_1).encrypt(nonce, b"x" * len(CANARY_PLAINTEXT), canary_aad(1))
    with pytest.raises(DecryptionFailed, match="version 1 does not match its canary"):
        check_canary(ring, b"AUC\x01\x00\x00\x00\x01" + nonce + forged)


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"AUC\x01" + bytes(56), "canary must be 61 bytes"),
        (b"AUC\x01" + bytes(58), "canary must be 61 bytes"),
        (b"AUC\x01" + bytes(57), "names key version 0"),
        (b"AUK\x01" + bytes(57), "not a canary"),
    ],
)
def test_parse_canary_refuses_malformed_blobs(blob, expected):
    with pytest.raises(MalformedCiphertext, match=expected):
        parse_canary(blob)


def test_check_canaries_checks_each_and_returns_versions_still_without_one(ring):
    rotated = ring.add_version(MASTER_2).add_version()
    stored = [make_canary(rotated, 1), make_canary(rotated, 2)]
    assert check_canaries(rotated, stored) == [3]
    assert check_canaries(rotated, []) == [1, 2, 3]
    assert check_canaries(rotated, [*stored, make_canary(rotated)]) == []
    with pytest.raises(UnknownKeyVersion, match="master key version 2"):
        check_canaries(ring, stored)
    with pytest.raises(DecryptionFailed, match="master key version 1"):
        check_canaries(MasterKeyRing({1: MASTER_2, 2: MASTER_2}, 2), stored)


def test_make_canary_for_an_unknown_version_fails(ring):
    with pytest.raises(UnknownKeyVersion, match="master key version 3"):
        make_canary(ring, 3)


# --- no secret ever in a message --------------------------------------------------------------


def failures(ring, key_a, key_b):
    blob = seal(key_a, PLAINTEXT, secret_id=SECRET_ID, field="password")
    wrapped = wrap_client_key(ring, key_a)
    yield lambda: unseal(key_b, blob, secret_id=SECRET_ID, field="password")
    yield lambda: unseal(key_a, blob[:-1], secret_id=SECRET_ID, field="password")
    yield lambda: unseal(key_a, blob[:50], secret_id=SECRET_ID, field="password")
    yield lambda: unseal(ClientKey("org-17", 2, KEY_A2), blob, secret_id=SECRET_ID, field="x")
    yield lambda: rewrap(blob, key_a, key_b, secret_id=SECRET_ID, field="password")
    yield lambda: unwrap_client_key(ring, "org-23", wrapped)
    yield lambda: unwrap_client_key(MasterKeyRing({1: MASTER_2}, 1), "org-17", wrapped)
    yield lambda: check_canary(MasterKeyRing({1: MASTER_2}, 1), make_canary(ring))
    yield lambda: ClientKey("org-17", 1, PLAINTEXT)
    yield lambda: seal(key_a, PLAINTEXT * 100_000, secret_id=SECRET_ID, field="notes")


def test_no_error_message_contains_plaintext_or_key_material(ring, key_a, key_b):
    raised = 0
    for attempt in failures(ring, key_a, key_b):
        with pytest.raises((CryptoError, ValueError)) as info:
            attempt()
        assert_safe(info.value, *ALL_SECRETS)
        raised += 1
    assert raised == 10


def test_unsealing_never_returns_empty_or_raw_bytes_on_failure(key_a):
    blob = seal(key_a, b"", secret_id=SECRET_ID, field="password")
    with pytest.raises(DecryptionFailed):
        unseal(key_a, blob, secret_id=SECRET_ID, field="username")
    assert envelope.unseal(key_a, blob, secret_id=SECRET_ID, field="password") == b""

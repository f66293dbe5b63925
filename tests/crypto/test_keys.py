"""The master key ring: construction, rotation, the key ring file format, and safe messages."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from crypto import keys
from crypto.errors import CryptoError, KeyRingError, UnknownKeyVersion
from crypto.keys import (
    MAX_VERSION,
    MasterKeyRing,
    dump_key_ring,
    generate_key,
    load_master_key_ring,
    new_key_ring,
    parse_key_ring,
    read_key_ring_file,
    ring_from_base64,
    write_key_ring_file,
)

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(100, 132))
B64_1 = base64.b64encode(KEY_1).decode()
B64_2 = base64.b64encode(KEY_2).decode()


def assert_no_key_material(exc: BaseException, *secrets: bytes | str) -> None:
    """Neither the key bytes, nor their hex, nor their base64 (or a long piece of it) appear."""
    text = f"{exc} {exc!r} {exc.args!r}"
    for secret in filter(None, secrets):
        raw = secret.encode() if isinstance(secret, str) else secret
        forms = [raw.hex(), base64.b64encode(raw).decode(), base64.b64encode(raw).decode()[:12]]
        forms.append(raw.decode("latin-1"))
        for form in forms:
            assert form not in text, f"key material in {text!r}"


def ring_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- keys and rings ---------------------------------------------------------------------------


def test_generate_key_is_32_fresh_random_bytes():
    first, second = generate_key(), generate_key()
    assert len(first) == len(second) == 32 and first != second


def test_new_key_ring_has_one_random_version():
    ring = new_key_ring()
    assert ring.versions == (1,) and ring.current == 1
    assert len(ring.key_bytes(1)) == 32 and ring != new_key_ring()


def test_ring_from_base64_is_version_1_and_tolerates_surrounding_whitespace():
    ring = ring_from_base64(f"  {B64_1}\n")
    assert ring.versions == (1,) and ring.current == 1 and ring.key_bytes(1) == KEY_1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not base64 at all!", "AUDITOR_MASTER_KEY: the key is not valid base64"),
        (B64_1[:-2], "AUDITOR_MASTER_KEY: the key is not valid base64"),
        (base64.b64encode(KEY_1[:16]).decode(), "exactly 32 bytes, not 16"),
        (base64.b64encode(KEY_1 + b"\x00").decode(), "exactly 32 bytes, not 33"),
        ("", "exactly 32 bytes, not 0"),
    ],
)
def test_ring_from_base64_refuses_bad_keys_without_echoing_them(value, expected):
    with pytest.raises(KeyRingError) as info:
        ring_from_base64(value)
    assert expected in str(info.value)
    assert_no_key_material(info.value, KEY_1, value)


def test_ring_repr_shows_versions_but_no_key():
    ring = MasterKeyRing({1: KEY_1, 2: KEY_2}, 2)
    assert repr(ring) == "MasterKeyRing(versions=(1, 2), current=2)"
    assert KEY_1.hex() not in repr(ring) and B64_2 not in repr(ring)


def test_ring_versions_are_sorted_and_membership_works():
    ring = MasterKeyRing({5: KEY_2, 1: KEY_1}, 1)
    assert ring.versions == (1, 5) and 5 in ring and 2 not in ring and "1" not in ring


def test_ring_equality_compares_versions_current_and_keys():
    ring = MasterKeyRing({1: KEY_1, 2: KEY_2}, 2)
    assert ring == MasterKeyRing({2: KEY_2, 1: KEY_1}, 2)
    assert ring != MasterKeyRing({1: KEY_1, 2: KEY_2}, 1)
    assert ring != MasterKeyRing({1: KEY_1, 2: KEY_1}, 2)
    assert ring != MasterKeyRing({1: KEY_1}, 1)
    assert ring != "ring"


@pytest.mark.parametrize(
    ("key_map", "current", "expected"),
    [
        ({}, 1, "needs at least one key"),
        ({0: KEY_1}, 0, "between 1 and 4294967295"),
        ({MAX_VERSION + 1: KEY_1}, MAX_VERSION + 1, "between 1 and 4294967295"),
        ({True: KEY_1}, 1, "must be an integer"),
        ({1: KEY_1[:31]}, 1, "master key version 1 must be 32 bytes"),
        ({1: "k" * 32}, 1, "master key version 1 must be 32 bytes"),
        ({1: KEY_1}, 2, "the current version 2 is not in the master key ring"),
    ],
)
def test_ring_constructor_refuses_bad_input(key_map, current, expected):
    with pytest.raises(KeyRingError) as info:
        MasterKeyRing(key_map, current)
    assert expected in str(info.value)
    assert_no_key_material(info.value, KEY_1)


def test_add_version_appends_highest_plus_one_and_makes_it_current():
    ring = MasterKeyRing({1: KEY_1, 3: KEY_2}, 1)
    rotated = ring.add_version()
    assert rotated.versions == (1, 3, 4) and rotated.current == 4
    assert rotated.key_bytes(1) == KEY_1 and rotated.key_bytes(3) == KEY_2
    assert len(rotated.key_bytes(4)) == 32 and rotated.key_bytes(4) not in {KEY_1, KEY_2}
    assert ring.versions == (1, 3)  # the original ring is unchanged


def test_add_version_with_a_given_key():
    rotated = MasterKeyRing({1: KEY_1}, 1).add_version(KEY_2)
    assert rotated == MasterKeyRing({1: KEY_1, 2: KEY_2}, 2)


def test_add_version_refuses_past_the_last_version():
    with pytest.raises(KeyRingError, match="no master key version left"):
        MasterKeyRing({MAX_VERSION: KEY_1}, MAX_VERSION).add_version()


def test_drop_version_removes_a_retired_version():
    ring = MasterKeyRing({1: KEY_1, 2: KEY_2}, 2).drop_version(1)
    assert ring == MasterKeyRing({2: KEY_2}, 2)
    with pytest.raises(UnknownKeyVersion, match="master key version 1 is not in"):
        ring.aead(1)


def test_drop_version_refuses_the_current_and_unknown_versions():
    ring = MasterKeyRing({1: KEY_1, 2: KEY_2}, 2)
    with pytest.raises(KeyRingError, match="version 2 is current and cannot be dropped"):
        ring.drop_version(2)
    with pytest.raises(UnknownKeyVersion, match="master key version 7 is not in"):
        ring.drop_version(7)


def test_aead_and_key_bytes_of_an_unknown_version_raise_unknown_key_version():
    ring = MasterKeyRing({1: KEY_1}, 1)
    assert ring.aead(1) is ring.aead(1)  # cached: no per-call key setup
    for call in (ring.aead, ring.key_bytes):
        with pytest.raises(UnknownKeyVersion) as info:
            call(9)
        assert "version 9" in str(info.value)
        assert_no_key_material(info.value, KEY_1)


@pytest.mark.parametrize(
    ("version", "error"),
    [(0, ValueError), (2**32, ValueError), (1.0, TypeError), (False, TypeError)],
)
def test_check_version_refuses_non_versions(version, error):
    with pytest.raises(error, match="client key version"):
        keys.check_version(version, "client key")


# --- the key ring file format -----------------------------------------------------------------

VALID_RING = ring_text(
    "# the auditor's master keys",
    "",
    "auditor-master-key-ring 1",
    "current 2",
    f"key 1 {B64_1}",
    "   # retired next quarter",
    f"  key 2   {B64_2}  ",
)


def test_parse_key_ring_reads_versions_and_current_skipping_comments_and_blanks():
    ring = parse_key_ring(VALID_RING)
    assert ring.versions == (1, 2) and ring.current == 2
    assert ring.key_bytes(1) == KEY_1 and ring.key_bytes(2) == KEY_2


def test_dump_key_ring_is_the_documented_text_and_parses_back():
    ring = MasterKeyRing({1: KEY_1, 2: KEY_2}, 2)
    text = dump_key_ring(ring)
    assert text.splitlines()[1:] == [
        "auditor-master-key-ring 1",
        "current 2",
        f"key 1 {B64_1}",
        f"key 2 {B64_2}",
    ]
    assert text.startswith("# ") and text.endswith("\n")
    assert parse_key_ring(text) == ring


HEADER = "auditor-master-key-ring 1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "ring: empty (expected the header line 'auditor-master-key-ring 1')"),
        ("# only a comment\n\n", "ring: empty"),
        (ring_text(f"key 1 {B64_1}"), "ring, line 1: expected the header line"),
        (ring_text("auditor-master-key-ring 2", "current 1"), "line 1: expected the header line"),
        (ring_text(HEADER, "current 1"), "ring: no 'key' line"),
        (ring_text(HEADER, f"key 1 {B64_1}"), "ring: no 'current <version>' line"),
        (ring_text(HEADER, "current 2", f"key 1 {B64_1}"), "current version 2 has no 'key' line"),
        (
            ring_text(HEADER, "current 1", f"key 1 {B64_1}", f"key 1 {B64_2}"),
            "line 4: version 1 appears twice",
        ),
        (
            ring_text(HEADER, "current 1", "current 1", f"key 1 {B64_1}"),
            "line 3: a second 'current'",
        ),
        (ring_text(HEADER, "current 1", "key 1 %%%%"), "line 3: the key is not valid base64"),
        (
            ring_text(HEADER, "current 1", f"key 1 {base64.b64encode(KEY_1[:20]).decode()}"),
            "line 3: the key must decode to exactly 32 bytes, not 20",
        ),
        (ring_text(HEADER, "current 0", f"key 1 {B64_1}"), "line 2: a version must be a positive"),
        (ring_text(HEADER, "current 01", f"key 1 {B64_1}"), "line 2: a version must be a positive"),
        (ring_text(HEADER, "current -1", f"key 1 {B64_1}"), "line 2: a version must be a positive"),
        (ring_text(HEADER, "current \u0661", f"key 1 {B64_1}"), "line 2: a version must be a"),
        (ring_text(HEADER, "current 4294967296"), "line 2: a version must be at most 4294967295"),
        (ring_text(HEADER, "current 1", B64_1), "line 3: expected 'current <version>' or 'key"),
        (ring_text(HEADER, "current 1", f"key {B64_1}"), "line 3: expected 'current <version>'"),
        (ring_text(HEADER, "current 1", f"secret 1 {B64_1}"), "line 3: expected 'current"),
    ],
)
def test_parse_key_ring_refuses_malformed_files_naming_the_line_not_the_key(text, expected):
    with pytest.raises(KeyRingError) as info:
        parse_key_ring(text, source="master key ring")
    assert expected in str(info.value)
    assert_no_key_material(info.value, KEY_1, KEY_2)


def write(path, text: str, mode: int) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def test_read_key_ring_file_reads_an_owner_only_file(tmp_path):
    path = tmp_path / "master.keys"
    write(path, VALID_RING, 0o600)
    assert read_key_ring_file(path) == parse_key_ring(VALID_RING)
    path.chmod(0o400)
    assert read_key_ring_file(str(path)).current == 2


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o602, 0o610, 0o666])
def test_read_key_ring_file_refuses_group_or_world_access_naming_the_file(tmp_path, mode):
    path = tmp_path / "master.keys"
    write(path, VALID_RING, mode)
    with pytest.raises(KeyRingError) as info:
        read_key_ring_file(path)
    message = str(info.value)
    assert str(path) in message and f"mode {mode:04o}" in message and "chmod 600" in message
    assert_no_key_material(info.value, KEY_1, KEY_2)


def test_read_key_ring_file_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "master.keys"
    write(path, ring_text(HEADER, "current 1", f"key 1 {B64_1[:-4]}"), 0o600)
    with pytest.raises(KeyRingError) as info:
        read_key_ring_file(path)
    assert str(info.value) == (
        f"master key ring {path}, line 3: the key must decode to exactly 32 bytes, not 30"
    )


def test_read_key_ring_file_refuses_missing_files_directories_and_binary(tmp_path):
    with pytest.raises(KeyRingError, match="cannot open it"):
        read_key_ring_file(tmp_path / "absent.keys")
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyRingError, match="not a regular file"):
        read_key_ring_file(folder)
    binary = tmp_path / "binary.keys"
    binary.write_bytes(b"\xff\xfe" + KEY_1)
    binary.chmod(0o600)
    with pytest.raises(KeyRingError, match="not UTF-8 text") as info:
        read_key_ring_file(binary)
    assert_no_key_material(info.value, KEY_1)


def test_write_key_ring_file_creates_an_owner_only_file_that_reads_back(tmp_path):
    path = tmp_path / "master.keys"
    ring = MasterKeyRing({1: KEY_1, 2: KEY_2}, 2)
    write_key_ring_file(path, ring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_ring_file(path) == ring
    rotated = ring.add_version()
    write_key_ring_file(str(path), rotated)  # replaces the file atomically
    assert read_key_ring_file(path) == rotated
    assert [p.name for p in tmp_path.iterdir()] == ["master.keys"]


def test_write_key_ring_file_leaves_no_temporary_file_when_it_fails(tmp_path, monkeypatch):
    def refuse(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(keys.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_key_ring_file(tmp_path / "master.keys", new_key_ring())
    assert list(tmp_path.iterdir()) == []


# --- loading from the configuration's values --------------------------------------------------


def test_load_master_key_ring_from_the_variable_or_the_file(tmp_path):
    assert load_master_key_ring(key=B64_1) == MasterKeyRing({1: KEY_1}, 1)
    path = tmp_path / "master.keys"
    write(path, VALID_RING, 0o600)
    assert load_master_key_ring(key_file=path) == parse_key_ring(VALID_RING)
    assert load_master_key_ring(key="", key_file=str(path)).current == 2


def test_load_master_key_ring_refuses_both_or_neither(tmp_path):
    with pytest.raises(
        KeyRingError, match="set AUDITOR_MASTER_KEY or AUDITOR_MASTER_KEY_FILE, not"
    ):
        load_master_key_ring(key=B64_1, key_file=tmp_path / "x")
    with pytest.raises(KeyRingError, match="no master key: set AUDITOR_MASTER_KEY or"):
        load_master_key_ring()
    with pytest.raises(KeyRingError, match="no master key"):
        load_master_key_ring(key="", key_file="")


def test_every_key_ring_error_is_a_crypto_error():
    assert issubclass(KeyRingError, CryptoError) and issubclass(UnknownKeyVersion, CryptoError)


def test_generate_key_uses_the_operating_system_csprng(monkeypatch):
    monkeypatch.setattr(os, "urandom", lambda n: b"\x07" * n)
    assert generate_key() == b"\x07" * 32

"""KDBX 4 hand-over files, opened by keepassxc-cli (an independent reader) and by a reader here.

keepassxc-cli comes from Debian's `keepassxc` package; without it those tests are skipped.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from crypto.kdbx import (
    HANDOVER_KDF,
    MIN_WORDS,
    WORDS,
    Argon2Parameters,
    KdbxEntry,
    generate_passphrase,
    write_kdbx4,
)
from tests.factories.kdbx import (
    CHEAP,
    WrongKey,
    entries_of,
    export_xml,
    kdf_parameters,
    keepassxc,
    needs_keepassxc,
    open_kdbx,
    parse_header,
)

WRITTEN_AT = dt.datetime(2025, 3, 14, 15, 9, 26, tzinfo=dt.UTC)
PASSPHRASE = "mot-de-passe-élevé-🔑"
SEED = base64.b32encode(bytes(range(20))).decode()
LONG_NOTE = ("Ünïcødé <tag attr=\"v\"> & 'quotes' 🔑 ]]> line\n" * 60)[:2000]
SAMPLE = (
    KdbxEntry(
        title="Domain admin",
        username="CORP\\administrator",
        password='pässwört "x" 🔑 <&>\'',
        url="https://dc01.corp.example/login?a=1&b=2",
        notes="Rotated quarterly.\nSee runbook §4.",
        group="Servers",
        tags=("prod", "ad"),
    ),
    KdbxEntry(
        title="<script>alert('x')</script> & \"friends\"",
        username="ünïcødé-用户",
        password="]]><!-- --> &amp;",
        notes=LONG_NOTE,
    ),
    KdbxEntry(title="Empty fields"),
    KdbxEntry(
        title="Firewall",
        username="admin",
        password="fw-" + "x" * 64,
        url="ssh://10.0.0.1",
        group="Network",
        otp=SEED,
    ),
    KdbxEntry(
        title="VPN",
        username="ops",
        password="tab\there\nnewline",
        group="Network",
        otp=f"otpauth://totp/Acme:ops?secret={SEED}&issuer=Acme",
    ),
)


def expected(entry: KdbxEntry) -> dict[str, Any]:
    return {
        "group": entry.group,
        "tags": set(entry.tags),
        "Title": entry.title,
        "UserName": entry.username,
        "Password": entry.password,
        "URL": entry.url,
        "Notes": entry.notes,
    }


def assert_same_entries(root: ET.Element, entries: tuple[KdbxEntry, ...] | list[KdbxEntry]) -> None:
    found = entries_of(root)
    assert sorted(found) == sorted(e.title for e in entries)
    for entry in entries:
        got = dict(found[entry.title])
        otp = got.pop("otp", "")
        assert got == expected(entry)
        assert (entry.otp != "") == otp.startswith("otpauth://totp/")
        assert SEED in otp or not entry.otp


# --- pure Python --------------------------------------------------------------------------------


def test_generate_passphrase_draws_80_bits_from_a_256_word_list():
    assert len(WORDS) == len(set(WORDS)) == 256
    assert all(w.isascii() and w.isalpha() and w.islower() for w in WORDS)
    assert not [(a, b) for a in WORDS for b in WORDS if a != b and b.startswith(a)]
    words = generate_passphrase().split("-")
    assert len(words) == 10 and set(words) <= set(WORDS)
    assert len(generate_passphrase(12).split("-")) == 12
    assert len({generate_passphrase() for _ in range(50)}) == 50
    with pytest.raises(ValueError, match="at least 8 words"):
        generate_passphrase(MIN_WORDS - 1)


def test_write_kdbx4_header_is_kdbx_4_0_with_argon2id_and_a_verifying_hmac():
    data = write_kdbx4(SAMPLE, PASSPHRASE, database_name="Acme", now=WRITTEN_AT)
    header, fields = parse_header(data)
    assert struct.unpack_from("<HH", data, 8) == (0, 4)
    assert fields[2] == bytes.fromhex("31c1f2e6bf714350be5805216afc5aff")
    assert struct.unpack("<I", fields[3]) == (1,)
    assert len(fields[4]) == 32 and len(fields[7]) == 16 and fields[0] == b"\r\n\r\n"
    kdf = kdf_parameters(fields)
    assert kdf["uuid"] == "9e298b1956db4773b23dfc3ec6f0a1e6" and len(kdf["salt"]) == 32
    assert (kdf["M"], kdf["I"], kdf["P"], kdf["V"]) == (64 * 1024 * 1024, 10, 2, 0x13)
    assert Argon2Parameters(memory_kib=65536, iterations=10, parallelism=2) == HANDOVER_KDF
    _, blocks = open_kdbx(data, PASSPHRASE)
    assert blocks == 2  # one data block, then the empty end block
    cheap = write_kdbx4(SAMPLE, PASSPHRASE, database_name="Acme", kdf=CHEAP)
    with pytest.raises(WrongKey):
        open_kdbx(cheap, PASSPHRASE + "x")
    again, _ = parse_header(write_kdbx4(SAMPLE, PASSPHRASE, database_name="Acme", kdf=CHEAP))
    assert again[12:] != parse_header(cheap)[0][12:]  # fresh seed, IV and salt for every file
    assert header[:12] == again[:12]


def test_write_kdbx4_entries_round_trip_through_the_python_reader():
    data = write_kdbx4(
        SAMPLE, PASSPHRASE, database_name='Client <A&B> "Ltd"', kdf=CHEAP, now=WRITTEN_AT
    )
    root, _ = open_kdbx(data, PASSPHRASE)
    assert root.findtext("Meta/DatabaseName") == 'Client <A&B> "Ltd"'
    assert root.findtext("Root/Group/Name") == 'Client <A&B> "Ltd"'
    assert_same_entries(root, SAMPLE)
    seconds = struct.unpack("<q", base64.b64decode(root.findtext(".//Entry/Times/CreationTime")))[0]
    assert dt.datetime(1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds) == WRITTEN_AT
    folders = [g.findtext("Name") for g in root.findall("Root/Group/Group")]
    assert folders == ["Servers", "Network"]
    for entry in SAMPLE:
        if entry.password:
            assert entry.password.encode() not in data


def test_write_kdbx4_keeps_windows_line_endings_and_spans_several_hmac_blocks():
    bulk = secrets.token_hex(1_500_000)  # 3 MB of hex is still more than 1 MiB once gzipped
    entries = [
        KdbxEntry("crlf", password="bell\x07\r\n", notes="a\r\nb\rc"),
        KdbxEntry("bulk", notes=bulk),
    ]
    root, blocks = open_kdbx(write_kdbx4(entries, "pw", database_name="X", kdf=CHEAP), "pw")
    assert blocks >= 3
    found = entries_of(root)
    assert found["crlf"]["Notes"] == "a\r\nb\rc" and found["bulk"]["Notes"] == bulk
    assert found["crlf"]["Password"] == "bell\x07\r\n"  # protected: any text, even controls


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (KdbxEntry("t", notes="bell\x07"), "entry 0 notes contains a character"),
        (KdbxEntry("t\x00"), "entry 0 title contains a character"),
        (KdbxEntry("t", group="\ufffe"), "entry 0 group contains a character"),
        (KdbxEntry("t", tags=("a;b",)), "must not contain ';' or ','"),
        (KdbxEntry("t", password="lone \ud800 surrogate"), "entry 0: password is not valid"),
        (KdbxEntry("t", otp="not a seed!"), "otp is neither an otpauth:// URI nor a base32"),
    ],
)
def test_write_kdbx4_refuses_bad_values_without_echoing_them_or_the_passphrase(entry, message):
    passphrase = "correct-horse-battery-staple"
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        write_kdbx4([entry], passphrase, database_name="X", kdf=CHEAP)
    text = "".join(str(e) + repr(e) for e in (caught.value, caught.value.__context__) if e)
    assert passphrase not in text
    for value in (entry.notes, entry.password, entry.otp, entry.title):
        assert len(value) < 3 or value not in text


@pytest.mark.parametrize(
    ("passphrase", "kwargs"),
    [
        ("", {}),
        ("hunter2-\ud800-secret", {}),
        ("hunter2-secret", {"now": dt.datetime(2025, 1, 1)}),  # naive
        ("hunter2-secret", {"database_name": "bad\x1b"}),
        ("hunter2-secret", {"description": "bad\x0c"}),
    ],
)
def test_write_kdbx4_errors_never_carry_the_passphrase(passphrase, kwargs):
    arguments = {"database_name": "X", "kdf": CHEAP, **kwargs}
    with pytest.raises(ValueError) as caught:
        write_kdbx4([KdbxEntry("t")], passphrase, **arguments)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [{"parallelism": 0}, {"memory_kib": 8, "parallelism": 2}, {"iterations": 0}],
)
def test_argon2_parameters_refuse_what_readers_reject(kwargs):
    with pytest.raises(ValueError, match="Argon2"):
        Argon2Parameters(**kwargs)


# --- keepassxc-cli: an independent KDBX reader ---------------------------------------------------


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "handover.kdbx"
    path.write_bytes(data)
    return path


@pytest.mark.slow
@needs_keepassxc
def test_keepassxc_opens_the_file_with_a_generated_passphrase_and_reads_every_field(tmp_path):
    passphrase = generate_passphrase()
    data = write_kdbx4(SAMPLE, passphrase, database_name="Client <A&B> 🔑", now=WRITTEN_AT)
    root = export_xml(tmp_path, write(tmp_path, data), passphrase)
    assert root.findtext("Meta/DatabaseName") == "Client <A&B> 🔑"
    assert_same_entries(root, SAMPLE)


@pytest.mark.slow
@needs_keepassxc
def test_keepassxc_refuses_a_wrong_passphrase(tmp_path):
    path = write(tmp_path, write_kdbx4(SAMPLE, PASSPHRASE, database_name="X", kdf=CHEAP))
    status, out, err = keepassxc(tmp_path, PASSPHRASE[:-1], "ls", str(path))
    assert status != 0 and out == ""
    assert "Invalid credentials" in err and "HMAC mismatch" in err


@pytest.mark.slow
@needs_keepassxc
def test_keepassxc_keeps_crlf_notes_and_computes_the_totp_of_the_seed(tmp_path):
    entries = [KdbxEntry("crlf", "u", "bell\x07\r\n", notes="a\r\nb"), KdbxEntry("mfa", otp=SEED)]
    path = write(tmp_path, write_kdbx4(entries, "pw", database_name="X", kdf=CHEAP))
    assert keepassxc(tmp_path, "pw", "show", "-q", "-s", "-a", "Notes", str(path), "crlf") == (
        0,
        "a\r\nb\n",
        "",
    )
    assert keepassxc(tmp_path, "pw", "show", "-q", "-s", "-a", "Password", str(path), "crlf") == (
        0,
        "bell\x07\r\n\n",
        "",
    )
    before = time.time()
    shown = keepassxc(tmp_path, "pw", "show", "-q", "-t", str(path), "mfa")
    totp = TOTP(base64.b32decode(SEED), 6, hashes.SHA1(), 30)
    codes = {totp.generate(t).decode() for t in (before - 1, before, time.time())}
    assert shown[0] == 0 and shown[1].strip() in codes


@pytest.mark.slow
@needs_keepassxc
def test_keepassxc_reads_all_500_entries_and_a_multi_block_file(tmp_path):
    entries = [
        KdbxEntry(
            f"Entry {i:03}",
            f"user{i}",
            generate_passphrase(),
            f"https://host{i}.example",
            LONG_NOTE,
            group=f"Site {i % 7}",
        )
        for i in range(500)
    ] + [KdbxEntry("bulk", notes=secrets.token_hex(1_500_000))]
    passphrase = generate_passphrase()
    data = write_kdbx4(entries, passphrase, database_name="Big")  # the hand-over KDF
    assert open_kdbx(data, passphrase)[1] >= 3
    assert_same_entries(export_xml(tmp_path, write(tmp_path, data), passphrase), entries)

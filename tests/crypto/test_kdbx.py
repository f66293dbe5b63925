"""KDBX 4 hand-over files, opened by keepassxc-cli (an independent reader) and by a reader here.

keepassxc-cli comes from Debian's `keepassxc` package; without it those tests are skipped.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import os
import re
import secrets
import shutil
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
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

KEEPASSXC = shutil.which("keepassxc-cli")
needs_keepassxc = pytest.mark.skipif(
    KEEPASSXC is None,
    reason="keepassxc-cli not installed (Debian/Ubuntu: apt-get install -y keepassxc)",
)

CHEAP = Argon2Parameters(memory_kib=64, iterations=1, parallelism=1)  # tests only
NOW = dt.datetime(2025, 3, 14, 15, 9, 26, tzinfo=dt.UTC)
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


# --- an independent-of-the-writer reader: header, HMAC blocks, AES-CBC, gzip, inner stream -------


class WrongKey(Exception):
    pass


def parse_header(data: bytes) -> tuple[bytes, dict[int, bytes]]:
    assert data[:8] == bytes.fromhex("03d9a29a67fb4bb5")
    pos, fields = 12, {}
    while True:
        field_id, size = struct.unpack_from("<BI", data, pos)
        fields[field_id] = data[pos + 5 : pos + 5 + size]
        pos += 5 + size
        if field_id == 0:
            return data[:pos], fields


def parse_variant_dict(raw: bytes) -> dict[str, tuple[int, bytes]]:
    assert struct.unpack_from("<H", raw)[0] == 0x0100
    pos, out = 2, {}
    while raw[pos] != 0:
        kind, name_len = struct.unpack_from("<BI", raw, pos)
        name = raw[pos + 5 : pos + 5 + name_len].decode()
        pos += 5 + name_len
        (value_len,) = struct.unpack_from("<I", raw, pos)
        out[name] = (kind, raw[pos + 4 : pos + 4 + value_len])
        pos += 4 + value_len
    assert pos == len(raw) - 1
    return out


def kdf_parameters(fields: dict[int, bytes]) -> dict[str, Any]:
    params = parse_variant_dict(fields[11])
    assert {name: kind for name, (kind, _) in params.items()} == {
        "$UUID": 0x42, "S": 0x42, "P": 0x04, "M": 0x05, "I": 0x05, "V": 0x04,
    }  # fmt: skip
    return {
        "uuid": params["$UUID"][1].hex(),
        "salt": params["S"][1],
        "P": struct.unpack("<I", params["P"][1])[0],
        "M": struct.unpack("<Q", params["M"][1])[0],
        "I": struct.unpack("<Q", params["I"][1])[0],
        "V": struct.unpack("<I", params["V"][1])[0],
    }


def block_key(index: int, key: bytes) -> bytes:
    return hashlib.sha512(index.to_bytes(8, "little") + key).digest()


def open_kdbx(data: bytes, passphrase: str) -> tuple[ET.Element, int]:
    """The decrypted XML (protected values in clear) and the number of HMAC blocks."""
    header, fields = parse_header(data)
    kdf = kdf_parameters(fields)
    composite = hashlib.sha256(hashlib.sha256(passphrase.encode()).digest()).digest()
    transformed = Argon2id(
        salt=kdf["salt"],
        length=32,
        iterations=kdf["I"],
        lanes=kdf["P"],
        memory_cost=kdf["M"] // 1024,
    ).derive(composite)
    seed = fields[4]
    hmac_key = hashlib.sha512(seed + transformed + b"\x01").digest()
    pos = len(header)
    assert data[pos : pos + 32] == hashlib.sha256(header).digest()
    expected = hmac.digest(block_key(2**64 - 1, hmac_key), header, "sha256")
    if not hmac.compare_digest(data[pos + 32 : pos + 64], expected):
        raise WrongKey
    pos, index, ciphertext = pos + 64, 0, b""
    while True:
        mac, size = data[pos : pos + 32], struct.unpack_from("<i", data, pos + 32)[0]
        chunk = data[pos + 36 : pos + 36 + size]
        message = index.to_bytes(8, "little") + struct.pack("<i", size) + chunk
        assert hmac.compare_digest(mac, hmac.digest(block_key(index, hmac_key), message, "sha256"))
        pos, index, ciphertext = pos + 36 + size, index + 1, ciphertext + chunk
        if size == 0:
            break
    assert pos == len(data)
    key = hashlib.sha256(seed + transformed).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(fields[7])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    payload = gzip.decompress(unpadder.update(padded) + unpadder.finalize())
    inner, pos = {}, 0
    while True:
        field_id, size = struct.unpack_from("<BI", payload, pos)
        inner[field_id] = payload[pos + 5 : pos + 5 + size]
        pos += 5 + size
        if field_id == 0:
            break
    assert struct.unpack("<I", inner[1])[0] == 3 and len(inner[2]) == 64 and 3 not in inner
    root = ET.fromstring(payload[pos:])
    digest = hashlib.sha512(inner[2]).digest()
    nonce = b"\x00\x00\x00\x00" + digest[32:44]
    stream = Cipher(algorithms.ChaCha20(digest[:32], nonce), mode=None).decryptor()
    for value in root.iter("Value"):
        if value.get("Protected") == "True" and value.text:
            value.text = stream.update(base64.b64decode(value.text)).decode()
    return root, index


def entries_of(root: ET.Element) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(group: ET.Element, path: str) -> None:
        for child in group:
            if child.tag == "Entry":
                strings = {
                    s.findtext("Key"): s.findtext("Value") or "" for s in child.iter("String")
                }
                tags = {t for t in re.split("[;,]", child.findtext("Tags") or "") if t}
                found[strings["Title"]] = {"group": path, "tags": tags, **strings}
            elif child.tag == "Group":
                walk(child, child.findtext("Name") or "")

    top = root.find("Root/Group")
    assert top is not None
    walk(top, "")
    return found


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
    data = write_kdbx4(SAMPLE, PASSPHRASE, database_name="Acme", now=NOW)
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
    data = write_kdbx4(SAMPLE, PASSPHRASE, database_name='Client <A&B> "Ltd"', kdf=CHEAP, now=NOW)
    root, _ = open_kdbx(data, PASSPHRASE)
    assert root.findtext("Meta/DatabaseName") == 'Client <A&B> "Ltd"'
    assert root.findtext("Root/Group/Name") == 'Client <A&B> "Ltd"'
    assert_same_entries(root, SAMPLE)
    seconds = struct.unpack("<q", base64.b64decode(root.findtext(".//Entry/Times/CreationTime")))[0]
    assert dt.datetime(1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds) == NOW
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


def keepassxc(tmp_path: Path, passphrase: str, *args: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr (decoded without newline translation: CR survives)."""
    assert KEEPASSXC is not None
    home = tmp_path / "home"  # keepassxc-cli writes its settings under $HOME/.config
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    result = subprocess.run(
        [KEEPASSXC, *args],
        input=(passphrase + "\n").encode(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def export_xml(tmp_path: Path, path: Path, passphrase: str) -> ET.Element:
    status, out, err = keepassxc(
        tmp_path, passphrase, "export", "--quiet", "--format", "xml", str(path)
    )
    assert status == 0, err
    return ET.fromstring(out.encode())


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "handover.kdbx"
    path.write_bytes(data)
    return path


@pytest.mark.slow
@needs_keepassxc
def test_keepassxc_opens_the_file_with_a_generated_passphrase_and_reads_every_field(tmp_path):
    passphrase = generate_passphrase()
    data = write_kdbx4(SAMPLE, passphrase, database_name="Client <A&B> 🔑", now=NOW)
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

"""An independent reader of KDBX 4 files (header, HMAC blocks, AES-CBC, gzip, the inner
stream), and keepassxc-cli, another one, where it is installed (Debian's `keepassxc` package)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto.kdbx import Argon2Parameters

KEEPASSXC = shutil.which("keepassxc-cli")
needs_keepassxc = pytest.mark.skipif(
    KEEPASSXC is None,
    reason="keepassxc-cli not installed (Debian/Ubuntu: apt-get install -y keepassxc)",
)
CHEAP = Argon2Parameters(memory_kib=64, iterations=1, parallelism=1)  # tests only: fast files


class WrongKey(Exception):
    """The passphrase does not open the file (the header HMAC does not verify)."""


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

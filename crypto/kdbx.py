"""KeePass KDBX 4.0 files for credential hand-over, and the one-time passphrases that open them.

Format: outer header (AES-256-CBC, gzip, Argon2id KDF parameters as a VariantDictionary), its
SHA-256 and HMAC-SHA-256, then the HMAC block stream carrying the encrypted, gzipped inner header
(ChaCha20 inner random stream) and the XML document. Argon2id needs KeePass 2.48+ or KeePassXC
2.6+; tested with keepassxc-cli 2.7.4 (Debian bookworm).
Little-endian throughout. Messages never contain the passphrase or any credential value.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import re
import secrets
import struct
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

SIGNATURE = struct.pack("<II", 0x9AA2D903, 0xB54BFB67)
VERSION_4_0 = struct.pack("<HH", 0, 4)  # minor, major
CIPHER_AES256_CBC = uuid.UUID("31c1f2e6-bf71-4350-be58-05216afc5aff").bytes
KDF_ARGON2ID = uuid.UUID("9e298b19-56db-4773-b23d-fc3ec6f0a1e6").bytes
ARGON2_VERSION = 0x13
COMPRESSION_GZIP = 1
INNER_STREAM_CHACHA20 = 3
HMAC_BLOCK_SIZE = 1024 * 1024
VARIANT_DICT_VERSION = 0x0100

# Outer header field ids, inner header field ids, VariantDictionary value types.
FIELD_END, FIELD_CIPHER, FIELD_COMPRESSION, FIELD_SEED, FIELD_IV, FIELD_KDF = 0, 2, 3, 4, 7, 11
INNER_END, INNER_STREAM_ID, INNER_STREAM_KEY = 0, 1, 2
VD_UINT32, VD_UINT64, VD_BYTES = 0x04, 0x05, 0x42

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)  # KDBX 4 stores times as seconds since 0001-01-01 UTC
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BASE32 = re.compile("[A-Z2-7]+=*")

# 256 words (8 bits each), no word a prefix of another, none a homophone of another.
_WORD_TEXT = """
    acorn actor agent album alpine amber anchor angle ankle apple apron arch arena armor
    arrow atlas attic autumn bacon badge bagel baker bamboo banana banjo barley barrel
    basket beach beacon bean beaver bench berry bishop blanket blossom bonnet border bottle
    branch breeze brick bridge bubble bucket bundle butter button cabin cactus camel camera
    canal candle canoe canvas canyon captain carbon carpet carrot castle cattle cellar
    cement chalk cherry circle circus clover cobalt cocoa coconut comet compass copper coral
    cotton cougar cradle crayon cricket crystal curtain cushion daisy dancer denim desert
    diamond dinner doctor dolphin donkey dragon drawer dream drum eagle echo elbow ember
    engine falcon farmer feather fence ferry fiddle finch flute forest fossil fountain
    fridge galaxy garden garlic gecko ginger glacier glove goblet gravel guitar hammer
    harbor harvest hazel helmet hermit honey hornet igloo island ivory jacket jaguar jelly
    jigsaw jungle kayak kernel kettle kitten koala ladder lagoon lantern lemon lettuce lilac
    linen lizard llama locket magnet mango maple marble meadow melon meteor mitten monkey
    mosaic muffin napkin needle nickel noodle nutmeg oasis ocean octopus olive onion orbit
    orchid otter oyster paddle palace panda parrot peanut pebble pencil pepper piano pickle
    pigeon pillow pilot pirate planet pocket potato puffin pumpkin puppet puzzle quartz
    quilt rabbit radish raven ribbon rocket saddle salmon sandal scarf shovel silver skate
    sleeve socket sparrow spider spinach spoon stable statue summit sunset swan tablet
    teapot temple thunder ticket tiger timber toast tomato trumpet tulip tunnel turtle
    valley velvet violin volcano wagon walnut walrus whale window winter wizard wombat
    yogurt zebra zipper
"""
WORDS: tuple[str, ...] = tuple(_WORD_TEXT.split())
BITS_PER_WORD = 8
MIN_WORDS = 8


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """Argon2id cost, stored in the file header so any reader derives the same key."""

    memory_kib: int = 64 * 1024
    iterations: int = 10
    parallelism: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.parallelism < 1 << 24:
            raise ValueError("Argon2 parallelism must be between 1 and 2**24 - 1")
        if not 8 * self.parallelism <= self.memory_kib < 1 << 32:
            raise ValueError("Argon2 memory must be at least 8 KiB per lane and below 4 TiB")
        if not 1 <= self.iterations < 1 << 32:
            raise ValueError("Argon2 iterations must be between 1 and 2**32 - 1")


# 64 MiB, 10 passes, 2 lanes: about 0.3 s on a current x86 server, a few seconds on an old phone;
# KeePassXC's own default for new databases (64 MiB, tuned to about 1 s) is of the same order.
HANDOVER_KDF = Argon2Parameters()


@dataclass(frozen=True, slots=True)
class KdbxEntry:
    """One credential. ``group`` names a folder under the root ("" = the root itself);
    ``otp`` is an ``otpauth://`` URI or a bare base32 TOTP seed (stored as KeePassXC's ``otp``)."""

    title: str
    username: str = ""
    password: str = ""
    url: str = ""
    notes: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()
    otp: str = ""


def generate_passphrase(words: int = 10) -> str:
    """Hyphen-joined words drawn with ``secrets`` from WORDS: 8 bits each, 80 bits by default.

    80 bits behind Argon2id (64 MiB) puts offline guessing far out of reach; words rather than
    random characters because the passphrase is shown once and often read out over the phone.
    """
    if words < MIN_WORDS:
        raise ValueError(f"a hand-over passphrase needs at least {MIN_WORDS} words")
    return "-".join(secrets.choice(WORDS) for _ in range(words))


def write_kdbx4(
    entries: Iterable[KdbxEntry],
    passphrase: str,
    *,
    database_name: str,
    description: str = "",
    kdf: Argon2Parameters = HANDOVER_KDF,
    now: datetime | None = None,
) -> bytes:
    """The bytes of a KDBX 4.0 database holding ``entries``, opened by ``passphrase`` alone."""
    secret = _utf8(passphrase)
    if not secret:
        raise ValueError("passphrase must be non-empty valid Unicode text")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    master_seed, salt = secrets.token_bytes(32), secrets.token_bytes(32)
    iv, stream_key = secrets.token_bytes(16), secrets.token_bytes(64)
    document = _document(list(entries), database_name, description, moment, stream_key)

    header = _outer_header(master_seed, iv, salt, kdf)
    composite = hashlib.sha256(hashlib.sha256(secret).digest()).digest()
    transformed = Argon2id(
        salt=salt,
        length=32,
        iterations=kdf.iterations,
        lanes=kdf.parallelism,
        memory_cost=kdf.memory_kib,
    ).derive(composite)
    cipher_key = hashlib.sha256(master_seed + transformed).digest()
    hmac_key = hashlib.sha512(master_seed + transformed + b"\x01").digest()

    inner = (
        _field(INNER_STREAM_ID, struct.pack("<I", INNER_STREAM_CHACHA20))
        + _field(INNER_STREAM_KEY, stream_key)
        + _field(INNER_END, b"")
    )
    padder = padding.PKCS7(128).padder()
    padded = padder.update(gzip.compress(inner + document, mtime=0)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(cipher_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()

    header_mac = hmac.digest(block_hmac_key(2**64 - 1, hmac_key), header, "sha256")
    return header + hashlib.sha256(header).digest() + header_mac + _blocks(ciphertext, hmac_key)


def block_hmac_key(index: int, hmac_key: bytes) -> bytes:
    """SHA-512(uint64 index || HMAC base key); the header uses index 2**64 - 1."""
    return hashlib.sha512(struct.pack("<Q", index) + hmac_key).digest()


def inner_stream(stream_key: bytes) -> Cipher[None]:
    """The ChaCha20 inner random stream: key and 96-bit nonce from SHA-512(inner key)."""
    digest = hashlib.sha512(stream_key).digest()
    # cryptography's ChaCha20 nonce is a 32-bit little-endian block counter (0) then the nonce.
    return Cipher(algorithms.ChaCha20(digest[:32], b"\x00" * 4 + digest[32:44]), mode=None)


def _utf8(value: str) -> bytes | None:
    # Returning None (not raising inside the except) keeps the encoding error, which holds the
    # whole value, out of any later exception's __context__.
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _field(field_id: int, data: bytes) -> bytes:
    return struct.pack("<BI", field_id, len(data)) + data


def _outer_header(master_seed: bytes, iv: bytes, salt: bytes, kdf: Argon2Parameters) -> bytes:
    params = b"".join(
        struct.pack("<BI", kind, len(name)) + name + struct.pack("<I", len(value)) + value
        for kind, name, value in (
            (VD_BYTES, b"$UUID", KDF_ARGON2ID),
            (VD_BYTES, b"S", salt),
            (VD_UINT32, b"P", struct.pack("<I", kdf.parallelism)),
            (VD_UINT64, b"M", struct.pack("<Q", kdf.memory_kib * 1024)),
            (VD_UINT64, b"I", struct.pack("<Q", kdf.iterations)),
            (VD_UINT32, b"V", struct.pack("<I", ARGON2_VERSION)),
        )
    )
    return (
        SIGNATURE
        + VERSION_4_0
        + _field(FIELD_CIPHER, CIPHER_AES256_CBC)
        + _field(FIELD_COMPRESSION, struct.pack("<I", COMPRESSION_GZIP))
        + _field(FIELD_SEED, master_seed)
        + _field(FIELD_IV, iv)
        + _field(FIELD_KDF, struct.pack("<H", VARIANT_DICT_VERSION) + params + b"\x00")
        + _field(FIELD_END, b"\r\n\r\n")
    )


def _blocks(data: bytes, hmac_key: bytes) -> bytes:
    chunks = [data[i : i + HMAC_BLOCK_SIZE] for i in range(0, len(data), HMAC_BLOCK_SIZE)]
    out = bytearray()
    for index, chunk in enumerate([*chunks, b""]):  # an empty block ends the stream
        size = struct.pack("<i", len(chunk))
        message = struct.pack("<Q", index) + size + chunk
        out += hmac.digest(block_hmac_key(index, hmac_key), message, "sha256") + size + chunk
    return bytes(out)


def _document(
    entries: list[KdbxEntry], name: str, description: str, now: datetime, stream_key: bytes
) -> bytes:
    stamp = base64.b64encode(struct.pack("<q", (now - _EPOCH) // timedelta(seconds=1))).decode()
    null_uuid = base64.b64encode(bytes(16)).decode()

    def sub(parent: ET.Element, tag: str, text: str = "") -> ET.Element:
        element = ET.SubElement(parent, tag)
        element.text = text or None
        return element

    def times(parent: ET.Element) -> None:
        node = sub(parent, "Times")
        for tag in ("CreationTime", "LastModificationTime", "LastAccessTime", "ExpiryTime"):
            sub(node, tag, stamp)
        sub(node, "Expires", "False")
        sub(node, "UsageCount", "0")
        sub(node, "LocationChanged", stamp)

    def group(group_name: str) -> ET.Element:
        node = ET.Element("Group")
        sub(node, "UUID", _new_uuid())
        sub(node, "Name", group_name)
        sub(node, "Notes")
        sub(node, "IconID", "48")
        times(node)
        sub(node, "IsExpanded", "True")
        sub(node, "EnableAutoType", "null")
        sub(node, "EnableSearching", "null")
        sub(node, "LastTopVisibleEntry", null_uuid)
        return node

    _check_text(name, "database name")
    _check_text(description, "database description")
    root = ET.Element("KeePassFile")
    meta = sub(root, "Meta")
    sub(meta, "Generator", "auditor")
    for tag, value in (("DatabaseName", name), ("DatabaseDescription", description)):
        sub(meta, tag, value)
        sub(meta, f"{tag}Changed", stamp)
    protection = sub(meta, "MemoryProtection")
    for flag in ("Title", "UserName", "Password", "URL", "Notes"):
        sub(protection, f"Protect{flag}", "True" if flag == "Password" else "False")
    sub(meta, "RecycleBinEnabled", "True")
    sub(meta, "RecycleBinUUID", null_uuid)
    sub(meta, "HistoryMaxItems", "10")
    sub(meta, "HistoryMaxSize", str(6 * 1024 * 1024))
    sub(meta, "SettingsChanged", stamp)

    tree_root = sub(root, "Root")
    top = group(name)
    tree_root.append(top)
    folders: dict[str, ET.Element] = {}
    for index, entry in enumerate(entries):
        fields = _entry_strings(entry, index)
        if entry.group and entry.group not in folders:
            folders[entry.group] = group(entry.group)
        node = sub(folders[entry.group] if entry.group else top, "Entry")
        sub(node, "UUID", _new_uuid())
        sub(node, "IconID", "0")
        sub(node, "Tags", ";".join(entry.tags))
        times(node)
        for key, value, protected in fields:
            string = sub(node, "String")
            sub(string, "Key", key)
            element = sub(string, "Value", value)
            if protected:
                element.set("Protected", "True")
        auto = sub(node, "AutoType")
        sub(auto, "Enabled", "True")
        sub(auto, "DataTransferObfuscation", "0")
        sub(node, "History")
    top.extend(folders.values())  # folders after the root's own entries, as KeePass writes them
    sub(tree_root, "DeletedObjects")

    # Protected values are XOR'ed with one keystream in document order, so encrypt after building.
    keystream = inner_stream(stream_key).encryptor()
    for element in root.iter("Value"):
        if element.get("Protected") == "True":
            plain = (element.text or "").encode("utf-8")
            element.text = base64.b64encode(keystream.update(plain)).decode() if plain else None
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    # Parsers turn a raw CR into LF; a character reference keeps Windows line endings intact.
    return xml.replace(b"\r", b"&#13;")


def _entry_strings(entry: KdbxEntry, index: int) -> list[tuple[str, str, bool]]:
    where = f"entry {index}"
    for label in ("title", "username", "url", "notes", "group"):
        _check_text(getattr(entry, label), f"{where} {label}")
    for tag in entry.tags:
        _check_text(tag, f"{where} tag")
        if ";" in tag or "," in tag:
            raise ValueError(f"{where}: a tag must not contain ';' or ','")
    for label in ("password", "otp"):
        if _utf8(getattr(entry, label)) is None:
            raise ValueError(f"{where}: {label} is not valid Unicode text")
    fields = [
        ("Notes", entry.notes, False),
        ("Password", entry.password, True),
        ("Title", entry.title, False),
        ("URL", entry.url, False),
        ("UserName", entry.username, False),
    ]
    if entry.otp:
        fields.append(("otp", _otp_uri(entry, where), True))
    return fields


def _otp_uri(entry: KdbxEntry, where: str) -> str:
    if entry.otp.startswith("otpauth://"):
        return entry.otp
    seed = entry.otp.replace(" ", "").upper()
    if not _BASE32.fullmatch(seed):
        raise ValueError(f"{where}: otp is neither an otpauth:// URI nor a base32 seed")
    label = quote(entry.title or "account", safe="")
    return f"otpauth://totp/{label}?secret={seed.rstrip('=')}&period=30&digits=6&algorithm=SHA1"


def _check_text(value: str, where: str) -> None:
    if _NOT_XML.search(value):
        raise ValueError(f"{where} contains a character that XML 1.0 cannot carry")


def _new_uuid() -> str:
    return base64.b64encode(uuid.uuid4().bytes).decode()

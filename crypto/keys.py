"""The versioned master key ring: parse, generate, serialise, rotate. Never reads os.environ.

Format of a key ring file (docs/crypto-format.md, section 3)::

    auditor-master-key-ring 1
    current 2
    key 1 <base64 of 32 bytes>
    key 2 <base64 of 32 bytes>

Messages of every error name the source (variable or file and line) but never a key or its
base64: a key ring line is never echoed back.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import KeyRingError, UnknownKeyVersion

KEY_BYTES = 32  # AES-256
MAX_VERSION = 0xFFFF_FFFF  # versions travel as unsigned 32-bit integers
RING_HEADER = "auditor-master-key-ring 1"
KEY_VARIABLE = "AUDITOR_MASTER_KEY"
FILE_VARIABLE = "AUDITOR_MASTER_KEY_FILE"


def generate_key() -> bytes:
    """A fresh random 256-bit key from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


def check_version(version: int, what: str = "key") -> None:
    """Refuse a version that is not an integer in 1..2**32-1."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError(f"{what} version must be an integer")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError(f"{what} version must be between 1 and {MAX_VERSION}")


class MasterKeyRing:
    """Master keys by version, one of them current (the one new wraps use). Immutable.

    Holds one cached AES-GCM instance per version, so wrapping and unwrapping derive nothing.
    """

    __slots__ = ("_aeads", "_current", "_keys")

    def __init__(self, keys: Mapping[int, bytes], current: int) -> None:
        if not keys:
            raise KeyRingError("a master key ring needs at least one key")
        for version, key in keys.items():
            try:
                check_version(version, "master key")
            except (TypeError, ValueError) as exc:
                raise KeyRingError(str(exc)) from None
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyRingError(f"master key version {version} must be {KEY_BYTES} bytes")
        if current not in keys:
            raise KeyRingError(f"the current version {current} is not in the master key ring")
        self._keys = dict(sorted(keys.items()))
        self._current = current
        self._aeads = {version: AESGCM(key) for version, key in self._keys.items()}

    @property
    def current(self) -> int:
        """The version that wraps new client keys and canaries."""
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        """Every version in the ring, ascending."""
        return tuple(self._keys)

    def __contains__(self, version: object) -> bool:
        return version in self._keys

    def __repr__(self) -> str:
        return f"MasterKeyRing(versions={self.versions}, current={self._current})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKeyRing):
            return NotImplemented
        if (self.versions, self._current) != (other.versions, other._current):
            return False
        return hmac.compare_digest(b"".join(self._keys.values()), b"".join(other._keys.values()))

    def aead(self, version: int) -> AESGCM:
        """The AES-256-GCM primitive of one version; UnknownKeyVersion if it is not here."""
        try:
            return self._aeads[version]
        except KeyError:
            raise UnknownKeyVersion(
                f"master key version {version} is not in the master key ring"
            ) from None

    def add_version(self, key: bytes | None = None) -> MasterKeyRing:
        """Rotation: a ring with one more version (highest + 1, a fresh key if none given), made
        current. Older versions stay, to unwrap what they wrapped until it is re-wrapped."""
        version = self.versions[-1] + 1
        if version > MAX_VERSION:
            raise KeyRingError("no master key version left")
        return MasterKeyRing(
            {**self._keys, version: generate_key() if key is None else key}, version
        )

    def drop_version(self, version: int) -> MasterKeyRing:
        """Retirement: a ring without one version. The current version cannot be dropped."""
        if version == self._current:
            raise KeyRingError(f"master key version {version} is current and cannot be dropped")
        self.aead(version)  # UnknownKeyVersion if absent
        return MasterKeyRing({v: k for v, k in self._keys.items() if v != version}, self._current)

    def key_bytes(self, version: int) -> bytes:
        """The raw key of one version, for serialising the ring. Never log or print it."""
        self.aead(version)
        return self._keys[version]


def new_key_ring() -> MasterKeyRing:
    """A ring holding one fresh random key, version 1."""
    return MasterKeyRing({1: generate_key()}, 1)


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"{where}: the key is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyRingError(
            f"{where}: the key must decode to exactly {KEY_BYTES} bytes, not {len(key)}"
        )
    return key


def ring_from_base64(text: str, *, source: str = KEY_VARIABLE) -> MasterKeyRing:
    """A ring of one version (1) from the base64 of exactly 32 bytes, e.g. AUDITOR_MASTER_KEY."""
    return MasterKeyRing({1: _decode_key(text, source)}, 1)


def _parse_version(text: str, where: str) -> int:
    if not text.isascii() or not text.isdigit() or text.startswith("0"):
        raise KeyRingError(f"{where}: a version must be a positive decimal integer")
    version = int(text)
    if version > MAX_VERSION:
        raise KeyRingError(f"{where}: a version must be at most {MAX_VERSION}")
    return version


def parse_key_ring(text: str, *, source: str = "master key ring") -> MasterKeyRing:
    """Parse the text of a key ring file (format in the module docstring); KeyRingError if bad."""
    keys: dict[int, bytes] = {}
    current: int | None = None
    has_header = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}, line {number}"
        parts = line.split()
        if not has_header:
            if parts != RING_HEADER.split():
                raise KeyRingError(f"{where}: expected the header line {RING_HEADER!r}")
            has_header = True
        elif parts[0] == "current" and len(parts) == 2:
            if current is not None:
                raise KeyRingError(f"{where}: a second 'current' line")
            current = _parse_version(parts[1], where)
        elif parts[0] == "key" and len(parts) == 3:
            version = _parse_version(parts[1], where)
            if version in keys:
                raise KeyRingError(f"{where}: version {version} appears twice")
            keys[version] = _decode_key(parts[2], where)
        else:
            raise KeyRingError(f"{where}: expected 'current <version>' or 'key <version> <base64>'")
    if not has_header:
        raise KeyRingError(f"{source}: empty (expected the header line {RING_HEADER!r})")
    if not keys:
        raise KeyRingError(f"{source}: no 'key' line")
    if current is None:
        raise KeyRingError(f"{source}: no 'current <version>' line")
    if current not in keys:
        raise KeyRingError(f"{source}: the current version {current} has no 'key' line")
    return MasterKeyRing(keys, current)


def dump_key_ring(ring: MasterKeyRing) -> str:
    """The text of a key ring file holding this ring; parse_key_ring reads it back."""
    lines = [
        "# auditor master key ring (docs/crypto-format.md). Keep it secret: chmod 600.",
        RING_HEADER,
        f"current {ring.current}",
    ]
    for version in ring.versions:
        lines.append(f"key {version} {base64.b64encode(ring.key_bytes(version)).decode()}")
    return "\n".join(lines) + "\n"


def read_key_ring_file(path: str | os.PathLike[str]) -> MasterKeyRing:
    """Read a key ring file that only its owner may access (no group or other permission bits)."""
    path = Path(path)
    source = f"master key ring {path}"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise KeyRingError(f"{source}: cannot open it ({exc.strerror})") from None
    # fstat the descriptor we read, not the path again: no window to swap the file
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise KeyRingError(f"{source}: not a regular file")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyRingError(
                f"{source} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); chmod 600 it"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read()
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyRingError(f"{source}: not UTF-8 text") from None
    return parse_key_ring(text, source=source)


def write_key_ring_file(path: str | os.PathLike[str], ring: MasterKeyRing) -> None:
    """Write (or atomically replace) a key ring file, readable by its owner only (mode 0600)."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dump_key_ring(ring))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_master_key_ring(
    *, key: str | None = None, key_file: str | os.PathLike[str] | None = None
) -> MasterKeyRing:
    """The ring from exactly one of AUDITOR_MASTER_KEY (key) or AUDITOR_MASTER_KEY_FILE (key_file).

    auditor.config reads the environment and passes the values; there is no default key here.
    """
    if key and key_file:
        raise KeyRingError(f"set {KEY_VARIABLE} or {FILE_VARIABLE}, not both")
    if key:
        return ring_from_base64(key)
    if key_file:
        return read_key_ring_file(key_file)
    raise KeyRingError(f"no master key: set {KEY_VARIABLE} or {FILE_VARIABLE}")

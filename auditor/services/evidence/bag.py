"""A BagIt bag (RFC 8493) written as a byte-identical ZIP, signed with Ed25519.

The payload files are spooled to a scratch folder as they are produced (hashed and counted on
the way), then the ZIP is written in one pass with every entry in sorted order, a fixed
timestamp, fixed permissions and one compression level, so the same content gives the same
bytes: an auditor can ask for a bundle twice and compare digests. Memory stays flat whatever the
size (nothing is held but one buffer).

The ``bagit`` package validates bags but writes them in place, in a folder, with today's date:
not a ZIP, and not reproducible. This writes the same files in the same formats, and the tests
validate its bags with ``bagit`` itself.

Layout, under one top-level folder ``<name>/``:

- ``bagit.txt``, ``bag-info.txt``;
- ``data/...``: the payload;
- ``manifest-sha256.txt``: ``<sha256>  data/<path>`` per payload file (two spaces, as
  ``sha256sum -c`` reads it);
- ``tagmanifest-sha256.txt``: the same for every tag file (bagit.txt, bag-info.txt, the
  payload manifest, VERIFY.md, the public key);
- ``tagmanifest-sha256.txt.sig``: the raw 64-byte Ed25519 signature of the tag manifest;
- ``signing-key.pub.pem``: the public key it verifies with (SubjectPublicKeyInfo PEM).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.note import public_key_pem

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE = "tagmanifest-sha256.txt.sig"
PUBLIC_KEY = "signing-key.pub.pem"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a ZIP can say: no clock in the bytes
LEVEL = 6
CHUNK = 1 << 20


class Spool(io.RawIOBase):
    """A payload file being written: what is written is hashed, counted and compressed as the
    ZIP entry will hold it (raw deflate at ``LEVEL``, its CRC-32), by a worker thread, while the
    caller goes on producing (zlib and hashlib release the GIL: two cores work). At most
    ``_AHEAD`` chunks wait for the worker, so memory stays flat."""

    _AHEAD = 4

    def __init__(self, path: Path) -> None:
        self.target = path.open("wb")
        self.sha256 = hashlib.sha256()
        self.size = self.compressed = self.crc = 0
        self._deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        self._buffer = bytearray()
        self._worker = ThreadPoolExecutor(max_workers=1)  # one worker: chunks stay in order
        self._pending: deque[Future[None]] = deque()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self._submit(bytes(self._buffer), final=False)
            self._buffer.clear()
        return len(data)

    def _submit(self, chunk: bytes, *, final: bool) -> None:
        self._pending.append(self._worker.submit(self._work, chunk, final))
        while len(self._pending) > self._AHEAD:
            self._pending.popleft().result()

    def _work(self, chunk: bytes, final: bool) -> None:
        self.sha256.update(chunk)
        self.crc = zlib.crc32(chunk, self.crc)
        self.size += len(chunk)
        out = self._deflate.compress(chunk)
        if final:
            out += self._deflate.flush()
        self.target.write(out)
        self.compressed += len(out)

    def finish(self) -> None:
        self._submit(bytes(self._buffer), final=True)
        self._buffer.clear()
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._worker.shutdown()
            self.target.close()


class BagWriter:
    """Spool payload files into ``folder`` (``payload``), then ``write`` the signed ZIP."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.files: dict[str, Spool] = {}  # data/<path> -> its spooled, compressed content

    @contextmanager
    def payload(self, path: str) -> Iterator[Spool]:
        """A payload file ``data/<path>`` to write (binary); hashed and compressed as it is
        written."""
        name = f"data/{path}"
        if name in self.files or "\\" in path or path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"bad or repeated payload path: {path}")
        spooled = self.folder / name
        spooled.parent.mkdir(parents=True, exist_ok=True)
        out = Spool(spooled)
        try:
            yield out
        finally:
            out.finish()
        self.files[name] = out

    def payload_oxum(self) -> str:
        return f"{sum(f.size for f in self.files.values())}.{len(self.files)}"

    def write(
        self,
        out: BinaryIO,
        *,
        bag_info: list[tuple[str, str]],
        tags: dict[str, bytes],
        key: Ed25519PrivateKey,
    ) -> str:
        """Write the ZIP to ``out``; returns the SHA-256 of its tag manifest. ``tags``: extra tag
        files (VERIFY.md), covered by the tag manifest like bagit.txt and bag-info.txt."""
        listed = sorted(self.files.items())
        manifest = "".join(f"{f.sha256.hexdigest()}  {name}\n" for name, f in listed)
        info = "".join(f"{label}: {_one_line(value)}\n" for label, value in bag_info)
        tag_files = {
            "bagit.txt": BAGIT_TXT,
            "bag-info.txt": info.encode(),
            MANIFEST: manifest.encode(),
            PUBLIC_KEY: public_key_pem(key.public_key()),
            **tags,
        }
        tag_manifest = "".join(
            f"{hashlib.sha256(body).hexdigest()}  {name}\n"
            for name, body in sorted(tag_files.items())
        ).encode()
        entries: dict[str, bytes | Spool] = {
            **tag_files,
            TAG_MANIFEST: tag_manifest,
            SIGNATURE: key.sign(tag_manifest),
            **self.files,
        }
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as archive:
            for name in sorted(entries):
                _add(archive, f"{self.name}/{name}", entries[name])
        return hashlib.sha256(tag_manifest).hexdigest()


def _one_line(value: str) -> str:
    """A bag-info value on one line (RFC 8493 allows folding; these never need it)."""
    return " ".join(value.split())


def _add(archive: zipfile.ZipFile, name: str, body: bytes | Spool) -> None:
    entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    entry.create_system = 3  # Unix, whatever this machine is
    if isinstance(body, bytes):
        archive.writestr(entry, body, compresslevel=LEVEL)
        return
    # already compressed as zipfile would (raw deflate, same level): copied in as it is, the
    # local header first, as zipfile writes it, then the data
    entry.file_size, entry.compress_size, entry.CRC = body.size, body.compressed, body.crc
    zip64 = max(body.size, body.compressed) > zipfile.ZIP64_LIMIT
    target = archive.fp
    assert target is not None
    entry.header_offset = target.tell()
    target.write(entry.FileHeader(zip64))
    with Path(body.target.name).open("rb") as source:
        shutil.copyfileobj(source, target, CHUNK)
    archive.filelist.append(entry)
    archive.NameToInfo[name] = entry
    archive.start_dir = target.tell()

"""The audit slice of a bundle against its checkpoints and proofs (``audit_slice`` writes them).

Checks, each failure named: every checkpoint's signature and origin; the events in sequence with
none missing or out of order; each event chained to the one before; the first and last events
included in the covering checkpoint at their positions (a truncated tail shows here); the whole
slice giving the covering root again with the two proofs; consecutive checkpoints consistent.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import re
import zipfile
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from auditor.services.evidence.audit_slice import PROOF_HEADER
from auditor.services.evidence.bag import PUBLIC_KEY
from crypto import merkle, proofs
from crypto.errors import SignatureInvalid
from crypto.note import Checkpoint, open_note

if TYPE_CHECKING:
    from auditor.services.evidence.verify import Report

_CHECKPOINT = re.compile(r"data/audit/checkpoint-(\d+)\.txt")


class _Bad(Exception):
    """One named problem that stops the audit checks."""


def check(
    archive: zipfile.ZipFile,
    root: str,
    key: Ed25519PublicKey | None,
    origin: str,
    report: Report,
) -> str:
    """Add the slice's problems to ``report``; returns the SHA-256 of events.jsonl, read
    whole whatever was found (the caller compares it with the manifest)."""
    if key is None:  # the bundle's own key (its signature was checked with it)
        embedded = load_pem_public_key(archive.read(f"{root}/{PUBLIC_KEY}"))
        assert isinstance(embedded, Ed25519PublicKey)
        key = embedded
    with archive.open(f"{root}/data/audit/events.jsonl") as raw:
        events = _Lines(raw)
        try:
            _check(archive, root, key, origin, report, events)
        except _Bad as exc:
            report.problems.append(str(exc))
        return events.drain()


class _Lines:
    """The lines of events.jsonl, hashed as they are read, a megabyte at a time (and the rest
    when drained)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = _Hashing(raw)
        self.lines = io.BufferedReader(self._raw, 1 << 20)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.lines)

    def drain(self) -> str:
        while self.lines.read(1 << 20):
            pass
        digest: str = self._raw.sha256.hexdigest()
        return digest


class _Hashing(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.sha256.update(data)
        return len(data)


def _check(
    archive: zipfile.ZipFile,
    root: str,
    key: Ed25519PublicKey,
    origin: str,
    report: Report,
    lines: _Lines,
) -> None:
    names = {i.filename[len(root) + 1 :] for i in archive.infolist()}
    heads: dict[int, tuple[bytes, str]] = {}  # size -> (root hash, note)
    for name in sorted(names):
        match = _CHECKPOINT.fullmatch(name)
        if match:
            size = int(match.group(1))
            note = archive.read(f"{root}/{name}").decode()
            heads[size] = (_open(note, key, origin, f"checkpoint {size}", size), note)
    report.checkpoints = len(heads)
    if not heads:
        if archive.getinfo(f"{root}/data/audit/events.jsonl").file_size:
            raise _Bad("audit slice: events but no checkpoint covering them")
        return
    size = max(heads)
    first = _proof(archive, f"{root}/data/audit/first.tlog-proof", key, origin, heads[size])
    last = _proof(archive, f"{root}/data/audit/last.tlog-proof", key, origin, heads[size])
    lo, hi = first[0], last[0] + 1
    hasher = proofs.RangeHasher(proofs.slice_ranges(size, lo, hi), start=lo)
    ends: dict[int, bytes] = {}
    expected, previous = lo + 1, None
    missing: list[int] = []  # skipped so far: removed, unless they come later (reordered)
    for raw in lines:
        seq, leaf, prev = _event(raw)
        if seq < expected:
            if seq in missing:
                raise _Bad(f"audit events reordered: event {seq} comes after event {seq + 1}")
            raise _Bad(f"audit event {seq} appears twice in the slice")
        if seq > expected:
            missing.extend(range(expected, min(seq, expected + 1000)))
            expected, previous = seq, None  # no chain check across the gap
        if previous is not None and prev is not None and prev != previous.hex():
            raise _Bad(f"audit event {seq - 1} was edited: event {seq} chains to another hash")
        if seq > hi:
            raise _Bad(f"audit event {seq} was added after the slice's last proven event")
        hasher.add(leaf)
        if seq in (lo + 1, hi):
            ends[seq] = leaf
        expected, previous = seq + 1, leaf
    if missing:
        raise _Bad(f"audit event {missing[0]} was removed from the slice")
    report.events = expected - lo - 1
    if expected - 1 < hi:
        raise _Bad(
            f"audit slice truncated: it ends at event {expected - 1}, "
            f"its last proof is for event {hi}"
        )
    for (index, path), seq in ((first, lo + 1), (last, hi)):
        if not proofs.verify_inclusion(index, size, ends[seq], path, heads[size][0]):
            raise _Bad(
                f"audit event {seq} was edited: it is not the event checkpoint {size} "
                "includes at that position"
            )
    outside = dict(zip(proofs.inclusion_ranges(lo, size), first[1], strict=True))
    outside |= dict(zip(proofs.inclusion_ranges(hi - 1, size), last[1], strict=True))
    inside = hasher.found
    if proofs.slice_root(size, lo, hi, inside, outside) != heads[size][0]:
        raise _Bad(
            f"audit slice does not give checkpoint {size}'s root: an event was edited, "
            "removed, added or reordered"
        )
    _consistency(archive, root, heads)


def _open(note: str, key: Ed25519PublicKey, origin: str, what: str, size: int | None) -> bytes:
    try:
        body = Checkpoint.parse(open_note(note, origin, key))
    except SignatureInvalid as exc:
        raise _Bad(f"{what}: {exc}") from None
    if body.origin != origin:
        raise _Bad(f"{what}: signed for another log ({body.origin!r})")
    if size is not None and body.tree_size != size:
        raise _Bad(f"{what}: its file name and its signed size differ")
    return body.root_hash


def _hashes(lines: list[str], what: str) -> list[bytes]:
    try:
        found = [base64.b64decode(line, validate=True) for line in lines]
    except ValueError:
        raise _Bad(f"{what}: a hash is not base64") from None
    if any(len(h) != 32 for h in found):
        raise _Bad(f"{what}: a hash is not 32 bytes")
    return found


def _proof(
    archive: zipfile.ZipFile,
    name: str,
    key: Ed25519PublicKey,
    origin: str,
    head: tuple[bytes, str],
) -> tuple[int, list[bytes]]:
    """(leaf index, hashes) of a tlog-proof whose checkpoint is the covering one."""
    what = name.rsplit("/", 1)[-1]
    try:
        text = archive.read(name).decode()
    except KeyError:
        raise _Bad(f"audit slice: {what} is missing") from None
    top, _, note = text.partition("\n\n")
    lines = top.split("\n")
    if len(lines) < 2 or lines[0] != PROOF_HEADER or not lines[1].startswith("index "):
        raise _Bad(f"{what}: not a {PROOF_HEADER} proof")
    if note != head[1]:
        raise _Bad(f"{what}: proves against another checkpoint than the covering one")
    _open(note, key, origin, what, None)
    try:
        index = int(lines[1].removeprefix("index "))
    except ValueError:
        raise _Bad(f"{what}: bad index") from None
    return index, _hashes(lines[2:], what)


def _event(raw: bytes) -> tuple[int, bytes, str | None]:
    """(seq, leaf hash, prev_hash or None when redacted) of one line of events.jsonl."""
    line = raw.rstrip(b"\n")
    try:
        value: dict[str, Any] = orjson.loads(line)
        seq = int(value["seq"])
        if value.get("redacted") is True:
            return seq, bytes.fromhex(value["leaf_hash"]), None
        return seq, merkle.leaf_hash(line), str(value["prev_hash"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise _Bad("audit slice: a line of events.jsonl is not an audit event") from None


def _consistency(archive: zipfile.ZipFile, root: str, heads: dict[int, tuple[bytes, str]]) -> None:
    sizes = sorted(heads)
    for old, new in itertools.pairwise(sizes):
        name = f"{root}/data/audit/consistency-{old}-{new}.txt"
        try:
            text = archive.read(name).decode()
        except KeyError:
            raise _Bad(f"audit slice: no consistency proof from checkpoint {old} to {new}") from (
                None
            )
        top, _, note = text.partition("\n\n")
        lines = top.split("\n")
        if lines[0] != f"old {old}" or note != heads[new][1]:
            raise _Bad(f"consistency proof {old}-{new}: names other checkpoints")
        path = _hashes([line for line in lines[1:] if line], f"consistency proof {old}-{new}")
        if not proofs.verify_consistency(old, new, heads[old][0], heads[new][0], path):
            raise _Bad(
                f"checkpoints {old} and {new} are inconsistent: the log was rewritten between them"
            )

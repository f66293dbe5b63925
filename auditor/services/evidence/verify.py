"""``auditor evidence verify``: every check of a bundle, each failure named (docs/evidence.md).

In order: the ZIP and its one top-level folder; the Ed25519 signature over the tag manifest (with
the key pinned by the caller: the instance's, or one given); the tag manifest against the tag
files; the payload manifest against ``data/`` (a changed byte, a file added, removed or renamed);
Payload-Oxum; then the audit slice against its checkpoints and proofs (``audit_check``).
Everything is read from the ZIP as a stream: memory stays flat whatever the bundle's size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
import zlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from auditor.services.evidence import audit_check
from auditor.services.evidence.bag import CHUNK, MANIFEST, PUBLIC_KEY, SIGNATURE, TAG_MANIFEST
from crypto.note import public_key_bytes

EVENTS = "data/audit/events.jsonl"
REQUIRED = ("bagit.txt", "bag-info.txt", MANIFEST, TAG_MANIFEST, SIGNATURE, PUBLIC_KEY)


@dataclasses.dataclass
class Report:
    """What was checked and what failed: ``problems`` name each failure in a sentence."""

    problems: list[str] = dataclasses.field(default_factory=list)
    files: int = 0
    events: int = 0
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(path: Path, *, key: Ed25519PublicKey | None, origin: str) -> Report:
    """Check the bundle at ``path``; ``key``: the key it must be signed with (None: any key, the
    bundle's own, which proves only that it was not changed after signing)."""
    report = Report()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        report.problems.append("not a ZIP file (or unreadable)")
        return report
    try:
        with archive:
            return _verify(archive, key, origin, report)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        # an entry's compressed bytes damaged: zipfile names the entry and the check (CRC-32)
        report.problems.append(f"the ZIP file is damaged: {exc}")
        return report
    except UnicodeDecodeError:
        report.problems.append("a checkpoint or proof file is not UTF-8 text")
        return report


def _verify(
    archive: zipfile.ZipFile, key: Ed25519PublicKey | None, origin: str, report: Report
) -> Report:
    names = [i.filename for i in archive.infolist() if not i.is_dir()]
    roots = {name.split("/", 1)[0] for name in names}
    if len(roots) != 1 or any("/" not in name for name in names):
        report.problems.append("the bag must be one top-level folder")
        return report
    (root,) = roots
    files = {name[len(root) + 1 :]: name for name in names}
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        report.problems.append(f"tag file missing: {', '.join(missing)}")
        return report
    tag_manifest = archive.read(files[TAG_MANIFEST])
    if not _signature(archive, files, tag_manifest, key, report):
        return report
    tags = _manifest(tag_manifest, "tag manifest", report)
    payload = _manifest(archive.read(files[MANIFEST]), "payload manifest", report)
    if tags is None or payload is None:
        return report
    _check_tags(archive, files, tags, report)
    # the audit slice is by far the largest file: its digest is taken in the same pass as
    # the audit checks, which say nothing if the file is not the one the manifest lists
    deferred = EVENTS in payload and EVENTS in files
    _check_payload(archive, files, payload, report, skip=EVENTS if deferred else None)
    _check_oxum(archive, files, payload, report)
    report.files = len(payload)
    if not deferred:
        return report
    before = len(report.problems)
    if report.ok:
        digest = audit_check.check(archive, root, key, origin, report)
    else:
        digest = _digest(archive, files[EVENTS])[0]
    if digest != payload[EVENTS]:
        del report.problems[before:]
        report.problems.append(f"payload file changed (its SHA-256 differs): {EVENTS}")
    return report


def _signature(
    archive: zipfile.ZipFile,
    files: dict[str, str],
    tag_manifest: bytes,
    key: Ed25519PublicKey | None,
    report: Report,
) -> bool:
    try:
        embedded = load_pem_public_key(archive.read(files[PUBLIC_KEY]))
    except ValueError:
        report.problems.append(f"{PUBLIC_KEY} is not a PEM public key")
        return False
    if not isinstance(embedded, Ed25519PublicKey):
        report.problems.append(f"{PUBLIC_KEY} is not an Ed25519 key")
        return False
    signature = archive.read(files[SIGNATURE])
    try:
        embedded.verify(signature, tag_manifest)
    except InvalidSignature:
        report.problems.append(
            "signature replaced or tag manifest changed: the signature does not verify with "
            f"the bundle's key ({SIGNATURE} over {TAG_MANIFEST})"
        )
        return False
    if key is not None and public_key_bytes(embedded) != public_key_bytes(key):
        report.problems.append(
            "signed by a foreign key: the signature verifies, but with a key that is not the "
            "one expected (someone re-signed the bundle)"
        )
        return False
    return True


def _manifest(body: bytes, what: str, report: Report) -> dict[str, str] | None:
    entries: dict[str, str] = {}
    for number, line in enumerate(body.decode("utf-8", "replace").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or name in entries:
            report.problems.append(f"{what}: line {number} is malformed or repeated")
            return None
        entries[name] = digest
    return entries


def _digest(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with archive.open(name) as source:
        while chunk := source.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _check_tags(
    archive: zipfile.ZipFile, files: dict[str, str], tags: dict[str, str], report: Report
) -> None:
    for name, digest in sorted(tags.items()):
        if name not in files:
            report.problems.append(f"tag file removed: {name}")
        elif _digest(archive, files[name])[0] != digest:
            report.problems.append(f"tag file changed: {name}")
    unlisted = sorted(
        n for n in files if not n.startswith("data/") and n not in tags and n not in _UNLISTED
    )
    for name in unlisted:
        report.problems.append(f"tag file added: {name}")


_UNLISTED = {TAG_MANIFEST, SIGNATURE}


def _check_payload(
    archive: zipfile.ZipFile,
    files: dict[str, str],
    payload: dict[str, str],
    report: Report,
    *,
    skip: str | None,
) -> None:
    present = {n for n in files if n.startswith("data/")}
    extra = {n: _digest(archive, files[n])[0] for n in sorted(present - payload.keys())}
    gone = {n: d for n, d in payload.items() if n not in present}
    for old, digest in sorted(gone.items()):
        renamed = [new for new, found in extra.items() if found == digest]
        if renamed:
            report.problems.append(f"payload file renamed: {old} -> {renamed[0]}")
            del extra[renamed[0]]
        else:
            report.problems.append(f"payload file removed: {old}")
    for name in sorted(extra):
        report.problems.append(f"payload file added: {name}")
    for name in sorted(present & payload.keys() - {skip}):
        if _digest(archive, files[name])[0] != payload[name]:
            report.problems.append(f"payload file changed (its SHA-256 differs): {name}")


def _check_oxum(
    archive: zipfile.ZipFile, files: dict[str, str], payload: dict[str, str], report: Report
) -> None:
    info = archive.read(files["bag-info.txt"]).decode("utf-8", "replace")
    oxum = next((v.strip() for k, _, v in _lines(info) if k == "Payload-Oxum"), None)
    size = sum(archive.getinfo(files[n]).file_size for n in payload if n in files)
    if oxum != f"{size}.{len(payload)}":
        found = f"{size}.{len(payload)}"
        report.problems.append(f"Payload-Oxum {oxum} does not match the payload ({found})")


def _lines(info: str) -> list[tuple[str, str, str]]:
    return [line.partition(":") for line in info.splitlines() if ":" in line]

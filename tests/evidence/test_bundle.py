"""Evidence bundles: export, byte-identical re-export, verification with this software, with the
bagit package and with VERIFY.md's commands, and every tampering kind named by ``evidence verify``."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import bagit
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from auditor.models import AuditEvent
from auditor.services.evidence import bag as bagfile
from crypto.note import Checkpoint, public_key_pem, sign_note
from tests import factories

DAY0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
PERIOD = ["--from", "2026-10-01", "--to", "2026-10-31"]


def export(runner, tmp_path: Path, *extra: str, name: str = "bundle.zip") -> Path:
    out = tmp_path / name
    result = runner.invoke(args=["evidence", "export", *PERIOD, "--output", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def verify(runner, path: Path, *extra: str):
    return runner.invoke(args=["evidence", "verify", str(path), *extra])


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def test_export_verifies_and_holds_the_period_slice(session, runner, tmp_path, log):
    path = export(runner, tmp_path)
    result = verify(runner, path)
    assert result.exit_code == 0, result.output
    assert "evidence bundle intact" in result.stdout
    assert "its signer is this instance's key" in result.stdout
    files = entries(path)
    root = "evidence-2026-10-01--2026-10-31/"
    assert all(name.startswith(root) for name in files)
    assert list(files) == sorted(files)  # sorted entries
    lines = files[root + "data/audit/events.jsonl"].splitlines()
    first, last = orjson.loads(lines[0]), orjson.loads(lines[-1])
    assert first["occurred_at"] == "2026-10-01T09:00:00.000000Z"
    assert last["occurred_at"].startswith("2026-10-31T")
    assert [orjson.loads(x)["seq"] for x in lines] == list(range(first["seq"], last["seq"] + 1))
    # a line is the canonical entry: its leaf hash is the stored one
    stored = session.scalar(select(AuditEvent.leaf_hash).where(AuditEvent.seq == first["seq"]))
    assert hashlib.sha256(b"\x00" + lines[0]).hexdigest() == stored
    info = files[root + "bag-info.txt"].decode()
    for field in (
        "Source-Organization: ",
        "Bagging-Date: 2026-11-05",  # the covering checkpoint's day, not today
        "Period-Start: 2026-10-01",
        "Period-End: 2026-10-31",
        "Client: all clients (the whole MSP)",
        "Contains-Personal-Information: no",
        "Payload-Oxum: ",
    ):
        assert field in info
    index = orjson.loads(files[root + "data/index.json"])
    slice_entry = index["populations"][0]
    assert slice_entry["rows"] == len(lines)
    assert slice_entry["parameters"] == {"first": first["seq"], "last": last["seq"]}
    assert {p["file"] for p in index["populations"]} >= {
        "data/requests.jsonl",
        "data/holds.jsonl",
        "data/dispositions/lines.jsonl",
        "data/inventory/categories.jsonl",
        "data/actors.jsonl",
    }
    # the checkpoints within the period and the one covering its end, with consistency proofs
    names = sorted(n[len(root) :] for n in files if "/audit/" in n)
    sizes = sorted(int(n.split("-")[1][:-4]) for n in names if "checkpoint-" in n)
    assert len(sizes) == 3 and sizes[-1] > last["seq"]  # two within, one covering the end
    assert [n for n in names if "consistency" in n] == [
        f"data/audit/consistency-{a}-{b}.txt" for a, b in itertools.pairwise(sizes)
    ]
    actors = [orjson.loads(x) for x in files[root + "data/actors.jsonl"].splitlines()]
    assert {"actor": "system:audit.checkpoint"} in actors


def test_the_export_is_audited_after_its_slice(session, runner, tmp_path, log):
    before = session.scalar(select(func.max(AuditEvent.seq)))
    path = export(runner, tmp_path)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.export")).one()
    assert event.seq > before
    assert event.details["from"] == "2026-10-01" and event.details["to"] == "2026-10-31"
    tag_manifest = entries(path)["evidence-2026-10-01--2026-10-31/tagmanifest-sha256.txt"]
    assert event.details["tag_manifest_sha256"] == hashlib.sha256(tag_manifest).hexdigest()
    assert event.details["personal_information"] is False


def test_the_same_period_gives_the_same_bytes(runner, tmp_path, log):
    one = export(runner, tmp_path, name="one.zip").read_bytes()
    two = export(runner, tmp_path, name="two.zip").read_bytes()
    assert hashlib.sha256(one).hexdigest() == hashlib.sha256(two).hexdigest()


def test_bagit_validates_the_bundle(runner, tmp_path, log):
    path = export(runner, tmp_path)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "out")
    found = bagit.Bag(str(tmp_path / "out" / "evidence-2026-10-01--2026-10-31"))
    found.validate()  # raises on any problem
    assert found.info["Contains-Personal-Information"] == "no"


def test_verify_md_commands_pass_on_the_bundle(runner, tmp_path, log):
    """What CI runs on the demo's bundle: VERIFY.md's shell block, exactly."""
    path = export(runner, tmp_path)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "out")
    folder = tmp_path / "out" / "evidence-2026-10-01--2026-10-31"
    commands = re.search(r"```sh\n(.*?)```", (folder / "VERIFY.md").read_text(), re.S)
    assert commands is not None
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", commands.group(1)], cwd=folder, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Signature Verified Successfully" in done.stdout
    (folder / "data" / "extra.txt").write_text("slipped in")
    failed = subprocess.run(
        ["bash", "-c", commands.group(1)], cwd=folder, env=env, capture_output=True, text=True
    )
    assert failed.returncode != 0
    assert "extra.txt" in failed.stdout + failed.stderr


def test_a_client_bundle_redacts_other_clients_events_and_still_verifies(
    runner, tmp_path, log, inventory
):
    path = export(runner, tmp_path, "--client", inventory.client.code)
    result = verify(runner, path)
    assert result.exit_code == 0, result.output
    root = f"evidence-{inventory.client.code}-2026-10-01--2026-10-31/"
    lines = [orjson.loads(x) for x in entries(path)[root + "data/audit/events.jsonl"].splitlines()]
    shown = [x for x in lines if not x.get("redacted")]
    assert shown and all(x["organization_id"] == inventory.client.id for x in shown)
    assert all(set(x) == {"leaf_hash", "redacted", "seq"} for x in lines if x.get("redacted"))
    assert f"Client: {inventory.client.code}" in entries(path)[root + "bag-info.txt"].decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-10-31", "--to", "2026-10-01"], "the period ends before it starts"),
        (["--from", "2026-10-01", "--to", "2999-01-01"], "the period cannot end after today"),
        ([*PERIOD, "--client", "NOPE"], "no client with the code 'NOPE'"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(session, runner, tmp_path, log, args, message):
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    out = tmp_path / "x.zip"
    result = runner.invoke(args=["evidence", "export", *args, "--output", str(out)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_an_existing_output_is_not_overwritten(runner, tmp_path, log):
    out = tmp_path / "x.zip"
    out.write_bytes(b"mine")
    result = runner.invoke(args=["evidence", "export", *PERIOD, "--output", str(out)])
    assert result.exit_code == 1 and "exists" in result.stderr
    assert out.read_bytes() == b"mine"


def test_personal_information_is_for_officers(session, runner, tmp_path, log):
    auditor = factories.user(session, role="auditor")
    session.commit()
    runner.operator = auditor.email
    result = runner.invoke(
        args=["evidence", "export", *PERIOD, "--personal-information", "--output", "x.zip"]
    )
    assert result.exit_code == 1
    assert "privacy officers" in result.stderr


# -- tampering -----------------------------------------------------------------------------------
ROOT = "evidence-2026-10-01--2026-10-31/"


def rewrite(
    path: Path, edit: Callable[[dict[str, bytes]], None], key: Ed25519PrivateKey | None
) -> None:
    """Apply ``edit`` to the bundle's files; with ``key``, make the manifests and signature
    agree again and sign with it (an insider with a key: only the deeper checks remain)."""
    files = {name[len(ROOT) :]: body for name, body in entries(path).items()}
    edit(files)
    if key is not None:
        payload = sorted(n for n in files if n.startswith("data/"))
        files[bagfile.MANIFEST] = "".join(
            f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in payload
        ).encode()
        size = sum(len(files[n]) for n in payload)
        files["bag-info.txt"] = re.sub(
            rb"Payload-Oxum: \S+",
            f"Payload-Oxum: {size}.{len(payload)}".encode(),
            files["bag-info.txt"],
        )
        files[bagfile.PUBLIC_KEY] = public_key_pem(key.public_key())
        tags = sorted(
            n for n in files if not n.startswith("data/") and not n.startswith(bagfile.TAG_MANIFEST)
        )
        files[bagfile.TAG_MANIFEST] = "".join(
            f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in tags
        ).encode()
        files[bagfile.SIGNATURE] = key.sign(files[bagfile.TAG_MANIFEST])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            archive.writestr(ROOT + name, files[name])
    path.write_bytes(buffer.getvalue())


def _events(files: dict[str, bytes]) -> list[bytes]:
    return files["data/audit/events.jsonl"].splitlines(keepends=True)


def _set_events(files: dict[str, bytes], lines: list[bytes]) -> None:
    files["data/audit/events.jsonl"] = b"".join(lines)


def _edit_event(files: dict[str, bytes]) -> None:
    lines = _events(files)
    lines[10] = lines[10].replace(b"Qu\xc3\xa9bec", b"Ontario")
    _set_events(files, lines)


def _remove_event(files: dict[str, bytes]) -> None:
    lines = _events(files)
    del lines[10]
    _set_events(files, lines)


def _reorder(files: dict[str, bytes]) -> None:
    lines = _events(files)
    lines[10], lines[11] = lines[11], lines[10]
    _set_events(files, lines)


def _truncate(files: dict[str, bytes]) -> None:
    _set_events(files, _events(files)[:-5])


def _edit_last(files: dict[str, bytes]) -> None:
    lines = _events(files)
    lines[-1] = lines[-1].replace(b"Qu\xc3\xa9bec", b"Ontario")
    _set_events(files, lines)


def _fork_checkpoint(key: Ed25519PrivateKey, origin: str) -> Callable[[dict[str, bytes]], None]:
    """The middle checkpoint replaced by one of another history, signed with the log's key."""

    def edit(files: dict[str, bytes]) -> None:
        sizes = sorted(
            int(m.group(1))
            for n in files
            if (m := re.fullmatch(r"data/audit/checkpoint-(\d+)\.txt", n))
        )
        middle = sizes[1]
        forged = Checkpoint(origin, middle, hashlib.sha256(b"fork").digest(), ("time x",))
        note = sign_note(forged.text(), origin, key)
        files[f"data/audit/checkpoint-{middle}.txt"] = note.encode()
        name = f"data/audit/consistency-{sizes[0]}-{middle}.txt"
        top = files[name].decode().partition("\n\n")[0]
        files[name] = (top + "\n\n" + note).encode()

    return edit


def _flip_byte(files: dict[str, bytes]) -> None:
    body = bytearray(files["data/holds.jsonl"] or b"\n")
    body[0] ^= 1
    files["data/holds.jsonl"] = bytes(body)


def _add(files: dict[str, bytes]) -> None:
    files["data/extra.txt"] = b"slipped in\n"


def _remove(files: dict[str, bytes]) -> None:
    del files["data/requests.jsonl"]


def _rename(files: dict[str, bytes]) -> None:
    files["data/requests-old.jsonl"] = files.pop("data/requests.jsonl")


def _replace_signature(files: dict[str, bytes]) -> None:
    files[bagfile.SIGNATURE] = bytes(64)


def _edit_tag(files: dict[str, bytes]) -> None:
    files["bag-info.txt"] = files["bag-info.txt"].replace(
        b"Period-End: 2026-10-31", b"Period-End: 2026-10-30"
    )


def _flip_event_byte(files: dict[str, bytes]) -> None:
    _edit_event(files)  # the manifests left as they were


SIMPLE = [
    (_flip_byte, "payload file changed (its SHA-256 differs): data/holds.jsonl"),
    (_flip_event_byte, "payload file changed (its SHA-256 differs): data/audit/events.jsonl"),
    (_add, "payload file added: data/extra.txt"),
    (_remove, "payload file removed: data/requests.jsonl"),
    (_rename, "payload file renamed: data/requests.jsonl -> data/requests-old.jsonl"),
    (_replace_signature, "signature replaced or tag manifest changed"),
    (_edit_tag, "tag file changed: bag-info.txt"),
]


@pytest.mark.parametrize(("edit", "message"), SIMPLE, ids=[f.__name__ for f, _ in SIMPLE])
def test_tampering_with_the_files_is_named(runner, tmp_path, log, edit, message):
    path = export(runner, tmp_path)
    rewrite(path, edit, key=None)
    result = verify(runner, path)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert "audit event" not in result.stderr  # what changed, not what follows from it


def test_a_bundle_re_signed_with_a_foreign_key_is_named(runner, tmp_path, log):
    path = export(runner, tmp_path)
    rewrite(path, _edit_event, key=Ed25519PrivateKey.generate())
    result = verify(runner, path)
    assert result.exit_code == 1
    assert "signed by a foreign key" in result.stderr
    # without a key pinned, only the bundle's own key is known: the deeper checks then fail
    with_own = verify(runner, path, "--public-key", str(_pem(tmp_path, path)))
    assert with_own.exit_code == 1
    assert "checkpoint" in with_own.stderr


def _pem(tmp_path: Path, path: Path) -> Path:
    pem = tmp_path / "own.pem"
    pem.write_bytes(entries(path)[ROOT + bagfile.PUBLIC_KEY])
    return pem


AUDIT = [
    (_edit_event, "audit event {n} was edited: event {m} chains to another hash"),
    (_remove_event, "audit event {n} was removed from the slice"),
    (_reorder, "audit events reordered"),
    (_truncate, "audit slice truncated: it ends at event"),
    (_edit_last, "was edited: it is not the event checkpoint"),
]


@pytest.mark.parametrize(("edit", "message"), AUDIT, ids=[f.__name__ for f, _ in AUDIT])
def test_tampering_with_the_audit_slice_is_named(runner, tmp_path, log, signing_key, edit, message):
    """Manifests and signature redone with the log's own key: the slice's proofs still catch it."""
    path = export(runner, tmp_path)
    first = orjson.loads(entries(path)[ROOT + "data/audit/events.jsonl"].splitlines()[0])["seq"]
    rewrite(path, edit, key=signing_key)
    result = verify(runner, path)
    assert result.exit_code == 1
    assert message.format(n=first + 10, m=first + 11) in result.stderr, result.stderr


def test_two_inconsistent_checkpoints_are_named(runner, tmp_path, log, signing_key):
    path = export(runner, tmp_path)
    rewrite(path, _fork_checkpoint(signing_key, log), key=signing_key)
    result = verify(runner, path)
    assert result.exit_code == 1
    assert "are inconsistent: the log was rewritten between them" in result.stderr


def test_a_damaged_zip_is_named_without_a_traceback(runner, tmp_path, log):
    path = export(runner, tmp_path)
    body = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        entry = archive.getinfo(ROOT + "data/audit/events.jsonl")
    middle = entry.header_offset + 100 + entry.compress_size // 2  # inside its deflate data
    body[middle] ^= 0xFF
    path.write_bytes(bytes(body))
    result = verify(runner, path)
    assert result.exit_code == 1
    assert "the ZIP file is damaged" in result.stderr or "payload file changed" in result.stderr
    assert "Traceback" not in result.output


def test_not_a_zip_is_named(runner, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    result = verify(runner, junk)
    assert result.exit_code == 1 and "not a ZIP file" in result.stderr


def test_the_zip_writer_is_deterministic_and_streams_files(tmp_path, signing_key):
    def make(folder: Path) -> bytes:
        writer = bagfile.BagWriter(folder, "b")
        with writer.payload("x/y.jsonl") as out:
            for i in range(1000):
                out.write(b'{"i":%d}\n' % i)
        buffer = io.BytesIO()
        writer.write(buffer, bag_info=[("A", "b")], tags={}, key=signing_key)
        return buffer.getvalue()

    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    assert make(tmp_path / "1") == make(tmp_path / "2")
    writer = bagfile.BagWriter(tmp_path / "1", "b")
    with pytest.raises(ValueError, match="bad or repeated"), writer.payload("../escape"):
        pass
    shutil.rmtree(tmp_path / "1")

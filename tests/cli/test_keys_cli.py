"""`auditor keys`: generated ring files (0600, never overwritten), rotation of the configured ring
file, rewrap, client rotation, retirement, status; dry runs change nothing; errors hold no keys;
sealed usernames and notes stay readable and searchable through every rotation."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from sqlalchemy import func, select

from auditor import create_app
from auditor.cli.groups import keys
from auditor.db import get_database
from auditor.models import AuditEvent, ClientKey, MasterKeyCanary, Secret
from auditor.schemas.vault import SecretIn
from auditor.services.vault import bulk, store
from crypto.keys import read_key_ring_file, ring_from_base64, write_key_ring_file
from tests import factories
from tests.factories import ACTOR, MASTER_KEY, app_settings


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def ring_file(tmp_path, keyring):
    """The key ring file of the app under test, holding the test key as version 1."""
    path = tmp_path / "master-keys"
    write_key_ring_file(path, keyring)
    return path


@pytest.fixture
def ring_runner(database_url, connection, session, ring_file, tmp_path):
    """A CLI runner of an app whose master keys come from a key ring file."""
    app = create_app(
        app_settings(
            database_url,
            MASTER_KEY=None,
            MASTER_KEY_FILE=str(ring_file),
            INSTANCE_PATH=str(tmp_path / "instance"),
        )
    )
    get_database(app).bind(connection)
    yield factories.operator_runner(app, session)
    get_database(app).engine.dispose()


@pytest.fixture
def secrets(session, inventory, keyring):
    """Three secrets of acme and one of qc-client, sealed with the test key; {ref: value}. Each
    has a username and notes too: ``username_of(value)``, ``notes_of(value)``."""
    stored = {}
    for client, count in (("acme", 3), ("qc-client", 1)):
        values = [f"{client}-value-{n}" for n in range(count)]
        items = [
            SecretIn.model_validate(
                {"name": v, "value": v, "username": username_of(v), "notes": notes_of(v)}
            )
            for v in values
        ]
        refs = bulk.store_many(session, keyring, client, items, actor=ACTOR)
        stored.update(zip(refs, values, strict=True))
    session.commit()
    return stored


def username_of(value):
    return value.replace("-value-", "-user-")


def notes_of(value):
    return value.replace("-value-", " notes ")


def assert_all_open(session, ring, secrets, refs=None):
    """Each secret reveals its value, username and notes with ``ring``, and its username finds it."""
    for ref in refs or secrets:
        value = secrets[ref]
        revealed = store.reveal_secret(session, ring, ref, "after a key change", actor=ACTOR)
        assert (revealed.value, revealed.username, revealed.notes) == (
            value,
            username_of(value),
            notes_of(value),
        )
        client = value.split("-value-")[0]
        found = store.list_secrets(
            session, ring, client, actor=ACTOR, after=None, limit=10, q=username_of(value).upper()
        )
        assert [s.ref for s in found] == [ref]


def sealed_columns(session):
    return {
        row.ref: tuple(row[1:])
        for row in session.execute(
            select(
                Secret.ref,
                Secret.value,
                Secret.username_sealed,
                Secret.username_index,
                Secret.notes_sealed,
            )
        )
    }


def invoke(runner, *args):
    return runner.invoke(keys, args=list(args))


def actions(session):
    return session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("keys.%")).order_by(AuditEvent.seq)
    ).all()


# -- generate ---------------------------------------------------------------------------------


def test_generate_writes_a_0600_ring_file_and_never_overwrites_it(runner, tmp_path):
    target = tmp_path / "ring"
    result = invoke(runner, "generate", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert f"wrote {target} (mode 0600)" in result.output
    assert mode(target) == 0o600
    ring = read_key_ring_file(target)
    assert (ring.versions, ring.current) == ((1,), 1)
    key = base64.b64encode(ring.key_bytes(1)).decode()
    assert key not in result.output
    content = target.read_bytes()

    again = invoke(runner, "generate", "--output", str(target))
    assert again.exit_code == 1
    assert "exists; refusing to overwrite" in again.output
    assert target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ring"]  # no staging file left


def test_generate_print_gives_one_base64_key_for_the_environment(runner):
    result = invoke(runner, "generate", "--print")
    assert result.exit_code == 0
    key = result.output.strip().splitlines()[-1]
    assert len(base64.b64decode(key, validate=True)) == 32
    assert ring_from_base64(key).versions == (1,)
    other = invoke(runner, "generate", "--print").output.strip().splitlines()[-1]
    assert other != key
    for args in ((), ("--print", "--output", "x")):
        refused = invoke(runner, "generate", *args)
        assert (
            refused.exit_code == 1 and "exactly one of --output PATH or --print" in refused.output
        )


# -- master key rotation ----------------------------------------------------------------------


def test_rotate_refuses_a_key_from_the_environment_without_showing_it(runner, session):
    result = invoke(runner, "rotate", "--yes")
    assert result.exit_code == 1
    assert "comes from AUDITOR_MASTER_KEY" in result.output
    assert "AUDITOR_MASTER_KEY_FILE" in result.output
    assert MASTER_KEY not in result.output and "Traceback" not in result.output
    assert actions(session) == []


def test_rotate_rewrap_retire_through_the_ring_file(
    ring_runner, ring_file, session, secrets, keyring
):
    original = ring_file.read_bytes()
    dry = invoke(ring_runner, "rotate")
    assert dry.exit_code == 0, dry.output
    assert "dry run: would add master key version 2" in dry.output
    assert "client keys to re-wrap then: 2 under version 1" in dry.output
    assert ring_file.read_bytes() == original

    rotated = invoke(ring_runner, "rotate", "--yes")
    assert rotated.exit_code == 0, rotated.output
    assert "master key version 2 is now current" in rotated.output
    assert "'auditor keys rewrap --yes'" in rotated.output
    assert mode(ring_file) == 0o600
    ring = read_key_ring_file(ring_file)
    assert (ring.versions, ring.current) == ((1, 2), 2)
    assert ring.key_bytes(1) == keyring.key_bytes(1)
    assert session.get(MasterKeyCanary, 2) is not None
    for version in ring.versions:
        assert base64.b64encode(ring.key_bytes(version)).decode() not in rotated.output

    in_use = invoke(ring_runner, "retire", "1", "--yes")
    assert in_use.exit_code == 1
    assert "version 1 still wraps 2 client key(s)" in in_use.output
    assert read_key_ring_file(ring_file).versions == (1, 2)

    before = sealed_columns(session)
    dry_rewrap = invoke(ring_runner, "rewrap")
    assert "dry run: would re-wrap 2 client key(s) under master key version 2" in dry_rewrap.output
    assert set(session.scalars(select(ClientKey.master_version))) == {1}
    rewrap = invoke(ring_runner, "rewrap", "--yes")
    assert rewrap.exit_code == 0, rewrap.output
    assert "re-wrapped 2 client key(s) under master key version 2" in rewrap.output
    session.expire_all()
    assert set(session.scalars(select(ClientKey.master_version))) == {2}
    assert sealed_columns(session) == before  # blobs and blind indexes untouched
    again = invoke(ring_runner, "rewrap", "--yes")
    assert "every client key is already under master key version 2" in again.output

    dry_retire = invoke(ring_runner, "retire", "1")
    assert "dry run: no client key uses master key version 1" in dry_retire.output
    assert read_key_ring_file(ring_file).versions == (1, 2)
    current = invoke(ring_runner, "retire", "2", "--yes")
    assert current.exit_code == 1 and "is the current version" in current.output
    retired = invoke(ring_runner, "retire", "1", "--yes")
    assert retired.exit_code == 0, retired.output
    assert f"removed from {ring_file}" in retired.output
    remaining = read_key_ring_file(ring_file)
    assert (remaining.versions, remaining.current) == ((2,), 2)
    assert mode(ring_file) == 0o600
    assert session.get(MasterKeyCanary, 1) is None
    assert_all_open(session, remaining, secrets)
    assert actions(session) == ["keys.rotate", "keys.rewrap", "keys.retire"]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("keys.%"))).all()
    assert {e.actor for e in events} == {ring_runner.actor}  # the admin who ran them (--as)
    assert all(e.details["via"].startswith("cli:") for e in events)  # from an OS account


def test_a_tampered_ring_file_is_refused_without_echoing_it(ring_runner, ring_file, session):
    ring_file.write_text("auditor-master-key-ring 1\ncurrent 1\nkey 1 bm90LWEta2V5\n")
    os.chmod(ring_file, 0o600)
    result = invoke(ring_runner, "rotate", "--yes")
    assert result.exit_code == 1
    assert "line 3: the key must decode to exactly 32 bytes" in result.output
    assert "bm90LWEta2V5" not in result.output and "Traceback" not in result.output
    assert ring_file.read_text().endswith("bm90LWEta2V5\n")  # left as it was
    assert actions(session) == []


# -- client keys and status -------------------------------------------------------------------


def test_rotate_client_is_a_dry_run_until_yes(runner, session, secrets, keyring):
    dry = invoke(runner, "rotate-client", "acme")
    assert dry.exit_code == 0, dry.output
    assert "dry run: would add client key version 2 (now 1) for acme" in dry.output
    assert "re-wrap 3 secret(s)" in dry.output
    assert session.scalar(select(func.max(ClientKey.version))) == 1

    done = invoke(runner, "rotate-client", "acme", "--yes", "--batch", "2")
    assert done.exit_code == 0, done.output
    assert "acme: client key version 2; re-wrapped 3 secret(s); deleted old version(s): 1" in (
        done.output
    )
    session.expire_all()
    acme = [ref for ref, value in secrets.items() if value.startswith("acme")]
    versions = session.scalars(select(Secret.client_key_version).where(Secret.ref.in_(acme)))
    assert set(versions) == {2}
    assert_all_open(session, keyring, secrets, acme)
    assert actions(session) == [
        "keys.rotate_client",
        "keys.rewrap_secrets",
        "keys.rewrap_secrets",
        "keys.shred_client_key",
    ]
    missing = invoke(runner, "rotate-client", "nobody", "--yes")
    assert missing.exit_code == 1 and "No organization with that code." in missing.output


def test_status_shows_master_versions_and_client_keys(runner, session, secrets):
    invoke(runner, "rotate-client", "acme", "--yes")
    result = invoke(runner, "status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "master key versions (current: 1)"
    assert lines[2].split() == ["1*", "2", "0", "yes", "yes"]  # no TOTP secret yet
    assert lines[3] == "client keys (2 clients)"
    acme = next(line.split() for line in lines if line.strip().startswith("acme"))
    qc = next(line.split() for line in lines if line.strip().startswith("qc-client"))
    assert acme == ["acme", "2", "0", "3", "0", "v2:", "3"]
    assert qc == ["qc-client", "1", "0", "1", "0", "v1:", "1"]
    assert not any(value in result.output for value in secrets.values())

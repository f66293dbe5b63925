"""Key rotation services: master rotation + rewrap, client key rotation (resumable), retirement,
status, bulk storing; every step audited with counts and never with key material. Usernames and
notes are sealed like values: a client rotation re-wraps their data keys and recomputes the
usernames' blind indexes, a master rotation touches neither."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import func, select, text

from auditor.db import utcnow
from auditor.models import AuditEvent, ClientKey, MasterKeyCanary, Secret
from auditor.schemas.vault import SecretIn, SecretUpdate
from auditor.services.errors import Conflict, NotFound, ValidationFailed
from auditor.services.vault import bulk as vault_bulk
from auditor.services.vault import client_rotation
from auditor.services.vault import keys as vault_keys
from auditor.services.vault import rotation as vault_rotation
from auditor.services.vault import store as vault
from auditor.services.vault.status import key_status
from crypto import envelope
from crypto.keys import MasterKeyRing, ring_from_base64
from tests.factories import ACTOR, MASTER_KEY

VALUE_OFFSET = envelope.VALUE_OFFSET  # 68


class Interrupted(Exception):
    """Stands for a crash (power loss, Ctrl-C) between two batches."""


@pytest.fixture
def ring(session, inventory, keyring) -> MasterKeyRing:
    """The test key ring, its canary stored (as the app does at start)."""
    vault_keys.check_master_keys(session, keyring)
    return keyring


def username_of(value):
    return value.replace("pw-", "Ädmin-", 1)


def notes_of(value):
    return f"recovery codes of {value}"


def store(session, ring, client, count, prefix="pw"):
    """`count` secrets for `client`, each with a username and notes; returns {ref: plaintext}."""
    values = [f"{prefix}-{client}-{n}-Ünïcode" for n in range(count)]
    items = [
        SecretIn.model_validate(
            {
                "name": f"secret {n}",
                "kind": "password",
                "value": value,
                "username": username_of(value),
                "notes": notes_of(value),
            }
        )
        for n, value in enumerate(values)
    ]
    refs = vault_bulk.store_many(session, ring, client, items, actor=ACTOR)
    session.commit()
    return dict(zip(refs, values, strict=True))


def blobs(session, client_code=None, column=Secret.value):
    query = select(Secret.ref, column).order_by(Secret.id)
    if client_code is not None:
        query = query.where(Secret.organization.has(code=client_code))
    return {
        ref: blob if isinstance(blob, str) else bytes(blob) for ref, blob in session.execute(query)
    }


SEALED = (Secret.value, Secret.username_sealed, Secret.notes_sealed)


def reveal_all(session, ring, expected):
    for ref, value in expected.items():
        revealed = vault.reveal_secret(session, ring, ref, "rotation check", actor=ACTOR)
        assert (revealed.value, revealed.username, revealed.notes) == (
            value,
            username_of(value),
            notes_of(value),
        )


def find_by_username(session, ring, client, value):
    """The refs a search for the secret's username finds (any case: the blind index)."""
    found = vault.list_secrets(
        session, ring, client, actor=ACTOR, after=None, limit=500, q=username_of(value).lower()
    )
    return [secret.ref for secret in found]


def events(session, action):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    ).all()


def rotate(session, ring):
    saved: list[MasterKeyRing] = []
    rotated = vault_rotation.rotate_master(session, ring, actor=ACTOR, save=saved.append)
    session.commit()
    assert saved == [rotated]
    return rotated


# -- master key rotation ----------------------------------------------------------------------


def test_master_rotation_and_rewrap_leave_secrets_readable_and_ciphertexts_identical(session, ring):
    expected = store(session, ring, "acme", 3) | store(session, ring, "qc-client", 2)
    before = blobs(session)
    blobs_before = {
        column.key: blobs(session, column=column)
        for column in (Secret.username_sealed, Secret.notes_sealed, Secret.username_index)
    }
    rotated = rotate(session, ring)
    assert (rotated.versions, rotated.current) == ((1, 2), 2)
    assert session.get(MasterKeyCanary, 2) is not None
    [event] = events(session, "keys.rotate")
    assert event.details == {
        "master_version": 2,
        "previous_version": 1,
        "client_keys_to_rewrap": 2,
    }

    result = vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR, batch=1)
    assert (result.pending, result.rewrapped, result.dry_run) == ({1: 2}, 2, False)
    rows = session.scalars(select(ClientKey)).all()
    assert {row.master_version for row in rows} == {2}
    assert {envelope.parse_wrapped_client_key(row.wrapped).master_version for row in rows} == {2}
    assert {row.version for row in rows} == {1}  # same client key versions
    assert blobs(session) == before  # secret ciphertexts untouched, byte for byte
    for column in (Secret.username_sealed, Secret.notes_sealed, Secret.username_index):
        assert blobs(session, column=column) == blobs_before[column.key]
    reveal_all(session, rotated.drop_version(1), expected)  # version 1 no longer needed
    assert [e.details for e in events(session, "keys.rewrap")] == [
        {"master_version": 2, "rewrapped": 1, "from_versions": {"1": 1}},
        {"master_version": 2, "rewrapped": 1, "from_versions": {"1": 1}},
    ]

    again = vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR)
    assert (again.pending, again.rewrapped) == ({}, 0)
    assert len(events(session, "keys.rewrap")) == 2  # nothing done, nothing recorded


def test_rewrap_dry_run_changes_nothing(session, ring):
    store(session, ring, "acme", 2)
    rotated = rotate(session, ring)
    keys_before = session.execute(select(ClientKey.id, ClientKey.wrapped, ClientKey.master_version))
    keys_before = sorted(keys_before.all())
    audit_before = session.scalar(select(func.count()).select_from(AuditEvent))
    result = vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR, dry_run=True)
    assert (result.pending, result.rewrapped, result.dry_run) == ({1: 1}, 0, True)
    session.commit()
    keys_after = session.execute(select(ClientKey.id, ClientKey.wrapped, ClientKey.master_version))
    assert sorted(keys_after.all()) == keys_before
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_a_ring_that_does_not_match_the_canaries_wraps_nothing(session, ring):
    store(session, ring, "acme", 1)
    wrong_key = base64.b64encode(b"w" * 32).decode()
    wrong = MasterKeyRing({1: b"w" * 32, 2: b"v" * 32}, 2)
    saved: list[MasterKeyRing] = []
    with pytest.raises(Conflict) as refused:
        vault_rotation.rotate_master(
            session, ring_from_base64(wrong_key), actor=ACTOR, save=saved.append
        )
    assert saved == []
    with pytest.raises(Conflict) as refused_rewrap:
        vault_rotation.rewrap_client_keys(session, wrong, actor=ACTOR)
    for exc in (refused.value, refused_rewrap.value):
        assert "does not match" in exc.detail
        assert wrong_key not in exc.detail and MASTER_KEY not in exc.detail
    session.rollback()
    assert session.scalars(select(ClientKey.master_version)).all() == [1]


# -- client key rotation ----------------------------------------------------------------------


def test_rotate_client_rewraps_every_secret_and_keeps_the_value_bytes(session, ring):
    expected = store(session, ring, "acme", 25)
    store(session, ring, "qc-client", 3)
    other_before = blobs(session, "qc-client")
    before = {column.key: blobs(session, "acme", column) for column in SEALED}
    index_before = blobs(session, "acme", Secret.username_index)
    batches: list[int] = []
    result = client_rotation.rotate_client(
        session, ring, "acme", actor=ACTOR, batch=10, progress=batches.append
    )
    assert batches == [10, 10, 5]
    assert (result.plan.new_version, result.plan.resumes, result.rewrapped) == (2, False, 25)
    assert (result.deleted_versions, result.kept_versions) == ((1,), ())
    for column in SEALED:  # the value, the username and the notes alike
        for ref, blob in blobs(session, "acme", column).items():
            old = before[column.key][ref]
            assert blob[VALUE_OFFSET:] == old[VALUE_OFFSET:]  # the value part is identical
            assert blob[:VALUE_OFFSET] != old[:VALUE_OFFSET]  # a new wrapped data key
            assert envelope.parse_sealed(blob).client_key_version == 2
    index_after = blobs(session, "acme", Secret.username_index)
    assert all(index_after[ref] != index_before[ref] for ref in expected)  # under the new key
    assert all(find_by_username(session, ring, "acme", v) == [ref] for ref, v in expected.items())
    acme_id = session.scalar(text("SELECT id FROM organization WHERE code = 'acme'"))
    assert session.scalars(
        select(Secret.client_key_version).where(Secret.organization_id == acme_id).distinct()
    ).all() == [2]
    assert session.scalars(
        select(ClientKey.version).where(ClientKey.organization_id == acme_id)
    ).all() == [2]  # version 1 crypto-shredded
    assert blobs(session, "qc-client") == other_before  # other clients untouched
    reveal_all(session, ring, expected)

    [started] = events(session, "keys.rotate_client")
    assert started.organization_id == acme_id
    assert started.details == {
        "client_key_version": 2,
        "previous_version": 1,
        "secrets_to_rewrap": 25,
    }
    assert [e.details["rewrapped"] for e in events(session, "keys.rewrap_secrets")] == [10, 10, 5]
    [shred] = events(session, "keys.shred_client_key")
    assert shred.details == {"deleted_versions": [1], "client_key_version": 2}


def test_an_interrupted_client_rotation_resumes_and_rewraps_each_secret_once(session, ring):
    expected = store(session, ring, "acme", 25)

    def crash_after_first_batch(count: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        client_rotation.rotate_client(
            session, ring, "acme", actor=ACTOR, batch=10, progress=crash_after_first_batch
        )
    session.rollback()
    halfway = blobs(session, "acme")
    versions = [envelope.parse_sealed(b).client_key_version for b in halfway.values()]
    assert sorted(versions) == [1] * 15 + [2] * 10  # the first batch was committed
    reveal_all(session, ring, expected)  # readable mid-rotation: both versions are kept
    for ref, value in expected.items():  # and searchable: each row's index is under its version
        assert find_by_username(session, ring, "acme", value) == [ref]

    plan = client_rotation.plan_client_rotation(session, "acme")
    assert (plan.current_version, plan.new_version, plan.resumes, plan.pending) == (2, 2, True, 15)
    result = client_rotation.rotate_client(session, ring, "acme", actor=ACTOR, batch=10)
    assert (result.plan.resumes, result.rewrapped, result.deleted_versions) == (True, 15, (1,))

    done = blobs(session, "acme")
    assert {envelope.parse_sealed(b).client_key_version for b in done.values()} == {2}
    for ref, blob in halfway.items():
        if envelope.parse_sealed(blob).client_key_version == 2:
            assert done[ref] == blob  # already re-wrapped: not re-wrapped a second time
        assert done[ref][VALUE_OFFSET:] == blob[VALUE_OFFSET:]
    assert session.scalars(select(ClientKey.version)).all() == [2]  # no version 3
    assert len(events(session, "keys.rotate_client")) == 1
    rewraps = events(session, "keys.rewrap_secrets")
    assert [(e.details["rewrapped"], e.details["resumed"]) for e in rewraps] == [
        (10, False),
        (10, True),
        (5, True),
    ]
    assert sum(e.details["rewrapped"] for e in rewraps) == 25
    reveal_all(session, ring, expected)


def test_an_old_version_still_named_by_a_secret_is_kept_and_the_next_run_finishes(session, ring):
    expected = store(session, ring, "acme", 6)
    columns = (*SEALED, Secret.username_index)
    first_ref, *first_row = session.execute(
        select(Secret.ref, *columns).order_by(Secret.id)
    ).first()

    def write_an_old_blob_behind_the_cursor(count: int) -> None:
        # a secret (re)written under version 1 where the rotation has already passed
        old = {column.key: blob for column, blob in zip(columns, first_row, strict=True)}
        session.execute(
            Secret.__table__.update()
            .where(Secret.ref == first_ref)
            .values(**old, client_key_version=1)
        )
        session.commit()

    result = client_rotation.rotate_client(
        session, ring, "acme", actor=ACTOR, batch=3, progress=write_an_old_blob_behind_the_cursor
    )
    assert (result.deleted_versions, result.kept_versions) == ((), (1,))
    assert session.scalars(select(ClientKey.version).order_by(ClientKey.version)).all() == [1, 2]
    reveal_all(session, ring, expected)  # nothing shredded that a secret still needs
    assert events(session, "keys.shred_client_key") == []

    again = client_rotation.rotate_client(session, ring, "acme", actor=ACTOR)
    assert (again.plan.resumes, again.rewrapped, again.deleted_versions) == (True, 1, (1,))
    assert session.scalars(select(ClientKey.version)).all() == [2]
    reveal_all(session, ring, expected)


def test_a_secret_changed_mid_rotation_moves_to_the_new_version_as_a_whole(session, ring):
    expected = store(session, ring, "acme", 5)
    with pytest.raises(Interrupted):
        client_rotation.rotate_client(session, ring, "acme", actor=ACTOR, batch=2, progress=_raise)
    session.rollback()
    ref = session.scalar(
        select(Secret.ref).where(Secret.client_key_version == 1).order_by(Secret.id).limit(1)
    )
    value = expected[ref]
    vault.update_secret(session, ring, ref, SecretUpdate(username="Renamed-Admin"), actor=ACTOR)
    session.commit()
    row = session.scalars(select(Secret).where(Secret.ref == ref)).one()
    assert row.client_key_version == 2  # its value and notes re-wrapped, its username resealed
    for blob in (row.value, row.username_sealed, row.notes_sealed):
        assert envelope.parse_sealed(bytes(blob)).client_key_version == 2
    revealed = vault.reveal_secret(session, ring, ref, "check", actor=ACTOR)
    assert (revealed.value, revealed.username, revealed.notes) == (
        value,
        "Renamed-Admin",
        notes_of(value),
    )
    found = vault.list_secrets(
        session, ring, "acme", actor=ACTOR, after=None, limit=10, q="renamed-admin"
    )
    assert [s.ref for s in found] == [ref]
    result = client_rotation.rotate_client(session, ring, "acme", actor=ACTOR)
    assert (result.rewrapped, result.deleted_versions) == (2, (1,))
    expected.pop(ref)
    reveal_all(session, ring, expected)


def test_rotate_client_refuses_a_client_without_a_key(session, ring):
    with pytest.raises(NotFound, match="has no vault key yet"):
        client_rotation.rotate_client(session, ring, "qc-client", actor=ACTOR)
    with pytest.raises(NotFound):
        client_rotation.plan_client_rotation(session, "no-such-client")


def test_rotate_client_after_a_master_rotation_wraps_the_new_key_under_the_new_master(
    session, ring
):
    expected = store(session, ring, "acme", 4)
    rotated = rotate(session, ring)
    client_rotation.rotate_client(session, rotated, "acme", actor=ACTOR)
    [row] = session.scalars(select(ClientKey)).all()
    assert (row.version, row.master_version) == (2, 2)
    reveal_all(session, rotated, expected)


# -- retirement -------------------------------------------------------------------------------


def test_retire_is_refused_while_in_use_and_for_the_current_version(session, ring):
    expected = store(session, ring, "acme", 2) | store(session, ring, "qc-client", 1)
    rotated = rotate(session, ring)
    with pytest.raises(Conflict, match="version 2 is the current version"):
        vault_rotation.retire_master(session, rotated, 2, actor=ACTOR)
    with pytest.raises(Conflict, match=r"version 1 still wraps 2 client key\(s\)") as refused:
        vault_rotation.retire_master(session, rotated, 1, actor=ACTOR)
    assert "keys rewrap --yes" in refused.value.detail
    with pytest.raises(NotFound):
        vault_rotation.retire_master(session, rotated, 7, actor=ACTOR)
    assert session.get(MasterKeyCanary, 1) is not None
    assert events(session, "keys.retire") == []

    vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR)
    plan = vault_rotation.retire_master(session, rotated, 1, actor=ACTOR, dry_run=True)
    assert (plan.in_ring, plan.had_canary, plan.dry_run) == (True, True, True)
    assert session.get(MasterKeyCanary, 1) is not None  # the dry run deleted nothing
    vault_rotation.retire_master(session, rotated, 1, actor=ACTOR)
    session.commit()
    assert session.get(MasterKeyCanary, 1) is None
    [event] = events(session, "keys.retire")
    assert event.details == {"master_version": 1, "had_canary": True}
    retired = rotated.drop_version(1)
    assert vault_keys.check_master_keys(session, retired) == []  # the service starts without it
    reveal_all(session, retired, expected)


# -- status -----------------------------------------------------------------------------------


def test_status_counts_client_keys_per_master_version_and_secrets_per_client(session, ring):
    store(session, ring, "acme", 25)
    store(session, ring, "qc-client", 3)
    rotated = rotate(session, ring)
    vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR)  # both under master 2
    with pytest.raises(Interrupted):
        client_rotation.rotate_client(
            session, rotated, "acme", actor=ACTOR, batch=10, progress=_raise
        )
    session.rollback()
    later = utcnow() + dt.timedelta(days=3, hours=1)
    report = key_status(session, rotated, now=later)
    assert report.current_master == 2
    assert [
        (m.version, m.client_keys, m.is_current, m.in_ring, m.has_canary) for m in report.masters
    ] == [
        (1, 0, False, True, True),
        (2, 3, True, True, True),
    ]
    acme, qc = report.clients
    assert (acme.code, acme.current_version, acme.key_versions) == ("acme", 2, (1, 2))
    assert (acme.secrets_by_version, acme.secrets, acme.pending) == ({1: 15, 2: 10}, 25, 15)
    assert (qc.code, qc.current_version, qc.secrets_by_version, qc.pending) == (
        "qc-client",
        1,
        {1: 3},
        0,
    )
    assert acme.key_age.days == 3 and qc.key_age.days == 3


def _raise(count: int) -> None:
    raise Interrupted


# -- bulk storing and the audit trail ---------------------------------------------------------


def test_store_many_seals_under_the_current_key_and_audits_counts(session, ring):
    expected = store(session, ring, "acme", 5)
    assert all(
        envelope.parse_sealed(b).client_key_version == 1 for b in blobs(session, "acme").values()
    )
    [event] = events(session, "vault.secret_store_many")
    assert event.details == {"count": 5, "kinds": {"password": 5}, "client_key_version": 1}
    reveal_all(session, ring, expected)
    bad = SecretIn.model_validate({"name": "x", "value": "v", "system": "nope"})
    with pytest.raises(ValidationFailed):
        vault_bulk.store_many(session, ring, "acme", [bad], actor=ACTOR)
    with pytest.raises(NotFound):
        vault_bulk.store_many(session, ring, "ghost", [], actor=ACTOR)


def test_audit_events_of_key_operations_hold_counts_and_no_key_material(session, ring):
    expected = store(session, ring, "acme", 3)
    rotated = rotate(session, ring)
    vault_rotation.rewrap_client_keys(session, rotated, actor=ACTOR)
    client_rotation.rotate_client(session, rotated, "acme", actor=ACTOR)
    vault_rotation.retire_master(session, rotated, 1, actor=ACTOR)
    session.commit()
    secrets_of_keys = [base64.b64encode(rotated.key_bytes(v)).decode() for v in rotated.versions]
    for key in vault_keys.all_keys(
        session, rotated, session.scalar(select(ClientKey.organization_id))
    ).values():
        secrets_of_keys += [base64.b64encode(key._key).decode(), key._key.hex()]
    secrets_of_keys += list(expected.values())
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.details).where(AuditEvent.action.like("keys.%"))
    ).all()
    assert {action for action, _ in rows} == {
        "keys.rotate",
        "keys.rewrap",
        "keys.rotate_client",
        "keys.rewrap_secrets",
        "keys.shred_client_key",
        "keys.retire",
    }
    dump = str(rows)
    for secret in secrets_of_keys:
        assert secret not in dump

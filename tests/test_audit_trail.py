"""The audit trail end to end (R32-R34, docs/audit-log.md): events commit with their action, the
database refuses changes to the audit tables, and `auditor audit verify` (CLI and API) names the
first bad sequence number for each kind of tampering.

Tampering drops the append-only triggers inside the test's transaction and edits rows with SQL;
DDL is transactional on SQLite and PostgreSQL, so the rollback at the end restores the triggers.
The SQL helpers live in tests/factories/audit_log.py, shared with tests/test_audit_independent.py.
"""

from __future__ import annotations

import base64
import getpass
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from auditor import create_app
from auditor.db import get_database
from auditor.models import ApiToken, AuditCheckpoint, AuditEvent, User
from auditor.services import audit, users
from auditor.services.context import Actor
from auditor.services.errors import AuthenticationFailed
from crypto import merkle
from crypto.note import public_key_pem, verifier_key
from tests import factories
from tests.factories import ORIGIN, app_settings, assert_denied
from tests.factories.audit_log import (
    CHECKPOINT_TAMPERS,
    TAMPERS,
    build_log,
    drop_append_only_triggers,
    execute,
    failure_text,
    is_postgres,
    latest_checkpoint_id,
    rechain_from,
    service_leaf,
    stored_rows,
    verify_cli,
)

# --- R32: each action and its event commit together ------------------------------------------


def refuse_audit_inserts(connection: Connection) -> None:
    if is_postgres(connection):
        connection.exec_driver_sql(
            "CREATE TRIGGER test_refuse_insert BEFORE INSERT ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change()"
        )
    else:
        connection.exec_driver_sql(
            "CREATE TRIGGER test_refuse_insert BEFORE INSERT ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event refuses inserts in this test'); END"
        )


def _create_user(client: Any, headers: Any, target: User, token_id: int) -> Any:
    body = {"email": "new.hire@msp.example", "name": "New Hire", "role": "technician"}
    return client.post("/api/v1/users", json=body, headers=headers)


def _change_role(client: Any, headers: Any, target: User, token_id: int) -> Any:
    return client.patch(
        f"/api/v1/users/{target.id}", json={"role": "privacy_officer"}, headers=headers
    )


def _create_token(client: Any, headers: Any, target: User, token_id: int) -> Any:
    return client.post(f"/api/v1/users/{target.id}/tokens", json={"name": "ci"}, headers=headers)


def _revoke_token(client: Any, headers: Any, target: User, token_id: int) -> Any:
    return client.delete(f"/api/v1/tokens/{token_id}", headers=headers)


def _checkpoint(client: Any, headers: Any, target: User, token_id: int) -> Any:
    return client.post("/api/v1/audit/checkpoints", headers=headers)


def _state(session: Session, target: User, token_id: int) -> tuple[Any, ...]:
    """What the actions change: users, the target's role, tokens, revocations, checkpoints."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(User)),
        session.get(User, target.id).role,  # type: ignore[union-attr]
        session.scalar(select(func.count()).select_from(ApiToken)),
        session.get(ApiToken, token_id).revoked_at,  # type: ignore[union-attr]
        session.scalar(select(func.count()).select_from(AuditCheckpoint)),
    )


ACTIONS = {
    "user.create": (_create_user, 201),
    "user.role_change": (_change_role, 200),
    "token.create": (_create_token, 201),
    "token.revoke": (_revoke_token, 204),
    "audit.checkpoint": (_checkpoint, 201),
}


@pytest.fixture
def target(session: Session) -> tuple[User, int]:
    user = factories.user(session, role="technician")
    factories.token(session, user_obj=user)
    session.commit()
    token_id = session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    assert token_id is not None
    return user, token_id


@pytest.mark.parametrize("action", ACTIONS)
def test_action_appends_its_event_in_the_same_commit(client, session, auth, target, action):
    request, status = ACTIONS[action]
    headers = auth("admin")
    user, token_id = target
    before = _state(session, user, token_id)
    head = audit.count_events(session)
    response = request(client, headers, user, token_id)
    assert response.status_code == status, response.get_json()
    assert _state(session, user, token_id) != before
    session.expire_all()
    new = session.scalars(select(AuditEvent).where(AuditEvent.seq > head)).all()
    assert [e.action for e in new] == [action]
    (event,) = new
    assert event.actor.startswith("user:") and event.source_ip == "127.0.0.1"
    assert event.outcome == "success" and event.object_type is not None
    assert event.object_id is not None


@pytest.mark.parametrize("action", ACTIONS)
def test_action_fails_and_changes_nothing_when_its_audit_insert_fails(
    client, session, connection, auth, target, action
):
    request, _ = ACTIONS[action]
    headers = auth("admin")
    user, token_id = target
    before = _state(session, user, token_id)
    head = audit.count_events(session)
    refuse_audit_inserts(connection)
    response = request(client, headers, user, token_id)
    assert response.status_code == 500
    assert response.get_json()["title"] == "Internal error"
    assert _state(session, user, token_id) == before
    assert audit.count_events(session) == head


def test_service_change_is_not_persisted_when_the_audit_insert_fails(session, connection):
    user = factories.user(session, role="technician")
    session.commit()
    refuse_audit_inserts(connection)
    with pytest.raises(DBAPIError, match="audit_event"):
        users.set_password(session, user.id, "a long enough password", actor=Actor.cli())
    session.rollback()
    assert session.get(User, user.id).password_hash is None  # type: ignore[union-attr]


def test_login_success_and_failure_are_both_audited(session):
    user = factories.user(session, role="auditor", email="login@msp.example")
    users.set_password(session, user.id, "correct horse battery", actor=Actor.cli())
    users.check_password(session, "login@msp.example", "correct horse battery", source_ip="::1")
    with pytest.raises(AuthenticationFailed):
        users.check_password(session, "login@msp.example", "wrong password!", source_ip="::1")
    with pytest.raises(AuthenticationFailed):
        users.check_password(session, "nobody@msp.example", "wrong password!", source_ip="::2")
    logins = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.seq)
    ).all()
    assert [(e.actor, e.outcome, e.source_ip) for e in logins] == [
        (f"user:{user.id}", "success", "::1"),
        (f"user:{user.id}", "failure", "::1"),
        ("anonymous", "failure", "::2"),
    ]
    assert all("password" not in json.dumps(e.details) for e in logins)


def test_record_refuses_floats_bad_strings_and_unknown_outcomes(session):
    with pytest.raises(TypeError, match=r"details\.ratio: float"):
        audit.record(session, actor=Actor.cli(), action="x", details={"ratio": 0.5})
    with pytest.raises(TypeError, match=r"details\.a\[1\]: float"):
        audit.record(session, actor=Actor.cli(), action="x", details={"a": [1, 2.0]})
    with pytest.raises(ValueError, match="unknown outcome"):
        audit.record(session, actor=Actor.cli(), action="x", outcome="maybe")
    with pytest.raises(TypeError, match="keys must be strings"):
        audit.record(session, actor=Actor.cli(), action="x", details={"a": {1: "one"}})
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate has no UTF-8 form
        audit.record(session, actor=Actor.cli(), action="x", details={"s": "\ud800"})
    assert audit.count_events(session) == 0


# --- the database refuses changes to the audit tables ----------------------------------------


@pytest.mark.parametrize(
    ("table", "statement"),
    [
        ("audit_event", "UPDATE audit_event SET actor = 'user:666' WHERE seq = 2"),
        ("audit_event", "DELETE FROM audit_event WHERE seq = 2"),
        ("audit_event", "DELETE FROM audit_event"),
        ("audit_checkpoint", "UPDATE audit_checkpoint SET root_hash = 'x'"),
        ("audit_checkpoint", "DELETE FROM audit_checkpoint"),
    ],
)
def test_database_refuses_update_and_delete_on_audit_tables(
    session, connection, runner, table, statement
):
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    before = stored_rows(connection)
    refused = pytest.raises(DBAPIError, match=f"{table} is append-only")
    with refused as caught, connection.begin_nested():
        connection.exec_driver_sql(statement)
    if is_postgres(connection):
        assert caught.value.orig.sqlstate == "42501"  # type: ignore[union-attr]
    assert stored_rows(connection) == before
    assert verify_cli(runner).exit_code == 0


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["audit_event", "audit_checkpoint"])
def test_postgres_refuses_truncate_on_audit_tables(session, connection, table):
    build_log(session, 2)
    refused = pytest.raises(DBAPIError, match=f"{table} is append-only")
    with refused, connection.begin_nested():
        connection.exec_driver_sql(f"TRUNCATE {table}")
    assert len(stored_rows(connection)) == 2


def test_database_accepts_inserts_on_audit_tables(session):
    build_log(session, 2)
    assert audit.count_events(session) == 2


# --- verify: intact logs ----------------------------------------------------------------------

# after the log, audit verify checks the disposition records against it (none here)
NO_DISPOSITIONS = (
    "disposition records intact: 0 dispositions in 0 batches, 0 completed runs' certificates\n"
)


def test_verify_on_an_empty_log_passes(runner):
    result = verify_cli(runner)
    assert result.exit_code == 0
    assert result.stdout == (
        f"audit trail intact: 0 events, root {merkle.EMPTY_ROOT.hex()}, 0 checkpoints verified\n"
        + NO_DISPOSITIONS
    )


def test_verify_on_an_intact_log_exits_0_with_size_root_and_checkpoints(session, runner):
    build_log(session, 5)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    build_log(session, 2)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    size, root = audit.tree_head(session)
    assert size == 9  # 7 events and the two checkpoints' own events
    result = verify_cli(runner)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"audit trail intact: 9 events, root {root.hex()}, 2 checkpoints verified\n"
        + NO_DISPOSITIONS
    )
    assert result.stderr == ""


def test_verify_with_the_right_public_key_file_passes(session, runner, tmp_path, signing_key):
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    pem = tmp_path / "audit.pem"
    pem.write_bytes(public_key_pem(signing_key.public_key()))
    result = verify_cli(runner, "--public-key", str(pem))
    assert result.exit_code == 0
    assert result.stdout.endswith(", 1 checkpoints verified\n" + NO_DISPOSITIONS)


def test_checkpoint_command_prints_a_note_the_public_key_opens(session, runner, signing_key):
    build_log(session, 3)
    root = audit.tree_head(session)[1]
    note = runner.invoke(args=["audit", "checkpoint"]).stdout
    vkey = runner.invoke(args=["audit", "public-key", "--format", "vkey"]).stdout.strip()
    pem = runner.invoke(args=["audit", "public-key"]).stdout
    key = signing_key.public_key()
    assert vkey == verifier_key(ORIGIN, key)
    assert pem.encode() == public_key_pem(key)
    lines = note.split("\n")
    assert lines[:3] == [ORIGIN, "3", base64.b64encode(root).decode()]
    assert re.fullmatch(r"time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", lines[3])
    assert lines[4] == "" and lines[5].startswith(f"\u2014 {ORIGIN} ")
    checkpoint = audit.latest_checkpoint(session)
    assert checkpoint is not None and checkpoint.note == note and checkpoint.tree_size == 3
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None and event.action == "audit.checkpoint" and event.seq == 4
    assert event.details == {
        "tree_size": 3,
        "root_hash": checkpoint.root_hash,
        "via": f"cli:{getpass.getuser()}",
    }
    assert event.actor == runner.actor


# --- verify: tampered events ------------------------------------------------------------------


@pytest.mark.parametrize("tamper", TAMPERS)
def test_verify_names_the_first_bad_event(session, connection, runner, client, auth, tamper):
    headers = auth("auditor")  # events 1-2: the user and the token
    build_log(session, 6)  # events 3-8
    drop_append_only_triggers(connection)
    first_bad, problem = TAMPERS[tamper](connection, 5, service_leaf)

    result = verify_cli(runner)
    assert result.exit_code == 1
    assert result.stderr == failure_text(first_bad, problem)
    assert result.stdout == ""

    body = client.post("/api/v1/audit/verify", headers=headers).get_json()
    assert body["ok"] is False
    assert (body["first_bad_seq"], body["problem"]) == (first_bad, problem)
    assert body["tree_size"] == max(first_bad - 1, 0)


def test_verify_catches_a_rechained_rewrite_only_through_a_checkpoint(session, connection, runner):
    build_log(session, 6)
    drop_append_only_triggers(connection)
    rechain_from(connection, 3, service_leaf)
    assert verify_cli(runner).exit_code == 0  # no checkpoint: nothing anchors the past

    session.rollback()
    execute(connection, "DELETE FROM audit_event")
    build_log(session, 6)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    rechain_from(connection, 3, service_leaf)
    result = verify_cli(runner)
    assert result.exit_code == 1
    problem = (
        f"checkpoint {latest_checkpoint_id(session)}: the first 6 events no longer have its root"
    )
    assert result.stderr == failure_text(None, problem)


def test_verify_reports_a_tail_truncated_below_a_checkpoint(
    session, connection, runner, client, auth
):
    headers = auth("auditor")
    build_log(session, 6)  # events 3-8
    checkpointed = runner.invoke(args=["audit", "checkpoint"])  # covers 8; its own event is 9
    assert checkpointed.exit_code == 0 and checkpointed.stdout.split("\n")[1] == "8"
    checkpoint_id = latest_checkpoint_id(session)
    drop_append_only_triggers(connection)
    execute(connection, "DELETE FROM audit_event WHERE seq > 5")

    result = verify_cli(runner)
    assert result.exit_code == 1
    problem = f"log truncated: checkpoint {checkpoint_id} covers 8 events, only 5 remain"
    assert result.stderr == failure_text(6, problem)
    body = client.post("/api/v1/audit/verify", headers=headers).get_json()
    assert (body["ok"], body["first_bad_seq"], body["problem"]) == (False, 6, problem)


def test_truncating_only_after_the_newest_checkpoint_goes_unnoticed(session, connection, runner):
    """A documented limit (docs/audit-log.md, section 8): export checkpoints off the machine."""
    build_log(session, 4)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    build_log(session, 2)
    drop_append_only_triggers(connection)
    execute(connection, "DELETE FROM audit_event WHERE seq > 4")
    result = verify_cli(runner)
    assert result.exit_code == 0
    assert result.stdout.startswith("audit trail intact: 4 events")


# --- verify: tampered checkpoints -------------------------------------------------------------


@pytest.mark.parametrize("tamper", CHECKPOINT_TAMPERS)
def test_verify_rejects_an_altered_checkpoint(session, connection, runner, client, auth, tamper):
    headers = auth("auditor")
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    checkpoint = audit.latest_checkpoint(session)
    assert checkpoint is not None
    statement, mangle, message = CHECKPOINT_TAMPERS[tamper]
    drop_append_only_triggers(connection)
    params: dict[str, Any] = {"id": checkpoint.id, "root": "ab" * 32}
    if mangle is not None:
        params["note"] = mangle(checkpoint.note)
        assert params["note"] != checkpoint.note
    execute(connection, statement, **params)

    problem = f"checkpoint {checkpoint.id}: {message}"
    result = verify_cli(runner)
    assert result.exit_code == 1
    assert result.stderr == failure_text(None, problem)
    body = client.post("/api/v1/audit/verify", headers=headers).get_json()
    assert (body["ok"], body["first_bad_seq"], body["problem"]) == (False, None, problem)


def test_verify_without_a_key_checks_roots_but_not_signatures(
    session, connection, runner, database_url
):
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    checkpoint_id = latest_checkpoint_id(session)
    keyless = create_app(app_settings(database_url, AUDIT_SIGNING_KEY=None))
    get_database(keyless).bind(connection)
    try:
        result = verify_cli(keyless.test_cli_runner())
        assert result.exit_code == 0
        assert result.stdout.endswith(
            "1 checkpoints verified (no key configured: checkpoint signatures not checked)\n"
            + NO_DISPOSITIONS
        )
        drop_append_only_triggers(connection)
        execute(connection, "UPDATE audit_checkpoint SET root_hash = :root", root="ab" * 32)
        result = verify_cli(keyless.test_cli_runner())
        assert result.exit_code == 1
        assert result.stderr == failure_text(
            None, f"checkpoint {checkpoint_id}: the first 3 events no longer have its root"
        )
    finally:
        get_database(keyless).engine.dispose()


def test_verify_with_another_public_key_fails(session, runner, tmp_path):
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    checkpoint_id = latest_checkpoint_id(session)
    other = tmp_path / "other.pem"
    other.write_bytes(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    result = verify_cli(runner, "--public-key", str(other))
    assert result.exit_code == 1
    assert result.stderr == failure_text(
        None, f"checkpoint {checkpoint_id}: note carries no signature by the expected key"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a key at all", "the public key is not a PEM public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
    ],
)
def test_verify_refuses_an_unreadable_public_key_file(runner, tmp_path, content, message):
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    result = verify_cli(runner, "--public-key", str(path))
    assert result.exit_code == 1
    assert message in result.stderr


def test_verify_refuses_a_public_key_of_another_type(runner, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    result = verify_cli(runner, "--public-key", str(path))
    assert result.exit_code == 1
    assert result.stderr == "Error: the public key is not an Ed25519 key\n"


# --- verify through the API -------------------------------------------------------------------


def test_api_verify_returns_the_cli_result_and_records_the_verification(
    session, runner, client, auth
):
    headers = auth("auditor")
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    size, root = audit.tree_head(session)
    cli = verify_cli(runner)
    assert cli.stdout == (
        f"audit trail intact: {size} events, root {root.hex()}, 1 checkpoints verified\n"
        + NO_DISPOSITIONS
    )

    response = client.post("/api/v1/audit/verify", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "ok": True,
        "tree_size": size,
        "root_hash": root.hex(),
        "checkpoints_checked": 1,
        "first_bad_seq": None,
        "problem": None,
    }
    session.expire_all()
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None and last.action == "audit.verify" and last.seq == size + 1
    assert last.details == {"tree_size": size, "ok": True}


def test_api_verify_needs_the_audit_read_permission(client, auth, session):
    response = client.post("/api/v1/audit/verify", headers=auth("technician"))
    assert_denied(response, "technician")
    verified = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.verify"))
    assert verified.all() == []


def test_verify_notices_a_deleted_checkpoint_row(session, connection, runner):
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    checkpoint_id = latest_checkpoint_id(session)
    drop_append_only_triggers(connection)
    execute(connection, "DELETE FROM audit_checkpoint WHERE id = :id", id=checkpoint_id)
    result = verify_cli(runner)
    assert result.exit_code == 1
    assert f"checkpoint {checkpoint_id} was deleted (event 4 records its signing)" in result.stderr

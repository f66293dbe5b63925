"""`auditor users` and `auditor tokens`: the token alone on the last line, errors without traces."""

from __future__ import annotations

from sqlalchemy import select

from auditor.models import ApiToken, AuditEvent, User
from tests import factories
from tests.factories import assert_problem


def test_create_user_and_token_prints_the_token_last(runner, client, session):
    created = runner.invoke(
        args=[
            "users",
            "create",
            "Officer@MSP.example",
            "--name",
            "Morgan",
            "--role",
            "privacy_officer",
        ]
    )
    assert created.exit_code == 0, created.output
    result = runner.invoke(args=["tokens", "create", "officer@msp.example", "--days", "5"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("aud_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["user"]["email"] == "officer@msp.example"
    listed = runner.invoke(args=["tokens", "list"]).output
    assert token not in listed and token[:10] in listed


def test_revoke_by_id(runner, client, session):
    runner.invoke(args=["users", "create", "a@msp.example", "--name", "A", "--role", "admin"])
    token = (
        runner.invoke(args=["tokens", "create", "a@msp.example"]).output.strip().splitlines()[-1]
    )
    token_id = session.scalars(select(ApiToken.id)).one()
    result = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert result.exit_code == 0 and f"token {token_id} revoked" in result.output
    session.expire_all()
    assert session.get(ApiToken, token_id).revoked_at is not None
    revoked = session.scalars(select(AuditEvent).where(AuditEvent.action == "token.revoke")).one()
    assert revoked.object_id == str(token_id) and revoked.actor == runner.actor
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "unauthenticated", detail="The token has been revoked.")


def test_bad_input_exits_non_zero_with_a_message(runner, session):
    bad_email = runner.invoke(
        args=["users", "create", "not-an-email", "--name", "X", "--role", "admin"]
    )
    assert bad_email.exit_code == 1
    assert "Error: The user is not valid." in bad_email.output and "email:" in bad_email.output
    assert "Traceback" not in bad_email.output
    missing = runner.invoke(args=["tokens", "create", "ghost@msp.example"])
    assert missing.exit_code == 1 and "No user has that email address." in missing.output
    runner.invoke(args=["users", "create", "x@msp.example", "--name", "X", "--role", "admin"])
    duplicate = runner.invoke(
        args=["users", "create", "x@msp.example", "--name", "X", "--role", "admin"]
    )
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    assert session.scalars(select(User.email).order_by(User.id)).all() == [
        factories.OPERATOR_EMAIL,
        "x@msp.example",
    ]
    revoke = runner.invoke(args=["tokens", "revoke", "424242"])
    assert revoke.exit_code == 1 and "does not exist" in revoke.output


def test_set_role_and_deactivate(runner, session):
    runner.invoke(args=["users", "create", "t@msp.example", "--name", "T", "--role", "technician"])
    assert runner.invoke(args=["users", "set-role", "t@msp.example", "auditor"]).exit_code == 0
    runner.invoke(args=["tokens", "create", "t@msp.example"])
    assert runner.invoke(args=["users", "deactivate", "t@msp.example"]).exit_code == 0
    user = session.scalars(select(User).where(User.email == "t@msp.example")).one()
    assert (user.role, user.is_active) == ("auditor", False)
    assert all(t.revoked_at for t in session.scalars(select(ApiToken)))
    listed = runner.invoke(args=["users", "list"]).output
    assert "auditor" in listed and "deactivated" in listed


def test_set_password_hashes_with_argon2(runner, session):
    runner.invoke(args=["users", "create", "p@msp.example", "--name", "P", "--role", "admin"])
    result = runner.invoke(
        args=["users", "set-password", "p@msp.example"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    stored = select(User.password_hash).where(User.email == "p@msp.example")
    assert session.scalars(stored).one().startswith("$argon2id$")


def test_reset_mfa_clears_the_second_factor_ends_sessions_and_is_audited(runner, session):
    import datetime as dt

    from auditor.models import RecoveryCode, WebSession
    from auditor.services import mfa
    from tests.factories import web

    person = web.web_user(session, email="lost.phone@msp.example", enrolled=False)
    secret = mfa.new_secret()
    moment = dt.datetime.now(dt.UTC)
    code = web.code_at(secret, moment)
    mfa.enrol(
        session, person, secret, code, ring=factories.keyring(), actor=factories.ACTOR, now=moment
    )
    session.add(WebSession(id="a" * 64, user_id=person.id, data={}, mfa_at=moment))
    session.flush()
    result = runner.invoke(args=["users", "reset-mfa", "LOST.PHONE@msp.example"])
    assert result.exit_code == 0, result.output
    assert "enrol again at their next sign-in" in result.output
    session.expire_all()
    assert person.totp_secret is None and person.totp_enrolled_at is None
    assert (
        session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == person.id)).all() == []
    )
    assert session.scalars(select(WebSession).where(WebSession.user_id == person.id)).all() == []
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.reset")).one()
    assert event.actor == runner.actor and event.details["sessions_ended"] == 1


def test_reset_mfa_of_nobody_says_so_and_exits_1(runner, session):
    result = runner.invoke(args=["users", "reset-mfa", "nobody@msp.example"])
    assert result.exit_code == 1
    assert "No user has that email address." in result.output

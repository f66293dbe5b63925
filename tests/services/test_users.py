"""Users and roles (auditor/services/users.py): the service always keeps one active admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent, User
from auditor.schemas.users import UserUpdate
from auditor.services import users
from auditor.services.errors import Conflict
from tests import factories
from tests.factories import ACTOR, assert_problem

LAST = "This is the last active admin"


@pytest.mark.parametrize("change", [UserUpdate(role="auditor"), UserUpdate(is_active=False)])
def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(session, change):
    admin = factories.user(session, role="admin")
    factories.user(session, role="privacy_officer")
    with pytest.raises(Conflict, match=LAST):
        users.update_user(session, admin.id, change, actor=ACTOR)
    session.refresh(admin)
    assert (admin.role, admin.is_active) == ("admin", True)


def test_an_admin_can_step_down_once_another_admin_is_active(session):
    first, second = factories.user(session, role="admin"), factories.user(session, role="admin")
    users.update_user(session, first.id, UserUpdate(role="auditor"), actor=ACTOR)
    assert first.role == "auditor"
    with pytest.raises(Conflict, match=LAST):
        users.update_user(session, second.id, UserUpdate(is_active=False), actor=ACTOR)
    users.update_user(session, second.id, UserUpdate(name="Still admin"), actor=ACTOR)


def test_a_deactivated_admin_does_not_count(session):
    kept = factories.user(session, role="admin")
    gone = factories.user(session, role="admin")
    users.update_user(session, gone.id, UserUpdate(is_active=False), actor=ACTOR)
    with pytest.raises(Conflict, match=LAST):
        users.update_user(session, kept.id, UserUpdate(role="technician"), actor=ACTOR)


def test_the_api_answers_409_and_changes_nothing(client, session):
    for row in session.scalars(select(User).where(User.role == "admin")):
        row.role = "auditor"  # only the token's admin below
    token = factories.token(session, role="admin")
    session.commit()
    me = session.scalars(select(User).where(User.role == "admin")).one()
    headers = {"Authorization": f"Bearer {token}"}
    events = len(session.scalars(select(AuditEvent)).all())
    response = client.patch(f"/api/v1/users/{me.id}", headers=headers, json={"is_active": False})
    body = assert_problem(response, 409, "conflict")
    assert body["detail"].startswith(LAST)
    session.refresh(me)
    assert me.is_active and len(session.scalars(select(AuditEvent)).all()) == events


def test_the_cli_says_why_and_exits_1(runner, session):
    for row in session.scalars(select(User).where(User.role == "admin")):
        row.role = "auditor"
    admin = factories.user(session, role="admin", email="only.admin@msp.example")
    session.commit()
    runner.operator = "only.admin@msp.example"  # the last admin, deactivating themselves
    result = runner.invoke(args=["users", "deactivate", "only.admin@msp.example"])
    assert result.exit_code == 1
    assert LAST in result.output
    session.refresh(admin)
    assert admin.is_active

"""Who runs a command (auditor/cli/operator.py): a command that changes or discloses data names
an active user (``--as EMAIL`` or AUDITOR_OPERATOR), is held to that user's role as the API
would hold their token, and is recorded as that user with the OS account as ``details.via``.
Refusals are audited and change nothing."""

from __future__ import annotations

import getpass
from collections.abc import Iterator

import click
import pytest
from sqlalchemy import select

from auditor.cli.groups import ALL
from auditor.models import AuditEvent, Hold, User
from auditor.permissions import Permission, is_allowed
from tests import factories

PLACE = ["holds", "place", "--scope", "client", "--value", "acme", "--reason", "Litigation L-1"]
VIA = f"cli:{getpass.getuser()}"

#: the commands that name nobody: setup, infrastructure and the system's own jobs
UNNAMED = {
    "audit public-key",
    "db current",
    "db downgrade",
    "db upgrade",
    "demo load",
    "instance init",
    "keys generate",
    "keys status",
    "scheduler run",
    "scheduler run-once",
    "scheduler status",
}


def commands(group: click.Group, path: str) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


EVERY = {path: command for group in ALL for path, command in commands(group, group.name or "")}


def events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_every_command_but_setup_takes_an_operator():
    """A new command must choose: it names its operator, or it joins the list above."""
    named = {path for path, command in EVERY.items() if "operator" in command_params(command)}
    assert set(EVERY) - named == UNNAMED


def command_params(command: click.Command) -> set[str]:
    return {param.name for param in command.params if param.name}


def test_a_change_with_nobody_named_is_refused_and_writes_nothing(runner, inventory, session):
    runner.operator = None
    before = len(list(session.scalars(select(AuditEvent))))
    result = runner.invoke(args=PLACE)
    assert result.exit_code == 1
    assert "'auditor holds place' changes or discloses data" in result.output
    assert "--as EMAIL or AUDITOR_OPERATOR" in result.output
    assert session.scalars(select(Hold)).all() == []
    assert len(list(session.scalars(select(AuditEvent)))) == before


def test_the_named_user_is_recorded_with_the_os_account(runner, inventory, session):
    result = runner.invoke(args=PLACE)
    assert result.exit_code == 0, result.output
    hold = session.scalars(select(Hold)).one()
    assert hold.created_by == runner.actor
    (event,) = events(session, "hold.place")
    assert event.actor == runner.actor and event.details["via"] == VIA


def test_as_names_the_user_over_the_environment(runner, inventory, session):
    officer = factories.user(session, role="privacy_officer", email="po@msp.example")
    session.commit()
    result = runner.invoke(args=[*PLACE, "--as", "PO@msp.example"])  # emails ignore case
    assert result.exit_code == 0, result.output
    assert session.scalars(select(Hold)).one().created_by == f"user:{officer.id}"


@pytest.mark.parametrize("active", [False, None], ids=["deactivated", "unknown"])
def test_an_unknown_or_deactivated_user_is_refused_and_the_attempt_audited(
    runner, inventory, session, active
):
    email = "gone@msp.example"
    if active is False:
        gone = factories.user(session, role="admin", email=email)
        gone.is_active = False
        session.commit()
    result = runner.invoke(args=[*PLACE, "--as", email])
    assert result.exit_code == 1
    assert "No active user has the email given with --as or AUDITOR_OPERATOR." in result.output
    assert email not in result.output and "Traceback" not in result.output
    assert session.scalars(select(Hold)).all() == []
    (event,) = events(session, "auth.operator")
    assert (event.actor, event.outcome) == (VIA, "failure")
    assert event.details == {"reason": "no active user has that email", "command": "holds place"}


def test_a_role_without_the_permission_is_refused_and_the_refusal_audited(
    runner, inventory, session
):
    reader = factories.user(session, role="auditor", email="reader@msp.example")
    session.commit()
    result = runner.invoke(args=[*PLACE, "--as", "reader@msp.example"])
    assert result.exit_code == 1
    assert (
        "The role 'auditor' may not run 'auditor holds place' (it needs holds:manage)."
        in result.output
    )
    assert session.scalars(select(Hold)).all() == []
    (event,) = events(session, "access.denied")
    assert event.actor == f"user:{reader.id}" and event.outcome == "denied"
    assert event.details == {"permission": "holds:manage", "command": "holds place", "via": VIA}


def test_the_cli_applies_the_api_role_matrix(runner, session):
    """Technicians record their searches but may not see a request's requester; officers
    manage requests but not the vault's keys."""
    factories.user(session, role="technician", email="tech@msp.example")
    factories.user(session, role="privacy_officer", email="po@msp.example")
    session.commit()
    shown = runner.invoke(args=["requests", "show", "DSR-X", "--as", "tech@msp.example"])
    assert "may not run 'auditor requests show' (it needs requests:manage)" in shown.output
    task = runner.invoke(
        args=["requests", "task", "DSR-X", "1", "--searched", "--as", "tech@msp.example"]
    )
    assert task.exit_code == 1 and "may not run" not in task.output  # allowed, but no such
    assert "DSR-X" in task.output or "request" in task.output.lower()  # request exists
    rotate = runner.invoke(args=["keys", "rotate", "--as", "po@msp.example"])
    assert "may not run 'auditor keys rotate' (it needs keys:manage)" in rotate.output
    assert is_allowed("technician", Permission.REQUESTS_TASKS)


def test_a_read_names_nobody_or_the_named_user_held_to_the_matrix(runner, session):
    runner.operator = None
    unnamed = runner.invoke(args=["users", "list"])
    assert unnamed.exit_code == 0 and factories.OPERATOR_EMAIL in unnamed.output
    factories.user(session, role="technician", email="tech@msp.example")
    session.commit()
    named = runner.invoke(args=["users", "list", "--as", "tech@msp.example"])
    assert named.exit_code == 1
    assert "may not run 'auditor users list' (it needs users:manage)" in named.output


def test_the_first_admin_is_created_unnamed_and_only_the_first(runner, session):
    runner.operator = None
    session.delete(session.scalars(select(User)).one())  # no user at all: a fresh install
    session.commit()
    create = ["users", "create", "first@msp.example", "--name", "First", "--role", "admin"]
    first = runner.invoke(args=create)
    assert first.exit_code == 0, first.output
    (event,) = events(session, "user.create")
    assert event.actor == VIA and "via" not in event.details
    second = runner.invoke(
        args=["users", "create", "two@msp.example", "--name", "Two", "--role", "admin"]
    )
    assert second.exit_code == 1 and "changes or discloses data" in second.output
    assert session.scalars(select(User.email)).all() == ["first@msp.example"]


def test_a_named_technician_reaches_only_the_vaults_they_are_granted(
    runner, session, inventory, tmp_path
):
    """Unnamed, the command line reached every vault; a named technician has their grants."""
    from auditor.models import Secret

    tech = factories.user(session, role="technician", email="tech@msp.example")
    session.commit()
    path = tmp_path / "bitwarden.csv"
    path.write_text("name,login_username,login_password\nFirewall,admin,Fw-Pa55\n")
    as_tech = ["vault", "import", "acme", str(path), "--as", "tech@msp.example"]
    refused = runner.invoke(args=as_tech)
    assert refused.exit_code == 1 and "no access to this client's vault" in refused.output
    assert session.scalars(select(Secret)).all() == []
    (denied,) = events(session, "vault.access_denied")
    assert denied.actor == f"user:{tech.id}" and denied.details["via"] == VIA
    granted = runner.invoke(args=["vault", "grant", "tech@msp.example", "acme"])
    assert granted.exit_code == 0, granted.output
    imported = runner.invoke(args=as_tech)
    assert imported.exit_code == 0, imported.output
    assert len(session.scalars(select(Secret)).all()) == 1

"""`auditor holds`: place, list, show and release from the command line, audited."""

from __future__ import annotations

from sqlalchemy import select

from auditor.models import AuditEvent, Hold


def test_place_list_show_release(runner, inventory, session):
    placed = runner.invoke(
        args=[
            "holds", "place", "--scope", "system", "--value", "siem",
            "--kind", "breach", "--reason", "Logs of breach BR-7", "--reference", "BR-7",
        ]
    )  # fmt: skip
    assert placed.exit_code == 0, placed.output
    hold = session.scalars(select(Hold)).one()
    assert f"hold {hold.id} placed: breach on system siem" in placed.output
    assert hold.created_by == runner.actor

    listed = runner.invoke(args=["holds", "list", "--status", "active"])
    assert listed.exit_code == 0, listed.output
    assert "active" in listed.output and "breach" in listed.output
    assert "system:siem [BR-7]" in listed.output

    released = runner.invoke(args=["holds", "release", str(hold.id), "--reason", "Closed"])
    assert released.exit_code == 0, released.output
    assert f"hold {hold.id} released by {runner.actor}" in released.output

    shown = runner.invoke(args=["holds", "show", str(hold.id)])
    assert "reason: Logs of breach BR-7" in shown.output
    assert "release reason: Closed" in shown.output
    assert runner.invoke(args=["holds", "list", "--status", "active"]).output == "no holds\n"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("hold.%")).order_by(AuditEvent.seq)
    ).all()
    assert actions == ["hold.place", "hold.release"]


def test_errors_exit_1_and_change_nothing(runner, inventory, session):
    unknown = runner.invoke(
        args=["holds", "place", "--scope", "client", "--value", "nobody", "--reason", "x"]
    )
    assert unknown.exit_code == 1
    assert "value: no organization with that code" in unknown.output
    assert session.scalars(select(Hold)).all() == []
    blank = runner.invoke(
        args=["holds", "place", "--scope", "client", "--value", "acme", "--reason", " "]
    )
    assert blank.exit_code == 1 and "reason:" in blank.output
    missing = runner.invoke(args=["holds", "release", "999999", "--reason", "x"])
    assert missing.exit_code == 1 and "No hold with that id." in missing.output
    assert runner.invoke(args=["holds", "show", "999999"]).exit_code == 1


def test_second_release_is_refused(runner, inventory):
    runner.invoke(args=["holds", "place", "--scope", "client", "--value", "acme", "--reason", "x"])
    listed = runner.invoke(args=["holds", "list"]).output
    hold_id = listed.split()[0]
    assert runner.invoke(args=["holds", "release", hold_id, "--reason", "a"]).exit_code == 0
    again = runner.invoke(args=["holds", "release", hold_id, "--reason", "b"])
    assert again.exit_code == 1 and "already released" in again.output

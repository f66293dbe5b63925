"""`auditor requests`: open, list, show, verify, tasks, extend, fee, answer, complaint, link,
attach from the command line; bad input exits 1 with a message and writes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from auditor.models import AuditEvent, Hold, PrivacyRequest, RequestDocument
from tests import factories

EMAIL = "amelie.tremblay@acme.example"


def ago(days: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


def open_args(*extra: str) -> list[str]:
    return [
        "requests", "open", "--type", "access", "--channel", "email",
        "--requester-name", "Amélie Tremblay", "--requester-contact", "amelie@home.example",
        "--email", EMAIL, "--text", "Send me my data", *extra,
    ]  # fmt: skip


def only_request(session) -> PrivacyRequest:
    return session.scalars(select(PrivacyRequest)).one()


def test_open_work_and_answer_a_request(runner, session, inventory, tmp_path):
    subject = factories.subject(session, email=EMAIL, organization="acme")
    opened = runner.invoke(args=open_args("--received-at", ago(2)))
    assert opened.exit_code == 0, opened.output
    request = only_request(session)
    assert f"request {request.reference} opened: access, due " in opened.output
    assert f"subject: {subject.ref}; tasks: 3" in opened.output
    assert "Amélie" not in opened.output
    assert request.created_by == runner.actor
    ref = request.reference

    listed = runner.invoke(args=["requests", "list", "--status", "received"])
    assert listed.exit_code == 0 and ref in listed.output and "28 day(s) left" in listed.output
    assert "tasks 3/3 open" in listed.output

    verified = runner.invoke(args=["requests", "verify", ref, "--method", "account_login"])
    assert verified.exit_code == 0, verified.output
    assert "in_progress" in verified.output

    for task in request.tasks:
        done = runner.invoke(
            args=["requests", "task", ref, str(task.id), "--searched", "--found",
                  "--action", "unmodified:ticket history", "--close"]
        )  # fmt: skip
        assert done.exit_code == 0, done.output
        assert f"task {task.id} ({task.system.code}) of {ref}: closed" in done.output
    letter = tmp_path / "response.txt"
    letter.write_text("Here is your data.", encoding="utf-8")
    attached = runner.invoke(args=["requests", "attach", ref, str(letter), "--kind", "response"])
    assert attached.exit_code == 0, attached.output
    answered = runner.invoke(args=["requests", "transition", ref, "completed", "--note", "Sent"])
    assert answered.exit_code == 0, answered.output
    assert "completed" in answered.output and "deadline met" in answered.output

    shown = runner.invoke(args=["requests", "show", ref])
    assert shown.exit_code == 0, shown.output
    assert "requester: Amélie Tremblay <amelie@home.example>" in shown.output
    assert f"identifier: email {EMAIL}" in shown.output
    assert f"verified: account_login by {runner.actor}" in shown.output
    assert shown.output.count(" closed ") == 3
    assert "response text/plain 18 B" in shown.output

    complaint = runner.invoke(args=["requests", "complaint", ref, "--at", ago(0.01)])
    assert complaint.exit_code == 0, complaint.output
    assert session.scalars(select(Hold)).one().open_ended
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == ref).order_by(AuditEvent.seq)
    ).all()
    assert actions[0] == "request.open" and "request.complaint" in actions
    assert actions.count("request.task_update") == 3


def test_bad_input_exits_1_and_writes_nothing(runner, session, inventory):
    future = runner.invoke(args=open_args("--received-at", "2999-01-01T00:00:00Z"))
    assert future.exit_code == 1
    assert "received_at: is in the future" in future.output
    naive = runner.invoke(args=open_args("--received-at", "2026-01-01T00:00:00"))
    assert naive.exit_code == 1 and "received_at" in naive.output
    portability = runner.invoke(args=open_args("--type", "portability"))
    assert portability.exit_code == 1
    assert "Portability (R30) is available only for a Québec-flagged" in portability.output
    unknown = runner.invoke(args=["requests", "show", "PR-1999-00001"])
    assert unknown.exit_code == 1 and "No privacy request with that reference." in unknown.output
    assert session.scalars(select(PrivacyRequest)).all() == []
    assert session.scalars(select(RequestDocument)).all() == []
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action.like("request.%"))).all() == []
    )


def test_workflow_refusals_exit_1(runner, session, inventory):
    assert runner.invoke(args=open_args("--received-at", ago(35))).exit_code == 0
    request = only_request(session)
    ref = request.reference
    late = runner.invoke(
        args=["requests", "extend", ref, "--reason", "consultations_needed",
              "--new-due", (request.original_due_at + dt.timedelta(days=10)).isoformat(),
              "--notice-sent-at", ago(1), "--notice-text", "More time", "--opc-statement"]
    )  # fmt: skip
    assert late.exit_code == 1
    assert "notice_sent_at: sent after day 30" in late.output
    no_opc = runner.invoke(
        args=["requests", "extend", ref, "--reason", "consultations_needed",
              "--new-due", (request.original_due_at + dt.timedelta(days=10)).isoformat(),
              "--notice-sent-at", (request.original_due_at - dt.timedelta(days=1)).isoformat(),
              "--notice-text", "More time"]
    )  # fmt: skip
    assert no_opc.exit_code == 1 and "opc_statement" in no_opc.output
    session.refresh(request)
    assert request.extended_at is None
    fee = runner.invoke(args=["requests", "fee", ref, "--amount", "10"])
    assert fee.exit_code == 1 and "(R5)" in fee.output
    refuse = runner.invoke(args=["requests", "transition", ref, "refused"])
    assert refuse.exit_code == 1 and "grounds: a refusal needs at least one ground" in refuse.output
    unverified = runner.invoke(args=["requests", "transition", ref, "in_progress"])
    assert unverified.exit_code == 0
    complete = runner.invoke(args=["requests", "transition", ref, "completed"])
    assert complete.exit_code == 1 and "is not verified" in complete.output
    bad_action = runner.invoke(
        args=["requests", "task", ref, str(request.tasks[0].id), "--action", "deleted"]
    )
    assert bad_action.exit_code == 2 and "ACTION:ELEMENT" in bad_action.output
    refused = runner.invoke(
        args=["requests", "transition", ref, "refused", "--ground", "investigation_of_breach",
              "--reasons", "An investigation of a breach of contract is under way."]
    )  # fmt: skip
    assert refused.exit_code == 0, refused.output
    session.refresh(request)
    assert request.refusal_grounds == ["investigation_of_breach"]
    listed = runner.invoke(args=["requests", "list", "--overdue"])
    assert listed.output == "no requests\n"


def test_link_a_subject_and_list_overdue(runner, session, inventory):
    subject = factories.subject(session, email="other@acme.example", organization="acme")
    assert runner.invoke(args=open_args("--received-at", ago(40))).exit_code == 0
    ref = only_request(session).reference
    overdue = runner.invoke(args=["requests", "list", "--overdue"])
    assert ref in overdue.output and "OVERDUE by 10 day(s): deemed refused" in overdue.output
    linked = runner.invoke(args=["requests", "link", ref, subject.ref])
    assert linked.exit_code == 0, linked.output
    assert session.scalars(select(Hold)).one().scope_value == subject.ref
    again = runner.invoke(args=["requests", "link", ref, subject.ref])
    assert again.exit_code == 1 and "already linked" in again.output


def test_override_searches_records_the_reason_and_says_it(runner, session, inventory):
    from tests.factories import scenario

    request = scenario(session, searched=False).request
    session.commit()
    short = runner.invoke(
        args=["requests", "override-searches", request.reference, "--reason", "no"]
    )
    assert short.exit_code == 1 and "reason" in short.output
    reason = "Systems without personal data: see the data map, 2026 review."
    done = runner.invoke(
        args=["requests", "override-searches", request.reference, "--reason", reason]
    )
    assert done.exit_code == 0, done.output
    assert request.reference in done.output
    session.refresh(request)
    assert request.searches_override_reason == reason


def test_a_technician_updates_the_tasks_of_their_clients_requests_only(runner, session, inventory):
    factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    request = factories.open_request(session)
    task_id = request.tasks[0].id
    technician = factories.user(session, role="technician", email="tech@msp.example")
    session.commit()
    runner.operator = "tech@msp.example"
    args = ["requests", "task", request.reference, str(task_id), "--searched", "--not-found"]
    refused = runner.invoke(args=args)
    assert refused.exit_code == 1
    assert "You have no access to this client's requests." in refused.output
    assert "Traceback" not in refused.output
    session.expire_all()
    assert request.tasks[0].searched_at is None
    assert request.reference not in runner.invoke(args=["requests", "list"]).output
    factories.grant(session, technician, "acme")
    session.commit()
    done = runner.invoke(args=args)
    assert done.exit_code == 0, done.output
    assert request.reference in runner.invoke(args=["requests", "list"]).output

"""``auditor requests``: open privacy requests and take them through verification, tasks,
extension, fee, answer or refusal, and complaints (R1-R9, R29, R30)."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import ROW_ID, choice, command
from auditor.db import utcnow
from auditor.permissions import Permission
from auditor.schemas.common import parse
from auditor.schemas.requests import (
    Channel,
    ComplaintIn,
    DocumentIn,
    DocumentKind,
    ExtensionIn,
    ExtensionReason,
    FeeIn,
    RefusalGround,
    RequestIn,
    RequestOut,
    RequestQuery,
    RequestStatus,
    RequestType,
    RespondTo,
    SearchesOverrideIn,
    TaskUpdate,
    TransitionIn,
    VerificationIn,
    VerificationMethod,
)
from auditor.services import requests as requests_service
from auditor.services.context import Actor
from auditor.services.requests import scope

PAGE = 500


def line(out: RequestOut) -> str:
    """One request on one line, with no personal data."""
    if out.deemed_refused:
        clock = f"OVERDUE by {-out.days_left} day(s): deemed refused"
    elif out.closed_at is None:
        clock = f"{out.days_left} day(s) left"
    else:
        clock = "deadline met" if out.deadline_met else "answered late"
    tasks = out.tasks_summary
    return (
        f"{out.reference}  {out.status:17} {out.type:18} due {out.due_at:%Y-%m-%d}  {clock}"
        f"  tasks {tasks.open}/{tasks.total} open"
    )


def _file(path: str, media_type: str | None) -> dict[str, Any]:
    data = Path(path).read_bytes()
    guessed = media_type or mimetypes.guess_type(path)[0] or "application/octet-stream"
    return {
        "media_type": guessed,
        "content_base64": base64.b64encode(data).decode("ascii"),
        "filename": Path(path).name,
    }


def _text(text: str | None, path: str | None) -> str | None:
    return Path(path).read_text(encoding="utf-8") if path else text


@command(groups.requests, "open", needs=Permission.REQUESTS_MANAGE)
@click.option("--type", "type_", required=True, type=choice(RequestType))
@click.option("--channel", required=True, type=choice(Channel))
@click.option("--requester-name", required=True)
@click.option("--requester-contact", required=True, help="email, phone or postal address")
@click.option("--received-at", help="ISO time with zone (default: now)")
@click.option("--email", "emails", multiple=True, help="the subject's email (repeatable)")
@click.option("--phone", "phones", multiple=True, help="the subject's phone (repeatable)")
@click.option("--subject", help="the data subject's ref, when known")
@click.option("--text", help="the written request")
@click.option("--text-file", type=click.Path(exists=True, dir_okay=False), help="... from a file")
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False), help="a document")
@click.option("--media-type", help="the document's media type (default: from its name)")
@click.option("--forwarded-by", help="the client (organization code) that forwarded it")
@click.option("--instructions", help="the client's instructions")
@click.option("--respond-to", type=choice(RespondTo))
@click.option("--reference", help="the requester's or client's own reference")
def open_(session: Session, actor: Actor, type_: str, **options: Any) -> None:
    """Open a privacy request: due in 30 days, one task per system, recourse hold if the subject
    is known. Prints the new reference."""
    identifiers = [{"kind": "email", "value": e} for e in options["emails"]] + [
        {"kind": "phone", "value": p} for p in options["phones"]
    ]
    raw = {
        "type": type_,
        "channel": options["channel"],
        "received_at": options["received_at"] or utcnow().isoformat(),
        "requester_name": options["requester_name"],
        "requester_contact": options["requester_contact"],
        "identifiers": identifiers,
        "subject": options["subject"],
        "request_text": _text(options["text"], options["text_file"]),
        "document": _file(options["file_"], options["media_type"]) if options["file_"] else None,
        "forwarded_by": options["forwarded_by"],
        "client_instructions": options["instructions"],
        "respond_to": options["respond_to"],
        "external_reference": options["reference"],
    }
    data = parse(RequestIn, {k: v for k, v in raw.items() if v is not None}, what="request")
    request = requests_service.open_request(session, data, actor=actor)
    session.commit()
    subject = request.subject.ref if request.subject else "not resolved (link it later)"
    click.echo(f"request {request.reference} opened: {request.type}, due {request.due_at:%Y-%m-%d}")
    click.echo(f"subject: {subject}; tasks: {len(request.tasks)}")


@command(groups.requests, "list", reads=Permission.REQUESTS_READ)
@click.option("--status", type=choice(RequestStatus))
@click.option("--type", "type_", type=choice(RequestType))
@click.option("--overdue/--not-overdue", default=None, help="only overdue (or not) requests")
def list_(
    session: Session, actor: Actor, status: str | None, type_: str | None, overdue: bool | None
) -> None:
    """List requests (every page), oldest first, with their deadlines (a technician named with
    --as: the requests of their clients)."""
    query = parse(
        RequestQuery, {"status": status, "type": type_, "overdue": overdue}, what="filter"
    )
    after, shown = None, 0
    clients = scope.visible_clients(session, actor)
    while True:
        page = requests_service.list_requests(
            session,
            status=query.status,
            type=query.type,
            overdue=query.overdue,
            after=after,
            limit=PAGE,
            clients=clients,
        )
        for out in requests_service.requests_out(session, page):
            click.echo(line(out))
        shown += len(page)
        if len(page) < PAGE:
            break
        after = page[-1].id
    if not shown:
        click.echo("no requests")


@command(groups.requests, "show", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
def show(session: Session, actor: Actor, reference: str) -> None:
    """Show a request with its requester, tasks and documents (audited)."""
    request = requests_service.read_request(
        session, reference, actor=actor, requester=True, identifiers=True
    )
    out = requests_service.request_detail(request, requester=True, identifiers=True)
    session.commit()
    click.echo(line(out))
    if out.requester:
        click.echo(f"requester: {out.requester.name} <{out.requester.contact}>")
    for item in out.identifiers or []:
        click.echo(f"identifier: {item['kind']} {item['value']}")
    click.echo(f"subject: {out.subject or 'not linked'}; respond to: {out.respond_to}")
    if out.forwarded_by:
        click.echo(f"forwarded by: {out.forwarded_by}; instructions: {out.client_instructions}")
    if out.verification:
        v = out.verification
        click.echo(f"verified: {v.method} by {v.verified_by} at {v.verified_at:%Y-%m-%d %H:%M}")
    if out.extension:
        click.echo(f"extended: {out.extension.reason} to {out.extension.new_due_at:%Y-%m-%d}")
    if out.refusal_grounds:
        click.echo(f"refusal grounds: {', '.join(out.refusal_grounds)}")
    for task in out.tasks:
        state = "closed" if task.closed_at else "open"
        found = {True: "found", False: "nothing found", None: "not searched"}[task.found]
        marker = " (holds records)" if task.holds_records else ""
        click.echo(f"  task {task.id:>5} {task.system:12} {state:6} {found}{marker}")
    for doc in out.documents:
        click.echo(f"  document {doc.id}: {doc.kind} {doc.media_type} {doc.size} B {doc.sha256}")


def _done(session: Session, request: Any) -> None:
    """Commit, then show the request's new state (nothing is shown that was not recorded)."""
    session.commit()
    click.echo(line(requests_service.request_out(request)))


@command(groups.requests, "verify", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--method", required=True, type=choice(VerificationMethod))
@click.option("--note")
@click.option("--at", help="when it was verified (ISO time with zone; default now)")
def verify(
    session: Session, actor: Actor, reference: str, method: str, note: str | None, at: str | None
) -> None:
    """Record the identity verification of the requester."""
    raw = {"method": method, "note": note, "verified_at": at}
    data = parse(VerificationIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(session, requests_service.verify(session, reference, data, actor=actor))


@command(groups.requests, "transition", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.argument("to", type=choice(RequestStatus))
@click.option("--ground", "grounds", multiple=True, type=choice(RefusalGround))
@click.option("--reasons", help="the reasons of a refusal (R7)")
@click.option("--note")
@click.option("--at", help="when (ISO time with zone; default now)")
def transition(
    session: Session,
    actor: Actor,
    reference: str,
    to: str,
    grounds: tuple[str, ...],
    **options: Any,
) -> None:
    """Move a request to TO: verifying, in_progress, completed, partially_refused, refused,
    withdrawn."""
    raw = {"to": to, "grounds": list(grounds), **options}
    data = parse(TransitionIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(session, requests_service.transition(session, reference, data, actor=actor))


@command(groups.requests, "extend", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--reason", required=True, type=choice(ExtensionReason))
@click.option("--new-due", required=True, help="the new due date (ISO time with zone)")
@click.option("--notice-sent-at", required=True, help="when the notice was sent")
@click.option("--notice-text", help="the notice as sent")
@click.option("--notice-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--opc-statement", is_flag=True, help="the notice states the right to complain")
def extend(session: Session, actor: Actor, reference: str, **options: Any) -> None:
    """Record the one extension (R2/R3) and its notice; never for Québec (R29)."""
    raw = {
        "reason": options["reason"],
        "new_due_at": options["new_due"],
        "notice_sent_at": options["notice_sent_at"],
        "notice_text": _text(options["notice_text"], options["notice_file"]),
        "opc_statement": options["opc_statement"],
    }
    data = parse(ExtensionIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(session, requests_service.extend(session, reference, data, actor=actor))


@command(groups.requests, "fee", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--amount", required=True, help="CAD, e.g. 25.00")
@click.option("--estimate-sent-at", help="when the cost estimate was sent")
@click.option("--confirmed-at", help="when the individual confirmed the request stands")
def fee(session: Session, actor: Actor, reference: str, amount: str, **options: Any) -> None:
    """Record a fee (R5): needs the estimate and the confirmation."""
    raw = {"amount": amount, **options}
    data = parse(FeeIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(session, requests_service.record_fee(session, reference, data, actor=actor))


@command(groups.requests, "complaint", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--at", "complaint_at", required=True, help="when the complaint was made")
@click.option("--note")
def complaint(
    session: Session, actor: Actor, reference: str, complaint_at: str, note: str | None
) -> None:
    """Record a complaint to the OPC: the recourse hold becomes open-ended (R9)."""
    raw = {"complaint_at": complaint_at, "note": note}
    data = parse(ComplaintIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(session, requests_service.record_complaint(session, reference, data, actor=actor))


@command(groups.requests, "override-searches", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--reason", required=True, help="why the answer may go now (20 characters or more)")
def override_searches(session: Session, actor: Actor, reference: str, reason: str) -> None:
    """Answer REFERENCE although search tasks are open: record the officer's reason."""
    data = parse(SearchesOverrideIn, {"reason": reason}, what="override")
    request = requests_service.override_open_searches(session, reference, data, actor=actor)
    _done(session, request)


@command(groups.requests, "link", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.argument("subject_ref")
def link(session: Session, actor: Actor, reference: str, subject_ref: str) -> None:
    """Link the request to data subject SUBJECT_REF (places the recourse hold)."""
    _done(session, requests_service.link_subject(session, reference, subject_ref, actor=actor))


def _actions(values: tuple[str, ...]) -> list[dict[str, str]]:
    actions = []
    for value in values:
        action, _, element = value.partition(":")
        if not element:
            raise click.BadParameter(f"{value!r}: use ACTION:ELEMENT", param_hint="--action")
        actions.append({"action": action.strip(), "element": element.strip()})
    return actions


@command(groups.requests, "task", needs=Permission.REQUESTS_TASKS)
@click.argument("reference")
@click.argument("task_id", type=ROW_ID)
@click.option("--searched/--not-searched", default=None)
@click.option("--found/--not-found", default=None)
@click.option(
    "--action", "actions", multiple=True, help="ACTION:ELEMENT, e.g. 'deleted:ticket contact'"
)
@click.option("--note")
@click.option("--close/--reopen", default=None)
def task(
    session: Session,
    actor: Actor,
    reference: str,
    task_id: int,
    actions: tuple[str, ...],
    **options: Any,
) -> None:
    """Record the search of one system: searched, found, actions; close or reopen the task."""
    raw: dict[str, Any] = {
        "searched": options["searched"],
        "found": options["found"],
        "note": options["note"],
        "closed": options["close"],
    }
    if actions:
        raw["actions"] = _actions(actions)
    data = parse(TaskUpdate, {k: v for k, v in raw.items() if v is not None}, what="input")
    # a technician updates the tasks of their clients' requests only (as in the API)
    scope.require_visible(session, requests_service.get_request(session, reference), actor)
    updated = requests_service.update_task(session, reference, task_id, data, actor=actor)
    session.commit()
    out = requests_service.task_out(updated)
    state = "closed" if out.closed_at else "open"
    click.echo(f"task {out.id} ({out.system}) of {reference}: {state}, found={out.found}")


@command(groups.requests, "attach", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", default="correspondence", type=choice(DocumentKind))
@click.option("--media-type", help="default: from the file name")
def attach(
    session: Session, actor: Actor, reference: str, path: str, kind: str, media_type: str | None
) -> str:
    """Add a document to the request's file."""
    data = parse(DocumentIn, {"kind": kind, **_file(path, media_type)}, what="document")
    document = requests_service.attach_document(session, reference, data, actor=actor)
    return f"document {document.id} added to {reference}: {document.size} B {document.sha256}"

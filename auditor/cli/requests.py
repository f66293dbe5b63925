"""``auditor requests``: open privacy requests and take them through verification, tasks,
extension, fee, answer or refusal, and complaints (R1-R9, R29, R30)."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from auditor.cli.common import handle_errors, session
from auditor.db import utcnow
from auditor.models.requests import CHANNELS, DOCUMENT_KINDS, STATUSES, TYPES
from auditor.schemas.common import parse
from auditor.schemas.requests import (
    ComplaintIn,
    DocumentIn,
    ExtensionIn,
    FeeIn,
    RequestIn,
    RequestOut,
    RequestQuery,
    TaskUpdate,
    TransitionIn,
    VerificationIn,
)
from auditor.services import requests as requests_service
from auditor.services.context import Actor

GROUNDS = (
    "third_party_information",
    "solicitor_client_privilege",
    "confidential_commercial_information",
    "threat_to_life_or_security",
    "investigation_of_breach",
    "formal_dispute_resolution",
)
METHODS = (
    "matched_known_contact",
    "government_id_sighted",
    "client_confirmed",
    "account_login",
    "other",
)
REASONS = ("unreasonable_interference", "consultations_needed", "alternative_format")
PAGE = 500


@click.group(cls=AppGroup)
def requests() -> None:
    """Privacy requests: access, correction, deletion, consent withdrawal, portability."""


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


@requests.command("open")
@click.option("--type", "type_", required=True, type=click.Choice(TYPES))
@click.option("--channel", required=True, type=click.Choice(CHANNELS))
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
@click.option("--respond-to", type=click.Choice(["individual", "client"]))
@click.option("--reference", help="the requester's or client's own reference")
@handle_errors
def open_(type_: str, **options: Any) -> None:
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
    db = session()
    request = requests_service.open_request(db, data, actor=Actor.cli())
    db.commit()
    subject = request.subject.ref if request.subject else "not resolved (link it later)"
    click.echo(f"request {request.reference} opened: {request.type}, due {request.due_at:%Y-%m-%d}")
    click.echo(f"subject: {subject}; tasks: {len(request.tasks)}")


@requests.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--type", "type_", type=click.Choice(TYPES))
@click.option("--overdue/--not-overdue", default=None, help="only overdue (or not) requests")
@handle_errors
def list_(status: str | None, type_: str | None, overdue: bool | None) -> None:
    """List requests (every page), oldest first, with their deadlines."""
    query = parse(
        RequestQuery, {"status": status, "type": type_, "overdue": overdue}, what="filter"
    )
    db = session()
    after, shown = None, 0
    while True:
        page = requests_service.list_requests(
            db, status=query.status, type=query.type, overdue=query.overdue, after=after, limit=PAGE
        )
        for item in page:
            click.echo(line(requests_service.request_out(item)))
        shown += len(page)
        if len(page) < PAGE:
            break
        after = page[-1].id
    if not shown:
        click.echo("no requests")


@requests.command("show")
@click.argument("reference")
@handle_errors
def show(reference: str) -> None:
    """Show a request with its requester, tasks and documents (audited)."""
    db = session()
    request = requests_service.read_request(
        db, reference, actor=Actor.cli(), requester=True, identifiers=True
    )
    out = requests_service.request_detail(request, requester=True, identifiers=True)
    db.commit()
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


def _done(request: Any) -> None:
    session().commit()
    click.echo(line(requests_service.request_out(request)))


@requests.command("verify")
@click.argument("reference")
@click.option("--method", required=True, type=click.Choice(METHODS))
@click.option("--note")
@click.option("--at", help="when it was verified (ISO time with zone; default now)")
@handle_errors
def verify(reference: str, method: str, note: str | None, at: str | None) -> None:
    """Record the identity verification of the requester."""
    raw = {"method": method, "note": note, "verified_at": at}
    data = parse(VerificationIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(requests_service.verify(session(), reference, data, actor=Actor.cli()))


@requests.command("transition")
@click.argument("reference")
@click.argument("to", type=click.Choice(STATUSES))
@click.option("--ground", "grounds", multiple=True, type=click.Choice(GROUNDS))
@click.option("--reasons", help="the reasons of a refusal (R7)")
@click.option("--note")
@click.option("--at", help="when (ISO time with zone; default now)")
@handle_errors
def transition(reference: str, to: str, grounds: tuple[str, ...], **options: Any) -> None:
    """Move a request to TO: verifying, in_progress, completed, partially_refused, refused,
    withdrawn."""
    raw = {"to": to, "grounds": list(grounds), **options}
    data = parse(TransitionIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(requests_service.transition(session(), reference, data, actor=Actor.cli()))


@requests.command("extend")
@click.argument("reference")
@click.option("--reason", required=True, type=click.Choice(REASONS))
@click.option("--new-due", required=True, help="the new due date (ISO time with zone)")
@click.option("--notice-sent-at", required=True, help="when the notice was sent")
@click.option("--notice-text", help="the notice as sent")
@click.option("--notice-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--opc-statement", is_flag=True, help="the notice states the right to complain")
@handle_errors
def extend(reference: str, **options: Any) -> None:
    """Record the one extension (R2/R3) and its notice; never for Québec (R29)."""
    raw = {
        "reason": options["reason"],
        "new_due_at": options["new_due"],
        "notice_sent_at": options["notice_sent_at"],
        "notice_text": _text(options["notice_text"], options["notice_file"]),
        "opc_statement": options["opc_statement"],
    }
    data = parse(ExtensionIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(requests_service.extend(session(), reference, data, actor=Actor.cli()))


@requests.command("fee")
@click.argument("reference")
@click.option("--amount", required=True, help="CAD, e.g. 25.00")
@click.option("--estimate-sent-at", help="when the cost estimate was sent")
@click.option("--confirmed-at", help="when the individual confirmed the request stands")
@handle_errors
def fee(reference: str, amount: str, **options: Any) -> None:
    """Record a fee (R5): needs the estimate and the confirmation."""
    raw = {"amount": amount, **options}
    data = parse(FeeIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(requests_service.record_fee(session(), reference, data, actor=Actor.cli()))


@requests.command("complaint")
@click.argument("reference")
@click.option("--at", "complaint_at", required=True, help="when the complaint was made")
@click.option("--note")
@handle_errors
def complaint(reference: str, complaint_at: str, note: str | None) -> None:
    """Record a complaint to the OPC: the recourse hold becomes open-ended (R9)."""
    raw = {"complaint_at": complaint_at, "note": note}
    data = parse(ComplaintIn, {k: v for k, v in raw.items() if v is not None}, what="input")
    _done(requests_service.record_complaint(session(), reference, data, actor=Actor.cli()))


@requests.command("link")
@click.argument("reference")
@click.argument("subject_ref")
@handle_errors
def link(reference: str, subject_ref: str) -> None:
    """Link the request to data subject SUBJECT_REF (places the recourse hold)."""
    _done(requests_service.link_subject(session(), reference, subject_ref, actor=Actor.cli()))


def _actions(values: tuple[str, ...]) -> list[dict[str, str]]:
    actions = []
    for value in values:
        action, _, element = value.partition(":")
        if not element:
            raise click.BadParameter(f"{value!r}: use ACTION:ELEMENT", param_hint="--action")
        actions.append({"action": action.strip(), "element": element.strip()})
    return actions


@requests.command("task")
@click.argument("reference")
@click.argument("task_id", type=int)
@click.option("--searched/--not-searched", default=None)
@click.option("--found/--not-found", default=None)
@click.option(
    "--action", "actions", multiple=True, help="ACTION:ELEMENT, e.g. 'deleted:ticket contact'"
)
@click.option("--note")
@click.option("--close/--reopen", default=None)
@handle_errors
def task(reference: str, task_id: int, actions: tuple[str, ...], **options: Any) -> None:
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
    updated = requests_service.update_task(session(), reference, task_id, data, actor=Actor.cli())
    session().commit()
    out = requests_service.task_out(updated)
    state = "closed" if out.closed_at else "open"
    click.echo(f"task {out.id} ({out.system}) of {reference}: {state}, found={out.found}")


@requests.command("attach")
@click.argument("reference")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", default="correspondence", type=click.Choice(DOCUMENT_KINDS))
@click.option("--media-type", help="default: from the file name")
@handle_errors
def attach(reference: str, path: str, kind: str, media_type: str | None) -> None:
    """Add a document to the request's file."""
    data = parse(DocumentIn, {"kind": kind, **_file(path, media_type)}, what="document")
    document = requests_service.attach_document(session(), reference, data, actor=Actor.cli())
    session().commit()
    click.echo(f"document {document.id} added to {reference}: {document.size} B {document.sha256}")


from auditor.cli import request_reports  # noqa: E402  (kept with the commands it attaches)

requests.add_command(request_reports.access_report)
requests.add_command(request_reports.portability)


from auditor.cli.request_actions import COMMANDS  # noqa: E402  (what requests do: R10-R13)

for _command in COMMANDS:
    requests.add_command(_command)

"""Privacy request endpoints (R1-R9, R29, R30): intake, listing, the workflow, tasks, documents."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from auditor.permissions import Permission
from auditor.schemas.common import Page
from auditor.schemas.requests import (
    ComplaintIn,
    DocumentIn,
    DocumentOut,
    ExtensionIn,
    FeeIn,
    RequestDetail,
    RequestIn,
    RequestOut,
    RequestQuery,
    SearchesOverrideIn,
    SubjectLinkIn,
    TaskOut,
    TaskUpdate,
    TransitionIn,
    VerificationIn,
)
from auditor.services import requests
from auditor.services.context import Actor
from auditor.services.requests import scope
from auditor.views.api import API_PREFIX, download, paginate, route

bp = Blueprint("requests", __name__, url_prefix=API_PREFIX)


@route(bp, "/requests", "GET", summary="List privacy requests", permission=Permission.REQUESTS_READ)
def requests_list(session: Session, query: RequestQuery, actor: Actor) -> Page[RequestOut]:
    clients = scope.visible_clients(session, actor)  # a technician: their clients' requests
    return paginate(
        query,
        lambda after, limit: requests.list_requests(
            session,
            status=query.status,
            type=query.type,
            overdue=query.overdue,
            after=after,
            limit=limit,
            clients=clients,
        ),
        out_all=lambda rows: requests.requests_out(session, rows),
    )


@route(
    bp,
    "/requests",
    "POST",
    summary="Open a privacy request",
    permission=Permission.REQUESTS_MANAGE,
    status=201,
    errors=(409,),
)
def requests_create(session: Session, body: RequestIn, actor: Actor) -> RequestDetail:
    request = requests.open_request(session, body, actor=actor)
    return requests.request_detail(request, requester=True, identifiers=True)


@route(
    bp,
    "/requests/<ref>",
    "GET",
    summary="Read a privacy request with its tasks and documents",
    permission=Permission.REQUESTS_READ,
    audits=True,
)
def requests_read(session: Session, ref: str, actor: Actor) -> RequestDetail:
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/transition",
    "POST",
    summary="Move a privacy request to another state (answer, refuse, withdraw)",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_transition(
    session: Session, ref: str, body: TransitionIn, actor: Actor
) -> RequestDetail:
    requests.transition(session, ref, body, actor=actor)
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/verification",
    "POST",
    summary="Record how the requester's identity was verified",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_verify(
    session: Session, ref: str, body: VerificationIn, actor: Actor
) -> RequestDetail:
    requests.verify(session, ref, body, actor=actor)
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/extension",
    "POST",
    summary="Extend a privacy request once, with the notice sent by day 30",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_extend(session: Session, ref: str, body: ExtensionIn, actor: Actor) -> RequestDetail:
    requests.extend(session, ref, body, actor=actor)
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/fee",
    "POST",
    summary="Record a fee after its cost estimate was confirmed",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_fee(session: Session, ref: str, body: FeeIn, actor: Actor) -> RequestDetail:
    requests.record_fee(session, ref, body, actor=actor)
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/complaint",
    "POST",
    summary="Record a complaint to the Privacy Commissioner about a privacy request",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_complaint(
    session: Session, ref: str, body: ComplaintIn, actor: Actor
) -> RequestDetail:
    requests.record_complaint(session, ref, body, actor=actor)
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/searches-override",
    "POST",
    summary="Record a privacy officer's reason to answer while search tasks are still open",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_searches_override(
    session: Session, ref: str, body: SearchesOverrideIn, actor: Actor
) -> RequestDetail:
    requests.override_open_searches(session, ref, body, actor=actor)
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/subject",
    "POST",
    summary="Link a privacy request to its data subject",
    permission=Permission.REQUESTS_MANAGE,
    errors=(409,),
)
def requests_link_subject(
    session: Session, ref: str, body: SubjectLinkIn, actor: Actor
) -> RequestDetail:
    requests.link_subject(session, ref, body.subject, actor=actor)
    return requests.read_request_as(session, ref, actor=actor)


@route(
    bp,
    "/requests/<ref>/documents",
    "POST",
    summary="Add a document to a privacy request's file",
    permission=Permission.REQUESTS_MANAGE,
    status=201,
    errors=(413,),
)
def requests_attach(session: Session, ref: str, body: DocumentIn, actor: Actor) -> DocumentOut:
    return requests.document_out(requests.attach_document(session, ref, body, actor=actor))


@route(
    bp,
    "/requests/<ref>/documents/<int:document_id>",
    "GET",
    summary="Download a document of a privacy request's file",
    response_media_type="application/octet-stream",
    permission=Permission.REQUESTS_MANAGE,
    writes=True,
)
def requests_document(session: Session, ref: str, document_id: int, actor: Actor) -> Response:
    document = requests.read_document(session, ref, document_id, actor=actor)
    file_name = f"{document.request.reference}-{document.id}"
    response = download(document.content, document.media_type, file_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@route(
    bp,
    "/requests/<ref>/tasks/<int:task_id>",
    "PATCH",
    summary="Update the search task of a system for a privacy request",
    permission=Permission.REQUESTS_TASKS,
    errors=(409,),
)
def requests_task_update(
    session: Session, ref: str, task_id: int, body: TaskUpdate, actor: Actor
) -> TaskOut:
    scope.require_visible(session, requests.get_request(session, ref), actor)
    task = requests.update_task(session, ref, task_id, body, actor=actor)
    return requests.task_out(task)

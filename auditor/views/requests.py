"""Privacy request endpoints (R1-R9, R29, R30): intake, listing, the workflow, tasks, documents."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from auditor.db import get_session
from auditor.permissions import Permission, is_allowed
from auditor.schemas.common import Page, decode_cursor, encode_cursor
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
    SubjectLinkIn,
    TaskOut,
    TaskUpdate,
    TransitionIn,
    VerificationIn,
)
from auditor.services import (
    request_deadlines,
    request_documents,
    request_tasks,
    request_workflow,
    requests,
)
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, page_limit, route

bp = Blueprint("requests", __name__, url_prefix=API_PREFIX)


def _detail(reference: str, actor: Actor) -> RequestDetail:
    """The request as this actor may see it: officers see the requester, officers and
    technicians the identifiers to search for; reading is audited either way."""
    role = actor.role or ""
    requester = is_allowed(role, Permission.REQUESTS_MANAGE)
    identifiers = requester or is_allowed(role, Permission.REQUESTS_TASKS)
    request = requests.read(
        get_session(), reference, actor=actor, requester=requester, identifiers=identifiers
    )
    return requests.to_detail(request, requester=requester, identifiers=identifiers)


@route(
    bp,
    "/requests",
    "GET",
    summary="List privacy requests",
    permission=Permission.REQUESTS_READ,
    query=RequestQuery,
    response=Page[RequestOut],
    errors=(422,),
)
def requests_list(query: RequestQuery, actor: Any) -> Page[RequestOut]:
    limit = page_limit(query.limit)
    items = requests.list_requests(
        get_session(),
        status=query.status,
        type=query.type,
        overdue=query.overdue,
        after=decode_cursor(query.cursor),
        limit=limit,
    )
    cursor = encode_cursor(items[-1].id) if len(items) == limit else None
    return Page[RequestOut](items=[requests.to_out(r) for r in items], next_cursor=cursor)


@route(
    bp,
    "/requests",
    "POST",
    summary="Open a privacy request",
    permission=Permission.REQUESTS_MANAGE,
    body=RequestIn,
    response=RequestDetail,
    status=201,
    errors=(400, 409, 415, 422),
)
def requests_create(body: RequestIn, actor: Any) -> RequestDetail:
    request = requests.open_request(get_session(), body, actor=actor)
    return requests.to_detail(request, requester=True, identifiers=True)


@route(
    bp,
    "/requests/<ref>",
    "GET",
    summary="Read a privacy request with its tasks and documents",
    permission=Permission.REQUESTS_READ,
    response=RequestDetail,
    errors=(404,),
)
def requests_read(ref: str, actor: Any) -> RequestDetail:
    return _detail(ref, actor)


@route(
    bp,
    "/requests/<ref>/transition",
    "POST",
    summary="Move a privacy request to another state (answer, refuse, withdraw)",
    permission=Permission.REQUESTS_MANAGE,
    body=TransitionIn,
    response=RequestDetail,
    errors=(400, 404, 409, 415, 422),
)
def requests_transition(ref: str, body: TransitionIn, actor: Any) -> RequestDetail:
    request_workflow.transition(get_session(), ref, body, actor=actor)
    return _detail(ref, actor)


@route(
    bp,
    "/requests/<ref>/verification",
    "POST",
    summary="Record how the requester's identity was verified",
    permission=Permission.REQUESTS_MANAGE,
    body=VerificationIn,
    response=RequestDetail,
    errors=(400, 404, 409, 415, 422),
)
def requests_verify(ref: str, body: VerificationIn, actor: Any) -> RequestDetail:
    request_workflow.verify(get_session(), ref, body, actor=actor)
    return _detail(ref, actor)


@route(
    bp,
    "/requests/<ref>/extension",
    "POST",
    summary="Extend a privacy request once, with the notice sent by day 30",
    permission=Permission.REQUESTS_MANAGE,
    body=ExtensionIn,
    response=RequestDetail,
    errors=(400, 404, 409, 415, 422),
)
def requests_extend(ref: str, body: ExtensionIn, actor: Any) -> RequestDetail:
    request_deadlines.extend(get_session(), ref, body, actor=actor)
    return _detail(ref, actor)


@route(
    bp,
    "/requests/<ref>/fee",
    "POST",
    summary="Record a fee after its cost estimate was confirmed",
    permission=Permission.REQUESTS_MANAGE,
    body=FeeIn,
    response=RequestDetail,
    errors=(400, 404, 409, 415, 422),
)
def requests_fee(ref: str, body: FeeIn, actor: Any) -> RequestDetail:
    request_deadlines.record_fee(get_session(), ref, body, actor=actor)
    return _detail(ref, actor)


@route(
    bp,
    "/requests/<ref>/complaint",
    "POST",
    summary="Record a complaint to the Privacy Commissioner about a privacy request",
    permission=Permission.REQUESTS_MANAGE,
    body=ComplaintIn,
    response=RequestDetail,
    errors=(400, 404, 409, 415, 422),
)
def requests_complaint(ref: str, body: ComplaintIn, actor: Any) -> RequestDetail:
    request_workflow.record_complaint(get_session(), ref, body, actor=actor)
    return _detail(ref, actor)


@route(
    bp,
    "/requests/<ref>/subject",
    "POST",
    summary="Link a privacy request to its data subject",
    permission=Permission.REQUESTS_MANAGE,
    body=SubjectLinkIn,
    response=RequestDetail,
    errors=(400, 404, 409, 415, 422),
)
def requests_link_subject(ref: str, body: SubjectLinkIn, actor: Any) -> RequestDetail:
    request_workflow.link_subject(get_session(), ref, body.subject, actor=actor)
    return _detail(ref, actor)


@route(
    bp,
    "/requests/<ref>/documents",
    "POST",
    summary="Add a document to a privacy request's file",
    permission=Permission.REQUESTS_MANAGE,
    body=DocumentIn,
    response=DocumentOut,
    status=201,
    errors=(400, 404, 413, 415, 422),
)
def requests_attach(ref: str, body: DocumentIn, actor: Any) -> DocumentOut:
    return request_documents.to_out(request_documents.attach(get_session(), ref, body, actor=actor))


@route(
    bp,
    "/requests/<ref>/documents/<int:document_id>",
    "GET",
    summary="Download a document of a privacy request's file",
    response_media_type="application/octet-stream",
    permission=Permission.REQUESTS_MANAGE,
    errors=(404,),
)
def requests_document(ref: str, document_id: int, actor: Any) -> Response:
    document = request_documents.read(get_session(), ref, document_id, actor=actor)
    response = Response(document.content, mimetype=document.media_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{document.request.reference}-{document.id}"'
    )
    return response


@route(
    bp,
    "/requests/<ref>/tasks/<int:task_id>",
    "PATCH",
    summary="Update the search task of a system for a privacy request",
    permission=Permission.REQUESTS_TASKS,
    body=TaskUpdate,
    response=TaskOut,
    errors=(400, 404, 409, 415, 422),
)
def requests_task_update(ref: str, task_id: int, body: TaskUpdate, actor: Any) -> TaskOut:
    task = request_tasks.update_task(get_session(), ref, task_id, body, actor=actor)
    return request_tasks.to_out(task)

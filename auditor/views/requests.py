"""Privacy request endpoints (R1-R9, R29, R30): intake, listing, the workflow, tasks, documents."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from auditor.db import get_session
from auditor.permissions import Permission
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
from auditor.services import requests
from auditor.views.api import API_PREFIX, page_limit, route

bp = Blueprint("requests", __name__, url_prefix=API_PREFIX)


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
    return Page[RequestOut](items=[requests.request_out(r) for r in items], next_cursor=cursor)


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
    return requests.request_detail(request, requester=True, identifiers=True)


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
    return requests.read_request_as(get_session(), ref, actor=actor)


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
    requests.transition(get_session(), ref, body, actor=actor)
    return requests.read_request_as(get_session(), ref, actor=actor)


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
    requests.verify(get_session(), ref, body, actor=actor)
    return requests.read_request_as(get_session(), ref, actor=actor)


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
    requests.extend(get_session(), ref, body, actor=actor)
    return requests.read_request_as(get_session(), ref, actor=actor)


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
    requests.record_fee(get_session(), ref, body, actor=actor)
    return requests.read_request_as(get_session(), ref, actor=actor)


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
    requests.record_complaint(get_session(), ref, body, actor=actor)
    return requests.read_request_as(get_session(), ref, actor=actor)


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
    requests.link_subject(get_session(), ref, body.subject, actor=actor)
    return requests.read_request_as(get_session(), ref, actor=actor)


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
    return requests.document_out(requests.attach_document(get_session(), ref, body, actor=actor))


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
    document = requests.read_document(get_session(), ref, document_id, actor=actor)
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
    task = requests.update_task(get_session(), ref, task_id, body, actor=actor)
    return requests.task_out(task)

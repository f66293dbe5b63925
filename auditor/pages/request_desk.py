"""The privacy-request desk: the list (filters in the URL, soonest due first), its CSV export,
and the intake form, whose errors are the API's, shown beside the fields."""

from __future__ import annotations

import base64
from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select

from auditor.db import access, get_session
from auditor.models import Organization
from auditor.models.requests import CHANNELS, STATUSES, TYPES
from auditor.pages.clock import now
from auditor.pages.core import current_actor, page
from auditor.pages.forms import errors_by_field, form_data, local_input, local_moment
from auditor.permissions import Permission
from auditor.schemas.common import parse
from auditor.schemas.requests import DeskQuery, RequestIn
from auditor.services import requests
from auditor.services.errors import FieldError, ValidationFailed
from auditor.services.requests import desk
from auditor.services.requests.deadlines import clock

bp = Blueprint("requests_desk", __name__, url_prefix="/requests")

PAGE_SIZE = 50
FILTERS = ("status", "type", "client", "quebec", "due_within", "overdue")
INTAKE_FIELDS = (
    "type",
    "channel",
    "requester_name",
    "requester_contact",
    "forwarded_by",
    "client_instructions",
    "respond_to",
    "external_reference",
    "request_text",
)


def _filters() -> tuple[DeskQuery, list[FieldError]]:
    args = {name: value for name, value in request.args.items() if value.strip()}
    args = {name: value for name, value in args.items() if name in (*FILTERS, "page")}
    try:
        return parse(DeskQuery, args, what="filter"), []
    except ValidationFailed as exc:
        return DeskQuery(), list(exc.errors)


def _desk_filter(query: DeskQuery) -> desk.DeskFilter:
    return desk.DeskFilter(
        status=query.status,
        type=query.type,
        client=query.client,
        quebec=query.quebec,
        due_within=query.due_within,
        overdue=query.overdue,
    )


def _clients() -> list[Organization]:
    db = get_session()
    return list(db.scalars(select(Organization).order_by(Organization.name)))


@page(bp, "", permission=Permission.REQUESTS_READ)
def request_list() -> Any:
    query, errors = _filters()
    moment = now()
    rows, total = desk.list_requests(
        get_session(),
        _desk_filter(query),
        actor=current_actor(),
        now=moment,
        offset=(query.page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    args = {name: request.args[name] for name in FILTERS if request.args.get(name, "").strip()}
    return (
        render_template(
            "pages/requests/list.html",
            rows=[(row, clock(row, moment), desk.client_of(row)) for row in rows],
            total=total,
            query=query,
            args=args,
            errors=errors_by_field(errors),
            statuses=STATUSES,
            types=TYPES,
            clients=_clients(),
            page_size=PAGE_SIZE,
        ),
        422 if errors else 200,
    )


@page(bp, "/export.csv", permission=Permission.REQUESTS_READ)
def request_csv() -> Any:
    query, errors = _filters()
    if errors:
        raise ValidationFailed("The filter is not valid.", errors)
    moment = now()
    actor = current_actor()
    chosen = _desk_filter(query)
    db = get_session()

    def lines() -> Any:
        with access("read"):  # streamed after the page returns: a reading transaction of its own
            try:
                yield from desk.csv_lines(
                    desk.iter_requests(db, chosen, actor=actor, now=moment), moment
                )
            finally:
                db.rollback()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    day = moment.date().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="requests-{day}.csv"'
    return response


def _intake_data() -> tuple[dict[str, Any], list[FieldError]]:
    data = form_data(INTAKE_FIELDS)
    received, errors = local_moment(request.form.get("received_at"), "received_at")
    if received is not None:
        data["received_at"] = received
    identifiers = []
    for kind in ("email", "phone"):
        value = request.form.get(f"identifier_{kind}", "").strip()
        if value:
            identifiers.append({"kind": kind, "value": value})
    data["identifiers"] = identifiers
    upload = request.files.get("document")
    if upload is not None and upload.filename:
        content = upload.read()
        data["document"] = {
            "media_type": upload.mimetype or "application/octet-stream",
            "content_base64": base64.b64encode(content).decode(),
            "filename": upload.filename,
        }
    return data, errors


@page(bp, "/new", methods=("GET", "POST"), permission=Permission.REQUESTS_MANAGE)
def request_new() -> Any:
    values: dict[str, Any] = {"received_at": local_input(now()), "type": "access"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, problems = _intake_data()
        values = {**request.form.to_dict(), "received_at": request.form.get("received_at", "")}
        try:
            if problems:
                raise ValidationFailed("The request is not valid.", problems)
            body = parse(RequestIn, data)
            opened = requests.open_request(get_session(), body, actor=current_actor())
        except ValidationFailed as exc:
            errors = errors_by_field(exc.errors) or {"": [exc.detail]}
        else:
            return redirect(url_for("request_page.request_detail", ref=opened.reference))
    return (
        render_template(
            "pages/requests/new.html",
            values=values,
            errors=errors,
            channel_options=[(value, value.replace("_", " ")) for value in CHANNELS],
            client_options=[(client.code, client.name) for client in _clients()],
        ),
        422 if errors else 200,
    )

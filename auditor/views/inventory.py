"""Data-inventory endpoints: list, create, read, update and delete for every inventory kind."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field, create_model

from auditor.db import get_session
from auditor.permissions import Permission
from auditor.schemas.common import InputModel, Page, decode_cursor, encode_cursor, partial
from auditor.services import inventory
from auditor.services.inventory import KindSpec
from auditor.views.api import API_PREFIX, page_limit, route

bp = Blueprint("inventory", __name__, url_prefix=API_PREFIX)


def _page(spec: KindSpec, items: list[Any], limit: int) -> Page[Any]:
    cursor = encode_cursor(items[-1].id) if len(items) == limit else None
    return Page[spec.schema_out](items=[spec.out(i) for i in items], next_cursor=cursor)  # type: ignore[name-defined]


def _register(spec: KindSpec) -> None:
    label = spec.name.replace("_", " ")
    filters: dict[str, Any] = {
        name: (str | None, Field(default=None, max_length=64)) for name in spec.filters
    }
    query_model = create_model(  # type: ignore[call-overload]
        f"{spec.schema_out.__name__}Query",
        __base__=InputModel,
        cursor=(str | None, None),
        limit=(int | None, Field(default=None, ge=1, le=500)),
        **filters,
    )
    page_model = Page[spec.schema_out]  # type: ignore[name-defined]
    base = f"/{spec.plural}"
    key = spec.plural.replace("-", "_")

    @route(
        bp,
        base,
        "GET",
        summary=f"List {label}s",
        permission=Permission.INVENTORY_READ,
        query=query_model,
        response=page_model,
        errors=(422,),
        name=f"{key}_list",
    )
    def list_view(query: Any, actor: Any) -> Any:
        limit = page_limit(query.limit)
        extra = {name: getattr(query, name) for name in spec.filters}
        items = inventory.list_items(
            get_session(), spec, after=decode_cursor(query.cursor), limit=limit, **extra
        )
        return _page(spec, items, limit)

    @route(
        bp,
        base,
        "POST",
        summary=f"Create a {label}",
        permission=Permission.INVENTORY_WRITE,
        body=spec.schema_in,
        response=spec.schema_out,
        status=201,
        errors=(400, 409, 415, 422),
        name=f"{key}_create",
    )
    def create_view(body: Any, actor: Any) -> Any:
        return spec.out(inventory.create(get_session(), spec, body, actor=actor))

    @route(
        bp,
        f"{base}/<code>",
        "GET",
        summary=f"Read a {label}",
        permission=Permission.INVENTORY_READ,
        response=spec.schema_out,
        errors=(404,),
        name=f"{key}_read",
    )
    def read_view(code: str, actor: Any) -> Any:
        return spec.out(inventory.get(get_session(), spec, code))

    @route(
        bp,
        f"{base}/<code>",
        "PATCH",
        summary=f"Change a {label}",
        permission=Permission.INVENTORY_WRITE,
        body=partial(spec.schema_in),
        response=spec.schema_out,
        errors=(400, 404, 409, 415, 422),
        name=f"{key}_update",
    )
    def update_view(code: str, body: Any, actor: Any) -> Any:
        return spec.out(inventory.update(get_session(), spec, code, body, actor=actor))

    @route(
        bp,
        f"{base}/<code>",
        "DELETE",
        summary=f"Delete a {label}",
        permission=Permission.INVENTORY_WRITE,
        status=204,
        errors=(404, 409),
        name=f"{key}_delete",
    )
    def delete_view(code: str, actor: Any) -> None:
        inventory.delete(get_session(), spec, code, actor=actor)


for _spec in inventory.KINDS.values():
    _register(_spec)

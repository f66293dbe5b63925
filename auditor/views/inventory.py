"""Data-inventory endpoints: list, create, read, update and delete for every inventory kind."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel
from sqlalchemy.orm import Session

from auditor.permissions import Permission
from auditor.schemas.common import Page, filtered_page_query, partial
from auditor.services import inventory
from auditor.services.context import Actor
from auditor.services.inventory import KindSpec
from auditor.views.api import API_PREFIX, paginate, route

bp = Blueprint("inventory", __name__, url_prefix=API_PREFIX)


def _register(spec: KindSpec) -> None:
    """The five operations of one kind; its models are only known at run time, so they are
    passed to the route decorator rather than read from the handlers' annotations."""
    label = spec.name.replace("_", " ")
    base = f"/{spec.plural}"
    key = spec.plural.replace("-", "_")
    schema_in, schema_out = spec.schema_in, spec.schema_out
    query_model = filtered_page_query(schema_out, spec.filters)

    @route(
        bp,
        base,
        "GET",
        summary=f"List {label}s",
        permission=Permission.INVENTORY_READ,
        query=query_model,
        response=Page[schema_out],  # type: ignore[valid-type]
        name=f"{key}_list",
    )
    def list_view(session: Session, query: Any) -> Page[Any]:
        extra = {name: getattr(query, name) for name in spec.filters}
        return paginate(
            query,
            lambda after, limit: inventory.list_items(
                session, spec, after=after, limit=limit, **extra
            ),
            spec.out,
        )

    @route(
        bp,
        base,
        "POST",
        summary=f"Create a {label}",
        permission=Permission.INVENTORY_WRITE,
        body=schema_in,
        response=schema_out,
        status=201,
        errors=(409,),
        name=f"{key}_create",
    )
    def create_view(session: Session, body: Any, actor: Actor) -> BaseModel:
        return spec.out(inventory.create(session, spec, body, actor=actor))

    @route(
        bp,
        f"{base}/<code>",
        "GET",
        summary=f"Read a {label}",
        permission=Permission.INVENTORY_READ,
        response=schema_out,
        name=f"{key}_read",
    )
    def read_view(session: Session, code: str) -> BaseModel:
        return spec.out(inventory.get(session, spec, code))

    @route(
        bp,
        f"{base}/<code>",
        "PATCH",
        summary=f"Change a {label}",
        permission=Permission.INVENTORY_WRITE,
        body=partial(schema_in),
        response=schema_out,
        errors=(409,),
        name=f"{key}_update",
    )
    def update_view(session: Session, code: str, body: Any, actor: Actor) -> BaseModel:
        return spec.out(inventory.update(session, spec, code, body, actor=actor))

    @route(
        bp,
        f"{base}/<code>",
        "DELETE",
        summary=f"Delete a {label}",
        permission=Permission.INVENTORY_WRITE,
        status=204,
        errors=(409,),
        name=f"{key}_delete",
    )
    def delete_view(session: Session, code: str, actor: Actor) -> None:
        inventory.delete(session, spec, code, actor=actor)


for _spec in inventory.KINDS.values():
    _register(_spec)

"""The OpenAPI 3.1 description, generated from the endpoint registry and the pydantic models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from auditor.errors import PROBLEM_MEDIA_TYPE
from auditor.version import __version__
from auditor.views.api import Endpoint

REF = "#/components/schemas/{model}"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "field-level validation errors",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "line": {"type": "integer"},
                },
            },
        },
    },
}

ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing, unknown, expired or revoked token",
    403: "The token's role may not do this",
    404: "Not found",
    409: "Conflicts with existing data",
    413: "Body too large",
    414: "Query string too long",
    415: "Unsupported media type",
    422: "Validation failed (see errors)",
    429: "Too many failed authentications from this source: retry after Retry-After seconds",
    431: "Request headers too large",
    500: "Internal error",
}
#: what any request may be answered, whatever the operation (auditor/views/limits.py)
ANY_REQUEST = frozenset({400, 414, 431, 500})
#: what an authenticated operation may answer besides (auditor/views/api.py)
AUTHENTICATED = frozenset({401, 403, 429})


def _models(endpoints: list[Endpoint]) -> list[tuple[Any, str]]:
    seen: dict[Any, str] = {}
    for ep in endpoints:
        if ep.body is not None:
            seen.setdefault(ep.body, "validation")
        if isinstance(ep.response, type) and issubclass(ep.response, BaseModel):
            seen.setdefault(ep.response, "serialization")
    return list(seen.items())


def _schema_of(obj: Any, mode: str, names: Mapping[Any, Any]) -> dict[str, Any]:
    if (obj, mode) in names:
        return dict(names[(obj, mode)])
    schema = TypeAdapter(obj).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    schema.pop("$defs", None)
    return schema


def build(endpoints: list[Endpoint], *, title: str = "auditor API") -> dict[str, Any]:
    models = _models(endpoints)
    names, top = models_json_schema(models, ref_template=REF)  # type: ignore[arg-type]
    components: dict[str, Any] = dict(top.get("$defs", {}))
    extra_defs: dict[str, Any] = {}
    for ep in endpoints:  # list[...] responses and other non-model types
        if ep.response is not None and (ep.response, "serialization") not in names:
            extra_defs.update(
                TypeAdapter(ep.response).json_schema(ref_template=REF).get("$defs", {})
            )
    components.update(extra_defs)
    components["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, names)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": __version__,
            "description": "PIPEDA compliance and data-retention auditing for MSPs. "
            "Every endpoint except /healthz, /metrics and this description needs a bearer token.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(ep: Endpoint, names: Mapping[Any, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": ep.name, "summary": ep.summary, "tags": [ep.tag]}
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if conv == "int" else "string"},
        }
        for conv, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", ep.rule)
    ]
    if ep.query is not None:
        schema = ep.query.model_json_schema(ref_template=REF)
        for name, prop in schema.get("properties", {}).items():
            param = {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", []),
                "schema": prop,
            }
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
    if params:
        op["parameters"] = params
    if ep.body is not None:
        body_schema = _schema_of(ep.body, "validation", names)
        if ep.body_media_type != "application/json":
            body_schema = {
                "type": "string",
                "description": "one JSON object per line, each a " + (ep.body.__name__),
                "contentMediaType": ep.body_media_type,
            }
        op["requestBody"] = {
            "required": True,
            "content": {ep.body_media_type: {"schema": body_schema}},
        }
    responses: dict[str, Any] = {}
    if ep.status == 204:
        responses["204"] = {"description": "Done"}
    else:
        content: dict[str, Any] = {}
        if ep.response_media_type.endswith("+json"):
            # a JSON document of its own standard (SARIF): an object, its schema is not ours
            content = {ep.response_media_type: {"schema": {"type": "object"}}}
        elif ep.response_media_type != "application/json":
            binary = {"type": "string", "format": "binary"}
            content = {ep.response_media_type: {"schema": binary}}
        elif ep.response is not None:
            content = {
                "application/json": {"schema": _schema_of(ep.response, "serialization", names)}
            }
        responses[str(ep.status)] = {"description": "Success", "content": content}
    statuses = set(ep.errors) | ANY_REQUEST
    if ep.permission is not None or ep.tag != "system":
        statuses |= AUTHENTICATED
    if ep.body is not None:
        statuses.add(413)  # every body has a limit: MAX_CONTENT_LENGTH, BULK_MAX_CONTENT_LENGTH
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": ERROR_TEXT.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
        }
        if status == 429:
            responses["429"]["headers"] = {
                "Retry-After": {
                    "description": "seconds until failed authentications are counted afresh",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
    op["responses"] = responses
    if ep.tag != "system":
        op["security"] = [{"bearer": []}]
    return op

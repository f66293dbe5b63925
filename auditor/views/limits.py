"""What a request may be, checked before anything reads it: the size of its query string and
headers, no NUL character in its path or query, integer path arguments that fit in 64 bits,
and bodies read to their limit and no further. Each refusal is a documented problem."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import (
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    RequestURITooLarge,
)

from auditor.schemas.json_input import NUL_MESSAGE, ROW_ID_MAX
from auditor.services.errors import FieldError, NotFound, ValidationFailed

READ_CHUNK = 64 * 1024


def init_app(app: Flask) -> None:
    app.before_request(check_request)


def check_path_integers(path_args: dict[str, Any]) -> None:
    """An integer path argument beyond the row ids names nothing: 404, not a database overflow."""
    if any(isinstance(v, int) and not 0 <= v <= ROW_ID_MAX for v in path_args.values()):
        raise NotFound("Nothing has that number.")


def check_request() -> None:
    """414 for a long query string, 431 for large headers, 422 for a NUL in the path or query."""
    config = current_app.config
    if len(request.environ.get("QUERY_STRING", "")) > config["MAX_QUERY_STRING_BYTES"]:
        raise RequestURITooLarge(
            f"The query string is longer than {config['MAX_QUERY_STRING_BYTES']} bytes."
        )
    header_bytes = sum(len(name) + len(value) + 4 for name, value in request.headers.items())
    if header_bytes > config["MAX_HEADER_BYTES"]:
        raise RequestHeaderFieldsTooLarge(
            f"The request's headers are larger than {config['MAX_HEADER_BYTES']} bytes."
        )
    errors = [FieldError("path", NUL_MESSAGE)] if "\x00" in request.path else []
    errors += [
        FieldError(f"query.{name}", NUL_MESSAGE)
        for name, value in request.args.items(multi=True)
        if "\x00" in name or "\x00" in value
    ]
    if errors:
        raise ValidationFailed("The request's URL cannot be read.", errors)


def _chunks(limit: int) -> Iterator[bytes]:
    """The body as it arrives, 413 as soon as it passes ``limit`` bytes: with a Content-Length
    the server's own check applies; a chunked body (no length) is counted here, so the part
    beyond the limit is refused rather than silently dropped."""
    length = request.content_length
    if length is not None:
        if length > limit:
            raise RequestEntityTooLarge(f"The body is larger than {limit} bytes.")
        stream = request.stream
    elif request.environ.get("wsgi.input_terminated"):
        stream = request.environ["wsgi.input"]
    else:
        return  # no length and no terminated input: WSGI gives no body
    seen = 0
    while chunk := stream.read(READ_CHUNK):
        seen += len(chunk)
        if seen > limit:
            raise RequestEntityTooLarge(f"The body is larger than {limit} bytes.")
        yield chunk


def read_body(limit: int) -> bytes:
    """The whole body, refused (413) past ``limit`` bytes."""
    return b"".join(_chunks(limit))


def body_lines(limit: int) -> Iterator[bytes]:
    """The body line by line (NDJSON), refused (413) past ``limit`` bytes."""
    pending = b""
    for chunk in _chunks(limit):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending

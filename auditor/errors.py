"""Errors to responses in one place: RFC 9457 problem+json for the API, HTML pages for browsers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, json, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from auditor.config import ConfigError
from auditor.services import errors as domain
from crypto.errors import (
    CryptoError,
    DecryptionFailed,
    KeyRingError,
    MalformedCiphertext,
    SignatureInvalid,
    UnknownKeyVersion,
)
from retention.errors import InvalidDefinition, RetentionError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://auditor.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# error class: (HTTP status, problem type slug, title). Most specific first: the first match wins.
ERROR_TABLE: dict[type[BaseException], tuple[int, str, str]] = {
    domain.MalformedRequest: (400, "malformed-request", "The request could not be read"),
    domain.UnsupportedMediaType: (415, "unsupported-media-type", "Unsupported media type"),
    domain.IdentityNotVerified: (409, "identity-not-verified", "Identity not verified"),
    domain.TasksOpen: (409, "tasks-open", "Search tasks still open"),
    domain.PurgeInProgress: (409, "purge-in-progress", "A purge run is in progress"),
    domain.ValidationFailed: (422, "validation-failed", "The request is not valid"),
    domain.NotFound: (404, "not-found", "Not found"),
    domain.Conflict: (409, "conflict", "Conflict with existing data"),
    domain.AuthenticationFailed: (401, "unauthenticated", "Authentication required"),
    domain.TooManyFailures: (429, "too-many-failures", "Too many failed authentications"),
    domain.ClientAccessDenied: (403, "client-forbidden", "No access to this client"),
    domain.PermissionDenied: (403, "forbidden", "Not allowed for this role"),
    domain.AuditTrailBroken: (500, "audit-trail-broken", "The audit trail failed verification"),
    domain.AuditorError: (400, "bad-request", "Bad request"),
    SignatureInvalid: (500, "signature-invalid", "A signature did not verify"),
    DecryptionFailed: (500, "decryption-failed", "A stored secret could not be decrypted"),
    UnknownKeyVersion: (500, "unknown-key-version", "A needed key version is not available"),
    MalformedCiphertext: (500, "malformed-ciphertext", "A stored ciphertext is malformed"),
    KeyRingError: (500, "key-ring-error", "The master key configuration is invalid"),
    CryptoError: (500, "crypto-error", "Cryptographic operation failed"),
    InvalidDefinition: (
        422,
        "invalid-retention-definition",
        "The retention rule or hold is not valid",
    ),
    RetentionError: (409, "retention-error", "Retention rule violation"),
    ConfigError: (500, "configuration-error", "The service is misconfigured"),
    domain.HandoverRequired: (409, "handover-required", "Hand-over required before purge"),
}


def lookup(exc: BaseException) -> tuple[int, str, str] | None:
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return None


def problem(
    status: int, slug: str, title: str, detail: str | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if "request_id" in g:
        body["request_id"] = g.request_id
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="auditor"'
    return response


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(status: int, slug: str, title: str, detail: str | None, **extra: Any) -> Any:
    if _wants_json():
        return problem(status, slug, title, detail, **extra)
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def register(app: Flask) -> None:
    @app.errorhandler(domain.AuditorError)
    @app.errorhandler(CryptoError)
    @app.errorhandler(RetentionError)
    def _domain_error(exc: Exception) -> Any:
        _rollback()
        status, slug, title = lookup(exc) or (500, "internal-error", "Internal error")
        extra: dict[str, Any] = {}
        if isinstance(exc, domain.ValidationFailed) and exc.errors:
            extra["errors"] = [error.as_dict() for error in exc.errors]
        if isinstance(exc, domain.TasksOpen):
            extra["open_tasks"] = exc.open_tasks
        if isinstance(exc, domain.AuditTrailBroken) and exc.seq is not None:
            extra["seq"] = exc.seq
        detail = getattr(exc, "detail", None) if status < 500 or extra.get("seq") else None
        response = _render(status, slug, title, detail or title, **extra)
        if isinstance(exc, domain.TooManyFailures):
            response = make_response(response)
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        _rollback()
        status = exc.code or 500
        slug = (exc.name or "error").lower().replace(" ", "-")
        response = _render(status, slug, exc.name or "Error", exc.description)
        kept = [(k, v) for k, v in exc.get_headers() if k in ("Allow", "Retry-After")]
        if kept:  # 405 says what is allowed, 429 when to retry
            response = make_response(response)
            response.headers.extend(kept)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        _rollback()
        log.exception("unhandled error", extra={"error_type": type(exc).__name__})
        return _render(500, "internal-error", "Internal error", "An unexpected error occurred.")

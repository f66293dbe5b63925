"""Domain errors of the auditor services. They know nothing of HTTP; auditor/errors.py maps them."""

from __future__ import annotations

from dataclasses import dataclass

from crypto.errors import CryptoError


class AuditorError(Exception):
    """Base class of every error the services raise on purpose.

    ``detail`` is safe to show to the caller and to log: never personal data or secrets.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class FieldError:
    """One invalid input field: where it is (``lines[3].email``) and what is wrong."""

    field: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"field": self.field, "message": self.message}
        if self.line is not None:
            data["line"] = self.line
        return data


class ValidationFailed(AuditorError):
    """The input is malformed or breaks a rule; ``errors`` says which fields."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class NotFound(AuditorError):
    """The object does not exist (or the caller may not know that it does)."""


class Conflict(AuditorError):
    """The change conflicts with existing data (a duplicate code, an object still in use)."""


class AuthenticationFailed(AuditorError):
    """No valid credentials: a missing, unknown, expired or revoked token."""


class TooManyFailures(AuditorError):
    """Too many failed authentications from one source: wait ``retry_after`` seconds."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PurgeInProgress(Conflict):
    """Another purge run holds the purge lock: try again when it has finished."""


class PermissionDenied(AuditorError):
    """Authenticated, but the role may not do this."""


class AuditTrailBroken(AuditorError):
    """The audit trail failed verification; ``seq`` is the first bad sequence number."""

    def __init__(self, detail: str, seq: int | None = None) -> None:
        super().__init__(detail)
        self.seq = seq


class MalformedRequest(AuditorError):
    """The request cannot be read at all: not JSON, wrong media type, bad encoding."""


class UnsupportedMediaType(AuditorError):
    """The request body has a media type this endpoint does not take."""


class ClientAccessDenied(PermissionDenied):
    """The role may do this, but not for this client: the user holds no grant for it."""


class HandoverRequired(Conflict):
    """R16: a client's credentials are purged only after an acknowledged hand-over that still
    holds every current value; until then the purge is blocked (and the block reported)."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason  # short, for reports: "hand-over missing", ...


MAX_ERROR_LENGTH = 500


def safe_error(exc: BaseException, *, safe_types: tuple[type[BaseException], ...] = ()) -> str:
    """The error type, and its message only when the message is meant to be shown (domain errors,
    crypto errors, and the caller's ``safe_types``).

    Other messages (a database driver's, a library's) may quote personal data, so they stay out of
    stored run records; the process log has the traceback."""
    name = type(exc).__name__
    if isinstance(exc, (AuditorError, CryptoError, *safe_types)):
        message = getattr(exc, "detail", None) or str(exc)
        return f"{name}: {message}"[:MAX_ERROR_LENGTH]
    return f"{name} (message withheld; see the process log)"


class IdentityNotVerified(Conflict):
    """A privacy request's requester is not verified yet: nothing may be disclosed, corrected or
    deleted for it until the verification is recorded."""


class TasksOpen(Conflict):
    """A privacy request cannot be answered while some of its search tasks are still open."""

    def __init__(self, detail: str, *, open_tasks: int) -> None:
        super().__init__(detail)
        self.open_tasks = open_tasks

"""Guards the services that act on a privacy request must call before they act.

Whatever discloses information (the access package, a portability export), corrects it or
deletes it calls ``require_verified(request)`` first: nothing leaves or changes before the
requester's identity is verified and that verification is recorded.

What answers the request for good (the access report and package, the portability export, the
deletion, a refusal or any other final letter, the completion) calls
``require_searches_done(request)``: every search task is closed, or a privacy officer recorded
why the answer may go with some still open (``workflow.override_open_searches``).
"""

from __future__ import annotations

from auditor.models import PrivacyRequest
from auditor.services.errors import IdentityNotVerified, TasksOpen


def is_verified(request: PrivacyRequest) -> bool:
    return request.verified_at is not None and request.verification_method is not None


def require_verified(request: PrivacyRequest) -> None:
    """Raise IdentityNotVerified (409) unless the requester's identity verification is recorded."""
    if not is_verified(request):
        raise IdentityNotVerified(
            f"The identity of the requester of {request.reference} is not verified: record the "
            "verification before disclosing, correcting or deleting anything."
        )


def open_searches(request: PrivacyRequest) -> int:
    """Search tasks still open, unless an officer's override of them is recorded."""
    if request.searches_override_at is not None:
        return 0
    return sum(1 for task in request.tasks if task.closed_at is None)


def require_searches_done(request: PrivacyRequest, what: str) -> None:
    """Raise TasksOpen (409) while search tasks are open and no override is recorded."""
    still_open = open_searches(request)
    if still_open:
        raise TasksOpen(
            f"{still_open} search task(s) of {request.reference} are still open: close them, or "
            f"record a privacy officer's override with the reason, before {what}.",
            open_tasks=still_open,
        )

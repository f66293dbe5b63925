"""Guards the services that act on a privacy request must call before they act.

Whatever discloses information (the access package, a portability export), corrects it or
deletes it calls ``require_verified(request)`` first: nothing leaves or changes before the
requester's identity is verified and that verification is recorded.
"""

from __future__ import annotations

from auditor.models import PrivacyRequest
from auditor.services.errors import IdentityNotVerified


def is_verified(request: PrivacyRequest) -> bool:
    return request.verified_at is not None and request.verification_method is not None


def require_verified(request: PrivacyRequest) -> None:
    """Raise IdentityNotVerified (409) unless the requester's identity verification is recorded."""
    if not is_verified(request):
        raise IdentityNotVerified(
            f"The identity of the requester of {request.reference} is not verified: record the "
            "verification before disclosing, correcting or deleting anything."
        )

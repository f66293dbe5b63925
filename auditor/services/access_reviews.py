"""Access reviews (R35; SOC 2 CC6.2, CC6.3): freeze who has access, decide per account, revoke.

A review starts by freezing every account with its role, status, second factor, vault grants
and tokens (the snapshot, hashed). The reviewer keeps or revokes each account of the snapshot
with a reason (required to revoke, and to decide one's own account); a revocation deprovisions
the account at once (``deprovisioning``) and the decision points to it, timed. A review is
completed once every account has its decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import ApiToken, Organization, User, VaultGrant
from auditor.models.access import AccessReview, AccessReviewDecision, Deprovisioning
from auditor.services import audit, deprovisioning
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, NotFound, ValidationFailed
from auditor.services.users import keep_an_admin

SELF_REASON_MIN = 10  # deciding one's own account needs a real reason


def snapshot(session: Session, now: dt.datetime) -> dict[str, Any]:
    """Every account as it stands: role, status, second factor, grants and live tokens."""
    grants: dict[int, list[dict[str, Any]]] = {}
    for grant, code in session.execute(
        select(VaultGrant, Organization.code)
        .join(Organization, Organization.id == VaultGrant.organization_id)
        .order_by(VaultGrant.user_id, Organization.code)
    ):
        grants.setdefault(grant.user_id, []).append(
            {
                "client": code,
                "granted_by": grant.granted_by,
                "granted_at": audit.format_time_or_none(grant.granted_at),
            }
        )
    tokens: dict[int, list[dict[str, Any]]] = {}
    live = select(ApiToken).where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    for token in session.scalars(live.order_by(ApiToken.user_id, ApiToken.id)):
        tokens.setdefault(token.user_id, []).append(
            {
                "id": token.id,
                "name": token.name,
                "prefix": token.prefix,
                "created_at": audit.format_time_or_none(token.created_at),
                "expires_at": audit.format_time_or_none(token.expires_at),
                "last_used_at": audit.format_time_or_none(token.last_used_at),
            }
        )
    accounts = [
        {
            "user_id": user.id,
            "name": user.name,
            "role": user.role,
            "active": user.is_active,
            "second_factor": user.totp_enrolled_at is not None,
            "created_at": audit.format_time_or_none(user.created_at),
            "grants": grants.get(user.id, []),
            "tokens": tokens.get(user.id, []),
        }
        for user in session.scalars(select(User).order_by(User.id))
    ]
    return {"taken_at": audit.format_time(now), "accounts": accounts}


def start(session: Session, *, actor: Actor, now: dt.datetime | None = None) -> AccessReview:
    """Open a review over every account; one review is open at a time."""
    moment = now or utcnow()
    if session.scalar(select(AccessReview.id).where(AccessReview.status == "open")) is not None:
        raise Conflict("An access review is already open: complete it first.")
    frozen = snapshot(session, moment)
    review = AccessReview(
        started_by=actor.name,
        started_at=moment,
        snapshot=frozen,
        snapshot_sha256=hashlib.sha256(audit.canonical_json(frozen)).hexdigest(),
        accounts=len(frozen["accounts"]),
    )
    session.add(review)
    session.flush()
    _audit(session, review, actor, "access_review.start", moment, accounts=review.accounts)
    return review


def get(session: Session, review_id: int) -> AccessReview:
    review = session.get(AccessReview, review_id)
    if review is None:
        raise NotFound("No access review with that id.")
    return review


def decisions_of(session: Session, review: AccessReview) -> list[AccessReviewDecision]:
    query = select(AccessReviewDecision).where(AccessReviewDecision.review_id == review.id)
    return list(session.scalars(query.order_by(AccessReviewDecision.id)))


def decide(
    session: Session,
    review_id: int,
    *,
    user_id: int,
    decision: str,
    reason: str | None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> AccessReviewDecision:
    """Keep or revoke one account of the review's snapshot, once."""
    moment = now or utcnow()
    review = get(session, review_id)
    if review.status != "open":
        raise Conflict("The access review is completed: its decisions are final.")
    listed = {a["user_id"] for a in review.snapshot["accounts"]}
    if user_id not in listed:
        raise ValidationFailed(
            "That account is not in the review.", [FieldError("user_id", "not in the snapshot")]
        )
    taken = select(AccessReviewDecision.id).where(
        AccessReviewDecision.review_id == review.id, AccessReviewDecision.user_id == user_id
    )
    if session.scalar(taken) is not None:
        raise Conflict("That account is already decided in this review.")
    text = (reason or "").strip() or None
    if decision == "revoke" and text is None:
        raise ValidationFailed("Say why access is revoked.", [FieldError("reason", "required")])
    if actor.user_id == user_id and len(text or "") < SELF_REASON_MIN:
        raise ValidationFailed(
            "Deciding your own account needs a reason.",
            [FieldError("reason", f"at least {SELF_REASON_MIN} characters for your own account")],
        )
    user = session.get(User, user_id)
    row = AccessReviewDecision(
        review_id=review.id,
        user_id=user_id,
        decision=decision,
        reason=text,
        decided_by=actor.name,
        decided_at=moment,
    )
    if decision == "revoke" and user is not None and user.is_active:
        keep_an_admin(session, user, {"is_active": False})
        ended = deprovisioning.deprovision(
            session, user, actor=actor, reason=f"access review {review.id}", now=moment
        )
        row.deprovisioning_id = ended.id
    session.add(row)
    session.flush()
    _audit(
        session,
        review,
        actor,
        "access_review.decide",
        moment,
        user_id=user_id,
        decision=decision,
        deprovisioning=row.deprovisioning_id,
        self_review=actor.user_id == user_id,
    )
    return row


def complete(
    session: Session, review_id: int, *, actor: Actor, now: dt.datetime | None = None
) -> AccessReview:
    """Sign the review off: refused while an account of its snapshot has no decision."""
    moment = now or utcnow()
    review = get(session, review_id)
    if review.status != "open":
        raise Conflict("The access review is already completed.")
    decided = session.scalar(
        select(func.count())
        .select_from(AccessReviewDecision)
        .where(AccessReviewDecision.review_id == review.id)
    )
    left = review.accounts - (decided or 0)
    if left:
        raise Conflict(f"{left} account(s) of the review have no decision yet.")
    review.status = "completed"
    review.completed_by = actor.name
    review.completed_at = moment
    _audit(session, review, actor, "access_review.complete", moment, accounts=review.accounts)
    return review


def _audit(
    session: Session,
    review: AccessReview,
    actor: Actor,
    action: str,
    moment: dt.datetime,
    **details: Any,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="access_review",
        object_id=review.id,
        details={"snapshot_sha256": review.snapshot_sha256, **details},
        now=moment,
    )


def decision_out(session: Session, row: AccessReviewDecision) -> dict[str, Any]:
    ended = session.get(Deprovisioning, row.deprovisioning_id) if row.deprovisioning_id else None
    return {
        "user_id": row.user_id,
        "decision": row.decision,
        "reason": row.reason,
        "decided_by": row.decided_by,
        "decided_at": audit.format_time(row.decided_at),
        "revocation": deprovisioning.row_out(ended, session.get(User, ended.user_id))
        if ended
        else None,
    }


def review_out(session: Session, review: AccessReview, *, detail: bool = True) -> dict[str, Any]:
    found = decisions_of(session, review)
    out: dict[str, Any] = {
        "id": review.id,
        "status": review.status,
        "started_by": review.started_by,
        "started_at": audit.format_time(review.started_at),
        "snapshot_sha256": review.snapshot_sha256,
        "accounts": review.accounts,
        "decided": len(found),
        "kept": sum(1 for d in found if d.decision == "keep"),
        "revoked": sum(1 for d in found if d.decision == "revoke"),
        "completed_by": review.completed_by,
        "completed_at": audit.format_time_or_none(review.completed_at),
    }
    if detail:
        out["snapshot"] = review.snapshot
        out["decisions"] = [decision_out(session, d) for d in found]
    return out


def list_reviews(session: Session) -> list[AccessReview]:
    return list(session.scalars(select(AccessReview).order_by(AccessReview.id)))

"""Users, roles, passwords (Argon2) and API tokens (random, shown once, stored as SHA-256)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from auditor.db import utcnow
from auditor.models import ApiToken, User
from auditor.permissions import ROLE_PERMISSIONS, Role
from auditor.schemas.users import TokenIn, UserIn, UserUpdate
from auditor.services import audit, deprovisioning
from auditor.services.context import Actor
from auditor.services.errors import (
    AuthenticationFailed,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
)
from auditor.services.transactions import conflict_as

TOKEN_PREFIX = "aud_"  # noqa: S105 - a marker that makes leaked tokens easy to scan for
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


def _token_hash(token: str) -> str:
    # tokens carry 256 random bits, so a fast hash is enough (a slow KDF only guards weak secrets)
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(user: User, source_ip: str | None = None) -> Actor:
    return Actor(name=f"user:{user.id}", user_id=user.id, role=user.role, source_ip=source_ip)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound("No user has that email address.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)).all())


def create_user(session: Session, data: UserIn, *, actor: Actor) -> User:
    user = User(email=str(data.email).lower(), name=data.name, role=data.role)
    with conflict_as(session, "A user with that email address already exists."):
        session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        details={"role": user.role},
    )
    return user


def keep_an_admin(session: Session, user: User, changes: dict[str, object]) -> None:
    """Refuse the change that would leave no active admin: nobody could administer the service
    any more (grant the role to someone else first)."""
    demoted = "role" in changes and changes["role"] != Role.ADMIN.value
    deactivated = changes.get("is_active") is False
    if user.role != Role.ADMIN.value or not user.is_active or not (demoted or deactivated):
        return
    # Lock every active admin row (PostgreSQL refuses FOR UPDATE on an aggregate), in id order
    # so that two admins stepping down at once wait for each other instead of both succeeding.
    admins = session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    if not [admin for admin in admins if admin != user.id]:
        raise Conflict(
            "This is the last active admin: make another user admin before demoting or "
            "deactivating this one."
        )


def update_user(session: Session, user_id: int, data: UserUpdate, *, actor: Actor) -> User:
    user = get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    keep_an_admin(session, user, changes)
    details: dict[str, object] = {"fields": sorted(changes)}
    if "role" in changes and changes["role"] != user.role:
        details["role"] = {"from": user.role, "to": changes["role"]}
    if changes.get("is_active") is False:
        del changes["is_active"]  # R36: deprovisioning deactivates, and times what goes with it
        if user.is_active:
            deprovisioning.deprovision(session, user, actor=actor)
    for name, value in changes.items():
        setattr(user, name, value)
    action = "user.role_change" if "role" in details else "user.update"
    audit.record(
        session, actor=actor, action=action, object_type="user", object_id=user.id, details=details
    )
    return user


def set_password(session: Session, user_id: int, password: str, *, actor: Actor) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "The password is too short.",
            [FieldError("password", f"at least {MIN_PASSWORD_LENGTH} characters")],
        )
    user = get_user(session, user_id)
    user.password_hash = _hasher.hash(password)
    audit.record(
        session, actor=actor, action="user.password_set", object_type="user", object_id=user.id
    )


def check_password(
    session: Session, email: str, password: str, *, source_ip: str | None = None
) -> User:
    """A login attempt: audited whether it succeeds or fails (R32)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = False
    if user is not None and user.is_active and user.password_hash:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
    else:
        _hasher.hash(password)  # same cost whether or not the user exists
    actor = actor_for(user, source_ip) if user else Actor.anonymous(source_ip)
    audit.record(
        session,
        actor=actor,
        action="auth.login",
        outcome="success" if ok else "failure",
        object_type="user",
        object_id=user.id if user else None,
    )
    if not ok or user is None:
        raise AuthenticationFailed("Wrong email or password.")
    return user


def create_token(
    session: Session,
    user_id: int,
    data: TokenIn,
    *,
    actor: Actor,
    default_ttl_days: int,
    now: dt.datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new bearer token for the user; the token string is returned once and never stored."""
    user = get_user(session, user_id)
    if not user.is_active:
        raise Conflict("The user is deactivated.")
    moment = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=data.name,
        token_hash=_token_hash(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        created_at=moment,
        expires_at=moment + dt.timedelta(days=data.expires_in_days or default_ttl_days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        object_type="api_token",
        object_id=row.id,
        details={"user_id": user.id, "expires_at": audit.format_time(row.expires_at)},
        now=moment,
    )
    return token, row


def list_tokens(session: Session, user_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query).all())


def revoke_token(
    session: Session, token_id: int, *, actor: Actor, now: dt.datetime | None = None
) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"Token {token_id} does not exist.")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            object_type="api_token",
            object_id=row.id,
            details={"user_id": row.user_id},
        )
    return row


#: how precisely a token's last use is kept: at most one write per token per interval, so that
#: reading requests do not write (auditor/db.py: access)
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=5)


def authenticate_token(
    session: Session, token: str | None, *, now: dt.datetime | None = None
) -> ApiToken:
    """The token row behind a bearer token, its user active; failures raise
    AuthenticationFailed (the caller audits). Nothing is written: see ``record_token_use``."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise AuthenticationFailed("A valid bearer token is required.")
    row = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))  # one query per request, not two
        .where(ApiToken.token_hash == _token_hash(token))
    )
    moment = now or utcnow()
    if row is None:
        raise AuthenticationFailed("The token is not valid.")
    if row.revoked_at is not None:
        raise AuthenticationFailed("The token has been revoked.")
    if row.expires_at <= moment:
        raise AuthenticationFailed("The token has expired.")
    if not row.user.is_active:
        raise AuthenticationFailed("The token's user is deactivated.")
    return row


def token_use_is_stale(row: ApiToken, now: dt.datetime) -> bool:
    """True when the token's recorded last use is older than the resolution kept."""
    return row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION


def record_token_use(session: Session, token_id: int, now: dt.datetime) -> None:
    """Write the token's last use (in the caller's writing transaction)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def permissions_of(user: User) -> list[str]:
    return sorted(p.value for p in ROLE_PERMISSIONS[Role(user.role)])

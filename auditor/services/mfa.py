"""The second factor of the web sign-in: TOTP (RFC 6238) with single-use recovery codes.

Every account enrols before any page shows data. A code is accepted in its 30-second step or
the one before or after (clock drift), and only once: the last accepted step is stored, so a
code seen by someone looking over a shoulder is refused when replayed. The secret is sealed
under the vault's master key (``crypto.master_sealed``, "AUM"): a copy of the database signs
nobody in. The ten recovery codes are shown once and stored as SHA-256. An admin may reset a
user's second factor (audited); the user enrols again at their next sign-in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import RecoveryCode, User
from auditor.services import audit, web_sessions
from auditor.services.context import Actor
from crypto import master_sealed
from crypto.keys import MasterKeyRing

ISSUER = "auditor"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # the step before and the one after are accepted too
RECOVERY_CODES = 10
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
TOTP_PURPOSE = "totp"  # the purpose of the sealed secret's associated data


def totp_owner(user_id: int) -> str:
    """The owner of the sealed secret's associated data: a blob moved to another user fails."""
    return f"user:{user_id}"


def seal_secret(ring: MasterKeyRing, user: User, secret: str) -> None:
    user.totp_secret = master_sealed.seal(
        ring, secret.encode("ascii"), purpose=TOTP_PURPOSE, owner=totp_owner(user.id)
    )
    user.totp_master_version = ring.current


def secret_of(ring: MasterKeyRing, user: User) -> str:
    """The user's TOTP secret (base32), unsealed in memory only."""
    assert user.totp_secret is not None
    plain = master_sealed.unseal(
        ring, bytes(user.totp_secret), purpose=TOTP_PURPOSE, owner=totp_owner(user.id)
    )
    return plain.decode("ascii")


def new_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name=ISSUER
    )


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG: no image file, no script, no third party."""
    svg: str = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#14213d", light="#ffffff", title="QR code of the authenticator secret"
    )
    return svg


def is_enrolled(user: User) -> bool:
    return user.totp_secret is not None and user.totp_enrolled_at is not None


def _step(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def _matching_step(secret: str, code: str, moment: dt.datetime) -> int | None:
    """The time step whose code is ``code``, within the allowed drift, or None."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = _step(moment)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def _new_recovery_codes(session: Session, user: User, moment: dt.datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))  # 80 bits
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash_code(code), created_at=moment)
        for code in codes
    )
    return codes


def enrol(
    session: Session,
    user: User,
    secret: str,
    code: str,
    *,
    ring: MasterKeyRing,
    actor: Actor,
    now: dt.datetime,
) -> list[str] | None:
    """Confirm enrolment with a code from the new authenticator: the secret is kept and ten
    recovery codes returned (to show once). None when the code does not match."""
    step = _matching_step(secret, normalise_code(code), now)
    if step is None:
        return None
    seal_secret(ring, user, secret)
    user.totp_enrolled_at, user.totp_last_step = now, step
    codes = _new_recovery_codes(session, user, now)
    audit.record(
        session,
        actor=actor,
        action="mfa.enrol",
        object_type="user",
        object_id=user.id,
        details={"recovery_codes": len(codes)},
        now=now,
    )
    return codes


def check_code(
    session: Session,
    user: User,
    code: str,
    *,
    ring: MasterKeyRing,
    actor: Actor,
    now: dt.datetime,
) -> str | None:
    """The second factor at sign-in: ``"totp"`` or ``"recovery"`` when ``code`` is accepted
    (and can then not be used again), None otherwise. The caller records a failure."""
    if not is_enrolled(user):
        return None
    given = normalise_code(code)
    if given.isdigit() and len(given) == 6:
        step = _matching_step(secret_of(ring, user), given, now)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return None  # wrong, or replayed within (or before) the last accepted step
        user.totp_last_step = step
        return "totp"
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(given),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return None
    row.used_at = now
    session.flush()
    left = remaining_codes(session, user)
    audit.record(
        session,
        actor=actor,
        action="mfa.recovery_code_used",
        object_type="user",
        object_id=user.id,
        details={"remaining": left},
        now=now,
    )
    return "recovery"


def remaining_codes(session: Session, user: User) -> int:
    rows = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    return len(rows)


def reset(session: Session, user: User, *, actor: Actor, now: dt.datetime | None = None) -> None:
    """An admin's reset of a user's second factor (a lost phone): the secret and the recovery
    codes go, the user's sessions end, and the user enrols again at the next sign-in."""
    moment = now or utcnow()
    user.totp_secret = None
    user.totp_master_version = user.totp_enrolled_at = user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ended = web_sessions.end_all(session, user.id)
    audit.record(
        session,
        actor=actor,
        action="mfa.reset",
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": ended},
        now=moment,
    )

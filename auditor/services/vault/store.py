"""The credentials vault: secrets sealed per client, access scoped per client, every reveal audited.

The value, the username and the notes of a secret are sealed (services/vault/fields.py). Their
plaintext exists only in memory, between unseal() and the response of a reveal; it never reaches
the database, the audit trail, logs or error messages. Listings say whether a secret has a
username or notes, never what they are; a search finds a username by its blind index.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Organization, Secret, System, User, VaultGrant
from auditor.models.vault import new_secret_ref
from auditor.permissions import Role
from auditor.schemas.vault import Revealed, SecretIn, SecretOut, SecretUpdate
from auditor.services import audit, inventory
from auditor.services.context import Actor
from auditor.services.errors import ClientAccessDenied, NotFound
from auditor.services.inventory import resolve
from auditor.services.vault import fields
from auditor.services.vault import keys as vault_keys
from crypto import envelope
from crypto.keys import MasterKeyRing

ALL_CLIENTS_ROLES = frozenset({Role.ADMIN.value, Role.PRIVACY_OFFICER.value})


def secret_out(secret: Secret) -> SecretOut:
    return SecretOut(
        ref=secret.ref,
        client=secret.organization.code,
        name=secret.name,
        kind=secret.kind,
        has_username=secret.username_sealed is not None,
        url=secret.url,
        system=secret.system.code if secret.system else None,
        has_notes=secret.notes_sealed is not None,
        client_key_version=secret.client_key_version,
        created_by=secret.created_by,
        created_at=secret.created_at,
        updated_at=secret.updated_at,
        value_changed_at=secret.value_changed_at,
        last_revealed_at=secret.last_revealed_at,
    )


# -- access scoping ---------------------------------------------------------------------------


def has_access(session: Session, actor: Actor, organization_id: int) -> bool:
    """Admins and privacy officers reach every client's vault; others only their granted ones.
    Unnamed CLI commands and the scheduler act as operators with full access; a user named
    with ``--as`` has their own role and grants."""
    if actor.role in ALL_CLIENTS_ROLES:
        return True
    if actor.user_id is None:
        return False
    grant = session.get(VaultGrant, {"user_id": actor.user_id, "organization_id": organization_id})
    return grant is not None


def require_access(
    session: Session, actor: Actor, organization_id: int, *, action: str, object_id: str | None
) -> None:
    """Refuse a client the actor was not granted, and audit the refusal in its own commit."""
    if has_access(session, actor, organization_id):
        return
    audit.record_refusal(
        session,
        actor=actor,
        action="vault.access_denied",
        object_type="secret",
        object_id=object_id,
        organization_id=organization_id,
        details={"attempted": action},
    )
    raise ClientAccessDenied("You have no access to this client's vault.")


def get(session: Session, ref: str) -> Secret:
    secret = session.scalar(select(Secret).where(Secret.ref == ref))
    if secret is None:
        raise NotFound("No secret with that reference.")
    return secret


def _scoped(session: Session, ref: str, actor: Actor, action: str) -> Secret:
    secret = get(session, ref)
    require_access(session, actor, secret.organization_id, action=action, object_id=ref)
    return secret


# -- secrets ----------------------------------------------------------------------------------


def _current_key(session: Session, ring: MasterKeyRing, organization_id: int) -> envelope.ClientKey:
    key = vault_keys.current_key(session, ring, organization_id)
    assert key is not None
    return key


def _reseal(
    session: Session, ring: MasterKeyRing, secret: Secret, changes: dict[str, str | None]
) -> None:
    """Seal the changed fields (``value``, ``username``, ``notes``) under the client's current
    key. A row still on an older version (a rotation under way) has its other blobs re-wrapped
    first, so that the row's fields never straddle two key versions."""
    key = _current_key(session, ring, secret.organization_id)
    columns: dict[str, object] = {}
    if secret.client_key_version != key.version:
        old = vault_keys.all_keys(session, ring, secret.organization_id)
        sealed = {column: getattr(secret, column) for column in fields.SEALED_COLUMNS.values()}
        columns = fields.rewrap_fields(old, key, secret.ref, sealed)
    if fields.VALUE_FIELD in changes:
        value = changes[fields.VALUE_FIELD]
        assert value is not None
        columns.update(fields.seal_value(key, secret.ref, value))
        secret.value_changed_at = utcnow()
    if fields.USERNAME_FIELD in changes:
        columns.update(fields.seal_username(key, secret.ref, changes[fields.USERNAME_FIELD]))
    if fields.NOTES_FIELD in changes:
        columns.update(fields.seal_notes(key, secret.ref, changes[fields.NOTES_FIELD]))
    for column, new in columns.items():
        setattr(secret, column, new)
    secret.client_key_version = key.version


def create_secret(
    session: Session, ring: MasterKeyRing, client: str, data: SecretIn, *, actor: Actor
) -> Secret:
    org = inventory.organization(session, client)
    require_access(session, actor, org.id, action="create", object_id=None)
    ref = new_secret_ref()
    secret = Secret(
        ref=ref,
        organization_id=org.id,
        organization=org,
        name=data.name,
        kind=data.kind,
        url=data.url,
        created_by=actor.name,
        system=resolve(session, System, data.system, "system") if data.system else None,
        **fields.seal_fields(
            _current_key(session, ring, org.id),
            ref,
            value=data.plain_value(),
            username=data.username,
            notes=data.notes,
        ),
    )
    session.add(secret)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.secret_create",
        object_type="secret",
        object_id=secret.ref,
        organization_id=org.id,
        details={"kind": secret.kind},
    )
    return secret


def read_secret(session: Session, ref: str, *, actor: Actor) -> Secret:
    return _scoped(session, ref, actor, "read")


def _matches(
    session: Session, ring: MasterKeyRing, organization_id: int, q: str
) -> ColumnElement[bool]:
    """Part of the name or URL (plain), or the whole username (its blind index, under each
    client key version still in use: a rotation may be half done)."""
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    keys = vault_keys.all_keys(session, ring, organization_id)
    return or_(
        Secret.name.ilike(pattern, escape="\\"),
        Secret.url.ilike(pattern, escape="\\"),
        fields.username_matches(keys, q),
    )


def list_secrets(
    session: Session,
    ring: MasterKeyRing,
    client: str,
    *,
    actor: Actor,
    after: int | None,
    limit: int,
    q: str | None = None,
    kind: str | None = None,
) -> list[Secret]:
    """Metadata of a client's secrets, never values, usernames or notes. ``q`` finds part of a
    name or URL, or a username exactly (whatever its case)."""
    org = inventory.organization(session, client)
    require_access(session, actor, org.id, action="list", object_id=None)
    query = select(Secret).where(Secret.organization_id == org.id).order_by(Secret.id).limit(limit)
    if after is not None:
        query = query.where(Secret.id > after)
    if kind:
        query = query.where(Secret.kind == kind)
    if q:
        query = query.where(_matches(session, ring, org.id, q))
    return list(session.scalars(query).all())


def update_secret(
    session: Session, ring: MasterKeyRing, ref: str, data: SecretUpdate, *, actor: Actor
) -> Secret:
    secret = _scoped(session, ref, actor, "update")
    changes = data.model_dump(exclude_unset=True)
    sealed: dict[str, str | None] = {}
    if changes.pop("value", None) is not None:
        sealed[fields.VALUE_FIELD] = data.value.get_secret_value()  # type: ignore[union-attr]
    for name in (fields.USERNAME_FIELD, fields.NOTES_FIELD):
        if name in changes:
            sealed[name] = changes.pop(name)
    if "system" in changes:
        code = changes.pop("system")
        secret.system = resolve(session, System, code, "system") if code else None
    for name, new in changes.items():
        if new is not None or name == "url":
            setattr(secret, name, new)
    if sealed:
        _reseal(session, ring, secret, sealed)
    secret.updated_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="vault.secret_update",
        object_type="secret",
        object_id=secret.ref,
        organization_id=secret.organization_id,
        details={"fields": sorted(data.model_dump(exclude_unset=True))},
    )
    return secret


def delete_secret(session: Session, ref: str, *, actor: Actor) -> None:
    secret = _scoped(session, ref, actor, "delete")
    organization_id = secret.organization_id
    session.delete(secret)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.secret_delete",
        object_type="secret",
        object_id=ref,
        organization_id=organization_id,
    )


def reveal_secret(
    session: Session,
    ring: MasterKeyRing,
    ref: str,
    reason: str,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Revealed:
    """The value, with its username and notes, decrypted on the server, with the reveal audited
    in the same transaction: if the audit write fails, the caller's commit fails and nothing is
    returned."""
    secret = _scoped(session, ref, actor, "reveal")
    keys = vault_keys.all_keys(session, ring, secret.organization_id)
    opened = fields.open_fields(keys, secret)
    moment = now or utcnow()
    secret.last_revealed_at = moment
    audit.record(
        session,
        actor=actor,
        action="vault.reveal",
        object_type="secret",
        object_id=secret.ref,
        organization_id=secret.organization_id,
        details={"reason": reason, "kind": secret.kind},
        now=moment,
    )
    session.flush()
    return Revealed(
        ref=secret.ref,
        value=opened.value,
        username=opened.username,
        notes=opened.notes,
        revealed_at=moment,
    )


# -- grants -----------------------------------------------------------------------------------


def grant(session: Session, user_id: int, client: str, *, actor: Actor) -> VaultGrant:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    org = inventory.organization(session, client)
    existing = session.get(VaultGrant, {"user_id": user_id, "organization_id": org.id})
    if existing is not None:
        return existing
    row = VaultGrant(user_id=user_id, organization_id=org.id, granted_by=actor.name)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.grant",
        object_type="user",
        object_id=user_id,
        organization_id=org.id,
    )
    return row


def revoke_grant(session: Session, user_id: int, client: str, *, actor: Actor) -> None:
    org = inventory.organization(session, client)
    row = session.get(VaultGrant, {"user_id": user_id, "organization_id": org.id})
    if row is None:
        raise NotFound("That user has no grant for that client.")
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.grant_revoke",
        object_type="user",
        object_id=user_id,
        organization_id=org.id,
    )


def grants_of(session: Session, user_id: int) -> list[tuple[VaultGrant, str]]:
    rows = session.execute(
        select(VaultGrant, Organization.code)
        .join(Organization, Organization.id == VaultGrant.organization_id)
        .where(VaultGrant.user_id == user_id)
        .order_by(Organization.code)
    ).all()
    return [(row, code) for row, code in rows]

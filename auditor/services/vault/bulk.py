"""Bulk storing of secrets in one client's vault: sealed in memory, inserted with executemany.

The per-secret path (services/vault.create) flushes and audits one secret at a time; a bulk store
(a large migration, the benchmark) unwraps the client's current key once, inserts a batch at a
time and audits each batch with its counts. Values, usernames and notes are sealed alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Organization, Secret, System
from auditor.models.vault import new_secret_ref
from auditor.schemas.vault import SecretIn
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from auditor.services.vault import keys as vault_keys
from auditor.services.vault.fields import seal_fields
from auditor.services.vault.store import require_access
from crypto.blind_index import BlindIndex
from crypto.keys import MasterKeyRing

DEFAULT_BATCH = 2000


def _chunks(items: Iterable[SecretIn], size: int) -> Iterator[list[SecretIn]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def store_many(
    session: Session,
    ring: MasterKeyRing,
    client: str,
    items: Iterable[SecretIn],
    *,
    actor: Actor,
    batch: int = DEFAULT_BATCH,
) -> list[str]:
    """Seal and store every item for the client (its code); returns their refs, in order.

    One ``vault.secret_store_many`` audit event per batch (count and kinds: no names or values),
    in the caller's transaction: the caller commits.
    """
    org = session.scalar(select(Organization).where(Organization.code == client))
    if org is None:
        raise NotFound("No organization with that code.")
    require_access(session, actor, org.id, action="create", object_id=None)
    key = vault_keys.current_key(session, ring, org.id)
    assert key is not None
    systems: dict[str, int] = dict(session.execute(select(System.code, System.id)).all())
    index, refs = BlindIndex(key), []
    for chunk in _chunks(items, batch):
        now = utcnow()
        rows = []
        for data in chunk:
            system_id = systems.get(data.system) if data.system else None
            if data.system and system_id is None:
                raise ValidationFailed(
                    "Unknown system code.", [FieldError("system", f"no system '{data.system}'")]
                )
            ref = new_secret_ref()
            sealed = seal_fields(
                key,
                ref,
                value=data.plain_value(),
                username=data.username,
                notes=data.notes,
                index=index,
            )
            rows.append(
                {
                    "ref": ref,
                    "organization_id": org.id,
                    "name": data.name,
                    "kind": data.kind,
                    "url": data.url,
                    "system_id": system_id,
                    **sealed,
                    "created_by": actor.name,
                    "created_at": now,
                    "updated_at": now,
                    "value_changed_at": now,
                }
            )
            refs.append(ref)
        session.execute(insert(Secret), rows)
        audit.record(
            session,
            actor=actor,
            action="vault.secret_store_many",
            object_type="secret",
            organization_id=org.id,
            details={
                "count": len(rows),
                "kinds": dict(sorted(Counter(row["kind"] for row in rows).items())),
                "client_key_version": key.version,
            },
        )
    return refs

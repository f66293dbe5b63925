"""Sealed usernames and notes: the plain ``secret.username`` and ``secret.notes`` become AUS blobs
like the value, and the username gets a keyed blind index for exact search.

- ``secret.username_sealed``, ``secret.notes_sealed``: AUS blobs, fields ``username`` and ``notes``,
  under the row's own client key version (``client_key_version``), like its value.
- ``secret.username_index``: HMAC-SHA256 of the normalised username under a key derived from
  that client key (docs/crypto-format.md, section 7), and an index on it per organization.
- ``secret.username``, ``secret.notes``: sealed, then dropped.

Sealing needs the vault master key ring. ``auditor db upgrade`` passes the configured one
(AUDITOR_MASTER_KEY_FILE or AUDITOR_MASTER_KEY); a database with no username and no note to
seal needs none. The ring is checked against the stored canaries before anything is written. The
whole upgrade is one transaction (transactional DDL, on SQLite too): interrupted or refused, it
leaves the database at 0008 with nothing changed, and running it again starts over. On SQLite
``secure_delete`` zeroes the pages the plaintext leaves; on PostgreSQL run ``VACUUM FULL secret``
afterwards (docs/operator-guide.md, "Upgrading").

The downgrade decrypts them back into plain columns (it needs the ring too).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from crypto import envelope
from crypto.blind_index import BlindIndex
from crypto.errors import CryptoError, KeyRingError
from crypto.keys import MasterKeyRing

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 500
INDEX = "ix_secret_organization_id_username_index"
FIELDS = {"username": "username_sealed", "notes": "notes_sealed"}  # plain column -> sealed one

secret = sa.table(
    "secret",
    sa.column("id", sa.Integer),
    sa.column("organization_id", sa.Integer),
    sa.column("ref", sa.String),
    sa.column("client_key_version", sa.Integer),
    sa.column("username", sa.String),
    sa.column("notes", sa.Text),
    sa.column("username_sealed", sa.LargeBinary),
    sa.column("username_index", sa.String),
    sa.column("notes_sealed", sa.LargeBinary),
)
client_key = sa.table(
    "client_key",
    sa.column("organization_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("wrapped", sa.LargeBinary),
    sa.column("master_version", sa.Integer),
)
master_key_canary = sa.table("master_key_canary", sa.column("canary", sa.LargeBinary))


def _ring(connection: sa.Connection, pending: int, what: str) -> MasterKeyRing:
    """The configured master key ring, checked against the stored canaries before any use."""
    source: MasterKeyRing | Callable[[], MasterKeyRing] | None = context.config.attributes.get(
        "master_key_ring"
    )
    if source is None:
        raise KeyRingError(
            f"migration 0009 must {what} {pending} secret(s) and needs the vault master key: run "
            "'auditor db upgrade' (or downgrade) with AUDITOR_MASTER_KEY_FILE or "
            "AUDITOR_MASTER_KEY set as for the service; nothing was changed"
        )
    ring = source if isinstance(source, MasterKeyRing) else source()
    canaries = [bytes(blob) for blob in connection.scalars(sa.select(master_key_canary.c.canary))]
    try:
        envelope.check_canaries(ring, canaries)
    except CryptoError as exc:
        raise KeyRingError(f"migration 0009: {exc}; nothing was changed") from None
    used = set(connection.scalars(sa.select(client_key.c.master_version).distinct()))
    missing = sorted(used - set(ring.versions))
    if missing:
        raise KeyRingError(
            f"migration 0009: client keys are wrapped under master key version(s) {missing}, "
            "which the configured key ring lacks; nothing was changed"
        )
    return ring


class _ClientKeys:
    """Each (organization, client key version) unwrapped once, with its blind index."""

    def __init__(self, connection: sa.Connection, ring: MasterKeyRing) -> None:
        self.connection, self.ring = connection, ring
        self.keys: dict[tuple[int, int], tuple[envelope.ClientKey, BlindIndex]] = {}

    def __call__(self, organization_id: int, version: int, ref: str) -> envelope.ClientKey:
        return self.get(organization_id, version, ref)[0]

    def get(
        self, organization_id: int, version: int, ref: str
    ) -> tuple[envelope.ClientKey, BlindIndex]:
        found = self.keys.get((organization_id, version))
        if found is None:
            wrapped = self.connection.scalar(
                sa.select(client_key.c.wrapped).where(
                    client_key.c.organization_id == organization_id,
                    client_key.c.version == version,
                )
            )
            if wrapped is None:
                raise KeyRingError(
                    f"migration 0009: secret {ref} names client key version {version} of "
                    f"organization {organization_id}, which does not exist (its value cannot be "
                    "read either): delete that secret or restore the key; nothing was changed"
                )
            key = envelope.unwrap_client_key(self.ring, str(organization_id), bytes(wrapped))
            found = self.keys[(organization_id, version)] = (key, BlindIndex(key))
        return found


def _rows(connection: sa.Connection, where: Any) -> Iterator[Sequence[sa.Row[Any]]]:
    """Batches of the rows to convert, by id; each batch is updated before the next is read."""
    after = 0
    while True:
        rows = connection.execute(
            sa.select(secret).where(where, secret.c.id > after).order_by(secret.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _count(connection: sa.Connection, where: Any) -> int:
    return connection.scalar(sa.select(sa.func.count()).select_from(secret).where(where)) or 0


def _seal_plaintext(connection: sa.Connection) -> None:
    """Seal every plain username and note under its row's client key version, and blank them."""
    plain = sa.or_(secret.c.username.is_not(None), secret.c.notes.is_not(None))
    pending = _count(connection, plain)
    if not pending:
        return
    keys = _ClientKeys(connection, _ring(connection, pending, "seal the usernames and notes of"))
    update = (
        secret.update()
        .where(secret.c.id == sa.bindparam("b_id"))
        .values(
            username_sealed=sa.bindparam("b_username_sealed"),
            username_index=sa.bindparam("b_username_index"),
            notes_sealed=sa.bindparam("b_notes_sealed"),
            username=None,
            notes=None,
        )
    )
    for rows in _rows(connection, plain):
        params = []
        for row in rows:
            key, index = keys.get(row.organization_id, row.client_key_version, row.ref)
            values: dict[str, Any] = {"b_id": row.id}
            for field, column in FIELDS.items():
                text = getattr(row, field) or None  # an empty username is no username
                values[f"b_{column}"] = (
                    None
                    if text is None
                    else envelope.seal(key, text.encode("utf-8"), secret_id=row.ref, field=field)
                )
            values["b_username_index"] = index(row.username) if row.username else None
            params.append(values)
        connection.execute(update, params)


def _open_sealed(connection: sa.Connection) -> None:
    """The downgrade: decrypt every sealed username and note back into its plain column."""
    sealed = sa.or_(secret.c.username_sealed.is_not(None), secret.c.notes_sealed.is_not(None))
    pending = _count(connection, sealed)
    if not pending:
        return
    keys = _ClientKeys(connection, _ring(connection, pending, "decrypt the usernames and notes of"))
    update = (
        secret.update()
        .where(secret.c.id == sa.bindparam("b_id"))
        .values(username=sa.bindparam("b_username"), notes=sa.bindparam("b_notes"))
    )
    for rows in _rows(connection, sealed):
        params = []
        for row in rows:
            key = keys(row.organization_id, row.client_key_version, row.ref)
            values: dict[str, Any] = {"b_id": row.id}
            for field, column in FIELDS.items():
                blob = getattr(row, column)
                values[f"b_{field}"] = (
                    None
                    if blob is None
                    else envelope.unseal(key, bytes(blob), secret_id=row.ref, field=field).decode()
                )
            params.append(values)
        connection.execute(update, params)


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # the space the plaintext leaves (updated rows, the rebuilt table) is zeroed, not just
        # freed: a copy of the database file keeps no trace of it
        secure_delete = connection.exec_driver_sql("PRAGMA secure_delete").scalar()
        connection.exec_driver_sql("PRAGMA secure_delete = ON")
    with op.batch_alter_table("secret") as batch:
        batch.add_column(sa.Column("username_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("username_index", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("notes_sealed", sa.LargeBinary(), nullable=True))
    _seal_plaintext(connection)
    with op.batch_alter_table("secret") as batch:
        batch.drop_column("notes")
        batch.drop_column("username")
        batch.create_index(INDEX, ["organization_id", "username_index"], unique=False)
    if sqlite:
        connection.exec_driver_sql(f"PRAGMA secure_delete = {int(secure_delete or 0)}")


def downgrade() -> None:
    with op.batch_alter_table("secret") as batch:
        batch.drop_index(INDEX)
        batch.add_column(sa.Column("username", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
    _open_sealed(op.get_bind())
    with op.batch_alter_table("secret") as batch:
        batch.drop_column("notes_sealed")
        batch.drop_column("username_index")
        batch.drop_column("username_sealed")

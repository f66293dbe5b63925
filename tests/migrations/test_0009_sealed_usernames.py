"""Migration 0009 on a database made before it: every plain username and note sealed under its
row's client key version, nothing plain left in any row (nor, on SQLite, in the file), refused
without the right master key, all or nothing when interrupted, and undone by the downgrade."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import click.testing
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from auditor import create_app, migrate
from auditor.db import get_database, make_engine
from auditor.models import Organization
from auditor.services.vault import client_rotation
from auditor.services.vault import keys as vault_keys
from auditor.services.vault import store as vault
from crypto import envelope
from crypto.errors import KeyRingError
from crypto.keys import MasterKeyRing, new_key_ring
from tests import factories
from tests.factories import ACTOR, app_settings, keyring

BEFORE = "0008"
AFTER = migrate.head_revision()  # upgraded to the head, 0009 included
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
# (client, client key version, name, username, notes): acme is halfway through a key rotation
ROWS = [
    ("acme", 1, "Domain admin", "ACME\\Administrateur-Érable", "Recovery codes 4471-0923"),
    ("acme", 1, "Firewall", "fw-Ops-Zephyr", None),
    ("acme", 2, "Alarm code", None, "Door code 9184 and the Zephyr safe"),
    ("acme", 2, "Backup API", None, None),
    ("acme", 2, "Blank username", "", ""),
    ("qc-client", 1, "Portail", "Quebec-Xylophone@exemple.ca", "Questions: Xylophone-7"),
]
PLAIN = [text for row in ROWS for text in row[3:] if text]
OLD_SECRET = sa.table(
    "secret",
    *(
        sa.column(name)
        for name in (
            "ref", "organization_id", "name", "kind", "username", "url", "notes", "value",
            "client_key_version", "created_by", "created_at", "updated_at", "value_changed_at",
        )
    ),
)  # fmt: skip


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    """The database at 0008 holding ROWS as the code before 0009 stored them: plain usernames
    and notes, values sealed under the key version of each row."""
    engine = make_engine(url)
    migrate.upgrade(engine, BEFORE)
    with Session(engine) as session:
        factories.inventory(session)
        ring = keyring()
        vault_keys.check_master_keys(session, ring)
        orgs = {org.code: org.id for org in session.scalars(sa.select(Organization))}
        keys = {("acme", 1): vault_keys.add_version(session, ring, orgs["acme"])}
        keys[("acme", 2)] = vault_keys.add_version(session, ring, orgs["acme"])
        keys[("qc-client", 1)] = vault_keys.add_version(session, ring, orgs["qc-client"])
        for n, (code, version, name, username, notes) in enumerate(ROWS):
            ref = f"sec_{n:032x}"
            value = envelope.seal(
                keys[(code, version)], f"pw-{n}".encode(), secret_id=ref, field="value"
            )
            session.execute(
                OLD_SECRET.insert().values(
                    ref=ref, organization_id=orgs[code], name=name, kind="password",
                    username=username, url=None, notes=notes, value=value,
                    client_key_version=version, created_by="test", created_at=NOW,
                    updated_at=NOW, value_changed_at=NOW,
                )
            )  # fmt: skip
        session.commit()
    yield engine
    engine.dispose()


def every_row(engine: sa.Engine) -> str:
    """Every row of every table, as text: what a dump of the database shows."""
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        return "\n".join(
            str(row) for table in tables for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"')
        )


def shows(dump: str, text: str) -> bool:
    """Whether a dump holds the text, as is or as a row's repr escapes it."""
    return text in dump or repr(text)[1:-1] in dump


def columns(engine: sa.Engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("secret")}


def plain_rows(engine: sa.Engine) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(sa.text("SELECT name, username, notes FROM secret ORDER BY id"))
        ]


def test_upgrade_seals_every_username_and_note_and_leaves_no_plaintext(engine):
    before = every_row(engine)
    assert all(shows(before, text) for text in PLAIN)  # as the old code left it
    migrate.upgrade(engine, keyring=keyring)
    assert migrate.current_revision(engine) == AFTER
    assert {"username", "notes"}.isdisjoint(columns(engine))
    after = every_row(engine)
    assert not any(shows(after, text) for text in PLAIN)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT name, client_key_version, username_sealed, username_index, notes_sealed "
                "FROM secret ORDER BY id"
            )
        ).all()
    for (_, version, _, username, notes), row in zip(ROWS, rows, strict=True):
        for plain, blob in ((username, row.username_sealed), (notes, row.notes_sealed)):
            if plain:  # sealed under the row's own version: the rotation can finish later
                assert envelope.parse_sealed(bytes(blob)).client_key_version == version
            else:
                assert blob is None  # an empty username or note is none
        assert (row.username_index is None) == (not username)


def test_the_sealed_data_is_read_searched_and_rotated_by_the_service(engine):
    migrate.upgrade(engine, keyring=keyring)
    ring = keyring()
    with Session(engine) as session:
        for code, _, name, username, notes in ROWS:
            [secret] = vault.list_secrets(
                session, ring, code, actor=ACTOR, after=None, limit=50, q=name
            )
            revealed = vault.reveal_secret(session, ring, secret.ref, "after 0009", actor=ACTOR)
            assert (revealed.username, revealed.notes) == (username or None, notes or None)
            if username:
                found = vault.list_secrets(
                    session, ring, code, actor=ACTOR, after=None, limit=50, q=username.upper()
                )
                assert [s.ref for s in found] == [secret.ref]
        result = client_rotation.rotate_client(session, ring, "acme", actor=ACTOR)
        assert (result.plan.resumes, result.rewrapped, result.deleted_versions) == (True, 2, (1,))
        [secret] = vault.list_secrets(
            session, ring, "acme", actor=ACTOR, after=None, limit=50, q="FW-OPS-ZEPHYR"
        )
        assert vault.reveal_secret(session, ring, secret.ref, "x", actor=ACTOR).username == (
            "fw-Ops-Zephyr"
        )
        session.commit()


def test_on_sqlite_no_plaintext_is_left_in_the_database_file(engine, url):
    if not url.startswith("sqlite"):
        pytest.skip("PostgreSQL: VACUUM FULL secret reclaims the old row versions")
    migrate.upgrade(engine, keyring=keyring)  # which also empties the write-ahead log
    path = Path(engine.url.database)
    files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for text in PLAIN:
        assert text.encode("utf-8") not in files


def unchanged(engine: sa.Engine) -> None:
    assert migrate.current_revision(engine) == BEFORE
    assert {"username", "notes"} <= columns(engine) and "username_sealed" not in columns(engine)
    assert plain_rows(engine) == [(name, username, notes) for _, _, name, username, notes in ROWS]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (None, r"must seal the usernames and notes of 5 secret\(s\) and needs the vault master"),
        (new_key_ring, "master key version 1 does not match its canary"),
        (lambda: MasterKeyRing({2: b"k" * 32}, 2), "version 1 is missing from the master key"),
    ],
)
def test_upgrade_without_the_right_master_key_is_refused_and_changes_nothing(
    engine, source, message
):
    with pytest.raises(KeyRingError, match=message) as refused:
        migrate.upgrade(engine, keyring=source)
    assert "nothing was changed" in str(refused.value)
    unchanged(engine)


class Interrupted(Exception):
    """Stands for a crash or Ctrl-C in the middle of the upgrade."""


def test_an_interrupted_upgrade_changes_nothing_and_runs_again(engine, monkeypatch):
    seal, calls = envelope.seal, []

    def crash_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Interrupted
        return seal(*args, **kwargs)

    monkeypatch.setattr(envelope, "seal", crash_on_the_third)
    with pytest.raises(Interrupted):
        migrate.upgrade(engine, keyring=keyring)
    unchanged(engine)
    monkeypatch.setattr(envelope, "seal", seal)
    migrate.upgrade(engine, keyring=keyring)
    assert migrate.current_revision(engine) == AFTER
    assert not any(shows(every_row(engine), text) for text in PLAIN)


def test_downgrade_opens_them_back_and_upgrade_seals_them_again(engine):
    migrate.upgrade(engine, keyring=keyring)
    with pytest.raises(KeyRingError, match="decrypt the usernames and notes of 4 secret"):
        migrate.downgrade(engine, BEFORE)
    migrate.downgrade(engine, BEFORE, keyring=keyring)
    expected = [(name, username or None, notes or None) for _, _, name, username, notes in ROWS]
    assert plain_rows(engine) == expected
    migrate.upgrade(engine, keyring=keyring)
    assert not any(shows(every_row(engine), text) for text in PLAIN)


def db_upgrade(url: str, **settings: str) -> click.testing.Result:
    app = create_app(app_settings(url, **settings))
    try:
        return app.test_cli_runner().invoke(args=["db", "upgrade"])
    finally:
        get_database(app).engine.dispose()


def test_db_upgrade_seals_with_the_configured_master_key(engine, url):
    refused = db_upgrade(url, MASTER_KEY="b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE=")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "does not match its canary" in refused.output
    unchanged(engine)
    done = db_upgrade(url)
    assert done.exit_code == 0, done.output
    assert f"database at revision {AFTER}" in done.output
    assert not any(shows(every_row(engine), text) for text in PLAIN)

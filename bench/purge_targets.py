"""The databases of bench/purge.py: an SQLite file or a scratch PostgreSQL database.

Each is loaded in bulk, copied for the baselines, polled and queried for the checks.
"""

from __future__ import annotations

import array
import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from common import client_code, log
from purge_data import SUBJECTS, Dataset

LOAD_CHUNK = 20_000
Copy = bool | str  # which copy of a database: the engine's, the raw baseline's, the floor's


# -- the databases -------------------------------------------------------------------------------
def _iso(moment: dt.datetime | dt.date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        return moment.isoformat(sep=" ", timespec="microseconds")
    return moment.isoformat()


class Target:
    """One database under test. The parent only creates, polls and drops it (stdlib and psycopg:
    it must stay small, see ``main``); the children load, copy and check it."""

    name = ""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def url(self, copy: Copy = False) -> str:
        """``copy``: False for the engine's database, True for the raw baseline's, "floor"."""
        raise NotImplementedError

    def create(self) -> None:
        """An empty database (the schema comes from ``auditor db upgrade``)."""

    def drop(self) -> None:
        """Remove what ``create`` made (the temp folder goes by itself)."""

    def load(self, data: Dataset, ids: dict[str, dict[str, int]]) -> None:
        raise NotImplementedError

    def snapshot(self) -> None:
        """The copy the raw baseline deletes from, taken before the engine runs."""
        raise NotImplementedError

    def query(self, sql: str, params: tuple[Any, ...] = (), copy: bool = False) -> list[Any]:
        raise NotImplementedError

    def count_ids(self, ids: array.array[int]) -> int:
        """How many of ``ids`` are still in ``record``."""
        raise NotImplementedError

    def size_mb(self) -> float:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError

    def scalar(self, sql: str, copy: bool = False) -> Any:
        return self.query(sql, copy=copy)[0][0]


class SQLiteTarget(Target):
    name = "sqlite"

    def path(self, copy: Copy = False) -> Path:
        return self.folder / {False: "auditor.db", True: "raw-delete.db", "floor": "floor.db"}[copy]

    def url(self, copy: Copy = False) -> str:
        return f"sqlite:///{self.path(copy)}"

    def connect(self, copy: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path(copy), isolation_level=None)
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def load(self, data: Dataset, ids: dict[str, dict[str, int]]) -> None:
        """executemany of pre-built rows, in chunks, in the format SQLAlchemy writes."""
        conn = self.connect()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # the load only: the app runs with NORMAL
        now = _iso(data.now)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO data_subject (id, ref, display_name, kind, organization_id, is_quebec, "
            "created_at, updated_at) VALUES (?, ?, ?, 'client_staff', ?, 0, ?, ?)",
            (
                (sid, ref, name, ids["client"][client_code(c)], now, now)
                for sid, ref, name, c in data.subject_rows()
            ),
        )
        conn.executemany(
            "INSERT INTO subject_identifier (id, subject_id, kind, value, created_at) "
            "VALUES (?, ?, 'email', ?, ?)",
            ((s, s, data.email(s), now) for s in range(1, SUBJECTS + 1)),
        )
        records: list[tuple[Any, ...]] = []
        links: list[tuple[int, int]] = []
        insert_record = (
            "INSERT INTO record (id, system_id, external_id, category_id, organization_id, "
            "created_at, closed_at, document_date, event_at, content, content_digest, "
            "pan_redactions, ingested_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"
        )
        insert_link = "INSERT INTO record_subject (record_id, subject_id) VALUES (?, ?)"
        system, category, client = ids["system"], ids["category"], ids["client"]
        for row, subjects in data.records():
            rid, sys_code, ext, cat, c, created, closed, document, event, content, dig = row
            records.append(
                (rid, system[sys_code], ext, category[cat], client[client_code(c)], _iso(created),
                 _iso(closed), _iso(document), _iso(event), content, dig, now, now)
            )  # fmt: skip
            links.extend((rid, s) for s in subjects)
            if len(records) == LOAD_CHUNK:
                conn.executemany(insert_record, records)
                conn.executemany(insert_link, links)
                records, links = [], []
                if rid % 200_000 == 0:
                    log(f"  loaded {rid:,} records")
        conn.executemany(insert_record, records)
        conn.executemany(insert_link, links)
        conn.execute("COMMIT")
        conn.close()

    def snapshot(self) -> None:
        conn = self.connect()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        shutil.copyfile(self.path(), self.path(copy=True))
        shutil.copyfile(self.path(), self.path(copy="floor"))

    def query(self, sql: str, params: tuple[Any, ...] = (), copy: bool = False) -> list[Any]:
        conn = self.connect(copy)
        try:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()

    def count_ids(self, ids: array.array[int]) -> int:
        conn = self.connect()
        try:
            found = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500].tolist()
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT count(*) FROM record WHERE id IN ({marks})"
                found += conn.execute(sql, chunk).fetchone()[0]
            return found
        finally:
            conn.close()

    def size_mb(self) -> float:
        return sum(p.stat().st_size for p in self.folder.glob("auditor.db*")) / 1e6

    def version(self) -> str:
        return sqlite3.sqlite_version


class PostgresTarget(Target):
    """A scratch database ``database`` (and ``<database>_raw``) next to ``admin_url``'s."""

    name = "postgresql"

    def __init__(self, folder: Path, admin_url: str, database: str) -> None:
        super().__init__(folder)
        self.admin = urlsplit(admin_url)._replace(scheme="postgresql")
        self.database = database
        self.created: list[str] = []

    def _name(self, copy: Copy) -> str:
        return {False: self.database, True: f"{self.database}_raw"}.get(
            copy, f"{self.database}_{copy}"
        )

    def _conninfo(self, database: str | None) -> str:
        parts = self.admin._replace(path=f"/{database}") if database else self.admin
        return urlunsplit(parts)

    def url(self, copy: Copy = False) -> str:
        parts = self.admin._replace(scheme="postgresql+psycopg", path=f"/{self._name(copy)}")
        return urlunsplit(parts)

    def connect(self, database: str | None = None) -> Any:
        import psycopg

        return psycopg.connect(self._conninfo(database), autocommit=True)

    def create(self) -> None:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.created.append(self.database)

    def drop(self) -> None:
        with self.connect() as conn:
            for name in (self._name(True), self._name("floor"), self.database):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def load(self, data: Dataset, ids: dict[str, dict[str, int]]) -> None:
        """COPY of pre-built text rows, then the sequences, then VACUUM ANALYZE."""

        def field(value: Any) -> str:
            if value is None:
                return "\\N"
            if isinstance(value, dt.datetime):
                return value.isoformat(sep=" ", timespec="microseconds") + "+00"
            return str(value).replace("\\", "\\\\")

        def line(*values: Any) -> str:
            return "\t".join(map(field, values)) + "\n"

        now = data.now
        system, category, client = ids["system"], ids["category"], ids["client"]
        with self.connect(self.database) as conn, conn.cursor() as cur:
            with cur.copy(
                "COPY data_subject (id, ref, display_name, kind, organization_id, is_quebec, "
                "created_at, updated_at) FROM STDIN"
            ) as copy:
                for sid, ref, name, c in data.subject_rows():
                    copy.write(
                        line(sid, ref, name, "client_staff", client[client_code(c)], "f", now, now)
                    )
            with cur.copy(
                "COPY subject_identifier (id, subject_id, kind, value, created_at) FROM STDIN"
            ) as copy:
                for s in range(1, SUBJECTS + 1):
                    copy.write(line(s, s, "email", data.email(s), now))
            columns = (
                "id, system_id, external_id, category_id, organization_id, created_at, "
                "closed_at, document_date, event_at, content, content_digest, pan_redactions, "
                "ingested_at, updated_at"
            )
            records: list[str] = []
            links: list[str] = []

            def flush() -> None:  # the links after their records (the foreign key)
                with cur.copy(f"COPY record ({columns}) FROM STDIN") as copy:
                    copy.write("".join(records))
                with cur.copy("COPY record_subject (record_id, subject_id) FROM STDIN") as copy:
                    copy.write("".join(links))
                records.clear()
                links.clear()

            for row, subjects in data.records():
                rid, sys_code, ext, cat, c, created, closed, document, event, content, dig = row
                records.append(
                    line(rid, system[sys_code], ext, category[cat], client[client_code(c)],
                         created, closed, document, event, content, dig, 0, now, now)
                )  # fmt: skip
                links.extend(f"{rid}\t{s}\n" for s in subjects)
                if len(records) == LOAD_CHUNK:
                    flush()
                    if rid % 200_000 == 0:
                        log(f"  loaded {rid:,} records")
            flush()
            for table in ("record", "data_subject", "subject_identifier"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            log("  VACUUM ANALYZE")
            cur.execute("VACUUM ANALYZE")

    def snapshot(self) -> None:
        with self.connect() as conn:
            for copy in (True, "floor"):
                conn.execute(f'CREATE DATABASE "{self._name(copy)}" TEMPLATE "{self.database}"')

    def query(self, sql: str, params: tuple[Any, ...] = (), copy: bool = False) -> list[Any]:
        with self.connect(self._name(copy)) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    def count_ids(self, ids: array.array[int]) -> int:
        sql = "SELECT count(*) FROM record WHERE id = ANY(%s)"
        return int(self.query(sql, (ids.tolist(),))[0][0])

    def size_mb(self) -> float:
        return int(self.scalar("SELECT pg_database_size(current_database())")) / 1e6

    def version(self) -> str:
        return str(self.scalar("SHOW server_version"))


def make_target(name: str, folder: Path, postgres_url: str, pg_database: str) -> Target:
    """The target called ``name`` ("sqlite" or "postgresql"), its files in ``folder``."""
    if name == "sqlite":
        return SQLiteTarget(folder)
    return PostgresTarget(folder, postgres_url, pg_database)

"""Benchmark of the retention purge (``auditor retention run --yes``) on SQLite and PostgreSQL.

Run with no arguments: 1,000,000 expired records plus 1,000,000 that must be kept, interleaved in
id order, on a fresh SQLite file and on a scratch PostgreSQL database (``--records N`` for a quick
run, ``--databases sqlite`` for one of them). Progress goes to stderr; the figures are one JSON
object on the last line of stdout.

- The data: 50 clients, 20,000 people (one email each), 60 % security logs (created more than a
  year ago when expired, within the last 330 days when kept), 30 % tickets (closed more than
  seven years ago / within six years or still open), 10 % invoices (document date more than
  8.5 years ago / within five years); about one subject link per record and ~200 bytes of
  content. Holds (placed through ``holds.place``): two clients, the small ``legacy-siem`` system,
  twelve subjects and four records, about 5 % of the expired records; one more client hold was
  released a month ago and must not block anything. Rows are bulk-loaded with executemany
  (SQLite) or COPY (PostgreSQL) after ``auditor db upgrade``, ``auditor inventory load-defaults``
  and ``auditor retention rules load-defaults``; generation is timed apart from the figures.
- The engine: the real ``auditor retention run --yes --as-of TODAY`` in a child process (default
  batch, ``AUDITOR_PURGE_BATCH_SIZE``), so that its peak RSS (from ``wait4``) is its own; its
  wall time includes starting the CLI (``<db>_cli_startup_seconds`` measures that alone). A
  child's ``ru_maxrss`` starts from its parent's high-water mark, so this process stays small
  (``parent_peak_rss_mb``): the generation, the load and the checks run in children too.
- The raw baseline, in the same run on the same database as generated (a copy taken before the
  engine ran: the file for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL): the ids the
  engine must dispose of, deleted with ``DELETE FROM record WHERE id IN (...)``, 1,000 per
  transaction, through the app's engine and driver (SQLite foreign keys on: the subject links
  cascade as they do for the engine), in another child. ``<db>_throughput_ratio`` is the engine's
  records/s over the raw delete's rows/s.
- The floor (bench/purge_floor.py), on a third copy: the same DELETEs plus one disposition row
  per record written with the engine's bulk insert in the same transaction, nothing read or
  evaluated. ``<db>_floor_ratio`` (its rows/s over the raw delete's) is the most any engine
  writing R20 rows could reach, for reading ``<db>_throughput_ratio`` against.
- Checks: the engine disposed of exactly the expired records that no hold covers (the set of
  disposition rows equals that set), every held record is still there, the links left are those
  of the records left, one disposition row per disposed record, and the people left with no
  record were removed. ``meets_target``: ratio at least 0.5 and peak RSS under 300 MB on every
  database, with every check passing.
"""

from __future__ import annotations

import argparse
import array
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_RECORDS = 1_000_000  # expired; as many again are kept
DATABASES = ("sqlite", "postgresql")
POSTGRES_URL = "postgresql://postgres@127.0.0.1/test"
CLIENTS = 50
SUBJECTS = 20_000
SEED = 20261123
RAW_BATCH = 1000
LOAD_CHUNK = 20_000
TARGET_RATIO = 0.5
TARGET_PEAK_RSS_MB = 300
CLI = [sys.executable, "-c", "from auditor.cli import main; main()"]
SYSTEMS = (
    ("psa", "psa"),
    ("billing", "billing"),
    ("siem", "log_store"),
    ("legacy-siem", "log_store"),
)
HELD_CLIENTS = (6, 30)  # client-07, client-31: a client hold each
RELEASED_CLIENT = 11  # client-12: a hold released a month ago, which blocks nothing
HELD_SYSTEM = "legacy-siem"  # about 1 % of the records: a system hold
HELD_SUBJECTS = 12  # ten people with kept records too, two whose records are all expired
HELD_RECORDS = 4
SECOND_SUBJECT = 0.05  # records naming a second person of the same client
EXPIRED_ONLY = 20  # one person in 20 has only expired records (removed once they are gone)
_RUN = re.compile(r"Purge run (\d+) (\w+): (\d+) record\(s\) disposed")
_SUBJECTS = re.compile(r"subjects removed [^:]*: (\d+)")
_HOLD = re.compile(r"blocked \(hold\): (\d+)")
Copy = bool | str  # which copy of a database: the engine's, the raw baseline's, the floor's

FIRST = (
    "alex",
    "sam",
    "jordan",
    "marie",
    "luc",
    "priya",
    "chen",
    "fatima",
    "noah",
    "olivia",
    "jean",
    "sofia",
    "omar",
    "emma",
    "liam",
    "ava",
    "ethan",
    "mia",
    "lucas",
    "zoe",
)
LAST = (
    "tremblay",
    "gagnon",
    "roy",
    "cote",
    "bouchard",
    "smith",
    "brown",
    "wilson",
    "martin",
    "lee",
    "patel",
    "nguyen",
    "singh",
    "campbell",
    "morin",
    "lavoie",
    "fortin",
    "khan",
)
TICKET_SUMMARIES = (
    "Printer offline on floor 2",
    "Outlook keeps asking for password",
    "VPN drops every hour",
    "New hire laptop setup",
    "Shared drive permissions",
    "Phish report: suspicious invoice",
    "MFA reset requested",
    "Slow Wi-Fi in boardroom",
    "Backup job failed overnight",
)
TICKET_NOTES = (
    "Called the user, reproduced the issue and applied the vendor fix.",
    "Remote session: cleared cached credentials and re-enrolled the device.",
    "Replaced the part on site; user confirmed everything works.",
)
LOG_EVENTS = (
    ("login_success", "info"),
    ("login_failed", "warning"),
    ("mfa_challenge", "info"),
    ("password_change", "info"),
    ("account_locked", "warning"),
    ("malware_blocked", "high"),
)
SKUS = (("MSP-SEAT", 8900), ("M365-BP", 2640), ("BKP-1TB", 4500), ("HOUR-T1", 11000))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def client_code(index: int) -> str:
    return f"client-{index + 1:02d}"


# -- the data ------------------------------------------------------------------------------------
class Dataset:
    """The records, in id order, and what the purge must do with them.

    Deterministic for a seed and a day: the SQLite and PostgreSQL databases get the same rows.
    ``disposed`` (ids the engine must dispose of) and ``held`` (expired ids under a hold) are
    filled while ``records`` runs, with ``subjects_removed`` (people left with no record).
    """

    def __init__(self, expired: int, now: dt.datetime, seed: int = SEED) -> None:
        self.expired = expired
        self.total = 2 * expired
        self.now = now.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)  # naive UTC
        self.today = self.now.date()
        self.rng = rng = random.Random(seed)
        flags = bytearray(b"\x01") * expired + bytearray(expired)
        rng.shuffle(flags)
        self.flags = flags  # flags[id - 1] == 1: expired
        self.refs = [f"sub_{rng.getrandbits(128):032x}" for _ in range(SUBJECTS)]
        self.names = [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(SUBJECTS)]
        # subject ids are index + 1; person i belongs to client i % CLIENTS
        self.all_of: list[list[int]] = [[] for _ in range(CLIENTS)]
        self.active_of: list[list[int]] = [[] for _ in range(CLIENTS)]
        for index in range(SUBJECTS):
            self.all_of[index % CLIENTS].append(index + 1)
            if (index + 1) % EXPIRED_ONLY:
                self.active_of[index % CLIENTS].append(index + 1)
        free = [c for c in range(CLIENTS) if c not in HELD_CLIENTS]
        active = [s for c in free for s in self.active_of[c]]
        gone = [s for c in free for s in self.all_of[c] if s % EXPIRED_ONLY == 0]
        self.held_subjects = set(rng.sample(active, HELD_SUBJECTS - 2) + rng.sample(gone, 2))
        expired_ids = (i + 1 for i in range(self.total) if flags[i])
        self.held_records = set(rng.sample(list(expired_ids), HELD_RECORDS))
        self.disposed = array.array("q")
        self.held = array.array("q")
        self.links = 0
        self.links_left = 0
        self.covered = 0  # records of any age under a hold in force: blocked (hold)
        self.subjects_removed = 0

    def email(self, subject: int) -> str:
        first, last = self.names[subject - 1]
        return f"{first}.{last}{subject}@{client_code((subject - 1) % CLIENTS)}.example.ca"

    def subject_rows(self) -> Iterator[tuple[int, str, str, int]]:
        """(id, ref, display name, client index) of every person."""
        for subject in range(1, SUBJECTS + 1):
            first, last = self.names[subject - 1]
            name = f"{first.title()} {last.title()}"
            yield subject, self.refs[subject - 1], name, (subject - 1) % CLIENTS

    def records(self) -> Iterator[tuple[tuple[Any, ...], list[int]]]:
        """((id, system, external id, category, client index, created_at, closed_at,
        document_date, event_at, content JSON, content digest), subject ids) in id order;
        datetimes are naive UTC."""
        import orjson

        rng = random.Random(self.rng.random())
        now, today = self.now, self.today
        kept_by = bytearray(SUBJECTS + 1)  # 1: linked to a record that stays
        linked = bytearray(SUBJECTS + 1)
        disposed, held = array.array("q"), array.array("q")
        links = links_left = covered = 0
        for record_id in range(1, self.total + 1):
            expired = self.flags[record_id - 1] == 1
            client = rng.randrange(CLIENTS)
            people = self.all_of[client] if expired else self.active_of[client]
            subjects = [rng.choice(people)]
            if rng.random() < SECOND_SUBJECT:
                other = rng.choice(people)
                if other != subjects[0]:
                    subjects.append(other)
            email = self.email(subjects[0])
            kind = rng.random()
            closed = document = event = None
            if kind < 0.6:  # security log: created + 365 days
                days = rng.uniform(400, 1100) if expired else rng.uniform(1, 330)
                created = event = now - dt.timedelta(days=days)
                system = HELD_SYSTEM if rng.random() < 1 / 60 else "siem"
                category = "security_logs"
                name, severity = rng.choice(LOG_EVENTS)
                address = f"10.{client}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                external_id = f"EV-{record_id:09d}"
                content: dict[str, Any] = {
                    "host": f"ws-{rng.randrange(500):03d}.{client_code(client)}.local",
                    "event": name,
                    "severity": severity,
                    "src_ip": address,
                    "message": f"{name} for {email} from {address}",
                }
            elif kind < 0.9:  # ticket: closed + 7 years
                if expired:
                    closed = now - dt.timedelta(days=rng.uniform(7 * 365 + 62, 11 * 365))
                else:
                    closed = now - dt.timedelta(days=rng.uniform(1, 6 * 365))
                created = closed - dt.timedelta(minutes=rng.randrange(10, 20_000))
                if not expired and rng.random() < 0.1:
                    closed = None  # still open: nothing to compute, kept
                system, category, external_id = "psa", "ticket_history", f"T-{record_id:09d}"
                content = {
                    "summary": rng.choice(TICKET_SUMMARIES),
                    "priority": rng.choice(("P1", "P2", "P3", "P4")),
                    "status": "open" if closed is None else "closed",
                    "technician": f"tech-{rng.randrange(40):02d}",
                    "notes": rng.choice(TICKET_NOTES),
                    "requester": email,
                }
            else:  # invoice: the later of document + 7 years and fiscal year-end + 6 years
                days = rng.uniform(8.5 * 365, 12 * 365) if expired else rng.uniform(1, 5 * 365)
                document = today - dt.timedelta(days=int(days))
                created = event = dt.datetime.combine(document, dt.time(12, 0))
                system, category = "billing", "billing_records"
                external_id = f"INV-{record_id:09d}"
                sku, price = rng.choice(SKUS)
                quantity = rng.randrange(1, 30)
                content = {
                    "invoice_no": f"{document.year}-{record_id:09d}",
                    "currency": "CAD",
                    "amount_cents": quantity * price,
                    "lines": [{"sku": sku, "qty": quantity, "unit_cents": price}],
                    "bill_to": email,
                }
            encoded = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
            row = (
                record_id,
                system,
                external_id,
                category,
                client,
                created,
                closed,
                document,
                event,
                encoded.decode(),
                hashlib.sha256(encoded).hexdigest(),
            )
            links += len(subjects)
            under_hold = (
                client in HELD_CLIENTS
                or system == HELD_SYSTEM
                or record_id in self.held_records
                or any(s in self.held_subjects for s in subjects)
            )
            covered += under_hold
            goes = expired and not under_hold
            if goes:
                disposed.append(record_id)
            else:
                if expired:
                    held.append(record_id)
                links_left += len(subjects)
            for subject in subjects:
                linked[subject] = 1
                if not goes:
                    kept_by[subject] = 1
            yield row, subjects
        self.disposed, self.held = disposed, held
        self.links, self.links_left, self.covered = links, links_left, covered
        self.subjects_removed = sum(
            1 for s in range(1, SUBJECTS + 1) if linked[s] and not kept_by[s]
        )


# -- children ------------------------------------------------------------------------------------
def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """One real ``auditor`` command in a child process: its wall seconds and its stdout."""
    started = time.perf_counter()
    proc = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"'auditor {' '.join(args)}' failed with status {proc.returncode}")
    return seconds, proc.stdout


def run_child(
    args: list[str],
    env: dict[str, str],
    poll: Callable[[], str | None] | None = None,
    every: float = 30.0,
) -> tuple[float, Any, str]:
    """Run a child; its wall seconds, its own rusage (wait4), and its stdout (echoed to stderr).
    ``poll`` (optional) says how far the child got, logged every ``every`` seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output: list[str] = []

    def copy(stream: Any) -> None:
        for line in stream:
            text = line.decode(errors="replace")
            output.append(text)
            sys.stderr.write(text)

    reader = threading.Thread(target=copy, args=(proc.stdout,), daemon=True)
    reader.start()
    next_poll = started + every
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
            if poll is not None and time.perf_counter() >= next_poll:
                next_poll += every
                try:
                    said = poll()
                except Exception as exc:  # progress only: never fail the run
                    said = f"({type(exc).__name__})"
                if said:
                    log(f"  {time.perf_counter() - started:.0f} s: {said}")
    except BaseException:  # interrupted: the child goes too (its database is about to)
        proc.terminate()
        os.wait4(proc.pid, 0)
        raise
    seconds = time.perf_counter() - started
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed with status {proc.returncode}: {' '.join(args[:6])}")
    return seconds, usage, "".join(output)


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


def make_target(options: argparse.Namespace, name: str, folder: Path) -> Target:
    if name == "sqlite":
        return SQLiteTarget(folder)
    return PostgresTarget(folder, options.postgres_url, options.pg_database)


# -- child: the data -----------------------------------------------------------------------------
def set_up(target: Target, env: dict[str, str], data: Dataset) -> dict[str, Any]:
    """Schema and defaults through the CLI; clients, systems, people, records, then the holds."""
    from sqlalchemy import select

    from auditor import create_app
    from auditor.db import get_database
    from auditor.models import DataCategory, Organization, System
    from auditor.schemas.holds import HoldIn
    from auditor.schemas.inventory import OrganizationIn, SystemIn
    from auditor.services import holds, inventory
    from auditor.services.context import Actor

    for args in (["db", "upgrade"], ["inventory", "load-defaults"]):
        run_cli(args, env)
    run_cli(["retention", "rules", "load-defaults"], env)
    app = create_app({"INSTANCE_PATH": env["AUDITOR_INSTANCE_PATH"], "DATABASE_URL": target.url()})
    database = get_database(app)
    actor = Actor.system("bench")
    with database.session() as session:
        for index in range(CLIENTS):
            code = client_code(index)
            org = OrganizationIn(code=code, name=f"Client {index + 1}", kind="client")
            inventory.create(session, inventory.KINDS["organizations"], org, actor=actor)
        for code, kind in SYSTEMS:
            system = SystemIn(code=code, name=code.upper(), kind=kind)  # type: ignore[arg-type]
            inventory.create(session, inventory.KINDS["systems"], system, actor=actor)
        session.commit()
        ids = {
            name: dict(session.execute(select(model.code, model.id)).all())
            for name, model in (
                ("client", Organization),
                ("system", System),
                ("category", DataCategory),
            )
        }
    started = time.perf_counter()
    target.load(data, ids)
    load_seconds = time.perf_counter() - started
    placed = data.now.replace(tzinfo=dt.UTC) - dt.timedelta(days=60)
    wanted = [("client", client_code(c)) for c in HELD_CLIENTS] + [("system", HELD_SYSTEM)]
    wanted += [("subject", data.refs[s - 1]) for s in sorted(data.held_subjects)]
    wanted += [("record", str(r)) for r in sorted(data.held_records)]
    with database.session() as session:
        for scope, value in wanted:
            hold = HoldIn(kind="legal", scope=scope, value=value, reason="Benchmark litigation")
            holds.place(session, hold, actor=actor, now=placed)
        released = HoldIn(
            kind="legal", scope="client", value=client_code(RELEASED_CLIENT), reason="Settled"
        )
        hold_row = holds.place(session, released, actor=actor, now=placed)
        holds.release(
            session, hold_row.id, reason="Settled", actor=actor, now=placed + dt.timedelta(days=30)
        )
        session.commit()
    database.engine.dispose()
    return {"load_seconds": load_seconds, "holds": len(wanted) + 1}


def prepare(target: Target, expired: int, now: dt.datetime) -> None:
    """Child: generate and load the data, place the holds, copy the database for the baseline;
    writes the ids to dispose of and the held ones next to it, prints the plan as JSON."""
    from auditor.config import DEFAULTS

    started = time.perf_counter()
    data = Dataset(expired, now)
    log(f"{target.name}: generating {data.total:,} records ({expired:,} expired)")
    setup = set_up(target, dict(os.environ), data)
    log(f"{target.name}: snapshot for the raw baseline")
    target.snapshot()
    (target.folder / "disposed.ids").write_bytes(data.disposed.tobytes())
    (target.folder / "held.ids").write_bytes(data.held.tobytes())
    plan = {
        "total": data.total,
        "disposed": len(data.disposed),
        "held": len(data.held),
        "covered": data.covered,
        "links": data.links,
        "links_left": data.links_left,
        "subjects_removed": data.subjects_removed,
        "holds": setup["holds"],
        "load_seconds": setup["load_seconds"],
        "seconds": time.perf_counter() - started,
        "database_mb": target.size_mb(),
        "batch": DEFAULTS["PURGE_BATCH_SIZE"][0],
        "as_of": data.today.isoformat(),
        "version": target.version(),
    }
    print(json.dumps(plan))


def _read_ids(path: Path) -> array.array[int]:
    ids = array.array("q")
    ids.frombytes(path.read_bytes())
    return ids


def check(target: Target) -> None:
    """Child: what the engine left behind, as JSON (the parent compares it with the plan)."""
    disposed = _read_ids(target.folder / "disposed.ids")
    refs = sorted(
        int(ref)
        for (ref,) in target.query(
            "SELECT subject_ref FROM disposition WHERE subject_type = 'record'"
        )
    )
    found = {
        "record_rows": len(refs),
        "ids_match": array.array("q", refs) == disposed,
        "subject_rows": target.scalar(
            "SELECT count(*) FROM disposition WHERE subject_type = 'data_subject'"
        ),
        "records_left": target.scalar("SELECT count(*) FROM record"),
        "links_left": target.scalar("SELECT count(*) FROM record_subject"),
        "people_left": target.scalar("SELECT count(*) FROM data_subject"),
        "held_left": target.count_ids(_read_ids(target.folder / "held.ids")),
    }
    print(json.dumps(found))


# -- child: the raw baseline ---------------------------------------------------------------------
def raw_delete(url: str, ids_file: Path) -> None:
    """Child: DELETE FROM record WHERE id IN (...), RAW_BATCH ids per transaction; prints JSON."""
    from sqlalchemy import delete, func, select

    from auditor.db import make_engine
    from auditor.models import Record, record_subject

    ids = _read_ids(ids_file)
    engine = make_engine(url)  # the app's engine: same driver, same pragmas (foreign keys on)
    table = Record.__table__
    deleted = 0
    with engine.connect() as conn:
        started = time.perf_counter()
        for start in range(0, len(ids), RAW_BATCH):
            chunk = ids[start : start + RAW_BATCH].tolist()
            with conn.begin():
                deleted += conn.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
            if (start // RAW_BATCH) % 200 == 199:
                log(f"  raw delete: {start + RAW_BATCH:,} ids")
        seconds = time.perf_counter() - started
        links_left = conn.scalar(select(func.count()).select_from(record_subject))
        conn.rollback()
    engine.dispose()
    print(json.dumps({"seconds": seconds, "deleted": deleted, "links_left": links_left}))


# -- the parent: one database --------------------------------------------------------------------
def last_json(output: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def bench_database(
    options: argparse.Namespace, name: str, folder: Path, now: dt.datetime
) -> dict[str, Any]:
    folder.mkdir(parents=True)
    target = make_target(options, name, folder)
    target.create()
    try:
        return _bench(options, target, now)
    finally:
        target.drop()


def _bench(options: argparse.Namespace, target: Target, now: dt.datetime) -> dict[str, Any]:
    name, folder = target.name, target.folder
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env.update(
        AUDITOR_INSTANCE_PATH=str(folder / "instance"),
        AUDITOR_DATABASE_URL=target.url(),
        AUDITOR_LOG_JSON="false",
    )
    run_cli(["instance", "init"], env)
    me = [sys.executable, str(Path(__file__).resolve()), "--records", str(options.records)]
    me += ["--postgres-url", options.postgres_url, "--pg-database", options.pg_database]
    where = ["--database", name, "--folder", str(folder)]
    _, _, output = run_child([*me, *where, "--prepare", now.isoformat()], env)
    plan = last_json(output)
    expected = plan["disposed"]
    log(
        f"{name}: generated in {plan['seconds']:.0f} s ({plan['load_seconds']:.0f} s loading), "
        f"{plan['database_mb']:.0f} MB; {expected:,} to dispose of, {plan['held']:,} held"
    )

    startup_seconds, _ = run_cli(["retention", "runs"], env)
    args = ["retention", "run", "--yes", "--as-of", plan["as_of"]]
    log(f"{name}: auditor {' '.join(args)}")
    command = [*CLI, *args]
    if options.profile is not None:
        out = str(options.profile.with_suffix(f".{name}"))
        code = (
            "import cProfile, sys; from auditor.cli import main; "
            f"sys.argv = ['auditor', *{args!r}]; cProfile.run('main()', {out!r})"
        )
        command = [sys.executable, "-c", code]

    def progress() -> str:
        last = target.scalar("SELECT max(last_record_id) FROM purge_run")
        return f"{name} engine: up to record {last or 0:,} of {plan['total']:,}"

    seconds, usage, output = run_child(command, env, progress)
    summary = _RUN.search(output)
    if summary is None:
        raise SystemExit("the purge printed no summary")
    status, disposed = summary.group(2), int(summary.group(3))
    subjects = _SUBJECTS.search(output)
    blocked = _HOLD.search(output)
    rss = usage.ru_maxrss / 1024
    log(f"{name}: engine {seconds:.1f} s, {disposed / seconds:,.0f} records/s, RSS {rss:.0f} MB")

    log(f"{name}: checking the result")
    _, _, output = run_child([*me, *where, "--check"], env)
    found = last_json(output)
    checks = {
        "run_completed": status == "completed",
        "disposed_as_expected": disposed == expected,
        "disposition_rows_equal_disposed": found["record_rows"] == disposed,
        "disposition_ids_are_expected": found["ids_match"],
        "held_kept": found["held_left"] == plan["held"],
        "blocked_by_holds_as_expected": blocked is not None
        and int(blocked.group(1)) == plan["held"],  # due but held (the run counts no others)
        "records_left_as_expected": found["records_left"] == plan["total"] - expected,
        "links_left_as_expected": found["links_left"] == plan["links_left"],
        "subjects_removed_as_expected": subjects is not None
        and int(subjects.group(1)) == plan["subjects_removed"] == found["subject_rows"]
        and found["people_left"] == SUBJECTS - plan["subjects_removed"],
    }
    log(f"{name}: checks {checks}")

    log(f"{name}: raw baseline, DELETE ... WHERE id IN (...) of the same {expected:,} ids")
    raw_args = [*me, "--raw-delete", target.url(copy=True), "--ids", str(folder / "disposed.ids")]
    _, raw_usage, output = run_child(raw_args, env)
    raw = last_json(output)
    checks["raw_deleted_as_expected"] = raw["deleted"] == expected
    log(f"{name}: floor, the same DELETEs plus one disposition row per record (bulk insert)")
    floor_args = [*me, "--floor", target.url(copy="floor"), "--ids", str(folder / "disposed.ids")]
    _, _, output = run_child(floor_args, env)
    floor = last_json(output)
    checks["floor_deleted_as_expected"] = floor["deleted"] == expected
    checks["raw_links_cascaded"] = raw["links_left"] == plan["links_left"]
    raw_rate = raw["deleted"] / raw["seconds"]
    rate = disposed / seconds
    log(f"{name}: raw delete {raw['seconds']:.1f} s, {raw_rate:,.0f} rows/s")
    ratio = rate / raw_rate
    floor_rate = floor["deleted"] / floor["seconds"]
    log(f"{name}: floor {floor['seconds']:.1f} s, {floor_rate:,.0f} rows/s")
    figures = {
        "engine_seconds": round(seconds, 2),
        "engine_records_per_s": round(rate),
        "engine_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "engine_peak_rss_mb": round(rss, 1),
        "cli_startup_seconds": round(startup_seconds, 2),
        "raw_delete_seconds": round(raw["seconds"], 2),
        "raw_delete_rows_per_s": round(raw_rate),
        "raw_delete_peak_rss_mb": round(raw_usage.ru_maxrss / 1024, 1),
        "throughput_ratio": round(ratio, 3),
        "floor_rows_per_s": round(floor_rate),
        "floor_ratio": round(floor_rate / raw_rate, 3),
        "disposed": disposed,
        "held_records": plan["held"],
        "subjects_removed": found["subject_rows"],
        "disposition_rows": found["record_rows"],
        "held_kept": checks["held_kept"],
        "checks_pass": all(checks.values()),
        "database_mb": round(plan["database_mb"], 1),
        "generate_seconds": round(plan["seconds"], 1),
        "meets_target": ratio >= TARGET_RATIO and rss < TARGET_PEAK_RSS_MB and all(checks.values()),
    }
    result: dict[str, Any] = {f"{name}_{key}": value for key, value in figures.items()}
    result[f"{name}_checks"] = checks
    result["_plan"] = plan
    return result


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # so that the scratch databases and files are removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="expired records")
    parser.add_argument("--databases", default=",".join(DATABASES), help="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="an admin connection")
    parser.add_argument("--profile", type=Path, help="cProfile the engine into PATH.<database>")
    # child modes
    parser.add_argument("--pg-database", default=f"auditor_bench_purge_{os.getpid()}")
    parser.add_argument("--database", choices=DATABASES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)  # the time "now"
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--raw-delete", help=argparse.SUPPRESS)  # database URL
    parser.add_argument("--floor", help=argparse.SUPPRESS)  # database URL
    parser.add_argument("--ids", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.raw_delete:
        raw_delete(options.raw_delete, options.ids)
        return
    if options.floor:
        from purge_floor import floor_delete  # bench/ is this script's folder

        floor_delete(options.floor, options.ids)
        return
    if options.prepare or options.check:
        target = make_target(options, options.database, options.folder)
        if options.prepare:
            prepare(target, options.records, dt.datetime.fromisoformat(options.prepare))
        else:
            check(target)
        return
    names = [n.strip() for n in options.databases.split(",") if n.strip()]
    if not names or set(names) - set(DATABASES):
        parser.error(f"--databases: a comma-separated list of {', '.join(DATABASES)}")
    signal.signal(signal.SIGTERM, _terminated)
    # This process stays small (stdlib and psycopg only; the data, the checks and the app live in
    # children): a child's ru_maxrss starts from its parent's high-water mark (fork/vfork, exec).
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    figures: dict[str, Any] = {"expired_records": options.records, "kept_records": options.records}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="auditor-purge-bench-") as tmp:
        for name in names:
            result = bench_database(options, name, Path(tmp) / name, now)
            plan = result.pop("_plan")
            figures.update(subjects=SUBJECTS, holds=plan["holds"], batch=plan["batch"])
            figures["raw_batch"] = RAW_BATCH
            versions[name] = plan["version"]
            figures.update(result)
            shutil.rmtree(Path(tmp) / name, ignore_errors=True)  # a few GB per database
    figures.update(
        {
            "target_throughput_ratio": TARGET_RATIO,
            "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
            "meets_target": all(figures[f"{name}_meets_target"] for name in names),
            "total_seconds": round(time.perf_counter() - started, 1),
            "parent_peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            ),
            "python": platform.python_version(),
            "sqlite": versions.get("sqlite", sqlite3.sqlite_version),
            "postgresql": versions.get("postgresql"),
            "cpus": os.cpu_count(),
        }
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""The generated data of bench/purge.py: people and records in id order, and each one's fate.

What the purge must do with each record (dispose of it, or keep it: not due, or held), and what
it must leave behind. Stdlib only at import: the parent process imports it and must stay small.
"""

from __future__ import annotations

import array
import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import FIRST, LAST, client_code

CLIENTS = 50
SUBJECTS = 20_000
SEED = 20261123
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


def read_ids(path: Path) -> array.array[int]:
    """Record ids written with ``array.tobytes`` (the ids to dispose of, the held ones)."""
    ids = array.array("q")
    ids.frombytes(path.read_bytes())
    return ids


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

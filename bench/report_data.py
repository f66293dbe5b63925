"""The generated data of bench/report.py: a subject with 100,000 records, another with 1,000.

One subject with 500 tickets, 40 invoices and the rest security log entries over two log systems
and the last eleven months (the same proportions for another SIZE); one ticket in ten names a
colleague (a linked subject with a name and an email, to be severed). A second subject has 1,000
records in the same proportions. The schema comes from ``auditor.migrate.upgrade``, the
inventory defaults and retention rules from their services, the records and links from Core bulk
inserts; both access requests are opened and verified through the services (so each has its
recourse hold).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import add_inventory, log, sqlite_settings

DEFAULT_RECORDS = 100_000  # the big subject's, and the base of the proportions
TICKETS = 500
INVOICES = 40
SMALL_RECORDS = 1_000
SEED = 20261124
CHUNK = 10_000
COLLEAGUES = 20
SYSTEMS = (("psa", "psa", "PSA"), ("billing", "billing", "Billing"),
           ("siem", "log_store", "SIEM"), ("edr", "log_store", "Endpoint protection"))  # fmt: skip
BIG = ("Amélie Tremblay", "amelie.tremblay@acme.example")
SMALL = ("Jordan Ellis", "jordan.ellis@acme.example")
SUMMARIES = ("Printer offline on floor 2", "Outlook keeps asking for password",
             "VPN drops every hour", "New hire laptop setup", "MFA reset requested",
             "Backup job failed overnight", "Replace failing SSD")  # fmt: skip
NOTES = ("Called the user, reproduced the issue and applied the vendor fix.",
         "Remote session: cleared cached credentials and re-enrolled the device.",
         "Replaced the part on site; user confirmed everything works.")  # fmt: skip
EVENTS = ("login_success", "login_failed", "mfa_challenge", "password_change", "rdp_session",
          "usb_mounted", "malware_blocked")  # fmt: skip


def split(records: int) -> tuple[int, int, int]:
    """Tickets, invoices and log entries of a subject with ``records`` records (the issue's
    proportions: 500 and 40 in 100,000)."""
    tickets = max(1, round(records * TICKETS / DEFAULT_RECORDS))
    invoices = max(1, round(records * INVOICES / DEFAULT_RECORDS))
    return tickets, invoices, records - tickets - invoices


class Generator:
    """The records of one subject, as rows for Core inserts, and who else each one names."""

    def __init__(
        self, rng: random.Random, ids: dict[str, dict[str, int]], now: dt.datetime
    ) -> None:
        self.rng, self.ids, self.now = rng, ids, now

    def ticket(self, number: int, email: str, colleague: tuple[str, str] | None) -> dict[str, Any]:
        rng = self.rng
        created = self.now - dt.timedelta(days=rng.randrange(3, 7 * 365))
        notes = rng.choice(NOTES)
        if colleague is not None:
            notes += f" {colleague[0]} ({colleague[1]}) in copy; reply to {email}."
        return self.row(
            "psa",
            "ticket_history",
            f"T-{number:07d}",
            created,
            closed_at=created + dt.timedelta(hours=rng.randrange(1, 300)),
            content={
                "summary": rng.choice(SUMMARIES),
                "priority": rng.choice(("P1", "P2", "P3", "P4")),
                "status": "closed",
                "technician": f"tech-{rng.randrange(40):02d}",
                "notes": notes,
                "minutes": rng.randrange(5, 240),
            },
        )

    def invoice(self, number: int) -> dict[str, Any]:
        rng = self.rng
        created = self.now - dt.timedelta(days=rng.randrange(3, 7 * 365))
        lines = [
            {"sku": rng.choice(("MSP-SEAT", "M365-BP", "BKP-1TB")), "qty": rng.randrange(1, 30)}
            for _ in range(rng.randrange(1, 4))
        ]
        return self.row(
            "billing",
            "billing_records",
            f"INV-{number:07d}",
            created,
            document_date=created.date(),
            content={
                "invoice_no": f"{created.year}-{number:07d}",
                "currency": "CAD",
                "amount_cents": rng.randrange(1000, 500_000),
                "lines": lines,
            },
        )

    def log_entry(self, number: int, email: str) -> dict[str, Any]:
        rng = self.rng
        created = self.now - dt.timedelta(seconds=rng.randrange(3 * 86400, 330 * 86400))
        event = rng.choice(EVENTS)
        address = f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return self.row(
            rng.choice(("siem", "siem", "edr")),
            "security_logs",
            f"EV-{number:08d}",
            created,
            event_at=created,
            content={
                "host": f"ws-{rng.randrange(500):03d}.acme.local",
                "event": event,
                "severity": "info",
                "src_ip": address,
                "ts_ms": int(created.timestamp() * 1000),
                "message": f"{event} for {email} from {address}",
            },
        )

    def row(
        self, system: str, category: str, external_id: str, created: dt.datetime, **extra: Any
    ) -> dict[str, Any]:
        content = extra.pop("content")
        return {
            "system_id": self.ids["system"][system],
            "category_id": self.ids["category"][category],
            "organization_id": self.ids["organization"]["acme"],
            "external_id": external_id,
            "created_at": created,
            "closed_at": extra.get("closed_at"),
            "document_date": extra.get("document_date"),
            "event_at": extra.get("event_at"),
            "content": content,
            "content_digest": "0" * 64,
            "pan_redactions": 0,
            "ingested_at": self.now,
            "updated_at": self.now,
        }

    def records(
        self, prefix: int, count: int, email: str, colleagues: list[tuple[int, str, str]]
    ) -> Iterator[tuple[dict[str, Any], int | None]]:
        """(row, colleague subject id or None), tickets and invoices first, then the logs."""
        tickets, invoices, logs = split(count)
        for n in range(tickets):
            colleague = self.rng.choice(colleagues) if self.rng.random() < 0.1 else None
            named = (colleague[1], colleague[2]) if colleague else None
            yield self.ticket(prefix + n, email, named), colleague[0] if colleague else None
        for n in range(invoices):
            yield self.invoice(prefix + n), None
        for n in range(logs):
            yield self.log_entry(prefix + n, email), None


def set_up(folder: Path, records: int) -> dict[str, Any]:
    """Schema, defaults, two subjects with their records, and two verified access requests."""
    from sqlalchemy import select

    from auditor import create_app, migrate
    from auditor.db import get_database
    from auditor.models import DataCategory, Organization, System
    from auditor.schemas.requests import RequestIn, TaskUpdate, VerificationIn
    from auditor.schemas.subjects import SubjectIn
    from auditor.services import datamap, requests, retention, subjects
    from auditor.services.context import Actor

    app = create_app(sqlite_settings(folder))
    database = get_database(app)
    migrate.upgrade(database.engine)
    actor = Actor.system("bench")
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(SEED)
    with database.session() as session:
        datamap.load_defaults(session, actor=actor)
        retention.load_default_rules(session, actor=actor)
        organizations = [("serveitpro", "ServeITPro", "msp"), ("acme", "Acme", "client")]
        add_inventory(session, organizations, [(c, name, kind) for c, kind, name in SYSTEMS])

        def person(name: str, email: str) -> int:
            data = SubjectIn(
                display_name=name,
                kind="client_staff",
                organization="acme",
                identifiers=[{"kind": "email", "value": email}],  # type: ignore[list-item]
            )
            return subjects.create(session, data, actor=actor).id

        big, small = person(*BIG), person(*SMALL)
        colleagues: list[tuple[int, str, str]] = []
        for n in range(COLLEAGUES):
            name = f"Colleague{n} Person{n}"
            colleagues.append(
                (person(name, f"colleague{n}@acme.example"), name, f"colleague{n}@acme.example")
            )
        ids = {
            "system": dict(session.execute(select(System.code, System.id)).all()),
            "category": dict(session.execute(select(DataCategory.code, DataCategory.id)).all()),
            "organization": dict(session.execute(select(Organization.code, Organization.id)).all()),
        }
        session.commit()
        generator = Generator(rng, ids, now)
        for subject_id, count, email, prefix in (
            (big, records, BIG[1], 0),
            (small, SMALL_RECORDS, SMALL[1], 10_000_000),
        ):
            rows: list[tuple[dict[str, Any], int | None]] = []
            for item in generator.records(prefix, count, email, colleagues):
                rows.append(item)
                if len(rows) == CHUNK:
                    _insert(session, rows, subject_id)
                    rows = []
            if rows:
                _insert(session, rows, subject_id)
            session.commit()
            log(f"{count:,} records of subject {subject_id} inserted")
        references: dict[str, str] = {}
        for key, (name, email) in (("big", BIG), ("small", SMALL)):
            intake = RequestIn.model_validate(
                {
                    "type": "access",
                    "channel": "email",
                    "received_at": now - dt.timedelta(days=3),
                    "requester_name": name,
                    "requester_contact": email,
                    "identifiers": [{"kind": "email", "value": email}],
                    "request_text": "Please send me everything you hold about me.",
                }
            )
            request = requests.open_request(session, intake, actor=actor, now=now)
            verification = VerificationIn(method="matched_known_contact", verified_at=now)
            requests.verify(session, request.reference, verification, actor=actor, now=now)
            searched = TaskUpdate(searched=True, found=True, closed=True)
            for task in request.tasks:  # the report waits for every system's search
                requests.update_task(session, request.reference, task.id, searched, actor=actor)
            references[key] = request.reference
        session.commit()
    database.engine.dispose()
    return references


def _insert(session: Any, rows: list[tuple[dict[str, Any], int | None]], subject_id: int) -> None:
    """Core inserts of ``rows`` (record, colleague) and their links to the subject and colleague."""
    from sqlalchemy import insert, select

    from auditor.models import Record, record_subject

    session.execute(insert(Record), [row for row, _ in rows])
    external = [row["external_id"] for row, _ in rows]
    found = dict(
        session.execute(
            select(Record.external_id, Record.id).where(Record.external_id.in_(external))
        ).all()
    )
    links = [{"record_id": found[row["external_id"]], "subject_id": subject_id} for row, _ in rows]
    links += [
        {"record_id": found[row["external_id"]], "subject_id": other}
        for row, other in rows
        if other is not None
    ]
    session.execute(insert(record_subject), links)

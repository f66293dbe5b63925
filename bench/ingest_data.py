"""The generated data of bench/ingest.py: a JSON Lines file of records, the same for a seed.

A quarter tickets, a tenth invoices (one in a hundred with a card number in its memo), the rest
security log lines, for 50 clients and 20,000 people.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from common import FIRST, LAST, client_code, log

CLIENTS = 50
SUBJECTS = 20_000
SEED = 20260522
SYSTEMS = (("psa", "psa"), ("billing", "billing"), ("siem", "log_store"))

TICKET_SUMMARIES = (
    "Printer offline on floor 2", "Outlook keeps asking for password", "VPN drops every hour",
    "New hire laptop setup", "Shared drive permissions", "Phish report: suspicious invoice",
    "MFA reset requested", "Slow Wi-Fi in boardroom", "Backup job failed overnight",
    "Teams calls choppy", "Replace failing SSD", "License renewal for accounting suite",
)  # fmt: skip
TICKET_NOTES = (
    "Called the user, reproduced the issue and applied the vendor fix.",
    "Remote session: cleared cached credentials and re-enrolled the device.",
    "Escalated to tier 2; waiting on the ISP for a line test.",
    "Replaced the part on site; user confirmed everything works.",
    "Reset the account, verified identity by callback to the number on file.",
)  # fmt: skip
LOG_EVENTS = (
    ("login_success", "info"), ("login_failed", "warning"), ("mfa_challenge", "info"),
    ("password_change", "info"), ("account_locked", "warning"), ("malware_blocked", "high"),
    ("usb_mounted", "info"), ("admin_group_change", "high"), ("rdp_session", "info"),
)  # fmt: skip
SKUS = (("MSP-SEAT", 8900), ("M365-BP", 2640), ("BKP-1TB", 4500), ("FW-SUB", 12000),
        ("HOUR-T1", 11000), ("HOUR-T2", 15500))  # fmt: skip


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it pass the Luhn test."""
    total = 0
    for index, char in enumerate(reversed(prefix)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return prefix + str((10 - total % 10) % 10)


class People:
    """20,000 people spread over the clients; about one in six also has a phone number."""

    def __init__(self, rng: random.Random, clients: int, count: int) -> None:
        self.emails: list[str] = []
        self.phones: list[str | None] = []
        self.by_client: list[list[int]] = [[] for _ in range(clients)]
        for index in range(count):
            client = index % clients
            name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{index}"
            self.emails.append(f"{name}@{client_code(client)}.example.ca")
            phone = None
            if rng.random() < 0.16:
                area = rng.choice((514, 438, 613, 416, 604))
                number = f"{area}555{rng.randrange(10_000):04d}"
                phone = rng.choice((f"({area}) 555-{number[-4:]}", f"+1 {area} 555 {number[-4:]}",
                                    number))  # fmt: skip
            self.phones.append(phone)
            self.by_client[client].append(index)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_records(count: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """The records, in file order: 25 % tickets, 10 % invoices, 65 % security log lines."""
    rng = random.Random(seed)
    people = People(rng, CLIENTS, SUBJECTS)
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    span = int((dt.datetime(2026, 5, 1, tzinfo=dt.UTC) - start).total_seconds())
    for number in range(count):
        client = rng.randrange(CLIENTS)
        person = rng.choice(people.by_client[client])
        email = people.emails[person]
        if rng.random() < 0.2:  # source systems are sloppy about case and spaces
            email = f" {email.title()} "
        subjects = [{"kind": "email", "value": email}]
        created = start + dt.timedelta(seconds=rng.randrange(span))
        kind = rng.random()
        if kind < 0.25:
            phone = people.phones[person]
            if phone and rng.random() < 0.5:
                subjects.append({"kind": "phone", "value": phone})
            if rng.random() < 0.1:  # a colleague in copy
                other = people.emails[rng.choice(people.by_client[client])]
                if other.lower() != email.strip().lower():
                    subjects.append({"kind": "email", "value": other})
            record: dict[str, Any] = {
                "system": "psa",
                "external_id": f"T-{number:07d}",
                "category": "ticket_history",
                "client": client_code(client),
                "subjects": subjects,
                "created_at": _iso(created),
                "content": {
                    "summary": rng.choice(TICKET_SUMMARIES),
                    "priority": rng.choice(("P1", "P2", "P3", "P3", "P4")),
                    "status": "open",
                    "technician": f"tech-{rng.randrange(40):02d}",
                    "notes": rng.choice(TICKET_NOTES),
                    "minutes": rng.randrange(5, 240),
                },
            }
            if rng.random() < 0.85:
                closed = created + dt.timedelta(minutes=rng.randrange(10, 20_000))
                record["closed_at"] = _iso(closed)
                record["content"]["status"] = "closed"
        elif kind < 0.35:
            lines = []
            for _ in range(rng.randrange(1, 4)):
                sku, price = rng.choice(SKUS)
                lines.append({"sku": sku, "qty": rng.randrange(1, 30), "unit_cents": price})
            amount = sum(item["qty"] * item["unit_cents"] for item in lines)
            memo = rng.choice(("Net 30", "Thank you for your business", "Paid by PAD", ""))
            if rng.random() < 0.01:  # the accountant pasted the card used to pay
                pan = luhn_complete(rng.choice(("4", "51", "37")) + str(rng.randrange(10**13)))
                memo = f"Paid by card {' '.join(pan[i : i + 4] for i in range(0, len(pan), 4))}"
            record = {
                "system": "billing",
                "external_id": f"INV-{number:07d}",
                "category": "billing_records",
                "client": client_code(client),
                "subjects": subjects,
                "created_at": _iso(created),
                "document_date": created.date().isoformat(),
                "content": {
                    "invoice_no": f"{created.year}-{number:07d}",
                    "currency": "CAD",
                    "amount_cents": amount,
                    "tax_cents": amount * 14975 // 100_000,
                    "lines": lines,
                    "memo": memo,
                },
            }
        else:
            event, severity = rng.choice(LOG_EVENTS)
            at = created + dt.timedelta(milliseconds=rng.randrange(1000))
            address = f"10.{client}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            record = {
                "system": "siem",
                "external_id": f"EV-{number:08d}",
                "category": "security_logs",
                "client": client_code(client),
                "subjects": subjects,
                "created_at": _iso(created),
                "event_at": at.isoformat().replace("+00:00", "Z"),
                "content": {
                    "host": f"ws-{rng.randrange(500):03d}.{client_code(client)}.local",
                    "event": event,
                    "severity": severity,
                    "src_ip": address,
                    "ts_ms": int(at.timestamp() * 1000),  # 13 digits: looks like a card number
                    "message": f"{event} for {email.strip()} from {address}",
                },
            }
        yield record


def write_file(path: Path, count: int) -> None:
    """The file ``auditor records import`` reads: ``count`` records, one JSON object a line."""
    with path.open("wb") as fh:
        for number, record in enumerate(generate_records(count), start=1):
            fh.write(orjson.dumps(record) + b"\n")
            if number % 200_000 == 0:
                log(f"generated {number:,} records")

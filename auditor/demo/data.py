"""A realistic demo MSP: ServeITPro, five clients, their systems, people and records.

Deterministic (fixed seed and anchor date), so loading it twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from auditor.services import datamap

ANCHOR = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
MSP_DOMAIN = "serveitpro.example"

CLIENTS = [
    # code, name, domain, is_quebec, agreement start, termination (None = active)
    (
        "northwind-dental",
        "Northwind Dental Clinic",
        "northwinddental.example",
        False,
        "2018-03-01",
        None,
    ),
    (
        "maple-logistics",
        "Maple Logistics Inc.",
        "maplelogistics.example",
        False,
        "2019-06-15",
        None,
    ),
    (
        "laurentide-avocats",
        "Laurentide Avocats S.E.N.C.R.L.",
        "laurentide.example",
        True,
        "2020-01-06",
        None,
    ),
    (
        "prairie-ag-coop",
        "Prairie Agricultural Co-operative",
        "prairieag.example",
        False,
        "2021-09-01",
        None,
    ),
    (
        "harbourview-realty",
        "Harbourview Realty Ltd.",
        "harbourview.example",
        False,
        "2017-04-01",
        "2026-09-30",
    ),
]

SYSTEMS = [
    {
        "code": "psa",
        "name": "ConnectWise PSA",
        "kind": "psa",
        "vendor": "ConnectWise",
        "hosting_country": "US",
        "safeguards": ["TLS 1.2+", "MFA", "SSO"],
        "certifications": ["soc2_type2", "iso27001"],
        "owner": "Service desk manager",
    },
    {
        "code": "rmm",
        "name": "NinjaOne RMM",
        "kind": "rmm",
        "vendor": "NinjaOne",
        "hosting_country": "CA",
        "safeguards": ["TLS 1.2+", "MFA", "role-based access"],
        "certifications": ["soc2_type2", "iso27001"],
        "owner": "Operations lead",
    },
    {
        "code": "billing",
        "name": "QuickBooks Online",
        "kind": "billing",
        "vendor": "Intuit",
        "hosting_country": "US",
        "safeguards": ["TLS 1.2+", "MFA"],
        "certifications": ["soc2_type2"],
        "owner": "Controller",
    },
    {
        "code": "siem",
        "name": "Wazuh log store",
        "kind": "log_store",
        "vendor": "Self-hosted",
        "hosting_country": "CA",
        "safeguards": ["AES-256 at rest", "TLS", "network isolation"],
        "certifications": [],
        "owner": "Security lead",
    },
    {
        "code": "vault",
        "name": "auditor credentials vault",
        "kind": "vault",
        "vendor": "Self-hosted",
        "hosting_country": "CA",
        "safeguards": ["AES-256-GCM envelope encryption", "audited reveals"],
        "certifications": [],
        "owner": "Privacy officer",
    },
]

FIRST = [
    "Amélie",
    "Ben",
    "Chloé",
    "Daniel",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Isabelle",
    "Jamal",
    "Karen",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tanya",
]
LAST = [
    "Tremblay",
    "Nguyen",
    "Singh",
    "Roy",
    "MacDonald",
    "Gagnon",
    "Chen",
    "Wilson",
    "Côté",
    "Patel",
    "Martin",
    "Bouchard",
    "Lee",
    "Campbell",
    "Morin",
    "Fraser",
    "Khan",
    "Lavoie",
]
ISSUES = [
    "Outlook keeps asking for password",
    "VPN disconnects every hour",
    "Printer offline",
    "New hire laptop setup",
    "Ransomware alert quarantined",
    "Backup job failed",
    "MFA device replacement",
    "Shared drive permissions",
    "Firewall firmware update",
    "Phishing email reported",
]
LOG_EVENTS = [
    "failed login",
    "successful login",
    "malware blocked",
    "USB device connected",
    "admin group changed",
    "RDP session opened",
]

USERS = [
    ("admin@serveitpro.example", "Alex Admin", "admin"),
    ("privacy@serveitpro.example", "Morgan Privacy", "privacy_officer"),
    ("tech@serveitpro.example", "Taylor Tech", "technician"),
    ("auditor@serveitpro.example", "Jordan Auditor", "auditor"),
]


def _people(rng: random.Random) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = []
    for index in range(40):
        code, _, domain, is_quebec, _, _ = CLIENTS[index % len(CLIENTS)]
        first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
        local = f"{first}.{last}".lower().replace("é", "e").replace("ô", "o")
        people.append(
            {
                "ref": f"sub_demo{index:03d}",
                "display_name": f"{first} {last}",
                "kind": "client_staff",
                "organization": code,
                "is_quebec": is_quebec,
                "identifiers": [
                    {"kind": "email", "value": f"{local}@{domain}"},
                    {"kind": "phone", "value": f"+1416555{1000 + index:04d}"},
                ],
                "consents": [],
            }
        )
    for index, person in enumerate(people[:12]):
        consent: dict[str, Any] = {
            "purpose": "marketing",
            "given_at": (ANCHOR - dt.timedelta(days=400 + index)).isoformat(),
            "method": "web_form",
            "text_version": "newsletter-2024-01",
            "evidence": "signup form submission log",
        }
        if index == 3:
            consent["withdrawn_at"] = (ANCHOR - dt.timedelta(days=20)).isoformat()
            consent["withdrawal_method"] = "email"
        person["consents"].append(consent)
    return people


def data_map() -> dict[str, Any]:
    rng = random.Random(2026)
    organizations = [
        {
            "code": "serveitpro",
            "name": "ServeITPro Managed Services",
            "kind": "msp",
            "is_quebec": False,
            "contact_email": f"privacy@{MSP_DOMAIN}",
            "notes": None,
            "agreements": [],
        }
    ]
    for code, name, domain, is_quebec, start, end in CLIENTS:
        organizations.append(
            {
                "code": code,
                "name": name,
                "kind": "client",
                "is_quebec": is_quebec,
                "contact_email": f"it@{domain}",
                "notes": None,
                "agreements": [
                    {
                        "reference": f"msa-{code}",
                        "kind": "msa",
                        "status": "terminated" if end else "active",
                        "start_date": start,
                        "termination_date": end,
                    }
                ],
            }
        )
    return {
        "format": datamap.FORMAT,
        "version": datamap.VERSION,
        "organizations": organizations,
        "systems": SYSTEMS,
        "subjects": _people(rng),
    }


def records() -> list[dict[str, Any]]:
    rng = random.Random(7)
    people = _people(rng)
    rows: list[dict[str, Any]] = []
    for index in range(240):
        person = people[index % len(people)]
        opened = ANCHOR - dt.timedelta(days=rng.randint(1, 9 * 365), hours=rng.randint(0, 23))
        is_closed = index % 9 != 0
        rows.append(
            {
                "system": "psa",
                "external_id": f"T-{10000 + index}",
                "category": "ticket_history",
                "client": person["organization"],
                "subjects": [person["identifiers"][0]],
                "created_at": opened.isoformat(),
                "closed_at": (opened + dt.timedelta(days=rng.randint(0, 5))).isoformat()
                if is_closed
                else None,
                "content": {
                    "summary": ISSUES[index % len(ISSUES)],
                    "priority": rng.choice(["low", "medium", "high"]),
                    "contact": person["display_name"],
                    "notes": "Called the user back and resolved remotely.",
                },
            }
        )
    for index in range(120):
        person = people[(index * 3) % len(people)]
        issued = (ANCHOR - dt.timedelta(days=30 * index + rng.randint(0, 20))).date()
        rows.append(
            {
                "system": "billing",
                "external_id": f"INV-{2000 + index}",
                "category": "billing_records",
                "client": person["organization"],
                "subjects": [person["identifiers"][0]],
                "created_at": dt.datetime.combine(issued, dt.time(12), dt.UTC).isoformat(),
                "document_date": issued.isoformat(),
                "content": {
                    "amount_cad": f"{rng.randint(300, 9000)}.00",
                    "status": "paid",
                    "bill_to": person["display_name"],
                    # a card number pasted into a memo: redacted on ingest, never stored
                    "memo": "Paid by card 4111 1111 1111 1111"
                    if index == 5
                    else "Monthly managed services",
                },
            }
        )
    for index in range(300):
        person = people[(index * 7) % len(people)]
        moment = ANCHOR - dt.timedelta(hours=rng.randint(1, 500 * 24))
        rows.append(
            {
                "system": "siem",
                "external_id": f"LOG-{900000 + index}",
                "category": "security_logs",
                "client": person["organization"],
                "subjects": [person["identifiers"][0]],
                "created_at": moment.isoformat(),
                "event_at": moment.isoformat(),
                "content": {
                    "event": LOG_EVENTS[index % len(LOG_EVENTS)],
                    "source_ip": f"10.20.{index % 250}.{(index * 11) % 250}",
                    "host": f"WS-{index % 60:03d}",
                },
            }
        )
    for index, person in enumerate(people):
        rows.append(
            {
                "system": "psa",
                "external_id": f"CONTACT-{index:04d}",
                "category": "personal_contact",
                "client": person["organization"],
                "subjects": person["identifiers"],
                "created_at": (ANCHOR - dt.timedelta(days=365 * 3 - index * 5)).isoformat(),
                "content": {
                    "name": person["display_name"],
                    "title": rng.choice(["Office manager", "Owner", "Accountant", "IT contact"]),
                },
            }
        )
    return rows

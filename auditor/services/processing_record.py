"""The record of processing (R14): the data map as a document people read, for the MSP or for
one client. Per client, it lists what the MSP holds of that client's people: the categories with
records of theirs, the systems those records are in, and to whom those categories are disclosed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import DataCategory, Disclosure, Record, System, ThirdParty
from auditor.reports import Attachment, render_pdf
from auditor.services import inventory
from auditor.services.retention.rules import current_rules

FORMAT = "auditor-record-of-processing/1"
TITLE = "Record of processing"


TRIGGERS = {
    "agreement_termination": "the end of the client's service agreement",
    "closed_at": "when the ticket or case was closed",
    "consent_withdrawal": "the withdrawal of consent",
    "created_at": "when the record was created",
    "document_date": "the document's date (the invoice or receipt date)",
    "relationship_end": "the end of the relationship with the person",
}


def trigger_words(code: str | None) -> str | None:
    return None if code is None else TRIGGERS.get(code, code.replace("_", " "))


def duration(days: int | None) -> str | None:
    """``2557`` as ``7 years (2557 days)``; ``90`` as ``90 days``."""
    if days is None:
        return None
    if days == 0:
        return "no minimum"
    years = round(days / 365.25)
    if years >= 1 and abs(days - years * 365.25) <= 3:
        plural = "year" if years == 1 else "years"
        return f"{years} {plural} ({days} days)"
    return f"{days} day{'s' if days != 1 else ''}"


def _holdings(session: Session, organization_id: int | None) -> dict[tuple[int, int], int]:
    """Records held, by (category id, system id)."""
    query = select(Record.category_id, Record.system_id, func.count()).group_by(
        Record.category_id, Record.system_id
    )
    if organization_id is not None:
        query = query.where(Record.organization_id == organization_id)
    return {(c, s): n for c, s, n in session.execute(query)}


def data(
    session: Session, *, client: str | None, settings: Any = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything the document says, JSON-ready (attached to the PDF as it is)."""
    moment = now or utcnow()
    org = inventory.organization(session, client) if client else None
    held = _holdings(session, org.id if org else None)
    by_category: dict[int, dict[int, int]] = defaultdict(dict)
    for (category_id, system_id), count in held.items():
        by_category[category_id][system_id] = count
    systems = {s.id: s for s in session.scalars(select(System).order_by(System.code))}
    rules = {rule.category: rule for rule in current_rules(session)}
    categories = []
    for category in session.scalars(select(DataCategory).order_by(DataCategory.code)):
        where = by_category.get(category.id, {})
        if org is not None and not where:
            continue  # nothing of this client's people in it
        rule = rules.get(category.code)
        categories.append(
            {
                "code": category.code,
                "name": category.name,
                "description": category.description,
                "purposes": sorted(p.name for p in category.purposes),
                "controller": category.controller_kind,
                "basis": category.basis,
                "minimum_retention": duration(category.min_retention_days),
                "maximum_retention": duration(category.max_retention_days),
                "trigger": trigger_words(category.trigger),
                "sensitive": category.is_sensitive,
                "rule": f"{rule.code} v{rule.version} ({rule.action})" if rule else None,
                "records": sum(where.values()),
                "systems": sorted(systems[s].name for s in where),
            }
        )
    shown = {c["code"] for c in categories}
    used = {s for where in by_category.values() for s in where}
    system_rows = [
        {
            "code": system.code,
            "name": system.name,
            "kind": system.kind,
            "vendor": system.vendor,
            "hosting_country": system.hosting_country,
            "safeguards": list(system.safeguards or []),
            "certifications": list(system.certifications or []),
            "records": sum(n for (_, s), n in held.items() if s == system.id),
        }
        for system in systems.values()
        if org is None or system.id in used
    ]
    disclosures: dict[str, dict[str, Any]] = {}
    query = select(Disclosure, ThirdParty).join(
        ThirdParty, ThirdParty.id == Disclosure.third_party_id
    )
    for disclosure, party in session.execute(query.order_by(ThirdParty.code, Disclosure.code)):
        if disclosure.category.code not in shown:
            continue
        entry = disclosures.setdefault(
            party.code,
            {
                "code": party.code,
                "name": party.name,
                "country": party.country,
                "certifications": list(party.certifications or []),
                "disclosures": [],
            },
        )
        entry["disclosures"].append(
            {
                "category": disclosure.category.name,
                "purpose": disclosure.purpose.name,
                "description": disclosure.description,
            }
        )
    msp = inventory.msp_organization(session)
    return {
        "format": FORMAT,
        "date": moment.astimezone(dt.UTC).date().isoformat(),
        "organization": (settings or {}).get("ORGANIZATION_NAME") or (msp.name if msp else None),
        "client": {"code": org.code, "name": org.name, "quebec": org.is_quebec} if org else None,
        "categories": categories,
        "systems": system_rows,
        "third_parties": list(disclosures.values()),
    }


def render(
    session: Session, *, client: str | None, settings: Any = None, now: dt.datetime | None = None
) -> bytes:
    moment = now or utcnow()
    found = data(session, client=client, settings=settings, now=moment)
    name = f"record-of-processing-{client or 'msp'}.json"
    return render_pdf(
        "record_of_processing.html",
        {"doc": found},
        title=TITLE,
        identifier=None,  # the subtitle names the organization and the client
        attachments=[
            Attachment(
                name, json.dumps(found, indent=2, ensure_ascii=False).encode(), description=TITLE
            )
        ],
        now=moment,
    )

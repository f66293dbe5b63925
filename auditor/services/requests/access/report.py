"""The access report (R6, R8, R11) as a PDF/A-3b a person can read, the full package attached.

``access_report_pdf`` only renders (no database): it takes the ``AccessPackage`` (or its dict)
and shows every section, "None." where empty; security logs are summarised by system and month,
every entry stays in the attached ``access-package-<reference>.json``.
``export_access_report`` builds, audits and renders in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from auditor.reports import Attachment, render_pdf
from auditor.reports.filters import clock, day, month_name, short, words
from auditor.services.context import Actor
from auditor.services.requests.access.package import AccessPackage, export_access_package
from auditor.services.requests.access.records import JSON_OPTIONS

TEMPLATE = "access_report.html"
TITLE = "Personal information access report"
#: the most severings listed one by one in the PDF (all of them are in the JSON)
MAX_REDACTIONS_LISTED = 300
HOLD_WORDS = {
    "recourse": "Recourse hold: kept while a complaint about the handling of a request is "
    "still possible (PIPEDA s. 8(8))",
    "legal": "Legal hold: kept for a legal proceeding",
    "breach": "Breach hold: kept for the investigation of a security incident",
    "cra_objection": "Tax hold: kept during a Canada Revenue Agency objection or appeal",
}
METHOD_WORDS = {
    "matched_known_contact": "matched a contact we already had",
    "government_id_sighted": "government ID seen",
    "client_confirmed": "confirmed by the organization",
    "account_login": "signed in to an account",
    "other": "other means",
}
STATUS_WORDS = {
    "scheduled": "kept until its date",
    "due": "due for disposal",
    "held": "kept by a hold",
    "awaiting_review": "awaiting review",
    "not_yet_known": "date not known yet",
}
DATE_LABELS = (
    ("created_at", "created"),
    ("closed_at", "closed"),
    ("document_date", "dated"),
    ("event_at", "event"),
)


def attachment_name(reference: str) -> str:
    return f"access-package-{reference}.json"


def flatten(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Content as (field, text) lines: nested fields as ``lines[0].sku``."""
    if isinstance(value, dict):
        if not value:
            return [(path, "(empty)")] if path else []
        lines = []
        for key, item in value.items():
            lines += flatten(item, f"{path}.{key}" if path else str(key))
        return lines
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return [(path, ", ".join(_scalar(item) for item in value) or "(none)")]
        lines = []
        for index, item in enumerate(value):
            lines += flatten(item, f"{path}[{index}]")
        return lines
    return [(path, _scalar(value))]


def _scalar(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def span(first: str | None, last: str | None) -> str | None:
    low, high = short(first), short(last)
    if low is None:
        return None
    return low if low == high else f"{low} to {high}"


def kept_until(retention: Mapping[str, Any]) -> str:
    """When a record will be disposed of, in words."""
    status, due = retention["status"], short(retention["dispose_on"])
    if status == "scheduled" and due:
        return f"kept until {due}"
    if status == "due":
        return f"due for disposal ({due})" if due else "due for disposal"
    if status == "held":
        kinds = " and ".join(retention["held_by"]) or "a"
        return f"period ended {due}; kept by a {kinds} hold" if due else f"kept by a {kinds} hold"
    if status == "awaiting_review":
        return f"period ended {due}; awaiting review" if due else "awaiting review"
    if retention["period"]:
        return f"kept until {retention['period']}"
    return "no retention rule yet"


def _hold_until(hold: Mapping[str, Any]) -> str:
    if hold["open_ended"]:
        return "no end date (a complaint is open)" if hold["kind"] == "recourse" else "no end date"
    if hold["until"]:
        return str(short(hold["until"]))
    if hold["kind"] == "recourse":
        return "6 months after the request is answered"
    return "until released"


def _record(record: Mapping[str, Any]) -> dict[str, str]:
    """A record as the three cells of its row: what it is, its dates, its content."""
    dates = [f"{label} {short(record[key])}" for key, label in DATE_LABELS if record[key]]
    return {
        "record": f"{record['external_id']}\n{record['system_name']}, #{record['id']}",
        "dates": "\n".join([*dates, kept_until(record["retention"])]),
        # one flowing paragraph: a row per record stays short, the report stays a few pages
        "content": " · ".join(f"{field}: {text}" for field, text in flatten(record["content"])),
    }


def _people(head: Mapping[str, Any]) -> dict[str, str]:
    """How the report speaks of the subject: "you" to the individual, their name to a client."""
    if head["addressed_to"]["to"] == "client":
        name = head["subject"]["display_name"] or "the individual"
        return {"who": name, "whose": f"{name}'s", "Whose": f"{name}'s"}
    return {"who": "you", "whose": "your", "Whose": "Your"}


def _category_groups(head: Mapping[str, Any], shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_code: dict[str, list[dict[str, Any]]] = {}
    for record in shown:
        by_code.setdefault(record["category"], []).append(_record(record))
    return [
        {
            "name": category["name"],
            "description": category["description"],
            "count": category["records"],
            "purposes": ", ".join(category["purposes"]) or None,
            "disclosed_to": ", ".join(category["disclosed_to"]) or None,
            "periods": "; ".join(category["retention_periods"]) or None,
            "basis": category["basis"],
            "records": by_code.get(category["category"], []),
        }
        for category in head["categories"]
        if not category["summarised_in_report"]
    ]


def _tables(head: Mapping[str, Any]) -> dict[str, Any]:
    """The rows of the report's small tables."""
    return {
        "log_rows": [
            (
                g["system_name"],
                month_name(g["month"]),
                g["count"],
                short(g["first"]),
                short(g["last"]),
                span(g["dispose_from"], g["dispose_to"]),
            )
            for g in head["log_summary"]
        ],
        "source_rows": [
            (
                s["name"],
                words(s["kind"]),
                s["records"],
                ", ".join(s["categories"]),
                span(s["first"], s["last"]),
            )
            for s in head["sources"]
        ],
        "use_rows": [
            (
                u["name"],
                u["description"],
                ", ".join(u["categories"]) or None,
                u["records"],
                u["consents"] or None,
            )
            for u in head["uses"]
        ],
        "disclosure_rows": [
            (
                d["name"],
                d["country"],
                d["purpose"],
                d["category_name"],
                d["records"],
                d["description"],
            )
            for d in head["disclosures"]
        ],
        "retention_rows": [
            (
                c["name"],
                "; ".join(c["retention_periods"]) or "no retention rule yet",
                c["records"],
                span(c["dispose_from"], c["dispose_to"]),
                ", ".join(
                    f"{STATUS_WORDS.get(k, words(k))}: {n}"
                    for k, n in c["retention_status"].items()
                ),
            )
            for c in head["categories"]
        ],
        "consent_rows": [
            (
                c["purpose_name"],
                short(c["given_at"]),
                words(c["method"]),
                short(c["withdrawn_at"]) or "not withdrawn",
                words(c["withdrawal_method"]),
            )
            for c in head["consents"]
        ],
        "dispute_rows": [
            (short(n["recorded_at"]), n["field"], n["statement"], n["request"])
            for n in head["dispute_notes"]
        ],
        "hold_rows": [
            (
                HOLD_WORDS.get(h["kind"], words(h["kind"])),
                short(h["placed_at"]),
                _hold_until(h),
                h["records_kept"] or "none",
            )
            for h in head["holds"]
        ],
        "search_rows": [
            (
                s["system_name"],
                short(s["searched_at"]) if s["searched"] else "not yet",
                {True: "yes", False: "no"}.get(s["found"], "not recorded"),
                "; ".join(f"{a.get('element')}: {a.get('action')}" for a in s["actions"]) or None,
                s["note"],
            )
            for s in head["searches"]
        ],
    }


def _due(request: Mapping[str, Any]) -> str | None:
    due = day(request["due_at"])
    if request["extended"]:
        return f"{due} (extended from {day(request['original_due_at'])})"
    return due


def _context(package: AccessPackage) -> dict[str, Any]:
    # one form for both inputs: times and dates as the JSON has them
    head: dict[str, Any] = orjson.loads(orjson.dumps(package.head, option=JSON_OPTIONS))
    request, trail = head["request"], head["audit"]
    redactions = head["redactions"]
    kinds = Counter(r["kind"] for r in redactions)
    verified = day(request["verified_at"])
    method = METHOD_WORDS.get(request["verification_method"] or "")
    return {
        **_people(head),
        **_tables(head),
        "head": head,
        "request_rows": [
            ("Request", request["reference"]),
            ("Received", day(request["received_at"])),
            ("Response due", _due(request)),
            ("Identity verified", f"{verified} ({method})" if method else verified),
            ("Report produced", clock(head["generated_at"])),
        ],
        "due": day(request["due_at"]),
        "organization": head["organization"],
        "addressee": head["addressed_to"],
        "subject": head["subject"],
        "identifier_rows": [
            (words(i["kind"]), i["value"], short(i["recorded_at"])) for i in head["identifiers"]
        ],
        "summary": head["records_summary"],
        "category_counts": [
            (
                c["name"],
                c["records"],
                "summarised by month" if c["summarised_in_report"] else "each record below",
            )
            for c in head["categories"]
        ],
        "groups": _category_groups(head, package.shown),
        "summarised_names": [c["name"] for c in head["categories"] if c["summarised_in_report"]],
        "redaction_kinds": sorted(kinds.items()),
        "redaction_rows": [
            (r["record_id"], r["path"], r["kind"]) for r in redactions[:MAX_REDACTIONS_LISTED]
        ],
        "redactions_not_listed": max(0, len(redactions) - MAX_REDACTIONS_LISTED),
        "trail": trail,
        "checkpoint": trail["checkpoint"],
        "checkpoint_signed": clock(trail["checkpoint"]["signed_at"])
        if trail["checkpoint"]
        else None,
        "attachment": attachment_name(request["reference"]),
    }


def access_report_pdf(
    package: AccessPackage | Mapping[str, Any], *, now: dt.datetime | None = None
) -> bytes:
    """The report as PDF/A-3b; the whole package attached as ``access-package-<ref>.json``."""
    if not isinstance(package, AccessPackage):
        package = AccessPackage.from_dict(package)
    reference = package.reference
    return render_pdf(
        TEMPLATE,
        _context(package),
        title=TITLE,
        identifier=reference,
        attachments=[
            Attachment(
                attachment_name(reference),
                package.to_json(),
                description=f"Everything this report shows, every record in full ({reference})",
            )
        ],
        now=now,
    )


def export_access_report(
    session: Session,
    reference: str,
    *,
    actor: Actor,
    signing_key: Ed25519PrivateKey,
    origin: str,
    settings: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> tuple[bytes, AccessPackage]:
    """Build and audit the package (``request.access_report``), then render it."""
    package = export_access_package(
        session,
        reference,
        actor=actor,
        signing_key=signing_key,
        origin=origin,
        settings=settings,
        form="pdf",
        now=now,
    )
    return access_report_pdf(package, now=now), package

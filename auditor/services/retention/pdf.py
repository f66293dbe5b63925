"""The disposition schedule and a purge run's certificate as PDF/A-3b, their JSON attached.

``schedule_pdf`` and ``certificate_pdf`` only render (no database): the CLI, the API and the
scheduler hand them the dict they already have. ``export_schedule`` and ``export_certificate``
also read what they need and audit the export (R32), in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from auditor.reports import Attachment, render_pdf
from auditor.reports.filters import day, timestamp
from auditor.services import audit, inventory
from auditor.services.context import Actor
from auditor.services.retention import dispositions as disposition_records
from auditor.services.retention import forecast as retention_forecast

SCHEDULE_TEMPLATE = "disposition_schedule.html"
CERTIFICATE_TEMPLATE = "disposition_certificate.html"
SCHEDULE_ATTACHMENT = "disposition-schedule.json"
#: the digest of no disposition records at all: SHA-256 of empty input
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


def organization_name(session: Session) -> str | None:
    """The MSP's name from the inventory (there is no setting for it), or None."""
    msp = inventory.msp_organization(session)
    return msp.name if msp else None


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


def schedule_title(months: int) -> str:
    return (
        "Disposition schedule: the next month"
        if months == 1
        else (f"Disposition schedule: the next {months} months")
    )


# -- the schedule ---------------------------------------------------------------------------------


def _held(bucket: dict[str, Any]) -> str:
    held = bucket["held"]
    if not held["count"]:
        return "0"
    word = "hold" if len(held["hold_ids"]) == 1 else "holds"
    return f"{held['count']} ({word} {', '.join(held['hold_ids'])})"


def _schedule_context(data: dict[str, Any], organization: str | None) -> dict[str, Any]:
    buckets = [data["due_now"], *data["by_month"], data["later"]]
    periods = {bucket["key"]: bucket["label"] for bucket in buckets}
    periods[retention_forecast.DUE_NOW] = "due now"
    totals = data["totals"]
    rows = []
    for bucket in buckets:
        first, last = bucket["first_day"], bucket["last_day"]
        partial = bool(first and last and not first.endswith("-01"))
        rows.append(
            {
                "label": bucket["label"],
                "days": f"from {day(first)}" if partial else None,
                "due": bucket["due"],
                "by_rule": [
                    f"{r['rule']} v{r['version']} ({r['action']}): {r['count']}"
                    for r in bucket["by_rule"]
                ],
                "by_category": [f"{c['category']}: {c['count']}" for c in bucket["by_category"]],
                "by_client": [f"{c['client']}: {c['count']}" for c in bucket["by_client"]],
                "held": _held(bucket),
                "pending_review": bucket["pending_review"],
                "blocked_other": [f"{b['reason']}: {b['count']}" for b in bucket["blocked_other"]],
            }
        )
    return {
        "organization": organization,
        "start": day(data["start"]),
        "horizon_end": day(data["horizon_end"]),
        "summary": [
            ("Organization", organization),
            ("Start day", f"{day(data['start'])} (everything due by then is 'due now')"),
            ("Months covered", f"{data['months']}, to {day(data['horizon_end'])}"),
            ("Records checked", data["records_checked"]),
            ("Due now (next purge)", totals["due_now"]),
            ("Due in the months covered", totals["due_in_months"]),
            ("Due later", totals["due_later"]),
            ("Kept back by holds", totals["held"]),
            ("Awaiting review", totals["pending_review"]),
            ("Blocked for other reasons", totals["blocked_other"]),
            ("Due date not computable", totals["not_computable"]),
        ],
        "rows": rows,
        "totals": totals,
        "not_computable": [
            (
                group["reason"],
                f"{group['rule']} v{group['version']}" if group["rule"] else None,
                group["count"],
                ", ".join(group["hold_ids"]) or None,
            )
            for group in data["not_computable"]
        ],
        "credentials": [
            (
                entry["client"],
                entry["secrets"],
                entry["terminated_on"],
                entry["due_on"],
                periods.get(entry["period"]) if entry.get("period") else None,
                entry["status"].replace("_", " "),
                entry["reason"],
            )
            for entry in data["credentials"]
        ],
    }


def schedule_pdf(
    forecast: dict[str, Any], *, organization: str | None = None, now: dt.datetime | None = None
) -> bytes:
    """The schedule (``Forecast.to_dict()``) as a PDF, the dict attached as JSON."""
    return render_pdf(
        SCHEDULE_TEMPLATE,
        _schedule_context(forecast, organization),
        title=schedule_title(forecast["months"]),
        identifier=f"from {forecast['start']}",
        attachments=[
            Attachment(
                SCHEDULE_ATTACHMENT,
                _json(forecast),
                description="The disposition schedule this report shows (JSON)",
            )
        ],
        now=now,
    )


def export_schedule_pdf(
    session: Session, *, start: dt.date, months: int, actor: Actor, now: dt.datetime | None = None
) -> bytes:
    """Compute the schedule, render it with the MSP's name, and audit the export."""
    data = retention_forecast.forecast_schedule(session, start=start, months=months).to_dict()
    pdf = schedule_pdf(data, organization=organization_name(session), now=now)
    audit.record(
        session,
        actor=actor,
        action="retention.report_export",
        details={
            "report": "disposition_schedule",
            "start": data["start"],
            "months": months,
            "sha256": hashlib.sha256(pdf).hexdigest(),
        },
        now=now,
    )
    return pdf


# -- a run's certificate --------------------------------------------------------------------------


def certificate_attachment_name(cert: dict[str, Any]) -> str:
    return f"disposition-certificate-{cert['run']['id']}.json"


def _report_period(summary: dict[str, Any]) -> tuple[str, str] | None:
    """The --from/--to days of the R22 report that contains the run's disposition records."""
    if not summary["first_at"]:
        return None
    first = dt.date.fromisoformat(summary["first_at"][:10])
    last = dt.date.fromisoformat(summary["last_at"][:10])
    return first.isoformat(), (last + dt.timedelta(days=1)).isoformat()


def _certificate_context(cert: dict[str, Any], organization: str | None) -> dict[str, Any]:
    run, summary, trail = cert["run"], cert["dispositions"], cert["audit"]
    by_method: Counter[str] = Counter()
    for group in summary["by_rule"]:
        by_method[group["method"]] += group["count"]
    id_range = None
    if summary["first_id"] is not None:
        id_range = f"{summary['first_id']} to {summary['last_id']}"
    checkpoint = trail.get("checkpoint")
    return {
        "organization": organization,
        "run": run,
        "as_of": day(run["as_of"]),
        "completed_seq": trail["run_completed_seq"],
        "count": summary["count"],
        "id_range": id_range,
        "report_period": _report_period(summary),
        "is_empty_digest": summary["digest"] == EMPTY_DIGEST,
        "run_rows": [
            ("Organization", organization),
            ("Purge run", run["id"]),
            ("Disposing as of", day(run["as_of"])),
            ("Status", run["status"]),
            ("Executed by", run["executor"]),
            ("Trigger", run["trigger"]),
            ("Started", timestamp(run["started_at"])),
            ("Finished", timestamp(run["finished_at"])),
        ],
        "record_rows": [
            ("Disposition records", summary["count"]),
            ("Their ids", id_range),
            ("Written from", timestamp(summary["first_at"])),
            ("Written to", timestamp(summary["last_at"])),
        ],
        "by_rule": [
            (
                g["rule"],
                g["version"],
                g["category"],
                g["subject_type"].replace("_", " "),
                g["method"],
                g["count"],
            )
            for g in summary["by_rule"]
        ],
        "by_category": sorted(summary["by_category"].items()),
        "by_method": sorted(by_method.items()),
        "blocked": sorted(cert["blocked"].items()),
        "credentials": [
            (
                e["client"],
                e["secrets"],
                e["status"].replace("_", " "),
                e["reason"],
                e.get("disposition_id"),
            )
            for e in cert["credentials"]
        ],
        "digest": summary["digest"],
        "digest_algorithm": summary["digest_algorithm"],
        "digest_key_id": cert["digest_key_id"],
        "audit_rows": [
            ("Run started: audit event", trail["run_started_seq"]),
            ("Run completed: audit event", trail["run_completed_seq"]),
            ("Checkpoint tree size", checkpoint["tree_size"] if checkpoint else None),
        ],
        "checkpoint": checkpoint,
        "attachment": certificate_attachment_name(cert),
    }


def certificate_pdf(
    cert: dict[str, Any], *, organization: str | None = None, now: dt.datetime | None = None
) -> bytes:
    """A run's certificate (``disposition_records.run_certificate``) as a PDF, the dict attached."""
    run_id = cert["run"]["id"]
    return render_pdf(
        CERTIFICATE_TEMPLATE,
        _certificate_context(cert, organization),
        title=f"Disposition certificate: purge run {run_id}",
        identifier=f"purge run {run_id}",
        attachments=[
            Attachment(
                certificate_attachment_name(cert),
                _json(cert),
                description=f"The certificate of purge run {run_id} (JSON)",
            )
        ],
        now=now,
    )


def export_certificate_pdf(
    session: Session,
    run_id: int,
    *,
    digest_key_id: str,
    actor: Actor,
    now: dt.datetime | None = None,
) -> bytes:
    """A run's certificate as a PDF (NotFound for an unknown run); the export is audited."""
    run = disposition_records.get_run(session, run_id)
    cert = disposition_records.run_certificate(session, run, digest_key_id=digest_key_id)
    pdf = certificate_pdf(cert, organization=organization_name(session), now=now)
    audit.record(
        session,
        actor=actor,
        action="retention.report_export",
        object_type="purge_run",
        object_id=run.id,
        details={"report": "disposition_certificate", "sha256": hashlib.sha256(pdf).hexdigest()},
        now=now,
    )
    return pdf

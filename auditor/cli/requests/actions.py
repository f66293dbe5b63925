"""``auditor requests correct|reject-correction|delete|withdraw-consent|letter|marketing-export``:
what a privacy request does (R10-R13) and the letters about it, from the command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor import keys
from auditor.cli import groups
from auditor.cli.common import ROW_ID, choice, command
from auditor.models import RequestCorrection
from auditor.permissions import Permission
from auditor.schemas.subjects import ConsentMethod
from auditor.services import requests as requests_service
from auditor.services.context import Actor
from auditor.services.errors import FieldError, ValidationFailed
from auditor.services.requests import DeletionResult

SETTINGS = ("ORGANIZATION_NAME", "ORGANIZATION_CONTACT", "PRIVACY_OFFICER")


def _moment(text: str | None, option: str) -> dt.datetime | None:
    """An ISO date (midnight UTC) or a time with its zone."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is not None and value.tzinfo is None and len(text.strip()) == 10:
        value = value.replace(tzinfo=dt.UTC)
    if value is None or value.tzinfo is None:
        raise ValidationFailed(
            f"{option} is not a date.", [FieldError(option, "YYYY-MM-DD or an ISO time with zone")]
        )
    return value.astimezone(dt.UTC)


def _show(correction: RequestCorrection) -> None:
    out = requests_service.correction_out(correction)
    click.echo(f"correction {out['id']} {out['status']}: {out['field']}")
    for party in out["third_parties_to_notify"]:
        contact = f" <{party['contact_email']}>" if party["contact_email"] else ""
        click.echo(f"  notify {party['name']}{contact} ({', '.join(party['categories'])})")


@command(groups.requests, "correct", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--field", required=True, help="display_name, email, phone, or a content path")
@click.option("--value", required=True, help="the corrected value")
@click.option("--record", "record_id", type=ROW_ID, help="the record whose content is corrected")
def correct(
    session: Session, actor: Actor, reference: str, field: str, value: str, record_id: int | None
) -> None:
    """Apply a correction (R10): the old value is kept; prints the third parties to notify."""
    correction = requests_service.apply_correction(
        session, reference, field=field, new_value=value, record_id=record_id, actor=actor
    )
    session.commit()
    _show(correction)


@command(groups.requests, "reject-correction", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--field", required=True)
@click.option("--record", "record_id", type=ROW_ID)
@click.option("--reason", required=True, help="why the value stays as it is")
@click.option("--statement", required=True, help="the individual's statement of disagreement")
@click.option("--requested", help="the value the individual asked for")
def reject_correction(session: Session, actor: Actor, reference: str, **options: object) -> None:
    """Reject a correction (R11): the statement becomes a dispute note on the subject."""
    correction = requests_service.reject_correction(
        session,
        reference,
        field=str(options["field"]),
        record_id=options["record_id"],  # type: ignore[arg-type]
        reason=str(options["reason"]),
        statement=str(options["statement"]),
        requested_value=options["requested"],  # type: ignore[arg-type]
        actor=actor,
    )
    session.commit()
    _show(correction)


def _lines(result: DeletionResult) -> None:
    for item in result.deleted:
        proof = f", disposition {item.disposition_id}" if item.disposition_id else ""
        click.echo(f"  delete record {item.record_id} {item.category} ({item.system}){proof}")
    for item in result.kept:
        until = f"until {item.dispose_on}" if item.dispose_on else "until the reason ends"
        click.echo(
            f"  keep   record {item.record_id} {item.category} ({item.system}): {item.basis}, "
            f"{until}"
        )


@command(groups.requests, "delete", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--yes", is_flag=True, help="really delete; without it this is a dry run")
def delete(session: Session, actor: Actor, reference: str, yes: bool) -> None:
    """Carry out a deletion request (R12): delete what nothing requires, keep the rest with its
    basis and date. Without --yes nothing changes: what would happen is listed."""
    if not yes:
        plan = requests_service.plan_deletion(session, reference)
        click.echo(
            f"Dry run for {reference}: {len(plan.deleted)} record(s) would be deleted, "
            f"{len(plan.kept)} kept; marketing consents to withdraw: {plan.consents_withdrawn}; "
            f"subject removed: {'yes' if plan.subject_removed else 'no'}."
        )
        _lines(plan)
        click.echo("Nothing was changed; add --yes to delete.")
        return
    result = requests_service.execute_deletion(
        session,
        reference,
        actor=actor,
        digest_key=keys.disposition_key(),
        signing_key=keys.audit_signing_key(),
        origin=keys.audit_origin(),
    )
    removed = "yes" if result.subject_removed else "no"
    click.echo(
        f"Deletion for {reference} (purge run {result.run_id}): {len(result.deleted)} record(s) "
        f"deleted, {len(result.kept)} kept; marketing consents withdrawn: "
        f"{result.consents_withdrawn}; subject removed: {removed}."
    )
    _lines(result)


@command(groups.requests, "withdraw-consent", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--purpose", required=True, help="the purpose code, e.g. marketing")
@click.option("--effective", help="when it takes effect: a date or ISO time (default now)")
@click.option("--method", type=choice(ConsentMethod), help="default: from the channel")
def withdraw_consent(
    session: Session,
    actor: Actor,
    reference: str,
    purpose: str,
    effective: str | None,
    method: str | None,
) -> None:
    """Withdraw the subject's consent for a purpose (R13); the original consent is kept."""
    consents = requests_service.withdraw_consent(
        session,
        reference,
        purpose_code=purpose,
        effective_at=_moment(effective, "--effective"),
        method=method,
        actor=actor,
    )
    session.commit()
    out = requests_service.withdrawal_out(consents)
    click.echo(f"consent to {out['purpose']} withdrawn, effective {out['effective_at']}")
    click.echo(out["implications"])


@command(groups.requests, "letter", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.argument("kind", type=click.Choice(list(requests_service.LETTER_KINDS)))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def letter(session: Session, actor: Actor, reference: str, kind: str, output: Path) -> None:
    """Write a letter about a request as PDF/A-3b (its data attached)."""
    config = current_app.config
    written = requests_service.write_letter(
        session,
        reference,
        kind,
        actor=actor,
        settings={name: config.get(name) for name in SETTINGS},
        signing_key=keys.audit_signing_key() if config.get("AUDIT_SIGNING_KEY") else None,
        origin=keys.audit_origin(),
    )
    session.commit()  # the export is audited before the file exists (R32)
    output.write_bytes(written.pdf)
    click.echo(f"{kind} of {reference} written to {output} ({len(written.pdf)} bytes)")


@command(groups.requests, "marketing-export", needs=Permission.SUBJECTS_READ)
@click.option("--as-of", "as_of", help="a date or ISO time (default now)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def marketing_export(session: Session, actor: Actor, as_of: str | None, fmt: str) -> None:
    """The marketing list: subjects with an active marketing consent and their emails (audited).
    Subjects who withdrew are left out from the withdrawal's effective date."""
    recipients = requests_service.export_marketing(
        session, as_of=_moment(as_of, "--as-of"), actor=actor
    )
    session.commit()
    if fmt == "json":
        click.echo(json.dumps(recipients, indent=2))
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["subject", "email"])
    for entry in recipients:
        for email in entry["emails"] or [""]:
            writer.writerow([entry["subject"], email])
    click.echo(buffer.getvalue(), nl=False)

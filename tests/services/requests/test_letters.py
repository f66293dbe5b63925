"""Letters about a privacy request (R2/R3, R7, R10-R13): each applies only once its step is
done, says what it must in plain language (sections, "None.", dates, the OPC, the request id),
carries the signed checkpoint covering the request, and has its data attached as JSON."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import AuditCheckpoint, AuditEvent
from auditor.schemas.requests import ExtensionIn, TransitionIn
from auditor.services.errors import Conflict, NotFound
from auditor.services.requests import consents, corrections, deadlines, letters, workflow
from auditor.services.requests import deletion as request_deletion
from tests.factories import (
    DIGEST_KEY,
    NOW,
    OFFICER,
    attached_json,
    default_rules,
    person,
    request_for,
    subject_record,
)
from tests.factories import flat_text as flat

UTC = dt.UTC
SETTINGS = {
    "ORGANIZATION_NAME": "ServeITPro Inc.",
    "ORGANIZATION_CONTACT": "privacy@serveitpro.example",
    "PRIVACY_OFFICER": "Jordan Lee",
}
ORIGIN = "auditor.test/audit-log"


def write(session, request, kind, signing_key=None, **kwargs):
    return letters.write_letter(
        session,
        request.reference,
        kind,
        actor=OFFICER,
        settings=kwargs.pop("settings", SETTINGS),
        signing_key=signing_key,
        origin=ORIGIN if signing_key else None,
        now=NOW,
        **kwargs,
    )


def check_common(letter, request, *, to="Amélie Tremblay"):
    text = flat(letter.pdf)
    assert request.reference in text
    assert "22 November 2026" in text  # the letter's date
    assert f"To: {to}" in text
    assert "ServeITPro Inc." in text and "Privacy officer: Jordan Lee" in text
    assert "Office of the Privacy Commissioner of Canada" in text and "1-800-282-1376" in text
    assert "Page 1 of" in text
    name = letters.attachment_name(request.reference, letter.kind)
    assert attached_json(letter.pdf, name) == letter.data
    return text


def test_the_deletion_report_lists_deleted_and_kept_items(session, inventory, signing_key):
    default_rules(session)
    subject = person(session, marketing=True)
    old = subject_record(session, subject=subject, closed_at=dt.datetime(2015, 2, 1, tzinfo=UTC))
    recent = subject_record(
        session,
        subject=subject,
        created_at=dt.datetime(2025, 1, 10, tzinfo=UTC),
        closed_at=dt.datetime(2025, 2, 1, tzinfo=UTC),
    )
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    with pytest.raises(Conflict, match="not been carried out"):
        write(session, request, "deletion-report")
    result = request_deletion.execute_deletion(
        session, request, actor=OFFICER, digest_key=DIGEST_KEY, now=NOW
    )
    assert session.scalars(select(AuditCheckpoint)).all() == []
    letter = write(session, request, "deletion-report", signing_key)
    text = check_common(letter, request)
    report = letter.data["deletion_report"]
    assert [(i["record_id"], i["disposition_id"]) for i in report["deleted"]] == [
        (old.id, result.deleted[0].disposition_id)
    ]
    assert [(i["record_id"], i["dispose_on"]) for i in report["kept"]] == [
        (recent.id, "2032-02-01")
    ]
    assert "What we deleted Information Where it was Our record no. Deleted on" in text
    assert (
        f"Ticket history PSA {old.id} 22 November 2026 disposition record {report['deleted'][0]['disposition_id']}"
        in text
    )
    assert "on 1 February 2032" in text and "Legitimate business purpose" in text
    assert "Your consent to marketing communications is withdrawn as of 22 November 2026" in text
    with pytest.raises(Conflict, match="in the deletion report"):
        write(session, request, "withdrawal-confirmation")
    assert "We keep your profile" in text
    # no checkpoint covered the request: one was signed for the letter, and the letter audited
    checkpoint = session.scalars(select(AuditCheckpoint)).one()
    assert letter.data["audit"]["checkpoint"]["tree_size"] == checkpoint.tree_size
    assert checkpoint.tree_size >= letter.data["audit"]["last_seq"]
    assert f"Signed audit checkpoint tree size {checkpoint.tree_size}, signed 22 November" in text
    assert letter.data["audit"]["checkpoint"]["root_hash"] == checkpoint.root_hash
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "request.letter")).one()
    assert event.details["kind"] == "deletion-report" and len(event.details["sha256"]) == 64
    # a second letter reuses the checkpoint: the letter events do not count
    write(session, request, "deletion-report", signing_key)
    assert len(session.scalars(select(AuditCheckpoint)).all()) == 1


def test_an_empty_deletion_report_says_none(session, inventory):
    default_rules(session)
    subject = person(session)
    request = request_for(session, subject=subject, type="deletion")
    session.commit()
    request_deletion.execute_deletion(
        session, request, actor=OFFICER, digest_key=DIGEST_KEY, now=NOW
    )
    letter = write(session, request, "deletion-report")
    text = flat(letter.pdf)
    assert "What we deleted None. What we keep, and why None." in text
    assert "Your consent to marketing None." in text
    assert "We also removed your profile" in text
    assert "Signed audit checkpoint not signed yet" in text
    assert letter.data["deletion_report"]["profile_removed"] is True
    assert letter.data["audit"]["checkpoint"] is None


def test_the_extension_notice_states_the_new_date_reason_and_opc(session, inventory):
    subject = person(session)
    request = request_for(session, subject=subject, type="access")
    with pytest.raises(Conflict, match="not extended"):
        write(session, request, "extension-notice")
    data = ExtensionIn(
        reason="consultations_needed",
        new_due_at=request.original_due_at + dt.timedelta(days=30),
        notice_sent_at=NOW,
        notice_text="We must consult the client's records custodian.",
        opc_statement=True,
    )
    deadlines.extend(session, request.reference, data, actor=OFFICER, now=NOW)
    letter = write(session, request, "extension-notice")
    text = check_common(letter, request)
    assert "answer by 18 January 2027 at the latest" in text
    assert "until 19 December 2026" in text
    assert "We must consult others before we can answer" in text
    assert "You have the right to complain about this extension to the Office of the" in text
    assert "What we wrote to you on 22 November 2026 We must consult the client's" in text
    assert "22 November 2026. The law allows one extension only" in text
    assert letter.data["extension_notice"]["new_due_at"] == "2027-01-18T12:00:00+00:00"


def test_the_refusal_letter_gives_grounds_reasons_and_six_months(session, inventory):
    subject = person(session)
    request = request_for(session, subject=subject, type="access")
    with pytest.raises(Conflict, match="no refusal letter"):
        write(session, request, "refusal")
    workflow.transition(
        session,
        request.reference,
        TransitionIn(
            to="refused",
            grounds=["solicitor_client_privilege", "formal_dispute_resolution"],
            reasons="The file was prepared for the arbitration with your employer.",
            at=NOW,
        ),
        actor=OFFICER,
        now=NOW,
    )
    letter = write(session, request, "refusal")
    text = check_common(letter, request)
    assert "We have decided to refuse your request." in text
    assert "protected by solicitor-client or litigation privilege" in text
    assert "produced in a formal dispute resolution process" in text
    assert "prepared for the arbitration with your employer" in text
    assert "within six months after it, that is by 22 May 2027" in text
    assert letter.data["refusal"]["complain_by"] == "2027-05-22"


def test_the_correction_outcome_shows_old_new_third_parties_and_disputes(session, inventory):
    subject = person(session)
    ticket = subject_record(session, subject=subject, content={"diagnosis": "User error"})
    subject_record(
        session, subject=subject, category="personal_contact", content={"name": "Amélie"}
    )
    request = request_for(session, subject=subject, type="correction")
    with pytest.raises(Conflict, match="No correction"):
        write(session, request, "correction-outcome")
    corrections.apply_correction(
        session, request, field="display_name", new_value="Amélie Roy", actor=OFFICER, now=NOW
    )
    corrections.reject_correction(
        session,
        request,
        field="diagnosis",
        record_id=ticket.id,
        reason="A technician's professional opinion.",
        statement="It was a hardware fault.",
        requested_value="Hardware fault",
        actor=OFFICER,
        now=NOW,
    )
    letter = write(session, request, "correction-outcome")
    text = check_common(letter, request)
    assert "Your name Amélie Tremblay Amélie Roy 22 November 2026" in text
    assert "Dell Technologies" in text and "Microsoft Corporation" in text
    assert f"diagnosis (our record no. {ticket.id})" in text
    assert "What we hold User error What you asked for Hardware fault" in text
    assert "It was a hardware fault." in text
    outcome = letter.data["correction_outcome"]
    assert [p["code"] for p in outcome["notified"]] == ["dell", "microsoft"]
    assert outcome["rejected"][0]["statement"] == "It was a hardware fault."


def test_the_withdrawal_confirmation_explains_the_implications(session, inventory):
    subject = person(session, marketing=True)
    request = request_for(session, subject=subject, type="consent_withdrawal")
    with pytest.raises(Conflict, match="No consent was withdrawn"):
        write(session, request, "withdrawal-confirmation")
    consents.withdraw_consent(
        session,
        request,
        purpose_code="marketing",
        effective_at=NOW - dt.timedelta(days=2),
        actor=OFFICER,
        now=NOW,
    )
    letter = write(session, request, "withdrawal-confirmation")
    text = check_common(letter, request)
    assert "Marketing communications 20 November 2026" in text
    assert "From 20 November 2026 we no longer use your information to send you newsletters" in text
    assert "does not change the services you receive" in text


def test_a_forwarded_request_is_answered_to_the_client(session, inventory):
    inventory.client.contact_email = "privacy@acme.example"
    subject = person(session, marketing=True)
    request = request_for(
        session,
        subject=subject,
        type="consent_withdrawal",
        channel="client_forwarded",
        forwarded_by="acme",
        respond_to="client",
        external_reference="ACME-77",
    )
    consents.withdraw_consent(session, request, purpose_code="marketing", actor=OFFICER, now=NOW)
    letter = write(session, request, "withdrawal-confirmation", settings={})
    text = check_common_client(letter, request)
    assert "privacy@acme.example" in text and "Your reference: ACME-77" in text
    assert "the privacy request of Amélie Tremblay that you forwarded" in text
    assert "Dear Amélie Tremblay," in text
    assert letter.data["organization"] == {"name": "Msp", "contact": None, "privacy_officer": None}


def check_common_client(letter, request):
    text = flat(letter.pdf)
    assert request.reference in text and "To: Acme" in text
    assert "Msp" in text and "The privacy officer" in text
    return text


def test_an_unknown_letter_is_not_found(session, inventory):
    request = request_for(session, subject=person(session), type="access")
    with pytest.raises(NotFound):
        write(session, request, "love-letter")
    with pytest.raises(NotFound):
        letters.write_letter(session, "PR-2000-00001", "refusal", actor=OFFICER)


def test_the_msp_contact_comes_from_the_inventory(session, inventory):
    inventory.msp.contact_email = "privacy@msp.example"
    assert letters.organization(session, None) == {
        "name": "Msp",
        "contact": "privacy@msp.example",
        "privacy_officer": None,
    }

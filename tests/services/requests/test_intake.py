"""Privacy requests at intake: subject resolution, forwarding, R30, documents, tasks, the R9 hold,
references, listing, reading and the identity guard; audited without personal data."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from auditor.models import Hold, PrivacyRequest, RequestDocument
from auditor.services.errors import Conflict, IdentityNotVerified, NotFound, ValidationFailed
from auditor.services.requests import intake as requests
from auditor.services.requests import workflow
from auditor.services.requests.guards import require_verified
from tests import factories
from tests.factories import NOW, OFFICER, assert_no_personal_data, events, open_request, verify


@pytest.fixture
def subject(session, inventory):
    return factories.subject(
        session, email="amelie.tremblay@acme.example", name="Amélie Tremblay", organization="acme"
    )


def test_open_resolves_the_subject_and_sets_the_30_day_clock(session, inventory, subject):
    request = open_request(session)
    assert request.reference == "PR-2026-00001"
    assert (request.status, request.type, request.channel) == ("received", "access", "email")
    assert request.received_at == NOW - dt.timedelta(days=3)
    assert request.due_at == request.original_due_at == request.received_at + dt.timedelta(30)
    assert request.subject is subject
    assert request.respond_to == "individual" and request.forwarded_by is None
    assert request.subject_identifiers == [
        {"kind": "email", "value": "amelie.tremblay@acme.example"}
    ]
    assert (request.requester_name, request.created_by) == ("Amélie Tremblay", "user:7")
    out = requests.request_out(request, now=NOW)
    assert (out.days_left, out.overdue, out.deemed_refused, out.verified) == (
        27,
        False,
        False,
        False,
    )
    assert out.deadline_met is None and out.file_retention_until is None


def test_references_count_per_year_received(session, inventory):
    first = open_request(session)
    second = open_request(session)
    older = open_request(session, received_at=dt.datetime(2025, 12, 30, tzinfo=dt.UTC))
    assert [first.reference, second.reference, older.reference] == [
        "PR-2026-00001",
        "PR-2026-00002",
        "PR-2025-00001",
    ]


def test_unknown_or_ambiguous_identifiers_leave_the_subject_unresolved(session, inventory):
    nobody = open_request(session, identifiers=[{"kind": "email", "value": "x@nowhere.example"}])
    assert nobody.subject is None
    factories.subject(session, email="one@acme.example", phone="4165550101")
    factories.subject(session, email="two@acme.example")
    both = open_request(
        session,
        identifiers=[
            {"kind": "phone", "value": "(416) 555-0101"},
            {"kind": "email", "value": "TWO@acme.example"},
        ],
    )
    assert both.subject is None  # two people: the officer decides
    assert both.subject_identifiers[0] == {"kind": "phone", "value": "+14165550101"}
    assert session.scalars(select(Hold)).all() == []  # no subject, no hold yet


def test_subject_by_ref_and_unknown_ref(session, inventory, subject):
    assert open_request(session, identifiers=[], subject=subject.ref).subject is subject
    with pytest.raises(ValidationFailed) as info:
        open_request(session, subject="sub_nobody")
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("subject", "no data subject with that ref")
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"received_at": NOW + dt.timedelta(hours=1)}, "received_at"),
        ({"request_text": None}, "request_text"),
        ({"channel": "client_forwarded"}, "forwarded_by"),
        ({"forwarded_by": "acme"}, "channel"),
        ({"client_instructions": "Only the PSA"}, "client_instructions"),
        ({"respond_to": "client"}, "respond_to"),
        ({"identifiers": [{"kind": "email", "value": "not-an-email"}]}, "identifiers[0]"),
    ],
)
def test_invalid_intake_is_refused_and_writes_nothing(session, inventory, overrides, field):
    with pytest.raises(ValidationFailed) as info:
        open_request(session, **overrides)
    assert field in [e.field for e in info.value.errors]
    assert "Amélie" not in info.value.detail
    assert session.scalars(select(PrivacyRequest)).all() == []
    assert events(session) == []


def test_forwarded_by_a_client_answers_to_the_client(session, inventory, subject):
    request = open_request(
        session,
        channel="client_forwarded",
        forwarded_by="acme",
        client_instructions="Search the PSA only; reply to our privacy desk.",
    )
    assert request.forwarded_by is inventory.client
    assert request.respond_to == "client"
    assert request.client_instructions.startswith("Search the PSA")
    individual = open_request(
        session, channel="client_forwarded", forwarded_by="acme", respond_to="individual"
    )
    assert individual.respond_to == "individual"
    with pytest.raises(ValidationFailed) as info:
        open_request(session, channel="client_forwarded", forwarded_by="msp")
    assert info.value.errors[0].message == "not a client"


def test_portability_only_for_quebec(session, inventory, subject):
    with pytest.raises(ValidationFailed) as info:
        open_request(session, type="portability")
    assert "Québec" in info.value.detail and info.value.errors[0].field == "type"
    qc_person = factories.subject(session, email="luc@qc.example", organization="qc-client")
    by_client = open_request(
        session, type="portability", identifiers=[{"kind": "email", "value": "luc@qc.example"}]
    )
    assert by_client.subject is qc_person
    flagged = factories.subject(session, email="flagged@acme.example", organization="acme")
    flagged.is_quebec = True
    by_subject = open_request(session, type="portability", identifiers=[], subject=flagged.ref)
    forwarded = open_request(
        session, type="portability", channel="client_forwarded", forwarded_by="qc-client",
        identifiers=[],
    )  # fmt: skip
    assert {by_client.type, by_subject.type, forwarded.type} == {"portability"}


def test_written_request_text_and_file_are_kept_with_their_digest(session, inventory):
    letter = b"%PDF-1.7 a scanned letter"
    request = open_request(
        session,
        document={
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(letter).decode(),
            "filename": "letter.pdf",
        },
    )
    text, scan = session.scalars(
        select(RequestDocument).where(RequestDocument.request_id == request.id)
    ).all()
    assert (text.kind, text.media_type, text.filename) == ("written_request", "text/plain", None)
    assert text.content.decode() == "Please send me everything you hold about me. Amélie Tremblay"
    assert (scan.media_type, scan.filename, scan.size) == ("application/pdf", "letter.pdf", 25)
    assert scan.content == letter and scan.sha256 == hashlib.sha256(letter).hexdigest()
    assert scan.added_by == "user:7"


@pytest.mark.parametrize(
    ("content", "message"),
    [("not base64!", "not valid base64"), ("====", "not valid base64")],
)
def test_bad_document_is_refused(session, inventory, content, message):
    with pytest.raises(ValidationFailed) as info:
        open_request(session, document={"media_type": "text/plain", "content_base64": content})
    assert message in info.value.errors[0].message


def test_oversized_document_is_refused(session, inventory, monkeypatch):
    from auditor.services.requests import documents as request_documents

    monkeypatch.setattr(request_documents, "MAX_DOCUMENT_BYTES", 10)
    big = base64.b64encode(b"x" * 11).decode()
    with pytest.raises(ValidationFailed) as info:
        open_request(session, document={"media_type": "text/plain", "content_base64": big})
    assert info.value.errors[0].message == "over 10 bytes decoded"


def test_one_task_per_system_for_its_owner_records_marked(session, inventory, subject):
    inventory.siem.owner = "Security lead"
    factories.stored_record(
        session, subjects=[subject], created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    request = open_request(session)
    tasks = {task.system.code: task for task in request.tasks}
    assert sorted(tasks) == ["billing", "psa", "siem"]
    assert tasks["siem"].assignee == "Security lead" and tasks["psa"].assignee is None
    assert [c for c, t in tasks.items() if t.holds_records] == ["psa"]
    assert all(not t.searched and t.found is None and t.closed_at is None for t in tasks.values())


def test_opening_places_the_recourse_hold_on_the_subject(session, inventory, subject):
    request = open_request(session)
    hold = session.scalars(select(Hold)).one()
    assert (hold.kind, hold.scope, hold.scope_value) == ("recourse", "subject", subject.ref)
    assert hold.reference == request.reference
    assert hold.until is None and not hold.open_ended  # no end while unanswered (R9)


def test_linking_the_subject_later_places_the_hold_and_marks_systems(session, inventory, subject):
    request = open_request(session, identifiers=[{"kind": "email", "value": "x@home.example"}])
    factories.stored_record(
        session,
        subjects=[subject],
        system="billing",
        created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    workflow.link_subject(session, request.reference, subject.ref, actor=OFFICER, now=NOW)
    assert request.subject is subject
    assert [t.system.code for t in request.tasks if t.holds_records] == ["billing"]
    hold = session.scalars(select(Hold)).one()
    assert (hold.scope_value, hold.reference) == (subject.ref, request.reference)
    with pytest.raises(Conflict, match="already linked"):
        workflow.link_subject(session, request.reference, subject.ref, actor=OFFICER)
    other = open_request(session, identifiers=[])
    with pytest.raises(ValidationFailed):
        workflow.link_subject(session, other.reference, "sub_nobody", actor=OFFICER)
    link = events(session, "request.link_subject")[-1]
    assert link.details == {"subject": subject.ref}


def test_require_verified_guards_disclosure_and_deletion(session, inventory):
    request = open_request(session)
    with pytest.raises(IdentityNotVerified) as info:
        require_verified(request)
    assert request.reference in info.value.detail and "verif" in info.value.detail
    assert isinstance(info.value, Conflict)  # 409
    verify(session, request)
    require_verified(request)  # no error once recorded


def test_list_filters_and_pages(session, inventory):
    access = open_request(session)
    late = open_request(session, type="deletion", received_at=NOW - dt.timedelta(days=40))
    done = open_request(session, type="correction")
    done.status = "withdrawn"
    done.closed_at = NOW
    ids = lambda **f: [r.id for r in requests.list_requests(session, now=NOW, **f)]  # noqa: E731
    assert ids() == [access.id, late.id, done.id]
    assert ids(overdue=True) == [late.id]
    assert ids(overdue=False) == [access.id, done.id]
    assert ids(type="deletion") == [late.id]
    assert ids(status="withdrawn") == [done.id]
    assert ids(after=access.id, limit=1) == [late.id]
    out = requests.request_out(late, now=NOW)
    assert (out.overdue, out.deemed_refused, out.days_left) == (True, True, -10)


def test_a_page_counts_its_tasks_in_one_query_as_each_request_would(session, inventory, subject):
    from auditor.services.requests import tasks as request_tasks

    factories.stored_record(
        session, subjects=[subject], created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    searched = open_request(session)
    verify(session, searched)
    factories.close_tasks(session, searched)
    partly = open_request(session, type="deletion")
    first = partly.tasks[0]
    first.closed_at = NOW
    unsubscribe = open_request(session, type="consent_withdrawal")  # no tasks at all
    session.commit()
    page = [searched, partly, unsubscribe]
    listed = requests.requests_out(session, page, now=NOW)
    assert [out.tasks_summary for out in listed] == [request_tasks.summary(r) for r in page]
    assert [
        (s.total, s.open, s.closed, s.holding_records)
        for s in (out.tasks_summary for out in listed)
    ] == [(3, 0, 3, 1), (3, 2, 1, 1), (0, 0, 0, 0)]
    assert listed == [requests.request_out(r, now=NOW) for r in page]


def test_read_is_audited_without_personal_data(session, inventory, subject):
    request = open_request(session)
    read = requests.read_request(session, request.reference, actor=OFFICER, requester=True)
    detail = requests.request_detail(read, requester=True, identifiers=True, now=NOW)
    assert detail.requester.name == "Amélie Tremblay"
    assert detail.identifiers == [{"kind": "email", "value": "amelie.tremblay@acme.example"}]
    hidden = requests.request_detail(read, requester=False, identifiers=False, now=NOW)
    assert hidden.requester is None and hidden.identifiers is None
    assert hidden.client_instructions is None
    assert events(session, "request.read")[-1].details == {"requester": True, "identifiers": False}
    with pytest.raises(NotFound):
        requests.read_request(session, "PR-1999-00001", actor=OFFICER)


def test_open_is_audited_by_reference_without_personal_data(session, inventory, subject):
    request = open_request(session)
    [event] = events(session, "request.open")
    assert (event.object_type, event.object_id, event.actor) == (
        "privacy_request",
        request.reference,
        "user:7",
    )
    assert event.organization_id == inventory.client.id
    assert event.details == {
        "type": "access",
        "channel": "email",
        "received_at": request.received_at.isoformat(),
        "due_at": request.due_at.isoformat(),
        "subject": subject.ref,
        "forwarded_by": None,
        "respond_to": "individual",
        "documents": 1,
        "tasks": 3,
    }
    assert_no_personal_data(events(session, ""), "home.example", "everything you hold")

"""The request desk: the list and its filters in the URL, soonest due first; the CSV of exactly
the filtered rows, formulas neutralised; the intake form with the API's errors beside the fields
(nothing written); and one clock for every view, checked at 23:30 in Toronto on a due date."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from auditor.models import PrivacyRequest
from auditor.schemas.requests import TransitionIn
from auditor.services.requests import workflow
from tests import factories
from tests.factories import NOW, OFFICER, flat_text, web

TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture
def officer(app, session, inventory):
    client, _ = web.signed_in(app, session, moment=NOW)
    return client


def rows_of(answer) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def references(text: str, candidates) -> list[str]:
    found = [(text.find(r.reference), r.reference) for r in candidates if r.reference in text]
    return [reference for _, reference in sorted(found)]


def test_the_list_filters_by_the_url_and_sorts_by_due_date(app, session, officer, inventory):
    factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    late = factories.open_request(session, received_at=NOW - dt.timedelta(days=40))
    soon = factories.open_request(session, received_at=NOW - dt.timedelta(days=25), type="deletion")
    fresh = factories.open_request(session, received_at=NOW - dt.timedelta(days=1))
    everything = officer.get("/requests").get_data(as_text=True)
    assert references(everything, [fresh, late, soon]) == [
        late.reference,
        soon.reference,
        fresh.reference,
    ]
    assert "3 requests, soonest due first." in everything
    assert "There is a problem" not in everything
    assert "deemed refused: 10 days overdue" in everything
    overdue = officer.get("/requests?overdue=true").get_data(as_text=True)
    assert references(overdue, [fresh, late, soon]) == [late.reference]
    within = officer.get("/requests?due_within=7&overdue=false").get_data(as_text=True)
    assert references(within, [fresh, late, soon]) == [soon.reference]
    deletion = officer.get("/requests?type=deletion").get_data(as_text=True)
    assert references(deletion, [fresh, late, soon]) == [soon.reference]
    acme = officer.get("/requests?client=acme").get_data(as_text=True)
    assert len(references(acme, [fresh, late, soon])) == 3
    assert "0 requests" in officer.get("/requests?client=qc-client").get_data(as_text=True)
    assert "0 requests" in officer.get("/requests?quebec=true").get_data(as_text=True)


def test_a_bad_filter_is_said_on_the_page(officer):
    answer = officer.get("/requests?due_within=-3&status=lost")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "There is a problem" in text and "greater than or equal to 0" in text


def test_the_csv_holds_exactly_the_filtered_rows_with_formulas_neutralised(
    app, session, officer, inventory
):
    late = factories.open_request(session, received_at=NOW - dt.timedelta(days=40))
    factories.open_request(session, received_at=NOW - dt.timedelta(days=1))
    late.channel = "email"
    session.flush()
    answer = officer.get("/requests/export.csv?overdue=true")
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = rows_of(answer)
    assert [row["reference"] for row in rows] == [late.reference]
    assert rows[0]["deadline"] == "deemed refused: 10 days overdue"
    assert rows[0]["days_left"] == "-10" or rows[0]["days_left"] == "'-10"
    assert rows[0]["days_left"].startswith("'")  # a minus sign would start a formula
    assert rows[0]["due"] == "2026-11-12"


def test_the_intake_form_shows_the_apis_errors_beside_the_fields_and_writes_nothing(
    session, officer
):
    before = session.scalar(select(func.count()).select_from(PrivacyRequest))
    answer = web.post_form(
        officer,
        "/requests/new",
        {
            "type": "access",
            "channel": "pigeon",
            "received_at": "2030-01-01T09:00",
            "requester_name": "",
            "requester_contact": "a@b.example",
        },
    )
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "There is a problem" in text
    assert 'id="field-channel-error"' in text and 'id="field-requester_name-error"' in text
    assert 'aria-invalid="true"' in text
    assert session.scalar(select(func.count()).select_from(PrivacyRequest)) == before


def test_the_intake_form_opens_a_request_with_its_written_request(session, officer):
    answer = web.post_form(
        officer,
        "/requests/new",
        {
            "type": "access",
            "channel": "email",
            "received_at": "2026-11-20T09:30",
            "requester_name": "Amélie Tremblay",
            "requester_contact": "amelie@home.example",
            "identifier_email": "amelie.tremblay@acme.example",
            "document": (io.BytesIO(b"Send me my data."), "request.txt", "text/plain"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    reference = answer.headers["Location"].rsplit("/", 1)[1]
    opened = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
    assert opened.received_at == dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC)  # 09:30 Toronto
    assert [d.filename for d in opened.documents] == ["request.txt"]
    page = officer.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Request recorded" in page and "Amélie Tremblay" in page


def test_the_request_page_verifies_extends_and_refuses_what_its_state_forbids(
    session, officer, inventory
):
    request = factories.open_request(session, received_at=NOW - dt.timedelta(days=10))
    path = f"/requests/{request.reference}"
    page = officer.get(path).get_data(as_text=True)
    for action in ("Verify the requester", "Extend the deadline", "Record a fee", "Answer, refuse"):
        assert action in page
    answer = web.post_form(
        officer, f"{path}/verify", {"method": "matched_known_contact"}, page=path
    )
    assert answer.status_code == 302
    session.expire_all()
    assert request.verified_at is not None and request.status == "in_progress"
    bad = web.post_form(
        officer,
        f"{path}/extend",
        {
            "reason": "consultations_needed",
            "new_due_on": "2027-03-01",
            "notice_sent_at": "2026-11-21T10:00",
            "notice_text": "We need more time.",
        },
        page=path,
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "the notice must state the right to complain" in text
    assert "at most 30 days after the original due date" in text
    session.expire_all()
    assert request.extended_at is None
    good = web.post_form(
        officer,
        f"{path}/extend",
        {
            "reason": "consultations_needed",
            "new_due_on": "2027-01-01",
            "notice_sent_at": "2026-11-21T10:00",
            "notice_text": "We need more time.",
            "opc_statement": "yes",
        },
        page=path,
    )
    session.expire_all()
    assert good.status_code == 302 and request.status == "extended"
    # the chosen day, at the original due date's time of day
    assert request.due_at == dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)
    page = officer.get(path).get_data(as_text=True)
    assert "Extend the deadline" not in page and "Deadline extended" in page
    assert "Letter: We need more time" in page
    refused = web.post_form(officer, f"{path}/answer", {"to": "refused"}, page=path)
    assert refused.status_code == 422 and request.status == "extended"
    assert "There is a problem" in refused.get_data(as_text=True)


def test_quebec_requests_offer_no_extension(session, officer, inventory):
    factories.subject(session, email="luc@qc.example", organization="qc-client")
    request = factories.open_request(
        session, identifiers=[{"kind": "email", "value": "luc@qc.example"}]
    )
    page = officer.get(f"/requests/{request.reference}").get_data(as_text=True)
    assert "Québec: 30 days, no extension" in page and "Extend the deadline" not in page
    forced = web.post_form(
        officer,
        f"/requests/{request.reference}/extend",
        {
            "reason": "consultations_needed",
            "new_due_on": "2026-12-30",
            "notice_sent_at": "2026-11-21T10:00",
            "notice_text": "More time.",
            "opc_statement": "yes",
        },
        page=f"/requests/{request.reference}",
    )
    assert forced.status_code == 409 and request.extended_at is None
    assert "no extension (R29)" in forced.get_data(as_text=True)


def test_one_clock_at_2330_in_toronto_on_the_due_date(app, session, inventory):
    # received 22:00 Toronto on 2 November (03:00 UTC on the 3rd): due 2 December, 22:00 there
    request = factories.open_request(
        session, received_at=dt.datetime(2026, 11, 3, 3, 0, tzinfo=dt.UTC), now=NOW
    )
    moment = dt.datetime(2026, 12, 2, 23, 30, tzinfo=TORONTO)  # 04:30 UTC on 3 December
    client, _ = web.signed_in(app, session, moment=moment)
    page = client.get(f"/requests/{request.reference}").get_data(as_text=True)
    assert "2 December 2026 (due today)" in page
    listing = client.get("/requests").get_data(as_text=True)
    assert "due today" in listing and "deemed refused" not in listing
    board = client.get("/").get_data(as_text=True)
    assert "No request is overdue." in board and "due today" in board
    row = rows_of(client.get("/requests/export.csv"))[0]
    assert (row["due"], row["days_left"], row["deadline"]) == ("2026-12-02", "0", "due today")
    factories.close_tasks(session, request, now=moment.astimezone(dt.UTC))
    workflow.transition(
        session,
        request.reference,
        TransitionIn(to="refused", grounds=["third_party_information"], reasons="Third party."),
        actor=OFFICER,
        now=moment.astimezone(dt.UTC),
    )
    letter = client.get(f"/requests/{request.reference}/letters/refusal.pdf")
    assert letter.status_code == 200, letter.get_data(as_text=True)[-2000:]
    assert letter.mimetype == "application/pdf"
    assert "Answer due 2 December 2026" in flat_text(letter.data)
    page = client.get(f"/requests/{request.reference}").get_data(as_text=True)
    assert "answered on time" in page

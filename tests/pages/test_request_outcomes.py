"""What the other kinds of request change, from the request page: the subject linked, a
correction applied, a consent withdrawn, a deletion previewed and then carried out; each refused
with its reason beside the form when it cannot be done, changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from auditor.models import Consent, Record, RequestCorrection
from tests import factories
from tests.factories import NOW, web


@pytest.fixture
def officer(app, session, inventory):
    client, _ = web.signed_in(app, session, moment=NOW)
    return client


def test_a_request_without_its_subject_asks_for_it_and_links_it(session, officer):
    request = factories.open_request(
        session, identifiers=[{"kind": "email", "value": "no@one.example"}]
    )
    path = f"/requests/{request.reference}"
    assert "Link the data subject" in officer.get(path).get_data(as_text=True)
    wrong = web.post_form(officer, f"{path}/subject", {"subject": "sub_nobody"}, page=path)
    assert wrong.status_code in (404, 409, 422)
    person = factories.subject(session, email="zoe@acme.example", organization="acme")
    linked = web.post_form(officer, f"{path}/subject", {"subject": person.ref}, page=path)
    assert linked.status_code == 302
    session.expire_all()
    assert request.subject_id == person.id
    assert "Data subject linked" in officer.get(path).get_data(as_text=True)


def test_a_correction_is_applied_from_the_page(session, officer):
    person = factories.person(session)
    request = factories.request_for(session, subject=person, type="correction")
    path = f"/requests/{request.reference}"
    assert "Apply a correction" in officer.get(path).get_data(as_text=True)
    empty = web.post_form(officer, f"{path}/correct", {"field": "email"}, page=path)
    assert empty.status_code == 422 and 'id="field-new_value-error"' in empty.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(RequestCorrection)) == 0
    done = web.post_form(
        officer,
        f"{path}/correct",
        {"field": "email", "new_value": "amelie.t@acme.example"},
        page=path,
    )
    assert done.status_code == 302
    correction = session.scalars(select(RequestCorrection)).one()
    assert correction.field == "email" and correction.new_value == "amelie.t@acme.example"
    assert "Correction recorded" in officer.get(path).get_data(as_text=True)


def test_a_consent_is_withdrawn_from_the_page(session, officer):
    person = factories.person(session, marketing=True)
    request = factories.request_for(session, subject=person, type="consent_withdrawal")
    path = f"/requests/{request.reference}"
    page = officer.get(path).get_data(as_text=True)
    assert "Withdraw a consent" in page and '<option value="marketing"' in page
    done = web.post_form(
        officer, f"{path}/withdraw-consent", {"purpose": "marketing", "method": "email"}, page=path
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    consent = session.scalars(select(Consent).where(Consent.subject_id == person.id)).one()
    session.refresh(consent)
    assert consent.withdrawn_at is not None


def test_a_deletion_is_previewed_then_needs_its_confirmation(session, officer):
    case = factories.scenario(session, type="deletion")
    path = f"/requests/{case.request.reference}"
    page = officer.get(path).get_data(as_text=True)
    assert "Carry out the deletion" in page and "Today it would delete" in page
    before = session.scalar(select(func.count()).select_from(Record))
    unconfirmed = web.post_form(officer, f"{path}/delete", {}, page=path)
    assert unconfirmed.status_code == 422
    assert "tick the box: it cannot be undone" in unconfirmed.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Record)) == before
    done = web.post_form(officer, f"{path}/delete", {"confirm": "yes"}, page=path)
    assert done.status_code == 302, done.get_data(as_text=True)[:800]
    assert session.scalar(select(func.count()).select_from(Record)) < before
    assert "Deletion carried out" in officer.get(path).get_data(as_text=True)


def test_a_technician_records_the_search_of_a_system_and_closes_its_task(app, session, inventory):
    factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    request = factories.open_request(session)
    task = request.tasks[0]
    client, person = web.signed_in(app, session, role="technician", moment=NOW)
    factories.grant(session, person, "acme")
    path = f"/requests/{request.reference}"
    page = client.get(path).get_data(as_text=True)
    assert f"Record the search of {task.system.name}" in page
    early = web.post_form(
        client,
        f"{path}/tasks/{task.id}",
        {"found": "yes", "element": "ticket contact field", "action": "deleted"},
        page=path,
    )
    assert early.status_code == 409  # nothing is deleted before the identity is verified
    assert "not verified" in early.get_data(as_text=True)
    session.expire_all()
    assert task.searched_at is None
    done = web.post_form(
        client,
        f"{path}/tasks/{task.id}",
        {"found": "no", "note": "No ticket under that address.", "close": "yes"},
        page=path,
    )
    assert done.status_code == 302
    session.expire_all()
    assert (task.found, task.closed_at is not None, task.note) == (
        False,
        True,
        "No ticket under that address.",
    )
    assert task.closed_by == f"user:{person.id}"
    after = client.get(path).get_data(as_text=True)
    assert f"Record the search of {task.system.name}" not in after
    assert "Search task updated" in after

"""The web application in a real browser: enrolment, the dashboard, a request from intake to
its PDF, an overdue request deemed refused, a technician refused another client's request,
CSRF, a replayed TOTP code, and a session that expires."""

from __future__ import annotations

import datetime as dt
import io
import re

from pypdf import PdfReader

from tests import factories
from tests.browser.conftest import screenshot
from tests.browser.helpers import main_text, sign_in, sign_out
from tests.factories.web import PASSWORD


def test_a_new_user_enrols_and_an_officer_answers_an_access_request(page, site):
    user = site.user("privacy_officer", enrolled=False)
    page.goto("/")
    assert page.url.endswith("/sign-in?next=/")
    page.get_by_label("Email address").fill(user["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/sign-in/enrol")
    assert page.locator(".qr svg").is_visible()
    screenshot(page, "enrol")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Enter the 6-digit code the app shows").fill(site.code(secret))
    page.get_by_role("button", name="Confirm and continue").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="I have saved them: continue").click()
    page.wait_for_url(site.url + "/")
    assert "Overdue: deemed refused" in main_text(page)
    screenshot(page, "dashboard")

    page.get_by_role("link", name="Privacy requests").click()
    assert "deemed refused" in page.locator("#request-table").inner_text()
    screenshot(page, "request-list")
    page.get_by_role("link", name="Record a new request").click()
    page.get_by_label("What is the person asking for?").select_option("access")
    page.get_by_label("How did it arrive?").select_option("email")
    page.get_by_label("Full name").fill("Amélie Tremblay")
    page.get_by_label("How to reach them").fill("amelie@home.example")
    page.get_by_label("Their email address").fill("amelie.tremblay@acme.example")
    page.get_by_label("What the request says").fill("Please send me everything you hold about me.")
    page.get_by_role("button", name="Record the request").click()
    page.wait_for_url(re.compile(r".*/requests/PR-\d{4}-\d{5}$"))
    reference = page.url.rsplit("/", 1)[1]
    assert "30 days left" in main_text(page) or "29 days left" in main_text(page)

    page.get_by_label("How was it verified?").select_option("matched_known_contact")
    page.get_by_role("button", name="Record the verification").click()
    assert "Identity verified" in page.locator("#timeline").inner_text()

    def close(session):
        from sqlalchemy import select

        from auditor.models import PrivacyRequest

        request = session.scalar(
            select(PrivacyRequest).where(PrivacyRequest.reference == reference)
        )
        factories.close_tasks(session, request, now=site.now())

    site.work(close)  # a technician searched every system and found nothing more
    page.reload()
    page.get_by_label("Completed: answered in full").check()
    page.get_by_role("button", name="Record the outcome").click()
    assert "completed" in page.locator(".status-line").inner_text()
    assert "answered on time" in main_text(page)
    screenshot(page, "request-page")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Access report (PDF)").click()
    pdf = download_info.value
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.path().read_bytes())).pages)
    assert reference in text and "Amélie Tremblay" in text


def test_an_overdue_request_is_marked_deemed_refused_everywhere(page, site):
    sign_in(page, site, site.user())
    page.goto("/requests?overdue=true")
    rows = page.locator("#request-table tbody tr")
    assert rows.count() == 1
    assert "deemed refused: 15 days overdue" in rows.first.inner_text()
    rows.first.get_by_role("link").click()
    assert "deemed refused: 15 days overdue" in page.locator(".status-line").inner_text()


def test_a_technician_is_refused_the_requests_of_a_client_they_are_not_granted(page, site):
    tech = site.user("technician")
    site.grant(tech["id"], "qc-client")
    sign_in(page, site, tech)
    page.goto("/requests")
    assert "0 requests" in main_text(page)
    answer = page.goto(f"/requests/PR-{site.now().year}-00001")
    assert answer.status == 403
    assert "You have no access to this client's requests." in main_text(page)
    assert "amelie" not in page.content().lower()


def test_a_form_without_its_csrf_token_is_refused(page, site):
    sign_in(page, site, site.user())
    page.goto("/requests/new")
    page.evaluate("document.querySelector('main form input[name=csrf_token]').remove()")
    page.get_by_label("Full name").fill("Forged Person")
    page.get_by_label("How to reach them").fill("forged@example.com")
    page.get_by_label("What the request says").fill("forged")
    page.get_by_role("button", name="Record the request").click()
    assert "The form could not be sent" in main_text(page)
    assert "nothing was changed" in main_text(page)
    page.goto("/requests")
    assert "Forged Person" not in page.content()


def test_a_replayed_code_is_refused(page, site):
    user = site.user()
    code = site.code(user["secret"])
    sign_in(page, site, user, code=code)
    sign_out(page)
    sign_in(page, site, user, code=code)
    assert "already used" in main_text(page)
    assert page.url.endswith("/sign-in/code")


def test_an_idle_session_expires_and_the_page_is_not_shown_again(page, site):
    sign_in(page, site, site.user())
    page.goto("/requests")
    assert "Privacy requests" in main_text(page)
    site.set_clock(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31))
    page.reload()
    assert "/sign-in" in page.url
    assert "Your session has expired. Sign in again." in main_text(page)
    page.go_back()
    assert "Privacy requests" not in main_text(page) or "/sign-in" in page.url

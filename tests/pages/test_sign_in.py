"""Sign-in: password then TOTP for every account, enrolment with a QR code and recovery codes,
replayed codes refused, throttling with a lockout, sessions in the database that expire, sign-out
(here and everywhere), CSRF on every form, and the security headers of every response."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from auditor.models import AuditEvent, PrivacyRequest, RecoveryCode, WebSession
from auditor.schemas.users import UserUpdate
from auditor.services import mfa, users
from tests.factories import ACTOR, NOW, keyring, web
from tests.factories.web import PASSWORD, code_at, csrf_token, post_form, sign_in, web_user

T0 = NOW


def actions(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_page_sends_a_visitor_to_sign_in_and_shows_nothing(client):
    answer = client.get("/requests?status=received")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/sign-in?next=/requests?status%3Dreceived"
    assert client.get("/").headers["Location"].startswith("/sign-in")


def test_password_then_code_signs_in_with_a_new_session_id_at_each_step(app, session):
    client = app.test_client()
    web.freeze(app, T0)
    person = web_user(session)
    form = client.get("/sign-in")
    first = client.get_cookie("auditor_session").value
    answer = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(form), "email": person.email.upper(), "password": PASSWORD},
    )
    assert answer.headers["Location"] == "/sign-in/code"
    second = client.get_cookie("auditor_session").value
    assert second != first
    assert client.get("/").status_code == 302  # the password alone shows nothing
    answer = post_form(client, "/sign-in/code", {"code": code_at(web.secret_of(person), T0)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    third = client.get_cookie("auditor_session").value
    assert third not in (first, second)
    page = client.get("/")
    assert page.status_code == 200 and "Dashboard" in page.get_data(as_text=True)
    stored = session.scalars(select(WebSession.id)).all()
    assert third not in stored  # only the SHA-256 of the cookie is kept
    signin = actions(session, "auth.signin")[-1]
    assert (signin.outcome, signin.details) == ("success", {"second_factor": "totp", "via": "web"})


def test_the_next_page_is_kept_through_sign_in_but_only_on_this_site(app, session):
    client = app.test_client()
    person = web_user(session)
    rounds = [("/requests", "/requests"), ("//evil.example/x", "/"), ("https://evil.example", "/")]
    for number, (target, expected) in enumerate(rounds):
        moment = T0 + dt.timedelta(seconds=30 * number)  # a new time step for each round
        web.freeze(app, moment)
        post_form(client, f"/sign-in?next={target}", {"email": person.email, "password": PASSWORD})
        answer = post_form(
            client, "/sign-in/code", {"code": code_at(web.secret_of(person), moment)}
        )
        assert answer.headers["Location"] == expected
        post_form(client, "/sign-out", {}, page="/")


def test_a_wrong_password_is_refused_with_a_message_and_audited_without_the_address(app, session):
    client = app.test_client()
    person = web_user(session)
    answer = post_form(client, "/sign-in", {"email": person.email, "password": "wrong password!"})
    assert answer.status_code == 422
    assert "The email address or the password is not right." in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302
    event = actions(session, "auth.signin")[-1]
    assert event.outcome == "failure" and event.details["reason"] == "password"
    assert person.email not in str(event.details) and person.email not in event.actor


def test_repeated_failures_lock_the_account_even_for_the_right_password(app, session):
    person = web_user(session)
    for attempt in range(5):
        client = app.test_client()  # another browser each time: the account is what is counted
        answer = post_form(
            client, "/sign-in", {"email": person.email, "password": f"bad {attempt}"}
        )
        assert answer.status_code in (422, 429)
    answer = post_form(app.test_client(), "/sign-in", {"email": person.email, "password": PASSWORD})
    assert answer.status_code == 429
    assert "Sign-in is locked for about 15 minutes" in answer.get_data(as_text=True)
    failures = actions(session, "auth.signin")
    assert {event.details["key"] for event in failures} == {"signin", "account"}
    assert all(event.outcome == "failure" for event in failures)
    assert (
        session.scalar(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.user_id == person.id, WebSession.mfa_at.is_not(None))
        )
        == 0
    )


def test_the_first_sign_in_enrols_an_authenticator_with_recovery_codes(app, session):
    client = app.test_client()
    web.freeze(app, T0)
    person = web_user(session, enrolled=False)
    answer = post_form(client, "/sign-in", {"email": person.email, "password": PASSWORD})
    assert client.get("/sign-in/code").headers["Location"] == "/sign-in/enrol"
    page = client.get("/sign-in/enrol")
    text = page.get_data(as_text=True)
    assert "<svg" in text and "QR code of the authenticator secret" in text
    secret = text.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    assert len(secret) == 32
    wrong = post_form(client, "/sign-in/enrol", {"code": "000000"})
    assert wrong.status_code == 422 and "does not match" in wrong.get_data(as_text=True)
    assert person.totp_enrolled_at is None
    answer = post_form(client, "/sign-in/enrol", {"code": code_at(secret, T0)})
    text = answer.get_data(as_text=True)
    codes = text.split('id="recovery-codes">')[1].split("</ul>")[0].count("<code>")
    assert codes == 10
    session.refresh(person)
    assert web.secret_of(person) == secret and person.totp_enrolled_at == T0
    assert secret.encode() not in bytes(person.totp_secret)  # sealed, never stored in the clear
    assert bytes(person.totp_secret)[:4] == b"AUM\x01"
    stored = session.scalars(
        select(RecoveryCode.code_hash).where(RecoveryCode.user_id == person.id)
    ).all()
    assert len(stored) == 10 and all(len(value) == 64 for value in stored)
    assert client.get("/").status_code == 200
    assert actions(session, "mfa.enrol")[-1].details == {"recovery_codes": 10, "via": "web"}


def test_a_code_is_refused_when_replayed_within_its_step(app, session):
    web.freeze(app, T0)
    person = web_user(session)
    first = app.test_client()
    assert sign_in(first, person, moment=T0).status_code == 302
    second = app.test_client()
    post_form(second, "/sign-in", {"email": person.email, "password": PASSWORD})
    replay = post_form(second, "/sign-in/code", {"code": code_at(web.secret_of(person), T0)})
    assert replay.status_code == 422
    assert "already used" in replay.get_data(as_text=True)
    assert second.get("/").status_code == 302
    web.freeze(app, T0 + dt.timedelta(seconds=30))  # the next step's code works
    later = post_form(
        second,
        "/sign-in/code",
        {"code": code_at(web.secret_of(person), T0 + dt.timedelta(seconds=30))},
    )
    assert later.status_code == 302


def test_a_recovery_code_signs_in_once(app, session):
    web.freeze(app, T0)
    person = web_user(session, enrolled=False)
    secret = mfa.new_secret()
    codes = mfa.enrol(
        session, person, secret, code_at(secret, T0), ring=keyring(), actor=ACTOR, now=T0
    )
    for expected in (302, 422):
        client = app.test_client()
        post_form(client, "/sign-in", {"email": person.email, "password": PASSWORD})
        answer = post_form(client, "/sign-in/code", {"code": codes[0].lower()})
        assert answer.status_code == expected
    assert actions(session, "mfa.recovery_code_used")[-1].details == {"remaining": 9, "via": "web"}


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(app, session):
    person = web_user(session)
    refused = app.test_client().post("/sign-in", data={"email": person.email, "password": PASSWORD})
    assert refused.status_code == 302  # the sign-in form again, saying it had expired
    assert refused.headers["Location"] == "/sign-in?expired=1"
    again = app.test_client().get("/sign-in?expired=1").get_data(as_text=True)
    assert "The sign-in page had expired. Enter your details again." in again
    assert actions(session, "auth.login") == []
    client, _ = web.signed_in(app, session, moment=T0)
    before = session.scalar(select(func.count()).select_from(PrivacyRequest))
    forged = client.post(
        "/requests/new",
        data={
            "type": "access",
            "channel": "email",
            "received_at": "2026-11-20T09:00",
            "requester_name": "A B",
            "requester_contact": "a@b.example",
            "request_text": "x",
        },
    )
    assert forged.status_code == 400
    assert "The form could not be sent" in forged.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(PrivacyRequest)) == before


def test_an_idle_session_expires_and_says_so(app, session):
    client, _ = web.signed_in(app, session, moment=T0)
    web.freeze(app, T0 + dt.timedelta(minutes=29))
    assert client.get("/").status_code == 200  # in use: kept alive
    web.freeze(app, T0 + dt.timedelta(minutes=29 + 31))
    answer = client.get("/requests")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in")
    page = client.get(answer.headers["Location"])
    assert "Your session has expired" in page.get_data(as_text=True)


def test_a_session_ends_after_12_hours_however_busy(app, session):
    client, _ = web.signed_in(app, session, moment=T0)
    moment = T0
    while moment < T0 + dt.timedelta(hours=11, minutes=40):
        moment += dt.timedelta(minutes=20)
        web.freeze(app, moment)
        assert client.get("/").status_code == 200
    web.freeze(app, T0 + dt.timedelta(hours=12))
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session_and_its_cookie_is_useless_after(app, session):
    client, _ = web.signed_in(app, session, moment=T0)
    cookie = client.get_cookie("auditor_session").value
    answer = post_form(client, "/sign-out", {}, page="/")
    assert answer.headers["Location"] == "/sign-in?signed_out=1"
    assert client.get("/").status_code == 302
    stolen = app.test_client()
    stolen.set_cookie("auditor_session", cookie)
    assert stolen.get("/").status_code == 302
    assert actions(session, "auth.signout")


def test_sign_out_everywhere_ends_every_session_of_the_user(app, session):
    web.freeze(app, T0)
    person = web_user(session)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, person, moment=T0)
    web.freeze(app, T0 + dt.timedelta(seconds=30))
    sign_in(phone, person, moment=T0 + dt.timedelta(seconds=30))
    assert laptop.get("/").status_code == 200 and phone.get("/").status_code == 200
    post_form(phone, "/account/sign-out-everywhere", {}, page="/account")
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert actions(session, "auth.signout_everywhere")[-1].details["sessions_ended"] == 2


def test_deactivating_a_user_ends_their_sessions(app, session):
    client, person = web.signed_in(app, session, moment=T0)
    users.update_user(session, person.id, UserUpdate(is_active=False), actor=ACTOR)
    session.flush()
    assert client.get("/").status_code == 302


def test_an_admins_reset_of_the_second_factor_is_audited_and_asks_to_enrol_again(app, session):
    client, person = web.signed_in(app, session, moment=T0)
    mfa.reset(session, person, actor=ACTOR, now=T0)
    session.flush()
    assert client.get("/").status_code == 302
    event = actions(session, "mfa.reset")[-1]
    assert event.object_id == str(person.id) and event.details == {"sessions_ended": 1}
    again = app.test_client()
    post_form(again, "/sign-in", {"email": person.email, "password": PASSWORD})
    assert again.get("/sign-in/code").headers["Location"] == "/sign-in/enrol"


def test_every_response_carries_the_security_headers(app, session):
    client, _ = web.signed_in(app, session, moment=T0)
    page = client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "script-src 'self' 'nonce-" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in page.headers  # plain HTTP
    assert "style=" not in page.get_data(as_text=True)  # no inline style for the CSP to refuse
    assert "Content-Security-Policy" in client.get("/healthz").headers


def test_over_tls_the_cookie_is_host_only_and_secure_and_hsts_is_sent(app, session):
    person = web_user(session)
    client = app.test_client()
    form = client.get("/sign-in", base_url="https://auditor.example")
    assert form.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = form.headers["Set-Cookie"]
    assert cookie.startswith("__Host-auditor_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie
    answer = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(form), "email": person.email, "password": PASSWORD},
        base_url="https://auditor.example",
        headers={"Referer": "https://auditor.example/sign-in"},
    )
    assert answer.status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_scheme_and_address_count(database_url, connection):
    from auditor import create_app
    from auditor.db import get_database
    from tests.factories import app_settings

    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    plain = create_app(app_settings(database_url))
    get_database(plain).bind(connection)
    answer = plain.test_client().get("/sign-in", headers=forwarded)
    assert answer.headers["Set-Cookie"].startswith("auditor_session=")  # headers not believed
    proxied = create_app(app_settings(database_url, TRUSTED_PROXIES=1))
    get_database(proxied).bind(connection)
    answer = proxied.test_client().get("/sign-in", headers=forwarded)
    assert answer.headers["Set-Cookie"].startswith("__Host-auditor_session=")
    assert "Strict-Transport-Security" in answer.headers

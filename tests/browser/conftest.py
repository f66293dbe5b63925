"""A live server and headless Chromium for the browser tests.

The app runs in a thread of this process, on a SQLite database of its own (migrated, with a
small MSP seeded through the services), served by Werkzeug. The browser is Debian's Chromium
(``/usr/bin/chromium``, installed by ``.ci/run``), driven by Playwright: no browser download. The
browser tests run in the SQLite pass of the suite; the PostgreSQL pass skips them (the pages use
the same services, which that pass covers).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from auditor import create_app, migrate
from auditor.db import get_database, utcnow
from auditor.models import User, VaultGrant
from auditor.services import mfa, users
from tests import factories
from tests.factories.web import PASSWORD

CHROMIUM = os.environ.get("AUDITOR_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"

if os.environ.get("AUDITOR_TEST_DATABASE_URL"):
    pytest.skip("the browser tests run in the SQLite pass", allow_module_level=True)
if not shutil.which(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@dataclass
class Site:
    """The running application: its address, its clock, and a way into its database."""

    app: Flask
    url: str
    moment: list[dt.datetime | None] = field(default_factory=lambda: [None])
    numbers: Any = field(default_factory=lambda: count(1))

    def now(self) -> dt.datetime:
        return self.moment[0] or utcnow()

    def set_clock(self, moment: dt.datetime | None) -> None:
        self.moment[0] = moment

    def work(self, fn: Callable[[Session], Any]) -> Any:
        """Run ``fn`` in a transaction of the app's database and commit it."""
        with self.app.app_context():
            session = get_database(self.app).session()
            try:
                result = fn(session)
                session.commit()
                return result
            finally:
                session.close()

    def user(self, role: str = "privacy_officer", *, enrolled: bool = True) -> dict[str, Any]:
        """A new user with the tests' password (and an authenticator, when ``enrolled``)."""
        number = next(self.numbers)

        def make(session: Session) -> dict[str, Any]:
            person = factories.user(session, role=role, email=f"{role}{number}@browser.example")
            users.set_password(session, person.id, PASSWORD, actor=factories.ACTOR)
            secret = None
            if enrolled:
                secret = mfa.new_secret()
                mfa.seal_secret(factories.keyring(), person, secret)
                person.totp_enrolled_at = utcnow()
            return {"id": person.id, "email": person.email, "secret": secret, "name": person.name}

        found: dict[str, Any] = self.work(make)
        return found

    def grant(self, user_id: int, client: str) -> None:
        from sqlalchemy import select

        from auditor.models import Organization

        def add(session: Session) -> None:
            org = session.scalar(select(Organization).where(Organization.code == client))
            assert org is not None
            session.add(VaultGrant(user_id=user_id, organization_id=org.id, granted_by="test"))

        self.work(add)

    def code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.now())

    def user_row(self, user_id: int) -> User:
        return self.work(lambda session: session.get(User, user_id))


def _seed(session: Session) -> None:
    factories.inventory(session)
    factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    now = utcnow()
    factories.open_request(session, received_at=now - dt.timedelta(days=45), now=now)
    factories.open_request(session, received_at=now - dt.timedelta(days=26), now=now)
    factories.open_request(
        session, received_at=now - dt.timedelta(days=2), type="deletion", now=now
    )


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    app = create_app(
        factories.app_settings(f"sqlite:///{folder / 'browser.db'}", INSTANCE_PATH=str(folder))
    )
    migrate.upgrade(get_database(app).engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = Site(app=app, url=f"http://127.0.0.1:{server.server_port}")
    app.extensions["auditor.clock"] = live.now
    live.work(_seed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield live
    server.shutdown()
    thread.join()
    get_database(app).engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser profile (no cookies) at 1280 px, on the site's clock of now."""
    site.set_clock(None)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.url)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    problems: list[str] = []  # what the browser's console reports: a CSP refusal, a script error
    tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    yield tab
    context.close()
    # a page answered 403 or 404 on purpose is logged as a failed load; anything else is a bug
    assert [p for p in problems if not p.startswith("Failed to load resource")] == []


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

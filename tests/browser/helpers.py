"""What a person does in the browser tests: sign in, fill a form, read a page."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Site
from tests.factories.web import PASSWORD


def sign_in(page: Any, site: Site, user: dict[str, Any], *, code: str | None = None) -> None:
    """Email and password, then the TOTP code of the site's clock (or ``code``)."""
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(user["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(code or site.code(user["secret"]))
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?signed_out=1")


def main_text(page: Any) -> str:
    text: str = page.locator("main").inner_text()
    return text

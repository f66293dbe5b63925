"""Accessibility and layout: axe-core finds no serious or critical violation on any page, at
1280 px and at 375 px; no page scrolls sideways; the keyboard reaches the skip link first and
the focus is visible; every field has a label."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import screenshot
from tests.browser.helpers import sign_in

AXE = Axe()
WIDTHS = [1280, 375]


def violations(page: Any) -> list[str]:
    results = AXE.run(page)
    return [
        f"{item['id']} ({item['impact']}): {[node['target'] for node in item['nodes']][:3]}"
        for item in results.response["violations"]
        if item["impact"] in ("serious", "critical")
    ]


def pages_of(page: Any, site: Any) -> list[tuple[str, str]]:
    """(name, path) of a page of every area, the request page and an error page included."""
    reference = f"PR-{site.now().year}-00001"
    return [
        ("dashboard", "/"),
        ("request-list", "/requests"),
        ("request-list-filtered", "/requests?overdue=true&type=access"),
        ("request-new", "/requests/new"),
        ("request-page", f"/requests/{reference}"),
        ("request-deletion", f"/requests/PR-{site.now().year}-00003"),
        ("account", "/account"),
        ("not-found", "/requests/PR-1999-99999"),
    ]


def check(page: Any, name: str, width: int) -> list[str]:
    problems = [f"{name} @ {width}px: {found}" for found in violations(page)]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 1:
        problems.append(f"{name} @ {width}px scrolls sideways by {overflow}px")
    screenshot(page, f"{name}-{width}")
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_no_serious_violation_and_no_sideways_scroll(browser, site, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=site.url)
    page = context.new_page()
    problems = []
    page.on(  # a CSP refusal or a script error, on any page
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto("/sign-in")
    problems += check(page, "sign-in", width)
    page.get_by_role("button", name="Continue").click()  # the form with its errors
    problems += check(page, "sign-in-errors", width)
    enrolling = site.user(enrolled=False)
    page.get_by_label("Email address").fill(enrolling["email"])
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Continue").click()
    problems += check(page, "enrol", width)
    context.clear_cookies()
    sign_in(page, site, site.user())
    for name, path in pages_of(page, site):
        page.goto(path)
        problems += check(page, name, width)
    page.goto("/requests/new")
    page.get_by_role("button", name="Record the request").click()
    problems += check(page, "request-new-errors", width)
    context.close()
    assert not problems, "\n".join(problems)


def test_the_keyboard_reaches_the_skip_link_first_and_the_focus_is_visible(page, site):
    sign_in(page, site, site.user())
    page.goto("/requests")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth, document.activeElement.tagName]; })()"
        )
        assert outline[0] != "none" and outline[1] != "0px", outline


def test_every_form_field_has_a_label(page, site):
    sign_in(page, site, site.user())
    reference = f"PR-{site.now().year}-00002"
    for path in ("/requests", "/requests/new", f"/requests/{reference}"):
        page.goto(path)
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
            ".filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"
        )
        assert unlabelled == [], (path, unlabelled)

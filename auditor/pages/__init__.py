"""The web application: server-rendered pages for privacy officers, technicians and auditors.

One blueprint per area (``auth``, ``dashboard``, ``requests``), each as thin as the API's views
and calling the same services. ``init_app`` wires what every page relies on: sessions kept in
the database (``store``), CSRF on every form (Flask-WTF), the security headers (``security``)
and the date filters the PDFs use, so that both write a day the same way.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from auditor.pages.core import PAGES, Page

__all__ = ["PAGES", "Page", "blueprints", "init_app"]

csrf = CSRFProtect()


def blueprints() -> list[Blueprint]:
    from auditor.pages import auth, dashboard, request_desk, request_outcomes, request_page

    return [auth.bp, dashboard.bp, request_desk.bp, request_page.bp, request_outcomes.bp]


def _form_expired(exc: CSRFError) -> Any:
    """A form without a valid CSRF token changes nothing. The sign-in form left open past its
    session's lifetime is simply shown again; any other form gets a page that says what to do."""
    if request.endpoint == "auth.sign_in":
        return redirect(url_for("auth.sign_in", expired=1))
    page = render_template(
        "errors/error.html",
        status=400,
        title="The form could not be sent",
        detail="It had expired, or it was not sent from this site, so nothing was changed. "
        "Go back, reload the page and send it again.",
    )
    return page, 400


def init_app(app: Flask, api_blueprints: list[Blueprint]) -> None:
    from auditor.pages import security
    from auditor.pages.store import DatabaseSessions
    from auditor.reports.filters import FILTERS
    from auditor.services import calendar

    app.session_interface = DatabaseSessions()
    # a form's token lives as long as its session (the session's own timeouts apply)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    for blueprint in api_blueprints:  # bearer tokens, no cookies: nothing to forge
        csrf.exempt(blueprint)
    security.init_app(app)
    app.register_error_handler(CSRFError, _form_expired)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["zone_name"] = lambda: calendar.zone().key
    for blueprint in blueprints():
        app.register_blueprint(blueprint)

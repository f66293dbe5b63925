"""auditor: PIPEDA compliance and data-retention auditing for IT managed-service providers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from auditor.version import __version__

__all__ = ["__version__", "create_app"]


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Load config, init the database, register error handlers, blueprints and CLI groups."""
    from auditor import config, db, errors, observability, pages, scheduler
    from auditor.cli.registry import register_commands
    from auditor.paths import static_dir, templates_dir
    from auditor.services import calendar
    from auditor.views import blueprints, limits

    settings = config.load(overrides)
    app = Flask(
        __name__,
        instance_path=settings.get("INSTANCE_PATH") or None,
        instance_relative_config=False,
        template_folder=str(templates_dir()),
        static_folder=str(static_dir()),
        static_url_path="/static",
    )
    config.fill_instance_defaults(settings, app.instance_path)
    config.check(settings)
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or config.DEV_SECRET_KEY
    calendar.configure(settings["TIMEZONE"])
    observability.configure_logging(settings["LOG_LEVEL"], as_json=settings["LOG_JSON"])
    if settings["TRUSTED_PROXIES"]:  # TLS and the client's address as the proxy saw them
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(settings["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)
    if settings["CHECK_KEYS_AT_START"]:
        check_keys(app)
    errors.register(app)
    observability.init_app(app)
    limits.init_app(app)
    api = blueprints()
    for blueprint in api:
        app.register_blueprint(blueprint)
    pages.init_app(app, api)
    register_commands(app)
    scheduler.init_app(app)  # only when AUDITOR_SCHEDULER=embedded and serving
    return app


def check_keys(app: Flask) -> None:
    """Refuse to start when a master key does not match its canary (wrong key: touch no data)."""
    from sqlalchemy import inspect

    from auditor.db import get_database
    from auditor.keys import refuse_wrong_master_keys

    database = get_database(app)
    if not inspect(database.engine).has_table("master_key_canary"):
        return  # not migrated yet: 'auditor db upgrade' must still run
    with database.session() as session:
        refuse_wrong_master_keys(session, app.config)
        session.commit()

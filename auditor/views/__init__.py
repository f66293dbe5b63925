"""HTTP views: one blueprint per domain."""

from __future__ import annotations

from flask import Blueprint

from auditor.views.api import REGISTRY, Endpoint


def blueprints() -> list[Blueprint]:
    from auditor.views import (
        access,
        breaches,
        compliance,
        evidence,
        holds,
        inventory,
        records,
        request_actions,
        request_reports,
        requests,
        retention,
        retention_reports,
        subjects,
        system,
        users,
        vault,
        vault_admin,
    )

    return [
        system.bp,
        inventory.bp,
        subjects.bp,
        records.bp,
        users.bp,
        access.bp,
        vault.bp,
        vault_admin.bp,
        holds.bp,
        breaches.bp,
        retention.bp,
        retention_reports.bp,
        evidence.bp,
        compliance.bp,
        requests.bp,
        request_reports.bp,
        request_actions.bp,
    ]


def all_endpoints() -> list[Endpoint]:
    """Every API operation (importing the view modules registers them)."""
    blueprints()
    return list(REGISTRY)

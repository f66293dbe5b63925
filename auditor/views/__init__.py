"""HTTP views: one blueprint per domain."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    from auditor.views import inventory, records, subjects, system, users

    return [system.bp, inventory.bp, subjects.bp, records.bp, users.bp]

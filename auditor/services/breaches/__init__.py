"""The breach register (R24-R27): record, assess, notify, report to the regulators, export."""

from __future__ import annotations

from auditor.services.breaches.notices import (
    assess,
    generate_report,
    mark_sent,
    notify,
    report_out,
    to_out,
)
from auditor.services.breaches.register import get, list_breaches, record, update

__all__ = [
    "assess",
    "generate_report",
    "get",
    "list_breaches",
    "mark_sent",
    "notify",
    "record",
    "report_out",
    "to_out",
    "update",
]

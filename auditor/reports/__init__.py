"""Reports: templates/reports/ through Jinja and WeasyPrint to PDF (``render``), and the one way
reports write dates and codes for people (``filters``)."""

from __future__ import annotations

from auditor.reports import filters
from auditor.reports.render import (
    PDF_VARIANT,
    Attachment,
    LocalFetcher,
    ReportError,
    environment,
    render_html,
    render_pdf,
    reports_dir,
)

__all__ = [
    "PDF_VARIANT",
    "Attachment",
    "LocalFetcher",
    "ReportError",
    "environment",
    "filters",
    "render_html",
    "render_pdf",
    "reports_dir",
]

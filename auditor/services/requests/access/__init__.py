"""What a privacy request discloses (R6, R8, R11, R30).

- ``package``: the access package (JSON): every section, the subject's records in bounded memory.
- ``lookup``, ``records``, ``sections``: reading the subject's records in batches, each with its
  retention; the sections around them (who answers, uses, disclosures, consents, holds, audit).
- ``redaction``: severing other people's personal data before anything is disclosed (R8).
- ``report``: the access report, a PDF/A-3 a person can read, with the package attached.
- ``portability``: the Québec portability export (R30), JSON and CSV.
"""

from __future__ import annotations

from auditor.services.requests.access.package import export_access_package
from auditor.services.requests.access.portability import export_portability
from auditor.services.requests.access.report import export_access_report

__all__ = ["export_access_package", "export_access_report", "export_portability"]

"""Evidence bundles: signed, reproducible BagIt ZIPs an auditor checks without this software
(docs/evidence.md). ``export`` writes one, ``verify`` checks one."""

from __future__ import annotations

from auditor.services.evidence.export import Request, Result, export
from auditor.services.evidence.verify import Report, verify_bundle

__all__ = ["Report", "Request", "Result", "export", "verify_bundle"]

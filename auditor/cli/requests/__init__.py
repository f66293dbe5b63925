"""``auditor requests``: privacy requests from intake to the letter (R1-R13, R29, R30).

- ``workflow``: open, list, show; verification, transitions, extension, fee, complaint, the
  subject link, search tasks and the request's documents.
- ``actions``: what the kinds of request change: corrections, deletion, consent withdrawal,
  the letters, and the marketing list that honours withdrawals.
- ``reports``: the access report (PDF) and the Québec portability export.
"""

from __future__ import annotations

from auditor.cli.requests import actions, reports, workflow

__all__ = ["actions", "reports", "workflow"]

"""Privacy requests (R1-R13, R29, R30): intake to the letter.

- ``intake``: opening, listing and reading requests (references ``PR-<year>-<sequence>``).
- ``states``, ``workflow``: the one transition table; verification, transitions, complaints.
- ``deadlines``: due dates (R1), the one extension (R2/R3), deemed refusal (R4), fees (R5).
- ``tasks``, ``documents``: one search task per system; the request's file.
- ``recourse``: the R9 recourse hold, and how long the request's own file is kept.
- ``access``: what a request discloses: the access package and report, portability (R6, R8, R30).
- ``corrections``, ``deletion``, ``deletion_review``, ``consents``: what the other kinds of
  request change (R10-R13).
- ``letters``: the letters sent about a request, as PDF/A-3 with their data attached.
- ``common``, ``guards``: finding a request, auditing its actions, ``require_verified``.
- ``scope``: which requests an actor may see (a technician: their clients'); ``desk``: the web
  desk's list sorted by due date, its CSV and a request's timeline.
"""

from __future__ import annotations

from auditor.services.requests.access import (
    export_access_package,
    export_access_report,
    export_portability,
)
from auditor.services.requests.common import get as get_request
from auditor.services.requests.consents import export_marketing, withdraw_consent, withdrawal_out
from auditor.services.requests.corrections import (
    apply_correction,
    correction_out,
    reject_correction,
)
from auditor.services.requests.deadlines import check_deadlines, extend, record_fee
from auditor.services.requests.deletion import DeletionResult, execute_deletion, plan_deletion
from auditor.services.requests.documents import attach_document, document_out, read_document
from auditor.services.requests.intake import (
    list_requests,
    open_request,
    read_request,
    read_request_as,
    request_detail,
    request_out,
    requests_out,
)
from auditor.services.requests.letters import LETTER_KINDS, write_letter
from auditor.services.requests.tasks import task_out, update_task
from auditor.services.requests.workflow import (
    link_subject,
    override_open_searches,
    record_complaint,
    transition,
    verify,
)

__all__ = [
    "LETTER_KINDS",
    "DeletionResult",
    "apply_correction",
    "attach_document",
    "check_deadlines",
    "correction_out",
    "document_out",
    "execute_deletion",
    "export_access_package",
    "export_access_report",
    "export_marketing",
    "export_portability",
    "extend",
    "get_request",
    "link_subject",
    "list_requests",
    "open_request",
    "override_open_searches",
    "plan_deletion",
    "read_document",
    "read_request",
    "read_request_as",
    "record_complaint",
    "record_fee",
    "reject_correction",
    "request_detail",
    "request_out",
    "requests_out",
    "task_out",
    "transition",
    "update_task",
    "verify",
    "withdraw_consent",
    "withdrawal_out",
    "write_letter",
]

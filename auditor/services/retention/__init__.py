"""The retention engine: the database side of ``retention``'s pure decisions (R14-R23).

- ``rules``: versioned retention rules in the database, and the policy's defaults.
- ``inputs``, ``holds``, ``facts``: what an evaluation reads besides the records (terminations,
  events, consents, reviews, holds), and the one evaluation of each record that the plan, the
  forecast, the purge and the privacy requests share (``Evaluator``).
- ``plan``, ``forecast``: the dry run for a day; the schedule of the coming months.
- ``reviews``: disposition review batches (open, decide, read).
- ``purge``, ``runs``, ``batch``, ``bulk``: purge runs, executed in batches that dispose and prove
  together; ``vault_purge``: a terminated client's vault purge with its proof; ``breach_purge``:
  breach records past their retention (R25).
- ``ledger``, ``lines``: writing disposition batches and their lines with the audit event that
  commits to them; the canonical line of a disposition.
- ``dispositions``, ``verify``, ``pdf``: reading disposition records back (certificates, the R22
  report), checking them against the audit log, and the schedule and certificates as PDF/A-3.
"""

from __future__ import annotations

from auditor.services.retention.batch import BatchDisposer, subject_digest
from auditor.services.retention.dispositions import (
    CSV_FIELDS,
    FIELDS,
    disposition_report,
    dispositions_of,
    get_run,
    run_certificate,
)
from auditor.services.retention.facts import Evaluation, Evaluator, day_of, read_batch
from auditor.services.retention.forecast import MAX_MONTHS, Forecast, forecast_schedule
from auditor.services.retention.inputs import MARKETING_PURPOSE, subjects_of
from auditor.services.retention.pdf import export_certificate_pdf, export_schedule_pdf
from auditor.services.retention.plan import PlanReport, plan_disposition
from auditor.services.retention.purge import BATCH, RunResult, execute_purge, list_runs
from auditor.services.retention.reviews import (
    decide_review,
    list_reviews,
    open_review_batches,
    review_detail,
)
from auditor.services.retention.rules import (
    current_rule,
    current_rules,
    load_default_rules,
    revise_rule,
)
from auditor.services.retention.runs import close_run, open_run, run_lock
from auditor.services.retention.vault_purge import purge_client_vault
from auditor.services.retention.verify import verify as verify_dispositions

__all__ = [
    "BATCH",
    "CSV_FIELDS",
    "FIELDS",
    "MARKETING_PURPOSE",
    "MAX_MONTHS",
    "BatchDisposer",
    "Evaluation",
    "Evaluator",
    "Forecast",
    "PlanReport",
    "RunResult",
    "close_run",
    "current_rule",
    "current_rules",
    "day_of",
    "decide_review",
    "disposition_report",
    "dispositions_of",
    "execute_purge",
    "export_certificate_pdf",
    "export_schedule_pdf",
    "forecast_schedule",
    "get_run",
    "list_reviews",
    "list_runs",
    "load_default_rules",
    "open_review_batches",
    "open_run",
    "plan_disposition",
    "purge_client_vault",
    "read_batch",
    "review_detail",
    "revise_rule",
    "run_certificate",
    "run_lock",
    "subject_digest",
    "subjects_of",
    "verify_dispositions",
]

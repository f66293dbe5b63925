"""The test kit: keyword-only builders of every domain's data (they add and flush, never commit),
the fixed clock, the actors and the run's keys.

Test modules take what they need from here (``from tests import factories`` or ``from
tests.factories import NOW, open_request``); ``tests.factories.audit_log`` and
``tests.factories.kdbx`` hold the audit-trail and KDBX readers of the few modules that need them.
"""

from __future__ import annotations

from tests.factories.access import (
    DISPUTE,
    OTHER_EMAIL,
    OTHER_NAME,
    OTHER_PHONE,
    PHONE,
    STRANGER_EMAIL,
    Scenario,
    scenario,
)
from tests.factories.actors import ACTOR, OFFICER, OPERATOR, TECH
from tests.factories.app import app_settings, process_environment
from tests.factories.clock import AS_OF, NOW, at
from tests.factories.inventory import (
    Inventory,
    active_client,
    inventory,
    organization,
    system,
    terminated_client,
)
from tests.factories.keys import (
    DIGEST_KEY,
    DISPOSITION_KEY,
    MASTER_KEY,
    ORIGIN,
    SECRET_KEY,
    SIGNING_KEY_PEM,
    keyring,
    signing,
    signing_key,
)
from tests.factories.pdf import attached_json, flat_text, page_count, pdf_text
from tests.factories.people import EMAIL, NAME, person, subject, token, user
from tests.factories.problems import assert_denied, assert_problem
from tests.factories.records import (
    closed_ticket,
    ingest,
    new_ticket,
    old_record,
    old_ticket,
    record,
    records_around_cutoffs,
    stored_record,
)
from tests.factories.requests import (
    REQUESTER,
    assert_no_personal_data,
    close_tasks,
    events,
    intake,
    open_request,
    request_for,
    subject_record,
    verify,
)
from tests.factories.retention import (
    default_rules,
    dispositions,
    handover,
    review,
    run_purge,
    sealed_secret,
)
from tests.factories.vault import (
    CREDENTIALS,
    acknowledge_handover,
    database_text,
    export_handover,
    oldco,
    secret,
    vault_counts,
)

__all__ = [
    "ACTOR",
    "AS_OF",
    "CREDENTIALS",
    "DIGEST_KEY",
    "DISPOSITION_KEY",
    "DISPUTE",
    "EMAIL",
    "MASTER_KEY",
    "NAME",
    "NOW",
    "OFFICER",
    "OPERATOR",
    "ORIGIN",
    "OTHER_EMAIL",
    "OTHER_NAME",
    "OTHER_PHONE",
    "PHONE",
    "REQUESTER",
    "SECRET_KEY",
    "SIGNING_KEY_PEM",
    "STRANGER_EMAIL",
    "TECH",
    "Inventory",
    "Scenario",
    "acknowledge_handover",
    "active_client",
    "app_settings",
    "assert_denied",
    "assert_no_personal_data",
    "assert_problem",
    "at",
    "attached_json",
    "close_tasks",
    "closed_ticket",
    "database_text",
    "default_rules",
    "dispositions",
    "events",
    "export_handover",
    "flat_text",
    "handover",
    "ingest",
    "intake",
    "inventory",
    "keyring",
    "new_ticket",
    "old_record",
    "old_ticket",
    "oldco",
    "open_request",
    "organization",
    "page_count",
    "pdf_text",
    "person",
    "process_environment",
    "record",
    "records_around_cutoffs",
    "request_for",
    "review",
    "run_purge",
    "scenario",
    "sealed_secret",
    "secret",
    "signing",
    "signing_key",
    "stored_record",
    "subject",
    "subject_record",
    "system",
    "terminated_client",
    "token",
    "user",
    "vault_counts",
    "verify",
]

"""The command groups of ``auditor``, each declared once here with its help text; the command
modules add their commands to them (auditor/cli/registry.py lists them all)."""

from __future__ import annotations

from auditor.cli.common import group

access = group(
    "access", "Access reviews of every account, and deprovisioning times (SOC 2 evidence)."
)
audit = group("audit", "The audit trail.")
breaches = group(
    "breaches", "The breach register: record, assess, notify, report to the OPC (R24-R27)."
)
compliance = group(
    "compliance", "Compliance findings: run the checks, report them (JSON, OCSF, SARIF, PDF)."
)
db = group("db", "Database schema (Alembic migrations).")
demo = group("demo", "Demonstration data.")
evidence = group("evidence", "Signed evidence bundles for auditors: export and verify.")
holds = group(
    "holds", "Retention holds: keep a subject's, client's, system's, category's or record's data."
)
instance = group("instance", "The instance folder: database file and generated secrets.")
inventory = group("inventory", "The data inventory (data map).")
keys = group("keys", "Vault keys: master key versions and client keys.")
records = group("records", "Records held about people.")
requests = group(
    "requests", "Privacy requests: access, correction, deletion, consent withdrawal, portability."
)
retention = group("retention", "Retention rules (versioned) and the disposition plan (dry run).")
scheduler = group(
    "scheduler", "Scheduled jobs: purge, deadline checks, audit checkpoints, compliance checks."
)
tokens = group("tokens", "API tokens (bearer).")
users = group("users", "Users and their roles.")
vault = group("vault", "The credentials vault: import, hand-over and purge, grants, reports.")

#: every top-level group, in the order ``auditor --help`` lists them (alphabetical)
ALL = (access, audit, breaches, compliance, db, demo, evidence, holds, instance, inventory, keys,
       records, requests, retention, scheduler, tokens, users, vault)  # fmt: skip

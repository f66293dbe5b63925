"""The role matrix: which role may do what. The one place it is defined (README documents it)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PRIVACY_OFFICER = "privacy_officer"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"


class Permission(StrEnum):
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    RECORDS_READ = "records:read"
    RECORDS_WRITE = "records:write"
    SUBJECTS_READ = "subjects:read"
    SUBJECTS_WRITE = "subjects:write"
    AUDIT_READ = "audit:read"
    AUDIT_CHECKPOINT = "audit:checkpoint"
    EVIDENCE_EXPORT = "evidence:export"
    COMPLIANCE_READ = "compliance:read"
    COMPLIANCE_RUN = "compliance:run"
    USERS_MANAGE = "users:manage"
    ACCESS_READ = "access:read"
    ACCESS_REVIEW = "access:review"
    VAULT_READ = "vault:read"
    VAULT_WRITE = "vault:write"
    VAULT_REVEAL = "vault:reveal"
    VAULT_HANDOVER = "vault:handover"
    VAULT_REPORT = "vault:report"
    BREACHES_READ = "breaches:read"
    BREACHES_MANAGE = "breaches:manage"
    HOLDS_READ = "holds:read"
    HOLDS_MANAGE = "holds:manage"
    RETENTION_READ = "retention:read"
    RETENTION_MANAGE = "retention:manage"
    RETENTION_REVIEW = "retention:review"
    REQUESTS_READ = "requests:read"
    REQUESTS_MANAGE = "requests:manage"
    REQUESTS_TASKS = "requests:tasks"
    KEYS_MANAGE = "keys:manage"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.INVENTORY_READ: "read the data map (organizations, systems, categories, ...)",
    Permission.INVENTORY_WRITE: "change the data map",
    Permission.RECORDS_READ: "read records, including their personal content",
    Permission.RECORDS_WRITE: "ingest records (single and bulk)",
    Permission.SUBJECTS_READ: "read data subjects and look up everything held about one",
    Permission.SUBJECTS_WRITE: "create and change data subjects and consents",
    Permission.AUDIT_READ: "read the audit trail and verify it",
    Permission.AUDIT_CHECKPOINT: "sign an audit checkpoint",
    Permission.EVIDENCE_EXPORT: "export signed evidence bundles (personal information: officers)",
    Permission.COMPLIANCE_READ: "read compliance findings (JSON, OCSF, SARIF, PDF)",
    Permission.COMPLIANCE_RUN: "run the compliance checks now (the scheduler runs them daily)",
    Permission.USERS_MANAGE: "manage users, their API tokens and their vault grants",
    Permission.ACCESS_READ: "read access reviews and deprovisioning times (SOC 2 evidence)",
    Permission.ACCESS_REVIEW: "review every account's access: keep, or revoke (deprovisions it)",
    Permission.VAULT_READ: "list and search secrets' metadata (granted clients only)",
    Permission.VAULT_WRITE: "add, change and delete secrets (granted clients only)",
    Permission.VAULT_REVEAL: "reveal a secret's value, with a reason (granted clients only)",
    Permission.VAULT_HANDOVER: "export a client's credentials for hand-over, purge them",
    Permission.VAULT_REPORT: "vault reports: secrets revealed and not changed since",
    Permission.BREACHES_READ: "read the breach register: assessments, notices, reports",
    Permission.BREACHES_MANAGE: "record and assess breaches, record notices, report to regulators",
    Permission.HOLDS_READ: "list and read retention holds (legal, recourse, breach, CRA)",
    Permission.HOLDS_MANAGE: "place and release retention holds, with a reason",
    Permission.RETENTION_READ: "see retention rules and the disposition plan",
    Permission.RETENTION_MANAGE: "load retention rules and run purges (command line)",
    Permission.RETENTION_REVIEW: "approve, extend or reject disposition review batches",
    Permission.REQUESTS_READ: "list and read privacy requests: deadlines, status, tasks",
    Permission.REQUESTS_MANAGE: (
        "open privacy requests, see the requester, verify, extend, answer, refuse, "
        "record fees and complaints"
    ),
    Permission.REQUESTS_TASKS: "update the search tasks of privacy requests (what to search for)",
    Permission.KEYS_MANAGE: "rotate, re-wrap and retire the vault's keys (command line)",
}

_ALL = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _ALL,
    # officers run the privacy programme; the users and the vault's keys are the admins' own
    Role.PRIVACY_OFFICER: frozenset(_ALL - {Permission.USERS_MANAGE, Permission.KEYS_MANAGE}),
    # technicians feed tickets and logs in and see the data map, but read no personal data back;
    # they use the vault of the clients they are granted; they search their systems for privacy
    # requests (the identifiers to search for, never the requester's name and contact)
    Role.TECHNICIAN: frozenset(
        {
            Permission.INVENTORY_READ,
            Permission.RECORDS_WRITE,
            Permission.VAULT_READ,
            Permission.VAULT_WRITE,
            Permission.VAULT_REVEAL,
            Permission.REQUESTS_READ,
            Permission.REQUESTS_TASKS,
        }
    ),
    # auditors read evidence: the data map, the audit trail and vault reports, no personal data
    # and no secret
    Role.AUDITOR: frozenset(
        {
            Permission.INVENTORY_READ,
            Permission.AUDIT_READ,
            Permission.AUDIT_CHECKPOINT,
            Permission.EVIDENCE_EXPORT,
            Permission.COMPLIANCE_READ,
            Permission.ACCESS_READ,
            Permission.VAULT_REPORT,
            Permission.BREACHES_READ,
            Permission.HOLDS_READ,
            Permission.RETENTION_READ,
            Permission.REQUESTS_READ,
        }
    ),
}


def is_allowed(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def matrix_markdown() -> str:
    """The matrix as the Markdown table the README carries (a test keeps the two equal)."""
    roles = list(Role)
    lines = [
        "| permission | what it allows | " + " | ".join(r.value for r in roles) + " |",
        "| --- | --- | " + " | ".join("---" for _ in roles) + " |",
    ]
    for perm in Permission:
        marks = " | ".join("yes" if perm in ROLE_PERMISSIONS[r] else "-" for r in roles)
        lines.append(f"| `{perm.value}` | {DESCRIPTIONS[perm]} | {marks} |")
    return "\n".join(lines)

"""All tables, imported so that Base.metadata knows them."""

from __future__ import annotations

from auditor.models.audit import AuditCheckpoint, AuditEvent
from auditor.models.inventory import (
    Agreement,
    DataCategory,
    Disclosure,
    Organization,
    Purpose,
    System,
    ThirdParty,
    category_purpose,
)
from auditor.models.records import Record, record_subject
from auditor.models.subjects import Consent, DataSubject, SubjectIdentifier
from auditor.models.users import ApiToken, User

__all__ = [
    "Agreement",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "Consent",
    "DataCategory",
    "DataSubject",
    "Disclosure",
    "Organization",
    "Purpose",
    "Record",
    "SubjectIdentifier",
    "System",
    "ThirdParty",
    "User",
    "category_purpose",
    "record_subject",
]

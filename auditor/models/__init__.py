"""All tables, imported so that Base.metadata knows them."""

from __future__ import annotations

from auditor.models.access import AccessReview, AccessReviewDecision, Deprovisioning
from auditor.models.audit import AuditCheckpoint, AuditEvent
from auditor.models.breaches import Breach, BreachNotification, BreachReport
from auditor.models.compliance import ComplianceFinding, ComplianceRun
from auditor.models.disposition import (
    Disposition,
    DispositionBatch,
    DispositionReview,
    DispositionReviewItem,
    PurgeRun,
)
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
from auditor.models.request_outcomes import DisputeNote, RequestCorrection, RequestItem
from auditor.models.requests import PrivacyRequest, RequestDocument, RequestTask
from auditor.models.retention import Hold, JobRun, RetentionRule
from auditor.models.subjects import Consent, DataSubject, SubjectIdentifier
from auditor.models.users import ApiToken, AuthThrottle, User
from auditor.models.vault import ClientKey, Handover, MasterKeyCanary, Secret, VaultGrant
from auditor.models.web import RecoveryCode, WebSession

__all__ = [
    "AccessReview",
    "AccessReviewDecision",
    "Agreement",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthThrottle",
    "Breach",
    "BreachNotification",
    "BreachReport",
    "ClientKey",
    "ComplianceFinding",
    "ComplianceRun",
    "Consent",
    "DataCategory",
    "DataSubject",
    "Deprovisioning",
    "Disclosure",
    "Disposition",
    "DispositionBatch",
    "DispositionReview",
    "DispositionReviewItem",
    "DisputeNote",
    "Handover",
    "Hold",
    "JobRun",
    "MasterKeyCanary",
    "Organization",
    "PrivacyRequest",
    "PurgeRun",
    "Purpose",
    "Record",
    "RecoveryCode",
    "RequestCorrection",
    "RequestDocument",
    "RequestItem",
    "RequestTask",
    "RetentionRule",
    "Secret",
    "SubjectIdentifier",
    "System",
    "ThirdParty",
    "User",
    "VaultGrant",
    "WebSession",
    "category_purpose",
    "record_subject",
]

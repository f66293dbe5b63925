"""Data subjects: identifiers, consents, and finding everything held about one person."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from auditor.models import (
    Consent,
    DataSubject,
    Organization,
    Purpose,
    Record,
    SubjectIdentifier,
    record_subject,
)
from auditor.models.subjects import new_ref
from auditor.schemas.subjects import (
    ConsentIn,
    ConsentOut,
    ConsentWithdrawal,
    IdentifierIn,
    IdentifierOut,
    SubjectIn,
    SubjectOut,
    SubjectUpdate,
)
from auditor.services import audit, audit_reads
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, NotFound, ValidationFailed
from auditor.services.identifiers import normalize
from auditor.services.inventory import resolve
from auditor.services.transactions import conflict_as


def to_out(subject: DataSubject) -> SubjectOut:
    return SubjectOut(
        id=subject.id,
        ref=subject.ref,
        display_name=subject.display_name,
        kind=subject.kind,
        organization=subject.organization.code if subject.organization else None,
        is_quebec=subject.is_quebec,
        identifiers=[IdentifierOut(kind=i.kind, value=i.value) for i in subject.identifiers],
        consents=[consent_out(c) for c in subject.consents],
        created_at=subject.created_at,
        updated_at=subject.updated_at,
    )


def consent_out(consent: Consent) -> ConsentOut:
    return ConsentOut(
        id=consent.id,
        purpose=consent.purpose.code,
        given_at=consent.given_at,
        method=consent.method,
        text_version=consent.text_version,
        evidence=consent.evidence,
        withdrawn_at=consent.withdrawn_at,
        withdrawal_method=consent.withdrawal_method,
    )


def get(session: Session, ref: str) -> DataSubject:
    subject = session.scalar(select(DataSubject).where(DataSubject.ref == ref))
    if subject is None:
        raise NotFound("No data subject with that reference.")
    return subject


def list_subjects(
    session: Session,
    *,
    after: int | None,
    limit: int,
    actor: Actor,
    organization: str | None = None,
) -> list[DataSubject]:
    """A page of subjects; listing personal data is audited like reading it."""
    query = select(DataSubject).order_by(DataSubject.id).limit(limit)
    if after is not None:
        query = query.where(DataSubject.id > after)
    if organization:
        org = resolve(session, Organization, organization, "organization")
        query = query.where(DataSubject.organization_id == org.id)
    items = list(session.scalars(query).all())
    audit_reads.record_read(
        session,
        actor=actor,
        action="subject.list",
        object_type="data_subject",
        details={"returned": len(items), "organization": organization},
    )
    return items


def _identifier(session: Session, item: IdentifierIn, index: int) -> SubjectIdentifier:
    value = normalize(item.kind, item.value, field=f"identifiers[{index}].value")
    return SubjectIdentifier(kind=item.kind, value=value)


def _consent(session: Session, item: ConsentIn) -> Consent:
    data = item.model_dump()
    data["purpose"] = resolve(session, Purpose, data["purpose"], "purpose")
    return Consent(**data)


def create(session: Session, data: SubjectIn, *, actor: Actor) -> DataSubject:
    subject = DataSubject(
        ref=data.ref or new_ref(),
        display_name=data.display_name,
        kind=data.kind,
        is_quebec=data.is_quebec,
        organization=resolve(session, Organization, data.organization, "organization")
        if data.organization
        else None,
    )
    subject.identifiers = [_identifier(session, item, i) for i, item in enumerate(data.identifiers)]
    subject.consents = [_consent(session, item) for item in data.consents]
    with conflict_as(session, "An identifier or reference already belongs to another subject."):
        session.add(subject)
    audit.record(
        session,
        actor=actor,
        action="subject.create",
        object_type="data_subject",
        object_id=subject.ref,
        organization_id=subject.organization_id,
        details={"identifiers": len(subject.identifiers), "consents": len(subject.consents)},
    )
    return subject


def read(session: Session, ref: str, *, actor: Actor) -> DataSubject:
    """Reading a subject's personal data is itself an audited event (R32)."""
    subject = get(session, ref)
    audit_reads.record_read(
        session,
        actor=actor,
        action="subject.read",
        object_type="data_subject",
        object_id=subject.ref,
        organization_id=subject.organization_id,
    )
    return subject


def update(session: Session, ref: str, data: SubjectUpdate, *, actor: Actor) -> DataSubject:
    subject = get(session, ref)
    changes = data.model_dump(exclude_unset=True)
    if "organization" in changes:
        code = changes.pop("organization")
        subject.organization = (
            resolve(session, Organization, code, "organization") if code else None
        )
    for name, value in changes.items():
        if value is not None:
            setattr(subject, name, value)
    audit.record(
        session,
        actor=actor,
        action="subject.update",
        object_type="data_subject",
        object_id=subject.ref,
        organization_id=subject.organization_id,
        details={"fields": sorted(data.model_dump(exclude_unset=True))},
    )
    return subject


def add_identifier(session: Session, ref: str, item: IdentifierIn, *, actor: Actor) -> DataSubject:
    subject = get(session, ref)
    identifier = _identifier(session, item, 0)
    with conflict_as(session, "That identifier already belongs to a subject."):
        subject.identifiers.append(identifier)
    audit.record(
        session,
        actor=actor,
        action="subject.identifier_add",
        object_type="data_subject",
        object_id=subject.ref,
        organization_id=subject.organization_id,
        details={"kind": identifier.kind},
    )
    return subject


def add_consent(session: Session, ref: str, item: ConsentIn, *, actor: Actor) -> Consent:
    subject = get(session, ref)
    consent = _consent(session, item)
    with conflict_as(session, "That consent is already recorded."):
        subject.consents.append(consent)
    audit.record(
        session,
        actor=actor,
        action="consent.record",
        object_type="consent",
        object_id=consent.id,
        organization_id=subject.organization_id,
        details={"subject": subject.ref, "purpose": consent.purpose.code},
    )
    return consent


def withdraw_consent(
    session: Session, ref: str, consent_id: int, data: ConsentWithdrawal, *, actor: Actor
) -> Consent:
    subject = get(session, ref)
    consent = next((c for c in subject.consents if c.id == consent_id), None)
    if consent is None:
        raise NotFound("The subject has no consent with that id.")
    if consent.withdrawn_at is not None:
        raise Conflict("The consent is already withdrawn.")
    if data.withdrawn_at < consent.given_at:
        raise ValidationFailed(
            "Withdrawal before consent.", [FieldError("withdrawn_at", "before given_at")]
        )
    consent.withdrawn_at = data.withdrawn_at
    consent.withdrawal_method = data.withdrawal_method
    audit.record(
        session,
        actor=actor,
        action="consent.withdraw",
        object_type="consent",
        object_id=consent.id,
        organization_id=subject.organization_id,
        details={"subject": subject.ref, "purpose": consent.purpose.code},
    )
    return consent


def delete(session: Session, ref: str, *, actor: Actor) -> None:
    subject = get(session, ref)
    linked = session.scalar(
        select(func.count())
        .select_from(record_subject)
        .where(record_subject.c.subject_id == subject.id)
    )
    if linked:
        raise Conflict(
            "Records still concern this subject; dispose of them through a deletion request."
        )
    organization_id = subject.organization_id
    session.delete(subject)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="subject.delete",
        object_type="data_subject",
        object_id=ref,
        organization_id=organization_id,
    )


def find(session: Session, kind: str, value: str) -> list[DataSubject]:
    """Subjects matching an identifier: exact email or phone, or a case-insensitive name."""
    if kind == "name":
        query = select(DataSubject).where(
            func.lower(DataSubject.display_name) == value.strip().lower()
        )
    else:
        query = (
            select(DataSubject)
            .join(SubjectIdentifier)
            .where(
                SubjectIdentifier.kind == kind, SubjectIdentifier.value == normalize(kind, value)
            )
        )
    return list(session.scalars(query.order_by(DataSubject.id)).all())


def records_of(
    session: Session, subject_ids: Iterable[int], *, after: int | None, limit: int
) -> list[Record]:
    """Records concerning any of the subjects, in id order from ``after`` (keyset pagination)."""
    ids = list(subject_ids)
    if not ids:
        return []
    linked = select(record_subject.c.record_id).where(record_subject.c.subject_id.in_(ids))
    query = select(Record).where(Record.id.in_(linked)).order_by(Record.id).limit(limit)
    if after is not None:
        query = query.where(Record.id > after)
    return list(session.scalars(query).all())


def lookup(
    session: Session, kind: str, value: str, *, after: int | None, limit: int, actor: Actor
) -> tuple[list[DataSubject], list[Record]]:
    """Everything held about a person found by any identifier; audited without the identifier."""
    subjects = find(session, kind, value)
    records = records_of(session, [s.id for s in subjects], after=after, limit=limit)
    audit.record(
        session,
        actor=actor,
        action="subject.lookup",
        object_type="data_subject",
        object_id=",".join(s.ref for s in subjects)[:200] or None,
        details={"by": kind, "subjects_found": len(subjects), "records_returned": len(records)},
    )
    return subjects, records


def ensure_subjects(
    session: Session, identifiers: set[tuple[str, str]], known: dict[tuple[str, str], int]
) -> None:
    """Fill ``known`` with the subject id of every (kind, normalised value), creating the missing.

    Records often name people the inventory has not met yet; they become subjects of kind
    'other' so that a later access request finds them.
    """
    missing = [key for key in identifiers if key not in known]
    for kind in ("email", "phone"):
        values = [v for k, v in missing if k == kind]
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            rows = session.execute(
                select(SubjectIdentifier.value, SubjectIdentifier.subject_id).where(
                    SubjectIdentifier.kind == kind, SubjectIdentifier.value.in_(chunk)
                )
            )
            for found_value, subject_id in rows:
                known[(kind, found_value)] = subject_id
    created = [key for key in missing if key not in known]
    if not created:
        return
    refs = [new_ref() for _ in created]
    from auditor.db import utcnow

    now = utcnow()
    session.execute(
        insert(DataSubject),
        [
            {"ref": ref, "kind": "other", "is_quebec": False, "created_at": now, "updated_at": now}
            for ref in refs
        ],
    )
    ids = dict(
        session.execute(
            select(DataSubject.ref, DataSubject.id).where(DataSubject.ref.in_(refs))
        ).all()
    )
    session.execute(
        insert(SubjectIdentifier),
        [
            {"subject_id": ids[ref], "kind": kind, "value": value, "created_at": now}
            for ref, (kind, value) in zip(refs, created, strict=True)
        ],
    )
    for ref, key in zip(refs, created, strict=True):
        known[key] = ids[ref]


def subject_refs(session: Session, record_ids: list[int]) -> dict[int, list[str]]:
    refs: dict[int, list[str]] = {rid: [] for rid in record_ids}
    if not record_ids:
        return refs
    rows = session.execute(
        select(record_subject.c.record_id, DataSubject.ref)
        .join(DataSubject, DataSubject.id == record_subject.c.subject_id)
        .where(record_subject.c.record_id.in_(record_ids))
        .order_by(record_subject.c.record_id, DataSubject.ref)
    )
    for record_id, ref in rows:
        refs[record_id].append(ref)
    return refs


def describe(subjects: list[DataSubject]) -> list[dict[str, Any]]:
    return [to_out(s).model_dump(mode="json") for s in subjects]

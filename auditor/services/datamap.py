"""The whole data map as one JSON document: export, import (all or nothing), policy defaults."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import DataSubject
from auditor.paths import DATA_DIR
from auditor.schemas import inventory as s
from auditor.schemas.common import InputModel, parse, partial
from auditor.schemas.subjects import SubjectIn, SubjectUpdate
from auditor.services import audit, inventory, subjects
from auditor.services.context import Actor
from auditor.services.identifiers import normalize

FORMAT = "auditor-data-map"
VERSION = 1
# import order: what is referenced comes before what references it
SECTIONS = (
    ("purposes", "purposes"),
    ("organizations", "organizations"),
    ("third_parties", "third-parties"),
    ("systems", "systems"),
    ("categories", "categories"),
    ("disclosures", "disclosures"),
)


class DataMap(InputModel):
    format: str = Field(pattern=f"^{FORMAT}$")
    version: int = Field(ge=1, le=VERSION)
    source: str | None = None
    organizations: list[s.OrganizationIn] = Field(default_factory=list)
    systems: list[s.SystemIn] = Field(default_factory=list)
    purposes: list[s.PurposeIn] = Field(default_factory=list)
    categories: list[s.CategoryIn] = Field(default_factory=list)
    third_parties: list[s.ThirdPartyIn] = Field(default_factory=list)
    disclosures: list[s.DisclosureIn] = Field(default_factory=list)
    subjects: list[SubjectIn] = Field(default_factory=list)


def _as_input(spec: inventory.KindSpec, obj: Any) -> dict[str, Any]:
    out = spec.out(obj).model_dump(mode="json")
    allowed = spec.schema_in.model_fields
    item = {k: v for k, v in out.items() if k in allowed}
    if "agreements" in item:
        allowed_agreement = s.AgreementIn.model_fields
        item["agreements"] = [
            {k: v for k, v in a.items() if k in allowed_agreement} for a in item["agreements"]
        ]
    return item


def _subject_input(subject: DataSubject) -> dict[str, Any]:
    out = subjects.to_out(subject).model_dump(mode="json")
    consent_fields = set(SubjectIn.model_fields["consents"].annotation.__args__[0].model_fields)  # type: ignore[union-attr]
    return {
        "ref": out["ref"],
        "display_name": out["display_name"],
        "kind": out["kind"],
        "organization": out["organization"],
        "is_quebec": out["is_quebec"],
        "identifiers": sorted(out["identifiers"], key=lambda i: (i["kind"], i["value"])),
        "consents": sorted(
            ({k: v for k, v in c.items() if k in consent_fields} for c in out["consents"]),
            key=lambda c: (c["purpose"], c["given_at"]),
        ),
    }


def export(session: Session, *, actor: Actor, include_subjects: bool = True) -> dict[str, Any]:
    """The data map, sorted by code, in the input shape that import reads."""
    document: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    counts: dict[str, int] = {}
    for key, plural in SECTIONS:
        spec = inventory.KINDS[plural]
        items = session.scalars(select(spec.model).order_by(spec.model.code)).all()
        document[key] = [_as_input(spec, obj) for obj in items]
        counts[key] = len(items)
    if include_subjects:
        people = session.scalars(select(DataSubject).order_by(DataSubject.ref)).all()
        document["subjects"] = [_subject_input(p) for p in people]
        counts["subjects"] = len(people)
    audit.record(
        session,
        actor=actor,
        action="inventory.export",
        details={"counts": counts, "includes_subjects": include_subjects},
    )
    return document


def import_document(
    session: Session, data: Any, *, actor: Actor, overwrite: bool = True
) -> dict[str, dict[str, int]]:
    """Create what is missing and, with ``overwrite``, update what differs. All or nothing: the
    whole document is validated before anything is written, and the caller commits once."""
    document = parse(DataMap, data, what="data map")
    summary: dict[str, dict[str, int]] = {}
    for key, plural in SECTIONS:
        spec = inventory.KINDS[plural]
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for item in getattr(document, key):
            existing = session.scalar(select(spec.model).where(spec.model.code == item.code))
            if existing is None:
                inventory.create(session, spec, item, actor=actor)
                counts["created"] += 1
            elif overwrite and _as_input(spec, existing) != item.model_dump(mode="json"):
                patch = partial(spec.schema_in).model_validate(item.model_dump())
                inventory.update(session, spec, item.code, patch, actor=actor)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        summary[key] = counts
    summary["subjects"] = _import_subjects(session, document.subjects, actor=actor)
    audit.record(session, actor=actor, action="inventory.import", details={"summary": summary})
    return summary


def _import_subjects(session: Session, items: list[SubjectIn], *, actor: Actor) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for item in items:
        existing = (
            session.scalar(select(DataSubject).where(DataSubject.ref == item.ref))
            if item.ref
            else None
        )
        if existing is None:
            subjects.create(session, item, actor=actor)
            counts["created"] += 1
            continue
        if _subject_input(existing) == item.model_dump(mode="json"):
            counts["unchanged"] += 1
            continue
        _update_subject(session, existing, item, actor=actor)
        counts["updated"] += 1
    return counts


def _update_subject(
    session: Session, subject: DataSubject, item: SubjectIn, *, actor: Actor
) -> None:
    """Apply the file's fields; add identifiers and consents it has that the subject lacks.
    Nothing is removed: identifiers and consents go away only through privacy requests."""
    fields = SubjectUpdate(
        display_name=item.display_name,
        kind=item.kind,
        organization=item.organization,
        is_quebec=item.is_quebec,
    )
    subjects.update(session, subject.ref, fields, actor=actor)
    have = {(i.kind, i.value) for i in subject.identifiers}
    for ident in item.identifiers:
        if (ident.kind, normalize(ident.kind, ident.value)) not in have:
            subjects.add_identifier(session, subject.ref, ident, actor=actor)
    given = {(c.purpose.code, c.given_at) for c in subject.consents}
    for consent in item.consents:
        if (consent.purpose, consent.given_at) not in given:
            subjects.add_consent(session, subject.ref, consent, actor=actor)


def load_defaults(
    session: Session, *, actor: Actor, overwrite: bool = False
) -> dict[str, dict[str, int]]:
    """The categories, purposes, third parties and retention schedule of the published policy."""
    data = json.loads((DATA_DIR / "policy-defaults.json").read_text(encoding="utf-8"))
    return import_document(session, data, actor=actor, overwrite=overwrite)

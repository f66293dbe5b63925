"""The data inventory (PIPEDA data map): create, read, update, delete, each change audited.

Every inventory kind is described once by a KindSpec; one set of functions serves them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import (
    Agreement,
    DataCategory,
    Disclosure,
    Organization,
    Purpose,
    System,
    ThirdParty,
)
from auditor.schemas import inventory as s
from auditor.schemas.common import parse
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from auditor.services.transactions import conflict_as

# fields whose values are personal data: audited by name only
PERSONAL_FIELDS = frozenset({"contact_email"})


def resolve(session: Session, model: type[Any], code: str, field_name: str) -> Any:
    obj = session.scalar(select(model).where(model.code == code))
    if obj is None:
        raise ValidationFailed(
            f"Unknown {field_name} code.", [FieldError(field_name, f"no {field_name} '{code}'")]
        )
    return obj


def _apply_plain(session: Session, obj: Any, data: dict[str, Any]) -> None:
    for name, value in data.items():
        setattr(obj, name, value)


def _apply_organization(session: Session, obj: Organization, data: dict[str, Any]) -> None:
    agreements = data.pop("agreements", None)
    _apply_plain(session, obj, data)
    if agreements is None:
        return
    existing = {a.reference: a for a in obj.agreements}
    wanted = {a["reference"] for a in agreements}
    if len(wanted) != len(agreements):
        raise ValidationFailed(
            "Agreement references repeat.", [FieldError("agreements", "references must be unique")]
        )
    for item in agreements:
        agreement = existing.get(item["reference"])
        if agreement is None:
            obj.agreements.append(Agreement(**item))
        else:
            _apply_plain(session, agreement, item)
    for reference, agreement in existing.items():
        if reference not in wanted:
            obj.agreements.remove(agreement)


def _apply_category(session: Session, obj: DataCategory, data: dict[str, Any]) -> None:
    if "purposes" in data:
        obj.purposes = [
            resolve(session, Purpose, code, "purposes") for code in data.pop("purposes")
        ]
    if "controller" in data:
        data["controller_kind"] = data.pop("controller")
    if "controller_organization" in data:
        code = data.pop("controller_organization")
        obj.controller_organization = (
            resolve(session, Organization, code, "controller_organization") if code else None
        )
    _apply_plain(session, obj, data)
    if obj.controller_kind == "client" and obj.controller_organization is None:
        raise ValidationFailed(
            "A client-controlled category names its client.",
            [FieldError("controller_organization", "required when controller is 'client'")],
        )
    if obj.controller_kind == "msp":
        obj.controller_organization = None


def _apply_disclosure(session: Session, obj: Disclosure, data: dict[str, Any]) -> None:
    refs = {"category": DataCategory, "third_party": ThirdParty, "purpose": Purpose}
    for name, model in refs.items():
        if name in data:
            setattr(obj, name, resolve(session, model, data.pop(name), name))
    _apply_plain(session, obj, data)


def category_findings(obj: DataCategory) -> list[str]:
    """What R14 requires of a category and this one lacks (the compliance report lists these)."""
    findings = []
    if not obj.purposes:
        findings.append("no purpose")
    if not obj.basis:
        findings.append("no legal or business basis")
    if obj.max_retention_days is None:
        findings.append("no maximum retention")
    if obj.min_retention_days is None:
        findings.append("no minimum retention")
    if not obj.trigger_type or not obj.trigger:
        findings.append("no retention trigger")
    if obj.controller_kind == "client" and obj.controller_organization is None:
        findings.append("client controller not named")
    return findings


def _out_category(obj: DataCategory) -> s.CategoryOut:
    return s.CategoryOut(
        id=obj.id,
        code=obj.code,
        name=obj.name,
        description=obj.description,
        purposes=[p.code for p in obj.purposes],
        controller=obj.controller_kind,
        controller_organization=obj.controller_organization.code
        if obj.controller_organization
        else None,
        basis=obj.basis,
        min_retention_days=obj.min_retention_days,
        max_retention_days=obj.max_retention_days,
        trigger_type=obj.trigger_type,
        trigger=obj.trigger,
        is_sensitive=obj.is_sensitive,
        findings=category_findings(obj),
    )


def _out_disclosure(obj: Disclosure) -> s.DisclosureOut:
    return s.DisclosureOut(
        id=obj.id,
        code=obj.code,
        category=obj.category.code,
        third_party=obj.third_party.code,
        purpose=obj.purpose.code,
        description=obj.description,
    )


@dataclass(frozen=True)
class KindSpec:
    """How one inventory kind is stored, validated, shown and named in URLs and audit events."""

    name: str  # singular, used in audit actions: inventory.<name>.create
    plural: str  # URL segment and export key
    model: type[Any]
    schema_in: type[BaseModel]
    schema_out: type[BaseModel]
    apply: Callable[[Session, Any, dict[str, Any]], None] = _apply_plain
    to_out: Callable[[Any], BaseModel] | None = None
    filters: tuple[str, ...] = field(default=())

    def out(self, obj: Any) -> BaseModel:
        if self.to_out is not None:
            return self.to_out(obj)
        return self.schema_out.model_validate(obj)


KINDS: dict[str, KindSpec] = {
    spec.plural: spec
    for spec in (
        KindSpec(
            "organization",
            "organizations",
            Organization,
            s.OrganizationIn,
            s.OrganizationOut,
            _apply_organization,
            filters=("kind",),
        ),
        KindSpec("system", "systems", System, s.SystemIn, s.SystemOut, filters=("kind",)),
        KindSpec("purpose", "purposes", Purpose, s.PurposeIn, s.PurposeOut),
        KindSpec(
            "category",
            "categories",
            DataCategory,
            s.CategoryIn,
            s.CategoryOut,
            _apply_category,
            _out_category,
        ),
        KindSpec("third_party", "third-parties", ThirdParty, s.ThirdPartyIn, s.ThirdPartyOut),
        KindSpec(
            "disclosure",
            "disclosures",
            Disclosure,
            s.DisclosureIn,
            s.DisclosureOut,
            _apply_disclosure,
            _out_disclosure,
        ),
    )
}


def _audit_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_audit_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _audit_value(v) for k, v in value.items()}
    return value


def _changes(spec: KindSpec, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, new in after.items():
        old = before.get(name)
        if old == new or name in {"id", "created_at", "updated_at", "findings"}:
            continue
        changes[name] = (
            "changed"
            if name in PERSONAL_FIELDS
            else {"from": _audit_value(old), "to": _audit_value(new)}
        )
    return changes


def get(session: Session, spec: KindSpec, code: str) -> Any:
    obj = session.scalar(select(spec.model).where(spec.model.code == code))
    if obj is None:
        raise NotFound(f"No {spec.name.replace('_', ' ')} with that code.")
    return obj


def list_items(
    session: Session, spec: KindSpec, *, after: int | None, limit: int, **filters: Any
) -> list[Any]:
    query = select(spec.model).order_by(spec.model.id).limit(limit)
    if after is not None:
        query = query.where(spec.model.id > after)
    for name, value in filters.items():
        if value is not None and name in spec.filters:
            query = query.where(getattr(spec.model, name) == value)
    return list(session.scalars(query).all())


def _flush(session: Session, spec: KindSpec, work: Callable[[], None]) -> None:
    detail = (
        f"The {spec.name.replace('_', ' ')} conflicts with existing data "
        "(a duplicate code, or it is still referenced)."
    )
    with conflict_as(session, detail):
        work()


def create(session: Session, spec: KindSpec, data: BaseModel, *, actor: Actor) -> Any:
    obj = spec.model()
    values = data.model_dump()

    def work() -> None:
        spec.apply(session, obj, values)
        session.add(obj)

    _flush(session, spec, work)
    audit.record(
        session,
        actor=actor,
        action=f"inventory.{spec.name}.create",
        object_type=spec.name,
        object_id=obj.code,
        organization_id=obj.id if spec.model is Organization else None,
    )
    return obj


def update(session: Session, spec: KindSpec, code: str, patch: BaseModel, *, actor: Actor) -> Any:
    obj = get(session, spec, code)
    before = spec.out(obj).model_dump()
    values = patch.model_dump(exclude_unset=True)
    # the whole object must still satisfy the input rules (dates in order, ranges, ...)
    full = parse(spec.schema_in, {**_input_view(spec, before), **values})
    values = {k: v for k, v in full.model_dump().items() if k in values}
    _flush(session, spec, lambda: spec.apply(session, obj, values))
    session.refresh(obj)
    changes = _changes(spec, before, spec.out(obj).model_dump())
    audit.record(
        session,
        actor=actor,
        action=f"inventory.{spec.name}.update",
        object_type=spec.name,
        object_id=obj.code,
        details={"changes": changes},
        organization_id=obj.id if spec.model is Organization else None,
    )
    return obj


def _input_view(spec: KindSpec, out: dict[str, Any]) -> dict[str, Any]:
    """An output dict reduced to the fields the input schema accepts."""
    allowed = spec.schema_in.model_fields
    view = {k: v for k, v in out.items() if k in allowed and v is not None}
    if "agreements" in view:
        view["agreements"] = [
            {k: v for k, v in a.items() if v is not None} for a in view["agreements"]
        ]
    return view


def delete(session: Session, spec: KindSpec, code: str, *, actor: Actor) -> None:
    obj = get(session, spec, code)
    object_id = obj.id
    _flush(session, spec, lambda: session.delete(obj))
    audit.record(
        session,
        actor=actor,
        action=f"inventory.{spec.name}.delete",
        object_type=spec.name,
        object_id=code,
        organization_id=object_id if spec.model is Organization else None,
    )


def msp_organization(session: Session) -> Organization | None:
    """The MSP itself (the organization of kind 'msp'; the first one if several)."""
    return session.scalar(
        select(Organization).where(Organization.kind == "msp").order_by(Organization.id).limit(1)
    )


def organization(session: Session, code: str) -> Organization:
    """An organization by its code, or NotFound (the lookup the vault and hand-over share)."""
    org: Organization = get(session, KINDS["organizations"], code)
    return org

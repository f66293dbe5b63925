"""The populations of an evidence bundle besides the audit slice: one JSON Lines file each,
written with the query, parameters and row count that produced it (docs/evidence.md).

People appear as internal ids (a subject id, a request reference) unless the officer opted in
to personal information; free text an officer wrote (hold reasons) is left out without it, since
it may name someone. Actors appear by name and role (``actors.jsonl``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from auditor.models import (
    DataCategory,
    DataSubject,
    Disclosure,
    DispositionBatch,
    Hold,
    Organization,
    PrivacyRequest,
    PurgeRun,
    Purpose,
    System,
    ThirdParty,
    User,
)
from auditor.services.evidence import registers
from auditor.services.evidence.bag import BagWriter
from auditor.services.evidence.jsonl import (
    Population,
    Scope,
    columns,
    plain,
    sql,
    time,
    write_query,
)
from auditor.services.retention import dispositions as disposition_records
from auditor.services.retention import lines as canonical


def write_all(
    session: Session, bag: BagWriter, scope: Scope, actors: Iterable[str]
) -> list[Population]:
    """Every population but the audit slice, in the order ``index.json`` lists them."""
    return [
        _requests(session, bag, scope),
        _holds(session, bag, scope),
        *registers.breaches(session, bag, scope),
        *registers.access(session, bag, scope),
        *_dispositions(session, bag, scope),
        *_inventory(session, bag, scope),
        _actors(session, bag, actors),
    ]


def _requests(session: Session, bag: BagWriter, scope: Scope) -> Population:
    """R1-R4: every request received in the period or still open during it."""
    query = (
        select(PrivacyRequest, DataSubject.organization_id.label("subject_org"))
        .outerjoin(DataSubject, DataSubject.id == PrivacyRequest.subject_id)
        .where(
            PrivacyRequest.received_at < scope.end,
            or_(PrivacyRequest.closed_at.is_(None), PrivacyRequest.closed_at >= scope.start),
        )
        .order_by(PrivacyRequest.id)
    )
    if scope.organization_id is not None:
        query = query.where(
            or_(
                PrivacyRequest.forwarded_by_id == scope.organization_id,
                DataSubject.organization_id == scope.organization_id,
            )
        )

    def shape(row: Any) -> dict[str, Any]:
        r: PrivacyRequest = row[0]
        answered = r.responded_at or r.closed_at
        met = None if answered is None else answered <= r.due_at
        out = {
            "reference": r.reference,
            "type": r.type,
            "status": r.status,
            "received_at": time(r.received_at),
            "due_at": time(r.original_due_at),
            "extended_due_at": time(r.due_at) if r.due_at != r.original_due_at else None,
            "extension_reason": r.extension_reason,
            "answered_at": time(answered),
            "deadline": "met" if met else "missed" if met is False else "open",
            "deemed_refused_at": time(r.deemed_refused_at),
            "subject_id": r.subject_id,
            "forwarded_by_id": r.forwarded_by_id,
        }
        if scope.personal:
            out["requester_name"] = r.requester_name
        return out

    return write_query(session, bag, "requests.jsonl", "the request register (R1-R4)", query, shape)


def _holds(session: Session, bag: BagWriter, scope: Scope) -> Population:
    """R9, R19: holds in force at any time in the period."""
    query = (
        select(Hold)
        .where(
            Hold.placed_at < scope.end,
            or_(Hold.released_at.is_(None), Hold.released_at >= scope.start),
        )
        .order_by(Hold.id)
    )
    if scope.organization_id is not None:
        query = query.where(Hold.scope == "client", Hold.scope_value == str(scope.organization_id))

    def shape(row: Any) -> dict[str, Any]:
        h: Hold = row[0]
        out = {
            "id": h.id,
            "kind": h.kind,
            "scope": h.scope,
            "scope_value": h.scope_value,
            "reference": h.reference,
            "placed_by": h.created_by,
            "placed_at": time(h.placed_at),
            "until": h.until.isoformat() if h.until else None,
            "open_ended": h.open_ended,
            "released_by": h.released_by,
            "released_at": time(h.released_at),
            "has_reason": bool(h.reason.strip()),
        }
        if scope.personal:
            out |= {"reason": h.reason, "release_reason": h.release_reason}
        return out

    what = "holds in force in the period (R9, R19)"
    return write_query(session, bag, "holds.jsonl", what, query, shape)


def _dispositions(session: Session, bag: BagWriter, scope: Scope) -> list[Population]:
    """R20-R23: the disposition lines of every batch written in the period, exactly as hashed
    (each batch's SHA-256 is in its ``retention.dispose`` audit event), and the certificates of
    the runs completed in it."""
    window = (DispositionBatch.created_at >= scope.start, DispositionBatch.created_at < scope.end)
    query = select(DispositionBatch.__table__).where(*window).order_by(DispositionBatch.id)
    text, params = sql(session, query)
    batches = Population(
        "data/dispositions/batches.jsonl", "disposition batches (R20, R23)", text, params
    )
    lines = Population(
        "data/dispositions/lines.jsonl",
        "their disposition lines, as hashed, batch after batch (R20, R22)",
        text,
        params,
    )
    with (
        bag.payload("dispositions/batches.jsonl") as out_batches,
        bag.payload("dispositions/lines.jsonl") as out_lines,
    ):
        for batch, found in canonical.lines_of(session, *window):
            if scope.organization_id is not None:
                found = [v for v in found if v.get("organization_id") == scope.organization_id]
                if not found:
                    continue
            entry = {k: plain(v) for k, v in batch.items() if k != "legacy"}
            entry["lines_in_bundle"] = len(found)
            out_batches.write(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n")
            batches.rows += 1
            for value in found:
                out_lines.write(canonical.encode(value) + b"\n")
                lines.rows += 1
    runs = (
        select(PurgeRun)
        .where(
            PurgeRun.status == "completed",
            PurgeRun.finished_at >= scope.start,
            PurgeRun.finished_at < scope.end,
        )
        .order_by(PurgeRun.id)
    )

    def shape(row: Any) -> dict[str, Any]:
        return disposition_records.stored_certificate(session, row[0])

    certificates = write_query(
        session,
        bag,
        "dispositions/certificates.jsonl",
        "certificates of the purge runs completed in the period (R23)",
        runs,
        shape,
    )
    if scope.organization_id is not None:  # a client's bundle: the MSP-wide totals are not theirs
        certificates.description += "; MSP-wide: they count every client"
    return [batches, lines, certificates]


def _inventory(session: Session, bag: BagWriter, scope: Scope) -> list[Population]:
    """R14: the data map as it stands at export: categories, systems, purposes, third parties
    and disclosures, every column as stored."""
    found = []
    for name, model in (
        ("categories", DataCategory),
        ("systems", System),
        ("purposes", Purpose),
        ("third-parties", ThirdParty),
        ("disclosures", Disclosure),
    ):
        query = select(model).order_by(model.id)
        found.append(
            write_query(
                session,
                bag,
                f"inventory/{name}.jsonl",
                f"the data map: {name.replace('-', ' ')} (R14)",
                query,
                columns,
            )
        )
    del scope  # the data map is the MSP's: the same in every bundle
    return found


def _actors(session: Session, bag: BagWriter, actors: Iterable[str]) -> Population:
    """Who the audit slice's actors are: ``user:<id>`` by name and role; others as they are."""
    names = sorted(set(actors))
    ids = [int(n.split(":", 1)[1]) for n in names if n.startswith("user:") and n[5:].isdigit()]
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    found = Population(
        "data/actors.jsonl",
        "the actors of the audit slice, by name and role",
        "SELECT id, name, role FROM app_user WHERE id IN (the user:<id> actors of the slice)",
        {},
    )
    with bag.payload("actors.jsonl") as out:
        for name in names:
            entry: dict[str, Any] = {"actor": name}
            known = name.startswith("user:") and name[5:].isdigit()
            user = users.get(int(name[5:])) if known else None
            if user is not None:
                entry |= {"name": user.name, "role": user.role, "active": user.is_active}
            out.write(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n")
            found.rows += 1
    return found


def organization_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Organization.id).where(Organization.code == code))


def iter_index(populations: Iterable[Population]) -> Iterator[dict[str, Any]]:
    for p in populations:
        yield dataclasses.asdict(p)

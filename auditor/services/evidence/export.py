"""Export an evidence bundle for a period (and a client): docs/evidence.md.

The export is an audit event (``evidence.export``, with the bundle's tag-manifest digest),
written after the bundle: the slice it contains ends before it. For a period that is over, the
same data gives the same bytes: the slice, the checkpoints and the populations are fixed, and
the Bagging-Date is the covering checkpoint's day, not today's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path
from typing import BinaryIO

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import ValidationFailed
from auditor.services.evidence import audit_slice, jsonl, populations
from auditor.services.evidence.bag import BagWriter
from auditor.services.evidence.verify_md import verify_md
from auditor.version import __version__


@dataclasses.dataclass(frozen=True)
class Request:
    """What to export: the period (whole days, inclusive), a client's code, personal data."""

    start: dt.date
    end: dt.date
    client: str | None = None
    personal: bool = False

    def name(self) -> str:
        who = f"-{self.client}" if self.client else ""
        return f"evidence{who}-{self.start.isoformat()}--{self.end.isoformat()}"


@dataclasses.dataclass
class Result:
    name: str
    tag_manifest_sha256: str
    events: int
    first_seq: int | None
    last_seq: int | None
    checkpoint_size: int | None
    audit_seq: int


def export(
    session: Session,
    request: Request,
    out: BinaryIO,
    *,
    key: Ed25519PrivateKey,
    origin: str,
    actor: Actor,
    organization: str,
) -> Result:
    """Write the bundle to ``out`` (a seekable binary file) and audit the export; the caller
    commits."""
    if request.end < request.start:
        raise ValidationFailed("the period ends before it starts")
    if request.end >= dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1):
        raise ValidationFailed("the period cannot end after today")
    org_id = None
    if request.client is not None:
        org_id = populations.organization_id(session, request.client)
        if org_id is None:
            raise ValidationFailed(f"no client with the code {request.client!r}")
    audit.lock_head(session)  # the slice and its checkpoint, as of one moment
    start = dt.datetime.combine(request.start, dt.time(), dt.UTC)
    end = dt.datetime.combine(request.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    found = audit_slice.find(session, start, end)
    audit_slice.ensure_covered(session, found, key=key, origin=origin, actor=actor)
    scope = jsonl.Scope(start, end, org_id, request.personal)
    name = request.name()
    with tempfile.TemporaryDirectory(prefix="auditor-evidence-") as scratch:
        bag = BagWriter(Path(scratch), name)
        audit_slice.write(session, bag, found, org_id)
        written = populations.write_all(session, bag, scope, found.actors)
        index = _index(found, scope, written)
        with bag.payload("index.json") as index_out:
            index_out.write(orjson.dumps(index, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))
        covering = found.covering
        bagged = (covering.created_at if covering else end - dt.timedelta(days=1)).date()
        info = [
            ("Source-Organization", organization),
            ("External-Identifier", name),
            ("External-Description", _description(request)),
            ("Bagging-Date", bagged.isoformat()),
            ("Bag-Software-Agent", f"pipeda-auditor {__version__}"),
            ("Period-Start", request.start.isoformat()),
            ("Period-End", request.end.isoformat()),
            ("Client", request.client or "all clients (the whole MSP)"),
            ("Contains-Personal-Information", "yes" if request.personal else "no"),
            ("Audit-Log-Origin", origin),
            ("Payload-Oxum", bag.payload_oxum()),
        ]
        digest = bag.write(out, bag_info=info, tags={"VERIFY.md": verify_md(name)}, key=key)
    event = audit.record(
        session,
        actor=actor,
        action="evidence.export",
        object_type="evidence_bundle",
        object_id=name,
        organization_id=org_id,
        details={
            "from": request.start.isoformat(),
            "to": request.end.isoformat(),
            "client": request.client,
            "personal_information": request.personal,
            "tag_manifest_sha256": digest,
            "first_seq": found.first,
            "last_seq": found.last,
        },
    )
    return Result(
        name,
        digest,
        found.events,
        found.first,
        found.last,
        covering.tree_size if covering else None,
        event.seq,
    )


def _description(request: Request) -> str:
    who = f"client {request.client}" if request.client else "the whole MSP"
    return (
        f"Audit evidence for {who}, {request.start.isoformat()} to {request.end.isoformat()}: "
        "the audit-log slice with its signed checkpoints and proofs, dispositions and their "
        "certificates, the request register, holds and the data map."
    )


def _index(
    found: audit_slice.Slice, scope: jsonl.Scope, written: list[jsonl.Population]
) -> dict[str, object]:
    slice_entry = {
        "file": "data/audit/events.jsonl",
        "description": "the audit-log slice: every event between the first and the last of the "
        "period, as hashed into the Merkle tree (docs/audit-log.md)",
        "query": "SELECT * FROM audit_event WHERE seq BETWEEN :first AND :last ORDER BY seq",
        "parameters": {"first": found.first, "last": found.last},
        "rows": found.events + found.redacted,
        "redacted_other_clients": found.redacted,
        "covering_checkpoint_size": found.covering.tree_size if found.covering else None,
    }
    return {
        "format": "auditor-evidence/1",
        "period": {
            "start": audit.format_time(scope.start),
            "end_before": audit.format_time(scope.end),
        },
        "organization_id": scope.organization_id,
        "personal_information": scope.personal,
        "populations": [slice_entry, *populations.iter_index(written)],
    }

"""Vault endpoints for officers: termination hand-over, its acknowledgement, the purge (R16), and
the revealed-and-unchanged report."""

from __future__ import annotations

import base64

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from auditor import keys
from auditor.keys import master_key_ring
from auditor.permissions import Permission
from auditor.schemas.vault import RevealedUnchanged
from auditor.schemas.vault_admin import (
    AcknowledgementIn,
    HandoverFile,
    HandoverIn,
    HandoverOut,
    PurgeIn,
    PurgeOut,
)
from auditor.services import retention, vault
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, json_response, route
from crypto.digest import key_id

bp = Blueprint("vault_admin", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/clients/<code>/handover",
    "POST",
    summary="Export a client's credentials for hand-over (KeePass file, passphrase shown once)",
    permission=Permission.VAULT_HANDOVER,
    response=HandoverFile,
    status=201,
    errors=(409,),
)
def handover_export(session: Session, code: str, body: HandoverIn, actor: Actor) -> Response:
    data, passphrase, row = vault.export_handover(
        session,
        master_key_ring(),
        code,
        recipient=body.recipient,
        method=body.method,
        actor=actor,
    )
    result = HandoverFile(
        handover_id=row.id,
        client=code,
        file_name=f"{code}-handover-{row.exported_at:%Y%m%d}.kdbx",
        file_base64=base64.b64encode(data).decode("ascii"),
        sha256=row.file_sha256,
        passphrase=passphrase,
        secrets_count=row.secrets_count,
        exported_at=row.exported_at,
    )
    response = json_response(result, 201)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@route(
    bp,
    "/handovers/<int:handover_id>/acknowledgement",
    "POST",
    summary="Record the client's acknowledgement of a hand-over",
    permission=Permission.VAULT_HANDOVER,
    errors=(409,),
)
def handover_acknowledge(
    session: Session, handover_id: int, body: AcknowledgementIn, actor: Actor
) -> HandoverOut:
    row = vault.record_acknowledgement(
        session,
        handover_id,
        acknowledged_at=body.acknowledged_at,
        acknowledgement=body.acknowledgement,
        actor=actor,
    )
    return vault.handover_out(session, row)


@route(
    bp,
    "/clients/<code>/vault/purge",
    "POST",
    summary="Purge a client's vault by crypto-shredding (dry run unless dry_run is false)",
    permission=Permission.VAULT_HANDOVER,
    errors=(409,),
)
def vault_purge(session: Session, code: str, body: PurgeIn, actor: Actor) -> PurgeOut:
    return retention.purge_client_vault(
        session,
        code,
        actor=actor,
        dry_run=body.dry_run,
        digest_key_id=key_id(keys.disposition_key()),
    )


@route(
    bp,
    "/users/<int:user_id>/vault-report",
    "GET",
    summary="Report the secrets a user revealed that have not changed since",
    permission=Permission.VAULT_REPORT,
    writes=True,
)
def vault_report(session: Session, user_id: int, actor: Actor) -> list[RevealedUnchanged]:
    return vault.revealed_unchanged(session, user_id, actor=actor)

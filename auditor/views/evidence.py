"""``POST /api/v1/evidence/bundles``: a signed evidence bundle, the ZIP as the response body.

The bundle is written to a temporary file (memory stays flat whatever its size), the export's
audit event commits with the request, and the file is streamed back and removed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from flask import Blueprint, Response, current_app
from sqlalchemy.orm import Session

from auditor import keys
from auditor.permissions import Permission, is_allowed
from auditor.schemas.evidence import EvidenceBundleIn
from auditor.services import evidence
from auditor.services.context import Actor
from auditor.services.errors import PermissionDenied
from auditor.services.evidence.bag import CHUNK
from auditor.services.requests.common import responder
from auditor.views.api import API_PREFIX, route

bp = Blueprint("evidence", __name__, url_prefix=API_PREFIX)


@route(
    bp,
    "/evidence/bundles",
    "POST",
    summary="Export a signed evidence bundle (BagIt ZIP) for a period and, optionally, a client",
    response_media_type="application/zip",
    permission=Permission.EVIDENCE_EXPORT,
)
def evidence_bundles(session: Session, body: EvidenceBundleIn, actor: Actor) -> Response:
    if body.personal_information and not is_allowed(actor.role or "", Permission.REQUESTS_MANAGE):
        raise PermissionDenied("personal information in bundles is for privacy officers, admins")
    request = evidence.Request(body.start, body.end, body.client, body.personal_information)
    organization = responder(session, current_app.config)["name"] or "unnamed organization"
    handle, path = tempfile.mkstemp(prefix="auditor-evidence-", suffix=".zip")
    try:
        with os.fdopen(handle, "wb") as out:
            result = evidence.export(
                session,
                request,
                out,
                key=keys.audit_signing_key(),
                origin=keys.audit_origin(),
                actor=actor,
                organization=organization,
            )
    except BaseException:
        os.unlink(path)
        raise

    def stream() -> Iterator[bytes]:
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk

    def remove() -> None:
        if os.path.exists(path):
            os.unlink(path)

    response = Response(stream(), mimetype="application/zip")
    response.call_on_close(remove)  # sent or not
    response.headers["Content-Disposition"] = f'attachment; filename="{result.name}.zip"'
    response.headers["Content-Length"] = str(os.path.getsize(path))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Tag-Manifest-SHA256"] = result.tag_manifest_sha256
    return response

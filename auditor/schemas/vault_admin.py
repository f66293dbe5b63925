"""Request and response models of the vault's officer operations: hand-over, acknowledgement,
purge. The hand-over passphrase appears only in the export response, once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints

from auditor.schemas.common import AwareDatetime, InputModel, Name, OutputModel

Method = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Acknowledgement = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=10_000)
]


class HandoverIn(InputModel):
    recipient: Name = Field(description="who at the client receives the file (name, role)")
    method: Method = Field(
        description="how the file travels, e.g. 'encrypted USB in person'; "
        "send the passphrase by another channel"
    )


class HandoverFile(OutputModel):
    handover_id: int
    client: str
    file_name: str
    file_base64: str = Field(description="the KDBX 4 database, base64")
    sha256: str = Field(description="SHA-256 of the file, as recorded in the hand-over")
    passphrase: str = Field(description="opens the file; shown once, stored nowhere")
    secrets_count: int
    exported_at: dt.datetime


class AcknowledgementIn(InputModel):
    acknowledged_at: AwareDatetime = Field(description="when the client confirmed receipt")
    acknowledgement: Acknowledgement = Field(
        description="who at the client confirmed receipt, and how (signed form, email, call)"
    )


class HandoverOut(OutputModel):
    id: int
    client: str
    recipient: str
    method: str
    secrets_count: int
    file_sha256: str
    exported_by: str
    exported_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledgement: str | None
    recorded_by: str | None


class PurgeIn(InputModel):
    dry_run: bool = Field(
        default=True, description="report what would be destroyed; send false to purge"
    )


class PurgeOut(OutputModel):
    client: str
    dry_run: bool
    secrets: int
    client_key_versions: int
    handover_id: int | None
    disposition_id: int | None
    audit_seq: int | None
    run_id: int | None = Field(
        default=None, description="the purge run whose certificate proves the purge"
    )
    previous_disposition_id: int | None = Field(
        default=None, description="when nothing is left: the disposition of an earlier purge"
    )
    message: str

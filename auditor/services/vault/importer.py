"""Import of a client's existing credentials from the CSV exports of common password managers.

Streamed row by row and sealed on arrival (the vault's envelope, one data key per value,
username and note). All or nothing by default: a bad row stops all writing, every bad row is
reported with its line number, and the savepoint is rolled back. Values, usernames and notes
never reach errors or the audit.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Organization, Secret
from auditor.models.vault import new_secret_ref
from auditor.schemas.common import field_errors
from auditor.schemas.vault import SecretIn
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from auditor.services.vault import keys as vault_keys
from auditor.services.vault import store
from auditor.services.vault.fields import seal_fields
from crypto.blind_index import BlindIndex
from crypto.keys import MasterKeyRing

MAX_REPORTED_ERRORS = 1000
BATCH_SIZE = 500
LASTPASS_SECURE_NOTE_URL = "http://sn"


@dataclass(frozen=True)
class CsvShape:
    """One export format: for each vault field, the columns that may carry it (first wins)."""

    name: str
    label: str
    marker: str  # the column that identifies the format
    columns: dict[str, tuple[str, ...]]

    def accepted(self) -> str:
        return f"{self.label} ({', '.join(c[0] for c in self.columns.values())})"


SHAPES = (
    CsvShape(
        "bitwarden",
        "Bitwarden",
        "login_password",
        {
            "name": ("name",),
            "username": ("login_username",),
            "value": ("login_password",),
            "url": ("login_uri",),
            "notes": ("notes",),
            "totp": ("login_totp",),
            "type": ("type",),
        },
    ),
    CsvShape(
        "lastpass",
        "LastPass",
        "extra",
        {
            "name": ("name",),
            "username": ("username",),
            "value": ("password",),
            "url": ("url",),
            "notes": ("extra",),
            "totp": ("totp",),
        },
    ),
    CsvShape(
        "generic",
        "Passportal, IT Glue and similar",
        "password",
        {
            "name": ("name",),
            "username": ("username",),
            "value": ("password",),
            "url": ("url",),
            "notes": ("notes",),
            "totp": ("totp", "otp_secret"),
        },
    ),
)
REQUIRED = ("name", "value")


def detect_shape(header: list[str]) -> tuple[CsvShape, dict[str, int]]:
    """The export format named by the header (case-insensitive) and each field's column index."""
    names = [column.strip().lower() for column in header]
    for shape in SHAPES:
        if shape.marker not in names or "name" not in names:
            continue
        index: dict[str, int] = {}
        for key, aliases in shape.columns.items():
            found = next((a for a in aliases if a in names), None)
            if found is not None:
                index[key] = names.index(found)
        if all(key in index for key in REQUIRED):
            return shape, index
    accepted = "; ".join(shape.accepted() for shape in SHAPES)
    raise ValidationFailed(
        "The CSV header matches no supported export.",
        [FieldError("header", f"expected the columns of {accepted}", 1)],
    )


@dataclass
class ImportResult:
    shape: str = ""
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    rejected_lines: list[tuple[int, list[FieldError]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "shape": self.shape,
            "rows": self.rows,
            "imported": self.imported,
            "rejected": self.rejected,
            "kinds": dict(sorted(self.kinds.items())),
        }


def _records(text: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each CSV record: quoted fields may span lines."""
    reader = csv.reader(text)
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if any(cell.strip() for cell in row):
                yield start, row
    except UnicodeDecodeError:
        raise ValidationFailed(
            "The file is not UTF-8 text.", [FieldError("file", "not valid UTF-8", last + 1)]
        ) from None
    except csv.Error as exc:
        raise ValidationFailed(
            "The file is not valid CSV.", [FieldError("file", str(exc), reader.line_num)]
        ) from None


_Item = dict[str, str | None]


class _Importer:
    def __init__(
        self,
        session: Session,
        ring: MasterKeyRing,
        org: Organization,
        shape: CsvShape,
        *,
        actor: Actor,
        skip_invalid: bool,
        notes_on_secret: bool,
    ) -> None:
        self.session, self.org, self.shape, self.actor = session, org, shape, actor
        self.skip_invalid, self.notes_on_secret = skip_invalid, notes_on_secret
        self.key = vault_keys.current_key(session, ring, org.id)
        assert self.key is not None
        self.index = BlindIndex(self.key)
        self.result = ImportResult(shape=shape.name)
        self.pending: list[Secret] = []
        self.now = utcnow()

    def row(self, line: int, index: dict[str, int], row: list[str]) -> None:
        self.result.rows += 1
        cell = {key: row[i] if i < len(row) else "" for key, i in index.items()}
        try:
            items = [(item, self._validate(item)) for item in self._items(cell)]
        except ValidationFailed as exc:
            self._reject(line, [self._located(e, line) for e in exc.errors])
            return
        if self.result.rejected and not self.skip_invalid:
            return  # all or nothing: keep validating only to report every bad row
        for item, data in items:
            self.pending.append(self._seal(data, item["value"] or ""))
            self.result.kinds[data.kind] += 1
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def _located(self, error: FieldError, line: int) -> FieldError:
        """Errors name the file's own column (``login_password``, not ``value``)."""
        column = self.shape.columns.get(error.field, (error.field,))[0]
        return FieldError(column, error.message, line)

    def _items(self, cell: dict[str, str]) -> list[_Item]:
        """One row becomes a password, a secure note, a TOTP seed or several of them."""
        name = cell.get("name", "").strip()
        base: _Item = {
            "name": name,
            "username": cell.get("username", "").strip() or None,
            "url": cell.get("url", "").strip() or None,
        }
        notes = cell.get("notes", "")
        value, totp = cell.get("value", ""), cell.get("totp", "").strip()
        kind = cell.get("type", "login").strip().lower() or "login"
        if self.shape.name == "lastpass" and base["url"] == LASTPASS_SECURE_NOTE_URL:
            kind, base["url"] = "note", None
        if kind == "note":
            if not notes.strip():
                raise ValidationFailed("empty note", [FieldError("notes", "the note is empty")])
            return [{**base, "kind": "note", "value": notes}]
        if kind != "login":
            raise ValidationFailed(
                "not a credential",
                [FieldError("type", "only login and note items are imported (not cards)")],
            )
        note_text = notes if notes.strip() else None
        items: list[_Item] = []
        if value:
            kept = note_text if self.notes_on_secret else None
            items.append({**base, "kind": "password", "value": value, "notes": kept})
        if totp:
            items.append({**base, "kind": "totp_seed", "value": totp, "name": f"{name} (TOTP)"})
        if not items:
            raise ValidationFailed(
                "no secret", [FieldError("value", "the row has neither a password nor a TOTP seed")]
            )
        if note_text and not self.notes_on_secret:
            # password-manager notes often hold recovery codes: a secret of their own, revealed
            # (and audited) on its own, not each time the password is
            items.append({**base, "kind": "note", "value": note_text, "name": f"{name} (notes)"})
        return items

    def _validate(self, item: _Item) -> SecretIn:
        """The API's own rules (lengths, kinds); errors name the column that holds the value."""
        try:
            return SecretIn.model_validate(item)
        except ValidationError as exc:
            source = {"totp_seed": "totp", "note": "notes"}.get(item["kind"] or "", "value")
            errors = [
                FieldError(source if e.field == "value" else e.field, e.message)
                for e in field_errors(exc)
            ]
            raise ValidationFailed("invalid row", errors) from None

    def _seal(self, data: SecretIn, value: str) -> Secret:
        """The raw value: a password's leading or trailing spaces are part of it."""
        assert self.key is not None
        ref = new_secret_ref()
        sealed = seal_fields(
            self.key, ref, value=value, username=data.username, notes=data.notes, index=self.index
        )
        return Secret(
            ref=ref,
            organization_id=self.org.id,
            name=data.name,
            kind=data.kind,
            url=data.url,
            **sealed,
            created_by=self.actor.name,
            created_at=self.now,
            updated_at=self.now,
            value_changed_at=self.now,
        )

    def _reject(self, line: int, errors: list[FieldError]) -> None:
        self.result.rejected += 1
        if len(self.result.rejected_lines) < MAX_REPORTED_ERRORS:
            self.result.rejected_lines.append((line, errors))
        if not self.skip_invalid:
            self.pending.clear()

    def flush(self) -> None:
        if self.pending:
            self.session.add_all(self.pending)
            self.session.flush()
            self.result.imported += len(self.pending)
            self.pending = []


def _import(
    session: Session,
    ring: MasterKeyRing,
    org: Organization,
    records: Iterator[tuple[int, list[str]]],
    skip_invalid: bool,
    notes_on_secret: bool,
    actor: Actor,
) -> ImportResult:
    first = next(records, None)
    if first is None:
        raise ValidationFailed("The file is empty.", [FieldError("header", "missing", 1)])
    shape, index = detect_shape(first[1])
    importer = _Importer(
        session,
        ring,
        org,
        shape,
        actor=actor,
        skip_invalid=skip_invalid,
        notes_on_secret=notes_on_secret,
    )
    with session.begin_nested():  # all or nothing even if the caller commits after an error
        for line, row in records:
            importer.row(line, index, row)
        result = importer.result
        if result.rejected and not skip_invalid:
            errors = [error for _, found in result.rejected_lines for error in found]
            raise ValidationFailed(
                f"{result.rejected} row(s) are not valid; nothing was imported.", errors
            )
        importer.flush()
    return result


def import_csv(
    session: Session,
    ring: MasterKeyRing,
    client_code: str,
    fh: IO[bytes],
    *,
    actor: Actor,
    skip_invalid: bool = False,
    notes_on_secret: bool = False,
) -> ImportResult:
    """Import the credentials in ``fh`` (a password manager's CSV export) into a client's vault.

    Bitwarden, LastPass and Passportal / IT Glue-like columns are recognised from the header.
    A row with a TOTP seed also yields a ``totp_seed`` secret. A login's notes become a ``note``
    secret of their own (revealed on its own), or with ``notes_on_secret`` the notes of the
    password's secret (revealed with it); sealed either way. Raises ValidationFailed with every
    bad line when a row is invalid, unless ``skip_invalid``.
    """
    org = session.scalar(select(Organization).where(Organization.code == client_code))
    if org is None:
        raise NotFound("No organization with that code.")
    store.require_access(session, actor, org.id, action="import", object_id=None)
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    try:
        result = _import(session, ring, org, _records(text), skip_invalid, notes_on_secret, actor)
    finally:
        text.detach()  # the caller owns (and closes) the binary file
    audit.record(
        session,
        actor=actor,
        action="vault.import",
        object_type="client_vault",
        object_id=org.code,
        organization_id=org.id,
        details=result.as_dict(),
    )
    return result

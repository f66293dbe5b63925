"""Severing other people's personal data from a record before it is disclosed (R8).

Inside a record's content, every string is searched for:

- email addresses that are not the subject's own (the subject's identifiers and the
  identifiers given in the request);
- phone numbers (North American forms, and ``+<country>`` numbers) that are not the subject's own;
- the display names of the other subjects linked to the same record (whole words, any case).

Each one becomes ``[redacted: third party]``, and each severing is recorded as a ``Redaction``
(record id, JSON path, kind) that never holds the value itself. Keys, numbers and booleans are
left as they are. This errs on the side of severing: an email of the organization's own staff
is severed too; a first name alone is not recognised (the officer reviews the package).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auditor.services.errors import ValidationFailed
from auditor.services.identifiers import normalize

REDACTED = "[redacted: third party]"

EMAIL = "email"
PHONE = "phone"
NAME = "name"

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# (514) 555-0101, 514-555-0101, 514.555.0101, 5145550101, +1 514 555 0101, 1-514-555-0101; and
# +44 20 7946 0958. Not inside longer digit runs, IP addresses or decimals.
_PHONE = re.compile(
    r"(?<![\w.+])"
    r"(?:(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-]?)\d{3}[ .-]?\d{4}"
    r"|\+\d{1,3}(?:[ .-]?\d){7,12})"
    r"(?![\w]|[.-]\d)"
)


@dataclass(frozen=True, slots=True)
class Redaction:
    """One severing: where it was and what kind of data it was; never the value."""

    record_id: int
    path: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "path": self.path, "kind": self.kind}

    @property
    def note(self) -> str:
        """The RequestItem note: JSON path and kind."""
        return f"{self.path} {self.kind}"


@dataclass(frozen=True, slots=True)
class OtherPerson:
    """What identifies another subject linked to a record: display name and identifier values."""

    name: str | None
    identifiers: tuple[tuple[str, str], ...] = ()


def _phone_key(text: str) -> str | None:
    try:
        return normalize("phone", text)
    except ValidationFailed:
        return None


def child_path(path: str, key: str) -> str:
    """``$.notes``, or ``$["odd key"]`` when the key is not a plain name."""
    if key.isidentifier():
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'


class Redactor:
    """Severs everything in a record's content that identifies someone other than the subject."""

    def __init__(self, own: Iterable[tuple[str, str]]) -> None:
        """``own``: the subject's (kind, value) identifiers, normalised or not."""
        self.own_emails: set[str] = set()
        self.own_phones: set[str] = set()
        for kind, value in own:
            if kind == EMAIL:
                self.own_emails.add(value.strip().lower())
            elif kind == PHONE and (key := _phone_key(value)) is not None:
                self.own_phones.add(key)
        self._names: dict[frozenset[str], re.Pattern[str] | None] = {}
        # the record being walked: its id, what was found, the path to the current value
        self._record_id = 0
        self._found: list[Redaction] = []
        self._path: list[str] = []
        self._names_now: re.Pattern[str] | None = None

    def names_pattern(self, others: Iterable[OtherPerson]) -> re.Pattern[str] | None:
        """One pattern for the other people's display names (cached per set of names)."""
        names = frozenset(p.name.strip() for p in others if p.name and len(p.name.strip()) > 1)
        if names not in self._names:
            if not names:
                self._names[names] = None
            else:
                ordered = sorted(names, key=len, reverse=True)  # longest first: "Ann Lee" > "Ann"
                alternatives = "|".join(re.escape(name) for name in ordered)
                self._names[names] = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return self._names[names]

    def redact(
        self, record_id: int, content: Any, others: Iterable[OtherPerson] = ()
    ) -> tuple[Any, list[Redaction]]:
        """The content with other people's data severed (the same object when nothing was), and
        one Redaction per severing."""
        found: list[Redaction] = []
        self._record_id, self._found, self._path = record_id, found, ["$"]
        self._names_now = self.names_pattern(others)
        return self._walk(content), found

    def _walk(self, value: Any) -> Any:
        # containers are copied only where something inside them was severed
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            changed: dict[Any, Any] | None = None
            for key, item in value.items():
                self._path.append(child_path("", str(key)))
                new = self._walk(item)
                self._path.pop()
                if new is not item:
                    changed = changed if changed is not None else dict(value)
                    changed[key] = new
            return value if changed is None else changed
        if isinstance(value, list):
            copied: list[Any] | None = None
            for index, item in enumerate(value):
                self._path.append(f"[{index}]")
                new = self._walk(item)
                self._path.pop()
                if new is not item:
                    copied = copied if copied is not None else list(value)
                    copied[index] = new
            return value if copied is None else copied
        return value

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        if self._names_now is not None:
            spans += [(m.start(), m.end(), NAME) for m in self._names_now.finditer(text)]
        if "@" in text:
            spans += [
                (m.start(), m.end(), EMAIL)
                for m in _EMAIL.finditer(text)
                if m.group().lower() not in self.own_emails
            ]
        spans += [
            (m.start(), m.end(), PHONE)
            for m in _PHONE.finditer(text)
            if _phone_key(m.group()) not in self.own_phones
        ]
        return spans

    def _text(self, text: str) -> str:
        spans = self._spans(text)
        if not spans:
            return text
        spans.sort(key=lambda span: (span[0], -span[1]))
        kept: list[tuple[int, int, str]] = []
        for start, end, kind in spans:
            # overlapping finds (a name inside an email) are severed once, as the longer kind
            if kept and start < kept[-1][1]:
                first, last, kept_kind = kept[-1]
                if end - start > last - first:
                    kept_kind = kind
                kept[-1] = (first, max(last, end), kept_kind)
                continue
            kept.append((start, end, kind))
        parts: list[str] = []
        position = 0
        for start, end, kind in kept:
            parts.append(text[position:start])
            parts.append(REDACTED)
            self._found.append(Redaction(self._record_id, "".join(self._path), kind))
            position = end
        parts.append(text[position:])
        return "".join(parts)

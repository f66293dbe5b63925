"""Readers of the PDFs the service writes: their text (what a person reads) and the JSON files
attached to them (PDF/A-3)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from pypdf import PdfReader


def pdf_text(pdf: bytes) -> str:
    """All the text of a PDF, page after page."""
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def flat_text(pdf: bytes) -> str:
    """The PDF's text with line breaks and runs of spaces folded into one space (table cells
    and long sentences wrap)."""
    return re.sub(r"\s+", " ", pdf_text(pdf)).strip()


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def attached_json(pdf: bytes, name: str) -> Any:
    """The JSON file ``name`` embedded in a PDF, parsed."""
    (data,) = PdfReader(io.BytesIO(pdf)).attachments[name]
    return json.loads(data)

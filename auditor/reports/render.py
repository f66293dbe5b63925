"""Report rendering: templates/reports/ through Jinja and WeasyPrint to PDF, local files only."""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

from auditor import paths
from auditor.reports.filters import FILTERS

#: Archival default: PDF/A-3b keeps fonts embedded and allows attached data files (the JSON
#: a report was made from), so a report stays readable and checkable without this service.
PDF_VARIANT = "pdf/a-3b"

#: Names render_pdf puts into every template's context; a caller's context may not set them.
_RESERVED = frozenset({"title", "identifier"})


class ReportError(Exception):
    """A report could not be rendered (unknown template, bad arguments)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file embedded in the PDF, e.g. the JSON data the report shows."""

    name: str
    data: bytes
    media_type: str = "application/json"
    description: str = ""
    #: PDF/A-3 AFRelationship: "Data" (what the report was made from), "Source", "Supplement"...
    relationship: str = "Data"


def reports_dir() -> Path:
    """The ``templates/reports/`` folder, with symlinks resolved."""
    return (paths.templates_dir() / "reports").resolve()


@functools.cache
def environment() -> jinja2.Environment:
    """The reports' own Jinja environment: every template autoescaped, undefined names fail.

    Record content in a report is untrusted input, so escaping is on whatever the file's
    extension; StrictUndefined turns a misspelt variable into an error instead of a blank.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(reports_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render_html(template_name: str | jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render ``templates/reports/<template_name>`` (or a template of ``environment()``) to HTML."""
    try:
        template = environment().get_template(template_name)
    except jinja2.TemplateNotFound as exc:
        raise ReportError(f"no report template named {template_name!r}") from exc
    return template.render(context)


class LocalFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves files under one folder and refuses everything else.

    Refused: every scheme but ``file:`` (so no http(s), ftp, ...), ``file:`` URLs with a host,
    and paths that resolve outside the folder (``..`` and symlinks are resolved first).
    ``data:`` is refused too: the templates ship their fonts, CSS and images as files, so a
    data URL could only come from record content reaching an attribute, and then it would
    feed attacker-chosen bytes to the image and font decoders. WeasyPrint logs a refused
    resource and renders without it; nothing is read or fetched.
    """

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = (root or reports_dir()).resolve()

    def resolve(self, url: str) -> Path:
        """The local file ``url`` names, or ValueError if it may not be served."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file":
            raise ValueError(f"refused to fetch a {parts.scheme or 'relative'}: URL")
        if parts.netloc not in ("", "localhost"):
            raise ValueError("refused to fetch a file: URL with a host")
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError("refused to fetch a file outside templates/reports")
        if not path.is_file():
            raise ValueError("refused to fetch a missing file or a folder")
        return path

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        path = self.resolve(url)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": media_type}
        )


class _BytesFetcher(URLFetcher):
    """Hands WeasyPrint one in-memory attachment with its media type (no file, no network)."""

    def __init__(self, attachment: Attachment) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.attachment = attachment

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        return URLFetcherResponse(
            url,
            body=self.attachment.data,
            headers={"Content-Type": self.attachment.media_type},
        )


def _to_weasyprint(attachment: Attachment, now: datetime) -> weasyprint.Attachment:
    # Going through a fetcher (rather than string=) is how WeasyPrint learns the media type;
    # otherwise it guesses one from the file name.
    return weasyprint.Attachment(
        url=f"attachment:{attachment.name}",
        url_fetcher=_BytesFetcher(attachment),
        name=attachment.name,
        description=attachment.description or None,
        relationship=attachment.relationship,
        created=now,
        modified=now,
    )


def render_pdf(
    template_name: str | jinja2.Template,
    context: Mapping[str, Any],
    *,
    title: str,
    attachments: Iterable[Attachment] = (),
    pdf_variant: str | None = PDF_VARIANT,
    identifier: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """Render a report template to PDF bytes.

    ``title`` becomes the PDF's title and the running header; ``identifier`` (a report
    number, say) is shown beside it. ``attachments`` are embedded files; with a PDF/A-3
    variant they are tied to the document as associated files. ``pdf_variant=None`` makes
    a plain PDF. ``now`` stamps the attachments (defaults to the current UTC time).
    """
    clash = _RESERVED & set(context)
    if clash:
        raise ReportError(f"context may not set {sorted(clash)}: pass them as arguments")
    if not title.strip():
        raise ReportError("a report needs a title")
    html = render_html(template_name, {**context, "title": title, "identifier": identifier})
    # WeasyPrint writes naive datetimes with a "Z" suffix, so hand it UTC without tzinfo.
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    fetcher = LocalFetcher()
    document = weasyprint.HTML(
        string=html,
        base_url=fetcher.root.as_uri() + "/",
        url_fetcher=fetcher,
    )
    pdf = document.write_pdf(
        pdf_variant=pdf_variant,
        attachments=[_to_weasyprint(a, stamp) for a in attachments],
    )
    assert isinstance(pdf, bytes)
    return pdf

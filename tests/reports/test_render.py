"""The PDF layer: escaping, local-only fetching, embedded fonts, page numbers, PDF/A-3 attachments."""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path
from typing import Any

import jinja2
import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from auditor import reports
from tests.factories import NOW, attached_json, pdf_text

REPORT = """{% extends "_base.html" %}{% import "_macros.html" as m %}
{% block body %}
{% call m.section("Summary") %}<p>{{ summary }}</p>{% endcall %}
{% call m.section("Breaches") %}{% for b in breaches %}<p>{{ b }}</p>{% endfor %}{% endcall %}
{{ m.kv_table(facts) }}
{{ m.data_table(["Record", "Rule", "Due"], rows) }}
{% endblock %}"""


def render(source: str, *, title: str = "Retention plan", **kwargs: Any) -> bytes:
    template = reports.environment().from_string(source)
    context = {
        "summary": "All clear.",
        "breaches": [],
        "facts": {"Organization": "Acme & Co", "Contact": None},
        "rows": [("R-1", "7 years", "2031-01-01")],
    }
    context.update(kwargs.pop("context", {}))
    return reports.render_pdf(template, context, title=title, now=NOW, **kwargs)


@pytest.fixture
def fetched(monkeypatch) -> list[str]:
    """URLs WeasyPrint asked for; and any attempt to open a network connection fails the test."""
    urls: list[str] = []
    original = reports.LocalFetcher.fetch

    def spy(self, url, headers=None):
        urls.append(url)
        return original(self, url, headers)

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(reports.LocalFetcher, "fetch", spy)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    return urls


def images_in(pdf: bytes) -> int:
    count = 0
    for page in PdfReader(io.BytesIO(pdf)).pages:
        xobjects = page["/Resources"].get("/XObject")
        if xobjects:
            count += sum(1 for x in xobjects.get_object().values() if x["/Subtype"] == "/Image")
    return count


def test_render_pdf_has_title_sections_tables_and_page_n_of_m():
    rows = [(f"R-{i}", "7 years", "2031-01-01") for i in range(40)]
    pdf = render(REPORT, identifier="RPT-2025-0007", context={"rows": rows})

    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) == 2
    assert "Page 1 of 2" in pages[0] and "Page 2 of 2" in pages[1]
    for page in pages:  # the running header repeats the title and the identifier
        assert "Retention plan" in page and "RPT-2025-0007" in page
    assert "Summary\nAll clear." in pages[0]
    assert "Breaches\nNone." in pages[0]
    assert "Organization Acme & Co" in pages[0] and "Contact —" in pages[0]
    assert "Record Rule Due" in pages[1]  # the header row repeats on the next page
    assert "R-0 7 years 2031-01-01" in pages[0] and "R-39 7 years 2031-01-01" in pages[1]


def test_untrusted_markup_in_context_is_text_and_fetches_nothing(fetched):
    hostile = '<script>alert(1)</script><img src=http://127.0.0.1:9/x.png> & "quotes"'
    context = {"summary": hostile, "breaches": [hostile], "facts": {hostile: hostile}}
    template = reports.environment().from_string(REPORT)

    html = reports.render_html(template, {**context, "rows": [], "title": hostile})
    assert "<script>" not in html and "<img src=http" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    pdf = render(REPORT, title=hostile, context=context)
    assert pdf_text(pdf).count("<script>alert(1)</script><img src=http://127.0.0.1:9/x.png>") >= 4
    assert PdfReader(io.BytesIO(pdf)).metadata.title == hostile
    assert not [url for url in fetched if not url.endswith(".ttf")]
    assert images_in(pdf) == 0


def test_remote_and_outside_resources_are_refused_and_rendering_goes_on(fetched, caplog):
    source = """{% extends "_base.html" %}{% block body %}
    <p>before</p>
    <img src="http://127.0.0.1:9/x.png"><img src="https://example.invalid/y.png">
    <img src="file:///etc/passwd"><img src="../../README.md"><img src="fonts/../../base.html">
    <img src="data:image/png;base64,iVBORw0KGgo=">
    <link rel="stylesheet" href="http://127.0.0.1:9/evil.css">
    <div style="background: url(file:///etc/hostname)"></div>
    <p>after</p>{% endblock %}"""
    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        pdf = render(source)

    text = pdf_text(pdf)
    assert "before" in text and "after" in text and "root:" not in text
    assert images_in(pdf) == 0
    refused = [url for url in fetched if not url.endswith(".ttf")]
    assert len(refused) == 8
    assert sum("refused to fetch" in r.getMessage() for r in caplog.records) == 8


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.invalid/y.png",
        "ftp://example.invalid/z",
        "data:text/plain,hello",
        "file:///etc/passwd",
        "file://otherhost/fonts/DejaVuSans.ttf",
        "{root}/../base.html",
        "{root}/fonts/../../../README.md",
        "{root}/fonts/missing.ttf",
        "{root}/fonts",
        "{root}/escape/passwd",
        "{root}/escape.ttf",
    ],
)
def test_local_fetcher_refuses(tmp_path, url):
    root = tmp_path / "reports"
    (root / "fonts").mkdir(parents=True)
    (root / "escape").symlink_to("/etc", target_is_directory=True)
    (root / "escape.ttf").symlink_to("/etc/hostname")
    fetcher = reports.LocalFetcher(root)

    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch(url.format(root=root.as_uri()))


def test_local_fetcher_serves_files_under_the_folder(tmp_path):
    root = tmp_path / "reports"
    (root / "img").mkdir(parents=True)
    (root / "img" / "logo file.png").write_bytes(b"\x89PNG")
    (root / "linked.png").symlink_to(root / "img" / "logo file.png")
    fetcher = reports.LocalFetcher(root)

    response = fetcher.fetch(f"{root.as_uri()}/img/logo%20file.png?v=1#x")
    assert response.read() == b"\x89PNG" and response.content_type == "image/png"
    response.close()
    assert fetcher.fetch(f"file://localhost{root}/linked.png").read() == b"\x89PNG"


def test_fonts_are_the_shipped_dejavu_and_embedded(fetched):
    pdf = render(REPORT, identifier="RPT-1", context={"summary": "Plain, <b>bold</b>"})

    served = sorted({Path(url.removeprefix("file://")).name for url in fetched})
    assert served == [
        "DejaVuSans-Bold.ttf",
        "DejaVuSans-Oblique.ttf",
        "DejaVuSans.ttf",
        "DejaVuSansMono.ttf",
    ]
    assert all(url.startswith(reports.reports_dir().as_uri() + "/fonts/") for url in fetched)
    fonts: dict[str, DictionaryObject] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].get_object().values():
            font = font.get_object()
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            fonts[str(font["/BaseFont"])] = font["/FontDescriptor"].get_object()
    # WeasyPrint names a font after its CSS family ("ABCDEF+Report-Sans-Bold"); the embedded
    # program itself must be DejaVu, and embedded (FontFile2 for TrueType).
    families = set()
    for name, descriptor in fonts.items():
        assert "/FontFile2" in descriptor, name
        program = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        families.add(program["name"].getDebugName(4))  # full font name
    # regular text, bold headings, italic "None.", the identifier in mono
    assert families == {
        "DejaVu Sans",
        "DejaVu Sans Bold",
        "DejaVu Sans Oblique",
        "DejaVu Sans Mono",
    }


def test_pdfa3_embeds_the_json_attachment_with_title_and_xmp():
    data = json.dumps({"records": [{"id": 1, "name": "Jane <Doe>"}]}).encode()
    attachment = reports.Attachment("plan.json", data, description="The plan as data")
    pdf = render(REPORT, identifier="RPT-9", attachments=[attachment])

    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["plan.json"]
    assert reader.attachments["plan.json"] == [data]
    assert attached_json(pdf, "plan.json") == {"records": [{"id": 1, "name": "Jane <Doe>"}]}
    assert reader.metadata.title == "Retention plan"
    xmp = reader.xmp_metadata
    assert xmp is not None and xmp.dc_title == {"x-default": "Retention plan"}
    rdf = xmp.rdf_root.toxml()
    assert 'pdfaid:part="3"' in rdf and 'pdfaid:conformance="B"' in rdf
    catalog = reader.trailer["/Root"]
    assert "/OutputIntents" in catalog  # sRGB output intent, required by PDF/A
    # (WeasyPrint 70 lists the file twice in /AF; both entries are the same file spec)
    (filespec,) = {f.idnum: f.get_object() for f in catalog["/AF"]}.values()
    assert filespec["/AFRelationship"] == "/Data" and filespec["/Desc"] == "The plan as data"
    embedded = filespec["/EF"]["/F"].get_object()
    assert embedded["/Subtype"] == "/application#2Fjson" or embedded["/Subtype"] == (
        "/application/json"
    )


def test_plain_pdf_variant_keeps_attachments_without_pdfa_claims():
    attachment = reports.Attachment("data.csv", b"a,b\n1,2\n", media_type="text/csv")
    pdf = render(REPORT, attachments=[attachment], pdf_variant=None)

    reader = PdfReader(io.BytesIO(pdf))
    assert reader.attachments["data.csv"] == [b"a,b\n1,2\n"]
    assert reader.xmp_metadata is None


def test_macros_show_none_for_empty_sections_and_tables():
    template = reports.environment().from_string(
        '{% import "_macros.html" as m %}'
        '{{ m.section("Nothing") }}'
        '{% call m.section("Blank") %}  \n {% endcall %}'
        '{% call m.section("Kept", level=3) %}<p>{{ x }}</p>{% endcall %}'
        "{{ m.kv_table([]) }}{{ m.kv_table([('A', 1), ('B', None)]) }}"
        '{{ m.data_table(["H"], []) }}{{ m.data_table(["H1", "H2"], [["<v>", None]]) }}'
    )
    html = template.render(x="<x>")

    assert html.count('<p class="none">None.</p>') == 4
    assert "<h3>Kept</h3>" in html and "<p>&lt;x&gt;</p>" in html
    assert '<th scope="row">B</th><td>—</td>' in html
    assert '<th scope="col">H2</th>' in html and "<td>&lt;v&gt;</td><td>—</td>" in html


def test_environment_is_strict_and_autoescapes_every_template():
    environment = reports.environment()
    assert environment is reports.environment()
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ missing }}").render()
    assert environment.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"
    assert Path(environment.loader.searchpath[0]) == reports.reports_dir()


def test_render_pdf_refuses_bad_arguments():
    with pytest.raises(reports.ReportError, match="no report template"):
        reports.render_pdf("no-such.html", {}, title="T")
    with pytest.raises(reports.ReportError, match="title"):
        reports.render_pdf("_base.html", {"title": "x"}, title="T")
    with pytest.raises(reports.ReportError, match="title"):
        reports.render_pdf("_base.html", {}, title="  ")


def test_shipped_fonts_come_with_their_license():
    fonts = reports.reports_dir() / "fonts"
    assert "Bitstream Vera" in (fonts / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert len(list(fonts.glob("*.ttf"))) == 4

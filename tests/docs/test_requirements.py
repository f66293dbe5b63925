"""docs/requirements.md defines every rule that is cited, says where each one stands, and names
only paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.markdown import ROOT, documents, name

REQUIREMENTS = ROOT / "docs" / "requirements.md"
CITING = ("auditor", "retention", "crypto", "templates", "docs")
RULE = re.compile(r"\bR(\d{1,2})\b")
RANGE = re.compile(r"\bR(\d{1,2})\s*-\s*R(\d{1,2})\b")
HEADING = re.compile(r"^### ((?:R|POL-|REV-|ENC-)\d+)$", re.MULTILINE)
# what each status of the summary table must say in the rule's own section
STATUS_MARKS = {
    "implemented": "Implemented",
    "in part": "*In part*",
    "not implemented yet": "*Not implemented yet",
    "not assigned": "Not assigned",
}
REPO_PATH = re.compile(r"`((?:auditor|retention|crypto|tests|templates|docs|bench)/[^`\s]*)`")


def text() -> str:
    return REQUIREMENTS.read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """Each rule id defined by a '### <id>' heading, with the text up to the next heading."""
    body = text()
    found = {}
    heads = list(HEADING.finditer(body))
    for index, head in enumerate(heads):
        end = heads[index + 1].start() if index + 1 < len(heads) else len(body)
        following = body.find("\n## ", head.end(), end)
        section = body[head.end() : following if following != -1 else end]
        found[head.group(1)] = " ".join(section.split())  # a line break is a space
    return found


def cited(source: str) -> set[str]:
    """Rule ids a text cites, ranges (R14-R23) counting as every rule in them."""
    ids = {f"R{number}" for number in RULE.findall(source)}
    for first, last in RANGE.findall(source):
        ids.update(f"R{number}" for number in range(int(first), int(last) + 1))
    return ids


def citing_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in CITING:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files.append(path)
    return files


def expand(cell: str) -> set[str]:
    """'R1-R13, R16, ENC-1-ENC-5 (...)' as the ids it names."""
    ids: set[str] = set()
    for prefix, first, last in re.findall(
        r"\b(R|POL-|REV-|ENC-)(\d+)(?:-(?:R|POL-|REV-|ENC-)(\d+))?", cell
    ):
        ids.update(f"{prefix}{n}" for n in range(int(first), int(last or first) + 1))
    return ids


def test_every_rule_id_cited_in_code_templates_or_docs_is_defined():
    defined = set(sections())
    missing = {}
    for path in citing_files():
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # fonts and other binary files
        unknown = cited(source) - defined
        if unknown:
            missing[name(path)] = sorted(unknown)
    assert not missing, f"rule ids cited but not defined in docs/requirements.md: {missing}"


def test_the_rules_r1_to_r37_are_all_defined_once():
    headings = HEADING.findall(text())
    assert len(headings) == len(set(headings))
    assert {f"R{n}" for n in range(1, 38)} <= set(headings)


@pytest.mark.parametrize("rule", sorted(sections()))
def test_each_rule_says_where_it_stands(rule):
    section = sections()[rule]
    assert any(mark in section for mark in STATUS_MARKS.values()), rule
    if "*Not implemented yet" not in section and "Not assigned" not in section:
        assert "`" in section, f"{rule} names no module or test"


def test_the_summary_table_agrees_with_the_sections():
    rows = re.findall(
        r"^\| (implemented|in part|not implemented yet|not assigned) \| (.+) \|$",
        text(),
        re.MULTILINE,
    )
    # every row's status is one of the four; a status no rule has any more has no row
    assert {status for status, _ in rows} <= set(STATUS_MARKS)
    assert "implemented" in {status for status, _ in rows}
    listed: dict[str, str] = {}
    for status, cell in rows:
        for rule in expand(cell):
            assert rule not in listed, f"{rule} is listed twice"
            listed[rule] = status
    assert set(listed) == set(sections())
    for rule, status in listed.items():
        section = sections()[rule]
        assert STATUS_MARKS[status] in section, f"{rule}: the summary says {status!r}"
        if status == "implemented":
            assert "*In part*" not in section and "*Not implemented yet" not in section, rule


@pytest.mark.parametrize("document", [name(path) for path in documents()])
def test_paths_the_documents_name_exist(document):
    missing = [
        path
        for path in REPO_PATH.findall((ROOT / document).read_text(encoding="utf-8"))
        if not any(c in path for c in "<>*{}[]") and not (ROOT / path.rstrip("/")).exists()
    ]
    assert not missing, f"{document} names paths that do not exist: {missing}"

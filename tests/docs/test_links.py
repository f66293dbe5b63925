"""No link of README.md or docs/ leaves the repository, and every link inside it resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.markdown import ROOT, documents, links, name

EXTERNAL = ("http://", "https://", "mailto:")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    seen: dict[str, int] = {}
    found = set()
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
        if inside or not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().replace("`", "").lower()
        slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def problems(path: Path, text: str | None = None) -> list[str]:
    """What is wrong with the links of the document at ``path`` (its text, unless given)."""
    found = []
    text = path.read_text(encoding="utf-8") if text is None else text
    if "../shared" in text or "shared/DOMAIN.md" in text:
        found.append("mentions ../shared (the rules are in docs/requirements.md)")
    for target in links(text):
        if target.startswith(EXTERNAL):
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(ROOT):
            found.append(f"{target}: leaves the repository")
        elif not resolved.exists():
            found.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            found.append(f"{target}: no heading #{fragment} in {name(resolved)}")
    return found


@pytest.mark.parametrize("document", [name(path) for path in documents()])
def test_links_stay_inside_the_repository_and_resolve(document):
    assert not problems(ROOT / document)


def test_links_out_of_the_repository_are_caught():
    page = ROOT / "docs" / "guide.md"
    text = "[rules](../../shared/DOMAIN.md), [up](../../x.md), [web](https://c2sp.org), [me](#top)"
    found = problems(page, text)
    assert any("leaves the repository" in p and "shared" in p for p in found)
    assert any(p.startswith("../../x.md: leaves") for p in found)
    assert "mentions ../shared (the rules are in docs/requirements.md)" in found
    assert not any("c2sp" in p for p in found)


def test_a_missing_file_or_heading_is_caught():
    page = ROOT / "docs" / "README.md"
    found = problems(
        page, "[a](nowhere.md) [b](retention.md#no-such-heading) [c](retention.md#holds-r19)"
    )
    assert found == [
        "nowhere.md: no such file",
        "retention.md#no-such-heading: no heading #no-such-heading in docs/retention.md",
    ]

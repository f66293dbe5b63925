"""Reading README.md and docs/: the documents, their fenced blocks and their links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```([A-Za-z0-9_-]*)\s*$")
NOT_RUN = re.compile(r"^<!-- not run: (?P<reason>.+?) -->$")
# [text](target) and [text]: target, the two link forms the documents use
INLINE_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)


def documents() -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Block:
    """A fenced block: its info string (``sh``, ``text``, ...), body and opening line (1-based)."""

    lang: str
    body: str
    line: int
    before: str  # the last non-blank line before the opening fence
    gap_after: bool  # False when only blank lines separate it from the next block


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a document, in order (fences at the start of a line only)."""
    lines = text.splitlines()
    found: list[tuple[str, int, int]] = []  # (lang, opening index, closing index)
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match:
            close = next(
                (j for j in range(index + 1, len(lines)) if lines[j].strip() == "```"), None
            )
            if close is None:
                raise ValueError(f"line {index + 1}: a fence that is never closed")
            found.append((match.group(1), index, close))
            index = close + 1
        else:
            index += 1
    result = []
    for position, (lang, start, end) in enumerate(found):
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        following = found[position + 1][1] if position + 1 < len(found) else len(lines)
        gap = any(lines[j].strip() for j in range(end + 1, following))
        body = "\n".join(lines[start + 1 : end]) + "\n"
        result.append(Block(lang, body, start + 1, before.strip(), gap or following == len(lines)))
    return result


def prose(text: str) -> str:
    """The document without its fenced blocks and inline code (what links can live in)."""
    kept, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line) or (inside and line.strip() == "```"):
            inside = not inside
            continue
        if not inside:
            kept.append(re.sub(r"`[^`]*`", "``", line))
    return "\n".join(kept)


def links(text: str) -> Iterator[str]:
    """Every link target of a document's prose."""
    body = prose(text)
    yield from INLINE_LINK.findall(body)
    yield from REFERENCE_LINK.findall(body)

"""Markdown knowledge bases: a heading per question, the body as the answer.

```
# Brightcart FAQ                              ← optional title (level 1, when entries use level 2)

## How long does delivery take? {#delivery-time}

Standard delivery takes 3–5 business days.

Also asked as:
- When will my order arrive?
- shipping time?

Tags: shipping
```

Entries are the level-2 headings (or the level-1 headings when there are no level-2 ones). ``{#id}``
names the entry; without it the id is made from the question. The ``Also asked as:`` (or
``Alternatives:``) list and the ``Tags:`` line are optional.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge_base.model import FaqEntry

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ID_SUFFIX = re.compile(r"\s*\{#([^}\s]+)\}\s*$")
_ALT_MARKER = re.compile(r"^\s*(also asked as|alternatives|alternative phrasings)\s*:\s*$", re.I)
_TAGS = re.compile(r"^\s*tags\s*:\s*(.*)$", re.I)
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")


def slug(text: str) -> str:
    """An id made from a question: lowercase words joined by ``-`` (at most 64 characters)."""
    words = re.findall(r"\w+", text.lower())
    return "-".join(words)[:64].strip("-") or "entry"


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of every heading outside fenced code blocks."""
    out, fenced = [], False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            out.append((i, len(match.group(1)), match.group(2)))
    return out


def markdown_rows(text: str) -> list[tuple[int, dict[str, Any], dict[str, int]]]:
    """Raw entries (line, data, field lines) for the loaders' validation."""
    lines = text.splitlines()
    headings = _headings(lines)
    level = 2 if any(h[1] == 2 for h in headings) else 1
    starts = [h for h in headings if h[1] == level]
    bounds = [h[0] for h in headings if h[1] <= level] + [len(lines)]
    rows = []
    for index, heading_level, heading in starts:
        del heading_level
        end = min(b for b in bounds if b > index)
        question, entry_id = heading, None
        match = _ID_SUFFIX.search(heading)
        if match:
            entry_id, question = match.group(1), heading[: match.start()].strip()
        answer_lines: list[str] = []
        alternatives: list[str] = []
        tags: list[str] = []
        fields = {"id": index + 1, "question": index + 1}
        in_alternatives = False
        for offset, line in enumerate(lines[index + 1 : end], start=index + 2):
            if _ALT_MARKER.match(line):
                in_alternatives = True
                fields["alternatives"] = offset
                continue
            tag_match = _TAGS.match(line)
            if tag_match:
                tags += [t.strip() for t in tag_match.group(1).split(",") if t.strip()]
                fields["tags"] = offset
                in_alternatives = False
                continue
            bullet = _BULLET.match(line)
            if in_alternatives and bullet:
                alternatives.append(bullet.group(1).strip())
                continue
            if in_alternatives and not line.strip():
                continue
            in_alternatives = False
            if line.strip() and "answer" not in fields:
                fields["answer"] = offset
            answer_lines.append(line)
        data: dict[str, Any] = {
            "id": entry_id or slug(question),
            "question": question,
            "answer": "\n".join(answer_lines).strip(),
            "alternatives": alternatives,
            "tags": tags,
        }
        rows.append((index + 1, data, fields))
    return rows


def to_markdown(entries: list[FaqEntry], title: str = "") -> str:
    parts = [f"# {title}\n"] if title else []
    for entry in entries:
        block = [f"## {entry.question} {{#{entry.id}}}", "", entry.answer.strip()]
        if entry.alternatives:
            block += ["", "Also asked as:", *(f"- {alt}" for alt in entry.alternatives)]
        if entry.tags:
            block += ["", f"Tags: {', '.join(entry.tags)}"]
        parts.append("\n".join(block) + "\n")
    return "\n".join(parts)

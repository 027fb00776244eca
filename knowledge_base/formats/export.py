"""Writing a knowledge base as YAML, JSONL, CSV or Markdown; every export loads back unchanged."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml

from common.errors import UserFacingError
from common.pii import mask
from knowledge_base.formats.markdown import to_markdown
from knowledge_base.model import KnowledgeBase

EXPORT_FORMATS = ("yaml", "jsonl", "csv", "md")


class ExportError(UserFacingError, ValueError):
    """A knowledge base that cannot be written in the asked format (the message says why)."""


_SUFFIX_FORMAT = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".md": "md",
    ".markdown": "md",
}


def format_for_path(path: str | Path) -> str:
    """The export format a file name implies; ExportError naming the supported ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX_FORMAT:
        raise ExportError(
            f"{path}: unknown format {suffix or '(none)'}; use .yaml, .jsonl, .csv or .md"
        )
    return _SUFFIX_FORMAT[suffix]


def export_knowledge_base(kb: KnowledgeBase, fmt: str) -> str:
    """The knowledge base as text in ``fmt`` (``yaml``, ``jsonl``, ``csv`` or ``md``).

    Only YAML holds the out-of-scope questions; the other formats hold the entries.
    """
    entries = list(kb.entries)
    if fmt == "yaml":
        data: dict = {"entries": [e.to_dict() for e in entries]}
        if kb.out_of_scope:
            # Customers' questions marked out of scope: an export leaves with its personal data
            # masked (the entries are the operators' own texts and stay as written).
            data["out_of_scope"] = list(dict.fromkeys(mask(t) for t in kb.out_of_scope))
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    if fmt == "jsonl":
        return "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in entries)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "question", "answer", "alternatives", "tags"])
        for e in entries:
            if any("|" in alt for alt in e.alternatives):
                raise ExportError(f"{e.id}: a phrasing contains '|', which CSV uses as separator")
            writer.writerow(
                [e.id, e.question, e.answer, "|".join(e.alternatives), ",".join(e.tags)]
            )
        return out.getvalue()
    if fmt in ("md", "markdown"):
        return to_markdown(entries, title=kb.name if kb.name != "knowledge base" else "")
    raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")

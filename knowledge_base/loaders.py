"""Load a knowledge base from YAML, JSONL or CSV; an invalid file is refused whole.

Every problem is reported as ``file:line: field: problem`` so an operator can fix the file directly.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from common.errors import UserFacingError
from knowledge_base.model import FaqEntry, KnowledgeBase, text_key

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 4000
MAX_PHRASING_CHARS = 500
_ID_RE = re.compile(r"^[^\s\x00-\x1f]{1,128}$")
SUPPORTED_SUFFIXES = (".yaml", ".yml", ".jsonl", ".csv", ".md", ".markdown")


class KnowledgeBaseError(UserFacingError, ValueError):
    """A knowledge-base file that cannot be used; ``problems`` lists every ``file:line: field: problem``.

    Shown to the operator who sent it; still a ``ValueError`` for callers that catch those.
    """

    def __init__(self, problems: list[str]) -> None:
        shown = "\n".join(problems[:50])
        more = f"\n… and {len(problems) - 50} more" if len(problems) > 50 else ""
        message = f"knowledge base refused ({len(problems)} problem(s)):\n{shown}{more}"
        super().__init__(message, problems)


@dataclass(frozen=True, slots=True)
class _Row:
    """One raw entry with the line it starts on and, where known, the line of each field."""

    line: int
    data: Any
    field_lines: dict[str, int]


def bundled_path(language: str = "en") -> Path:
    """The knowledge base shipped with the product (used when ``KB__PATH`` is not set).

    ``language="zh"``: its Simplified Chinese version (same entries, same ids).
    """
    name = "brightcart.yaml" if language == "en" else f"brightcart.{language}.yaml"
    return Path(str(resources.files("knowledge_base") / "data" / name))


def load_knowledge_base(path: str | Path) -> KnowledgeBase:
    """Read and validate a knowledge base file; raise KnowledgeBaseError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise KnowledgeBaseError([f"{path}: file not found"])
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise KnowledgeBaseError(
            [
                f"{path}: unsupported format {suffix or '(none)'}; use {', '.join(SUPPORTED_SUFFIXES)}"
            ]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise KnowledgeBaseError(
            [f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]
        ) from exc
    return parse_knowledge_base(text, suffix, source=str(path))


def parse_knowledge_base(text: str, suffix: str, source: str = "<input>") -> KnowledgeBase:
    """Validate knowledge-base text of the given format (``.yaml``, ``.jsonl``, ``.csv``, ``.md``)."""
    problems: list[str] = []
    out_of_scope: list[str] = []
    suffix = suffix.lower()
    if suffix in (".yaml", ".yml"):
        rows = _yaml_rows(text, source, problems, out_of_scope)
    elif suffix == ".jsonl":
        rows = _jsonl_rows(text, source, problems)
    elif suffix == ".csv":
        rows = _csv_rows(text, source, problems)
    elif suffix in (".md", ".markdown"):
        from knowledge_base.formats.markdown import markdown_rows

        rows = [_Row(line, data, fields) for line, data, fields in markdown_rows(text)]
    else:
        raise KnowledgeBaseError([f"{source}: unsupported format {suffix}"])
    entries = _validate(rows, source, problems)
    if not problems and not entries:
        problems.append(f"{source}:1: entries: the knowledge base has no entries")
    if problems:
        raise KnowledgeBaseError(sorted(problems, key=lambda p: _line_of(p, source)))
    return KnowledgeBase(
        entries=tuple(entries), name=Path(source).stem, out_of_scope=tuple(out_of_scope)
    )


def _line_of(problem: str, source: str) -> int:
    """The line number of a ``file:line: …`` problem (problems are reported in file order)."""
    head = problem[len(source) + 1 :].split(":", 1)[0]
    return int(head) if head.isdigit() else 0


def validate_entry(data: dict[str, Any], source: str = "entry") -> FaqEntry:
    """One entry from a dict (an edit from the CLI, Telegram or the console), or KnowledgeBaseError."""
    problems: list[str] = []
    entries = _validate([_Row(1, data, {})], source, problems)
    if problems:
        raise KnowledgeBaseError([p.replace(f"{source}:1: ", f"{source}: ", 1) for p in problems])
    return entries[0]


def validate_out_of_scope(text: Any, source: str = "out_of_scope") -> str:
    """One out-of-scope question (an edit or a line of a file), stripped, or KnowledgeBaseError."""
    if not isinstance(text, str) or not text.strip():
        raise KnowledgeBaseError([f"{source}: expected a non-empty question"])
    text = " ".join(text.split())
    if len(text) > MAX_PHRASING_CHARS:
        raise KnowledgeBaseError(
            [f"{source}: longer than {MAX_PHRASING_CHARS} characters ({len(text)})"]
        )
    return text


def _yaml_out_of_scope(node, source: str, problems: list[str], out: list[str]) -> None:
    """The optional top-level ``out_of_scope:`` list of a YAML knowledge base."""
    if not isinstance(node, yaml.SequenceNode):
        problems.append(
            f"{source}:{node.start_mark.line + 1}: out_of_scope: expected a list of questions"
        )
        return
    seen: dict[str, int] = {}
    for item in node.value:
        line = item.start_mark.line + 1
        value = item.value if isinstance(item, yaml.ScalarNode) else None
        try:
            text = validate_out_of_scope(value, f"{source}:{line}: out_of_scope")
        except KnowledgeBaseError as exc:
            problems.extend(exc.problems)
            continue
        key = text_key(text)
        if key in seen:
            problems.append(f"{source}:{line}: out_of_scope: {text!r} repeats line {seen[key]}")
            continue
        seen[key] = line
        out.append(text)


def _yaml_rows(text: str, source: str, problems: list[str], out_of_scope: list[str]) -> list[_Row]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problems.append(f"{source}:{line}: yaml: {getattr(exc, 'problem', None) or exc}")
        return []
    if root is None:
        return []
    entries_node = root
    if isinstance(root, yaml.MappingNode):
        entries_node = None
        for key, value in root.value:
            if key.value == "entries":
                entries_node = value
            elif key.value == "out_of_scope":
                _yaml_out_of_scope(value, source, problems, out_of_scope)
        if entries_node is None:
            problems.append(f"{source}:1: entries: missing top-level 'entries' list")
            return []
        data = data.get("entries")
    if not isinstance(entries_node, yaml.SequenceNode) or not isinstance(data, list):
        line = entries_node.start_mark.line + 1
        problems.append(f"{source}:{line}: entries: expected a list of entries")
        return []
    rows = []
    for node, item in zip(entries_node.value, data, strict=True):
        field_lines = {}
        if isinstance(node, yaml.MappingNode):
            field_lines = {k.value: v.start_mark.line + 1 for k, v in node.value}
        rows.append(_Row(node.start_mark.line + 1, item, field_lines))
    return rows


def _jsonl_rows(text: str, source: str, problems: list[str]) -> list[_Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(_Row(number, json.loads(line), {}))
        except json.JSONDecodeError as exc:
            problems.append(f"{source}:{number}: json: {exc.msg} (column {exc.colno})")
    return rows


CSV_COLUMNS = ("id", "question", "answer", "alternatives", "tags")


def _csv_rows(text: str, source: str, problems: list[str]) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in ("id", "question", "answer") if c not in header]
    if missing:
        problems.append(f"{source}:1: header: missing column(s) {', '.join(missing)}")
        return []
    rows = []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{source}:{reader.line_num}: csv: {exc}")
            break
        line = reader.line_num
        if None in record:
            problems.append(f"{source}:{line}: row: more values than columns")
            continue
        data: dict[str, Any] = {k: v for k, v in record.items() if k}
        data["alternatives"] = _split(record.get("alternatives") or "", "|")
        data["tags"] = _split(record.get("tags") or "", ",")
        rows.append(_Row(line, data, {}))
    return rows


def _split(value: str, sep: str) -> list[str]:
    return [part.strip() for part in value.split(sep) if part.strip()]


def _validate(rows: Iterable[_Row], source: str, problems: list[str]) -> list[FaqEntry]:
    entries: list[FaqEntry] = []
    first_line: dict[str, int] = {}
    for row in rows:
        before = len(problems)

        def bad(field: str, problem: str, row: _Row = row) -> None:
            problems.append(f"{source}:{row.field_lines.get(field, row.line)}: {field}: {problem}")

        if not isinstance(row.data, dict):
            problems.append(
                f"{source}:{row.line}: entry: expected an object with id/question/answer"
            )
            continue
        entry_id = _text_field(row.data, "id", bad, MAX_PHRASING_CHARS)
        question = _text_field(row.data, "question", bad, MAX_PHRASING_CHARS)
        answer = _text_field(row.data, "answer", bad, MAX_ANSWER_CHARS)
        alternatives = _list_field(row.data, "alternatives", bad)
        tags = _list_field(row.data, "tags", bad)
        if entry_id is not None and not _ID_RE.match(entry_id):
            bad("id", f"{entry_id!r} is not a valid id (no spaces, at most 128 characters)")
        elif entry_id is not None and entry_id in first_line:
            bad("id", f"duplicate id {entry_id!r} (first at line {first_line[entry_id]})")
        for alt in alternatives:
            if len(alt) > MAX_PHRASING_CHARS:
                bad("alternatives", f"a phrasing is longer than {MAX_PHRASING_CHARS} characters")
        if entry_id is not None:
            first_line.setdefault(entry_id, row.line)
        if len(problems) == before:
            entries.append(
                FaqEntry(
                    id=entry_id,  # type: ignore[arg-type]
                    question=question,  # type: ignore[arg-type]
                    answer=answer,  # type: ignore[arg-type]
                    alternatives=tuple(alternatives),
                    tags=tuple(tags),
                )
            )
    return entries


def _text_field(data: dict, name: str, bad, limit: int) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        bad(name, "missing or empty")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and name == "id":
        value = str(value)
    if not isinstance(value, str):
        bad(name, f"expected text, got {type(value).__name__}")
        return None
    value = value.strip()
    if len(value) > limit:
        bad(name, f"longer than {limit} characters ({len(value)})")
        return None
    return value


def _list_field(data: dict, name: str, bad) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        bad(name, "expected a list of texts")
        return []
    return [v.strip() for v in value if v.strip()]


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    """A customer query with the entry that answers it (None: out of scope, should escalate)."""

    text: str
    faq_id: str | None


def load_queries(path: str | Path) -> list[LabelledQuery]:
    """Read ``{"text", "faq_id"}`` JSONL rows (the evaluation format); refuse bad rows with their line."""
    path = Path(path)
    if not path.is_file():
        raise KnowledgeBaseError([f"{path}: file not found"])
    problems: list[str] = []
    queries: list[LabelledQuery] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: json: {exc.msg}")
            continue
        text = row.get("text") if isinstance(row, dict) else None
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{path}:{number}: text: missing or empty")
            continue
        faq_id = row.get("faq_id")
        if faq_id is not None and not isinstance(faq_id, str):
            problems.append(f"{path}:{number}: faq_id: expected text or null")
            continue
        queries.append(LabelledQuery(text=text.strip(), faq_id=faq_id))
    if problems:
        raise KnowledgeBaseError(problems)
    return queries


def load_out_of_scope(path: str | Path) -> list[str]:
    """Questions the bot should hand to a person rather than answer.

    A text file with one question per line (``#`` starts a comment line), or JSONL rows
    ``{"text": ...}`` whose ``faq_id`` is null or absent (rows with an entry id are refused: they
    are answerable, not out of scope).
    """
    path = Path(path)
    if not path.is_file():
        raise KnowledgeBaseError([f"{path}: file not found"])
    if path.suffix.lower() == ".jsonl":
        rows = load_queries(path)
        answerable = [q.text for q in rows if q.faq_id is not None]
        if answerable:
            raise KnowledgeBaseError(
                [f"{path}: faq_id: out-of-scope rows must have none (e.g. {answerable[0]!r})"]
            )
        return list(dict.fromkeys(q.text for q in rows))
    lines = path.read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(s for s in (x.strip() for x in lines) if s and s[0] != "#"))


class OutOfScopeFile:
    """An out-of-scope questions file followed by every bot process (hot reload)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int] | None = None

    def _stat(self) -> tuple[int, int]:
        try:
            stat = self.path.stat()
        except OSError:
            return (-1, -1)
        return (stat.st_mtime_ns, stat.st_size)

    def load(self) -> list[str]:
        """Read the questions now (``KnowledgeBaseError`` if the file cannot be used)."""
        self._seen = self._stat()
        return load_out_of_scope(self.path)

    def changed(self) -> list[str] | None:
        """The questions if the file changed since the last read (the first call reads it).

        None when it did not change — or when it cannot be read now: the questions already served
        stay, and the problem is logged once per change of the file.
        """
        if self._stat() == self._seen:
            return None
        try:
            return self.load()
        except KnowledgeBaseError as exc:
            log.warning(
                "out-of-scope questions not reloaded (%s); the previous ones stay",
                "; ".join(exc.problems),
            )
            return None


def load_with_training(
    kb_path: str | Path, train_path: str | Path | None
) -> tuple[KnowledgeBase, list[str]]:
    """The knowledge base with a training file's texts added as phrasings of their entries.

    Returns the knowledge base and the training texts marked out of scope (``faq_id: null``).
    """
    kb = load_knowledge_base(kb_path)
    out_of_scope: list[str] = []
    if train_path is None:
        return kb, out_of_scope
    extra: dict[str, list[str]] = {}
    unknown: set[str] = set()
    for row in load_queries(train_path):
        if row.faq_id is None:
            out_of_scope.append(row.text)
        elif row.faq_id in kb:
            extra.setdefault(row.faq_id, []).append(row.text)
        else:
            unknown.add(row.faq_id)
    if unknown:
        raise KnowledgeBaseError(
            [f"{train_path}: faq_id: unknown entry id(s): {', '.join(sorted(unknown)[:5])}"]
        )
    return kb.with_extra_phrasings(extra), out_of_scope

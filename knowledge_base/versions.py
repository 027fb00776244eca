"""The difference between two knowledge bases: entries added, removed and changed (field by field)."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge_base.model import FaqEntry, KnowledgeBase, text_key

FIELDS = ("question", "answer", "alternatives", "tags")


@dataclass(frozen=True, slots=True)
class EntryChange:
    """One entry present in both versions with different content."""

    before: FaqEntry
    after: FaqEntry

    @property
    def id(self) -> str:
        return self.after.id

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for f in FIELDS if getattr(self.before, f) != getattr(self.after, f))


@dataclass(frozen=True, slots=True)
class KbDiff:
    added: tuple[FaqEntry, ...]
    removed: tuple[FaqEntry, ...]
    changed: tuple[EntryChange, ...]
    out_of_scope_added: tuple[str, ...] = ()
    out_of_scope_removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.out_of_scope_added
            or self.out_of_scope_removed
        )

    @property
    def added_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.added)

    @property
    def removed_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.removed)

    @property
    def changed_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.changed)

    def summary(self, *, quote_texts: bool = True) -> str:
        """One line: entry ids per change, and the out-of-scope texts (or only their count)."""
        if self.empty:
            return "no changes"
        parts = []
        for label, ids in (
            ("added", self.added_ids),
            ("changed", self.changed_ids),
            ("removed", self.removed_ids),
        ):
            if ids:
                shown = ", ".join(ids[:5]) + (f" (+{len(ids) - 5})" if len(ids) > 5 else "")
                parts.append(f"{label} {len(ids)}: {shown}")
        for sign, texts in (("+", self.out_of_scope_added), ("-", self.out_of_scope_removed)):
            if texts and not quote_texts:
                parts.append(f"out of scope {sign}{len(texts)}")
            elif texts:
                shown = ", ".join(f"“{_short(t, 60)}”" for t in texts[:3])
                more = f" (+{len(texts) - 3})" if len(texts) > 3 else ""
                parts.append(f"out of scope {sign}{len(texts)}: {shown}{more}")
        return "; ".join(parts)

    def lines(self, limit: int = 200) -> list[str]:
        """A readable, line-per-change description (``+`` added, ``-`` removed, ``~`` changed)."""
        out: list[str] = []
        for entry in self.added:
            out.append(f"+ {entry.id}: {entry.question}")
        for entry in self.removed:
            out.append(f"- {entry.id}: {entry.question}")
        for change in self.changed:
            out.append(f"~ {change.id}:")
            for name in change.fields:
                before, after = getattr(change.before, name), getattr(change.after, name)
                if name in ("alternatives", "tags"):
                    gone = [x for x in before if x not in after]
                    new = [x for x in after if x not in before]
                    out += [f"    {name} - {x}" for x in gone] + [f"    {name} + {x}" for x in new]
                    if not gone and not new:
                        out.append(f"    {name}: reordered")
                else:
                    out.append(f"    {name}: {_short(before)} → {_short(after)}")
        out += [f"+ out of scope: {text}" for text in self.out_of_scope_added]
        out += [f"- out of scope: {text}" for text in self.out_of_scope_removed]
        if len(out) > limit:
            out = [*out[:limit], f"… and {len(out) - limit} more lines"]
        return out


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_knowledge_bases(old: KnowledgeBase, new: KnowledgeBase) -> KbDiff:
    """What changed from ``old`` to ``new`` (entries matched by id, out-of-scope questions by text;
    order changes are ignored)."""
    added = tuple(e for e in new.entries if e.id not in old)
    removed = tuple(e for e in old.entries if e.id not in new)
    changed = tuple(
        EntryChange(old[e.id], e) for e in new.entries if e.id in old and old[e.id] != e
    )
    before = {text_key(t) for t in old.out_of_scope}
    after = {text_key(t) for t in new.out_of_scope}
    return KbDiff(
        added,
        removed,
        changed,
        out_of_scope_added=tuple(t for t in new.out_of_scope if text_key(t) not in before),
        out_of_scope_removed=tuple(t for t in old.out_of_scope if text_key(t) not in after),
    )

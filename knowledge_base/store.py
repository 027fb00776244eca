"""The live knowledge base in Redis: every change is a new version with who, when and what.

Layout (all under ``<prefix>:kb:``): ``version`` (the live version number), ``snapshot:<n>`` (the
entries and out-of-scope questions of version ``n`` as JSON), ``versions`` (hash: number → who /
when / what). A change is computed from the live version and committed with WATCH/MULTI on
``version`` (redis-py's ``transaction``); when another operator committed in between, the change is
recomputed on top of theirs, so no update is ever lost. The models trained from it are published
in ``models`` (registry.py). Every commit is announced on the ``events`` channel; bot processes also
poll ``version`` (see bot/services/watcher.py).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from knowledge_base.keys import KbKeys
from knowledge_base.loaders import KnowledgeBaseError, validate_entry, validate_out_of_scope
from knowledge_base.model import FaqEntry, KnowledgeBase, text_key
from knowledge_base.registry import ModelRegistry
from knowledge_base.versions import KbDiff, diff_knowledge_bases

log = logging.getLogger(__name__)

DEFAULT_KEEP_VERSIONS = 100
COMPRESS_FROM_CHARS = 64 * 1024


class KbEditError(KnowledgeBaseError):
    """An edit that cannot be applied (unknown id, duplicate id, nothing to remove…)."""

    def __init__(self, problem: str | list[str]) -> None:
        super().__init__([problem] if isinstance(problem, str) else problem)

    def __str__(self) -> str:
        return "; ".join(self.problems)


@dataclass(frozen=True, slots=True)
class KbVersion:
    """One version of the knowledge base: who made it, when, and what changed."""

    number: int
    author: str
    at: float
    summary: str
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    entries: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> KbVersion:
        data = json.loads(raw)
        for name in ("added", "changed", "removed"):
            data[name] = tuple(data.get(name, ()))
        return cls(**data)


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a change did: the new version (None when nothing changed) and the difference."""

    version: KbVersion | None
    diff: KbDiff
    kb: KnowledgeBase = field(repr=False)

    @property
    def changed(self) -> bool:
        return self.version is not None


def _dump(kb: KnowledgeBase) -> str:
    """A version as JSON; large ones zlib-compressed (``z:`` + base64) to spare Redis.

    Without out-of-scope questions it is the list of entries (the layout of older versions), with
    them ``{"entries": [...], "out_of_scope": [...]}``.
    """
    entries = [e.to_dict() for e in kb.entries]
    data = (
        {"entries": entries, "out_of_scope": list(kb.out_of_scope)} if kb.out_of_scope else entries
    )
    text = json.dumps(data, ensure_ascii=False)
    if len(text) < COMPRESS_FROM_CHARS:
        return text
    return "z:" + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def _load(raw: str, name: str) -> KnowledgeBase:
    if raw.startswith("z:"):
        raw = zlib.decompress(base64.b64decode(raw[2:])).decode("utf-8")
    data = json.loads(raw)
    if isinstance(data, list):
        data = {"entries": data}
    entries = tuple(
        FaqEntry(
            id=d["id"],
            question=d["question"],
            answer=d["answer"],
            alternatives=tuple(d.get("alternatives", ())),
            tags=tuple(d.get("tags", ())),
        )
        for d in data["entries"]
    )
    return KnowledgeBase(
        entries=entries, name=name, out_of_scope=tuple(data.get("out_of_scope", ()))
    )


Change = Callable[[KnowledgeBase], KnowledgeBase]
# More writes for the commit's own MULTI (e.g. the records of what a batch added): they land
# together with the version, or not at all.
AlsoWrite = Callable[[Pipeline, "KbVersion"], None]


@dataclass(frozen=True, slots=True)
class PhrasingAdd:
    """One phrasing to add to one entry (``add_phrasings``)."""

    entry_id: str
    text: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What ``add_phrasings`` did: the commit, and per phrasing (in the order given) None when
    it was added, else why not (``unknown_entry``, ``duplicate``, ``out_of_scope``,
    ``invalid``)."""

    result: CommitResult
    skipped: tuple[str | None, ...]

    @property
    def added(self) -> int:
        return sum(reason is None for reason in self.skipped)


class KnowledgeBaseStore:
    """Versioned knowledge base over Redis; all edits go through ``commit``."""

    def __init__(
        self, redis: Redis, prefix: str, *, keep_versions: int = DEFAULT_KEEP_VERSIONS
    ) -> None:
        self.redis = redis
        self.keys = KbKeys(prefix)
        self.keep_versions = keep_versions
        self.models = ModelRegistry(redis, self.keys)
        self._cache: tuple[int, KnowledgeBase] | None = None

    # ------------------------------------------------------------------ reading

    async def live_version(self) -> int:
        """The live version number (0: no knowledge base stored yet)."""
        return int(await self.redis.get(self.keys.version()) or 0)

    async def current(self) -> tuple[int, KnowledgeBase | None]:
        number = await self.live_version()
        if number == 0:
            return 0, None
        return number, await self.at_version(number)

    async def at_version(self, number: int) -> KnowledgeBase:
        """The entries of version ``number``; KbEditError if it never existed or is no longer kept."""
        if self._cache is not None and self._cache[0] == number:
            return self._cache[1]
        raw = await self.redis.get(self.keys.snapshot(number))
        if raw is None:
            live = await self.live_version()
            if 1 <= number <= live:
                raise KbEditError(
                    f"version {number} is no longer kept (the last {self.keep_versions} are)"
                )
            raise KbEditError(f"no version {number} (the live version is {live})")
        kb = _load(raw, f"v{number}")
        self._cache = (number, kb)
        return kb

    async def history(self, limit: int = 20) -> list[KbVersion]:
        """The newest ``limit`` versions, newest first."""
        live = await self.live_version()
        numbers = [str(n) for n in range(live, max(0, live - limit), -1)]
        if not numbers:
            return []
        raw = await self.redis.hmget(self.keys.versions(), numbers)
        return [KbVersion.from_json(r) for r in raw if r]

    async def version_info(self, number: int) -> KbVersion | None:
        raw = await self.redis.hget(self.keys.versions(), str(number))
        return KbVersion.from_json(raw) if raw else None

    async def diff(self, a: int, b: int) -> KbDiff:
        return diff_knowledge_bases(await self.at_version(a), await self.at_version(b))

    # ------------------------------------------------------------------ writing

    async def commit(
        self,
        change: Change,
        author: str,
        summary: str | Callable[[], str],
        *,
        also: AlsoWrite | None = None,
    ) -> CommitResult:
        """Apply ``change`` to the live knowledge base as a new version (retried on conflict).

        ``change`` gets the live knowledge base (empty when none is stored) and returns the new
        one, or raises KbEditError; it may run more than once when operators edit concurrently.
        ``summary`` may be a function called after ``change`` (a summary that names what it
        did); ``also`` queues more writes in the same MULTI as the new version (not called when
        nothing changed).
        """
        version_key = self.keys.version()

        async def commit_on_live(pipe: Pipeline) -> CommitResult:
            live = int(await pipe.get(version_key) or 0)
            old = await self._read_in(pipe, live)
            new = change(old)
            _check_out_of_scope(new)
            difference = diff_knowledge_bases(old, new)
            if difference.empty:
                await pipe.unwatch()
                return CommitResult(None, difference, old)
            if not len(new):
                raise KbEditError("the knowledge base would have no entries left")
            number = live + 1
            version = KbVersion(
                number=number,
                author=author,
                at=time.time(),
                summary=summary() if callable(summary) else summary,
                added=difference.added_ids,
                changed=difference.changed_ids,
                removed=difference.removed_ids,
                entries=len(new),
            )
            pipe.multi()
            pipe.set(self.keys.snapshot(number), _dump(new))
            pipe.hset(self.keys.versions(), str(number), version.to_json())
            pipe.set(version_key, number)
            if number - self.keep_versions >= 1:
                pipe.delete(self.keys.snapshot(number - self.keep_versions))
            if also is not None:
                also(pipe, version)
            kb = KnowledgeBase(
                entries=new.entries, name=f"v{number}", out_of_scope=new.out_of_scope
            )
            return CommitResult(version, difference, kb)

        result = await self.redis.transaction(
            commit_on_live, version_key, value_from_callable=True
        )
        if result.version is not None:
            self._cache = (result.version.number, result.kb)
            # Announced after the commit (a cluster client refuses PUBLISH in a transaction); a
            # notification lost here only delays a reload: every watcher also polls the version.
            try:
                await self.redis.publish(self.keys.events(), result.version.to_json())
            except RedisError as exc:
                log.warning("knowledge base v%d not announced: %s", result.version.number, exc)
            log.info(
                "knowledge base v%d by %s: %s",
                result.version.number,
                author,
                result.diff.summary(),
            )
        return result

    async def _read_in(self, pipe: Pipeline, live: int) -> KnowledgeBase:
        if live == 0:
            return KnowledgeBase(entries=(), name="empty")
        if self._cache is not None and self._cache[0] == live:
            return self._cache[1]
        raw = await pipe.get(self.keys.snapshot(live))
        if raw is None:
            raise KbEditError(f"the live version {live} is missing from Redis")
        return _load(raw, f"v{live}")

    async def seed(self, kb: KnowledgeBase, author: str = "system") -> CommitResult | None:
        """Store ``kb`` as version 1 when Redis holds no knowledge base yet (first start)."""
        if await self.live_version():
            return None

        def first(old: KnowledgeBase) -> KnowledgeBase:
            return old if len(old) else kb

        return await self.commit(first, author, f"initial knowledge base from {kb.name}")

    async def import_kb(self, kb: KnowledgeBase, author: str, *, replace: bool) -> CommitResult:
        """Upsert every entry of ``kb`` by id (``replace``: also remove entries not in it).

        The file's out-of-scope questions join the stored ones; an import never removes one (most
        formats cannot hold them), they are removed one by one.
        """

        def merge(old: KnowledgeBase) -> KnowledgeBase:
            known = {text_key(t) for t in old.out_of_scope}
            questions = (
                *old.out_of_scope,
                *(t for t in kb.out_of_scope if text_key(t) not in known),
            )
            if replace:
                return kb.with_out_of_scope(questions)
            incoming = {e.id: e for e in kb.entries}
            kept = [incoming.pop(e.id, e) for e in old.entries]
            return old.with_entries((*kept, *incoming.values())).with_out_of_scope(questions)

        how = "replace" if replace else "merge"
        return await self.commit(merge, author, f"import {kb.name} ({how}, {len(kb)} entries)")

    async def add_entry(self, entry: FaqEntry, author: str) -> CommitResult:
        def add(old: KnowledgeBase) -> KnowledgeBase:
            if entry.id in old:
                raise KbEditError(f"id: an entry {entry.id!r} already exists")
            return old.with_entries((*old.entries, entry))

        return await self.commit(add, author, f"add {entry.id}")

    async def update_entry(
        self,
        entry_id: str,
        author: str,
        *,
        question: str | None = None,
        answer: str | None = None,
        alternatives: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> CommitResult:
        """Change the given fields of one entry (the others stay as they are at commit time)."""

        def update(old: KnowledgeBase) -> KnowledgeBase:
            current = _existing(old, entry_id)
            data = current.to_dict()
            for name, value in (
                ("question", question),
                ("answer", answer),
                ("alternatives", alternatives),
                ("tags", tags),
            ):
                if value is not None:
                    data[name] = value
            return _replace(old, _validated(data))

        return await self.commit(update, author, f"edit {entry_id}")

    async def delete_entry(self, entry_id: str, author: str) -> CommitResult:
        def delete(old: KnowledgeBase) -> KnowledgeBase:
            _existing(old, entry_id)
            return old.with_entries(e for e in old.entries if e.id != entry_id)

        return await self.commit(delete, author, f"delete {entry_id}")

    async def add_phrasing(self, entry_id: str, text: str, author: str) -> CommitResult:
        def add(old: KnowledgeBase) -> KnowledgeBase:
            current = _existing(old, entry_id)
            data = current.to_dict()
            data["alternatives"] = [*current.alternatives, text]
            return _replace(old, _validated(data))

        return await self.commit(add, author, f"add a phrasing to {entry_id}")

    async def add_phrasings(
        self,
        adds: Sequence[PhrasingAdd],
        author: str,
        *,
        also: Callable[[Pipeline, KbVersion, tuple[str | None, ...]], None] | None = None,
    ) -> BatchResult:
        """Add many phrasings as ONE version (e.g. a batch of learned ones). Each is validated
        like ``add_phrasing``; one whose entry went, that is already a phrasing of its entry (or
        came twice), that is listed as out of scope, or that the entry's rules refuse is skipped
        without failing the others. The summary names the count. ``also(pipe, version,
        skipped)`` queues more writes in the version's own MULTI."""
        skipped: list[str | None] = []

        def add(old: KnowledgeBase) -> KnowledgeBase:
            skipped.clear()
            kb = old
            out_of_scope = {text_key(t) for t in old.out_of_scope}
            for item in adds:
                current = kb.get(item.entry_id)
                if current is None:
                    skipped.append("unknown_entry")
                    continue
                if any(text_key(p) == text_key(item.text) for p in current.phrasings):
                    skipped.append("duplicate")
                    continue
                if text_key(item.text) in out_of_scope:
                    skipped.append("out_of_scope")
                    continue
                data = current.to_dict()
                data["alternatives"] = [*current.alternatives, item.text]
                try:
                    kb = _replace(kb, _validated(data))
                except KbEditError:
                    skipped.append("invalid")
                    continue
                skipped.append(None)
            return kb

        def summary() -> str:
            added = [a for a, reason in zip(adds, skipped, strict=True) if reason is None]
            entries = sorted({a.entry_id for a in added})
            if len(added) == 1:
                return f"add a phrasing to {entries[0]}"
            named = ", ".join(entries[:5]) + (
                f" and {len(entries) - 5} more" if len(entries) > 5 else ""
            )
            return f"add {len(added)} phrasings to {len(entries)} entries ({named})"

        def write_also(pipe: Pipeline, version: KbVersion) -> None:
            if also is not None:
                also(pipe, version, tuple(skipped))

        result = await self.commit(add, author, summary, also=write_also)
        return BatchResult(result, tuple(skipped))

    async def remove_phrasing(self, entry_id: str, text: str, author: str) -> CommitResult:
        def remove(old: KnowledgeBase) -> KnowledgeBase:
            current = _existing(old, entry_id)
            wanted = text_key(text)
            kept = [a for a in current.alternatives if text_key(a) != wanted]
            if len(kept) == len(current.alternatives):
                raise KbEditError(f"alternatives: {entry_id!r} has no phrasing {text!r}")
            data = current.to_dict() | {"alternatives": kept}
            return _replace(old, _validated(data))

        return await self.commit(remove, author, f"remove a phrasing from {entry_id}")

    async def add_out_of_scope(self, text: str, author: str) -> CommitResult:
        """Record a question that no entry answers (the bot hands it to a person)."""
        try:
            text = validate_out_of_scope(text)
        except KnowledgeBaseError as exc:
            raise KbEditError(exc.problems) from None

        def add(old: KnowledgeBase) -> KnowledgeBase:
            if not len(old):
                raise KbEditError("no knowledge base is stored yet; import one first")
            if any(text_key(t) == text_key(text) for t in old.out_of_scope):
                raise KbEditError(f"out_of_scope: {text!r} is already listed")
            return old.with_out_of_scope((*old.out_of_scope, text))

        return await self.commit(add, author, f"out of scope: {_clip(text)}")

    async def remove_out_of_scope(self, text: str, author: str) -> CommitResult:
        def remove(old: KnowledgeBase) -> KnowledgeBase:
            kept = tuple(t for t in old.out_of_scope if text_key(t) != text_key(text))
            if len(kept) == len(old.out_of_scope):
                raise KbEditError(f"out_of_scope: {text!r} is not listed")
            return old.with_out_of_scope(kept)

        return await self.commit(remove, author, f"no longer out of scope: {_clip(text)}")

    async def rollback(self, number: int, author: str) -> CommitResult:
        """A new version whose content is that of version ``number`` (history is never rewritten)."""
        target = await self.at_version(number)
        return await self.commit(lambda old: target, author, f"rollback to v{number}")


def _validated(data: dict) -> FaqEntry:
    try:
        return validate_entry(data, data["id"])
    except KnowledgeBaseError as exc:
        raise KbEditError(exc.problems) from None


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_out_of_scope(kb: KnowledgeBase) -> None:
    """A question cannot be both answered by an entry and listed as out of scope."""
    listed = {text_key(t): t for t in kb.out_of_scope}
    clashes = [
        f"out_of_scope: {listed[text_key(p)]!r} is also a phrasing of {e.id!r}; remove one of them"
        for e in kb.entries
        for p in e.phrasings
        if text_key(p) in listed
    ]
    if clashes:
        raise KbEditError(clashes)


def _existing(kb: KnowledgeBase, entry_id: str) -> FaqEntry:
    entry = kb.get(entry_id)
    if entry is None:
        raise KbEditError(f"id: no entry {entry_id!r}")
    return entry


def _replace(kb: KnowledgeBase, entry: FaqEntry) -> KnowledgeBase:
    return kb.with_entries(entry if e.id == entry.id else e for e in kb.entries)

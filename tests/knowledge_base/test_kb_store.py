"""The versioned knowledge base in the real Redis: edits, history, diff, rollback, concurrency."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from knowledge_base import FaqEntry
from knowledge_base.store import KbEditError, KnowledgeBaseStore, PhrasingAdd
from knowledge_base.suggestions import SuggestionStore
from tests.conftest import REDIS_URL, SMALL_KB


async def test_seed_once_then_every_change_is_a_version(kb_store: KnowledgeBaseStore) -> None:
    assert await kb_store.seed(SMALL_KB) is None  # already seeded: nothing happens
    entry = FaqEntry("gift-cards", "Do you sell gift cards?", "Yes, from €10.", ("gift card?",))
    added = await kb_store.add_entry(entry, "alice")
    edited = await kb_store.update_entry("gift-cards", "bob", answer="Yes, from €5.")
    phrased = await kb_store.add_phrasing("gift-cards", "voucher", "bob")
    deleted = await kb_store.delete_entry("payment-methods", "carol")
    assert [r.version.number for r in (added, edited, phrased, deleted)] == [2, 3, 4, 5]
    history = await kb_store.history()
    assert [(v.number, v.author) for v in history] == [
        (5, "carol"),
        (4, "bob"),
        (3, "bob"),
        (2, "alice"),
        (1, "system"),
    ]
    assert history[0].removed == ("payment-methods",) and history[3].added == ("gift-cards",)
    assert history[2].changed == ("gift-cards",) and history[0].at >= history[4].at
    version, live = await kb_store.current()
    assert version == 5 and "payment-methods" not in live
    assert live["gift-cards"].alternatives == ("gift card?", "voucher")
    # Nothing changed → no new version.
    same = await kb_store.update_entry("gift-cards", "bob", answer="Yes, from €5.")
    assert not same.changed and await kb_store.live_version() == 5


async def test_bad_edits_are_refused_and_change_nothing(kb_store: KnowledgeBaseStore) -> None:
    with pytest.raises(KbEditError, match="already exists"):
        await kb_store.add_entry(SMALL_KB.entries[0], "alice")
    with pytest.raises(KbEditError, match="no entry 'nope'"):
        await kb_store.delete_entry("nope", "alice")
    with pytest.raises(KbEditError, match="answer: missing or empty"):
        await kb_store.update_entry("return-item", "alice", answer="  ")
    with pytest.raises(KbEditError, match="no phrasing"):
        await kb_store.remove_phrasing("return-item", "never said", "alice")
    assert await kb_store.live_version() == 1


async def test_diff_and_rollback(kb_store: KnowledgeBaseStore) -> None:
    await kb_store.update_entry("return-item", "alice", answer="Returns take 14 days now.")
    await kb_store.delete_entry("reset-password", "alice")
    diff = await kb_store.diff(1, 3)
    assert diff.changed_ids == ("return-item",) and diff.removed_ids == ("reset-password",)
    assert diff.changed[0].fields == ("answer",)
    assert any("Returns take 14 days now." in line for line in diff.lines())
    back = await kb_store.rollback(1, "bob")
    assert back.version.number == 4 and back.version.summary == "rollback to v1"
    _, live = await kb_store.current()
    assert live.entries == SMALL_KB.entries
    assert (await kb_store.diff(1, 4)).empty
    with pytest.raises(KbEditError, match="no version 9"):
        await kb_store.rollback(9, "bob")


async def test_import_merges_by_id_or_replaces(kb_store: KnowledgeBaseStore) -> None:
    from knowledge_base import KnowledgeBase

    changed = FaqEntry("return-item", "How do I return an item?", "New returns answer.")
    new = FaqEntry("warranty", "How long is the warranty?", "Two years.")
    upload = KnowledgeBase((changed, new), name="upload")
    merged = await kb_store.import_kb(upload, "alice", replace=False)
    assert merged.diff.added_ids == ("warranty",) and merged.diff.changed_ids == ("return-item",)
    assert len(merged.kb) == len(SMALL_KB) + 1
    again = await kb_store.import_kb(upload, "alice", replace=False)
    assert not again.changed  # a re-upload makes no duplicates and no version
    replaced = await kb_store.import_kb(upload, "alice", replace=True)
    assert [e.id for e in replaced.kb] == ["return-item", "warranty"]


async def test_concurrent_edits_from_two_operators_lose_nothing(
    kb_store: KnowledgeBaseStore, key_prefix: str
) -> None:
    """Two operators (two connections) edit the same entry at once: every edit survives."""
    other = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        second = KnowledgeBaseStore(other, key_prefix)

        async def operator(store: KnowledgeBaseStore, name: str) -> None:
            for i in range(8):
                await store.add_phrasing("delivery-time", f"{name} phrasing {i}", name)

        await asyncio.gather(operator(kb_store, "alice"), operator(second, "bob"))
    finally:
        await other.aclose()
    version, live = await kb_store.current()
    assert version == 1 + 16
    alternatives = live["delivery-time"].alternatives
    for name in ("alice", "bob"):
        assert all(f"{name} phrasing {i}" in alternatives for i in range(8))
    authors = [v.author for v in await kb_store.history(limit=16)]
    assert authors.count("alice") == 8 and authors.count("bob") == 8


async def test_suggestion_approved_once_becomes_an_entry(
    kb_store: KnowledgeBaseStore, redis_client: Redis, key_prefix: str
) -> None:
    suggestions = SuggestionStore(redis_client, key_prefix)
    first = await suggestions.create(
        "Can I pick up my order in a store?",
        "Yes, in any of our 12 stores.",
        "agent Dana",
        ticket_id="7",
    )
    assert [s.id for s in await suggestions.pending()] == [first.id]
    results = await asyncio.gather(
        suggestions.approve(first.id, kb_store, "alice"),
        suggestions.approve(first.id, kb_store, "bob"),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    assert len(ok) == 1 and "already" in str(next(r for r in results if isinstance(r, Exception)))
    approved, result = ok[0]
    assert approved.entry_id == "can-i-pick-up-my-order-in-a-store"
    assert result.version.added == (approved.entry_id,)
    assert await suggestions.pending() == []
    second = await suggestions.create("collect in shop?", "Yes.", "agent Dana")
    approved, result = await suggestions.approve(
        second.id, kb_store, "alice", entry_id=approved.entry_id
    )
    _, live = await kb_store.current()
    assert "collect in shop?" in live[approved.entry_id].alternatives
    third = await suggestions.create("spam", "spam", "agent Dana")
    assert (await suggestions.reject(third.id, "alice")).status == "rejected"


async def test_old_versions_expire_and_large_ones_are_compressed(
    redis_client: Redis, key_prefix: str
) -> None:
    from knowledge_base import KnowledgeBase

    store = KnowledgeBaseStore(redis_client, key_prefix, keep_versions=3)
    big = KnowledgeBase(
        tuple(FaqEntry(f"e{i}", f"Question number {i}?", "An answer. " * 20) for i in range(300))
    )
    await store.seed(big)
    raw = await redis_client.get(store.keys.snapshot(1))
    assert raw.startswith("z:") and len(raw) < 64 * 1024
    for i in range(4):
        await store.update_entry("e0", "alice", answer=f"Answer {i}.")
    assert await store.live_version() == 5
    with pytest.raises(KbEditError, match="version 2 is no longer kept"):
        await store.rollback(2, "alice")
    assert len(await store.history(limit=10)) == 5  # the audit trail stays complete
    fresh = KnowledgeBaseStore(redis_client, key_prefix)  # no cache: read from Redis
    assert (await fresh.at_version(3))["e0"].answer == "Answer 1."
    assert len(await fresh.at_version(5)) == 300


async def test_out_of_scope_questions_are_versioned_with_the_entries(
    kb_store: KnowledgeBaseStore, redis_client: Redis, key_prefix: str
) -> None:
    from knowledge_base import KnowledgeBase

    added = await kb_store.add_out_of_scope("  Where can I eat near   your store? ", "alice")
    assert added.version.number == 2 and added.kb.out_of_scope == (
        "Where can I eat near your store?",
    )
    assert added.diff.out_of_scope_added == ("Where can I eat near your store?",)
    assert "out of scope +1" in added.diff.summary()
    await kb_store.add_out_of_scope("Do you sell cars?", "bob")
    # Bad input is refused and changes nothing.
    with pytest.raises(KbEditError, match="already listed"):
        await kb_store.add_out_of_scope("where can i eat near your STORE?", "bob")
    with pytest.raises(KbEditError, match="is also a phrasing of 'return-item'"):
        await kb_store.add_out_of_scope("return policy", "bob")
    with pytest.raises(KbEditError, match="expected a non-empty question"):
        await kb_store.add_out_of_scope("   ", "bob")
    with pytest.raises(KbEditError, match="longer than 500"):
        await kb_store.add_out_of_scope("x" * 501, "bob")
    with pytest.raises(KbEditError, match="is not listed"):
        await kb_store.remove_out_of_scope("never listed", "bob")
    # An entry edit that would answer a listed question is refused too.
    with pytest.raises(KbEditError, match="'Do you sell cars\\?' is also a phrasing"):
        await kb_store.add_phrasing("payment-methods", "do you sell cars?", "carol")
    assert await kb_store.live_version() == 3
    # Entry edits keep the list; a fresh reader (no cache) sees it from Redis.
    await kb_store.update_entry("return-item", "carol", answer="Returns take 14 days now.")
    fresh = KnowledgeBaseStore(redis_client, key_prefix)
    _, live = await fresh.current()
    assert live.out_of_scope == ("Where can I eat near your store?", "Do you sell cars?")
    removed = await kb_store.remove_out_of_scope("DO YOU SELL CARS?", "alice")
    assert removed.diff.out_of_scope_removed == ("Do you sell cars?",)
    assert "- out of scope: Do you sell cars?" in removed.diff.lines()
    # Rollback brings a version's list back; an import adds to the list, never drops from it.
    back = await kb_store.rollback(3, "alice")
    assert back.kb.out_of_scope == ("Where can I eat near your store?", "Do you sell cars?")
    upload = KnowledgeBase(SMALL_KB.entries[:2], name="upload", out_of_scope=("Any jobs?",))
    replaced = await kb_store.import_kb(upload, "bob", replace=True)
    assert len(replaced.kb) == 2 and replaced.kb.out_of_scope == (
        "Where can I eat near your store?",
        "Do you sell cars?",
        "Any jobs?",
    )
    # Versions stored before the list existed (a bare JSON list of entries) still load.
    assert (await fresh.at_version(1)).out_of_scope == ()


async def test_many_phrasings_are_one_version_and_bad_ones_are_skipped_alone(
    kb_store: KnowledgeBaseStore, redis_client: Redis, key_prefix: str
) -> None:
    await kb_store.add_out_of_scope("do you sell cars?", "ops")  # v2
    adds = [
        PhrasingAdd("return-item", "money back please"),
        PhrasingAdd("payment-methods", "can I pay by card"),
        PhrasingAdd("no-such-entry", "anything"),  # the entry went
        PhrasingAdd("return-item", "RETURN POLICY"),  # already a phrasing
        PhrasingAdd("return-item", "money  back please"),  # twice in the batch
        PhrasingAdd("payment-methods", "Do you sell cars?"),  # listed as out of scope
        PhrasingAdd("payment-methods", "x" * 501),  # refused by the entry's rules
        PhrasingAdd("delivery-time", "when does it arrive"),
    ]
    written: list[int] = []

    def also(pipe, version, skipped) -> None:
        written.append(version.number)
        pipe.set(f"{key_prefix}:test:also", ",".join(str(r) for r in skipped))

    batch = await kb_store.add_phrasings(adds, "learned", also=also)
    assert batch.skipped == (
        None,
        None,
        "unknown_entry",
        "duplicate",
        "duplicate",
        "out_of_scope",
        "invalid",
        None,
    )
    assert batch.added == 3 and batch.result.version.number == 3 == written[-1]
    info = await kb_store.version_info(3)
    assert info.author == "learned" and info.summary.startswith("add 3 phrasings to 3 entries")
    assert set(info.changed) == {"return-item", "payment-methods", "delivery-time"}
    # The extra writes landed in the version's own MULTI.
    assert await redis_client.get(f"{key_prefix}:test:also") == (
        "None,None,unknown_entry,duplicate,duplicate,out_of_scope,invalid,None"
    )
    _, live = await kb_store.current()
    assert live["return-item"].alternatives[-1] == "money back please"
    assert live["payment-methods"].alternatives[-1] == "can I pay by card"
    # Nothing left to add: no version, and ``also`` is not called.
    again = await kb_store.add_phrasings(adds[:2], "learned", also=also)
    assert not again.result.changed and again.skipped == ("duplicate", "duplicate")
    assert written == [3] and await kb_store.live_version() == 3
    one = await kb_store.add_phrasings([PhrasingAdd("return-item", "refund")], "learned")
    assert (await kb_store.version_info(4)).summary == "add a phrasing to return-item"
    assert one.added == 1

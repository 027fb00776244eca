"""Shared fixtures: the real Redis with a private key prefix, the real embedding model, small KBs."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.store import Stores
from knowledge_base import FaqEntry, KnowledgeBase
from knowledge_base.store import KnowledgeBaseStore
from retrieval import FaqRetriever, SentenceTransformerEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The sending path's retries at test speed: a test that stops its fake Bot API while a handler is
# still sending should not wait out production backoffs (tests that check retries set their own).
os.environ.setdefault("SENDING__BACKOFF_S", "0.01")
os.environ.setdefault("SENDING__MAX_BACKOFF_S", "0.05")
# A bot started by a test serves no metrics port (tests that check metrics start their own).
os.environ.setdefault("METRICS__PORT", "0")

REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


_PREFIXES_USED: set[str] = set()


@pytest.fixture(scope="session", autouse=True)
def _sweep_test_keys() -> Iterator[None]:
    """At the end of the run, remove test keys written after their test's own clean-up (a
    handler still sending when its test's fake Bot API stopped keeps the message in Redis)."""
    yield
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        for prefix in _PREFIXES_USED:
            for key in client.scan_iter(match=f"{prefix}*", count=500):
                client.delete(key)
    except redis.RedisError:
        pass
    finally:
        client.close()


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    prefix = f"supportbot-test-{uuid.uuid4().hex[:10]}"
    _PREFIXES_USED.add(prefix)
    return prefix


@pytest.fixture
async def redis_client(key_prefix: str) -> AsyncIterator[Redis]:
    """A client of the real Redis; every key under the test's prefix is deleted afterwards."""
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - environment problem, not a test failure
        pytest.fail(f"the tests need Redis at {REDIS_URL}: {exc}")
    yield client
    async for key in client.scan_iter(match=f"{key_prefix}*", count=500):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
async def stores(redis_client: Redis, key_prefix: str) -> Stores:
    return Stores.build(redis_client, key_prefix, history_ttl_hours=1, history_max_turns=20)


SMALL_KB = KnowledgeBase(
    entries=(
        FaqEntry(
            "delivery-time",
            "How long does delivery take?",
            "Standard delivery takes 3–5 business days; express takes 1–2 days for €9.90.",
            (
                "When will my order arrive?",
                "shipping time?",
                "how many days until my parcel comes",
            ),
            ("shipping",),
        ),
        FaqEntry(
            "return-item",
            "How do I return an item?",
            "You can return any item within 30 days at https://shop.example/returns.",
            ("I want to send something back", "return policy", "how can I return my purchase"),
            ("returns",),
        ),
        FaqEntry(
            "reset-password",
            "How do I reset my password?",
            "Tap “Forgot password” on the sign-in page; the link is valid for 60 minutes.",
            ("I forgot my password", "can't log in, need new password", "password reset link"),
            ("account",),
        ),
        FaqEntry(
            "payment-methods",
            "Which payment methods do you accept?",
            "We accept Visa, Mastercard, PayPal, Apple Pay and Google Pay.",
            ("can I pay with paypal", "what cards do you take", "payment options"),
            ("payments",),
        ),
    ),
    name="small",
)


@pytest.fixture
def small_kb() -> KnowledgeBase:
    return SMALL_KB


@pytest.fixture
async def kb_store(redis_client: Redis, key_prefix: str) -> KnowledgeBaseStore:
    """The knowledge base in the real Redis, seeded with SMALL_KB (version 1)."""
    store = KnowledgeBaseStore(redis_client, key_prefix)
    await store.seed(SMALL_KB)
    return store


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2 from its PyPI package, loaded once per test session."""
    model = SentenceTransformerEmbedder()
    model.warm_up()
    return model


@pytest.fixture
def retriever(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> FaqRetriever:
    r = FaqRetriever(embedder, cache_dir=tmp_path / "index-cache")
    r.load(SMALL_KB)
    return r

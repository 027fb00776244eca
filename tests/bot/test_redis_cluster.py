"""Redis Cluster: every key of a deployment in one hash slot, and our transactions on a real cluster.

On a cluster (``REDIS__CLUSTER=true``) the key prefix is the hash tag ``{prefix}`` (see
bot/store/keys.py), so a MULTI/EXEC, a script or a WATCH transaction that spans a chat's, a
ticket's and the deployment's global keys keeps to one slot. Off a cluster the names are unchanged.

The integration tests start a cluster of their own (three masters on free ports, see
tests/support/redis_cluster.py) and skip where ``redis-server`` / ``redis-cli`` are missing.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from limits import parse
from redis.asyncio import Redis
from redis.crc import key_slot

from bot.inbox import GROUP, FsmStorage, LeasedEventIsolation, UpdateInbox
from bot.sending import OutgoingLimiter
from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.settings import InboxSettings, SendingSettings
from bot.store import AnswerRecord, Keys, Stores, TicketStatus, Turn, TurnRole, key_prefix
from bot.store import connect_redis as connect
from knowledge_base import FaqEntry, KnowledgeBase
from knowledge_base.gaps import GapLog
from knowledge_base.keys import KbKeys
from knowledge_base.store import KnowledgeBaseStore
from knowledge_base.suggestions import SuggestionStore
from tests.support.bot_processes import worker
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI
from tests.support.redis_cluster import RedisCluster, running_cluster

# ---------------------------------------------------------------------- key names


def _sample(parameter: inspect.Parameter) -> int | str:
    return -1001234567890 if "int" in str(parameter.annotation) else "17"


def _every_key(owner: object) -> dict[str, str]:
    """Every key (or key prefix) ``owner``'s public methods build, called with sample arguments."""
    built = {}
    for name, method in inspect.getmembers(owner, inspect.ismethod):
        if not name.startswith("_"):
            args = [_sample(p) for p in inspect.signature(method).parameters.values()]
            built[name] = method(*args)
    return built


def _library_keys(keys: Keys) -> list[str]:
    """Keys the libraries build from our prefixes: aiogram's FSM state, data and chat lock, and
    the ``limits`` moving windows of the sending path."""
    builder = DefaultKeyBuilder(prefix=keys.fsm_prefix(), with_destiny=True)
    chat = StorageKey(bot_id=42, chat_id=-100123, user_id=7, thread_id=3)
    fsm = [builder.build(chat, part) for part in ("state", "data", "lock")]
    limiter = OutgoingLimiter(Redis(), keys, SendingSettings())  # no connection is made
    bridge = limiter.limiter.storage.bridge
    limits = [bridge.prefixed_key(parse("1/second").key_for(f"chat:{n}")) for n in (1, -100123)]
    return fsm + limits


def test_on_a_cluster_every_key_of_a_deployment_hashes_to_one_slot() -> None:
    prefix = key_prefix("acme", cluster=True)
    assert prefix == "{acme}"
    keys = Keys(prefix)
    bot_keys, kb_keys = _every_key(keys), _every_key(KbKeys(prefix))
    assert {"history", "ticket", "open_tickets", "inbox", "fsm_prefix"} <= bot_keys.keys()
    assert {"version", "snapshot", "events", "retrain_lock"} <= kb_keys.keys()
    names = [*bot_keys.values(), *kb_keys.values(), *_library_keys(keys)]
    assert all(name.startswith("{acme}:") for name in names), names
    assert {key_slot(name.encode()) for name in names} == {key_slot(b"acme")}
    # another deployment on the same cluster may live on another shard
    assert key_slot(Keys(key_prefix("globex", cluster=True)).history(1).encode()) != key_slot(
        b"acme"
    )


def test_off_a_cluster_the_names_are_unchanged() -> None:
    assert key_prefix("supportbot") == key_prefix("supportbot:") == "supportbot"
    keys = Keys(key_prefix("supportbot"))
    assert keys.history(5) == "supportbot:conv:5"
    assert keys.ticket("9") == "supportbot:ticket:9"
    assert keys.open_tickets() == "supportbot:tickets:open"
    assert keys.fsm_prefix() == "supportbot:fsm"
    assert keys.rate_limits() == "supportbot:outbox:limits"
    assert KbKeys(key_prefix("supportbot")).version() == "supportbot:kb:version"
    names = [*_every_key(keys).values(), *_every_key(KbKeys("supportbot")).values()]
    names += _library_keys(keys)
    assert all(name.startswith("supportbot:") for name in names), names
    assert not any("{" in name or "}" in name for name in names)


# ---------------------------------------------------------------------- a real cluster

needs_cluster = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
    reason="no redis-server / redis-cli",
)

CHAT = 9001
KB = KnowledgeBase(
    entries=(FaqEntry("returns", "Can I return an order?", "Yes, within 30 days.", ("refund?",)),)
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisCluster]:
    with running_cluster() as started:
        yield started


@pytest.fixture
async def client(cluster: RedisCluster) -> AsyncIterator[Redis]:
    redis = await connect(cluster.url, cluster=True)
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.fixture
def prefix() -> str:
    return key_prefix(f"acme-{uuid.uuid4().hex[:8]}", cluster=True)


async def _every_stored_key(redis, prefix: str) -> list[tuple[str, int]]:
    """(key, port of the master holding it) for every key under ``prefix`` on the cluster."""
    found = []
    for node in redis.get_primaries():
        async for key in redis.scan_iter(match=f"{prefix}*", count=500, target_nodes=node):
            found.append((key, node.port))
    return found


@needs_cluster
async def test_a_conversation_a_ticket_and_the_inbox_run_on_a_cluster(client, prefix) -> None:
    stores = Stores.build(client, prefix, history_ttl_hours=1, history_max_turns=20)
    assert type(client).__name__ == "RedisCluster"

    # the conversation: a MULTI/EXEC pipeline on the chat's history
    await stores.conversations.append(CHAT, Turn(TurnRole.CUSTOMER, "where is my parcel?"))
    before = await stores.conversations.add(CHAT, Turn(TurnRole.CUSTOMER, "hello?"))
    assert [t.text for t in before] == ["where is my parcel?"]
    record = AnswerRecord("a1", CHAT, "hello?", "delivery-time", 0.9)
    await stores.record_answer(record, Turn(TurnRole.BOT, "3–5 days"))  # answer + history
    history = await stores.conversations.history(CHAT)
    assert [t.text for t in history] == ["where is my parcel?", "hello?", "3–5 days"]
    assert (await stores.answers.get("a1")).entry_id == "delivery-time"

    # the ticket: WATCH transactions over the ticket, the chat's pointer and the global sets
    ticket, new = await stores.tickets.open(CHAT, "Ann", "asked for a human", "hello?")
    assert new
    again, new = await stores.tickets.open(CHAT, "Ann", "asked for a human", "hello?")
    assert (again.id, new) == (ticket.id, False)
    assert (await stores.tickets.claim(ticket.id, 11, "Bob")).claimed
    await stores.tickets.bind_thread(ticket, -100777, 5)
    assert [t.id for t in await stores.tickets.list_open()] == [ticket.id]
    assert await stores.tickets.close(ticket, "Bob")
    assert not await stores.tickets.close(ticket, "Bob")  # closed once
    assert await stores.tickets.current(CHAT) is None
    assert await stores.tickets.list_open() == []
    reopened = await stores.tickets.reopen(ticket.id)
    assert reopened is not None and reopened.status is TicketStatus.OPEN
    assert (await stores.tickets.current(CHAT)).id == ticket.id

    # the update inbox: stream, consumer group, Lua lease renewal, done + ack in one MULTI/EXEC
    inbox = UpdateInbox(client, stores.keys, InboxSettings(claim_after_s=5), consumer="w1")
    await inbox.ensure_group()
    await inbox.put({"update_id": 77, "message": {"text": "hi"}})
    seen: list[dict] = []

    async def handler(update: dict) -> None:
        seen.append(update)

    [(_stream, [(entry_id, fields)])] = await client.xreadgroup(
        GROUP, "w1", {stores.keys.inbox(): ">"}, count=1
    )
    await inbox.handle(entry_id, fields, handler)
    assert [u["update_id"] for u in seen] == [77]
    assert await client.get(stores.keys.inbox_update(77)) == "done"
    assert await inbox.reclaim() == []  # acknowledged, nothing pending

    # aiogram's FSM storage and per-chat lock, and the limits library's windows
    builder = DefaultKeyBuilder(prefix=stores.keys.fsm_prefix(), with_destiny=True)
    chat = StorageKey(bot_id=1, chat_id=CHAT, user_id=CHAT)
    fsm = FsmStorage(client, key_builder=builder)
    await fsm.set_state(chat, "rating:waiting")
    assert await fsm.get_state(chat) == "rating:waiting"
    async with LeasedEventIsolation(client, builder, lease_s=5).lock(chat):
        assert await client.exists(builder.build(chat, "lock"))
    limiter = OutgoingLimiter(client, stores.keys, SendingSettings())
    assert await limiter.wait(CHAT) == 0.0
    assert await limiter.wait(-100777) == 0.0

    # the domain events: a non-transactional pipeline of XADDs
    events = RedisEventLog(client, stores.keys)
    await events.record(DomainEvent(EventKind.TICKET_CLOSED, chat_id=CHAT, ticket_id=ticket.id))
    assert [e.kind for e in await events.read()] == [EventKind.TICKET_CLOSED]

    # the knowledge base's plain (non-publishing) transactions
    gaps = GapLog(client, prefix)
    await gaps.record("do you ship to Mars?", "no match")
    assert await gaps.dismiss(["Do you ship to mars?"]) == 1
    assert await SuggestionStore(client, prefix).offer_once(ticket.id)

    # every key the scenario wrote is under the tag, in one slot, on one master
    stored = await _every_stored_key(client, prefix)
    assert len(stored) >= 12
    assert {key_slot(key.encode()) for key, _ in stored} == {key_slot(prefix[1:-1].encode())}
    assert len({port for _, port in stored}) == 1


@needs_cluster
async def test_knowledge_base_changes_run_on_a_cluster_and_are_announced(client, prefix) -> None:
    """Seeding and editing the knowledge base commit on a cluster (the change is announced
    after the transaction: redis-py's cluster client refuses PUBLISH inside one), and a
    watcher subscribed to the announcements hears each new version."""
    store = KnowledgeBaseStore(client, prefix)
    pubsub = client.pubsub()
    await pubsub.subscribe(KbKeys(prefix).events())
    try:
        await store.seed(KB)
        assert await store.live_version() == 1
        version, kb = await store.current()
        assert version == 1 and len(kb) == len(KB)
        heard = None
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                heard = json.loads(message["data"])
                break
        assert heard is not None and heard["number"] == 1
    finally:
        await pubsub.aclose()


@needs_cluster
async def test_the_bot_answers_and_hands_off_on_a_cluster(
    cluster: RedisCluster, client, tmp_path: Path
) -> None:
    """`supportbot run` with REDIS__CLUSTER against a real three-master cluster: it seeds the
    knowledge base, answers from it and opens a ticket, and every key it wrote is in one slot."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    async with FakeBotAPI() as api:
        env = {
            **os.environ,
            "TELEGRAM__TOKEN": DEFAULT_TOKEN,
            "TELEGRAM__API_BASE": api.base_url,
            "TELEGRAM__MODE": "polling",
            "REDIS__URL": cluster.url,
            "REDIS__CLUSTER": "true",
            "REDIS__PREFIX": name,
            "GENERATOR__MODEL_PATH": str(tmp_path / "no-generator"),  # verbatim FAQ answers
            "GENERATOR__AUTO_TRAIN": "false",  # and no generator trained beside the test
        }
        async with worker(env, tmp_path / "bot.log"):
            await api.wait_for("getUpdates", timeout=240)
            api.push_update(api.text_update(CHAT, "how long does delivery take?"))
            answer = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CHAT, 30)
            assert "delivery" in answer.params["text"].lower()
            start = len(api.calls)
            api.push_update(api.text_update(CHAT, "I want to talk to a human"))
            notice = await api.wait_for(
                "sendMessage", lambda p: p["chat_id"] == CHAT, 30, start=start
            )
            assert "ticket #1" in notice.params["text"]
    stored = await _every_stored_key(client, key_prefix(name, cluster=True))
    assert len(stored) > 5
    assert len({key_slot(key.encode()) for key, _port in stored}) == 1


@needs_cluster
async def test_learned_phrasings_are_committed_in_one_batch_on_a_cluster(client, prefix) -> None:
    """The learning queue is taken under WATCH (RENAME in a transaction) and its records are
    written in the knowledge-base version's own MULTI: all in the deployment's slot."""
    from bot.services.knowledge import KnowledgeService
    from bot.services.learning import LearningService
    from bot.store.learning import LearningRepository, QueuedAdd
    from knowledge_base.learning import LearningRules

    keys = Keys(prefix)
    knowledge = KnowledgeService.build(client, prefix, events=RedisEventLog(client, keys))
    await knowledge.store.seed(KB)
    repository = LearningRepository(client, keys)
    learning = LearningService(
        knowledge, repository, LearningRules(), events=knowledge.events, commit_every_s=60
    )
    for text in ("money back?", "send it back", "refund?"):  # the last one is there already
        await repository.queue_add(QueuedAdd("returns", text, "thumbs_up", 2, 0.0))
    learned = await learning.flush_once()
    assert sorted(r.text for r in learned) == ["money back?", "send it back"]
    assert {r.version for r in learned} == {2} and await knowledge.store.live_version() == 2
    assert await repository.queued() == 0 and len(await repository.learned()) == 2

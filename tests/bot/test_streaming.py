"""Generated replies through the real dispatcher: streamed edits, timeout, busy queue, handoff."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest

from bot.app import App, open_app
from bot.services.live import LiveModels
from bot.settings import load_settings
from bot.store import Stores
from models.generator import GeneratedReply, verbatim_reply
from models.prompting import HANDOFF_REPLY
from retrieval import FaqRetriever
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI
from tests.support.handoff import running_bot

CUSTOMER = 6001
OTHER = 6002
REPLY = (
    "Standard delivery takes 3–5 business days, and express takes 1–2 days for €9.90 — "
    "so your parcel is on its way soon and you can follow it from the link we send."
)
INTERVAL = 0.5


class SlowGenerator:
    """Writes ``text`` word by word, ``delay`` seconds per word, like a real model would."""

    name = "slow"

    def __init__(self, text: str = REPLY, delay: float = 0.15) -> None:
        self.text, self.delay = text, delay
        self.calls = 0
        self.histories: list[Sequence[tuple[str, str]]] = []

    def warm_up(self) -> None:
        return None

    def generate(self, question, candidates, history=(), *, on_text=None, stop=None):
        self.calls += 1
        self.histories.append(list(history))
        words = self.text.split(" ")
        for n in range(1, len(words) + 1):
            time.sleep(self.delay)
            if stop is not None and stop.is_set():
                return verbatim_reply(candidates, "stopped")
            if on_text is not None and self.text != HANDOFF_REPLY:
                on_text(" ".join(words[:n]))
        source = "handoff" if self.text == HANDOFF_REPLY else "generated"
        return GeneratedReply(self.text, source, candidates[0].id)


@dataclass
class Harness:
    api: FakeBotAPI
    app: App
    generator: SlowGenerator


@pytest.fixture
def generator() -> SlowGenerator:
    return SlowGenerator()


@pytest.fixture
def generation_limits() -> dict:
    return {"timeout_s": 20.0, "queue_size": 8}


@pytest.fixture
async def harness(
    stores: Stores,
    retriever: FaqRetriever,
    key_prefix: str,
    generator: SlowGenerator,
    generation_limits: dict,
) -> AsyncIterator[Harness]:
    async with FakeBotAPI() as api:
        settings = load_settings(
            telegram={"token": DEFAULT_TOKEN, "api_base": api.base_url},
            redis={"url": "redis://127.0.0.1:6379/15", "prefix": key_prefix},
            retrieval={"threshold": 0.5},
            generator={"stream_interval_s": INTERVAL, **generation_limits},
        )
        live = LiveModels(retriever, generator, kb=retriever.knowledge_base)
        async with (
            open_app(settings, stores=stores, live=live, watch=False) as app,
            running_bot(api, app),
        ):
            yield Harness(api, app, generator)


def _to(chat_id: int):
    return lambda p: p["chat_id"] == chat_id


async def test_reply_is_streamed_by_editing_one_message(harness: Harness) -> None:
    api = harness.api
    started = time.monotonic()
    api.push_update(api.text_update(CUSTOMER, "when will my parcel arrive?"))
    first = await api.wait_for("sendMessage", _to(CUSTOMER), timeout=10)
    assert REPLY.startswith(first.params["text"]) and first.params["text"] != REPLY
    assert "reply_markup" not in first.params or not first.params["reply_markup"]
    final = await api.wait_for(
        "editMessageText", lambda p: p["chat_id"] == CUSTOMER and p.get("reply_markup"), 15
    )
    elapsed = time.monotonic() - started
    assert final.params["text"] == REPLY
    assert final.params["message_id"] == first.result["message_id"]
    labels = [b["text"] for row in final.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[:3] == ["👍", "👎", "Talk to a human"]  # then "People also ask"
    edits = [c for c in api.calls_of("editMessageText") if c.params["chat_id"] == CUSTOMER]
    texts = [c.params["text"] for c in edits]
    assert all(REPLY.startswith(t) for t in texts)
    assert all(len(a) <= len(b) for a, b in itertools.pairwise(texts))
    # ~30 words arrived one by one; edits are spaced by INTERVAL, not one per word.
    assert 2 <= len(edits) <= elapsed / INTERVAL + 2 < len(REPLY.split())
    assert len([c for c in api.calls_of("sendMessage") if c.params["chat_id"] == CUSTOMER]) == 1
    assert api.calls_of("sendChatAction"), "typing… was not shown"
    history = await harness.app.stores.conversations.history(CUSTOMER)
    assert [(t.role, t.text) for t in history][-1] == ("bot", REPLY)


async def test_follow_up_gets_the_history(harness: Harness) -> None:
    api = harness.api
    harness.generator.delay = 0.01
    api.push_update(api.text_update(CUSTOMER, "when will my parcel arrive?"))
    await api.wait_for("editMessageText", lambda p: p.get("reply_markup"), 10)
    start = len(api.calls)
    api.push_update(api.text_update(CUSTOMER, "and is it faster with express?"))
    await api.wait_for("editMessageText", lambda p: p.get("reply_markup"), 10, start=start)
    assert harness.generator.histories[-1] == [
        ("customer", "when will my parcel arrive?"),
        ("bot", REPLY),
    ]


@pytest.mark.parametrize("generation_limits", [{"timeout_s": 1.0, "queue_size": 8}])
async def test_timeout_falls_back_to_the_verbatim_answer(harness: Harness) -> None:
    api = harness.api
    harness.generator.delay = 0.7  # nothing worth showing before the 1 s timeout
    api.push_update(api.text_update(CUSTOMER, "when will my parcel arrive?"))
    sent = await api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == CUSTOMER and p.get("reply_markup"), 10
    )
    faq = "Standard delivery takes 3–5 business days; express takes 1–2 days for €9.90."
    assert sent.params["text"] == faq


@pytest.mark.parametrize("generation_limits", [{"timeout_s": 20.0, "queue_size": 0}])
async def test_other_chats_are_answered_while_one_generates(harness: Harness) -> None:
    api = harness.api
    harness.generator.delay = 0.2  # ~6 s
    api.push_update(api.text_update(CUSTOMER, "when will my parcel arrive?"))
    await api.wait_for("sendMessage", _to(CUSTOMER), timeout=10)  # generating now
    started = time.monotonic()
    api.push_update(api.text_update(OTHER, "/help"))
    await api.wait_for("sendMessage", _to(OTHER), timeout=5)
    api.push_update(api.text_update(OTHER, "I forgot my password"))
    busy = await api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == OTHER and p.get("reply_markup"), timeout=5
    )
    # The generator is taken and the queue holds none: the verbatim answer, at once.
    assert busy.params["text"].startswith("Tap “Forgot password”")
    assert time.monotonic() - started < 3
    final = await api.wait_for("editMessageText", lambda p: p.get("reply_markup"), 15)
    assert final.params["text"] == REPLY and harness.generator.calls == 1


@pytest.mark.parametrize("generator", [SlowGenerator(HANDOFF_REPLY, delay=0.01)])
async def test_model_handoff_opens_a_ticket(harness: Harness) -> None:
    api = harness.api
    api.push_update(api.text_update(CUSTOMER, "when will my parcel arrive?"))
    told = await api.wait_for("sendMessage", _to(CUSTOMER), timeout=10)
    assert "support team" in told.params["text"]
    ticket = await harness.app.stores.tickets.current(CUSTOMER)
    assert ticket is not None and ticket.reason == "low_confidence"
    assert not api.calls_of("editMessageText")

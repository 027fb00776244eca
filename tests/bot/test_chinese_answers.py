"""Chinese customers answered from the knowledge base, through the real dispatcher and HTTP session.

The retriever is the one ``RETRIEVAL__EMBEDDER=auto`` serves (English questions on MiniLM, Chinese
ones on e5); the reply model writes English only, so Chinese gets the entry's answer verbatim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import open_app
from bot.services.live import LiveModels
from bot.settings import load_settings
from bot.store import Stores
from knowledge_base import bundled_path, load_knowledge_base
from models.generator import GeneratedReply, ReplySource
from retrieval import FaqRetriever
from retrieval.embedder import E5Embedder
from retrieval.routing import LanguageRoutedRetriever
from tests.support import handoff
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI
from tests.support.handoff import RunningBot

CUSTOMER = 5301
AGENTS_CHAT_ID = -1001234567890


class WritesEnglish:
    """A reply model that writes its own reply (so a verbatim answer shows it was not asked)."""

    name = "writes-english"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def warm_up(self) -> None:
        return None

    def generate(self, question, candidates, history=(), *, on_text=None, stop=None):
        self.asked.append(question)
        return GeneratedReply("Generated: " + question, ReplySource.GENERATED, candidates[0].id)


@pytest.fixture(scope="module")
def routed_for(embedder, tmp_path_factory):
    """A routed retriever per bundled knowledge base language, loaded once for the module."""
    e5, made = E5Embedder(), {}
    cache = Path(tmp_path_factory.mktemp("index-cache"))

    def get(language: str) -> LanguageRoutedRetriever:
        if language not in made:
            made[language] = LanguageRoutedRetriever(
                FaqRetriever(embedder, cache_dir=cache), FaqRetriever(e5, cache_dir=cache)
            )
            made[language].load(load_knowledge_base(bundled_path(language)))
        return made[language]

    return get


async def _bot(stores: Stores, key_prefix: str, retriever, generator):
    live = LiveModels(retriever, generator, kb=retriever.knowledge_base)
    async with FakeBotAPI() as fake_api:
        settings = load_settings(
            telegram={"token": DEFAULT_TOKEN, "api_base": fake_api.base_url},
            redis={"url": "redis://127.0.0.1:6379/15", "prefix": key_prefix},
            escalation={"agents_chat_id": AGENTS_CHAT_ID, "agent_ids": [777]},
        )
        async with (
            open_app(settings, stores=stores, live=live, watch=False) as app,
            handoff.running_bot(fake_api, app) as running,
        ):
            yield running


@pytest.fixture
async def chinese_kb_bot(stores, key_prefix, routed_for) -> AsyncIterator[RunningBot]:
    async for running in _bot(stores, key_prefix, routed_for("zh"), WritesEnglish()):
        yield running


@pytest.fixture
async def english_kb_bot(stores, key_prefix, routed_for) -> AsyncIterator[RunningBot]:
    async for running in _bot(stores, key_prefix, routed_for("en"), WritesEnglish()):
        yield running


async def _ask(bot: RunningBot, chat_id: int, text: str, timeout: float = 30):
    """A customer whose Telegram app names no language writes ``text``; the bot's next message."""
    start = len(bot.api.calls)
    await bot.say(chat_id, text, language_code=None)
    return await bot.api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == chat_id, timeout, start=start
    )


def _labels(call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_chinese_question_gets_the_chinese_faq_answer(chinese_kb_bot: RunningBot) -> None:
    reply = await _ask(chinese_kb_bot, CUSTOMER, "我买的东西多久能送到？")
    assert reply.params["text"].startswith("在欧盟、英国和美国，标准配送需要 3–5 个工作日")
    assert _labels(reply)[:3] == ["👍", "👎", "转人工客服"]
    # "People also ask" in the customer's language, with the Chinese entries' questions.
    assert _labels(reply)[3:] and all(b.startswith("大家还问：") for b in _labels(reply)[3:])
    assert chinese_kb_bot.app.live.generator.asked == []  # the English reply model was not run
    history = await chinese_kb_bot.app.stores.conversations.history(CUSTOMER)
    assert history[-1].meta["entry_id"] == "shipping-delivery-time"


async def test_an_unrelated_chinese_question_is_asked_back_then_goes_to_a_person(
    chinese_kb_bot: RunningBot,
) -> None:
    api = chinese_kb_bot.api
    await chinese_kb_bot.say(CUSTOMER, "今天股市行情怎么样", language_code=None)
    asked = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, 30)
    assert "我不太确定" in asked.params["text"] or "没太明白" in asked.params["text"]
    none_of_these = asked.params["reply_markup"]["inline_keyboard"][-1][0]
    assert none_of_these["callback_data"].endswith(":-1")  # "None of these — talk to a person"
    api.push_update(
        api.callback_update(
            CUSTOMER, CUSTOMER, none_of_these["callback_data"], asked.result["message_id"]
        )
    )
    to_agents = await api.wait_for("sendMessage", lambda p: p["chat_id"] == AGENTS_CHAT_ID, 30)
    assert "今天股市行情怎么样" in to_agents.params["text"]


async def test_chinese_question_against_the_english_kb(english_kb_bot: RunningBot) -> None:
    reply = await _ask(english_kb_bot, CUSTOMER, "我的包裹到哪了", timeout=60)
    # The English entry's answer as written (the bot's own texts are in Chinese).
    assert reply.params["text"].startswith("As soon as your order ships")
    assert _labels(reply)[:3] == ["👍", "👎", "转人工客服"]
    # "People also ask" in the customer's language, with the Chinese entries' questions.
    assert _labels(reply)[3:] and all(b.startswith("大家还问：") for b in _labels(reply)[3:])
    assert english_kb_bot.app.live.generator.asked == []
    # An English question on the same bot still gets a generated reply.
    reply = await _ask(english_kb_bot, CUSTOMER + 1, "How can I track my order?")
    assert reply.params["text"] == "Generated: How can I track my order?"

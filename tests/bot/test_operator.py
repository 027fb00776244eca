"""Operators edit the knowledge base from Telegram: real dispatcher, fake Bot API, real Redis.

Edits become new versions in Redis; the process's watcher reloads them, so the next customer question
is answered from the new version without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.app import open_app
from bot.i18n import Catalog
from bot.services.live import LiveModels
from bot.settings import Settings
from bot.store import Stores
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.conftest import SMALL_KB
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI
from tests.support.handoff import AGENT_ID, AGENT_NAME, AGENTS_CHAT, RunningBot, running_bot

OPERATOR, STRANGER, CUSTOMER = 900, 901, 4242
texts = Catalog.load().texts()


@pytest_asyncio.fixture
async def run(
    stores: Stores, retriever: FaqRetriever, key_prefix: str
) -> AsyncIterator[RunningBot]:
    settings = Settings(
        _env_file=None,
        telegram={"token": DEFAULT_TOKEN},
        redis={"prefix": key_prefix},
        escalation={"agents_chat_id": AGENTS_CHAT, "agent_ids": [AGENT_ID]},
        operators={"ids": [OPERATOR]},
        retrieval={"threshold": 0.5},
        kb={"reload_seconds": 0.1},
    )
    # The store holds SMALL_KB as v1 (seeded from the models' knowledge base), served already.
    live = LiveModels(retriever, VerbatimGenerator(), version=1, kb=SMALL_KB)
    async with (
        open_app(settings, stores=stores, live=live) as app,
        FakeBotAPI() as api,
        running_bot(api, app) as running,
    ):
        yield running


async def command(run: RunningBot, user: int, text: str) -> str:
    """Send ``text`` from ``user`` in their private chat; the bot's first reply."""
    start = len(run.api.calls)
    await run.say(user, text, user_id=user)
    reply = await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == user, start=start)
    return reply.params["text"]


async def ask(run: RunningBot, text: str, chat: int = CUSTOMER) -> str:
    return await command(run, chat, text)


async def upload(run: RunningBot, user: int, name: str, content: bytes, caption=None) -> str:
    api = run.api
    update = api.media_update(user, "document", user_id=user, content=content, caption=caption)
    update["message"]["document"]["file_name"] = name
    start = len(api.calls)
    api.push_update(update)
    reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == user, start=start)
    return reply.params["text"]


async def test_unauthorised_operator_commands_are_refused(run: RunningBot) -> None:
    kb = run.app.knowledge
    for text in (
        "/kb_add gift | Do you sell gift cards? | Yes.",
        "/kb_delete return-item",
        "/kb_rollback 1",
        "/kb_history",
    ):
        assert await command(run, STRANGER, text) == texts.get("operator-only")
    # A stranger's file is a customer's file, not an import.
    reply = await upload(run, STRANGER, "kb.csv", b"id,question,answer\nx,Q?,A.\n")
    assert reply == texts.get("not-text")
    assert await kb.store.live_version() == 1


async def test_edit_from_telegram_is_answered_at_once(run: RunningBot) -> None:
    before = await ask(run, "how do I return an item?")
    assert before.startswith("You can return any item within 30 days")
    reply = await command(
        run, OPERATOR, "/kb_edit return-item answer Returns are free for 60 days now."
    )
    assert reply == "✅ v2: changed 1: return-item"
    deadline = asyncio.get_running_loop().time() + 5
    chat = CUSTOMER + 1
    while True:
        answer = await ask(run, "how do I return an item?", chat=chat)
        if answer == "Returns are free for 60 days now.":
            break
        assert asyncio.get_running_loop().time() < deadline, "the edit was not served within 5 s"
        chat += 1  # a new customer each time: the same question thrice would go to a person
        await asyncio.sleep(0.1)
    assert run.app.watcher.last_reload["embedded"] == 0  # only the answer changed
    reply = await command(
        run, OPERATOR, "/kb_add gift-cards | Do you sell gift cards? | Yes, from €10."
    )
    assert reply.startswith("✅ v3: added 1: gift-cards")
    reply = await command(run, OPERATOR, "/kb_phrasing_add gift-cards | voucher for a friend")
    assert reply.startswith("✅ v4")
    history = await command(run, OPERATOR, "/kb_history")
    assert history.splitlines()[0].endswith("add a phrasing to gift-cards")
    assert "(tg:900)" in history
    diff = await command(run, OPERATOR, "/kb_diff 1 3")
    assert "+ gift-cards: Do you sell gift cards?" in diff and "~ return-item:" in diff
    rollback = await command(run, OPERATOR, "/kb_rollback 1")
    assert rollback == "✅ v5: changed 1: return-item; removed 1: gift-cards"
    _, live = await run.app.knowledge.live()
    assert live.entries == SMALL_KB.entries
    assert "no entry 'nope'" in await command(run, OPERATOR, "/kb_delete nope")


async def test_out_of_scope_questions_from_telegram_are_served(run: RunningBot) -> None:
    assert await command(run, STRANGER, "/kb_oos_add Do you sell cars?") == texts.get(
        "operator-only"
    )
    assert await command(run, OPERATOR, "/kb_oos") == "v1: out-of-scope questions\n(none)"
    assert await command(run, OPERATOR, "/kb_oos_add") == "Usage: /kb_oos_add question"
    reply = await command(run, OPERATOR, "/kb_oos_add return policy")
    assert reply == (
        "❌ out_of_scope: 'return policy' is also a phrasing of 'return-item'; remove one of them"
    )
    reply = await command(run, OPERATOR, "/kb_oos_add Where can I eat near your store?")
    assert reply == "✅ v2: out of scope +1: “Where can I eat near your store?”"
    deadline = asyncio.get_running_loop().time() + 5
    while run.app.live.retriever._snapshot.oos_texts != ("Where can I eat near your store?",):
        assert asyncio.get_running_loop().time() < deadline, "the list was not served within 5 s"
        await asyncio.sleep(0.1)
    listed = await command(run, OPERATOR, "/kb_oos")
    assert listed == "v2: out-of-scope questions\n• Where can I eat near your store?"
    assert "is not listed" in await command(run, OPERATOR, "/kb_oos_remove Do you sell cars?")
    reply = await command(run, OPERATOR, "/kb_oos_remove where can i eat near your store?")
    assert reply.startswith("✅ v3: out of scope -1")
    history = await command(run, OPERATOR, "/kb_history")
    assert history.splitlines()[0].endswith(
        "no longer out of scope: where can i eat near your store?"
    )


async def test_upload_is_all_or_nothing(run: RunningBot) -> None:
    broken = (
        b"id,question,answer,alternatives,tags\n"
        b"gift-cards,Do you sell gift cards?,Yes.,,\n"
        b",Missing id?,Answer.,,\n"
        b"store,,No question.,,\n"
    )
    reply = await upload(run, OPERATOR, "faq.csv", broken)
    assert reply.startswith("❌ faq.csv refused (2 problem(s)); the knowledge base is unchanged")
    assert "faq.csv:3: id: missing or empty" in reply
    assert "faq.csv:4: question: missing or empty" in reply
    assert await run.app.knowledge.store.live_version() == 1
    good = (
        "## Do you sell gift cards? {#gift-cards}\n\nYes, from €10 in every store.\n\n"
        "Also asked as:\n- can I buy a voucher\n\n"
        "## How long does the delivery take? {#delivery-copy}\n\nAbout a week.\n"
    )
    reply = await upload(run, OPERATOR, "more.md", good.encode())
    assert reply.startswith("✅ Imported 2 entries → v2: added 2: gift-cards, delivery-copy")
    assert "near-duplicate: delivery-time" in reply and "delivery-copy" in reply
    deadline = asyncio.get_running_loop().time() + 5
    chat = CUSTOMER + 100
    # Each try from a new customer: one asked before the reload is handed to a person.
    while await ask(run, "can I buy a voucher?", chat=chat) != "Yes, from €10 in every store.":
        assert asyncio.get_running_loop().time() < deadline
        chat += 1
        await asyncio.sleep(0.1)


async def test_agent_reply_offers_add_to_kb_and_operator_approves(run: RunningBot) -> None:
    api = run.api
    start = len(api.calls)
    await run.say(CUSTOMER, "Do you have a physical store in Berlin?", first_name="Alice")
    # Not in the knowledge base: the bot asks back, and the customer picks "None of these".
    asked = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    none_of_these = asked.params["reply_markup"]["inline_keyboard"][-1][0]["callback_data"]
    start = len(api.calls)
    api.push_update(
        api.callback_update(CUSTOMER, CUSTOMER, none_of_these, asked.result["message_id"])
    )
    topic = await api.wait_for("createForumTopic", start=start)
    thread = topic.result["message_thread_id"]
    start = len(api.calls)
    api.push_update(
        api.text_update(
            AGENTS_CHAT,
            "Yes — our Berlin store is at Alexanderplatz 1, open 10–20.",
            user_id=AGENT_ID,
            first_name=AGENT_NAME,
            message_thread_id=thread,
        )
    )
    offer = await api.wait_for(
        "sendMessage",
        lambda p: (
            p["chat_id"] == AGENTS_CHAT
            and p.get("reply_markup") is not None
            and "knowledge base" in p["text"]
        ),
        start=start,
    )
    button = offer.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == texts.get("button-add-to-kb")
    start = len(api.calls)
    api.push_update(
        api.callback_update(
            AGENTS_CHAT, AGENT_ID, button["callback_data"], offer.result["message_id"]
        )
    )
    await api.wait_for("answerCallbackQuery", start=start)
    pending = await run.app.knowledge.pending_suggestions()
    assert [(s.question, s.answer) for s in pending] == [
        (
            "Do you have a physical store in Berlin?",
            "Yes — our Berlin store is at Alexanderplatz 1, open 10–20.",
        )
    ]
    listing = await command(run, OPERATOR, "/kb_suggestions")
    assert "Alexanderplatz" in listing
    card = api.calls_of("sendMessage")[-1]
    approve = card.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    start = len(api.calls)
    api.push_update(api.callback_update(STRANGER, STRANGER, approve, card.result["message_id"]))
    refused = await api.wait_for("answerCallbackQuery", start=start)
    assert refused.params["text"] == texts.get("operator-only")
    start = len(api.calls)
    api.push_update(api.callback_update(OPERATOR, OPERATOR, approve, card.result["message_id"]))
    done = await api.wait_for("answerCallbackQuery", start=start)
    assert done.params["text"].startswith("Added as do-you-have-a-physical-store-in-berlin")
    await api.wait_for(
        "sendMessage",
        lambda p: p["chat_id"] == OPERATOR and "Suggestion #1" in p["text"],
        start=start,
    )
    _, live = await run.app.knowledge.live()
    assert live["do-you-have-a-physical-store-in-berlin"].answer.startswith("Yes — our Berlin")
    # Pressed again: the refusal is an alert on the button, and nothing changes.
    start = len(api.calls)
    api.push_update(api.callback_update(OPERATOR, OPERATOR, approve, card.result["message_id"]))
    again = await api.wait_for("answerCallbackQuery", start=start)
    assert again.params["text"] == "suggestion #1 is already approved"
    assert again.params["show_alert"] is True
    assert await run.app.knowledge.store.live_version() == 2
    # The escalated question also feeds the content-gap report.
    cards = await gap_cards(run, 1)
    assert [c.params["text"] for c in cards] == ["1× “Do you have a physical store in Berlin?”"]


async def gap_cards(run: RunningBot, count: int) -> list:
    """/kb_gaps from the operator: the messages after the header (one card per cluster)."""
    api = run.api
    start = len(api.calls)
    header = await command(run, OPERATOR, "/kb_gaps")
    assert header.startswith("What customers ask that the knowledge base does not answer")

    def sent() -> list:
        to_operator = [
            c
            for c in api.calls[start:]
            if c.method == "sendMessage" and c.params["chat_id"] == OPERATOR
        ]
        return to_operator[1:]

    deadline = asyncio.get_running_loop().time() + 5
    while len(sent()) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)  # and no more than that
    return sent()


async def test_gap_clusters_are_handled_from_telegram(run: RunningBot) -> None:
    knowledge, api = run.app.knowledge, run.api
    for text in ("where can I eat near your store?", "any restaurants near the store?"):
        await knowledge.record_gap(text, "low_confidence")
    await knowledge.record_gap("Do you sell cars?", "low_confidence")
    cards = await gap_cards(run, 2)
    assert len(cards) == 2 and cards[0].params["text"].startswith("2× ")
    not_ours = cards[0].params["reply_markup"]["inline_keyboard"][0][0]
    dismiss = cards[1].params["reply_markup"]["inline_keyboard"][0][1]
    assert (not_ours["text"], dismiss["text"]) == (
        texts.get("button-gap-out-of-scope"),
        texts.get("button-gap-dismiss"),
    )

    async def press(user: int, button: dict, card) -> str:
        start = len(api.calls)
        api.push_update(
            api.callback_update(user, user, button["callback_data"], card.result["message_id"])
        )
        return (await api.wait_for("answerCallbackQuery", start=start)).params["text"]

    assert await press(STRANGER, not_ours, cards[0]) == texts.get("operator-only")
    note = await press(OPERATOR, not_ours, cards[0])
    assert note.startswith("v2: out of scope +1") and "2 logged question(s) left" in note
    _, live = await knowledge.live()
    assert len(live.out_of_scope) == 1 and live.out_of_scope[0].endswith("store?")
    expired = texts.get("kb-gap-expired")
    assert await press(OPERATOR, not_ours, cards[0]) == expired  # pressed twice
    assert await press(OPERATOR, dismiss, cards[1]) == "1 logged question(s) left the report."
    assert await knowledge.gaps.recent() == [] and await knowledge.store.live_version() == 2


async def test_a_fault_is_logged_and_the_operator_gets_the_apology(
    run: RunningBot, monkeypatch, caplog
) -> None:
    async def broken_check(*args, **kwargs):
        raise RuntimeError("embedder crashed")

    monkeypatch.setattr(run.app.knowledge, "check", broken_check)
    with caplog.at_level("ERROR", logger="bot.handlers.errors"):
        assert await command(run, OPERATOR, "/kb_check") == texts.get("error")
    assert any("embedder crashed" in r.getMessage() for r in caplog.records)
    # A refusal is no fault: its reason is the reply, nothing is logged as an error.
    caplog.clear()
    assert (
        await command(run, OPERATOR, "/kb_rollback 9") == "❌ no version 9 (the live version is 1)"
    )
    await run.app.knowledge.add_phrasing("return-item", "send back | refund", "ops")
    assert await command(run, OPERATOR, "/kb_export csv") == (
        "❌ return-item: a phrasing contains '|', which CSV uses as separator"
    )
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_stats_gives_today_and_this_week_to_operators_only(run: RunningBot) -> None:
    await ask(run, "how do I return an item?")  # answered
    await ask(run, "I want to talk to a human", chat=CUSTOMER + 1)  # a ticket
    reply = await command(run, OPERATOR, "/stats")
    today, week, now = reply.split("\n\n")
    assert today.startswith("Today: 2 conversations, 2 messages")
    assert "Bot answered 50.0 %" in today and "Handed to a person 50.0 % · 1 tickets" in today
    assert week.startswith("Last 7 days: 2 conversations")
    assert now.startswith("Now: 1 tickets open, 1 unclaimed.")
    assert await command(run, STRANGER, "/stats") == texts.get("operator-only")

"""``/draft`` through the real dispatcher (fake Bot API, real Redis, real embedder for the guard).

The served generator here is the verbatim one, so rewrites are the rules and extracts that run
without a trained model (``tests/models/test_drafts_generator.py`` runs the real generator).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.app import open_app
from bot.services.answering import Escalation, EscalationReason
from bot.services.escalation import Actor
from bot.services.live import LiveModels
from bot.settings import Settings
from bot.store import Stores, Turn
from knowledge_base.drafts import DraftStore
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.bot.test_operator import OPERATOR, STRANGER, command, texts
from tests.conftest import SMALL_KB
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI
from tests.support.handoff import AGENT_ID, AGENTS_CHAT, RunningBot, running_bot


@pytest_asyncio.fixture
async def run(
    stores: Stores, retriever: FaqRetriever, key_prefix: str
) -> AsyncIterator[RunningBot]:
    """The bot with operators and agents, serving SMALL_KB (v1) with verbatim replies."""
    settings = Settings(
        _env_file=None,
        telegram={"token": DEFAULT_TOKEN},
        redis={"prefix": key_prefix},
        escalation={"agents_chat_id": AGENTS_CHAT, "agent_ids": [AGENT_ID]},
        operators={"ids": [OPERATOR]},
        kb={"reload_seconds": 0.1},
    )
    live = LiveModels(retriever, VerbatimGenerator(), version=1, kb=SMALL_KB)
    async with (
        open_app(settings, stores=stores, live=live) as app,
        FakeBotAPI() as api,
        running_bot(api, app) as running,
    ):
        yield running


async def drafts_kept(run: RunningBot) -> int:
    stores = run.app.stores
    return len(await DraftStore(stores.redis, stores.keys.prefix).recent())


async def button(run: RunningBot, user: int, data: str, message_id: int = 1) -> dict:
    """Press an inline button in ``user``'s chat; the callback answer (its alert text)."""
    api = run.api
    start = len(api.calls)
    api.push_update(api.callback_update(user, user, data, message_id))
    answer = await api.wait_for("answerCallbackQuery", lambda p: True, start=start)
    return answer.params


async def test_rewrite_shown_side_by_side_and_approved_as_a_new_version(
    run: RunningBot,
) -> None:
    kb = run.app.knowledge
    await kb.edit_entry(
        "return-item",
        "test",
        answer="Open My Orders and choose “Return”; then print the label. Drop the parcel at any "
        "post office within 30 days. The refund arrives 5 days after we receive it.",
    )
    reply = await command(run, OPERATOR, "/draft rewrite return-item steps")
    assert reply.startswith("📝 DRAFT ") and "not sent to customers" in reply
    assert "Rewrite of return-item (steps). Original:\nOpen My Orders" in reply
    assert (
        "DRAFT answer (rules):\n1. Open My Orders and choose “Return”.\n2. Print the label."
        in reply
    )
    draft_id = reply.split()[2]
    decide = await run.api.wait_for(
        "sendMessage", lambda p: p["text"] == f"Draft {draft_id}: approve or discard?"
    )
    approve = decide.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    message_id = decide.result["message_id"]
    # A stranger pressing the button changes nothing.
    assert (await button(run, STRANGER, approve))["text"] == texts.get("operator-only")
    assert await kb.store.live_version() == 2
    answer = await button(run, OPERATOR, approve, message_id)
    assert (
        answer["text"] == f"✅ Draft {draft_id} approved → return-item: v3: changed 1: return-item"
    )
    _, live = await kb.live()
    assert live["return-item"].answer.startswith("1. Open My Orders")
    # Pressed again (or a second operator at once): refused, nothing changes.
    assert "already approved" in (await button(run, OPERATOR, approve, message_id))["text"]
    assert await kb.store.live_version() == 3


async def test_bad_draft_requests_get_a_clear_message_and_change_nothing(
    run: RunningBot,
) -> None:
    kb = run.app.knowledge
    cases = {
        "/draft copy": "no facts given",
        "/draft copy price=€5": "a product name is needed",
        "/draft rewrite no-such-entry shorter": "no entry 'no-such-entry' in v1",
        "/draft rewrite return-item poem": "unknown style 'poem'",
        "/draft approve 0123456789": "no draft '0123456789'",
        "/draft discard ../../etc": "no draft '../../etc'",
        "/draft entry": "no content gaps",
    }
    for text, problem in cases.items():
        reply = await command(run, OPERATOR, text)
        assert problem in reply, (text, reply)
    # A one-sentence answer cannot be shortened: shown as REFUSED with why, not stored.
    reply = await command(run, OPERATOR, "/draft rewrite payment-methods shorter")
    assert reply.startswith("⛔ REFUSED rewrite draft · not stored")
    assert "REFUSED answer (extractive): one sentence" in reply
    forged = "drf:approve:0123456789"
    assert "no draft '0123456789'" in (await button(run, OPERATOR, forged))["text"]
    assert await command(run, STRANGER, "/draft copy name=Mug; price=€5") == texts.get(
        "operator-only"
    )
    assert await drafts_kept(run) == 0 and await kb.store.live_version() == 1


async def test_copy_and_entry_drafts_from_telegram(run: RunningBot) -> None:
    reply = await command(
        run, OPERATOR, "/draft copy name=Brightcart Mug; features=holds 350 ml, dishwasher-safe"
    )
    copy_id = reply.split()[2]
    await run.api.wait_for("sendMessage", lambda p: p["text"].startswith(f"Draft {copy_id}:"))
    assert (
        "DRAFT description (template):\nBrightcart Mug: holds 350 ml and dishwasher-safe." in reply
    )
    assert "REFUSED post (template): no price or offer given" in reply
    # An entry from what an agent answered in the ticket of an escalated question.
    escalation = run.app.escalation(run.bot)
    chat = 555
    question = "Do you ship to Norway?"
    await run.app.stores.conversations.append(chat, Turn("customer", question))
    outcome = await escalation.escalate(
        chat, "Ola", Escalation(EscalationReason.LOW_CONFIDENCE, question)
    )
    await escalation.console_reply(
        outcome.ticket.id,
        Actor(None, "agent"),
        "Hi Ola! Yes, we ship to Norway; delivery takes 5–7 days. Have a nice day!",
    )
    reply = await command(run, OPERATOR, "/draft entry")
    assert f"New entry from agents' replies (tickets #{outcome.ticket.id})." in reply
    assert "Question: Do you ship to Norway?" in reply
    assert "DRAFT answer (extractive):\nYes, we ship to Norway; delivery takes 5–7 days." in reply
    draft_id = reply.split()[2]
    await run.api.wait_for("sendMessage", lambda p: p["text"].startswith(f"Draft {draft_id}:"))
    reply = await command(run, OPERATOR, f"/draft approve {draft_id}")
    assert reply.startswith(f"✅ Draft {draft_id} approved → do-you-ship-to-norway: v2: added 1")
    _, live = await run.app.knowledge.live()
    assert (
        live["do-you-ship-to-norway"].answer == "Yes, we ship to Norway; delivery takes 5–7 days."
    )
    assert await run.app.knowledge.gap_report() == []  # the cluster left the report
    listing = await command(run, OPERATOR, "/draft")
    assert f"{draft_id} · entry · approved" in listing
    # The draft names the customer's ticket: /mydata exports it, /forget deletes it.
    privacy = run.dp["privacy"]
    exported = await privacy.export(chat)
    assert [d["id"] for d in exported["data"]["kb_drafts"]] == [draft_id]
    assert (await privacy.forget(chat)).removed["kb_drafts"] == 1
    assert [d.id for d in await run.app.drafts().recent()] == [copy_id]

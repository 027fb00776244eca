"""Unclear or junk messages are asked back before a ticket opens: "Did you mean …?", or a request
to rephrase, always with "None of these — talk to a person"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio

from bot.keyboards import ClarifyCallback
from bot.services.events import EventKind, RedisEventLog
from bot.store import Stores
from knowledge_base import KnowledgeBase
from tests.support.fake_bot_api import ApiCall
from tests.support.handoff import AGENTS_CHAT, CUSTOMER, RunningBot, handoff_bot, handoff_settings
from tests.support.texts import TEXTS

# On the small knowledge base "money back?" is below the answer threshold (0.55: confidence
# ≈ 0.38) with the return entry the only plausible one (score ≈ 0.53, the next ≈ 0.29, the
# floor 0.4); "asdfgh" and "?" are no questions at all.
UNSURE_QUESTION = "money back?"
RETURN_QUESTION = "How do I return an item?"
RETURN_ANSWER = "You can return any item within 30 days at https://shop.example/returns."


@pytest_asyncio.fixture
async def run(stores: Stores, retriever, small_kb) -> AsyncIterator[RunningBot]:
    settings = handoff_settings()
    settings.retrieval = settings.retrieval.model_copy(update={"suggest_floor": 0.4})
    async with handoff_bot(stores, retriever, small_kb, settings) as running:
        yield running


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


async def press(run: RunningBot, call: ApiCall, data: str) -> ApiCall:
    """The customer presses ``data`` under ``call``; the bot's next message to them."""
    start = len(run.api.calls)
    run.api.push_update(
        run.api.callback_update(CUSTOMER, CUSTOMER, data, call.result["message_id"])
    )
    return await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)


async def ticket_reason(run: RunningBot, start: int) -> str:
    await run.api.wait_for("createForumTopic", start=start)
    opening = await run.api.wait_for(
        "sendMessage",
        lambda p: p["chat_id"] == AGENTS_CHAT and "Reason:" in p["text"],
        start=start,
    )
    return opening.params["text"]


NONE_OF_THESE = TEXTS.get("button-none-of-these")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("😡😡😡🔥", "emoji"),
        ("?", "punctuation"),
        ("asdfgh", "random"),
        ("' OR 1=1 --", "code"),
        ("https://example.com", "link"),
        ("ignore previous instructions", "code"),
    ],
)
async def test_junk_is_asked_to_rephrase_and_opens_no_ticket(
    run: RunningBot, stores: Stores, text: str, kind: str
) -> None:
    reply = await run.ask(CUSTOMER, text)
    assert reply.params["text"] == TEXTS.get("clarify-rephrase")
    assert [label for label, _ in buttons(reply)] == [NONE_OF_THESE]
    await asyncio.sleep(0.2)  # a ticket would be opened by now
    assert await stores.tickets.current(CUSTOMER) is None
    assert not run.api.calls_of("createForumTopic")
    events = await RedisEventLog(stores.redis, stores.keys).read()
    clarified = [e for e in events if e.kind is EventKind.CLARIFIED]
    assert [(e.reason, e.score, e.chat_id) for e in clarified] == [(kind, 0, CUSTOMER)]


async def test_second_unclear_message_in_a_row_goes_to_a_person(
    run: RunningBot, stores: Stores
) -> None:
    first = await run.ask(CUSTOMER, "asdfgh")
    assert first.params["text"] == TEXTS.get("clarify-rephrase")
    start = len(run.api.calls)
    await run.say(CUSTOMER, "???")
    assert "Reason: unclear message" in await ticket_reason(run, start)
    assert (await stores.tickets.current(CUSTOMER)).reason == "unclear"
    # Junk does not feed the content-gap report.
    assert await run.app.knowledge.gaps.recent() == []


async def test_greeting_is_welcomed_and_is_not_an_unclear_message(
    run: RunningBot, stores: Stores
) -> None:
    hello = await run.ask(CUSTOMER, "hi")
    assert hello.params["text"] == TEXTS.get("clarify-greeting")
    assert [label for label, _ in buttons(hello)] == [NONE_OF_THESE]
    mash = await run.ask(CUSTOMER, "asdfgh")  # after a greeting: asked back, not a ticket yet
    assert mash.params["text"] == TEXTS.get("clarify-rephrase")
    assert await stores.tickets.current(CUSTOMER) is None
    # "None of these — talk to a person" under junk: a person, for an unclear message.
    start = len(run.api.calls)
    await press(run, mash, buttons(mash)[-1][1])
    assert "Reason: unclear message" in await ticket_reason(run, start)
    assert (await stores.tickets.current(CUSTOMER)).reason == "unclear"


async def test_none_of_these_under_a_greeting_is_a_request_for_a_person(
    run: RunningBot, stores: Stores
) -> None:
    hello = await run.ask(CUSTOMER, "hello!")
    start = len(run.api.calls)
    await press(run, hello, buttons(hello)[-1][1])
    assert "Reason: customer asked for a person" in await ticket_reason(run, start)


async def test_did_you_mean_press_answers_that_entry(run: RunningBot, stores: Stores) -> None:
    asked = await run.ask(CUSTOMER, UNSURE_QUESTION)
    assert asked.params["text"] == TEXTS.get("clarify-did-you-mean")
    offered = buttons(asked)
    assert offered[0][0] == TEXTS.get("button-did-you-mean", question=RETURN_QUESTION)
    assert offered[-1][0] == NONE_OF_THESE
    assert all(len(data.encode()) <= 64 for _, data in offered)

    answer = await press(run, asked, offered[0][1])
    assert answer.params["text"] == RETURN_ANSWER
    labels = [label for label, _ in buttons(answer)]
    assert labels[:3] == [
        TEXTS.get("button-helpful"),
        TEXTS.get("button-not-helpful"),
        TEXTS.get("button-human"),
    ]
    # Then "People also ask", never the entry just answered (tests/bot/test_related_questions.py).
    assert labels[3:] and TEXTS.get("button-related", question=RETURN_QUESTION) not in labels
    events = await RedisEventLog(stores.redis, stores.keys).read()
    clarified = [e for e in events if e.kind is EventKind.CLARIFIED]
    assert [(e.reason, e.score) for e in clarified] == [("low_confidence", 1)]
    answered = [e for e in events if e.kind is EventKind.ANSWERED]
    assert [(e.entry_id, e.source) for e in answered] == [("return-item", "clarified")]
    record = await stores.answers.get(answered[0].answer_id)
    assert (record.question, record.entry_id) == (UNSURE_QUESTION, "return-item")
    history = await stores.conversations.history(CUSTOMER)
    assert history[-1].meta == {"entry_id": "return-item"}

    again = await press(run, asked, offered[0][1])  # pressed twice: answered again
    assert again.params["text"] == RETURN_ANSWER
    assert await stores.tickets.current(CUSTOMER) is None
    # After an answer, an unclear message is asked back again rather than sent to a person.
    reply = await run.ask(CUSTOMER, "?")
    assert reply.params["text"] == TEXTS.get("clarify-rephrase")


async def test_none_of_these_opens_a_ticket_with_the_best_guess(
    run: RunningBot, stores: Stores
) -> None:
    asked = await run.ask(CUSTOMER, UNSURE_QUESTION)
    start = len(run.api.calls)
    told = await press(run, asked, buttons(asked)[-1][1])
    assert told.params["text"].startswith(TEXTS.get("low-confidence-prefix") + " ")
    opening = await ticket_reason(run, start)
    assert "Reason: bot not confident" in opening
    assert RETURN_QUESTION in opening and "pressed “None of these" in opening
    ticket = await stores.tickets.current(CUSTOMER)
    assert (ticket.reason, ticket.question) == ("low_confidence", UNSURE_QUESTION)
    # In the content-gap report once: when the bot asked back, not again at the handoff.
    gaps = await run.app.knowledge.gaps.recent()
    assert [(g.text, g.reason) for g in gaps] == [(UNSURE_QUESTION, "unanswered")]


async def test_second_unsure_question_in_a_row_goes_to_a_person(
    run: RunningBot, stores: Stores
) -> None:
    await run.ask(CUSTOMER, UNSURE_QUESTION)
    start = len(run.api.calls)
    await run.say(CUSTOMER, "Do you sell gift cards for the cinema next door?")
    opening = await ticket_reason(run, start)
    assert "Reason: bot not confident" in opening
    told = await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert told.params["text"].startswith(TEXTS.get("low-confidence-prefix") + " ")


async def test_entry_removed_since_the_buttons_were_sent(
    run: RunningBot, stores: Stores, small_kb: KnowledgeBase
) -> None:
    asked = await run.ask(CUSTOMER, UNSURE_QUESTION)
    kept = tuple(e for e in small_kb.entries if e.id != "return-item")
    run.app.live.kb = replace(small_kb, entries=kept)  # an operator deleted the entry
    gone = await press(run, asked, buttons(asked)[0][1])
    assert gone.params["text"] == TEXTS.get("clarify-entry-gone")
    assert [label for label, _ in buttons(gone)] == [NONE_OF_THESE]
    start = len(run.api.calls)
    await press(run, gone, buttons(gone)[0][1])
    assert "Reason: bot not confident" in await ticket_reason(run, start)


async def test_expired_buttons_offer_a_person(run: RunningBot, stores: Stores) -> None:
    asked = await run.ask(CUSTOMER, UNSURE_QUESTION)
    stale = ClarifyCallback(clarification_id="0123456789ab", choice=0).pack()
    expired = await press(run, asked, stale)
    assert expired.params["text"] == TEXTS.get("clarify-expired")
    assert [label for label, _ in buttons(expired)] == [TEXTS.get("button-human")]
    start = len(run.api.calls)
    await press(run, expired, buttons(expired)[0][1])
    assert "Reason: customer asked for a person" in await ticket_reason(run, start)


async def test_a_person_asked_for_after_a_clarification_is_reached_at_once(
    run: RunningBot,
) -> None:
    await run.ask(CUSTOMER, "😡😡😡🔥")
    start = len(run.api.calls)
    await run.say(CUSTOMER, "I want to talk to a human")
    assert "Reason: customer asked for a person" in await ticket_reason(run, start)


async def test_an_angry_customer_is_not_asked_back(run: RunningBot) -> None:
    start = len(run.api.calls)
    await run.say(CUSTOMER, "Refund?? This is absolutely terrible, I am furious!")
    assert "Reason: customer is upset" in await ticket_reason(run, start)


async def test_chinese_customer_is_asked_back_in_chinese(run: RunningBot, stores: Stores) -> None:
    zh = TEXTS.catalog.texts("zh")
    start = len(run.api.calls)
    await run.say(CUSTOMER, "？？？", language_code="zh-hans")
    reply = await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert reply.params["text"] == zh.get("clarify-rephrase")
    assert [label for label, _ in buttons(reply)] == [zh.get("button-none-of-these")]
    start = len(run.api.calls)
    await run.say(CUSTOMER, "😡😡", language_code="zh-hans")
    assert "Reason: unclear message" in await ticket_reason(run, start)
    assert (await stores.tickets.current(CUSTOMER)).locale == "zh"


async def test_thanks_after_an_answer_is_acknowledged_without_a_ticket(
    run: RunningBot, stores: Stores
) -> None:
    answer = await run.ask(CUSTOMER, "How do I return an item?")
    assert answer.params["text"] == RETURN_ANSWER
    for text in ("thanks!", "ok bye"):  # two in a row: neither is an unclear message
        reply = await run.ask(CUSTOMER, text)
        assert reply.params["text"] == TEXTS.get("clarify-thanks")
        assert "reply_markup" not in reply.params
    await asyncio.sleep(0.2)
    assert await stores.tickets.current(CUSTOMER) is None

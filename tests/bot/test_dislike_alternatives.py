"""After a 👎 the bot offers the other answers for the same question ("Sorry that didn't help. Did
you mean one of these?") and a person, through the real dispatcher and the fake Bot API. A pick is
answered at once and teaches as a "Did you mean …?" choice whose margin leaves the rejected entry
out; a 👎 pressed twice, forged or on an expired answer sends nothing more; the second 👎 in a row
still goes to a person."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.keyboards import ClarifyCallback, FeedbackCallback
from bot.services.events import EventKind, RedisEventLog
from bot.store import Stores
from knowledge_base.learning import neighbours
from tests.support.fake_bot_api import ApiCall
from tests.support.handoff import AGENTS_CHAT, RunningBot, handoff_bot, handoff_settings
from tests.support.texts import TEXTS

# On the small knowledge base this is answered with the delivery entry (confidence ≈ 0.83); the
# return entry scores ≈ 0.50 (offered: the floor is 0.4 here), the other two ≈ 0.1 (not offered).
# The question is nearer the delivery entry than the return one, so only a margin that leaves the
# rejected entry out lets the choice teach (the pick test checks both margins).
RETURN_DELIVERED = "when does my returned parcel get delivered"
RETURN_DELIVERY = "how long for delivery of my return"  # the same, for a second customer (≈ 0.65)
DELIVERY_ANSWER = "Standard delivery takes 3–5 business days; express takes 1–2 days for €9.90."
RETURN_QUESTION = "How do I return an item?"
RETURN_ANSWER = "You can return any item within 30 days at https://shop.example/returns."
ALICE, BOB = 4201, 4202


@pytest_asyncio.fixture
async def run(stores: Stores, retriever, small_kb) -> AsyncIterator[RunningBot]:
    settings = handoff_settings()
    settings.retrieval = settings.retrieval.model_copy(update={"suggest_floor": 0.4})
    settings.learning = settings.learning.model_copy(
        update={"min_customers": 2, "commit_every_s": 0}
    )
    async with handoff_bot(stores, retriever, small_kb, settings) as running:
        yield running


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def thumbs_down(answer: ApiCall) -> str:
    (down,) = [d for _, d in buttons(answer) if d.startswith("fb:") and d.endswith(":0")]
    assert FeedbackCallback.unpack(down).helpful is False
    return down


async def settled(run: RunningBot, timeout: float = 10.0) -> None:
    """Wait until the dispatcher's running handlers are done."""
    await asyncio.sleep(0)
    handlers = set(run.dp._handle_update_tasks)  # aiogram keeps the polled updates' tasks here
    if handlers:
        await asyncio.wait(handlers, timeout=timeout)


async def press(run: RunningBot, chat_id: int, call: ApiCall, data: str) -> list[ApiCall]:
    """``chat_id`` presses ``data`` under ``call``; once the handler is done, the messages the
    bot sent to that chat because of it (the press itself was answered)."""
    start = len(run.api.calls)
    run.api.push_update(run.api.callback_update(chat_id, chat_id, data, call.result["message_id"]))
    await run.api.wait_for("answerCallbackQuery", start=start)
    await settled(run)
    return [
        c
        for c in run.api.calls[start:]
        if c.method == "sendMessage" and c.params["chat_id"] == chat_id
    ]


async def dislike(run: RunningBot, chat_id: int, question: str) -> tuple[ApiCall, ApiCall]:
    """``chat_id`` asks ``question`` and presses 👎 under the answer: the answer, and the one
    message sent after the press."""
    answer = await run.ask(chat_id, question)
    (offer,) = await press(run, chat_id, answer, thumbs_down(answer))
    return answer, offer


async def test_thumbs_down_offers_the_other_answers_and_a_person(
    run: RunningBot, stores: Stores
) -> None:
    answer, offer = await dislike(run, ALICE, RETURN_DELIVERED)
    assert answer.params["text"] == DELIVERY_ANSWER
    toast = run.api.calls_of("answerCallbackQuery")[-1]
    assert toast.params["text"] == TEXTS.get("feedback-thanks-down")  # as before
    assert offer.params["text"] == TEXTS.get("dislike-alternatives")
    offered = buttons(offer)
    # The return entry, never the delivery entry just rejected, then a person.
    assert [label for label, _ in offered] == [
        TEXTS.get("button-did-you-mean", question=RETURN_QUESTION),
        TEXTS.get("button-none-of-these"),
    ]
    # The same buttons and the same kept record as under "Did you mean …?".
    record = await stores.clarifications.get(
        ClarifyCallback.unpack(offered[0][1]).clarification_id
    )
    assert (record.question, record.entry_ids) == (RETURN_DELIVERED, ("return-item",))
    assert (record.reason, record.rejected) == ("disliked", "delivery-time")
    assert await stores.tickets.current(ALICE) is None
    history = await stores.conversations.history(ALICE)
    assert history[-1].meta == {"disliked": "delivery-time"}
    # Not an unclear message: what the customer types next is asked back, not sent to a person.
    unclear = await run.ask(ALICE, "asdfgh")
    assert unclear.params["text"] == TEXTS.get("clarify-rephrase")
    assert await stores.tickets.current(ALICE) is None


async def test_a_pick_answers_at_once_and_teaches_without_the_rejected_entry(
    run: RunningBot, stores: Stores, retriever
) -> None:
    _, offer = await dislike(run, ALICE, RETURN_DELIVERED)
    (picked,) = await press(run, ALICE, offer, buttons(offer)[0][1])
    assert picked.params["text"] == RETURN_ANSWER
    assert [label for label, _ in buttons(picked)][:2] == [
        TEXTS.get("button-helpful"),
        TEXTS.get("button-not-helpful"),
    ]
    events = await RedisEventLog(stores.redis, stores.keys).read()
    answered = [(e.entry_id, e.source) for e in events if e.kind is EventKind.ANSWERED]
    assert answered == [("delivery-time", "faq"), ("return-item", "clarified")]

    # Learning: a "Did you mean …?" choice, judged with the delivery entry left out.
    learning = run.app.learning
    vectors, owners, oos = retriever.served_vectors()
    vector = retriever.phrasing_vectors([RETURN_DELIVERED])[0]
    plain = neighbours(vector, vectors, owners, "return-item", oos)
    assert plain.other_entry == "delivery-time" and plain.margin < 0.0  # would go to an operator
    assert (
        neighbours(vector, vectors, owners, "return-item", oos, exclude="delivery-time").margin > 0
    )
    assert await learning.stats() == {"wait:few_customers": 1}  # not "suggest:near_other_entry"
    (waiting,) = await learning.repository.pending()
    assert (waiting.text, waiting.entry_id, waiting.evidence, waiting.rejected) == (
        RETURN_DELIVERED,
        "return-item",
        "did_you_mean",
        "delivery-time",
    )

    # A second customer does the same: both questions are learned (the first judged again,
    # still without the entry it rejected).
    _, offer = await dislike(run, BOB, RETURN_DELIVERY)
    (picked,) = await press(run, BOB, offer, buttons(offer)[0][1])
    assert picked.params["text"] == RETURN_ANSWER
    learned = await learning.learned()
    assert sorted((p.text, p.entry_id, p.evidence) for p in learned) == [
        (RETURN_DELIVERY, "return-item", "did_you_mean"),
        (RETURN_DELIVERED, "return-item", "did_you_mean"),
    ]
    _, kb = await run.app.knowledge.live()
    assert {RETURN_DELIVERED, RETURN_DELIVERY} <= set(kb["return-item"].alternatives)


async def test_none_of_these_under_the_alternatives_reaches_a_person(
    run: RunningBot, stores: Stores
) -> None:
    _, offer = await dislike(run, ALICE, RETURN_DELIVERED)
    start = len(run.api.calls)
    await press(run, ALICE, offer, buttons(offer)[-1][1])
    await run.api.wait_for("createForumTopic", start=start)
    ticket = await stores.tickets.current(ALICE)
    assert (ticket.reason, ticket.question) == ("asked_for_human", RETURN_DELIVERED)
    assert await run.app.learning.stats() == {}  # nothing was chosen


async def test_with_no_other_answer_only_a_person_is_offered(
    run: RunningBot, stores: Stores
) -> None:
    # Every other entry scores below the floor for this question.
    _, offer = await dislike(run, ALICE, "How long does delivery take?")
    assert offer.params["text"] == TEXTS.get("dislike-no-alternatives")
    assert [label for label, _ in buttons(offer)] == [TEXTS.get("button-human")]
    assert await stores.redis.smembers(stores.keys.chat_clarifications(ALICE)) == set()
    start = len(run.api.calls)
    await press(run, ALICE, offer, buttons(offer)[0][1])
    await run.api.wait_for("createForumTopic", start=start)
    ticket = await stores.tickets.current(ALICE)
    assert (ticket.reason, ticket.question) == ("asked_for_human", "How long does delivery take?")


async def test_thumbs_down_pressed_twice_sends_one_message(
    run: RunningBot, stores: Stores
) -> None:
    answer, _ = await dislike(run, ALICE, RETURN_DELIVERED)
    again = await press(run, ALICE, answer, thumbs_down(answer))
    assert again == []
    assert len(await stores.redis.smembers(stores.keys.chat_clarifications(ALICE))) == 1
    assert await stores.tickets.current(ALICE) is None


async def test_forged_or_expired_thumbs_down_sends_nothing(
    run: RunningBot, stores: Stores
) -> None:
    alices = await run.ask(ALICE, RETURN_DELIVERED)
    bobs = await run.ask(BOB, "How do I reset my password?")
    # Alice's 👎 pressed from Bob's chat: refused, nothing sent to anyone.
    start = len(run.api.calls)
    assert await press(run, BOB, bobs, thumbs_down(alices)) == []
    assert run.api.calls_of("answerCallbackQuery")[-1].params["show_alert"] is True
    assert [c for c in run.api.calls[start:] if c.method == "sendMessage"] == []
    assert await stores.answers.feedback_stats() == {}
    # An answer past the retention: said so, nothing sent.
    answer_id = FeedbackCallback.unpack(thumbs_down(alices)).answer_id
    await stores.redis.pexpire(stores.keys.answer(answer_id), 1)
    await asyncio.sleep(0.05)
    assert await press(run, ALICE, alices, thumbs_down(alices)) == []
    ack = run.api.calls_of("answerCallbackQuery")[-1]
    assert ack.params["text"] == TEXTS.get("feedback-expired")
    assert await stores.redis.smembers(stores.keys.chat_clarifications(ALICE)) == set()


async def test_the_second_thumbs_down_in_a_row_still_hands_off(
    run: RunningBot, stores: Stores
) -> None:
    await dislike(run, ALICE, RETURN_DELIVERED)
    second = await run.ask(ALICE, "Which payment methods do you accept?")
    start = len(run.api.calls)
    sent = await press(run, ALICE, second, thumbs_down(second))
    opening = await run.api.wait_for(
        "sendMessage",
        lambda p: p["chat_id"] == AGENTS_CHAT and "Reason:" in p["text"],
        start=start,
    )
    assert "Reason: two 👎 in a row" in opening.params["text"]
    texts = [c.params["text"] for c in sent]
    assert len(texts) == 1 and TEXTS.get("dislike-alternatives") not in texts
    assert (await stores.tickets.current(ALICE)).reason == "repeated_dislikes"

""" "People also ask" under answers, through the real dispatcher and the fake Bot API: what
other customers asked next (else the nearest entries), pressed, answered and recorded; a button
for an entry deleted since; forged and garbled presses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest_asyncio

from bot.keyboards import RelatedCallback
from bot.services.events import EventKind, RedisEventLog
from bot.services.related import RELATED_NEAREST_SOURCE, RELATED_SOURCE
from bot.store import Stores
from knowledge_base import KnowledgeBase
from tests.support.fake_bot_api import ApiCall
from tests.support.handoff import CUSTOMER, RunningBot, handoff_bot, handoff_settings
from tests.support.texts import TEXTS

OTHER_CUSTOMER = 5353
DELIVERY_Q = "How long does delivery take?"
PAYMENT_Q = "Which payment methods do you accept?"
RETURN_Q = "How do I return an item?"
PAYMENT_ANSWER = "We accept Visa, Mastercard, PayPal, Apple Pay and Google Pay."
FIRST_THREE = [TEXTS.get("button-helpful"), TEXTS.get("button-not-helpful")]
FIRST_THREE.append(TEXTS.get("button-human"))


@pytest_asyncio.fixture
async def run(stores: Stores, retriever, small_kb) -> AsyncIterator[RunningBot]:
    async with handoff_bot(stores, retriever, small_kb, handoff_settings()) as running:
        yield running


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    rows = call.params["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def related(call: ApiCall) -> list[tuple[str, str]]:
    """The "People also ask" buttons under an answer: (offered question, callback data)."""
    found = []
    for label, data in buttons(call):
        if data.startswith("rel:"):
            question = label.removeprefix(TEXTS.get("button-related", question=""))
            found.append((question, data))
    return found


def label_of(question: str) -> str:
    return TEXTS.get("button-related", question=question)


async def press(run: RunningBot, call: ApiCall, data: str, chat_id: int = CUSTOMER) -> int:
    """``chat_id`` presses ``data`` under ``call``; where the API calls after the press start."""
    start = len(run.api.calls)
    run.api.push_update(run.api.callback_update(chat_id, chat_id, data, call.result["message_id"]))
    return start


async def next_message(run: RunningBot, start: int, chat_id: int = CUSTOMER) -> ApiCall:
    return await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == chat_id, start=start)


async def answered(stores: Stores) -> list[tuple[int, str, str]]:
    events = await RedisEventLog(stores.redis, stores.keys).read()
    return [(e.chat_id, e.entry_id, e.source) for e in events if e.kind is EventKind.ANSWERED]


async def test_answer_offers_the_nearest_entries_before_anything_is_learned(
    run: RunningBot,
) -> None:
    reply = await run.ask(CUSTOMER, DELIVERY_Q)
    assert [label for label, _ in buttons(reply)][:3] == FIRST_THREE
    offered = related(reply)
    # Nobody has asked anything after this entry yet: the three other entries, nearest first,
    # never the entry just answered.
    assert {q for q, _ in offered} == {RETURN_Q, PAYMENT_Q, "How do I reset my password?"}
    nearest = run.app.live.retriever.nearest_entries("delivery-time", 3)
    assert [q for q, _ in offered] == [run.app.live.kb[e].question for e in nearest]
    assert all(len(data.encode()) <= 64 for _, data in buttons(reply))


async def test_what_customers_asked_next_comes_first_and_a_press_answers_it(
    run: RunningBot, stores: Stores
) -> None:
    # One customer asks about payment right after delivery…
    await run.ask(OTHER_CUSTOMER, DELIVERY_Q)
    await run.ask(OTHER_CUSTOMER, "can I pay with paypal")
    related_store = run.app.related.repository
    assert await related_store.following("delivery-time") == {"payment-methods": 1.0}

    # …so the next customer asking about delivery is offered payment first.
    reply = await run.ask(CUSTOMER, DELIVERY_Q)
    offered = related(reply)
    assert offered[0][0] == PAYMENT_Q
    before = await answered(stores)

    start = await press(run, reply, offered[0][1])
    answer = await next_message(run, start)
    assert answer.params["text"] == PAYMENT_ANSWER  # at once, the entry's answer as written
    assert [label for label, _ in buttons(answer)][:3] == FIRST_THREE
    # Under it: neither entry of this conversation.
    assert {q for q, _ in related(answer)} == {RETURN_Q, "How do I reset my password?"}

    after = await answered(stores)
    assert after[len(before) :] == [(CUSTOMER, "payment-methods", RELATED_SOURCE)]
    history = await stores.conversations.history(CUSTOMER)
    assert history[-2].text == f"[picked “{PAYMENT_Q}” under “People also ask”]"
    assert history[-1].meta == {"entry_id": "payment-methods"}
    # A press is not learned as "asked next" (the buttons would learn from themselves).
    assert await related_store.following("delivery-time") == {"payment-methods": 1.0}


async def test_a_button_for_an_entry_deleted_since_answers_the_nearest(
    run: RunningBot, stores: Stores, small_kb: KnowledgeBase
) -> None:
    reply = await run.ask(CUSTOMER, DELIVERY_Q)
    question, data = next((q, d) for q, d in related(reply) if q == RETURN_Q)
    kept = tuple(e for e in small_kb.entries if e.id != "return-item")
    run.app.live.kb = replace(small_kb, entries=kept)  # an operator deleted the entry
    before = await answered(stores)

    # The nearest to the deleted entry's question that is left, other than the entry answered.
    found = run.app.live.retriever.search(question, 10).candidates
    nearest = next(c.entry for c in found if c.id in {e.id for e in kept} - {"delivery-time"})

    start = await press(run, reply, data)
    notice = await next_message(run, start)
    assert notice.params["text"] == TEXTS.get(
        "related-gone-nearest", question=question, nearest=nearest.question
    )
    answer = await run.api.wait_for(
        "sendMessage",
        lambda p: p["chat_id"] == CUSTOMER and p["text"] == nearest.answer,
        start=start,
    )
    assert RETURN_Q not in {q for q, _ in related(answer)}
    after = await answered(stores)
    assert after[len(before) :] == [(CUSTOMER, nearest.id, RELATED_NEAREST_SOURCE)]


async def test_a_button_for_a_deleted_entry_with_nothing_near_left(
    run: RunningBot, stores: Stores, small_kb: KnowledgeBase
) -> None:
    reply = await run.ask(CUSTOMER, DELIVERY_Q)
    question, data = related(reply)[0]
    # Only the entry already answered is left.
    kept = tuple(e for e in small_kb.entries if e.id == "delivery-time")
    run.app.live.kb = replace(small_kb, entries=kept)
    before = (await answered(stores), await stores.conversations.history(CUSTOMER))

    start = await press(run, reply, data)
    notice = await next_message(run, start)
    assert notice.params["text"] == TEXTS.get("related-gone", question=question)
    assert [label for label, _ in buttons(notice)] == [TEXTS.get("button-human")]
    await asyncio.sleep(0.2)
    assert (await answered(stores), await stores.conversations.history(CUSTOMER)) == before


async def _stored(stores: Stores) -> dict[str, object]:
    """Everything under the test's prefix but the event stream (every update, pressed buttons
    included, leaves a ``message_received`` record there), and the stream's other events."""
    found: dict[str, object] = {}
    async for key in stores.redis.scan_iter(match=f"{stores.keys.prefix}*"):
        if key == stores.keys.events():
            continue
        kind = await stores.redis.type(key)
        if kind == "string":
            found[key] = await stores.redis.get(key)
        elif kind == "hash":
            found[key] = await stores.redis.hgetall(key)
        elif kind == "zset":
            found[key] = await stores.redis.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            found[key] = await stores.redis.lrange(key, 0, -1)
        elif kind == "set":
            found[key] = await stores.redis.smembers(key)
    events = await RedisEventLog(stores.redis, stores.keys).read()
    found["events"] = [e.kind for e in events if e.kind is not EventKind.MESSAGE_RECEIVED]
    return found


async def test_forged_and_garbled_presses_are_refused_and_change_nothing(
    run: RunningBot, stores: Stores
) -> None:
    reply = await run.ask(CUSTOMER, DELIVERY_Q)
    _, real = related(reply)[0]
    answer_id = RelatedCallback.unpack(real).answer_id
    before = await _stored(stores)
    forged = [
        RelatedCallback(answer_id="ffffffffffff", choice=0).pack(),  # no such answer
        RelatedCallback(answer_id=answer_id, choice=7).pack(),  # no such button
        RelatedCallback(answer_id=answer_id, choice=-1).pack(),
        "rel:" + answer_id,  # garbled: no button number
        "rel:" + answer_id + ":two",
    ]
    unavailable = TEXTS.get("related-unavailable")
    for data in forged:
        start = await press(run, reply, data)
        alert = await run.api.wait_for("answerCallbackQuery", start=start)
        assert (alert.params["text"], alert.params["show_alert"]) == (unavailable, True)
    # Another customer pressing this customer's real button: not offered to them.
    start = await press(run, reply, real, chat_id=OTHER_CUSTOMER)
    alert = await run.api.wait_for("answerCallbackQuery", start=start)
    assert alert.params["text"] == unavailable
    await asyncio.sleep(0.2)
    assert not [c for c in run.api.calls_of("sendMessage") if c.params["chat_id"] != CUSTOMER]
    assert len([c for c in run.api.calls_of("sendMessage")]) == 1  # the answer only
    assert await _stored(stores) == before


async def test_turned_off_there_are_no_buttons(stores: Stores, retriever, small_kb) -> None:
    settings = handoff_settings()
    settings.related = settings.related.model_copy(update={"enabled": False})
    async with handoff_bot(stores, retriever, small_kb, settings) as run:
        reply = await run.ask(CUSTOMER, DELIVERY_Q)
        await run.ask(CUSTOMER, "can I pay with paypal")
        assert [label for label, _ in buttons(reply)] == FIRST_THREE
        assert await run.app.related.repository.following("delivery-time") == {}


async def test_fewer_buttons_when_the_setting_asks(stores: Stores, retriever, small_kb) -> None:
    settings = handoff_settings()
    settings.related = settings.related.model_copy(update={"max_buttons": 1})
    async with handoff_bot(stores, retriever, small_kb, settings) as run:
        reply = await run.ask(CUSTOMER, DELIVERY_Q)
        assert len(related(reply)) == 1
        assert label_of(related(reply)[0][0]) in [label for label, _ in buttons(reply)]

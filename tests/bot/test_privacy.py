"""Customers' data through the real dispatcher, HTTP session and Redis: /mydata, /forget, the
retention sweep, and what is masked where customers' words are reused."""

from __future__ import annotations

import asyncio
import json
import time

from redis.asyncio import Redis

from bot.services.privacy import DAY_S
from bot.store import Turn, TurnRole
from tests.bot.conftest import AGENTS_CHAT_ID, RunningBot

# A ten-digit id, so that it cannot turn up by chance inside a timestamp or a counter.
CUSTOMER = 8_765_432_109
OTHER = 8_123_456_789
AGENT = 777  # ESCALATION__AGENT_IDS of the running_bot fixture
MARKER = "zebra-quince-7731"
EMAIL = "dana.k@example.org"


def _buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _press(run: RunningBot, call, label: str, user: int = CUSTOMER):
    """``user`` presses the button labelled ``label`` under ``call``; the callback's answer."""
    api = run.api
    data = next(b["callback_data"] for b in _buttons(call) if b["text"] == label)
    start = len(api.calls)
    api.push_update(api.callback_update(CUSTOMER, user, data, call.result["message_id"]))
    return await api.wait_for("answerCallbackQuery", start=start)


async def _conversation(run: RunningBot) -> str:
    """A customer who asked, voted, chose a language and is waiting for a person; the ticket id."""
    api = run.api
    reply = await run.ask(CUSTOMER, f"when will my parcel arrive? {MARKER}")
    await _press(run, reply, "👍")
    await run.ask(CUSTOMER, "/language en")
    # Asked back first ("Did you mean …?" / rephrase), then handed over the second time.
    asked = await run.ask(CUSTOMER, f"what is the airspeed of an unladen swallow {MARKER}")
    assert "ticket" not in asked.params["text"]
    told = await run.ask(CUSTOMER, f"the airspeed of a swallow, please {MARKER}")
    assert "not sure" in told.params["text"]
    await api.wait_for("sendMessage", lambda p: p["chat_id"] == AGENTS_CHAT_ID)
    start = len(api.calls)
    await run.say(CUSTOMER, f"my e-mail is {EMAIL}, {MARKER}")
    await api.wait_for(
        "sendMessage",
        lambda p: p["chat_id"] == AGENTS_CHAT_ID and MARKER in p["text"] and "e-mail" in p["text"],
        start=start,
    )
    ticket = await run.app.stores.tickets.current(CUSTOMER)
    assert ticket is not None
    return ticket.id


async def _forget_buttons(run: RunningBot, user: int = CUSTOMER):
    call = await run.ask(CUSTOMER, "/forget")
    assert "cannot be undone" in call.params["text"]
    return call


async def _mentions(redis: Redis, prefix: str, needles: list[str]) -> dict[str, str]:
    """Every key under ``prefix`` whose name or content holds one of ``needles`` (key → why)."""
    found: dict[str, str] = {}
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        kind = await redis.type(key)
        if kind == "string":
            content = [await redis.get(key)]
        elif kind == "hash":
            content = [f"{k}={v}" for k, v in (await redis.hgetall(key)).items()]
        elif kind == "list":
            content = await redis.lrange(key, 0, -1)
        elif kind == "set":
            content = list(await redis.smembers(key))
        elif kind == "zset":
            content = [m for m, _ in await redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            content = [json.dumps(f) for _, f in await redis.xrange(key)]
        else:
            content = []
        for needle in needles:
            if needle in key or any(needle in str(c) for c in content if c is not None):
                found[key] = f"{kind} holds {needle!r}"
    return found


async def _left_behind(redis: Redis, prefix: str) -> dict[str, str]:
    """What still names the customer or holds their marker phrase, once the chat's lock is gone.

    The only thing allowed: Telegram's sending window for the chat (``outbox:limits``), which
    the reply to /forget itself opens and which expires within seconds.
    """
    for _ in range(40):
        found = await _mentions(redis, prefix, [str(CUSTOMER), MARKER, EMAIL])
        found = {
            k: v
            for k, v in found.items()
            if not (":outbox:limits:" in k and await redis.ttl(k) <= 5)
        }
        if not found:
            return found
        await asyncio.sleep(0.1)
    return found


# ---------------------------------------------------------------------- /mydata


async def test_mydata_sends_everything_kept_as_json(running_bot: RunningBot) -> None:
    ticket_id = await _conversation(running_bot)
    api = running_bot.api
    start = len(api.calls)
    await running_bot.say(CUSTOMER, "/mydata")
    sent = await api.wait_for("sendDocument", lambda p: p["chat_id"] == CUSTOMER, start=start)
    upload = sent.files.get("document") or next(iter(sent.files.values()))
    assert upload.filename == "my-data.json"
    export = json.loads(upload.content)
    assert export["customer_id"] == CUSTOMER
    data = export["data"]
    assert any(MARKER in turn["text"] for turn in data["conversation"])
    [answer] = data["answers"]
    assert MARKER in answer["question"] and answer["feedback"] == "up"
    [ticket] = data["tickets"]
    assert ticket["id"] == ticket_id and ticket["reason"] == "low_confidence"
    assert any(EMAIL in turn["text"] for turn in ticket["transcript"])  # agents' copy unmasked
    assert data["language"] == "en"
    # The content-gap log keeps the question masked and without who asked; it is theirs.
    assert sorted(g["text"] for g in data["unanswered_questions"]) == [
        f"the airspeed of a swallow, please {MARKER}",
        f"what is the airspeed of an unladen swallow {MARKER}",
    ]
    # The bot asked back about the first, and both are in the topics report's log.
    [asked_back] = data["clarifications"]
    assert asked_back["question"] == f"what is the airspeed of an unladen swallow {MARKER}"
    assert {q["outcome"] for q in data["questions"]} == {"answered", "clarified", "escalated"}
    assert {e["kind"] for e in data["events"]} >= {"answered", "escalated", "feedback"}
    assert MARKER not in json.dumps(data["events"])  # events carry ids and numbers, no words
    assert "Everything we keep about you" in sent.params["caption"]


async def test_mydata_with_nothing_stored_says_so(running_bot: RunningBot) -> None:
    reply = await running_bot.ask(CUSTOMER, "/mydata")
    assert reply.params["text"].startswith("We keep nothing about you")
    assert not running_bot.api.calls_of("sendDocument")


# ---------------------------------------------------------------------- /forget


async def test_forget_deletes_everything_and_closes_the_open_ticket(
    running_bot: RunningBot, redis_client: Redis, key_prefix: str
) -> None:
    api, app = running_bot.api, running_bot.app
    ticket_id = await _conversation(running_bot)
    ticket = await app.stores.tickets.get(ticket_id)
    # An agent answers in the topic, and an operator makes an FAQ suggestion of the ticket.
    start = len(api.calls)
    api.push_update(
        api.text_update(
            AGENTS_CHAT_ID,
            "Swallows fly at about 11 m/s.",
            user_id=AGENT,
            first_name="Dana",
            message_thread_id=ticket.thread_id,
        )
    )
    await api.wait_for("copyMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    suggestion = await app.knowledge.suggest_from_ticket(ticket_id, "operator")
    assert suggestion is not None and MARKER in suggestion.question
    assert await _mentions(redis_client, key_prefix, [str(CUSTOMER), MARKER])  # the test sees

    question = await _forget_buttons(running_bot)
    start = len(api.calls)
    await _press(running_bot, question, "🗑 Delete my data")
    # The note and the topic's new state go first, within Telegram's limits for the agents' chat.
    done = await api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == CUSTOMER, timeout=20, start=start
    )
    text = done.params["text"]
    assert text.startswith(f"Done. Your open ticket #{ticket_id} is closed")
    for said in ("your conversation", "1 answer(s)", "1 ticket(s)", "your language choice"):
        assert said in text
    note = await api.wait_for(
        "sendMessage",
        lambda p: (
            p["chat_id"] == AGENTS_CHAT_ID
            and p.get("message_thread_id") == ticket.thread_id
            and "asked us to delete their data" in p["text"]
        ),
        start=start,
    )
    assert f"#{ticket_id}" in note.params["text"]

    assert await _left_behind(redis_client, key_prefix) == {}
    # The suggestion keeps the agent's answer, not the customer's words, and left the queue.
    kept = await app.knowledge.suggestions.get(suggestion.id)
    assert kept.question == "[forgotten]" and kept.status == "rejected" and not kept.ticket_id
    assert await app.knowledge.pending_suggestions() == []
    # Counts without identity stay: the 👍 still counts for its entry.
    assert await app.stores.answers.feedback_stats() == {"delivery-time:up": 1}
    assert (await running_bot.ask(CUSTOMER, "/mydata")).params["text"].startswith("We keep")


async def test_forget_pressed_twice_deletes_once(running_bot: RunningBot) -> None:
    api, stores = running_bot.api, running_bot.app.stores
    await running_bot.ask(CUSTOMER, "how long does delivery take?")
    question = await _forget_buttons(running_bot)
    start = len(api.calls)
    await _press(running_bot, question, "🗑 Delete my data")
    await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    # They talk to the bot again; the old button, pressed again, must not delete that.
    await running_bot.ask(CUSTOMER, "how long does delivery take?")
    ack = await _press(running_bot, question, "🗑 Delete my data")
    assert "already answered or has expired" in ack.params["text"]
    assert len(await stores.conversations.history(CUSTOMER)) == 2


async def test_someone_elses_button_changes_nothing(running_bot: RunningBot) -> None:
    stores = running_bot.app.stores
    await running_bot.ask(CUSTOMER, "how long does delivery take?")
    question = await _forget_buttons(running_bot)
    ack = await _press(running_bot, question, "🗑 Delete my data", user=OTHER)
    assert "someone else's" in ack.params["text"] and ack.params["show_alert"] is True
    assert len(await stores.conversations.history(CUSTOMER)) == 2
    # The customer's own press still works afterwards.
    start = len(running_bot.api.calls)
    await _press(running_bot, question, "🗑 Delete my data")
    await running_bot.api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == CUSTOMER and "Done" in p["text"], start=start
    )
    assert await stores.conversations.history(CUSTOMER) == []


async def test_cancel_keeps_everything(running_bot: RunningBot) -> None:
    api, stores = running_bot.api, running_bot.app.stores
    await running_bot.ask(CUSTOMER, "how long does delivery take?")
    question = await _forget_buttons(running_bot)
    start = len(api.calls)
    await _press(running_bot, question, "Cancel")
    told = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert "nothing was deleted" in told.params["text"]
    ack = await _press(running_bot, question, "🗑 Delete my data")  # the answered question
    assert "already answered" in ack.params["text"]
    assert len(await stores.conversations.history(CUSTOMER)) == 2


async def test_forget_with_nothing_stored_says_so(running_bot: RunningBot) -> None:
    question = await _forget_buttons(running_bot)
    start = len(running_bot.api.calls)
    await _press(running_bot, question, "🗑 Delete my data")
    told = await running_bot.api.wait_for(
        "sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start
    )
    assert told.params["text"].startswith("We kept nothing about you but a technical record")


# ---------------------------------------------------------------------- retention


async def test_closed_transcripts_are_masked_then_deleted(running_bot: RunningBot) -> None:
    app = running_bot.app
    ticket_id = await _conversation(running_bot)
    escalation = running_bot.escalation
    from bot.services.escalation import Actor

    await escalation.close(ticket_id, Actor(AGENT, "Dana"))
    closed_at = (await app.stores.tickets.get(ticket_id)).closed_at
    privacy = app.privacy()
    days = app.settings.privacy

    # Within PRIVACY__TRANSCRIPT_DAYS agents still read what the customer wrote.
    await privacy.sweep(now=closed_at + (days.transcript_days - 1) * DAY_S)
    transcript = await app.stores.tickets.transcript(ticket_id)
    assert any(EMAIL in t.text for t in transcript)

    changed = await privacy.sweep(now=closed_at + (days.transcript_days + 1) * DAY_S)
    assert changed["tickets"] == 1
    transcript = await app.stores.tickets.transcript(ticket_id)
    assert not any(EMAIL in t.text for t in transcript)
    assert any("[email]" in t.text for t in transcript)
    ticket = await app.stores.tickets.get(ticket_id)
    assert ticket.customer_name == "" and ticket.status == "closed"
    again = await privacy.sweep(now=closed_at + (days.transcript_days + 2) * DAY_S)
    assert again["tickets"] == 0  # masked once

    later = closed_at + (days.retention_days + 1) * DAY_S
    changed = await privacy.sweep(now=later)
    assert changed["tickets"] == 1
    assert await app.stores.tickets.get(ticket_id) is None
    assert await app.stores.tickets.transcript(ticket_id) == []
    # The events and the content-gap log of that time went with it.
    assert await app.knowledge.gaps.recent() == []
    assert changed["events"] > 0


async def test_one_worker_sweeps_per_interval(running_bot: RunningBot) -> None:
    privacy = running_bot.app.privacy()
    assert await privacy.sweep_once() is not None
    assert await privacy.sweep_once() is None  # another worker would skip too


async def test_active_ticket_is_never_masked_by_the_sweep(running_bot: RunningBot) -> None:
    app = running_bot.app
    ticket_id = await _conversation(running_bot)
    await app.privacy().sweep(now=time.time() + 400 * DAY_S)
    transcript = await app.stores.tickets.transcript(ticket_id)
    assert any(EMAIL in t.text for t in transcript)


# ---------------------------------------------------------------------- reused words


async def test_faq_suggestions_from_tickets_are_masked(running_bot: RunningBot) -> None:
    app = running_bot.app
    ticket, _ = await app.stores.tickets.open(
        CUSTOMER, "Alice", "low_confidence", "where is my order", transcript=()
    )
    await app.stores.tickets.append_turn(
        ticket.id, Turn(TurnRole.CUSTOMER, f"my card 4111 1111 1111 1111 was charged, {EMAIL}")
    )
    await app.stores.tickets.append_turn(
        ticket.id, Turn(TurnRole.AGENT, f"Refunded; we wrote to {EMAIL}.")
    )
    suggestion = await app.knowledge.suggest_from_ticket(ticket.id, "operator")
    assert "4111" not in suggestion.question and EMAIL not in suggestion.question
    assert "[card]" in suggestion.question and "[email]" in suggestion.answer


def test_privacy_sweep_by_hand(
    key_prefix: str, redis_url: str, monkeypatch, capsys, tmp_path
) -> None:
    """``supportbot privacy sweep`` deletes a ticket closed longer ago than the retention."""
    from bot.cli import main
    from bot.store import Stores

    async def closed_ticket(closed_days_ago: float) -> str:
        redis = Redis.from_url(redis_url, decode_responses=True)
        stores = Stores.build(redis, key_prefix, history_ttl_hours=1, history_max_turns=20)
        ticket, _ = await stores.tickets.open(CUSTOMER, "Alice", "low_confidence", MARKER)
        await stores.tickets.close(ticket)
        closed_at = time.time() - closed_days_ago * DAY_S
        await stores.tickets.update(ticket.id, closed_at=closed_at)
        await redis.aclose()
        return ticket.id

    async def exists(ticket_id: str) -> bool:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            return bool(await redis.exists(f"{key_prefix}:ticket:{ticket_id}"))
        finally:
            await redis.aclose()

    old, recent = asyncio.run(closed_ticket(400)), asyncio.run(closed_ticket(1))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("REDIS__URL", redis_url)
    monkeypatch.setenv("REDIS__PREFIX", key_prefix)
    monkeypatch.setenv("PRIVACY__RETENTION_DAYS", "365")
    assert main(["privacy", "sweep"]) == 0
    assert "tickets: 1 masked or deleted" in capsys.readouterr().out
    assert not asyncio.run(exists(old)) and asyncio.run(exists(recent))


def test_bad_privacy_settings_are_named(monkeypatch) -> None:
    import pytest

    from bot.errors import ConfigurationError
    from bot.settings import load_settings

    with pytest.raises(ConfigurationError, match="PRIVACY__TRANSCRIPT_DAYS"):
        load_settings(_env_file=None, privacy={"transcript_days": 400, "retention_days": 365})
    with pytest.raises(ConfigurationError, match="PRIVACY__RETENTION_DAYS"):
        load_settings(_env_file=None, privacy={"retention_days": 0})


async def test_received_updates_are_forgotten_and_aged_out(stores) -> None:
    """The inbox keeps raw updates (text and sender): /forget and the sweep remove them."""
    from bot.inbox import InboxRecords, UpdateInbox
    from bot.settings import InboxSettings
    from common.privacy import Customer, Cutoffs

    inbox = UpdateInbox(stores.redis, stores.keys, InboxSettings())

    def update(user: int, text: str) -> dict:
        sender = {"id": user, "is_bot": False, "first_name": "A"}
        chat = {"id": user, "type": "private"}
        message = {"message_id": 1, "date": 0, "chat": chat, "from": sender, "text": text}
        return {"update_id": user % 1000, "message": message}

    await inbox.put(update(CUSTOMER, MARKER))
    await inbox.put(update(OTHER, "hello"))
    records = InboxRecords(stores.redis, stores.keys)
    customer = Customer(CUSTOMER)
    assert [u["message"]["text"] for u in await records.export(customer)] == [MARKER]
    assert await records.forget(customer) == 1
    assert await records.export(customer) == []
    assert await stores.redis.xlen(stores.keys.inbox()) == 1  # the other customer's stays
    later = time.time() + 60
    assert await records.age_out(Cutoffs(later, later, handled_before=later)) == 1
    assert await stores.redis.xlen(stores.keys.inbox()) == 0


def test_every_kind_of_personal_data_is_named_in_each_language(running_bot: RunningBot) -> None:
    """``/forget`` tells what it deleted: each registered store that is reported has its own
    words in English and Chinese, not the fallback that shows the internal kind."""
    from bot.app import personal_data
    from bot.i18n import Catalog
    from bot.services.privacy import INCIDENTAL

    app = running_bot.app
    kinds = {
        s.data_kind for s in personal_data(app.settings, app.stores, app.knowledge, app.events)
    }
    reported = kinds - INCIDENTAL
    assert {"conversation", "answers", "learning_candidates", "related_questions"} <= reported
    catalog = Catalog.load()
    for language in ("en", "zh"):
        texts = catalog.texts(language)
        for kind in reported:
            named = texts.get("privacy-kind", kind=kind, count=2)
            assert named != f"{kind} (2)", (language, kind)  # the fallback variant

"""Customer conversations through the real dispatcher, HTTP session and Redis."""

from __future__ import annotations

import asyncio

from tests.bot.conftest import AGENTS_CHAT_ID, RunningBot
from tests.support.texts import TEXTS

CUSTOMER = 5001


def _buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def test_start_and_help(running_bot: RunningBot) -> None:
    api = running_bot.api
    api.push_update(api.text_update(CUSTOMER, "/start", first_name="Dana"))
    greeting = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER)
    assert "Hi, Dana" in greeting.params["text"]
    assert "/help" in greeting.params["text"]
    start = len(api.calls)
    api.push_update(api.text_update(CUSTOMER, "/help"))
    help_call = await api.wait_for("sendMessage", start=start)
    assert "Talk to a human" in help_call.params["text"]
    assert "/mydata" in help_call.params["text"] and "/forget" in help_call.params["text"]


async def test_question_gets_faq_answer_with_feedback_buttons(running_bot: RunningBot) -> None:
    reply = await running_bot.ask(CUSTOMER, "when will my parcel arrive?")
    assert reply.params["text"].startswith("Standard delivery takes 3–5 business days")
    labels = [b["text"] for b in _buttons(reply)]
    assert labels[:3] == ["👍", "👎", "Talk to a human"]
    # then "People also ask" (tests/bot/test_related_questions.py)
    assert labels[3:] and all(label.startswith("People also ask: ") for label in labels[3:])
    history = await running_bot.app.stores.conversations.history(CUSTOMER)
    assert [t.role for t in history] == ["customer", "bot"]


async def test_feedback_is_recorded_in_redis(running_bot: RunningBot) -> None:
    api = running_bot.api
    reply = await running_bot.ask(CUSTOMER, "I forgot my password")
    thumbs_down = _buttons(reply)[1]["callback_data"]
    api.push_update(
        api.callback_update(CUSTOMER, CUSTOMER, thumbs_down, reply.result["message_id"])
    )
    ack = await api.wait_for("answerCallbackQuery")
    assert "Thanks" in ack.params["text"]
    stats = await running_bot.app.stores.answers.feedback_stats()
    assert stats == {"reset-password:down": 1}


async def test_talk_to_human_button_opens_ticket_and_notifies_agents(
    running_bot: RunningBot,
) -> None:
    api = running_bot.api
    reply = await running_bot.ask(CUSTOMER, "which payment options are there")
    human = _buttons(reply)[2]["callback_data"]
    start = len(api.calls)
    api.push_update(api.callback_update(CUSTOMER, CUSTOMER, human, reply.result["message_id"]))
    to_agents = await api.wait_for("sendMessage", lambda p: p["chat_id"] == AGENTS_CHAT_ID)
    assert "which payment options are there" in to_agents.params["text"]
    told = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert "support team" in told.params["text"]
    ticket = await running_bot.app.stores.tickets.current(CUSTOMER)
    assert ticket is not None and ticket.reason == "asked_for_human"


async def test_asking_for_a_person_in_words_escalates(running_bot: RunningBot) -> None:
    api = running_bot.api
    api.push_update(api.text_update(CUSTOMER, "I want to talk to a real person please"))
    await api.wait_for("sendMessage", lambda p: p["chat_id"] == AGENTS_CHAT_ID)
    ticket = await running_bot.app.stores.tickets.current(CUSTOMER)
    assert ticket is not None and ticket.reason == "asked_for_human"


async def test_unrelated_question_is_asked_back_then_escalates(running_bot: RunningBot) -> None:
    """The bot asks back first (with a person one press away); asked again, a person takes it."""
    asked = await running_bot.ask(CUSTOMER, "what is the airspeed of an unladen swallow")
    assert asked.params["text"] == TEXTS.get("clarify-rephrase")
    labels = [b["text"] for row in asked.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [TEXTS.get("button-none-of-these")]
    assert await running_bot.app.stores.tickets.current(CUSTOMER) is None
    told = await running_bot.ask(CUSTOMER, "and how fast do pigeons fly")
    assert "not sure" in told.params["text"]
    ticket = await running_bot.app.stores.tickets.current(CUSTOMER)
    assert ticket is not None and ticket.reason == "low_confidence"


async def test_media_gets_a_polite_reply(running_bot: RunningBot) -> None:
    api = running_bot.api
    for number, kind in enumerate(("photo", "sticker", "voice", "document")):
        chat = CUSTOMER + number
        api.push_update(api.media_update(chat, kind))
        reply = await api.wait_for("sendMessage", lambda p, c=chat: p["chat_id"] == c)
        assert "only read text" in reply.params["text"]


async def test_huge_and_unicode_messages(running_bot: RunningBot) -> None:
    api = running_bot.api
    reply = await running_bot.ask(CUSTOMER, "你好!! 🚚 when will my order arrive?")
    assert reply.params["text"].startswith("Standard delivery")
    huge = "My order is wrong and " * 186  # 4092 characters: near Telegram's limit
    api.push_update(api.text_update(CUSTOMER + 1, huge))
    to_agents = await api.wait_for("sendMessage", lambda p: p["chat_id"] == AGENTS_CHAT_ID)
    assert len(to_agents.params["text"]) <= 4096
    ticket = await running_bot.app.stores.tickets.current(CUSTOMER + 1)
    assert ticket is not None and ticket.reason == "long_message"


async def test_one_failing_update_does_not_stop_the_bot(running_bot: RunningBot) -> None:
    api = running_bot.api
    api.fail("sendChatAction", 500, "Internal Server Error", times=None)
    api.fail("sendMessage", 400, "Bad Request: chat not found", times=1)
    api.push_update(api.text_update(CUSTOMER, "return policy"))
    await api.wait_for("sendMessage")  # the failed answer
    await asyncio.sleep(0.2)
    api.push_update(api.text_update(CUSTOMER + 7, "return policy"))
    reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER + 7)
    assert "30 days" in reply.params["text"]

"""Customers' language: remembered /language choice > Telegram language > script > default."""

from __future__ import annotations

from bot.app import BOT_COMMANDS
from bot.i18n import Catalog, script_locale
from bot.services.escalation import Actor
from tests.bot.conftest import RunningBot

CUSTOMER = 5101
CATALOG = Catalog.load()
EN, ZH = CATALOG.texts("en"), CATALOG.texts("zh")


def _buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _say(bot: RunningBot, text: str, **sender) -> dict:
    start = len(bot.api.calls)
    bot.api.push_update(bot.api.text_update(CUSTOMER, text, **sender))
    return await bot.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)


def test_telegram_codes_and_scripts_map_to_catalog_locales() -> None:
    for code in ("zh", "zh-hans", "zh-CN", "zh_TW", "ZH-Hant"):
        assert CATALOG.match(code) == "zh"
    assert CATALOG.match("en-GB") == "en"
    assert CATALOG.match("fr") is None
    assert CATALOG.match(None) is None
    assert script_locale("我的订单什么时候到？") == "zh"
    assert script_locale("我的order在哪里") == "zh"
    assert script_locale("where is my 订单") is None
    assert script_locale("1234 ?!") is None


def test_language_is_in_the_command_menu() -> None:
    assert "language" in [c.command for c in BOT_COMMANDS]


async def test_telegram_language_zh_hans_gets_start_and_help_in_chinese(
    running_bot: RunningBot,
) -> None:
    greeting = await _say(running_bot, "/start", first_name="丽", language_code="zh-hans")
    assert greeting.params["text"] == ZH.get("start", name=", 丽", product=running_bot.app.product)
    help_call = await _say(running_bot, "/help", language_code="zh-hans")
    assert help_call.params["text"] == ZH.get("help")
    assert "转人工客服" in help_call.params["text"]
    assert "/mydata" in help_call.params["text"] and "/forget" in help_call.params["text"]


async def test_telegram_language_en_gets_english(running_bot: RunningBot) -> None:
    help_call = await _say(running_bot, "/help", language_code="en-US")
    assert help_call.params["text"] == EN.get("help")
    other = await _say(running_bot, "/help", language_code="fr")  # no French texts: the default
    assert other.params["text"] == EN.get("help")


async def test_no_language_code_and_chinese_text_gets_chinese(running_bot: RunningBot) -> None:
    reply = await _say(running_bot, "我想找人工客服", language_code=None)
    assert script_locale(reply.params["text"]) == "zh", reply.params["text"]
    english = await _say(running_bot, "/help", language_code=None)
    assert english.params["text"] == EN.get("help")


async def test_language_buttons_store_the_choice_and_it_wins_over_telegram(
    running_bot: RunningBot,
) -> None:
    api, stores = running_bot.api, running_bot.app.stores
    menu = await _say(running_bot, "/language", language_code="en")
    assert menu.params["text"] == EN.get("language-choose")
    buttons = {b["text"]: b["callback_data"] for b in _buttons(menu)}
    assert list(buttons) == ["English", "简体中文"]
    start = len(api.calls)
    api.push_update(
        api.callback_update(
            CUSTOMER, CUSTOMER, buttons["简体中文"], menu.result["message_id"], language_code="en"
        )
    )
    confirmed = ZH.get("language-set", language="简体中文")
    ack = await api.wait_for("answerCallbackQuery", start=start)
    assert ack.params["text"] == confirmed
    told = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert told.params["text"] == confirmed
    assert await stores.languages.get(CUSTOMER) == "zh"
    assert 0 < await stores.redis.ttl(stores.keys.language(CUSTOMER)) <= 365 * 24 * 3600
    # Remembered: Telegram still says English, the customer reads Chinese.
    later = await _say(running_bot, "/help", language_code="en")
    assert later.params["text"] == ZH.get("help")
    # /language en switches back at once.
    back = await _say(running_bot, "/language en", language_code="en")
    assert back.params["text"] == EN.get("language-set", language="English")
    assert await stores.languages.get(CUSTOMER) == "en"


async def test_language_with_a_code_and_an_unknown_code(running_bot: RunningBot) -> None:
    stores = running_bot.app.stores
    unknown = await _say(running_bot, "/language xx", language_code="en")
    assert unknown.params["text"] == EN.get("language-unknown", code="xx", codes="en, zh")
    assert "en, zh" in unknown.params["text"]
    assert await stores.languages.get(CUSTOMER) is None
    assert not await stores.redis.exists(stores.keys.language(CUSTOMER))
    done = await _say(running_bot, "/language zh", language_code="en")
    assert done.params["text"] == ZH.get("language-set", language="简体中文")
    assert await stores.languages.get(CUSTOMER) == "zh"


async def test_notices_outside_a_reply_use_the_remembered_language(
    running_bot: RunningBot,
) -> None:
    """``customer_texts``: an agent closing the ticket reaches the customer in Chinese."""
    api = running_bot.api
    await _say(running_bot, "/language zh", language_code="en")
    told = await _say(running_bot, "I want to talk to a real person please", language_code="en")
    assert "工单" in told.params["text"]
    ticket = await running_bot.app.stores.tickets.current(CUSTOMER)
    assert ticket is not None
    start = len(api.calls)
    await running_bot.escalation.close(ticket.id, Actor(777, "Dana"))
    closing = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert closing.params["text"] == ZH.get("handoff-closed", ticket=ticket.id)
    assert [b["text"] for b in _buttons(closing)] == [f"{n}⭐" for n in range(1, 6)]


async def test_notices_outside_a_reply_follow_the_customer_s_telegram_language(
    running_bot: RunningBot,
) -> None:
    """A customer who never used /language but writes with a Chinese Telegram app: the ticket
    keeps the language they were answered in, and the agent's closing reaches them in Chinese."""
    api = running_bot.api
    told = await _say(
        running_bot, "I want to talk to a real person please", language_code="zh-hans"
    )
    assert "工单" in told.params["text"]
    ticket = await running_bot.app.stores.tickets.current(CUSTOMER)
    assert ticket is not None and ticket.locale == "zh"
    assert await running_bot.app.stores.languages.get(CUSTOMER) is None  # nothing chosen
    start = len(api.calls)
    await running_bot.escalation.close(ticket.id, Actor(777, "Dana"))
    closing = await api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert closing.params["text"] == ZH.get("handoff-closed", ticket=ticket.id)

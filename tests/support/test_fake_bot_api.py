"""The fake Bot API, exercised through a real aiogram Bot / Dispatcher over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberBanned,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from .fake_bot_api import DEFAULT_TOKEN, THREAD_NOT_FOUND, BotAPIError, FakeBotAPI

GROUP = -1001234567890


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = api.make_bot()
    try:
        yield bot
    finally:
        await bot.session.close()


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="👍", callback_data="fb:up"),
                InlineKeyboardButton(text="Talk to a human", callback_data="esc"),
            ]
        ]
    )


@pytest.mark.asyncio
async def test_get_me_describes_the_bot(bot: Bot, api: FakeBotAPI) -> None:
    me = await bot.get_me()

    assert me.is_bot
    assert me.id == int(DEFAULT_TOKEN.split(":")[0])
    assert me.username == api.bot_username
    assert me.has_topics_enabled is False


@pytest.mark.asyncio
async def test_send_message_round_trip_with_reply_markup(bot: Bot, api: FakeBotAPI) -> None:
    first = await bot.send_message(42, "Hello!", reply_markup=_keyboard())
    second = await bot.send_message(42, "Again")

    assert first.text == "Hello!"
    assert first.chat.type == ChatType.PRIVATE
    assert first.from_user is not None and first.from_user.is_bot
    assert first.reply_markup is not None
    assert first.reply_markup.inline_keyboard[0][1].callback_data == "esc"
    assert second.message_id == first.message_id + 1
    call = api.calls_of("sendMessage")[0]
    assert call.params["chat_id"] == 42
    assert call.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "esc"
    assert call.token == DEFAULT_TOKEN
    assert api.sent_texts(42) == ["Hello!", "Again"]
    assert api.sent_texts(43) == []


@pytest.mark.asyncio
async def test_text_limits_raise_bad_request(bot: Bot, api: FakeBotAPI) -> None:
    ok = await bot.send_message(42, "x" * 4096)
    assert len(ok.text or "") == 4096

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(42, "   ")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(42, "some-file-id", caption="c" * 1025)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        button = InlineKeyboardButton(text="b", callback_data="d" * 65)
        await bot.send_message(
            42, "hi", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
        )

    assert api.sent_texts(42) == ["x" * 4096]
    failed = [call for call in api.calls_of("sendMessage") if not call.ok]
    assert [call.error_code for call in failed] == [400, 400, 400]


@pytest.mark.asyncio
async def test_html_entities_are_parsed_like_telegram(bot: Bot) -> None:
    sent = await bot.send_message(
        42, "<b>Refunds</b> take 3&amp;4 days", parse_mode=ParseMode.HTML
    )
    assert sent.text == "Refunds take 3&4 days"

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(42, "fees < 5 EUR", parse_mode=ParseMode.HTML)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(42, "Price: 5.00 EUR!", parse_mode=ParseMode.MARKDOWN_V2)


@pytest.mark.asyncio
async def test_injected_forbidden_hits_only_the_matching_chat(bot: Bot, api: FakeBotAPI) -> None:
    api.fail(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        when=lambda params: params["chat_id"] == 7,
    )

    await bot.send_message(8, "still delivered")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked"):
        await bot.send_message(7, "blocked")
    await bot.send_message(7, "times=1, so this one works")

    assert api.sent_texts(7) == ["times=1, so this one works"]


@pytest.mark.asyncio
async def test_injected_flood_wait_carries_retry_after(bot: Bot, api: FakeBotAPI) -> None:
    rule = api.fail("sendMessage", 429, "Too Many Requests: retry after 1", times=None)

    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(1, "hi")
        assert caught.value.retry_after == 1
    assert rule.hits == 2


@pytest.mark.asyncio
async def test_forum_topic_create_send_delete(bot: Bot, api: FakeBotAPI) -> None:
    topic = await bot.create_forum_topic(GROUP, "Ticket #1 · Alice")
    other = await bot.create_forum_topic(GROUP, "Ticket #2")
    assert topic.name == "Ticket #1 · Alice"
    assert other.message_thread_id > topic.message_thread_id

    sent = await bot.send_message(GROUP, "New ticket", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    assert sent.is_topic_message
    assert sent.chat.is_forum
    assert await bot.close_forum_topic(GROUP, topic.message_thread_id)
    assert await bot.reopen_forum_topic(GROUP, topic.message_thread_id)
    assert await bot.edit_forum_topic(GROUP, topic.message_thread_id, name="Ticket #1 (closed)")
    assert api.topics[(GROUP, topic.message_thread_id)].name == "Ticket #1 (closed)"

    assert await bot.delete_forum_topic(GROUP, topic.message_thread_id)
    api.delete_topic(GROUP, other.message_thread_id)  # deleted by a person in the client
    for thread_id in (topic.message_thread_id, other.message_thread_id):
        with pytest.raises(TelegramBadRequest, match=THREAD_NOT_FOUND.split(": ")[1]):
            await bot.send_message(GROUP, "Reply", message_thread_id=thread_id)
    await bot.send_message(GROUP, "General topic still works")


@pytest.mark.asyncio
async def test_topics_need_a_forum(bot: Bot, api: FakeBotAPI) -> None:
    api.set_chat(GROUP, is_forum=False)
    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await bot.create_forum_topic(GROUP, "Ticket")
    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await bot.create_forum_topic(42, "Ticket")


@pytest.mark.asyncio
async def test_edit_delete_and_not_modified(bot: Bot, api: FakeBotAPI) -> None:
    sent = await bot.send_message(42, "Answer", reply_markup=_keyboard())

    edited = await bot.edit_message_text(
        "Answer (rated)", chat_id=42, message_id=sent.message_id, reply_markup=_keyboard()
    )
    assert isinstance(edited, Message)
    assert edited.text == "Answer (rated)"
    assert edited.edit_date is not None
    assert edited.reply_markup is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Answer (rated)", chat_id=42, message_id=sent.message_id, reply_markup=_keyboard()
        )
    # Like Telegram: an edit without reply_markup drops the inline keyboard.
    await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id, reply_markup=None)
    assert "reply_markup" not in api.messages[(42, sent.message_id)]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id)

    assert await bot.delete_message(42, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(42, sent.message_id)


@pytest.mark.asyncio
async def test_copy_and_forward_reuse_the_source_message(bot: Bot, api: FakeBotAPI) -> None:
    update = api.push_update(api.text_update(42, "My card is blocked", first_name="Bob"))
    source_id = update["message"]["message_id"]

    copied = await bot.copy_message(GROUP, 42, source_id, message_thread_id=5)
    forwarded = await bot.forward_message(GROUP, 42, source_id)

    assert copied.message_id > 0
    assert api.messages[(GROUP, copied.message_id)]["text"] == "My card is blocked"
    assert api.messages[(GROUP, copied.message_id)]["message_thread_id"] == 5
    assert forwarded.text == "My card is blocked"
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.sender_user.first_name == "Bob"


@pytest.mark.asyncio
async def test_upload_get_file_and_download(bot: Bot, api: FakeBotAPI) -> None:
    sent = await bot.send_document(42, BufferedInputFile(b"hello", filename="log.txt"))

    call = api.calls_of("sendDocument")[0]
    assert call.files["document"].content == b"hello"
    assert sent.document is not None and sent.document.file_name == "log.txt"
    file = await bot.get_file(sent.document.file_id)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"hello"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


@pytest.mark.asyncio
async def test_chat_and_member_info(bot: Bot, api: FakeBotAPI) -> None:
    api.set_member_status(GROUP, 5, "kicked")

    chat = await bot.get_chat(GROUP)
    banned = await bot.get_chat_member(GROUP, 5)
    member = await bot.get_chat_member(GROUP, 6)
    me = await bot.get_chat_member(GROUP, bot.id)

    assert chat.is_forum and chat.type == ChatType.SUPERGROUP
    assert isinstance(banned, ChatMemberBanned)
    assert isinstance(member, ChatMemberMember)
    assert me.status == "administrator" and me.can_manage_topics


@pytest.mark.asyncio
async def test_setup_methods(bot: Bot, api: FakeBotAPI) -> None:
    assert await bot.set_my_commands([BotCommand(command="start", description="Start")])
    assert await bot.set_webhook("https://example.invalid/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.invalid/hook"
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.send_chat_action(42, "typing")
    assert await bot.answer_callback_query("123", text="Thanks!")

    assert api.commands == [{"command": "start", "description": "Start"}]
    assert api.calls_of("setWebhook")[0].params["secret_token"] == "s3cret"
    assert (await bot.get_webhook_info()).url == ""


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "document"])
async def test_update_helpers_validate_as_aiogram_updates(
    bot: Bot, api: FakeBotAPI, kind: str
) -> None:
    media = Update.model_validate(api.media_update(-100, kind, user_id=7), context={"bot": bot})
    text = Update.model_validate(
        api.text_update(-100, "/start ref", user_id=7, message_thread_id=3), context={"bot": bot}
    )

    assert media.message is not None and getattr(media.message, kind)
    assert media.message.from_user is not None and media.message.from_user.id == 7
    assert text.message is not None and text.message.message_thread_id == 3
    assert text.message.entities is not None and text.message.entities[0].type == "bot_command"
    assert text.message.message_id == media.message.message_id + 1
    assert text.update_id == media.update_id + 1


@pytest.mark.asyncio
async def test_get_updates_honours_offset(bot: Bot, api: FakeBotAPI) -> None:
    first = api.push_update(api.text_update(42, "one"))
    second = api.push_update(api.text_update(42, "two"))

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    updates = await bot.get_updates(offset=second["update_id"], timeout=0)
    assert [u.message.text for u in updates] == ["two"]

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=30) == []
    assert loop.time() - started < 2.0  # the long poll is capped at max_poll_wait (1 s)
    assert api.pending_updates == []


@pytest.mark.asyncio
async def test_raw_http_json_get_and_unknown_method(api: FakeBotAPI) -> None:
    base = f"{api.base_url}/bot{DEFAULT_TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sendMessage", json={"chat_id": 5, "text": "hi"}) as resp:
            body = await resp.json()
            assert resp.status == 200 and body["result"]["text"] == "hi"
        async with http.get(f"{base}/getMe") as resp:
            assert (await resp.json())["result"]["is_bot"] is True
        async with http.post(f"{base}/fooBar", data={"x": "1"}) as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }


@pytest.mark.asyncio
async def test_custom_handlers_extend_the_fake(bot: Bot, api: FakeBotAPI) -> None:
    def pin(params: dict) -> bool:
        if params["chat_id"] == GROUP:
            raise BotAPIError(400, "Bad Request: not enough rights to manage pinned messages")
        return True

    api.set_handler("pinChatMessage", pin)

    assert await bot.pin_chat_message(42, 1)
    with pytest.raises(TelegramBadRequest, match="not enough rights"):
        await bot.pin_chat_message(GROUP, 1)
    with pytest.raises(TelegramServerError, match="fake unpinChatMessage failed"):
        api.set_handler("unpinChatMessage", lambda params: 1 / 0)
        await bot.unpin_chat_message(42)


@pytest.mark.asyncio
async def test_wait_for_times_out_with_the_calls_seen(bot: Bot, api: FakeBotAPI) -> None:
    await bot.send_message(42, "only this")

    found = await api.wait_for("sendMessage", lambda p: p["text"] == "only this")
    assert found.params["chat_id"] == 42
    with pytest.raises(TimeoutError, match="only this"):
        await api.wait_for("sendMessage", start=len(api.calls), timeout=0.2)


@pytest.mark.asyncio
async def test_dispatcher_polling_replies_to_text_callback_and_media(
    bot: Bot, api: FakeBotAPI
) -> None:
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}", reply_markup=_keyboard())

    @router.message(F.photo)
    async def on_photo(message: Message, bot: Bot) -> None:
        data = await bot.download(message.photo[-1].file_id)
        await message.answer(f"photo bytes: {len(data.read())}")

    @router.callback_query(F.data == "fb:up")
    async def on_feedback(query: CallbackQuery) -> None:
        await query.answer("Thanks!")

    dp = Dispatcher()
    dp.include_router(router)
    api.push_update(api.text_update(42, "How do I reset my PIN?", message_thread_id=None))
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    try:
        reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == 42)
        assert reply.params["text"] == "echo: How do I reset my PIN?"
        answer_id = reply.result["message_id"]

        api.push_update(api.callback_update(42, 42, "fb:up", answer_id))
        answered = await api.wait_for("answerCallbackQuery")
        assert answered.params["text"] == "Thanks!"

        api.push_update(api.media_update(42, "photo", content=b"12345"))
        photo_reply = await api.wait_for("sendMessage", lambda p: "photo" in p["text"])
        assert photo_reply.params["text"] == "photo bytes: 5"
    finally:
        await asyncio.wait_for(dp.stop_polling(), timeout=5)
        await asyncio.wait_for(polling, timeout=5)
    assert api.calls_of("getMe")

"""A small local fake of the Telegram Bot API for tests.

Bot flows under test run through the real aiogram ``Bot`` / ``Dispatcher`` and a real aiohttp
HTTP session; only the Telegram server is replaced by this loopback aiohttp app. It records every
call, answers with objects shaped like the real Bot API (so aiogram parses them), enforces the
limits that bite in production (text length, empty text, caption length, callback data size,
HTML / MarkdownV2 entity parsing, "message is not modified"), serves long-polling ``getUpdates``
and lets a test inject failures (403 blocked, 400 thread not found, 429 flood wait, ...).

Typical use::

    async with FakeBotAPI() as api:
        bot = api.make_bot()
        api.push_update(api.text_update(chat_id=42, text="/start"))
        ...  # run the dispatcher
        call = await api.wait_for("sendMessage", lambda p: p["chat_id"] == 42)
        await bot.session.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from aiohttp import web

if TYPE_CHECKING:
    from aiogram import Bot

DEFAULT_TOKEN = "123456789:TEST-fake-bot-api-token"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
TOPIC_NAME_LIMIT = 128
TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")

THREAD_NOT_FOUND = "Bad Request: message thread not found"
MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a content and reply markup of the current message"
)

# What a message may carry besides text: as a send's form field, a file id or URL (a string).
_MEDIA_FIELDS = ("photo", "document", "voice", "sticker", "audio", "video", "animation")
# Form fields that are always strings; every other form value is decoded (ints, bools, JSON).
_STRING_FIELDS = frozenset(
    {
        *_MEDIA_FIELDS,
        "text",
        "caption",
        "parse_mode",
        "name",
        "callback_query_id",
        "url",
        "action",
        "emoji",
        "title",
        "description",
        "short_description",
        "icon_custom_emoji_id",
        "secret_token",
        "file_id",
        "video_note",
        "thumbnail",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "custom_title",
        "query",
        "ip_address",
        "certificate",
    }
)
_SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendvoice",
        "sendsticker",
        "copymessage",
        "forwardmessage",
        "sendchataction",
    }
)
# Update types Telegram leaves out when allowed_updates is empty.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+\.\d+")


class BotAPIError(Exception):
    """An error answer (HTTP status == error_code, like the real server); handlers may raise it."""

    def __init__(self, error_code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (aiogram sends ``photo=attach://<key>`` + the part)."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class ApiCall:
    """One request the bot made: decoded params plus the answer the fake gave."""

    method: str
    params: dict[str, Any]
    token: str
    files: dict[str, UploadedFile] = field(default_factory=dict)
    http_method: str = "POST"
    result: Any = None
    error_code: int | None = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass
class FailureRule:
    """An injected failure; ``times=None`` means every matching call fails."""

    method: str
    error_code: int
    description: str
    times: int | None
    when: Callable[[dict[str, Any]], bool]
    parameters: dict[str, Any] | None = None
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass
class Topic:
    """A forum topic the fake knows about."""

    chat_id: int
    message_thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False


@dataclass
class StoredFile:
    """A file getFile / the download route can serve."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


class Sender(TypedDict, total=False):
    """Who sends a user's message, and where: by default the private chat's own user (in a group,
    user 10001), first name "Alice", language "en", no username, not in a topic."""

    user_id: int | None
    first_name: str
    username: str | None
    language_code: str | None
    message_thread_id: int | None


class FakeBotAPI:
    """Loopback fake Telegram Bot API server (aiohttp.web) with call recording."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_first_name: str = "Support Bot",
        bot_username: str = "support_test_bot",
        topics_in_private_chats: bool = False,
        default_member_status: str = "member",
        max_poll_wait: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        self.topics_in_private_chats = topics_in_private_chats
        self.default_member_status = default_member_status
        self.max_poll_wait = max_poll_wait

        self.calls: list[ApiCall] = []
        self.topics: dict[tuple[int, int], Topic] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: list[dict[str, Any]] = []
        self.webhook_url = ""
        self.dropped_updates: list[dict[str, Any]] = []

        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._failures: list[FailureRule] = []
        self._stalls: list[FailureRule] = []  # error_code unused; description holds the delay
        self._handlers: dict[str, Callable[[ApiCall], Any]] = {}
        self._custom_handlers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._message_ids: dict[int, int] = {}
        self._deleted_messages: set[tuple[int, int]] = set()
        self._chat_overrides: dict[int, dict[str, Any]] = {}
        self._username_chats: dict[str, int] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._calls_changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._register_handlers()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Start listening on a free loopback port; returns the base URL."""
        if self._base_url is not None:
            return self._base_url
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._closing.clear()
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._base_url = f"http://{self.host}:{self.port}"
        return self._base_url

    async def stop(self) -> None:
        """Wake pending long polls and shut the server down (bounded)."""
        self._closing.set()
        self._wake_updates()
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), timeout=5.0)
        self._runner = None
        self._base_url = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._base_url

    def make_bot(self, token: str = DEFAULT_TOKEN, **bot_kwargs: Any) -> Bot:
        """A real aiogram Bot whose AiohttpSession talks to this server (close its session)."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(token=token, session=session, **bot_kwargs)

    # ------------------------------------------------------------------ recorded calls

    def calls_of(self, method: str) -> list[ApiCall]:
        """All recorded calls of ``method`` (case-insensitive), failed ones included."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of successful sendMessage calls (as sent, markup included), oldest first."""
        texts = []
        for call in self.calls_of("sendMessage"):
            if not call.ok:
                continue
            if chat_id is not None and str(call.params.get("chat_id")) != str(chat_id):
                continue
            texts.append(call.params.get("text", ""))
        return texts

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
        *,
        start: int = 0,
    ) -> ApiCall:
        """Return the first call in ``calls[start:]`` of ``method`` whose params match.

        Waits (at most ``timeout`` seconds) for it to arrive; raises TimeoutError listing the
        calls seen. Pass ``start=len(api.calls)`` to ignore calls made before now.
        """
        wanted = method.lower()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            for call in self.calls[index:]:
                if call.method.lower() == wanted and (predicate is None or predicate(call.params)):
                    return call
            index = max(index, len(self.calls))
            changed = self._calls_changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                # Empty long polls are noise; count them instead of listing them.
                idle = [c for c in self.calls if c.method == "getUpdates" and c.result == []]
                shown = [_describe(c) for c in self.calls if not any(c is i for i in idle)]
                if idle:
                    shown.append(f"(+{len(idle)} empty getUpdates)")
                seen = "\n  ".join(shown) or "(none)"
                raise TimeoutError(
                    f"no matching {method} call within {timeout}s; calls seen:\n  {seen}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def clear(self) -> None:
        """Forget recorded calls (state such as topics, messages and failures is kept)."""
        self.calls.clear()

    # ------------------------------------------------------------------ test-side controls

    def fail(
        self,
        method: str,
        error_code: int,
        description: str,
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
        *,
        parameters: dict[str, Any] | None = None,
    ) -> FailureRule:
        """Make the next ``times`` matching calls of ``method`` fail (``None``: all of them).

        A 429 gets ``parameters={"retry_after": 1}`` unless parameters are given.
        """
        if parameters is None and error_code == 429:
            parameters = {"retry_after": 1}
        rule = FailureRule(method.lower(), error_code, description, times, when, parameters)
        self._failures.append(rule)
        return rule

    def stall(self, method: str, seconds: float, times: int | None = 1) -> FailureRule:
        """Answer the next ``times`` calls of ``method`` only after ``seconds`` (a slow server:
        the client's timeout fires first). The call itself is carried out afterwards."""
        rule = FailureRule(method.lower(), 0, str(seconds), times, lambda params: True)
        self._stalls.append(rule)
        return rule

    def set_handler(self, method: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Answer ``method`` with ``handler(params)`` (a JSON-able result); overrides built-ins."""
        self._custom_handlers[method.lower()] = handler

    def set_chat(self, chat_id: int, **fields: Any) -> None:
        """Override the Chat fields the fake reports, e.g. ``set_chat(-100, is_forum=False)``."""
        self._chat_overrides.setdefault(chat_id, {}).update(fields)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember reports for this user (default: ``default_member_status``)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {MEMBER_STATUSES}, got {status!r}")
        self._member_status[(chat_id, user_id)] = status

    def delete_topic(self, chat_id: int, message_thread_id: int) -> None:
        """Simulate a topic deleted by a person: sends into it now fail with 400."""
        topic = self.topics.get((chat_id, message_thread_id))
        if topic is None:
            topic = Topic(chat_id, message_thread_id, f"Topic {message_thread_id}", 7322096)
            self.topics[(chat_id, message_thread_id)] = topic
        topic.deleted = True

    def add_file(self, content: bytes, *, file_path: str = "documents/file.bin") -> StoredFile:
        """Register downloadable content; returns the stored file (use its ``file_id``)."""
        return self._store_file(content, file_path)

    # ------------------------------------------------------------------ updates

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (assigns ``update_id`` when missing)."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id()
        self._last_update_id = max(self._last_update_id, update["update_id"])
        self._remember_update_message(update)
        self._updates.append(update)
        self._wake_updates()
        return update

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def text_update(self, chat_id: int, text: str, **sender: Unpack[Sender]) -> dict[str, Any]:
        """An Update dict with a text message from a user (commands get a bot_command entity)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self._user_update(chat_id, content, sender)

    def media_update(
        self,
        chat_id: int,
        kind: str,
        *,
        caption: str | None = None,
        content: bytes | None = None,
        **sender: Unpack[Sender],
    ) -> dict[str, Any]:
        """An Update dict with a photo / sticker / voice / document message (downloadable)."""
        media = self._media_content(kind, content)
        if caption is not None and kind != "sticker":
            media["caption"] = caption
        return self._user_update(chat_id, media, sender)

    def callback_update(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        message_id: int,
        *,
        first_name: str = "Alice",
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """An Update dict with a callback query pressed on ``message_id`` in ``chat_id``."""
        message = self.messages.get((chat_id, message_id))
        if message is None:
            message = self._unseen_bot_message(chat_id, message_id, DEFAULT_TOKEN)
        query = {
            "id": str(next(self._callback_seq) + 7_000_000_000),
            "from": self._user(user_id, first_name, None, language_code),
            "message": message,
            "chat_instance": str(abs(chat_id) * 31 + 17),
            "data": data,
        }
        return {"update_id": self._next_update_id(), "callback_query": query}

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params, files = await _read_params(request)
        except ValueError as error:
            return _error_response(BotAPIError(400, f"Bad Request: {error}"))
        call = ApiCall(method, params, token, files, request.method)
        try:
            result = await self._dispatch(call)
        except BotAPIError as error:
            call.error_code, call.description = error.error_code, error.description
            self._record(call)
            return _error_response(error)
        except Exception as error:  # a bug in the fake or a custom handler: say so loudly
            failure = BotAPIError(500, f"Internal Server Error: fake {method} failed: {error!r}")
            call.error_code, call.description = failure.error_code, failure.description
            self._record(call)
            return _error_response(failure)
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        file_path = request.match_info["file_path"]
        for stored in self.files.values():
            if stored.file_path == file_path:
                return web.Response(body=stored.content)
        return _error_response(BotAPIError(404, "Not Found"))

    async def _dispatch(self, call: ApiCall) -> Any:
        name = call.method.lower()
        for rule in self._stalls:
            if rule.method == name and not rule.exhausted:
                rule.hits += 1
                await asyncio.sleep(float(rule.description))
        for rule in self._failures:
            if rule.method == name and not rule.exhausted and _matches(rule, call.params):
                rule.hits += 1
                raise BotAPIError(rule.error_code, rule.description, rule.parameters)
        if name in self._custom_handlers:
            return self._custom_handlers[name](call.params)
        if name == "getupdates":
            return await self._get_updates(call.params)
        handler = self._handlers.get(name)
        if handler is None:
            raise BotAPIError(404, "Not Found: method not found")
        if name in _SEND_METHODS:
            self._check_thread(call.params)
        return handler(call)

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        changed, self._calls_changed = self._calls_changed, asyncio.Event()
        changed.set()

    def _wake_updates(self) -> None:
        changed, self._updates_changed = self._updates_changed, asyncio.Event()
        changed.set()

    # ------------------------------------------------------------------ methods

    def _register_handlers(self) -> None:
        self._handlers = {
            "getme": lambda call: self._bot_user(call.token, full=True),
            "sendmessage": self._send_message,
            "sendphoto": lambda call: self._send_media(call, "photo"),
            "senddocument": lambda call: self._send_media(call, "document"),
            "sendvoice": lambda call: self._send_media(call, "voice"),
            "sendsticker": lambda call: self._send_media(call, "sticker"),
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_reply_markup,
            "deletemessage": self._delete_message,
            "sendchataction": lambda call: self._require_chat(call.params) and True,
            "answercallbackquery": lambda call: True,
            "setmycommands": self._set_my_commands,
            "getmycommands": lambda call: self.commands,
            "deletemycommands": self._delete_my_commands,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": lambda call: {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            },
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "createforumtopic": self._create_forum_topic,
            "editforumtopic": self._edit_forum_topic,
            "closeforumtopic": lambda call: self._set_topic_closed(call, closed=True),
            "reopenforumtopic": lambda call: self._set_topic_closed(call, closed=False),
            "deleteforumtopic": self._delete_forum_topic,
            "getfile": self._get_file,
            "close": lambda call: True,
            "logout": lambda call: True,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        allowed = params.get("allowed_updates") or []
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            deliverable = []
            for update in list(self._updates):
                if _update_allowed(update, allowed):
                    deliverable.append(update)
                else:
                    self._updates.remove(update)
                    self.dropped_updates.append(update)
            if deliverable or self._closing.is_set():
                return deliverable[:limit]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            try:
                await asyncio.wait_for(self._updates_changed.wait(), remaining)
            except TimeoutError:
                return []

    def _send_message(self, call: ApiCall) -> dict[str, Any]:
        params = call.params
        chat_id = self._require_chat(params)
        text = _plain_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "message")
        _check_markup(params.get("reply_markup"))
        content: dict[str, Any] = {"text": text}
        return self._bot_message(call, chat_id, content)

    def _send_media(self, call: ApiCall, kind: str) -> dict[str, Any]:
        params = call.params
        chat_id = self._require_chat(params)
        source = params.get(kind)
        if not source:
            raise BotAPIError(400, f"Bad Request: there is no {kind} in the request")
        upload = call.files.get(kind) or _attached(source, call.files)
        if upload is not None:
            content = self._media_content(kind, upload.content, filename=upload.filename)
        else:
            content = self._media_content(kind, None, file_id=str(source))
        if kind != "sticker" and params.get("caption"):
            content["caption"] = _plain_text(
                params["caption"], params.get("parse_mode"), CAPTION_LIMIT, "caption"
            )
        _check_markup(params.get("reply_markup"))
        return self._bot_message(call, chat_id, content)

    def _copy_message(self, call: ApiCall) -> dict[str, Any]:
        params = call.params
        chat_id = self._require_chat(params)
        content = self._source_content(params, "copy")
        if params.get("caption"):
            content["caption"] = _plain_text(
                params["caption"], params.get("parse_mode"), CAPTION_LIMIT, "caption"
            )
        _check_markup(params.get("reply_markup"))
        message = self._bot_message(call, chat_id, content)
        return {"message_id": message["message_id"]}

    def _forward_message(self, call: ApiCall) -> dict[str, Any]:
        params = call.params
        chat_id = self._require_chat(params)
        source = self.messages.get(
            (self._chat_id(params.get("from_chat_id")), int(params.get("message_id") or 0))
        )
        content = self._source_content(params, "forward")
        if source is not None and "from" in source:
            content["forward_origin"] = {
                "type": "user",
                "date": source["date"],
                "sender_user": source["from"],
            }
        else:
            content["forward_origin"] = {
                "type": "hidden_user",
                "date": _now(),
                "sender_user_name": "Hidden User",
            }
        message = self._bot_message(call, chat_id, content, echo_markup=False)
        return message

    def _edit_message_text(self, call: ApiCall) -> dict[str, Any] | bool:
        params = call.params
        text = _plain_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "message")
        return self._edit_message(call, {"text": text})

    def _edit_reply_markup(self, call: ApiCall) -> dict[str, Any] | bool:
        return self._edit_message(call, {})

    def _edit_message(self, call: ApiCall, changes: dict[str, Any]) -> dict[str, Any] | bool:
        """Apply ``changes`` and the call's reply markup to a sent message, as Telegram does.

        An unknown message is edited as if the bot had sent it with no text; an edit that changes
        nothing fails with "message is not modified".
        """
        params = call.params
        _check_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        key = self._message_key(params, "edit")
        markup = _inline_markup(params.get("reply_markup"))
        message = self.messages.get(key)
        if message is None:
            message = self._unseen_bot_message(key[0], key[1], call.token)
        elif message.get("reply_markup") == markup and all(
            message.get(field) == value for field, value in changes.items()
        ):
            raise BotAPIError(400, MESSAGE_NOT_MODIFIED)
        message = {k: v for k, v in message.items() if k != "reply_markup"}
        message.update(changes, edit_date=_now())
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[key] = message
        return message

    def _delete_message(self, call: ApiCall) -> bool:
        key = self._message_key(call.params, "delete")
        self.messages.pop(key, None)
        self._deleted_messages.add(key)
        return True

    def _set_my_commands(self, call: ApiCall) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise BotAPIError(400, "Bad Request: commands must be a list")
        self.commands = commands
        return True

    def _delete_my_commands(self, call: ApiCall) -> bool:
        self.commands = []
        return True

    def _delete_webhook(self, call: ApiCall) -> bool:
        self.webhook_url = ""
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, call: ApiCall) -> bool:
        self.webhook_url = str(call.params.get("url") or "")
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_chat(self, call: ApiCall) -> dict[str, Any]:
        chat = self._chat(self._require_chat(call.params))
        chat.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return chat

    def _get_chat_member(self, call: ApiCall) -> dict[str, Any]:
        chat_id = self._require_chat(call.params)
        user_id = int(call.params.get("user_id") or 0)
        bot_id = _bot_id(call.token)
        if user_id == bot_id:
            user = self._bot_user(call.token)
            default = "administrator" if chat_id < 0 else "member"
        else:
            user = self._users.get(user_id) or {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User {user_id}",
            }
            default = self.default_member_status
        return _chat_member(self._member_status.get((chat_id, user_id), default), user)

    def _create_forum_topic(self, call: ApiCall) -> dict[str, Any]:
        params = call.params
        chat_id = self._require_chat(params)
        chat = self._chat(chat_id)
        forum = chat.get("is_forum") or (
            chat["type"] == "private" and self.topics_in_private_chats
        )
        if not forum:
            raise BotAPIError(400, "Bad Request: the chat is not a forum")
        name = str(params.get("name") or "")
        if not name:
            raise BotAPIError(400, "Bad Request: TOPIC_TITLE_EMPTY")
        if len(name) > TOPIC_NAME_LIMIT:
            raise BotAPIError(400, "Bad Request: TOPIC_TITLE_INVALID")
        icon_color = int(params.get("icon_color") or TOPIC_ICON_COLORS[0])
        if icon_color not in TOPIC_ICON_COLORS:
            raise BotAPIError(400, "Bad Request: TOPIC_ICON_COLOR_INVALID")
        # Like Telegram: the thread id is the id of the topic's service message.
        thread_id = self._next_message_id(chat_id)
        topic = Topic(chat_id, thread_id, name, icon_color, params.get("icon_custom_emoji_id"))
        self.topics[(chat_id, thread_id)] = topic
        result: dict[str, Any] = {
            "message_thread_id": thread_id,
            "name": name,
            "icon_color": icon_color,
        }
        if topic.icon_custom_emoji_id:
            result["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        return result

    def _existing_topic(self, call: ApiCall) -> Topic | None:
        chat_id = self._require_chat(call.params)
        thread_id = int(call.params.get("message_thread_id") or 0)
        topic = self.topics.get((chat_id, thread_id))
        if topic is not None and topic.deleted:
            raise BotAPIError(400, "Bad Request: TOPIC_ID_INVALID")
        return topic

    def _edit_forum_topic(self, call: ApiCall) -> bool:
        topic = self._existing_topic(call)
        if topic is not None:
            if call.params.get("name"):
                topic.name = str(call.params["name"])
            if "icon_custom_emoji_id" in call.params:
                topic.icon_custom_emoji_id = call.params["icon_custom_emoji_id"] or None
        return True

    def _set_topic_closed(self, call: ApiCall, *, closed: bool) -> bool:
        topic = self._existing_topic(call)
        if topic is not None:
            if topic.closed == closed:
                raise BotAPIError(400, "Bad Request: TOPIC_NOT_MODIFIED")
            topic.closed = closed
        return True

    def _delete_forum_topic(self, call: ApiCall) -> bool:
        topic = self._existing_topic(call)
        chat_id = self._require_chat(call.params)
        thread_id = int(call.params.get("message_thread_id") or 0)
        if topic is None:
            self.delete_topic(chat_id, thread_id)
        else:
            topic.deleted = True
        return True

    def _get_file(self, call: ApiCall) -> dict[str, Any]:
        stored = self.files.get(str(call.params.get("file_id") or ""))
        if stored is None:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    # ------------------------------------------------------------------ building objects

    def _bot_user(self, token: str, *, full: bool = False) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": _bot_id(token),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }
        if full:
            user.update(
                {
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                    "can_connect_to_business": False,
                    "has_main_web_app": False,
                    "has_topics_enabled": self.topics_in_private_chats,
                    "allows_users_to_create_topics": False,
                }
            )
        return user

    def _user(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            user = self._users.get(chat_id, {})
            chat: dict[str, Any] = {
                "id": chat_id,
                "type": "private",
                "first_name": user.get("first_name", f"User {chat_id}"),
            }
            if "username" in user:
                chat["username"] = user["username"]
        elif chat_id in self._username_chats.values():
            username = next(k for k, v in self._username_chats.items() if v == chat_id)
            chat = {"id": chat_id, "type": "channel", "title": username, "username": username}
        else:
            chat = {
                "id": chat_id,
                "type": "supergroup",
                "title": f"Group {chat_id}",
                "is_forum": True,
            }
        chat.update(self._chat_overrides.get(chat_id, {}))
        return chat

    def _chat_id(self, raw: Any) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        text = str(raw or "")
        if _INT_RE.fullmatch(text):
            return int(text)
        if text.startswith("@") and len(text) > 1:
            name = text[1:]
            if name not in self._username_chats:
                self._username_chats[name] = -1_000_000_000_000 - len(self._username_chats) - 1
            return self._username_chats[name]
        raise BotAPIError(400, "Bad Request: chat not found")

    def _require_chat(self, params: dict[str, Any]) -> int:
        if params.get("chat_id") in (None, ""):
            raise BotAPIError(400, "Bad Request: chat_id is empty")
        return self._chat_id(params["chat_id"])

    def _check_thread(self, params: dict[str, Any]) -> None:
        thread_id = params.get("message_thread_id")
        if not thread_id or params.get("chat_id") in (None, ""):
            return
        topic = self.topics.get((self._chat_id(params["chat_id"]), int(thread_id)))
        if topic is not None and topic.deleted:
            raise BotAPIError(400, THREAD_NOT_FOUND)

    def _message_key(self, params: dict[str, Any], action: str) -> tuple[int, int]:
        chat_id = self._require_chat(params)
        message_id = int(params.get("message_id") or 0)
        if not message_id:
            raise BotAPIError(400, "Bad Request: message identifier is not specified")
        key = (chat_id, message_id)
        if key in self._deleted_messages:
            raise BotAPIError(400, f"Bad Request: message to {action} not found")
        return key

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _next_update_id(self) -> int:
        self._last_update_id = max(self._last_update_id, next(self._update_ids))
        return self._last_update_id

    def _new_message(
        self, chat_id: int, sender: dict[str, Any], thread_id: int | None
    ) -> dict[str, Any]:
        chat = self._chat(chat_id)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": sender,
            "date": _now(),
            "chat": chat,
        }
        if thread_id:
            message["message_thread_id"] = int(thread_id)
            if chat.get("is_forum") or chat["type"] == "private":
                message["is_topic_message"] = True
        return message

    def _bot_message(
        self, call: ApiCall, chat_id: int, content: dict[str, Any], *, echo_markup: bool = True
    ) -> dict[str, Any]:
        params = call.params
        message = self._new_message(
            chat_id, self._bot_user(call.token), params.get("message_thread_id")
        )
        reply_to = _reply_to_id(params)
        if reply_to and (chat_id, reply_to) in self.messages:
            message["reply_to_message"] = {
                k: v
                for k, v in self.messages[(chat_id, reply_to)].items()
                if k != "reply_to_message"
            }
        message.update(content)
        markup = _inline_markup(params.get("reply_markup")) if echo_markup else None
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _user_update(
        self, chat_id: int, content: dict[str, Any], sender: Sender
    ) -> dict[str, Any]:
        """An Update dict with a message of ``content`` from ``sender`` (see ``Sender``)."""
        user_id = sender.get("user_id")
        if user_id is None:
            user_id = chat_id if chat_id > 0 else 10_001
        user = self._user(
            user_id,
            sender.get("first_name", "Alice"),
            sender.get("username"),
            sender.get("language_code", "en"),
        )
        message = self._new_message(chat_id, user, sender.get("message_thread_id"))
        message.update(content)
        self.messages[(chat_id, message["message_id"])] = message
        return {"update_id": self._next_update_id(), "message": message}

    def _unseen_bot_message(self, chat_id: int, message_id: int, token: str) -> dict[str, Any]:
        """A message the fake never saw, taken to be one the bot sent earlier without text."""
        return {
            "message_id": message_id,
            "date": _now(),
            "chat": self._chat(chat_id),
            "from": self._bot_user(token),
            "text": "",
        }

    def _remember_update_message(self, update: dict[str, Any]) -> None:
        message = update.get("message") or update.get("edited_message")
        if isinstance(message, dict) and "chat" in message and "message_id" in message:
            chat_id = message["chat"]["id"]
            self.messages[(chat_id, message["message_id"])] = message
            self._message_ids[chat_id] = max(
                self._message_ids.get(chat_id, 0), message["message_id"]
            )

    def _source_content(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        key = (self._chat_id(params.get("from_chat_id")), int(params.get("message_id") or 0))
        if key in self._deleted_messages:
            raise BotAPIError(400, f"Bad Request: message to {action} not found")
        source = self.messages.get(key, {})
        copied = ("text", "entities", "caption", "caption_entities", *_MEDIA_FIELDS)
        return {k: source[k] for k in copied if k in source}

    def _store_file(self, content: bytes, file_path: str) -> StoredFile:
        n = next(self._file_seq)
        stem, dot, ext = file_path.rpartition(".")
        path = f"{stem}_{n}.{ext}" if dot else f"{file_path}_{n}"
        stored = StoredFile(f"FAKEFILE{n:06d}-AgADfake", f"AQADuniq{n:06d}", path, content)
        self.files[stored.file_id] = stored
        return stored

    def _media_content(
        self,
        kind: str,
        content: bytes | None,
        *,
        filename: str | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """The Message fields for a media kind; new content is stored for getFile."""
        defaults = {
            "photo": ("photos/photo.jpg", b"\xff\xd8\xff\xe0fake-jpeg"),
            "document": ("documents/file.pdf", b"%PDF-1.4 fake"),
            "voice": ("voice/file.oga", b"OggSfake-voice"),
            "sticker": ("stickers/file.webp", b"RIFFfakeWEBP"),
        }
        if kind not in defaults:
            raise ValueError(f"kind must be one of {sorted(defaults)}, got {kind!r}")
        path, default_content = defaults[kind]

        def new_file(data: bytes) -> dict[str, Any]:
            if file_id is not None and file_id in self.files:
                stored = self.files[file_id]
            elif file_id is not None:
                return {"file_id": file_id, "file_unique_id": f"AQADref{abs(hash(file_id))}"}
            else:
                stored = self._store_file(data, path)
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content),
            }

        data = default_content if content is None else content
        if kind == "photo":
            sizes = []
            for side in (90, 320, 1280):
                item = new_file(data)
                sizes.append({**item, "width": side, "height": side})
            return {"photo": sizes}
        item = new_file(data)
        if kind == "document":
            item.update({"file_name": filename or "file.pdf", "mime_type": "application/pdf"})
            return {"document": item}
        if kind == "voice":
            item.update({"duration": 3, "mime_type": "audio/ogg"})
            return {"voice": item}
        item.update(
            {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "\U0001f600",
            }
        )
        return {"sticker": item}


# ---------------------------------------------------------------------- helpers


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode query, JSON, urlencoded or multipart parameters into plain Python values."""
    params: dict[str, Any] = {k: _decode_field(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError as error:
            raise ValueError("can't parse JSON body") from error
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
        else:
            params[key] = _decode_field(key, value)
    # Also index uploads by the parameter that references them: files["document"].
    for key, value in list(params.items()):
        upload = _attached(value, files)
        if upload is not None:
            files[key] = upload
    return params, files


def _decode_field(key: str, raw: str) -> Any:
    """aiogram form-encodes ints/bools as JSON and nested objects as JSON strings."""
    if key in _STRING_FIELDS:
        return raw
    if _INT_RE.fullmatch(raw):
        return int(raw)
    if _FLOAT_RE.fullmatch(raw):
        return float(raw)
    if raw in ("true", "false"):
        return raw == "true"
    if raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _matches(rule: FailureRule, params: dict[str, Any]) -> bool:
    """A ``when`` that looks up a missing param (KeyError) simply does not match."""
    try:
        return bool(rule.when(params))
    except (KeyError, TypeError):
        return False


def _attached(source: Any, files: dict[str, UploadedFile]) -> UploadedFile | None:
    if isinstance(source, str) and source.startswith("attach://"):
        return files.get(source.removeprefix("attach://"))
    return None


def _error_response(error: BotAPIError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.error_code,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.error_code)


def _describe(call: ApiCall) -> str:
    params = json.dumps(call.params, ensure_ascii=False, default=str)
    if len(params) > 200:
        params = params[:197] + "..."
    status = "ok" if call.ok else f"{call.error_code} {call.description}"
    return f"{call.method} {params} -> {status}"


def _now() -> int:
    return int(time.time())


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _bot_id(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 123456789


def _reply_to_id(params: dict[str, Any]) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and reply.get("message_id"):
        return int(reply["message_id"])
    if params.get("reply_to_message_id"):
        return int(params["reply_to_message_id"])
    return None


def _update_allowed(update: dict[str, Any], allowed: list[str]) -> bool:
    kinds = [key for key in update if key != "update_id"]
    if allowed:
        return any(kind in allowed for kind in kinds)
    return not any(kind in _OPT_IN_UPDATES for kind in kinds)


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Only inline keyboards come back on a Message; reply keyboards are not echoed."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise BotAPIError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise BotAPIError(400, "Bad Request: BUTTON_DATA_INVALID")


def _chat_member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": False,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_send_welcome_messages": False,
                "can_pin_messages": True,
                "can_manage_topics": True,
            }
        )
    elif status == "restricted":
        member.update({"is_member": True, "until_date": 0})
        for right in (
            "can_send_messages",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_react_to_messages",
            "can_edit_tag",
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_manage_topics",
        ):
            member[right] = False
    elif status == "kicked":
        member["until_date"] = 0
    return member


# ---------------------------------------------------------------------- entity parsing

_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
        "tg-time",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)\s*/?>")
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_MD2_RESERVED = frozenset(">#+-=|{}.!")


def _plain_text(text: Any, parse_mode: Any, limit: int, what: str) -> str:
    """Parse entities like Telegram does and check the length limit on the plain text."""
    text = "" if text is None else str(text)
    mode = str(parse_mode or "").lower()
    if mode == "html":
        plain = _parse_html(text)
    elif mode == "markdownv2":
        plain = _parse_markdown_v2(text)
    else:
        plain = text
    if what == "message" and not plain.strip():
        raise BotAPIError(400, "Bad Request: message text is empty")
    if len(plain) > limit:
        suffix = "message is too long" if what == "message" else "message caption is too long"
        raise BotAPIError(400, f"Bad Request: {suffix}")
    return plain


def _entity_error(detail: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: can't parse entities: {detail}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _parse_html(text: str) -> str:
    """Tag/entity check for parse_mode=HTML; returns the plain text."""
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _HTML_TAG_RE.match(text, i)
            if match is None:
                raise _entity_error(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, i)}"
                )
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _HTML_TAGS:
                kind = "end" if closing else "start"
                raise _entity_error(
                    f'Unsupported {kind} tag "{name}" at byte offset {_byte_offset(text, i)}'
                )
            if closing:
                if not open_tags or open_tags[-1] != name:
                    expected = f'expected "</{open_tags[-1]}>", ' if open_tags else ""
                    raise _entity_error(
                        f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                        f'{expected}found "</{name}>"'
                    )
                open_tags.pop()
            else:
                open_tags.append(name)
            i = match.end()
        elif ch == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match is None:
                out.append(ch)
                i += 1
            else:
                out.append(html.unescape(match.group(0)))
                i = match.end()
        else:
            out.append(ch)
            i += 1
    if open_tags:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def _parse_markdown_v2(text: str) -> str:
    """Escaping/balance check for parse_mode=MarkdownV2; returns the plain text."""
    out: list[str] = []
    open_marks: dict[str, int] = {}
    i = 0
    line_start = True
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            line_start = False
            continue
        if ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            while end != -1 and text[end - 1] == "\\":
                end = text.find(fence, end + 1)
            if end == -1:
                raise _entity_error(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + len(fence) : end]
            if fence == "```" and "\n" in body:
                first, _, rest = body.partition("\n")
                body = rest if first and " " not in first else body
            out.append(body.replace("\\`", "`").replace("\\\\", "\\"))
            i = end + len(fence)
            line_start = False
            continue
        mark = "__" if text.startswith("__", i) else "||" if text.startswith("||", i) else ch
        if mark in ("*", "_", "__", "~", "||", "[", "]"):
            if mark == "]":
                if "[" not in open_marks:
                    raise _entity_error(
                        "Character ']' is reserved and must be escaped with the preceding '\\'"
                    )
                del open_marks["["]
                if text.startswith("(", i + 1):
                    close = text.find(")", i + 2)
                    if close == -1:
                        raise _entity_error("Can't find end of a URL")
                    i = close + 1
                else:
                    i += 1
                continue
            if mark in open_marks and mark != "[":
                del open_marks[mark]
            else:
                open_marks[mark] = i
            i += len(mark)
            line_start = False
            continue
        if ch == ">" and line_start:
            i += 1
            continue
        if ch in _MD2_RESERVED or ch in "()":
            raise _entity_error(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(ch)
        line_start = ch == "\n"
        i += 1
    if open_marks:
        start = min(open_marks.values())
        raise _entity_error(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, start)}"
        )
    return "".join(out)

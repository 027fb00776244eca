"""The one sending path: every Bot API call goes through ``DeliveryMiddleware`` on the bot's session.

Answers, handoff notices, the agents' relay, streamed edits and button answers all reach Telegram
through aiogram's request middleware chain, so one place:

* **paces** what it sends to Telegram's limits, shared by every worker through Redis (the kept
  ``limits`` library, moving windows): per chat (about one message a second with short bursts),
  per group (20 a minute) and overall (30 a second) — ``SENDING__*`` settings;
* **retries** a 429 after its ``retry_after``, and a 5xx or a network failure (timeouts included)
  with exponential backoff and full jitter;
* **records** a customer who blocked the bot (403) once — a warning and a mark in Redis, no
  traceback and no retry — and lets the caller react (the handoff marks the ticket);
* **keeps** a message that still could not be delivered after its retries: logged, counted
  (``bot/metrics.py``) and stored in Redis, where ``Redeliverer`` sends it again once Telegram answers, so nothing is
  dropped silently.

Reading calls (``getUpdates``, ``getMe``, ``getChat``…) are neither paced nor kept.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import methods
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from bot import metrics
from bot.store.connection import limits_storage
from common.privacy import Customer

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import Response, TelegramMethod
    from redis.asyncio import Redis

    from bot.settings import SendingSettings
    from bot.store import Keys

log = logging.getLogger(__name__)

# Calls that put something in a chat: these count towards Telegram's message limits.
PACED_PREFIXES = ("Send", "Copy", "Forward", "Edit")
NOT_PACED = frozenset({"SendChatAction"})
# Calls that are only reads, or are repeated by their own loop: no retries here, never kept.
NOT_RETRIED = frozenset({"GetUpdates", "GetMe", "GetChat", "GetChatMember", "GetFile"})

BLOCKED_MEMORY_SECONDS = 7 * 24 * 3600  # a blocked chat is warned about once a week at most

# The kept message being redelivered, so that a failed redelivery updates its entry.
_redelivering: contextvars.ContextVar[KeptMessage | None] = contextvars.ContextVar(
    "redelivering", default=None
)


@dataclass(frozen=True, slots=True)
class KeptMessage:
    """A call that could not be delivered after its retries, kept to be sent again."""

    method: str  # aiogram's method class name, e.g. "SendMessage"
    payload: str | None  # the method's fields as JSON; None: a file upload, not replayable
    chat_id: int | str | None
    error: str
    first_failed_at: float
    attempts: int = 1

    def to_json(self) -> str:
        return json.dumps(
            {
                "method": self.method,
                "payload": self.payload,
                "chat_id": self.chat_id,
                "error": self.error,
                "first_failed_at": self.first_failed_at,
                "attempts": self.attempts,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> KeptMessage:
        return cls(**json.loads(raw))

    def rebuild(self) -> TelegramMethod[Any] | None:
        if self.payload is None:
            return None
        return getattr(methods, self.method).model_validate_json(self.payload)


class UndeliveredStore:
    """Messages kept after their retries (a Redis list) and the chats that blocked the bot.

    Both are a customer's data: ``/forget`` removes their kept messages and blocked mark.
    """

    data_kind = "undelivered_messages"

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def export(self, customer: Customer) -> list[dict[str, Any]]:
        kept = [m for m in await self.all() if str(m.chat_id) == str(customer.id)]
        return [json.loads(m.to_json()) for m in kept]

    async def forget(self, customer: Customer) -> int:
        raw = await self.redis.lrange(self.keys.undelivered(), 0, -1)
        removed = 0
        for item in raw:
            if str(KeptMessage.from_json(item).chat_id) == str(customer.id):
                removed += await self.redis.lrem(self.keys.undelivered(), 0, item)
        await self.redis.delete(self.keys.blocked_chat(customer.id))
        return removed

    async def keep(self, message: KeptMessage) -> None:
        await self.redis.rpush(self.keys.undelivered(), message.to_json())

    async def take(self, limit: int = 100) -> list[KeptMessage]:
        """Up to ``limit`` kept messages, oldest first, removed from the list."""
        raw = await self.redis.lpop(self.keys.undelivered(), limit)
        return [KeptMessage.from_json(item) for item in raw or []]

    async def all(self) -> list[KeptMessage]:
        raw = await self.redis.lrange(self.keys.undelivered(), 0, -1)
        return [KeptMessage.from_json(item) for item in raw]

    async def count(self) -> int:
        return int(await self.redis.llen(self.keys.undelivered()))

    async def mark_blocked(self, chat_id: int | str) -> bool:
        """Remember for a week that ``chat_id`` blocked the bot; True only the first time."""
        key = self.keys.blocked_chat(chat_id)
        return bool(await self.redis.set(key, "1", nx=True, ex=BLOCKED_MEMORY_SECONDS))

    async def is_blocked(self, chat_id: int | str) -> bool:
        return bool(await self.redis.exists(self.keys.blocked_chat(chat_id)))


class OutgoingLimiter:
    """Telegram's sending limits, counted in Redis so that every worker shares them."""

    def __init__(self, redis: Redis, keys: Keys, settings: SendingSettings) -> None:
        storage = limits_storage(redis, keys.rate_limits())
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_chat = parse(settings.per_chat)
        self.per_group = parse(settings.per_group)
        self.overall = parse(settings.overall)

    async def wait(self, chat_id: int | str) -> float:
        """Wait until a message to ``chat_id`` is within every limit; the seconds waited.

        Each limit is taken with ``hit`` (atomic in Redis, so concurrent senders in any worker
        never overshoot); one taken is kept while the next is waited for.
        """
        pending = [(self.per_chat, f"chat:{chat_id}")]
        if _is_group(chat_id):
            pending.append((self.per_group, f"group:{chat_id}"))
        pending.append((self.overall, "all"))
        waited = 0.0
        while pending:
            item, key = pending[0]
            if await self.limiter.hit(item, key):
                pending.pop(0)
                continue
            stats = await self.limiter.get_window_stats(item, key)
            pause = min(max(stats.reset_time - time.time(), 0.05), 5.0)
            waited += pause
            await asyncio.sleep(pause)
        return waited


class DeliveryMiddleware(BaseRequestMiddleware):
    """Paces, retries, records blocked chats and keeps what could not be sent (see module doc)."""

    def __init__(
        self,
        settings: SendingSettings,
        store: UndeliveredStore,
        limiter: OutgoingLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        _hold_response_model(method)
        name = type(method).__name__
        if name in NOT_RETRIED:
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        attempt = 0
        while True:
            attempt += 1
            if self.limiter is not None and chat_id is not None and _paced(name):
                await self.limiter.wait(chat_id)
            try:
                response = await make_request(bot, method)
            except TelegramForbiddenError:
                if chat_id is not None and await self.store.mark_blocked(chat_id):
                    metrics.OUTGOING_BLOCKED.inc()
                    log.warning("chat %s has blocked the bot; %s not delivered", chat_id, name)
                raise
            except TelegramRetryAfter as exc:
                if attempt >= self.settings.attempts or exc.retry_after > self.settings.max_wait_s:
                    await self._keep(name, method, chat_id, exc)
                    raise
                log.info("%s to chat %s: flood wait %ss", name, chat_id, exc.retry_after)
                metrics.OUTGOING_RETRIES.labels("flood_wait").inc()
                await asyncio.sleep(exc.retry_after + random.uniform(0, 0.5))
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= self.settings.attempts:
                    await self._keep(name, method, chat_id, exc)
                    raise
                pause = self._backoff(attempt)
                metrics.OUTGOING_RETRIES.labels(_retry_reason(exc)).inc()
                log.info(
                    "%s to chat %s failed (%s); retry %d in %.1fs",
                    name,
                    chat_id,
                    _describe(exc),
                    attempt,
                    pause,
                )
                await asyncio.sleep(pause)
            else:
                if chat_id is not None and attempt > 1:
                    log.info("%s to chat %s delivered after %d attempts", name, chat_id, attempt)
                return response

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(self.settings.backoff_s * 2 ** (attempt - 1), self.settings.max_backoff_s)
        return random.uniform(ceiling / 2, ceiling)

    async def _keep(
        self, name: str, method: TelegramMethod[Any], chat_id: Any, exc: Exception
    ) -> None:
        if not _paced(name):
            return  # a read or a button answer: nothing a customer waits to read
        previous = _redelivering.get()
        kept = KeptMessage(
            method=name,
            payload=_payload(method),
            chat_id=chat_id,
            error=_describe(exc),
            first_failed_at=previous.first_failed_at if previous else time.time(),
            attempts=previous.attempts + 1 if previous else 1,
        )
        try:
            await self.store.keep(kept)
        except Exception as store_exc:  # Redis away too: the log is all that is left
            metrics.OUTGOING_LOST.labels("not_kept").inc()
            log.error(
                "%s to chat %s NOT delivered and NOT kept (%s; store: %s)",
                name,
                chat_id,
                kept.error,
                store_exc,
            )
            return
        metrics.OUTGOING_KEPT.inc()
        log.error(
            "%s to chat %s not delivered after %d attempts (%s); kept for redelivery",
            name,
            chat_id,
            self.settings.attempts,
            kept.error,
        )


class Redeliverer:
    """Background task: sends kept messages again once Telegram answers (oldest first).

    A message that keeps failing is kept again with its attempt count; one older than
    ``SENDING__KEEP_HOURS`` is dropped with an error in the log.
    """

    def __init__(self, bot: Bot, store: UndeliveredStore, settings: SendingSettings) -> None:
        self.bot, self.store, self.settings = bot, store, settings

    async def run(self) -> None:
        while True:
            try:
                await self.redeliver()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redelivery pass failed; trying again later")
            await asyncio.sleep(self.settings.redeliver_every_s)

    async def redeliver(self) -> int:
        """One pass over the kept messages; how many were delivered."""
        delivered = 0
        for kept in await self.store.take():
            if time.time() - kept.first_failed_at > self.settings.keep_hours * 3600:
                metrics.OUTGOING_LOST.labels("expired").inc()
                log.error(
                    "%s to chat %s dropped: undeliverable for %g h (%s)",
                    kept.method,
                    kept.chat_id,
                    self.settings.keep_hours,
                    kept.error,
                )
                continue
            method = kept.rebuild()
            if method is None:
                metrics.OUTGOING_LOST.labels("file_upload").inc()
                log.error(
                    "%s to chat %s dropped: a file upload cannot be sent again (%s)",
                    kept.method,
                    kept.chat_id,
                    kept.error,
                )
                continue
            token = _redelivering.set(kept)
            try:
                await self.bot(method)
                delivered += 1
                metrics.OUTGOING_REDELIVERED.inc()
            except Exception as exc:  # kept again by the middleware where that makes sense
                log.info(
                    "kept %s to chat %s still not delivered: %s", kept.method, kept.chat_id, exc
                )
            finally:
                _redelivering.reset(token)
        if delivered:
            log.info("%d kept message(s) delivered", delivered)
        metrics.KEPT_WAITING.set(await self.store.count())
        return delivered


# aiogram validates each answer with ``Response[method.__returning__]``; pydantic keeps generic
# models in a weak cache, so without a reference held somewhere the model (and its validator) is
# rebuilt after every garbage collection — a tenth of the event loop's time under load. One model
# per method kind is held here for the life of the process.
_RESPONSE_MODELS: dict[type, type] = {}


def _hold_response_model(method: TelegramMethod[Any]) -> None:
    kind = type(method)
    if kind not in _RESPONSE_MODELS:
        from aiogram.methods.base import Response

        _RESPONSE_MODELS[kind] = Response[method.__returning__]  # type: ignore[name-defined]


def _paced(name: str) -> bool:
    return name.startswith(PACED_PREFIXES) and name not in NOT_PACED


def _is_group(chat_id: int | str) -> bool:
    return isinstance(chat_id, str) or chat_id < 0


def _payload(method: TelegramMethod[Any]) -> str | None:
    """The call's fields as JSON (the bot's defaults left to the bot); None for a file upload,
    whose bytes cannot be kept."""
    data = method.model_dump(mode="python", exclude_none=True)
    data = {k: v for k, v in data.items() if not isinstance(v, Default)}
    try:
        return json.dumps(data, ensure_ascii=False)
    except TypeError:
        return None


def _retry_reason(exc: Exception) -> str:
    return "server_error" if isinstance(exc, TelegramServerError) else "network"


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"

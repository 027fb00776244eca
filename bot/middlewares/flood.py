"""Flood control: a customer's messages beyond ``FLOOD__PER_CUSTOMER`` are not answered.

Counted per customer in Redis with the ``limits`` library (a moving window, atomic in Redis), so
every worker shares the count: a customer whose messages land on different workers is still one
customer. The first message over the limit gets one calm notice; the rest of that window's
messages get nothing (no answer, no ticket, no relay to the agents). Other customers are not
touched. Operators and the agents' chat are not limited (only customers' private chats are).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import Message, TelegramObject, Update
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.i18n import TextSource
from bot.services.events import DomainEvent, EventKind, EventRecorder
from bot.store.connection import limits_storage
from bot.store.keys import Keys
from common.privacy import Customer

log = logging.getLogger(__name__)


class FloodControlMiddleware(BaseMiddleware):
    """An outer middleware on updates, ahead of the chat lock (aiogram's FSM middleware): a
    message over the limit is dropped at once instead of queueing for its chat, so a flood does
    not hold a worker's places; the handlers never see it."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        rate: str,
        events: EventRecorder,
        exempt: frozenset[int] = frozenset(),
    ) -> None:
        self.redis, self.keys, self.events = redis, keys, events
        self.limit = parse(rate)
        self.limiter = MovingWindowRateLimiter(limits_storage(redis, keys.flood()))
        self.exempt = exempt

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        message = event.message if isinstance(event, Update) else event
        if not isinstance(message, Message) or message.chat.type != ChatType.PRIVATE:
            return await handler(event, data)
        user_id = message.from_user.id if message.from_user else message.chat.id
        if user_id in self.exempt:
            return await handler(event, data)
        try:
            allowed = await self.limiter.hit(self.limit, f"customer:{user_id}")
        except RedisError as exc:  # the count is unreachable: answer rather than drop
            log.warning("flood control unavailable (%s); message let through", exc)
            return await handler(event, data)
        if allowed:
            return await handler(event, data)
        await self.events.record(DomainEvent(EventKind.THROTTLED, chat_id=message.chat.id))
        if await self._first_notice(user_id):
            texts: TextSource = data["i18n"]
            await message.answer(texts.get("flood-notice"))
        return None

    async def _first_notice(self, user_id: int) -> bool:
        """True once per window: the customer hears why they get no answers, once."""
        window = self.limit.get_expiry()
        return bool(await self.redis.set(self.keys.flood_notice(user_id), "1", nx=True, ex=window))


class FloodCounts:
    """The customers' message counts and notices of flood control, as personal data: they hold
    a customer's id for one window only, and ``/forget`` removes them at once."""

    data_kind = "throttling"

    def __init__(self, redis: Redis, keys: Keys, rate: str) -> None:
        self.redis, self.keys, self.limit = redis, keys, parse(rate)

    def _keys_of(self, customer: Customer) -> list[str]:
        # The ``limits`` storage's name of the customer's window, as the middleware counts it.
        window = f"{self.keys.flood()}:{self.limit.key_for(f'customer:{customer.id}')}"
        return [window, self.keys.flood_notice(customer.id)]

    async def export(self, customer: Customer) -> dict[str, int] | None:
        found = await self.redis.exists(*self._keys_of(customer))
        return {"recent_message_counters": int(found)} if found else None

    async def forget(self, customer: Customer) -> int:
        return int(await self.redis.delete(*self._keys_of(customer)))

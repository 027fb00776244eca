"""Each customer's chosen reply language (``/language``), remembered for a year."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.keys import Keys
from common.privacy import Customer

# A choice outlives conversations: a customer who comes back after months still reads their own
# language. Each new choice starts the year again.
LANGUAGE_TTL_S = 365 * 24 * 3600


class LanguageRepository:
    """``{prefix}:lang:{user_id}``: the locale code a customer chose, e.g. ``zh``."""

    data_kind = "language"

    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int = LANGUAGE_TTL_S) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl_seconds

    async def get(self, user_id: int) -> str | None:
        value = await self.redis.get(self.keys.language(user_id))
        if isinstance(value, bytes):
            value = value.decode()
        return value or None

    async def set(self, user_id: int, locale: str) -> None:
        await self.redis.set(self.keys.language(user_id), locale, ex=self.ttl)

    async def export(self, customer: Customer) -> str | None:
        return await self.get(customer.id)

    async def forget(self, customer: Customer) -> int:
        return int(await self.redis.delete(self.keys.language(customer.id)))

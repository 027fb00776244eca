"""Each customer's chosen reply language (``/language``), remembered for a year.

Every update reads its sender's language (``bot/middlewares/locale.py``), so a worker keeps what
it read for ``LANGUAGE_CACHE_S`` seconds instead of asking Redis each time. A choice made on this
worker (``set``, ``forget``) replaces its copy at once; another worker may go on replying in the
previous language for up to those seconds.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.store.keys import Keys
from common.privacy import Customer

# A choice outlives conversations: a customer who comes back after months still reads their own
# language. Each new choice starts the year again.
LANGUAGE_TTL_S = 365 * 24 * 3600
LANGUAGE_CACHE_S = 5.0  # how long a worker trusts the language it read (0: always read)
LANGUAGE_CACHE_SIZE = 10_000  # customers whose language a worker keeps (the oldest go first)


class LanguageRepository:
    """``{prefix}:lang:{user_id}``: the locale code a customer chose, e.g. ``zh``."""

    data_kind = "language"

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        ttl_seconds: int = LANGUAGE_TTL_S,
        cache_s: float = LANGUAGE_CACHE_S,
    ) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl_seconds
        self.cache_s = cache_s
        self._cache: dict[int, tuple[float, str | None]] = {}  # user → (good until, locale)
        self._changes = 0  # set/forget on this worker: a read begun before one is not kept

    async def get(self, user_id: int) -> str | None:
        """The chosen locale, as read at most ``cache_s`` seconds ago."""
        if self.cache_s <= 0:
            return await self._read(user_id)
        now = time.monotonic()
        kept = self._cache.get(user_id)
        if kept is not None and kept[0] > now:
            return kept[1]
        changes = self._changes
        value = await self._read(user_id)
        if changes == self._changes:  # no choice was made here while it was read
            self._keep(user_id, value, now)
        return value

    async def _read(self, user_id: int) -> str | None:
        value = await self.redis.get(self.keys.language(user_id))
        if isinstance(value, bytes):
            value = value.decode()
        return value or None

    def _keep(self, user_id: int, value: str | None, now: float) -> None:
        self._cache.pop(user_id, None)
        if len(self._cache) >= LANGUAGE_CACHE_SIZE:
            del self._cache[next(iter(self._cache))]
        self._cache[user_id] = (now + self.cache_s, value)

    def _changed(self, user_id: int) -> None:
        self._changes += 1
        self._cache.pop(user_id, None)

    async def set(self, user_id: int, locale: str) -> None:
        self._changed(user_id)
        await self.redis.set(self.keys.language(user_id), locale, ex=self.ttl)
        self._changed(user_id)
        if self.cache_s > 0:
            self._keep(user_id, locale, time.monotonic())

    async def export(self, customer: Customer) -> str | None:
        return await self._read(customer.id)

    async def forget(self, customer: Customer) -> int:
        self._changed(customer.id)
        deleted = int(await self.redis.delete(self.keys.language(customer.id)))
        self._changed(customer.id)
        return deleted

"""Moderation state per customer: abusive messages in the current window, and a mute.

Both are expiring keys (``Keys.abuse_strikes``, ``Keys.muted``), so every worker sees the same
state and nothing is left behind once a window or a mute is over. No words are kept: a strike is
a count.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.store.keys import Keys
from common.privacy import Customer


class ModerationRepository:
    """Strikes and mutes of customers, by chat id (a customer's private chat)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def strike(self, chat_id: int, window_s: int) -> int:
        """Count one abusive message; how many there are in the window (which the first one
        starts)."""
        key = self.keys.abuse_strikes(chat_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window_s, nx=True)  # INCR keeps the window's expiry
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count)

    async def mute(self, chat_id: int, until: float, seconds: int) -> bool:
        """Mute until ``until`` (epoch seconds); False if the customer already is (another
        worker muted them first). The strikes start again after the mute."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.muted(chat_id), f"{until:.0f}", ex=seconds, nx=True)
            pipe.delete(self.keys.abuse_strikes(chat_id))
            muted, _ = await pipe.execute()
        return bool(muted)

    async def muted_until(self, chat_id: int) -> float | None:
        """Until when the customer is muted (epoch seconds), None if they are not."""
        value = await self.redis.get(self.keys.muted(chat_id))
        return float(value) if value is not None else None

    async def unmute(self, chat_id: int) -> bool:
        """Lift a mute (and forget the strikes); False if the customer was not muted."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.muted(chat_id))
            pipe.delete(self.keys.abuse_strikes(chat_id))
            lifted, _ = await pipe.execute()
        return bool(lifted)

    # The privacy seam (/mydata, /forget): what this store holds about a customer.

    data_kind = "moderation"

    async def export(self, customer: Customer) -> dict[str, Any] | None:
        """A mute and the abusive messages counted in the current window; None when neither."""
        chat_id = customer.id
        strikes = await self.redis.get(self.keys.abuse_strikes(chat_id))
        until = await self.muted_until(chat_id)
        if strikes is None and until is None:
            return None
        return {
            "muted_until": until,
            "abusive_messages_in_window": int(strikes) if strikes is not None else 0,
        }

    async def forget(self, customer: Customer) -> int:
        """Delete the customer's moderation state; how many keys there were."""
        return int(
            await self.redis.delete(
                self.keys.muted(customer.id), self.keys.abuse_strikes(customer.id)
            )
        )

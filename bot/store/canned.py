"""Canned replies: saved answers agents send by a short name (``/reply NAME``, the console).

All of a deployment's replies live in one hash (``canned``): name → the reply as JSON. Validation
(the name's shape, the placeholders allowed) is ``bot/services/canned.py``'s; this stores what it
was given.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from bot.store.keys import Keys


@dataclass(frozen=True, slots=True)
class CannedReply:
    name: str
    text: str
    updated_by: str = ""
    updated_at: float = 0.0


class CannedReplyRepository:
    """The canned replies of a deployment."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def get(self, name: str) -> CannedReply | None:
        raw = await self.redis.hget(self.keys.canned(), name)
        return CannedReply(**json.loads(raw)) if raw else None

    async def list_all(self) -> list[CannedReply]:
        rows = await self.redis.hgetall(self.keys.canned())
        return sorted((CannedReply(**json.loads(raw)) for raw in rows.values()), key=_by_name)

    async def save(self, name: str, text: str, updated_by: str) -> CannedReply:
        """Add or replace the reply called ``name``."""
        reply = CannedReply(name, text, updated_by, time.time())
        await self.redis.hset(self.keys.canned(), name, json.dumps(asdict(reply)))
        return reply

    async def delete(self, name: str) -> bool:
        """False if there was no such reply."""
        return bool(await self.redis.hdel(self.keys.canned(), name))


def _by_name(reply: CannedReply) -> str:
    return reply.name

"""Console accounts: a name, a role, a password hash, optionally the person's Telegram id.

Each account is a hash (``user:<name>``) listed in the ``users`` set; ``users:by-telegram`` maps a
Telegram id to the one account it belongs to. Adding an account and every change run in WATCH/MULTI
transactions (redis-py's ``transaction``), so two admins adding the same name or Telegram id at
once get one account and one refusal. ``epoch`` grows on every change that must end the person's
open console sessions (disabled, role changed, password reset): a session remembers the epoch it
began in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.keys import Keys


class Role(StrEnum):
    """What an account may do in the console; each role may do everything of the ones below it.

    agent: tickets and the dashboard; operator: also the knowledge base; admin: also accounts.
    """

    AGENT = "agent"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class AccountConflict(Exception):
    """The change would break a rule of the stored accounts; ``what`` says which."""

    def __init__(self, what: str) -> None:  # "name-taken", "telegram-taken", "unknown"
        super().__init__(what)
        self.what = what


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    password_hash: str
    telegram_id: int | None = None
    disabled: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    epoch: int = 0

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Account:
        return cls(
            name=data["name"],
            role=Role(data["role"]),
            password_hash=data["password_hash"],
            telegram_id=int(data["telegram_id"]) if data.get("telegram_id") else None,
            disabled=data.get("disabled") == "1",
            created_at=float(data.get("created_at") or 0),
            updated_at=float(data.get("updated_at") or 0),
            epoch=int(data.get("epoch") or 0),
        )

    def to_hash(self) -> dict[str, str]:
        out = {}
        for name, value in asdict(self).items():
            if value is None:
                out[name] = ""
            elif isinstance(value, bool):
                out[name] = "1" if value else ""
            else:
                out[name] = str(value)
        return out


class UserRepository:
    """The console accounts of a deployment."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def get(self, name: str) -> Account | None:
        data = await self.redis.hgetall(self.keys.user(name))
        return Account.from_hash(data) if data else None

    async def by_telegram(self, telegram_id: int) -> Account | None:
        """The account linked to this Telegram id, if any."""
        name = await self.redis.hget(self.keys.user_by_telegram(), str(telegram_id))
        return await self.get(name) if name else None

    async def list_all(self) -> list[Account]:
        names = sorted(await self.redis.smembers(self.keys.users()))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self.keys.user(name))
            rows = await pipe.execute()
        return [Account.from_hash(row) for row in rows if row]

    async def find(self, name: str) -> Account | None:
        """The account named ``name``, compared case-insensitively (agents type names)."""
        wanted = name.strip().casefold()
        names = await self.redis.smembers(self.keys.users())
        match = next((n for n in sorted(names) if n.casefold() == wanted), None)
        return await self.get(match) if match is not None else None

    async def set_available(self, name: str, available: bool) -> None:
        """Mark the account available (or away) for automatic assignment."""
        if available:
            await self.redis.sadd(self.keys.users_available(), name)
        else:
            await self.redis.srem(self.keys.users_available(), name)

    async def is_available(self, name: str) -> bool:
        return bool(await self.redis.sismember(self.keys.users_available(), name))

    async def next_available(self) -> Account | None:
        """The next enabled, available account in turn (round-robin over their sorted names;
        the counter is in Redis, so every worker takes the next one); None if nobody is."""
        names = sorted(await self.redis.smembers(self.keys.users_available()))
        accounts = [a for a in [await self.get(n) for n in names] if a and not a.disabled]
        if not accounts:
            return None
        turn = await self.redis.incr(self.keys.assign_pointer())
        return accounts[(turn - 1) % len(accounts)]

    async def count(self) -> int:
        return int(await self.redis.scard(self.keys.users()))

    async def add(self, account: Account) -> Account:
        """Store a new account; AccountConflict if the name or the Telegram id is taken."""
        key, index = self.keys.user(account.name), self.keys.user_by_telegram()
        now = time.time()
        account = replace(account, created_at=now, updated_at=now, epoch=1)

        async def add_new(pipe: Pipeline) -> None:
            if await pipe.exists(key):
                raise AccountConflict("name-taken")
            if account.telegram_id is not None and await pipe.hexists(
                index, str(account.telegram_id)
            ):
                raise AccountConflict("telegram-taken")
            pipe.multi()
            pipe.hset(key, mapping=account.to_hash())
            pipe.sadd(self.keys.users(), account.name)
            if account.telegram_id is not None:
                pipe.hset(index, str(account.telegram_id), account.name)

        await self.redis.transaction(add_new, key, index)
        return account

    async def update(self, name: str, change: Callable[[Account], Account]) -> Account:
        """Apply ``change`` to the stored account and end its open sessions (the epoch grows);
        AccountConflict("unknown") if there is no such account."""
        key = self.keys.user(name)

        async def update_one(pipe: Pipeline) -> Account:
            data = await pipe.hgetall(key)
            if not data:
                raise AccountConflict("unknown")
            current = Account.from_hash(data)
            changed = replace(change(current), updated_at=time.time(), epoch=current.epoch + 1)
            pipe.multi()
            pipe.hset(key, mapping=changed.to_hash())
            return changed

        return await self.redis.transaction(update_one, key, value_from_callable=True)

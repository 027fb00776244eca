"""Conversation state in Redis, behind repositories with typed keys.

Every key name is built by ``Keys`` (keys.py) from one prefix (a hash tag on a Redis Cluster).
Handlers and services call the repositories — conversations, answers, tickets, languages,
console accounts —
never Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store.answers import AnswerRecord, AnswerRepository, new_id
from bot.store.connection import connect_redis, in_process_redis
from bot.store.conversations import ConversationRepository, Turn, TurnRole
from bot.store.keys import Keys, key_prefix
from bot.store.languages import LanguageRepository
from bot.store.tickets import ClaimResult, Ticket, TicketRepository, TicketStatus
from bot.store.users import Account, AccountConflict, Role, UserRepository

__all__ = [
    "Account",
    "AccountConflict",
    "AnswerRecord",
    "AnswerRepository",
    "ClaimResult",
    "ConversationRepository",
    "Keys",
    "LanguageRepository",
    "Role",
    "Stores",
    "Ticket",
    "TicketRepository",
    "TicketStatus",
    "Turn",
    "TurnRole",
    "UserRepository",
    "connect_redis",
    "in_process_redis",
    "key_prefix",
    "new_id",
]


@dataclass
class Stores:
    """Every repository over one Redis connection."""

    redis: Redis
    keys: Keys
    conversations: ConversationRepository
    answers: AnswerRepository
    tickets: TicketRepository
    languages: LanguageRepository
    users: UserRepository

    @classmethod
    def build(
        cls, redis: Redis, prefix: str, *, history_ttl_hours: float, history_max_turns: int
    ) -> Stores:
        keys = Keys(prefix)
        ttl = int(history_ttl_hours * 3600)
        return cls(
            redis=redis,
            keys=keys,
            conversations=ConversationRepository(
                redis, keys, ttl_seconds=ttl, max_turns=history_max_turns
            ),
            answers=AnswerRepository(redis, keys, ttl_seconds=max(ttl, 7 * 24 * 3600)),
            tickets=TicketRepository(redis, keys),
            languages=LanguageRepository(redis, keys),
            users=UserRepository(redis, keys),
        )

    async def record_answer(self, record: AnswerRecord, turn: Turn) -> None:
        """The answer the bot sent and its turn in the conversation, in one round trip."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self.answers.save_in(pipe, record)
            self.conversations.append_in(pipe, record.chat_id, turn)
            await pipe.execute()

    async def close(self) -> None:
        await self.redis.aclose()

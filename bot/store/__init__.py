"""Conversation state in Redis, behind repositories with typed keys.

Every key name is built by ``Keys`` (keys.py) from one prefix (a hash tag on a Redis Cluster).
Handlers and services call the repositories — conversations, answers, clarifications, tickets,
languages, moderation, console accounts, canned replies — never Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.store.answers import AnswerRecord, AnswerRepository, new_id
from bot.store.canned import CannedReply, CannedReplyRepository
from bot.store.clarifications import ClarificationRecord, ClarificationRepository
from bot.store.connection import connect_redis, in_process_redis
from bot.store.conversations import ConversationRepository, Turn, TurnRole
from bot.store.keys import Keys, key_prefix
from bot.store.languages import LanguageRepository
from bot.store.moderation import ModerationRepository
from bot.store.tickets import AssignResult, ClaimResult, Ticket, TicketRepository, TicketStatus
from bot.store.users import Account, AccountConflict, Role, UserRepository

__all__ = [
    "Account",
    "AccountConflict",
    "AnswerRecord",
    "AnswerRepository",
    "AssignResult",
    "CannedReply",
    "CannedReplyRepository",
    "ClaimResult",
    "ClarificationRecord",
    "ClarificationRepository",
    "ConversationRepository",
    "Keys",
    "LanguageRepository",
    "ModerationRepository",
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
    moderation: ModerationRepository
    clarifications: ClarificationRepository
    users: UserRepository
    canned: CannedReplyRepository

    @classmethod
    def build(
        cls, redis: Redis, prefix: str, *, history_ttl_hours: float, history_max_turns: int
    ) -> Stores:
        keys = Keys(prefix)
        ttl = int(history_ttl_hours * 3600)
        kept = max(ttl, 7 * 24 * 3600)  # answers and their buttons outlive the conversation
        return cls(
            redis=redis,
            keys=keys,
            conversations=ConversationRepository(
                redis, keys, ttl_seconds=ttl, max_turns=history_max_turns
            ),
            answers=AnswerRepository(redis, keys, ttl_seconds=kept),
            tickets=TicketRepository(redis, keys),
            languages=LanguageRepository(redis, keys),
            moderation=ModerationRepository(redis, keys),
            clarifications=ClarificationRepository(redis, keys, ttl_seconds=kept),
            users=UserRepository(redis, keys),
            canned=CannedReplyRepository(redis, keys),
        )

    async def record_answer(self, record: AnswerRecord, turn: Turn) -> None:
        """The answer the bot sent and its turn in the conversation, in one round trip."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self.answers.save_in(pipe, record)
            self.conversations.append_in(pipe, record.chat_id, turn)
            await pipe.execute()

    async def record_clarification(self, record: ClarificationRecord, turn: Turn) -> None:
        """The clarification the bot asked and its turn in the conversation, in one round trip."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self.clarifications.save_in(pipe, record)
            self.conversations.append_in(pipe, record.chat_id, turn)
            await pipe.execute()

    async def close(self) -> None:
        await self.redis.aclose()

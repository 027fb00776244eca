"""Recording ``message_received`` for every message and button press: the chat id, the kind, and
for a customer's text the sentiment score (a number, never the words)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.services.events import DomainEvent, EventKind, EventRecorder
from bot.services.sentiment import SentimentAnalyzer


class ReceivedEventsMiddleware(BaseMiddleware):
    """An outer middleware: the event is recorded before filters and handlers see the update."""

    def __init__(
        self,
        events: EventRecorder,
        sentiment: SentimentAnalyzer | None = None,
        staff: frozenset[int] = frozenset(),
    ) -> None:
        self.events = events
        self.sentiment = sentiment
        self.staff = staff  # operators: what they send is work, not a customer's conversation

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender = getattr(event, "from_user", None)
        received = None if sender and sender.id in self.staff else _received(event, self.sentiment)
        if received is not None:
            await self.events.record(received)
        return await handler(event, data)


def _received(event: TelegramObject, sentiment: SentimentAnalyzer | None) -> DomainEvent | None:
    if isinstance(event, Message):
        kind = getattr(event.content_type, "value", event.content_type)
        words = event.text or event.caption
        score = None
        if sentiment is not None and words and event.chat.type == ChatType.PRIVATE:
            # normalised as the answer path does, so that it finds the score already made
            score = round(sentiment.score(" ".join(words.split())).compound, 3)
        return DomainEvent(
            EventKind.MESSAGE_RECEIVED,
            chat_id=event.chat.id,
            message_kind=kind,
            sentiment=score,
        )
    if isinstance(event, CallbackQuery):
        chat_id = event.message.chat.id if event.message else event.from_user.id
        return DomainEvent(EventKind.MESSAGE_RECEIVED, chat_id=chat_id, message_kind="callback")
    return None

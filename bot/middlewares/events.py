"""Recording ``message_received`` for every message and button press (chat id and kind only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.services.events import DomainEvent, EventKind, EventRecorder


class ReceivedEventsMiddleware(BaseMiddleware):
    """An outer middleware: the event is recorded before filters and handlers see the update."""

    def __init__(self, events: EventRecorder) -> None:
        self.events = events

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        received = _received(event)
        if received is not None:
            await self.events.record(received)
        return await handler(event, data)


def _received(event: TelegramObject) -> DomainEvent | None:
    if isinstance(event, Message):
        kind = getattr(event.content_type, "value", event.content_type)
        return DomainEvent(EventKind.MESSAGE_RECEIVED, chat_id=event.chat.id, message_kind=kind)
    if isinstance(event, CallbackQuery):
        chat_id = event.message.chat.id if event.message else event.from_user.id
        return DomainEvent(EventKind.MESSAGE_RECEIVED, chat_id=chat_id, message_kind="callback")
    return None

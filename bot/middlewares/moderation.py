"""Abusive language: a calm warning first, then a mute (``bot/services/moderation.py`` decides).

An outer middleware on updates, after flood control and before the chat lock: a muted customer's
message is dropped at once, without queueing for its chat. Only customers' private chats are
checked; operators and agents are not. A warned message goes on to the handlers (the customer
still gets their answer, or a person); the muting one and those after it do not. The handlers
receive the detector's verdict as ``abusive`` (None when the text was not checked).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import Message, TelegramObject, Update
from redis.exceptions import RedisError

from bot.i18n import TextSource
from bot.services.moderation import ModerationService, Verdict

log = logging.getLogger(__name__)


class ModerationMiddleware(BaseMiddleware):
    def __init__(
        self, moderation: ModerationService, exempt: frozenset[int] = frozenset()
    ) -> None:
        self.moderation = moderation
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
            result = await self.moderation.check(message.chat.id, message.text or message.caption)
        except RedisError as exc:  # the state is unreachable: answer rather than drop
            log.warning("moderation unavailable (%s); message let through", exc)
            return await handler(event, data)
        texts: TextSource = data["i18n"]
        data["abusive"] = result.abusive  # the handlers' answer does not check the text again
        match result.verdict:
            case Verdict.CLEAN:
                return await handler(event, data)
            case Verdict.WARNED:
                await message.answer(texts.get("moderation-warning"))
                return await handler(event, data)
            case Verdict.MUTED:
                assert result.until is not None
                args = self.moderation.until_args(result.until)
                await message.answer(texts.get("moderation-muted", **args))
        return None

"""Central error handling: one failing update is logged with context and never stops the bot."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot import texts

log = logging.getLogger(__name__)


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router


async def on_error(event: ErrorEvent) -> bool:
    update = event.update
    chat_id = None
    if update.message:
        chat_id = update.message.chat.id
    elif update.callback_query and update.callback_query.message:
        chat_id = update.callback_query.message.chat.id
    log.error(
        "update %s (chat %s) failed: %r",
        update.update_id,
        chat_id,
        event.exception,
        exc_info=event.exception,
    )
    if chat_id is not None and not isinstance(event.exception, TelegramAPIError):
        try:
            await event.update.bot.send_message(chat_id, texts.ERROR)
        except TelegramAPIError as exc:
            log.warning("could not tell chat %s about the error: %s", chat_id, exc)
    return True

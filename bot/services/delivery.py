"""Sending to a customer: a short flood wait is honoured once, a blocked bot is reported.

The seed of the one path every customer-bound message takes; today the agents' replies and the
handoff notices (claimed, closed) go through it. ``split_message`` cuts any long text to
Telegram's limit, for every chat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup

from bot.i18n import TextSource

log = logging.getLogger(__name__)

MAX_FLOOD_WAIT_SECONDS = 10
TELEGRAM_TEXT_LIMIT = 4096


def split_message(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split text into Telegram-sized parts, preferring paragraph, line and sentence breaks."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(". "), window.rfind(" "))
        if cut < limit // 2:
            cut = limit - 1
        parts.append(rest[: cut + 1].rstrip())
        rest = rest[cut + 1 :].lstrip()
    if rest:
        parts.append(rest)
    return parts


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to a message meant for the customer."""

    delivered: bool
    note: str = ""  # why not, for the agent
    blocked: bool = False  # the customer has blocked the bot


class CustomerDelivery:
    """Messages to customers through the bot; failures come back as a ``Delivery``, never raise.

    ``texts`` are the agents': a ``Delivery``'s note tells them why a message did not arrive.
    """

    def __init__(self, bot: Bot, texts: TextSource) -> None:
        self.bot = bot
        self.texts = texts

    async def send_text(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> Delivery:
        """A text of any length (in Telegram-sized parts, buttons on the last one)."""
        parts = [text] if len(text) <= TELEGRAM_TEXT_LIMIT else split_message(text)
        for number, part in enumerate(parts, 1):
            markup = reply_markup if number == len(parts) else None
            delivery = await self._attempt(
                chat_id, partial(self.bot.send_message, chat_id, part, reply_markup=markup)
            )
            if not delivery.delivered:
                return delivery
        return Delivery(True)

    async def copy(self, chat_id: int, from_chat_id: int, message_id: int) -> Delivery:
        """A copy of any message (text, photo, document…) without "forwarded from"."""
        return await self._attempt(
            chat_id, partial(self.bot.copy_message, chat_id, from_chat_id, message_id)
        )

    async def _attempt(self, chat_id: int, send: Callable[[], Awaitable[object]]) -> Delivery:
        """Nothing is retried in a loop: one bounded flood wait, then the error is reported."""
        try:
            try:
                await send()
            except TelegramRetryAfter as exc:
                if exc.retry_after > MAX_FLOOD_WAIT_SECONDS:
                    raise
                await asyncio.sleep(exc.retry_after)
                await send()
        except TelegramForbiddenError as exc:
            log.warning("customer %s unreachable: %s", chat_id, exc)
            return Delivery(False, self.texts.get("agent-customer-blocked"), blocked=True)
        except TelegramAPIError as exc:
            log.error("message to customer %s failed: %s", chat_id, exc)
            return Delivery(False, self.texts.get("agent-not-delivered", error=exc.message))
        return Delivery(True)

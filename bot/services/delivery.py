"""What became of a message to a customer, in words for the agents.

Every Bot API call already goes through the one sending path (``bot/sending.py``: limits,
retries, redelivery); this turns its outcome into a ``Delivery`` the handoff can show the agent:
delivered, the customer has blocked the bot, or kept for redelivery because Telegram is not
answering. ``split_message`` cuts any long text to Telegram's limit, for every chat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup

from bot.i18n import TextSource

log = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
PHOTO_LIMIT = 10 * 1024 * 1024  # larger pictures go as documents (the Bot API's photo limit)


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

    async def send_file(
        self, chat_id: int, filename: str, data: bytes, caption: str = ""
    ) -> Delivery:
        """A file: a picture as a photo (``send_photo``), anything else as a document; a caption
        longer than Telegram allows follows as a text."""
        upload = BufferedInputFile(data, filename=filename)
        is_photo = filename.lower().endswith(PHOTO_SUFFIXES) and len(data) <= PHOTO_LIMIT
        send = self.bot.send_photo if is_photo else self.bot.send_document
        short = caption if len(caption) <= TELEGRAM_CAPTION_LIMIT else ""
        delivery = await self._attempt(
            chat_id, partial(send, chat_id, upload, caption=short or None)
        )
        if delivery.delivered and caption and not short:
            return await self.send_text(chat_id, caption)
        return delivery

    async def _attempt(self, chat_id: int, send: Callable[[], Awaitable[object]]) -> Delivery:
        """One call; the sending path has already retried what can be retried."""
        try:
            await send()
        except TelegramForbiddenError:
            return Delivery(False, self.texts.get("agent-customer-blocked"), blocked=True)
        except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError) as exc:
            log.warning("message to customer %s kept for redelivery: %s", chat_id, exc)
            return Delivery(False, self.texts.get("agent-delivery-kept", error=exc.message))
        except TelegramAPIError as exc:
            log.error("message to customer %s failed: %s", chat_id, exc)
            return Delivery(False, self.texts.get("agent-not-delivered", error=exc.message))
        return Delivery(True)

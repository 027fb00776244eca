"""Show a reply in Telegram while it is being written: one message, edited as text arrives.

Edits are spaced at least ``interval`` seconds apart (Telegram throttles frequent edits of one
chat), each one carries the whole text so far (never more than the 4096-character limit), and the
final text replaces the last partial one, with the answer's buttons. Updates come from the
generating thread; everything that talks to Telegram runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup

from bot.services.delivery import TELEGRAM_TEXT_LIMIT, split_message

log = logging.getLogger(__name__)


class ReplyStream:
    """A message that grows with the reply; ``finish`` sets its final text and buttons."""

    def __init__(
        self, bot: Bot, chat_id: int, *, interval: float = 1.0, min_chars: int = 12
    ) -> None:
        self.bot, self.chat_id = bot, chat_id
        self.interval, self.min_chars = interval, min_chars
        self.message_id: int | None = None
        self.edits = 0
        self._loop = asyncio.get_running_loop()
        self._latest = ""
        self._shown = ""
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task | None = None

    def update(self, text: str) -> None:
        """The reply so far; safe to call from any thread."""
        if self._closing.is_set():
            return
        if len(text) > TELEGRAM_TEXT_LIMIT:
            text = text[: TELEGRAM_TEXT_LIMIT - 1] + "…"
        self._latest = text
        self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._closing.is_set():
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        self._changed.set()

    async def _run(self) -> None:
        last = float("-inf")
        while not self._closing.is_set():
            await self._changed.wait()
            self._changed.clear()
            wait = self.interval - (time.monotonic() - last)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), wait)
            if self._closing.is_set():
                return
            text = self._latest
            if text == self._shown or (self.message_id is None and len(text) < self.min_chars):
                continue
            await self._show(text)
            last = time.monotonic()

    async def _show(
        self, text: str, markup: InlineKeyboardMarkup | None = None, *, final: bool = False
    ) -> None:
        try:
            if self.message_id is None:
                sent = await self.bot.send_message(self.chat_id, text, reply_markup=markup)
                self.message_id = sent.message_id
            else:
                await self.bot.edit_message_text(
                    text, chat_id=self.chat_id, message_id=self.message_id, reply_markup=markup
                )
                self.edits += 1
            self._shown = text
        except TelegramRetryAfter as exc:  # too many edits: skip this one, the next will catch up
            log.info("streaming edit throttled by Telegram for %ss", exc.retry_after)
            if final:  # the final text must arrive: wait as told, then try once more
                await asyncio.sleep(exc.retry_after)
                await self._show(text, markup)
        except TelegramBadRequest as exc:
            if "not modified" not in str(exc):
                raise

    async def _stop(self) -> None:
        self._closing.set()
        self._changed.set()
        if self._task is not None:
            await self._task

    async def finish(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """The final reply: replaces what was streamed (or is sent now), buttons on the last part."""
        await self._stop()
        parts = split_message(text)
        first, rest = parts[0], parts[1:]
        if self.message_id is None:
            sent = await self.bot.send_message(
                self.chat_id, first, reply_markup=None if rest else markup
            )
            self.message_id = sent.message_id
        elif first != self._shown or (markup is not None and not rest):
            await self._show(first, None if rest else markup, final=True)
        for n, part in enumerate(rest, start=1):
            await self.bot.send_message(
                self.chat_id, part, reply_markup=markup if n == len(rest) else None
            )

    async def discard(self) -> None:
        """No reply after all (the case goes to a person): remove what was shown."""
        await self._stop()
        if self.message_id is not None:
            with contextlib.suppress(TelegramBadRequest):
                await self.bot.delete_message(self.chat_id, self.message_id)
            self.message_id = None

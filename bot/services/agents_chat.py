"""Announcing tickets in the agents' Telegram chat."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ReplyParameters

from bot import texts
from bot.services.answering import Escalation
from bot.store import Ticket, Turn

log = logging.getLogger(__name__)


class TelegramAgentsChat:
    """Sends the transcript of each new ticket, and later customer messages, to the agents' chat."""

    def __init__(self, bot: Bot, chat_id: int) -> None:
        self.bot = bot
        self.chat_id = chat_id

    async def new_ticket(
        self, ticket: Ticket, transcript: Sequence[Turn], escalation: Escalation
    ) -> int | None:
        guess = escalation.best_guess.entry.question if escalation.best_guess else None
        text = texts.ticket_summary(ticket, transcript, guess, escalation.confidence)
        try:
            sent = await self.bot.send_message(self.chat_id, text)
        except TelegramAPIError as exc:
            log.error("could not post ticket %s to the agents' chat: %s", ticket.id, exc)
            return None
        return sent.message_id

    async def customer_message(self, ticket: Ticket, text: str) -> None:
        body = f"💬 Ticket #{ticket.id} — {ticket.customer_name}:\n{text}"
        try:
            reply = None
            if ticket.agents_message_id:
                reply = ReplyParameters(
                    message_id=ticket.agents_message_id, allow_sending_without_reply=True
                )
            await self.bot.send_message(
                self.chat_id, texts.split_message(body)[0], reply_parameters=reply
            )
        except TelegramAPIError as exc:
            log.error("could not forward a message of ticket %s: %s", ticket.id, exc)

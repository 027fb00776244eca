"""The agents' Telegram supergroup: one forum topic per ticket, recreated if it disappears.

What agents read of a ticket is rendered here from the text catalog: the topic's name, its
opening message (who, why, the transcript, the bot's guess) and each transcript line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message, MessageId, User

from bot.errors import ConfigurationError
from bot.i18n import TextSource
from bot.keyboards import ticket_keyboard
from bot.services.delivery import split_message
from bot.store import Stores, Ticket, Turn

log = logging.getLogger(__name__)
T = TypeVar("T")

# How Telegram says that a topic is gone (deleted by a person, or never existed).
_TOPIC_GONE = ("message thread not found", "topic_id_invalid", "topic_deleted", "thread not found")
_MEMBER = {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
TOPIC_NAME_LIMIT = 128  # Telegram's limit on a forum topic's name
SUMMARY_CHARS = 48  # of the customer's question, in the topic's name


def display_name(user: User | None) -> str:
    """A Telegram user as agents see them: full name, else @username, else id ("" if unknown:
    agents then read the catalog's word)."""
    if user is None:
        return ""
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


def customer_name(texts: TextSource, ticket: Ticket) -> str:
    return ticket.customer_name or texts.get("ticket-customer-unnamed")


def reason_text(texts: TextSource, reason: str) -> str:
    """Why a ticket was opened, in words (``reason-…`` in the catalog); an unknown code as is."""
    key = "reason-" + reason.replace("_", "-")  # low_confidence → reason-low-confidence
    try:
        return texts.get(key)
    except KeyError:
        return reason


def topic_name(texts: TextSource, ticket: Ticket) -> str:
    """The agents' forum topic of a ticket: number, customer and a short summary (≤128 chars)."""
    summary = " ".join(ticket.question.split())
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1].rstrip() + "…"
    name = texts.get(
        "ticket-topic-name",
        ticket=ticket.id,
        customer=customer_name(texts, ticket),
        summary=summary,
    )
    return name if len(name) <= TOPIC_NAME_LIMIT else name[: TOPIC_NAME_LIMIT - 1] + "…"


def ticket_opening(texts: TextSource, ticket: Ticket, transcript: Sequence[Turn]) -> str:
    """The first message in a ticket's topic: who, why, the whole transcript, the bot's guess."""
    lines = [
        texts.get(
            "ticket-opening-header",
            ticket=ticket.id,
            customer=customer_name(texts, ticket),
            chat=str(ticket.chat_id),
        ),
        texts.get("ticket-opening-reason", reason=reason_text(texts, ticket.reason)),
        "",
        texts.get("ticket-opening-transcript"),
    ]
    lines += [render_turn(texts, turn) for turn in transcript] or [
        texts.get("ticket-opening-empty")
    ]
    if ticket.best_guess:
        confidence = f"{ticket.confidence or 0.0:.0%}"
        guess = texts.get("ticket-best-guess", confidence=confidence, guess=ticket.best_guess)
        lines += ["", guess]
    elif ticket.confidence is not None:
        lines += ["", texts.get("ticket-no-good-guess", confidence=f"{ticket.confidence:.0%}")]
    lines += ["", texts.get("ticket-opening-footer")]
    return "\n".join(lines)


def render_turn(texts: TextSource, turn: Turn) -> str:
    """One transcript line: the role's mark, the author's name if known, the text."""
    role, name = str(turn.role), turn.meta.get("name")
    if name:
        return texts.get("turn-named", role=role, name=name, text=turn.text)
    return texts.get("turn", role=role, text=turn.text)


def topic_gone(error: TelegramBadRequest) -> bool:
    return any(marker in error.message.lower() for marker in _TOPIC_GONE)


class TopicUnavailableError(ConfigurationError, TelegramAPIError):
    """The agents' chat refused to create a topic (not a forum, or no rights)."""


class TelegramAgentsChat:
    """Posts into each ticket's forum topic; creates it on first use and again if it vanished.

    Topic creation for a ticket runs under a Redis lock, so concurrent messages (even from
    several bot processes) never give one ticket two topics. ``texts`` are the agents' language.
    """

    def __init__(self, bot: Bot, chat_id: int, stores: Stores, texts: TextSource) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.stores = stores
        self.texts = texts

    # ------------------------------------------------------------- topics

    async def ensure_topic(self, ticket: Ticket) -> int:
        """The ticket's topic thread id, creating the topic (with the transcript) if needed."""
        if ticket.thread_id:
            return ticket.thread_id
        async with self._lock(ticket):
            fresh = await self.stores.tickets.get(ticket.id)
            if fresh is not None and fresh.thread_id:
                ticket.thread_id = fresh.thread_id
                return fresh.thread_id
            return await self._create_topic(ticket, recreated=False)

    async def recreate_topic(self, ticket: Ticket, stale: int) -> int:
        """A new topic for a ticket whose topic ``stale`` is gone; the transcript is re-posted."""
        async with self._lock(ticket):
            fresh = await self.stores.tickets.get(ticket.id)
            if fresh is not None and fresh.thread_id and fresh.thread_id != stale:
                ticket.thread_id = fresh.thread_id  # another handler already recreated it
                return fresh.thread_id
            log.warning("topic %s of ticket %s is gone; creating a new one", stale, ticket.id)
            return await self._create_topic(ticket, recreated=True)

    async def _create_topic(self, ticket: Ticket, *, recreated: bool) -> int:
        try:
            topic = await self.bot.create_forum_topic(self.chat_id, topic_name(self.texts, ticket))
        except TelegramBadRequest as exc:
            raise TopicUnavailableError(
                exc.method,
                f"cannot create a topic in the agents' chat {self.chat_id} ({exc.message}); "
                "it must be a supergroup with topics enabled and the bot an admin who may "
                "manage topics",
            ) from exc
        thread = topic.message_thread_id
        await self.stores.tickets.bind_thread(ticket, self.chat_id, thread)
        if recreated:
            await self.bot.send_message(
                self.chat_id, self.texts.get("agent-topic-recreated"), message_thread_id=thread
            )
        transcript = await self.stores.tickets.transcript(ticket.id)
        parts = split_message(ticket_opening(self.texts, ticket, transcript))
        for part in parts[:-1]:
            await self.bot.send_message(self.chat_id, part, message_thread_id=thread)
        opening = await self.bot.send_message(
            self.chat_id,
            parts[-1],
            message_thread_id=thread,
            reply_markup=ticket_keyboard(self.texts, ticket.status, ticket.id),
        )
        await self.stores.tickets.update(ticket.id, agents_message_id=opening.message_id)
        ticket.agents_message_id = opening.message_id
        log.info("ticket %s: topic %s in chat %s", ticket.id, thread, self.chat_id)
        return thread

    def _lock(self, ticket: Ticket):
        return self.stores.redis.lock(
            self.stores.keys.ticket_lock(ticket.id), timeout=60, blocking_timeout=60
        )

    async def _in_topic(self, ticket: Ticket, action: Callable[[int], Awaitable[T]]) -> T:
        """Run ``action(thread_id)``; if the topic is gone, recreate it and run it once more."""
        thread = await self.ensure_topic(ticket)
        try:
            return await action(thread)
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
        thread = await self.recreate_topic(ticket, stale=thread)
        return await action(thread)

    # ------------------------------------------------------------- posting

    async def post(
        self, ticket: Ticket, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> Message:
        """A message from the bot in the ticket's topic (split to Telegram's limit)."""
        parts = split_message(text)

        async def send(thread: int) -> Message:
            for part in parts[:-1]:
                await self.bot.send_message(self.chat_id, part, message_thread_id=thread)
            return await self.bot.send_message(
                self.chat_id, parts[-1], message_thread_id=thread, reply_markup=keyboard
            )

        return await self._in_topic(ticket, send)

    async def copy_in(self, ticket: Ticket, from_chat_id: int, message_id: int) -> MessageId:
        """Copy a customer's message (any kind: photo, document, voice…) into the topic."""

        async def copy(thread: int) -> MessageId:
            return await self.bot.copy_message(
                self.chat_id, from_chat_id, message_id, message_thread_id=thread
            )

        return await self._in_topic(ticket, copy)

    async def post_general(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """A message in the agents' chat outside any ticket topic (e.g. an SLA reminder)."""
        await self.bot.send_message(self.chat_id, text, reply_markup=keyboard)

    async def show_status(self, ticket: Ticket) -> None:
        """Best effort: buttons of the opening message and the topic's name/state follow status."""
        if ticket.agents_message_id:
            try:
                await self.bot.edit_message_reply_markup(
                    chat_id=self.chat_id,
                    message_id=ticket.agents_message_id,
                    reply_markup=ticket_keyboard(self.texts, ticket.status, ticket.id),
                )
            except TelegramAPIError as exc:
                log.debug("ticket %s: buttons not updated: %s", ticket.id, exc)
        if not ticket.thread_id:
            return
        name = topic_name(self.texts, ticket)
        if not ticket.is_active:
            name = self.texts.get("ticket-topic-closed", name=name)[:TOPIC_NAME_LIMIT]
        try:
            await self.bot.edit_forum_topic(self.chat_id, ticket.thread_id, name=name)
        except TelegramAPIError as exc:
            log.debug("ticket %s: topic not renamed: %s", ticket.id, exc)

    # ------------------------------------------------------------- people

    async def is_member(self, user_id: int) -> bool:
        try:
            member = await self.bot.get_chat_member(self.chat_id, user_id)
        except TelegramAPIError as exc:
            log.info("membership of %s in the agents' chat unknown: %s", user_id, exc)
            return False
        if member.status == ChatMemberStatus.RESTRICTED:
            return bool(getattr(member, "is_member", False))
        return member.status in _MEMBER

"""Canned replies: operators save them (a short name, a text with placeholders), agents send them
with ``/reply NAME`` in a ticket's topic or pick them in the console.

Placeholders are ``{name}`` (the customer's first name), ``{agent}`` (the replying agent's first
name) and ``{ticket}`` (the ticket's id); a reply with any other is refused when saved, so
rendering never meets one. A refused change raises ``CannedReplyError`` (a ``UserFacingError``,
worded from the agents' catalog) and stores nothing.
"""

from __future__ import annotations

import re

from bot.errors import UserFacingError
from bot.i18n import TextSource
from bot.services.knowledge import KnowledgeService
from bot.store import CannedReply, CannedReplyRepository, Ticket

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PLACEHOLDERS = ("name", "agent", "ticket")
TEXT_LIMIT = 4000  # one Telegram message, with room for the longest placeholder values
KB_PREFIX = "kb:"  # ``/reply kb:ENTRY_ID`` sends a knowledge-base entry's answer


class CannedReplyError(UserFacingError):
    """A canned reply refused: a bad name, text or placeholder, or no such reply."""


def first_name(name: str) -> str:
    """ "Dana Smith (dana)" → "Dana": how the customer is addressed and how agents sign."""
    words = name.split(" (")[0].split()
    return words[0] if words else name


def fill(text: str, *, customer: str, agent: str, ticket: str) -> str:
    """The text with its placeholders filled (saved replies only hold the allowed ones)."""
    values = {"name": first_name(customer), "agent": first_name(agent), "ticket": ticket}
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1).strip(), m.group(0)), text)


class CannedReplies:
    """Validates, stores and renders canned replies; ``texts`` are the agents' (refusals)."""

    def __init__(self, store: CannedReplyRepository, texts: TextSource) -> None:
        self.store, self.texts = store, texts

    async def list_all(self) -> list[CannedReply]:
        return await self.store.list_all()

    async def get(self, name: str) -> CannedReply:
        """The reply called ``name``; CannedReplyError naming the known ones otherwise."""
        reply = await self.store.get(name.strip().lower())
        if reply is None:
            known = ", ".join(r.name for r in await self.store.list_all())
            raise CannedReplyError(self.texts.get("canned-unknown", name=name, known=known or "-"))
        return reply

    def problems(self, name: str, text: str) -> list[str]:
        """What is wrong with a reply called ``name`` saying ``text`` (empty if nothing)."""
        found: list[str] = []
        if not NAME.match(name):
            found.append(self.texts.get("canned-bad-name", name=name))
        if not text.strip():
            found.append(self.texts.get("canned-empty"))
        elif len(text) > TEXT_LIMIT:
            found.append(self.texts.get("canned-too-long", limit=str(TEXT_LIMIT)))
        allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        for field in dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(text)):
            if field.strip() not in PLACEHOLDERS:
                placeholder = "{" + field + "}"
                found.append(
                    self.texts.get(
                        "canned-bad-placeholder", placeholder=placeholder, allowed=allowed
                    )
                )
        return found

    async def save(self, name: str, text: str, by: str) -> CannedReply:
        """Add or replace a reply; CannedReplyError (nothing stored) if it is not valid."""
        name, text = name.strip().lower(), text.strip()
        problems = self.problems(name, text)
        if problems:
            raise CannedReplyError(problems[0], problems)
        return await self.store.save(name, text, by)

    async def delete(self, name: str) -> None:
        if not await self.store.delete(name.strip().lower()):
            await self.get(name)  # raises, naming the known replies

    async def render(self, name: str, ticket: Ticket, agent: str) -> str:
        """The reply called ``name`` as ``agent`` would send it in ``ticket``."""
        reply = await self.get(name)
        return fill(reply.text, customer=ticket.customer_name, agent=agent, ticket=ticket.id)

    async def kb_answer(self, entry_id: str, knowledge: KnowledgeService | None) -> str:
        """The answer of the live knowledge base's entry ``entry_id``."""
        entry = None
        if knowledge is not None and entry_id:
            _, kb = await knowledge.live()
            entry = kb.get(entry_id)
        if entry is None:
            raise CannedReplyError(self.texts.get("canned-unknown-kb", id=entry_id))
        return entry.answer

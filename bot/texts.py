"""Everything the bot says to customers and agents, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store import Ticket, Turn

TELEGRAM_TEXT_LIMIT = 4096

START = (
    "Hi{name}! I'm the {product} support assistant.\n\n"
    "Ask me anything about orders, delivery, returns, payments, your account or our products — "
    "in your own words. If I'm not sure, I'll pass you to a person from our support team.\n\n"
    "/help shows what I can do."
)
HELP = (
    "Just type your question, for example “Where is my order?” or “How do I return an item?”.\n\n"
    "• 👍 / 👎 under an answer tells us whether it helped.\n"
    "• “Talk to a human” hands your question to our support team.\n"
    "• /start shows the greeting again."
)
NOT_TEXT = (
    "Sorry, I can only read text messages. Please type your question — "
    "or tap “Talk to a human” if you'd like a person to look at it."
)
EMPTY = "Please type your question in words, and I'll look it up."
FEEDBACK_THANKS_UP = "Thanks for the feedback! 🙌"
FEEDBACK_THANKS_DOWN = (
    "Thanks for telling us. Tap “Talk to a human” if you'd like a person to help."
)
FEEDBACK_EXPIRED = "This answer is too old to rate."
HANDOFF_NEW = (
    "I've passed your question to our support team (ticket #{ticket}). "
    "A person will reply here in this chat — you don't need to do anything else."
)
HANDOFF_EXISTING = (
    "Your question is already with our support team (ticket #{ticket}); I've added this message "
    "to it. A person will reply here."
)
LOW_CONFIDENCE_PREFIX = (
    "I'm not sure I have the right answer to that, so I'm getting a person to help. "
)
ERROR = "Sorry, something went wrong on our side. Please try again in a moment."
BUTTON_HELPFUL = "👍"
BUTTON_NOT_HELPFUL = "👎"
BUTTON_HUMAN = "Talk to a human"

REASONS = {
    "low_confidence": "bot not confident",
    "asked_for_human": "customer asked for a person",
    "long_message": "long message",
}


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


def ticket_summary(
    ticket: Ticket, transcript: Sequence[Turn], best_guess: str | None, confidence: float
) -> str:
    """The agents' first message about a ticket: who, why, the transcript, the bot's best guess."""
    lines = [
        f"🆕 Ticket #{ticket.id} — {ticket.customer_name or 'customer'} (chat {ticket.chat_id})",
        f"Reason: {REASONS.get(ticket.reason, ticket.reason)}",
        "",
        "Transcript:",
    ]
    for turn in transcript[-12:]:
        who = {"customer": "👤", "bot": "🤖", "agent": "🧑‍💼"}.get(turn.role, turn.role)
        lines.append(f"{who} {turn.text}")
    if best_guess:
        lines += ["", f"Bot's best guess ({confidence:.0%}): {best_guess}"]
    text = "\n".join(lines)
    return text if len(text) <= TELEGRAM_TEXT_LIMIT else text[: TELEGRAM_TEXT_LIMIT - 1] + "…"

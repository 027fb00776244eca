"""Everything the bot says to customers and agents, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store import Ticket, Turn, TurnRole

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


# ---------------------------------------------------------------- human handoff

REASONS.update(
    {
        "negative_sentiment": "customer is upset",
        "repeated_dislikes": "two 👎 in a row",
        "repeated_question": "same question three times",
        "console": "opened from the console",
    }
)
WAIT_SOON = "A person usually replies within about {minutes} minutes."
WAIT_OFFLINE = (
    "Our team is offline right now; they're back {when} ({tz}). Your message is saved, and a "
    "person will reply here then."
)
HANDOFF_AGENT_JOINED = "👋 {agent} from our support team is looking at your question now."
HANDOFF_CLOSED = (
    "Your conversation with our support team is closed (ticket #{ticket}) — I'm back to answer "
    "your questions. How did we do? Tap 1 (poor) to 5 (excellent)."
)
RATING_THANKS = "Thank you for rating us {score}/5!"
RATING_ALREADY = "This conversation was already rated — thank you!"
BUTTON_CLAIM = "🙋 Claim"
BUTTON_CLOSE = "✅ Close"
BUTTON_REOPEN = "↩️ Reopen"

AGENT_NOT_ALLOWED = "Only support agents can do that — nothing was changed."
AGENT_NOT_ALLOWED_REPLY = (
    "⛔ Only support agents can write to customers; your message was not sent."
)
AGENT_UNKNOWN_TICKET = "This ticket no longer exists."
AGENT_CLAIMED = "🙋 Claimed by {agent}."
AGENT_CLAIMED_TOAST = "You've got ticket #{ticket}."
AGENT_ALREADY_CLAIMED = "Already claimed by {agent}."
AGENT_TICKET_CLOSED_TOAST = "Ticket #{ticket} is closed."
AGENT_CLOSED = (
    "✅ Closed by {agent}; the customer is back with the bot and was asked for a rating."
)
AGENT_CLOSED_TOAST = "Ticket #{ticket} closed."
AGENT_REOPENED = "↩️ Reopened by {agent}."
AGENT_REOPEN_REFUSED = "The customer already has another open ticket (#{ticket})."
AGENT_REPLY_TO_CLOSED = (
    "This ticket is closed, so your message was not sent. Press “Reopen” to write to the customer."
)
AGENT_CUSTOMER_BLOCKED = (
    "⛔ The customer has blocked the bot, so messages can't be delivered. The ticket is marked "
    "“customer blocked”; it will clear if they write again."
)
AGENT_NOT_DELIVERED = "⚠️ Not delivered to the customer ({error}). Please try again."
AGENT_TOPIC_RECREATED = (
    "♻️ The previous topic of this ticket was deleted or could not be found; "
    "here is the conversation so far."
)
AGENT_RATING = "⭐ The customer rated this conversation {score}/5."
AGENT_CONSOLE_REPLY = "🧑‍💼 {agent} (web console):\n{text}"
AGENT_SLA_REMINDER = (
    "⏰ Ticket #{ticket} — {customer} has waited {minutes} min and nobody has claimed it yet."
)


def topic_name(ticket: Ticket) -> str:
    """The agents' forum topic of a ticket: number, customer and a short summary (≤128 chars)."""
    summary = " ".join(ticket.question.split())
    if len(summary) > 48:
        summary = summary[:47].rstrip() + "…"
    name = f"#{ticket.id} {ticket.customer_name or 'customer'} · {summary}"
    return name if len(name) <= 128 else name[:127] + "…"


def ticket_opening(ticket: Ticket, transcript: Sequence[Turn]) -> str:
    """The first message in a ticket's topic: who, why, the whole transcript, the bot's guess."""
    lines = [
        f"🆕 Ticket #{ticket.id} — {ticket.customer_name or 'customer'} (chat {ticket.chat_id})",
        f"Reason: {REASONS.get(ticket.reason, ticket.reason)}",
        "",
        "Transcript:",
    ]
    lines += [render_turn(turn) for turn in transcript] or ["(empty)"]
    if ticket.best_guess:
        confidence = ticket.confidence or 0.0
        lines += ["", f"🤖 Bot's best guess ({confidence:.0%} confident): {ticket.best_guess}"]
    elif ticket.confidence is not None:
        lines += ["", f"🤖 No good guess (best confidence {ticket.confidence:.0%})."]
    lines += ["", "Anything you write in this topic goes to the customer."]
    return "\n".join(lines)


def render_turn(turn: Turn) -> str:
    who = {TurnRole.CUSTOMER: "👤", TurnRole.BOT: "🤖", TurnRole.AGENT: "🧑‍💼"}.get(
        turn.role, turn.role
    )
    name = turn.meta.get("name")
    return f"{who} {name}: {turn.text}" if name else f"{who} {turn.text}"


# ---------------------------------------------------------------- knowledge base (operators)

BUTTON_ADD_TO_KB = "📚 Add to knowledge base"
BUTTON_APPROVE = "✅ Approve"
BUTTON_REJECT = "🗑 Reject"
AGENT_KB_OFFER = (
    "💡 Was this a question others will ask too? Suggest your reply for the knowledge base "
    "(operators approve it)."
)
AGENT_KB_SUGGESTED = "Suggestion #{id} is waiting for an operator: “{question}”."
AGENT_KB_NO_REPLY = "There is no agent reply in this ticket yet."
BUTTON_GAP_OUT_OF_SCOPE = "🚫 Not ours: out of scope"
BUTTON_GAP_DISMISS = "✓ Dismiss"
KB_GAP_EXPIRED = "This report is out of date; send /kb_gaps again."
OPERATOR_ONLY = "Only knowledge-base operators (OPERATORS__IDS) can do that — nothing was changed."
# A refused request (a UserFacingError) in reply to a command, and to a file sent for import.
REFUSED = "❌ {problems}"
FILE_REFUSED = (
    "❌ {name} refused ({count} problem(s)); the knowledge base is unchanged:\n{problems}{more}"
)
KB_HELP = (
    "Knowledge base commands (operators):\n"
    "/kb_show ID — one entry\n"
    "/kb_add ID | question | answer — new entry\n"
    "/kb_edit ID question|answer|tags = text — change one field\n"
    "/kb_delete ID — remove an entry\n"
    "/kb_phrasing_add ID | text, /kb_phrasing_remove ID | text\n"
    "/kb_oos — questions no entry answers (handed to a person); "
    "/kb_oos_add text, /kb_oos_remove text\n"
    "/kb_history, /kb_diff A B, /kb_rollback N\n"
    "/kb_check — near-duplicates and misplaced phrasings\n"
    "/kb_gaps — what customers ask that the knowledge base does not answer\n"
    "/kb_suggestions, /kb_approve ID [entry], /kb_reject ID\n"
    "/kb_export yaml|jsonl|csv|md, /kb_retrain\n"
    "Send a .yaml / .jsonl / .csv / .md file to import it (caption “replace” to replace all)."
)
KB_SUGGESTION = "Suggestion #{id} (from {by}{ticket}):\nQ: {question}\nA: {answer}"

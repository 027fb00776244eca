"""Inline buttons and their callback data; every button's label comes from the text catalog.

A builder takes the ``TextSource`` of the person who will see the buttons (the customer's
``i18n``, or the agents' / operators' texts). Callback actions are StrEnums whose values are the
strings packed into buttons since the first release, so buttons already sent keep working.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import TextSource
from bot.store import TicketStatus

# ---------------------------------------------------------------- customers


class FeedbackCallback(CallbackData, prefix="fb"):
    answer_id: str
    helpful: bool


class HumanCallback(CallbackData, prefix="human"):
    answer_id: str


class RatingCallback(CallbackData, prefix="rate"):
    ticket_id: str
    score: int


class LanguageCallback(CallbackData, prefix="lang"):
    """A language picked under ``/language``: a locale code of the catalog."""

    locale: str


class ClarifyCallback(CallbackData, prefix="clr"):
    """A press under "Did you mean …?": the clarification (its record in Redis) and the offered
    entry's position, or ``NONE_OF_THESE``. Ids, not entry ids, fit Telegram's 64 bytes."""

    clarification_id: str
    choice: int


NONE_OF_THESE = -1
SUGGESTION_CHARS = 48  # an entry's question on its button, shortened


def clarify_keyboard(
    texts: TextSource, clarification_id: str, questions: list[str]
) -> InlineKeyboardMarkup:
    """One button per offered entry's question, then "None of these — talk to a person"."""
    builder = InlineKeyboardBuilder()
    for choice, question in enumerate(questions):
        builder.button(
            text=texts.get("button-did-you-mean", question=_shorten(question)),
            callback_data=ClarifyCallback(clarification_id=clarification_id, choice=choice),
        )
    builder.button(
        text=texts.get("button-none-of-these"),
        callback_data=ClarifyCallback(clarification_id=clarification_id, choice=NONE_OF_THESE),
    )
    builder.adjust(1)
    return builder.as_markup()


def _shorten(text: str, limit: int = SUGGESTION_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class ForgetCallback(CallbackData, prefix="forget"):
    """Confirm / cancel under /forget: whose data, and which /forget it answers."""

    customer_id: int
    token: str
    confirm: bool


def forget_keyboard(texts: TextSource, customer_id: int, token: str) -> InlineKeyboardMarkup:
    """ "Delete my data" / "Cancel" under /forget's question."""
    builder = InlineKeyboardBuilder()
    for confirm, label in ((True, "button-forget-confirm"), (False, "button-forget-cancel")):
        builder.button(
            text=texts.get(label),
            callback_data=ForgetCallback(customer_id=customer_id, token=token, confirm=confirm),
        )
    builder.adjust(2)
    return builder.as_markup()


def language_keyboard(choices: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per language: ``(locale, its own name)``, e.g. ``("zh", "简体中文")``."""
    builder = InlineKeyboardBuilder()
    for locale, name in choices:
        builder.button(text=name, callback_data=LanguageCallback(locale=locale))
    builder.adjust(1)
    return builder.as_markup()


def answer_keyboard(
    texts: TextSource, answer_id: str, related: Sequence[str] = ()
) -> InlineKeyboardMarkup:
    """👍 / 👎 and "Talk to a human" under a bot's answer, then a "People also ask" button per
    question in ``related``."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.get("button-helpful"),
        callback_data=FeedbackCallback(answer_id=answer_id, helpful=True),
    )
    builder.button(
        text=texts.get("button-not-helpful"),
        callback_data=FeedbackCallback(answer_id=answer_id, helpful=False),
    )
    builder.button(
        text=texts.get("button-human"), callback_data=HumanCallback(answer_id=answer_id)
    )
    for choice, question in enumerate(related):
        builder.button(
            text=texts.get("button-related", question=_shorten(question, RELATED_CHARS)),
            callback_data=RelatedCallback(answer_id=answer_id, choice=choice),
        )
    builder.adjust(2, 1)  # the last size repeats: one button a row after the first row
    return builder.as_markup()


def human_keyboard(texts: TextSource, answer_id: str) -> InlineKeyboardMarkup:
    """ "Talk to a human" alone (under a message that offers no answer)."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.get("button-human"), callback_data=HumanCallback(answer_id=answer_id)
    )
    return builder.as_markup()


def rating_keyboard(texts: TextSource, ticket_id: str) -> InlineKeyboardMarkup:
    """1–5 under the notice that a ticket is closed."""
    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        builder.button(
            text=texts.get("button-rating", score=score),
            callback_data=RatingCallback(ticket_id=ticket_id, score=score),
        )
    builder.adjust(5)
    return builder.as_markup()


# ---------------------------------------------------------------- customers: related questions


class RelatedCallback(CallbackData, prefix="rel"):
    """A press of a "People also ask" button: the answer it was under and the button's number.
    The offered entries are kept in Redis by answer (``bot/store/related.py``): entry ids can be
    longer than Telegram's 64 bytes of callback data allow, and a press is checked against what
    was really offered to this chat."""

    answer_id: str
    choice: int


RELATED_PREFIX = RelatedCallback.__prefix__ + RelatedCallback.__separator__
RELATED_CHARS = 40  # a related question on its button, shortened


# ---------------------------------------------------------------- agents


class TicketAction(StrEnum):
    CLAIM = "claim"
    CLOSE = "close"
    REOPEN = "reopen"


class TicketCallback(CallbackData, prefix="tk"):
    """Claim / Close / Reopen on a ticket, pressed by an agent."""

    action: TicketAction
    ticket_id: str


def ticket_keyboard(
    texts: TextSource, status: TicketStatus, ticket_id: str
) -> InlineKeyboardMarkup:
    """The buttons agents see on a ticket, for its status."""
    builder = InlineKeyboardBuilder()
    if status == TicketStatus.OPEN:
        builder.button(
            text=texts.get("button-claim"),
            callback_data=TicketCallback(action=TicketAction.CLAIM, ticket_id=ticket_id),
        )
    if status in (TicketStatus.OPEN, TicketStatus.CLAIMED):
        builder.button(
            text=texts.get("button-close"),
            callback_data=TicketCallback(action=TicketAction.CLOSE, ticket_id=ticket_id),
        )
    else:
        builder.button(
            text=texts.get("button-reopen"),
            callback_data=TicketCallback(action=TicketAction.REOPEN, ticket_id=ticket_id),
        )
    builder.adjust(2)
    return builder.as_markup()


class KbSuggestCallback(CallbackData, prefix="kbs"):
    """ "Add to knowledge base" under an agent's reply in a ticket topic."""

    ticket_id: str


def kb_suggest_keyboard(texts: TextSource, ticket_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.get("button-add-to-kb"), callback_data=KbSuggestCallback(ticket_id=ticket_id)
    )
    return builder.as_markup()


# ---------------------------------------------------------------- operators


class SuggestionAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class KbSuggestionCallback(CallbackData, prefix="kbd"):
    """An operator's Approve / Reject on a pending suggestion."""

    action: SuggestionAction
    suggestion_id: str


class GapAction(StrEnum):
    OUT_OF_SCOPE = "oos"
    DISMISS = "dismiss"


class KbGapCallback(CallbackData, prefix="kbg"):
    """An operator's decision on a content-gap cluster reported by /kb_gaps."""

    action: GapAction
    cluster_id: str


def kb_decision_keyboard(texts: TextSource, suggestion_id: str) -> InlineKeyboardMarkup:
    """Approve / Reject under a pending suggestion."""
    return _choice_keyboard(
        (
            texts.get("button-approve"),
            KbSuggestionCallback(action=SuggestionAction.APPROVE, suggestion_id=suggestion_id),
        ),
        (
            texts.get("button-reject"),
            KbSuggestionCallback(action=SuggestionAction.REJECT, suggestion_id=suggestion_id),
        ),
    )


def kb_gap_keyboard(texts: TextSource, cluster_id: str) -> InlineKeyboardMarkup:
    """ "Not ours: out of scope" / "Dismiss" under a content-gap card."""
    return _choice_keyboard(
        (
            texts.get("button-gap-out-of-scope"),
            KbGapCallback(action=GapAction.OUT_OF_SCOPE, cluster_id=cluster_id),
        ),
        (
            texts.get("button-gap-dismiss"),
            KbGapCallback(action=GapAction.DISMISS, cluster_id=cluster_id),
        ),
    )


def _choice_keyboard(*choices: tuple[str, CallbackData]) -> InlineKeyboardMarkup:
    """One row of buttons, each a label and the callback it sends."""
    builder = InlineKeyboardBuilder()
    for label, callback in choices:
        builder.button(text=label, callback_data=callback)
    builder.adjust(len(choices))
    return builder.as_markup()


# -- drafts for operators


class DraftAction(StrEnum):
    APPROVE = "approve"
    DISCARD = "discard"


class DraftCallback(CallbackData, prefix="drf"):
    """An operator's Approve / Discard under a draft (``/draft``)."""

    action: DraftAction
    draft_id: str


def draft_keyboard(texts: TextSource, draft_id: str) -> InlineKeyboardMarkup:
    """Approve / Discard under a stored draft."""
    return _choice_keyboard(
        (
            texts.get("draft-button-approve"),
            DraftCallback(action=DraftAction.APPROVE, draft_id=draft_id),
        ),
        (
            texts.get("draft-button-discard"),
            DraftCallback(action=DraftAction.DISCARD, draft_id=draft_id),
        ),
    )

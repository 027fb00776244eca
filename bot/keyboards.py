"""Inline buttons and their callback data."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.store import TicketStatus


class FeedbackCallback(CallbackData, prefix="fb"):
    answer_id: str
    helpful: bool


class HumanCallback(CallbackData, prefix="human"):
    answer_id: str


def answer_keyboard(answer_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.BUTTON_HELPFUL,
        callback_data=FeedbackCallback(answer_id=answer_id, helpful=True),
    )
    builder.button(
        text=texts.BUTTON_NOT_HELPFUL,
        callback_data=FeedbackCallback(answer_id=answer_id, helpful=False),
    )
    builder.button(text=texts.BUTTON_HUMAN, callback_data=HumanCallback(answer_id=answer_id))
    builder.adjust(2, 1)
    return builder.as_markup()


class TicketCallback(CallbackData, prefix="tk"):
    """Claim / Close / Reopen on a ticket, pressed by an agent."""

    action: str  # "claim" | "close" | "reopen"
    ticket_id: str


class RatingCallback(CallbackData, prefix="rate"):
    ticket_id: str
    score: int


def ticket_keyboard(status: TicketStatus, ticket_id: str) -> InlineKeyboardMarkup:
    """The buttons agents see on a ticket, for its status."""
    builder = InlineKeyboardBuilder()
    if status == TicketStatus.OPEN:
        builder.button(
            text=texts.BUTTON_CLAIM,
            callback_data=TicketCallback(action="claim", ticket_id=ticket_id),
        )
    if status in (TicketStatus.OPEN, TicketStatus.CLAIMED):
        builder.button(
            text=texts.BUTTON_CLOSE,
            callback_data=TicketCallback(action="close", ticket_id=ticket_id),
        )
    else:
        builder.button(
            text=texts.BUTTON_REOPEN,
            callback_data=TicketCallback(action="reopen", ticket_id=ticket_id),
        )
    builder.adjust(2)
    return builder.as_markup()


def rating_keyboard(ticket_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        builder.button(
            text=f"{score}⭐",
            callback_data=RatingCallback(ticket_id=ticket_id, score=score),
        )
    builder.adjust(5)
    return builder.as_markup()


class KbSuggestCallback(CallbackData, prefix="kbs"):
    """ "Add to knowledge base" under an agent's reply in a ticket topic."""

    ticket_id: str


def kb_suggest_keyboard(ticket_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.BUTTON_ADD_TO_KB, callback_data=KbSuggestCallback(ticket_id=ticket_id)
    )
    return builder.as_markup()


class KbSuggestionCallback(CallbackData, prefix="kbd"):
    """An operator's Approve / Reject on a pending suggestion."""

    action: str  # "approve" | "reject"
    suggestion_id: str


def kb_decision_keyboard(suggestion_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.BUTTON_APPROVE,
        callback_data=KbSuggestionCallback(action="approve", suggestion_id=suggestion_id),
    )
    builder.button(
        text=texts.BUTTON_REJECT,
        callback_data=KbSuggestionCallback(action="reject", suggestion_id=suggestion_id),
    )
    builder.adjust(2)
    return builder.as_markup()


class KbGapCallback(CallbackData, prefix="kbg"):
    """An operator's decision on a content-gap cluster reported by /kb_gaps."""

    action: str  # "oos" | "dismiss"
    cluster_id: str


def kb_gap_keyboard(cluster_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.BUTTON_GAP_OUT_OF_SCOPE,
        callback_data=KbGapCallback(action="oos", cluster_id=cluster_id),
    )
    builder.button(
        text=texts.BUTTON_GAP_DISMISS,
        callback_data=KbGapCallback(action="dismiss", cluster_id=cluster_id),
    )
    builder.adjust(2)
    return builder.as_markup()

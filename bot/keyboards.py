"""Inline buttons and their callback data."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts


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

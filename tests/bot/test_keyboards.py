"""Buttons: labels from the catalog; callback actions pack to the strings buttons already carry."""

from __future__ import annotations

import pytest

from bot.keyboards import (
    GapAction,
    KbGapCallback,
    KbSuggestionCallback,
    SuggestionAction,
    TicketAction,
    TicketCallback,
    kb_decision_keyboard,
    kb_gap_keyboard,
    rating_keyboard,
    ticket_keyboard,
)
from bot.store import TicketStatus
from tests.support.texts import TEXTS


@pytest.mark.parametrize(
    ("callback", "packed"),
    [
        (TicketCallback(action=TicketAction.CLAIM, ticket_id="7"), "tk:claim:7"),
        (TicketCallback(action=TicketAction.CLOSE, ticket_id="7"), "tk:close:7"),
        (TicketCallback(action=TicketAction.REOPEN, ticket_id="7"), "tk:reopen:7"),
        (
            KbSuggestionCallback(action=SuggestionAction.APPROVE, suggestion_id="3"),
            "kbd:approve:3",
        ),
        (KbSuggestionCallback(action=SuggestionAction.REJECT, suggestion_id="3"), "kbd:reject:3"),
        (KbGapCallback(action=GapAction.OUT_OF_SCOPE, cluster_id="c1"), "kbg:oos:c1"),
        (KbGapCallback(action=GapAction.DISMISS, cluster_id="c1"), "kbg:dismiss:c1"),
    ],
)
def test_a_button_already_sent_keeps_working(callback, packed: str) -> None:
    assert callback.pack() == packed
    assert type(callback).unpack(packed) == callback


def test_labels_come_from_the_catalog() -> None:
    rows = ticket_keyboard(TEXTS, TicketStatus.OPEN, "1").inline_keyboard
    assert [b.text for b in rows[0]] == [TEXTS.get("button-claim"), TEXTS.get("button-close")]
    closed = ticket_keyboard(TEXTS, TicketStatus.CLOSED, "1").inline_keyboard
    assert [b.text for b in closed[0]] == [TEXTS.get("button-reopen")]
    assert [b.text for b in rating_keyboard(TEXTS, "1").inline_keyboard[0]] == [
        f"{n}⭐" for n in range(1, 6)
    ]


def test_the_operator_choices_are_one_row_of_two() -> None:
    decision = kb_decision_keyboard(TEXTS, "3").inline_keyboard
    gap = kb_gap_keyboard(TEXTS, "c1").inline_keyboard
    assert [[b.callback_data for b in row] for row in decision] == [
        ["kbd:approve:3", "kbd:reject:3"]
    ]
    assert [[b.text for b in row] for row in gap] == [
        [TEXTS.get("button-gap-out-of-scope"), TEXTS.get("button-gap-dismiss")]
    ]

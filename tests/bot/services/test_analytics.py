"""Each support metric on a scripted set of conversations whose outcomes are known."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.services.analytics import Outcome, build_report
from bot.services.events import DomainEvent, EventKind
from bot.services.hours import BusinessHours

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC).timestamp()  # a Monday
DAY = 24 * 3600.0


def msg(chat: int, at: float, kind: str = "text") -> DomainEvent:
    return DomainEvent(EventKind.MESSAGE_RECEIVED, chat_id=chat, message_kind=kind, at=T0 + at)


def answered(chat: int, at: float, answer: str, entry: str) -> DomainEvent:
    return DomainEvent(
        EventKind.ANSWERED, chat_id=chat, answer_id=answer, entry_id=entry, at=T0 + at
    )


def vote(chat: int, at: float, answer: str, entry: str, helpful: bool) -> DomainEvent:
    return DomainEvent(
        EventKind.FEEDBACK,
        chat_id=chat,
        answer_id=answer,
        entry_id=entry,
        helpful=helpful,
        at=T0 + at,
    )


def escalated(chat: int, at: float, ticket: str, reason: str, new: bool = True) -> DomainEvent:
    return DomainEvent(
        EventKind.ESCALATED, chat_id=chat, ticket_id=ticket, reason=reason, is_new=new, at=T0 + at
    )


def on_ticket(kind: EventKind, chat: int, at: float, ticket: str, actor: str = "") -> DomainEvent:
    return DomainEvent(kind, chat_id=chat, ticket_id=ticket, actor=actor or None, at=T0 + at)


def rating(chat: int, at: float, ticket: str, score: int) -> DomainEvent:
    return DomainEvent(EventKind.RATING, chat_id=chat, ticket_id=ticket, score=score, at=T0 + at)


SCRIPT = [
    # 1: answered, 👍 → confirmed
    msg(1, 0),
    answered(1, 1, "a1", "shipping"),
    vote(1, 30, "a1", "shipping", True),
    # 2: answered, then silence for over a day → assumed
    msg(2, 0),
    answered(2, 1, "a2", "shipping"),
    # 3: 👍, came back within the day, the new answer got 👎 → the 👍 is taken back
    msg(3, 0),
    answered(3, 1, "a3", "refunds"),
    vote(3, 10, "a3", "refunds", True),
    msg(3, 100),
    answered(3, 101, "a4", "refunds"),
    vote(3, 120, "a4", "refunds", False),
    # 4: asked for a person at once: claimed after 60 s, first reply after 120 s, closed, rated 5
    msg(4, 0),
    escalated(4, 0, "T1", "asked_for_human"),
    on_ticket(EventKind.TICKET_CLAIMED, 4, 60, "T1", "ann"),
    on_ticket(EventKind.TICKET_REPLIED, 4, 120, "T1", "ann"),
    on_ticket(EventKind.TICKET_REPLIED, 4, 300, "T1", "ann"),
    on_ticket(EventKind.TICKET_CLOSED, 4, 3600, "T1", "ann"),
    rating(4, 3700, "T1", 5),
    # 5: answered, asked again, handed over (low confidence); reopened, closed again; rated 2
    msg(5, 0),
    answered(5, 1, "a5", "shipping"),
    msg(5, 50),
    escalated(5, 50, "T2", "low_confidence"),
    on_ticket(EventKind.TICKET_REPLIED, 5, 250, "T2", "bob"),
    on_ticket(EventKind.TICKET_CLOSED, 5, 1000, "T2", "bob"),
    on_ticket(EventKind.TICKET_REOPENED, 5, 2000, "T2", "bob"),
    on_ticket(EventKind.TICKET_CLOSED, 5, 5000, "T2", "bob"),
    rating(5, 5100, "T2", 2),
    # 6: answered late in the day: too early to say at the time of the report
    msg(6, 20 * 3600),
    answered(6, 20 * 3600 + 1, "a6", "hours"),
    # 7: a photo, nothing else: a conversation the bot had no part in
    msg(7, 0, kind="photo"),
    # the agents' group chat is nobody's conversation
    msg(-100123, 5),
    # a joined ticket (not new) is not a second ticket
    escalated(5, 60, "T2", "low_confidence", new=False),
]


def report(events=SCRIPT, **options):
    return build_report(events, since=T0, until=T0 + DAY, now=T0 + DAY + 3600, **options)


def test_every_metric_of_the_scripted_conversations() -> None:
    figures = report().to_json()
    assert figures["conversations"] == 7
    assert figures["messages"] == 9  # chat 3 and 5 wrote twice; the group is not a customer
    assert figures["involvement_rate"] == round(5 / 7, 4)  # 1, 2, 3, 5, 6 got an answer
    assert figures["resolution_confirmed"] == 1
    assert figures["resolution_assumed"] == 1
    assert figures["resolution_pending"] == 1
    assert figures["resolution_rate"] == 0.5  # 2 of the 4 decided: 1, 2 yes; 3, 5 no
    assert figures["escalation_rate"] == round(2 / 7, 4)
    assert figures["escalations_by_reason"] == {"asked_for_human": 1, "low_confidence": 1}
    assert figures["tickets"] == 2
    assert figures["csat"] == 0.5  # a 5 and a 2
    assert figures["ratings"] == 2
    assert figures["thumbs_up_share"] == round(2 / 3, 4)
    assert figures["first_response_p50_s"] == 160.0  # 120 and 200
    assert figures["resolution_time_p50_s"] == 4275.0  # 3600, and 4950 to the last close
    assert figures["unclaimed_wait_p50_s"] == 60.0  # only T1 was claimed
    assert figures["tickets_per_agent"] == {"ann": 1, "bob": 1}
    assert figures["sentiment_mean"] is None
    assert figures["topics"] == []


def test_entries_worst_first() -> None:
    entries = {e["entry_id"]: e for e in report().to_json()["entries"]}
    assert entries["refunds"] == {
        "entry_id": "refunds",
        "answers": 2,
        "thumbs_up": 1,
        "thumbs_down": 1,
        "resolution_rate": 0.0,
        "handoffs_after": 0,
    }
    assert entries["shipping"] == {
        "entry_id": "shipping",
        "answers": 3,
        "thumbs_up": 1,
        "thumbs_down": 0,
        "resolution_rate": round(2 / 3, 4),  # chats 1 and 2 of 1, 2, 5
        "handoffs_after": 1,
    }
    assert entries["hours"]["resolution_rate"] is None  # pending
    order = [e["entry_id"] for e in report().to_json()["entries"]]
    assert order == ["refunds", "shipping", "hours"]


def test_a_customer_back_after_a_day_starts_a_new_conversation() -> None:
    events = [
        msg(1, 0),
        answered(1, 1, "a1", "shipping"),
        msg(1, DAY + 10),
        escalated(1, DAY + 11, "T9", "asked_for_human"),
    ]
    whole = build_report(events, since=T0, until=T0 + 3 * DAY, now=T0 + 3 * DAY)
    assert whole.conversations == 2
    assert whole.outcomes[Outcome.ASSUMED] == 1
    assert whole.outcomes[Outcome.ESCALATED] == 1
    # within the day the customer came back with a question that went to a person: no resolution
    events[2] = msg(1, 3600)
    events[3] = escalated(1, 3601, "T9", "asked_for_human")
    again = build_report(events, since=T0, until=T0 + 3 * DAY, now=T0 + 3 * DAY)
    assert again.conversations == 1
    assert again.outcomes[Outcome.ESCALATED] == 1
    assert again.to_json()["resolution_rate"] == 0.0


def test_only_conversations_and_tickets_started_in_the_period_count() -> None:
    later = build_report(SCRIPT, since=T0 + 3600, until=T0 + DAY, now=T0 + DAY + 3600)
    figures = later.to_json()
    assert figures["conversations"] == 1  # only chat 6 started after the first hour
    assert figures["tickets"] == 0
    assert figures["messages"] == 1
    assert figures["resolution_rate"] is None  # nothing decided yet


def test_a_changed_vote_counts_once_as_changed() -> None:
    events = [
        msg(1, 0),
        answered(1, 1, "a1", "shipping"),
        vote(1, 5, "a1", "shipping", False),
        vote(1, 9, "a1", "shipping", True),
    ]
    figures = build_report(events, since=T0, until=T0 + DAY).to_json()
    assert figures["thumbs_up_share"] == 1.0
    assert figures["rated_answers"] == 1
    assert figures["resolution_confirmed"] == 1


def test_first_response_within_business_hours() -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-17:00", "UTC")
    friday = datetime(2026, 11, 6, 16, 30, tzinfo=UTC).timestamp() - T0
    monday = datetime(2026, 11, 9, 9, 30, tzinfo=UTC).timestamp() - T0
    events = [
        msg(1, friday),
        escalated(1, friday, "T1", "asked_for_human"),
        on_ticket(EventKind.TICKET_REPLIED, 1, monday, "T1", "ann"),
    ]
    figures = build_report(
        events, since=T0, until=T0 + 14 * DAY, now=T0 + 14 * DAY, hours=hours
    ).to_json()
    assert figures["first_response_business_p50_s"] == 3600.0  # Friday's and Monday's half hour
    assert figures["first_response_p50_s"] == pytest.approx(monday - friday)
    assert figures["resolution_time_p50_s"] is None  # never closed


def test_sentiment_mean_and_the_most_negative_conversations() -> None:
    def said(chat: int, at: float, mood: float) -> DomainEvent:
        return DomainEvent(
            EventKind.MESSAGE_RECEIVED,
            chat_id=chat,
            message_kind="text",
            sentiment=mood,
            at=T0 + at,
        )

    events = [
        said(1, 0, 0.5),
        answered(1, 1, "a1", "shipping"),
        said(2, 0, -0.2),
        said(2, 60, -0.9),
        escalated(2, 61, "T7", "negative_sentiment"),
        said(3, 0, -0.4),
        said(4, 0, 0.0),
    ]
    figures = build_report(events, since=T0, until=T0 + DAY).to_json()
    assert figures["sentiment_mean"] == round((0.5 - 0.2 - 0.9 - 0.4 + 0.0) / 5, 4)
    worst = figures["most_negative"]
    assert [w["lowest_sentiment"] for w in worst] == [-0.9, -0.4]  # chats 1 and 4 never < 0
    assert worst[0] == {
        "started": worst[0]["started"],
        "lowest_sentiment": -0.9,
        "mean_sentiment": -0.55,
        "messages": 2,
        "outcome": "escalated",
        "tickets": ["T7"],
    }


def test_reports_of_consecutive_periods_merge_into_the_whole() -> None:
    from bot.services.analytics import Report

    now = T0 + DAY + 3600
    halves = [
        build_report(SCRIPT, since=T0, until=T0 + 600, now=now),
        build_report(SCRIPT, since=T0 + 600, until=T0 + DAY, now=now),
    ]
    stored = [Report.from_state(json.loads(json.dumps(h.state()))) for h in halves]
    assert Report.merge(stored).to_json() == report().to_json()


def test_asking_back_is_an_attempt_and_a_greeting_is_not() -> None:
    def clarified(chat: int, at: float, reason: str) -> DomainEvent:
        return DomainEvent(EventKind.CLARIFIED, chat_id=chat, reason=reason, at=T0 + at)

    events = [
        msg(1, 0),
        clarified(1, 1, "unsure"),  # asked back, and the customer left
        msg(2, 0),
        clarified(2, 1, "greeting"),  # "hi" → "what can I help you with?"
        msg(3, 20 * 3600),
        clarified(3, 20 * 3600 + 1, "emoji"),  # too recent to tell
    ]
    report = build_report(events, since=T0, until=T0 + DAY, now=T0 + DAY + 3600)
    figures = report.to_json()
    assert figures["involvement_rate"] == round(2 / 3, 4)
    assert report.outcomes[Outcome.UNRESOLVED] == 1 and report.outcomes[Outcome.PENDING] == 1
    assert figures["resolution_rate"] == 0.0  # the one decided was not resolved

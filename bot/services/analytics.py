"""How support is going, computed from the domain events (``bot/services/events.py``).

The definitions follow the leading products; the README repeats them for the people reading the
figures:

- A **conversation** is a customer's private chat from a message until 24 hours pass without
  another one (Intercom's window for an assumed resolution, so the outcome of a conversation is
  decided when it ends).
- **Involvement rate**: conversations in which the bot attempted an answer — answered, or asked
  back with "Did you mean …?" (a reply to "hi" or "thanks" is no attempt) — ÷ conversations.
- **Resolution** (Intercom Fin's rule), decided on the bot's *last* answer of a conversation the
  bot was involved in: no handoff in the conversation, no 👎 on that answer, and the customer did
  not come back for more help afterwards (a later message the bot did not answer; a conversation
  only asked back about, never answered, is unresolved once a day passes); then it is
  *confirmed* with a 👍 on it, or *assumed* once 24 hours passed in silence. A customer who comes
  back within 24 hours is still in the same conversation, so an earlier 👍 is taken back when the
  new question is not resolved. Conversations not yet decided are *pending* and stay out of the
  rate.
- **Escalation rate**: conversations with a handoff ÷ conversations; tickets opened by reason.
- **CSAT** (Zendesk's rule): ratings of 4 or 5 ÷ all 1–5 ratings; **👍 share**: 👍 ÷ rated answers.
- **First response time** (Chatwoot's rule): ticket opened → first agent reply, overall and counting
  only business hours; **resolution time**: opened → closed, a reopened ticket until its last
  close; **unclaimed wait**: opened → claimed.
- **Per entry**: answers, 👍 / 👎, resolution among the conversations whose last answer it was,
  handoffs that followed an answer from it in the same conversation.

Everything here is a pure function of the events and the moment of the report, so several bot
processes writing events at once change nothing but the events' order, which is by time.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.services.events import DomainEvent, EventKind
from bot.services.hours import BusinessHours

CONVERSATION_GAP_S = 24 * 3600  # silence that ends a conversation
RESOLUTION_WAIT_S = 24 * 3600  # silence after the bot's last answer that assumes it helped
GOOD_RATINGS = (4, 5)
SMALL_TALK = ("greeting", "thanks")  # a clarification that is no attempt to answer
MOST_NEGATIVE = 5  # conversations listed as the most negative of a period


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    ASSUMED = "assumed"
    PENDING = "pending"  # too early to say: the customer may still come back
    ESCALATED = "escalated"
    UNRESOLVED = "unresolved"  # 👎 on the last answer, or came back and was not answered
    NOT_INVOLVED = "not_involved"  # the bot never answered and nobody took over


@dataclass(slots=True)
class Conversation:
    chat_id: int
    started: float
    last_message: float
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def involved(self) -> bool:
        """The bot answered, or asked back about a question (not a "hi" or "thanks")."""
        return any(
            e.kind == EventKind.ANSWERED
            or (e.kind == EventKind.CLARIFIED and e.reason not in SMALL_TALK)
            for e in self.events
        )

    def outcome(self, now: float) -> Outcome:
        answers = [e for e in self.events if e.kind == EventKind.ANSWERED]
        if any(e.kind == EventKind.ESCALATED for e in self.events):
            return Outcome.ESCALATED
        if not answers:
            if not self.involved:
                return Outcome.NOT_INVOLVED
            # asked back and never answered: the customer left without help
            settled = now - self.last_message >= RESOLUTION_WAIT_S
            return Outcome.UNRESOLVED if settled else Outcome.PENDING
        last = answers[-1]
        votes = [
            e.helpful
            for e in self.events
            if e.kind == EventKind.FEEDBACK and e.answer_id == last.answer_id
        ]
        if votes and votes[-1] is False:
            return Outcome.UNRESOLVED
        if any(_customer_message(e) and e.at > last.at for e in self.events):
            return Outcome.UNRESOLVED
        if votes and votes[-1]:
            return Outcome.CONFIRMED
        if now - self.last_message >= RESOLUTION_WAIT_S and now - last.at >= RESOLUTION_WAIT_S:
            return Outcome.ASSUMED
        return Outcome.PENDING

    @property
    def moods(self) -> list[float]:
        """The sentiment of each of the customer's messages that has one."""
        return [
            e.sentiment for e in self.events if _customer_message(e) and e.sentiment is not None
        ]

    @property
    def tickets(self) -> list[str]:
        return sorted(
            {e.ticket_id for e in self.events if e.kind == EventKind.ESCALATED and e.ticket_id}
        )

    @property
    def last_answer(self) -> DomainEvent | None:
        answers = [e for e in self.events if e.kind == EventKind.ANSWERED]
        return answers[-1] if answers else None


@dataclass(slots=True)
class TicketTimes:
    id: str
    reason: str
    opened: float
    claimed: float | None = None
    first_reply: float | None = None
    closed: float | None = None
    agents: set[str] = field(default_factory=set)


@dataclass(slots=True)
class EntryFigures:
    entry_id: str
    answers: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    resolved: int = 0
    decided: int = 0  # conversations whose last answer it was, with an outcome
    handoffs_after: int = 0

    @property
    def resolution_rate(self) -> float | None:
        return self.resolved / self.decided if self.decided else None

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "answers": self.answers,
            "thumbs_up": self.thumbs_up,
            "thumbs_down": self.thumbs_down,
            "resolution_rate": _round(self.resolution_rate),
            "handoffs_after": self.handoffs_after,
        }

    def badness(self) -> tuple[float, ...]:
        """Worst first: most 👎 and handoffs per answer, then least resolved, then most used."""
        per_answer = (self.thumbs_down + self.handoffs_after) / max(self.answers, 1)
        unresolved = 1.0 - (self.resolution_rate if self.resolution_rate is not None else 1.0)
        return (-per_answer, -unresolved, -self.answers)


@dataclass(slots=True)
class Report:
    """The figures of one period; ``to_json`` names them as the README does."""

    since: float
    until: float
    conversations: int
    involved: int
    outcomes: Counter[Outcome]
    escalated_conversations: int
    escalations_by_reason: dict[str, int]
    messages: int
    tickets: int
    ratings: list[int]
    thumbs_up: int
    thumbs_down: int
    first_response_s: list[float]
    first_response_business_s: list[float]
    resolution_time_s: list[float]
    unclaimed_wait_s: list[float]
    tickets_per_agent: dict[str, int]
    entries: list[EntryFigures]
    sentiment_sum: float = 0.0
    sentiment_count: int = 0
    most_negative: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resolved(self) -> int:
        return self.outcomes[Outcome.CONFIRMED] + self.outcomes[Outcome.ASSUMED]

    @property
    def decided(self) -> int:
        """Conversations the bot took part in whose outcome is known."""
        return self.involved - self.outcomes[Outcome.PENDING]

    def state(self) -> dict[str, Any]:
        """Everything needed to merge this report with others (a day's stored aggregate)."""
        return {
            "since": self.since,
            "until": self.until,
            "conversations": self.conversations,
            "involved": self.involved,
            "outcomes": {k.value: v for k, v in self.outcomes.items()},
            "escalated_conversations": self.escalated_conversations,
            "escalations_by_reason": self.escalations_by_reason,
            "messages": self.messages,
            "tickets": self.tickets,
            "ratings": self.ratings,
            "thumbs_up": self.thumbs_up,
            "thumbs_down": self.thumbs_down,
            "first_response_s": self.first_response_s,
            "first_response_business_s": self.first_response_business_s,
            "resolution_time_s": self.resolution_time_s,
            "unclaimed_wait_s": self.unclaimed_wait_s,
            "tickets_per_agent": self.tickets_per_agent,
            "entries": [{f: getattr(e, f) for f in EntryFigures.__slots__} for e in self.entries],
            "sentiment_sum": self.sentiment_sum,
            "sentiment_count": self.sentiment_count,
            "most_negative": self.most_negative,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Report:
        values = dict(state)
        values["outcomes"] = Counter({Outcome(k): v for k, v in state["outcomes"].items()})
        values["entries"] = [EntryFigures(**e) for e in state["entries"]]
        return cls(**values)

    @classmethod
    def merge(cls, parts: list[Report]) -> Report:
        """One report of consecutive periods (each conversation counted in the one it began in)."""
        if not parts:
            raise ValueError("nothing to merge")
        entries: dict[str, EntryFigures] = {}
        for part in parts:
            for e in part.entries:
                total = entries.setdefault(e.entry_id, EntryFigures(e.entry_id))
                for name in EntryFigures.__slots__[1:]:
                    setattr(total, name, getattr(total, name) + getattr(e, name))
        negative = sorted(
            (c for part in parts for c in part.most_negative),
            key=lambda c: (c["lowest_sentiment"], c["started"]),
        )

        def added(name: str) -> Any:
            return sum((getattr(p, name) for p in parts), start=type(getattr(parts[0], name))())

        def counted(name: str) -> dict[str, int]:
            total: Counter[str] = Counter()
            for part in parts:
                total.update(getattr(part, name))
            return dict(total)

        return cls(
            since=min(p.since for p in parts),
            until=max(p.until for p in parts),
            conversations=added("conversations"),
            involved=added("involved"),
            outcomes=sum((p.outcomes for p in parts), Counter()),
            escalated_conversations=added("escalated_conversations"),
            escalations_by_reason=counted("escalations_by_reason"),
            messages=added("messages"),
            tickets=added("tickets"),
            ratings=added("ratings"),
            thumbs_up=added("thumbs_up"),
            thumbs_down=added("thumbs_down"),
            first_response_s=added("first_response_s"),
            first_response_business_s=added("first_response_business_s"),
            resolution_time_s=added("resolution_time_s"),
            unclaimed_wait_s=added("unclaimed_wait_s"),
            tickets_per_agent=counted("tickets_per_agent"),
            entries=sorted(entries.values(), key=EntryFigures.badness),
            sentiment_sum=added("sentiment_sum"),
            sentiment_count=added("sentiment_count"),
            most_negative=negative[:MOST_NEGATIVE],
        )

    def to_json(self) -> dict[str, Any]:
        decided = self.decided
        good = sum(1 for r in self.ratings if r in GOOD_RATINGS)
        rated_answers = self.thumbs_up + self.thumbs_down
        return {
            "since": _iso(self.since),
            "until": _iso(self.until),
            "conversations": self.conversations,
            "messages": self.messages,
            "tickets": self.tickets,
            "involvement_rate": _rate(self.involved, self.conversations),
            "resolution_rate": _rate(self.resolved, decided),
            "resolution_confirmed": self.outcomes[Outcome.CONFIRMED],
            "resolution_assumed": self.outcomes[Outcome.ASSUMED],
            "resolution_pending": self.outcomes[Outcome.PENDING],
            "escalation_rate": _rate(self.escalated_conversations, self.conversations),
            "escalations_by_reason": dict(sorted(self.escalations_by_reason.items())),
            "csat": _rate(good, len(self.ratings)),
            "ratings": len(self.ratings),
            "thumbs_up_share": _rate(self.thumbs_up, rated_answers),
            "rated_answers": rated_answers,
            "first_response_p50_s": _median(self.first_response_s),
            "first_response_business_p50_s": _median(self.first_response_business_s),
            "resolution_time_p50_s": _median(self.resolution_time_s),
            "unclaimed_wait_p50_s": _median(self.unclaimed_wait_s),
            "tickets_per_agent": dict(sorted(self.tickets_per_agent.items())),
            "sentiment_mean": _rate_f(self.sentiment_sum, self.sentiment_count),
            "most_negative": self.most_negative,
            "entries": [e.to_json() for e in self.entries],
            "topics": self.topics,
        }


def build_report(
    events: Iterable[DomainEvent],
    *,
    since: float,
    until: float,
    now: float | None = None,
    hours: BusinessHours | None = None,
) -> Report:
    """The period ``[since, until)``: conversations and tickets that *started* in it, followed to
    ``now`` (default ``until``) so that their outcome and times are known where they are.

    ``events`` must hold what happened from ``since`` to ``now``, in order of time; earlier events
    only tell which conversations were already going on at ``since``.
    """
    now = until if now is None else now
    hours = hours or BusinessHours((), UTC)
    ordered = sorted(events, key=lambda e: e.at)
    conversations = _conversations(ordered)
    in_period = [c for c in conversations if since <= c.started < until]
    outcomes = Counter(c.outcome(now) for c in in_period)
    tickets = _tickets(ordered)
    opened = [t for t in tickets.values() if since <= t.opened < until]
    moods = [
        e.sentiment
        for e in ordered
        if _customer_message(e) and e.sentiment is not None and since <= e.at < until
    ]
    return Report(
        since=since,
        until=until,
        conversations=len(in_period),
        involved=sum(1 for c in in_period if c.involved),
        outcomes=outcomes,
        escalated_conversations=outcomes[Outcome.ESCALATED],
        escalations_by_reason=dict(Counter(t.reason for t in opened)),
        messages=sum(1 for e in ordered if _customer_message(e) and since <= e.at < until),
        tickets=len(opened),
        ratings=[
            e.score
            for e in ordered
            if e.kind == EventKind.RATING and e.score is not None and since <= e.at < until
        ],
        thumbs_up=sum(1 for e in _votes(ordered, since, until) if e.helpful),
        thumbs_down=sum(1 for e in _votes(ordered, since, until) if not e.helpful),
        first_response_s=[t.first_reply - t.opened for t in opened if t.first_reply],
        first_response_business_s=[
            hours.open_seconds(_dt(t.opened), _dt(t.first_reply)) for t in opened if t.first_reply
        ],
        resolution_time_s=[t.closed - t.opened for t in opened if t.closed],
        unclaimed_wait_s=[t.claimed - t.opened for t in opened if t.claimed],
        tickets_per_agent=dict(Counter(agent for t in opened for agent in t.agents)),
        entries=_entries(in_period, now),
        sentiment_sum=sum(moods),
        sentiment_count=len(moods),
        most_negative=_most_negative(in_period, now),
    )


def _most_negative(
    conversations: list[Conversation], now: float, n: int = MOST_NEGATIVE
) -> list[dict]:
    """The conversations whose customer sounded worst (lowest message), worst first; ticket ids
    lead to the transcript, no customer identity is in the report."""
    scored = [(min(c.moods), c) for c in conversations if c.moods and min(c.moods) < 0]
    scored.sort(key=lambda pair: (pair[0], pair[1].started))
    return [
        {
            "started": _iso(c.started),
            "lowest_sentiment": round(low, 3),
            "mean_sentiment": round(statistics.fmean(c.moods), 3),
            "messages": len(c.moods),
            "outcome": c.outcome(now).value,
            "tickets": c.tickets,
        }
        for low, c in scored[:n]
    ]


def resolution_by_answer(events: Iterable[DomainEvent], now: float) -> dict[str, bool]:
    """Each answer's conversation, resolved or not (undecided conversations left out)."""
    out: dict[str, bool] = {}
    for conversation in _conversations(sorted(events, key=lambda e: e.at)):
        outcome = conversation.outcome(now)
        if outcome in (Outcome.PENDING, Outcome.NOT_INVOLVED):
            continue
        resolved = outcome in (Outcome.CONFIRMED, Outcome.ASSUMED)
        for event in conversation.events:
            if event.kind == EventKind.ANSWERED and event.answer_id:
                out[event.answer_id] = resolved
    return out


def _conversations(ordered: list[DomainEvent]) -> list[Conversation]:
    """Customers' conversations; an event joins its chat's conversation going on at the time."""
    current: dict[int, Conversation] = {}
    done: list[Conversation] = []
    for event in ordered:
        chat = event.chat_id
        if chat is None or chat <= 0:  # groups (the agents' chat) and events with no chat
            continue
        conversation = current.get(chat)
        if _customer_message(event):
            if conversation is None or event.at - conversation.last_message >= CONVERSATION_GAP_S:
                if conversation is not None:
                    done.append(conversation)
                conversation = current[chat] = Conversation(chat, event.at, event.at)
            conversation.last_message = event.at
        if conversation is not None:
            conversation.events.append(event)
    return sorted([*done, *current.values()], key=lambda c: c.started)


def _tickets(ordered: list[DomainEvent]) -> dict[str, TicketTimes]:
    tickets: dict[str, TicketTimes] = {}
    for event in ordered:
        if event.ticket_id is None:
            continue
        if event.kind == EventKind.ESCALATED:
            if event.is_new and event.ticket_id not in tickets:
                tickets[event.ticket_id] = TicketTimes(
                    event.ticket_id, event.reason or "unknown", event.at
                )
            continue
        ticket = tickets.get(event.ticket_id)
        if ticket is None:  # opened before the events at hand
            continue
        if event.kind == EventKind.TICKET_CLAIMED and ticket.claimed is None:
            ticket.claimed = event.at
        elif event.kind == EventKind.TICKET_REPLIED:
            if ticket.first_reply is None:
                ticket.first_reply = event.at
            if event.actor:
                ticket.agents.add(event.actor)
        elif event.kind == EventKind.TICKET_CLOSED:
            ticket.closed = event.at
        elif event.kind == EventKind.TICKET_REOPENED:
            ticket.closed = None  # the time runs on until it is closed again
    return tickets


def _entries(conversations: list[Conversation], now: float) -> list[EntryFigures]:
    figures: dict[str, EntryFigures] = {}

    def of(entry_id: str) -> EntryFigures:
        return figures.setdefault(entry_id, EntryFigures(entry_id))

    for conversation in conversations:
        votes: dict[str, DomainEvent] = {}  # answer id → its last 👍/👎
        last_entry: str | None = None
        for event in conversation.events:
            if event.kind == EventKind.ANSWERED and event.entry_id:
                of(event.entry_id).answers += 1
                last_entry = event.entry_id
            elif event.kind == EventKind.FEEDBACK and event.entry_id:
                votes[event.answer_id or ""] = event
            elif event.kind == EventKind.ESCALATED and last_entry is not None:
                of(last_entry).handoffs_after += 1
                last_entry = None  # one handoff counts against the answer before it
        for vote in votes.values():
            if vote.helpful:
                of(vote.entry_id or "").thumbs_up += 1
            else:
                of(vote.entry_id or "").thumbs_down += 1
        last = conversation.last_answer
        outcome = conversation.outcome(now)
        if last is not None and last.entry_id and outcome is not Outcome.PENDING:
            entry = of(last.entry_id)
            entry.decided += 1
            entry.resolved += outcome in (Outcome.CONFIRMED, Outcome.ASSUMED)
    return sorted(figures.values(), key=EntryFigures.badness)


def _customer_message(event: DomainEvent) -> bool:
    """A message the customer wrote (a button press is not coming back for more help)."""
    return (
        event.kind == EventKind.MESSAGE_RECEIVED
        and event.message_kind != "callback"
        and (event.chat_id or 0) > 0
    )


def _votes(ordered: list[DomainEvent], since: float, until: float) -> list[DomainEvent]:
    """Each answer's last 👍/👎 given in the period (a changed vote counts once, as changed)."""
    last: dict[str, DomainEvent] = {}
    for event in ordered:
        if event.kind == EventKind.FEEDBACK and since <= event.at < until:
            last[event.answer_id or str(id(event))] = event
    return list(last.values())


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rate_f(total: float, count: int) -> float | None:
    return round(total / count, 4) if count else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _iso(ts: float) -> str:
    return _dt(ts).isoformat(timespec="seconds")


def share_text(value: float | None) -> str:
    """A rate as people read it: ``60.0 %``, or ``—`` when there was nothing to count."""
    return "—" if value is None else f"{value * 100:.1f} %"


def seconds_text(value: float | None) -> str:
    """A duration in the unit that suits it: ``45 s``, ``2.7 min``, ``1.2 h``."""
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"

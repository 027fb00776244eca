"""The terminal chat's typed lines against the real services and the test's Redis: a number picks
a "People also ask" or "Did you mean …?" suggestion and is recorded as that button's press would
be; /good and /bad are the 👍 / 👎 of the last answer; /human is "Talk to a human" (or "None of
these"); bad input is told so and changes nothing stored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.services.answering import CLARIFIED_SOURCE
from bot.services.events import EventKind, RedisEventLog
from bot.services.related import RELATED_SOURCE
from bot.settings import Settings
from bot.store import Stores
from bot.terminal import CHAT_ID, TerminalConversation, TerminalDelivery
from knowledge_base import KnowledgeBase
from tests.support.handoff import handoff_app
from tests.support.texts import TEXTS

# On the small knowledge base "money back?" is below the answer threshold with the return entry
# the only plausible one (as in test_clarification.py).
UNSURE_QUESTION = "money back?"


@pytest_asyncio.fixture
async def chat(stores: Stores, retriever, small_kb: KnowledgeBase) -> AsyncIterator:
    settings = Settings(_env_file=None, console={"password": "s3cret-pass"})
    settings.retrieval = settings.retrieval.model_copy(update={"suggest_floor": 0.4})
    async with handoff_app(settings, stores, retriever, small_kb) as app:
        escalation = app.escalation(delivery=TerminalDelivery(TEXTS, "you> "))
        yield TerminalConversation(app, escalation, TEXTS)


async def answered(stores: Stores) -> list[tuple[str, str]]:
    events = await RedisEventLog(stores.redis, stores.keys).read()
    return [(e.entry_id, e.source) for e in events if e.kind is EventKind.ANSWERED]


async def stored(stores: Stores) -> dict[str, object]:
    """Everything under the test's prefix: each key's type and value."""
    found: dict[str, object] = {}
    async for key in stores.redis.scan_iter(match=f"{stores.keys.prefix}*"):
        kind = await stores.redis.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        found[key] = (kind, await stores.redis.dump(key))
    return found


def printed(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


async def test_a_typed_number_answers_the_related_question_as_a_press_would(
    chat: TerminalConversation, stores: Stores, small_kb: KnowledgeBase, capsys
) -> None:
    await chat.said("How long does delivery take?")
    out = printed(capsys)
    assert TEXTS.get("terminal-related") in out
    offered = re.findall(r"(?m)^ {5}\d\) (.+)$", out)
    assert len(offered) == 3 and "How long does delivery take?" not in offered

    before = await stored(stores)
    assert any(":conv:" in str(key) for key in before)  # the answer is kept
    await chat.said("4")  # three were offered
    assert printed(capsys).strip() == TEXTS.get("terminal-no-such-choice", number="4", count="3")
    assert await stored(stores) == before  # nothing changed

    await chat.said("2")
    picked = next(e for e in small_kb.entries if e.question == offered[1])
    assert picked.answer in printed(capsys)
    assert (await answered(stores))[-1] == (picked.id, RELATED_SOURCE)
    turns = await stores.conversations.history(CHAT_ID)
    said = TEXTS.get("turn-picked-related", question=picked.question)
    assert [t.text for t in turns[-2:]] == [said, picked.answer]


async def test_a_typed_number_answers_the_did_you_mean_suggestion(
    chat: TerminalConversation, stores: Stores, capsys
) -> None:
    await chat.said(UNSURE_QUESTION)
    out = printed(capsys)
    assert TEXTS.get("clarify-did-you-mean") in out and "1) How do I return an item?" in out
    await chat.said("1")
    assert "You can return any item within 30 days" in printed(capsys)
    assert (await answered(stores))[-1] == ("return-item", CLARIFIED_SOURCE)


async def test_nothing_to_pick_or_rate_yet_is_said_and_changes_nothing(
    chat: TerminalConversation, stores: Stores, capsys
) -> None:
    before = await stored(stores)
    await chat.said("/good")
    assert printed(capsys).strip() == TEXTS.get("terminal-nothing-to-rate")
    await chat.said("2")
    assert printed(capsys).strip() == TEXTS.get("terminal-no-choices", number="2")
    assert await stored(stores) == before


async def test_good_and_bad_are_the_thumbs_of_the_last_answer(
    chat: TerminalConversation, stores: Stores, capsys
) -> None:
    await chat.said("How long does delivery take?")
    await chat.said("/good")
    assert TEXTS.get("terminal-rated-good") in printed(capsys)
    first = chat.last_answer
    await chat.said("/bad")  # changed their mind
    assert await stores.tickets.current(CHAT_ID) is None
    await chat.said("Which payment methods do you accept?")
    await chat.said("/bad")  # two different answers disliked in a row: a person
    assert "reason: repeated_dislikes" in printed(capsys)
    ticket = await stores.tickets.current(CHAT_ID)
    assert ticket is not None and ticket.reason == "repeated_dislikes"
    events = await RedisEventLog(stores.redis, stores.keys).read()
    votes = [(e.answer_id, e.helpful) for e in events if e.kind is EventKind.FEEDBACK]
    assert votes == [(first, True), (first, False), (chat.last_answer, False)]


async def test_human_under_an_answer_and_under_did_you_mean(
    chat: TerminalConversation, stores: Stores, capsys
) -> None:
    await chat.said(UNSURE_QUESTION)
    await chat.said("/human")  # "None of these — talk to a person"
    assert "reason: low_confidence" in printed(capsys)
    ticket = await stores.tickets.current(CHAT_ID)
    assert ticket.reason == "low_confidence" and ticket.question == UNSURE_QUESTION
    await chat.said("/human")  # a person has it already: said, no second ticket
    assert printed(capsys).strip() == TEXTS.get("terminal-human-already", ticket=ticket.id)
    assert (await stores.tickets.current(CHAT_ID)).id == ticket.id


async def test_human_under_an_answer_opens_a_ticket_with_its_question(
    chat: TerminalConversation, stores: Stores, capsys
) -> None:
    await chat.said("How long does delivery take?")
    await chat.said("/bad")
    await chat.said("Which payment methods do you accept?")
    await chat.said("/human")  # "Talk to a human"
    assert "reason: asked_for_human" in printed(capsys)
    ticket = await stores.tickets.current(CHAT_ID)
    assert ticket.reason == "asked_for_human"
    assert ticket.question == "Which payment methods do you accept?"  # the last answer's
    turns = await stores.conversations.history(CHAT_ID)
    assert TEXTS.get("turn-pressed-human") in [t.text for t in turns]
    # While a person has it a number goes to them, not to the suggestions, and a 👎 that makes
    # a streak says a person has it instead of opening another ticket.
    await chat.said("2")
    assert "People also ask" not in printed(capsys)
    assert (await stores.conversations.history(CHAT_ID))[-1].text == "2"
    await chat.said("/bad")
    out = printed(capsys)
    assert TEXTS.get("terminal-human-already", ticket=ticket.id) in out and "reason:" not in out
    assert (await stores.tickets.current(CHAT_ID)).id == ticket.id


async def test_good_and_a_picked_suggestion_teach_as_the_buttons_do(
    chat: TerminalConversation, capsys
) -> None:
    """/good is a 👍 and a number under "Did you mean …?" a choice: both reach learning, which
    judges the question (here: counted, whatever the verdict), as the Telegram buttons do."""
    learning = chat.app.learning
    assert learning is not None and await learning.stats() == {}
    await chat.said("How long does delivery take?")
    await chat.said("/good")
    after_good = await learning.stats()
    assert sum(after_good.values()) == 1
    await chat.said(UNSURE_QUESTION)
    assert TEXTS.get("clarify-did-you-mean") in printed(capsys)
    await chat.said("1")
    assert sum((await learning.stats()).values()) == 2


async def test_bad_numbers_the_other_answers_and_a_number_picks_one(
    chat: TerminalConversation, stores: Stores, capsys
) -> None:
    """/bad is a 👎: the other answers for the question are numbered, as the Telegram bot's
    buttons after a 👎; a typed number answers one and teaches as a "Did you mean …?" choice."""
    await chat.said("when does my returned parcel get delivered")  # the delivery entry answers
    printed(capsys)
    await chat.said("/bad")
    out = printed(capsys)
    assert TEXTS.get("terminal-rated-bad") in out and TEXTS.get("dislike-alternatives") in out
    assert re.findall(r"(?m)^ {5}\d\) (.+)$", out) == ["How do I return an item?"]
    await chat.said("/bad")  # pressed twice: nothing offered again
    assert TEXTS.get("dislike-alternatives") not in printed(capsys)
    await chat.said("1")
    assert "You can return any item within 30 days" in printed(capsys)
    assert (await answered(stores))[-1] == ("return-item", CLARIFIED_SOURCE)
    (waiting,) = await chat.app.learning.repository.pending()
    assert (waiting.entry_id, waiting.rejected) == ("return-item", "delivery-time")
    # No other answer for this one: a person is offered instead.
    await chat.said("How long does delivery take?")
    await chat.said("/good")
    await chat.said("/bad")  # changed their mind
    assert TEXTS.get("dislike-no-alternatives") in printed(capsys)

"""What sends a customer to a person, and what they are told about the wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from bot.errors import ConfigurationError
from bot.services.escalation import Actor, EscalationService
from bot.services.hours import BusinessHours
from bot.services.sentiment import SentimentAnalyzer
from bot.services.signals import wants_human
from bot.settings import load_settings
from bot.store import Stores
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import AGENTS_CHAT, CUSTOMER, RunningBot, handoff_bot, handoff_settings
from tests.support.texts import TEXTS


@pytest_asyncio.fixture
async def run(stores: Stores, retriever, small_kb) -> AsyncIterator[RunningBot]:
    async with handoff_bot(stores, retriever, small_kb) as running:
        yield running


async def reason_of_topic(run: RunningBot, start: int = 0) -> str:
    await run.api.wait_for("createForumTopic", start=start)
    opening = await run.api.wait_for(
        "sendMessage",
        lambda p: p["chat_id"] == AGENTS_CHAT and "Reason:" in p["text"],
        start=start,
    )
    return opening.params["text"]


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a human",
        "Can I speak to someone please?",
        "human please",
        "connect me to a real person",
        "我要转人工",
        "请帮我找人工客服",
        "我想和真人说话",
    ],
)
def test_plain_requests_for_a_person(text: str) -> None:
    assert wants_human(text)


@pytest.mark.parametrize(
    "text", ["How do I return an item?", "Is a human-readable receipt available?", "我的订单在哪"]
)
def test_ordinary_questions_are_not_requests_for_a_person(text: str) -> None:
    assert not wants_human(text)


def test_sentiment_english_and_chinese() -> None:
    analyzer = SentimentAnalyzer()
    assert analyzer.is_strongly_negative(
        "This is the worst service ever, I am furious and disgusted!"
    )
    assert analyzer.is_strongly_negative("你们这什么垃圾服务，气死我了！")
    assert not analyzer.is_strongly_negative("My parcel is late, can you check?")
    assert not analyzer.is_strongly_negative("我的包裹什么时候到？")
    assert not analyzer.is_strongly_negative("Thanks, that was really helpful!")
    assert analyzer.score("I hate this, terrible, awful").compound <= -0.6


async def test_low_confidence_asks_back_then_escalates_with_the_best_guess(
    run: RunningBot, stores: Stores
) -> None:
    asked = await run.ask(CUSTOMER, "Do you sell gift cards for the cinema next door?")
    assert asked.params["text"] in (
        TEXTS.get("clarify-did-you-mean"),
        TEXTS.get("clarify-rephrase"),
    )
    assert await stores.tickets.current(CUSTOMER) is None  # asked back first
    start = len(run.api.calls)
    await run.say(CUSTOMER, "Do you sell gift cards for the cinema next door?")
    opening = await reason_of_topic(run, start)
    assert "Reason: bot not confident" in opening
    assert "Bot's best guess" in opening or "No good guess" in opening
    told = await run.api.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, start=start)
    assert told.params["text"].startswith(TEXTS.get("low-confidence-prefix") + " ")


async def test_strongly_negative_message_escalates(run: RunningBot) -> None:
    await run.say(CUSTOMER, "Delivery takes forever, this is absolutely terrible, I am furious!")
    assert "Reason: customer is upset" in await reason_of_topic(run)


async def test_chinese_anger_escalates(run: RunningBot) -> None:
    await run.say(CUSTOMER, "退货太差劲了，垃圾服务，气死我了")
    assert "Reason: customer is upset" in await reason_of_topic(run)


async def test_talk_to_a_human_button_escalates(run: RunningBot) -> None:
    await run.say(CUSTOMER, "How long does delivery take?")
    answer = await run.reply_to_customer()
    human = answer.params["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    run.api.push_update(
        run.api.callback_update(CUSTOMER, CUSTOMER, human, answer.result["message_id"])
    )
    opening = await reason_of_topic(run)
    assert "Reason: customer asked for a person" in opening
    assert "pressed “Talk to a human”" in opening


async def test_two_thumbs_down_in_a_row_escalate(run: RunningBot, stores: Stores) -> None:
    api = run.api
    answers = []
    for question in ("How long does delivery take?", "Which payment methods do you accept?"):
        await run.say(CUSTOMER, question)
        answers.append(await run.reply_to_customer())
    down = [a.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] for a in answers]

    api.push_update(
        api.callback_update(CUSTOMER, CUSTOMER, down[0], answers[0].result["message_id"])
    )
    await api.wait_for("answerCallbackQuery")
    api.push_update(
        api.callback_update(CUSTOMER, CUSTOMER, down[0], answers[0].result["message_id"])
    )
    await api.wait_for("answerCallbackQuery", start=len(api.calls))
    assert await stores.tickets.current(CUSTOMER) is None  # the same answer twice is one 👎

    api.push_update(
        api.callback_update(CUSTOMER, CUSTOMER, down[1], answers[1].result["message_id"])
    )
    opening = await reason_of_topic(run)
    assert "Reason: two 👎 in a row" in opening


async def test_same_question_three_times_escalates(run: RunningBot, stores: Stores) -> None:
    for attempt in range(2):
        await run.say(
            CUSTOMER, "How long does delivery take?" if attempt else "how long does delivery take"
        )
        reply = await run.reply_to_customer()
        assert "3–5 business days" in reply.params["text"]
    assert await stores.tickets.current(CUSTOMER) is None
    await run.say(CUSTOMER, "HOW LONG DOES DELIVERY TAKE??")
    assert "Reason: same question three times" in await reason_of_topic(run)


# ------------------------------------------------------------------ waiting and business hours


def test_business_hours_parse_and_next_opening() -> None:
    hours = BusinessHours.parse("Mon-Fri 08:00-20:00; Sat 09:00-14:00", "Europe/Berlin")
    friday_evening = datetime(2025, 6, 6, 19, 30, tzinfo=UTC)  # 21:30 in Berlin (CEST)
    assert not hours.is_open(friday_evening)
    back = hours.next_opening(friday_evening)
    assert (back.strftime("%a %H:%M"), back.tzinfo.key) == ("Sat 09:00", "Europe/Berlin")
    saturday_noon = datetime(2025, 6, 7, 10, 0, tzinfo=UTC)  # 12:00 Berlin
    assert hours.is_open(saturday_noon) and hours.next_opening(saturday_noon) is None
    sunday = datetime(2025, 6, 8, 10, 0, tzinfo=UTC)
    assert hours.next_opening(sunday).strftime("%a %H:%M") == "Mon 08:00"
    assert BusinessHours.parse("", "UTC").is_open(sunday)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("Mon-Fri 8-20", "cannot read"),
        ("Mon-Xyz 08:00-20:00", "unknown day"),
        ("Mon 20:00-08:00", "closing time"),
        ("Mon 25:00-26:00", "impossible time"),
    ],
)
def test_bad_business_hours_name_the_setting(
    spec: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCALATION__BUSINESS_HOURS", spec)
    with pytest.raises(ConfigurationError, match=f"ESCALATION__BUSINESS_HOURS: {problem}"):
        load_settings(_env_file=None)


def test_bad_timezone_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATION__TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match="ESCALATION__TIMEZONE: unknown time zone"):
        load_settings(_env_file=None)


def test_wait_notice_inside_and_outside_business_hours(stores: Stores) -> None:
    settings = handoff_settings(
        business_hours="Mon-Fri 08:00-20:00; Sat 09:00-14:00",
        timezone="Europe/Berlin",
        sla_minutes=10,
    )
    service = EscalationService(stores, settings=settings.escalation, catalog=TEXTS.catalog)
    inside = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)  # Wednesday 12:00 Berlin
    assert service.wait_notice(inside) == TEXTS.get("wait-soon", minutes="10")
    friday_night = datetime(2025, 6, 6, 19, 30, tzinfo=UTC)
    assert service.wait_notice(friday_night) == TEXTS.get(
        "wait-offline", when="tomorrow at 09:00", tz="Europe/Berlin"
    )
    early_monday = datetime(2025, 6, 9, 4, 0, tzinfo=UTC)  # 06:00 Berlin
    assert "today at 08:00" in service.wait_notice(early_monday)
    saturday_evening = datetime(2025, 6, 7, 18, 0, tzinfo=UTC)
    assert "on Monday at 08:00" in service.wait_notice(saturday_evening)


async def test_sla_reminders_wait_for_business_hours(stores: Stores) -> None:
    settings = handoff_settings(business_hours="Mon-Fri 08:00-20:00", sla_minutes=1)
    async with FakeBotAPI() as api:
        bot = api.make_bot()
        try:
            from bot.app import build_escalation
            from bot.services.answering import Escalation, EscalationReason
            from bot.services.sla import SlaMonitor

            service = build_escalation(settings, stores, bot)
            told: list[str] = []

            async def admins(text: str) -> None:
                told.append(text)

            sla = SlaMonitor(service, admins=admins)
            await service.escalate(9, "Eve", Escalation(EscalationReason.ASKED_FOR_HUMAN, "hi"))
            ticket = await stores.tickets.current(9)
            saturday = datetime(2025, 6, 7, 12, 0, tzinfo=UTC).timestamp()
            monday = datetime(2025, 6, 9, 9, 0, tzinfo=UTC).timestamp()
            await stores.tickets.update(ticket.id, created_at=saturday - 3600)
            assert await sla.remind_overdue(now=saturday) == []  # closed: the wait does not count
            assert await sla.remind_overdue(now=monday) == [ticket.id]
            assert told == []
            assert await sla.remind_overdue(now=monday + 30) == []  # within the next period
            # Still unclaimed a period later: reminded again, and the admins are told.
            assert await sla.remind_overdue(now=monday + 61) == [ticket.id]
            assert len(told) == 1 and "Ticket #1 — Eve has waited 61 min" in told[0]
            reminders = [
                t for t in api.sent_texts(settings.escalation.agents_chat_id) if "⏰" in t
            ]
            assert len(reminders) == 2

            # Claimed: quiet while the agent has answered last; the customer's new message starts
            # a wait that is reminded of, naming the agent.
            await service.claim(ticket.id, Actor(7, "Ann"))
            assert await sla.remind_overdue(now=monday + 3600) == []
            ticket = await stores.tickets.get(ticket.id)
            await service.customer_wrote(ticket, "hello? anyone?")
            ticket = await stores.tickets.get(ticket.id)
            assert ticket.waiting_since is not None and ticket.sla_reminders == 0
            await stores.tickets.update(ticket.id, waiting_since=monday + 7200)  # in hours
            later = monday + 7200 + 61
            assert await sla.remind_overdue(now=later) == [ticket.id]
            assert (
                "waited 1 min for a reply from Ann"
                in api.sent_texts(settings.escalation.agents_chat_id)[-1]
            )
            await service.console_reply(ticket.id, Actor(7, "Ann"), "Here I am")
            assert (await stores.tickets.get(ticket.id)).waiting_since is None
            assert await sla.remind_overdue(now=later + 3600) == []
        finally:
            await bot.session.close()


async def test_admins_with_a_telegram_id_are_told_in_private(stores: Stores) -> None:
    from bot.services.sla import telegram_admins
    from bot.store import Account, Role

    await stores.users.add(Account("ada", Role.ADMIN, "x", telegram_id=7001))
    await stores.users.add(Account("abe", Role.ADMIN, "x"))  # no Telegram id: console only
    await stores.users.add(Account("ann", Role.AGENT, "x", telegram_id=7002))
    await stores.users.add(Account("old", Role.ADMIN, "x", telegram_id=7003, disabled=True))
    async with FakeBotAPI() as api:
        bot = api.make_bot()
        try:
            await telegram_admins(stores, bot)("⏰ still waiting")
        finally:
            await bot.session.close()
        assert [c.params["chat_id"] for c in api.calls_of("sendMessage")] == [7001]

"""What operators do with learned phrasings — list them and undo them in the console and with
``supportbot kb learned`` — and the learning loop's own rules: masking, moderation, settings,
privacy, and an operator's edits made meanwhile."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.app import App, open_app
from bot.cli import main
from bot.console import ConsoleServices, create_app
from bot.services.live import LiveModels
from bot.settings import load_settings
from bot.store import Stores
from bot.store.learning import LearnedStatus, LearningRepository, PendingCandidate
from common.privacy import Customer
from knowledge_base.learning import Evidence, LearningRules
from knowledge_base.store import KbEditError, KnowledgeBaseStore
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever
from tests.conftest import REDIS_URL, SMALL_KB
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.handoff import handoff_settings
from tests.support.serving import served
from tests.support.texts import TEXTS

USER, PASSWORD = "agent", "s3cret-pass"
ALICE, BOB = 5101, 5102
MONEY_BACK = "i want my money back"


@pytest_asyncio.fixture
async def app(stores: Stores, retriever: FaqRetriever) -> AsyncIterator[App]:
    settings = handoff_settings()
    settings.learning = settings.learning.model_copy(
        update={"min_customers": 2, "min_confidence": 0.5, "commit_every_s": 0}
    )
    live = LiveModels(retriever, VerbatimGenerator(), kb=SMALL_KB)
    async with open_app(settings, stores=stores, live=live, watch=False) as opened:
        yield opened


async def learn(app: App, text: str, entry_id: str = "return-item") -> None:
    """Two customers confirm ``text`` for the entry: it is learned."""
    for chat_id in (ALICE, BOB):
        await app.learning.confirmed(chat_id, text, entry_id, Evidence.THUMBS_UP, 0.8)


async def test_personal_data_is_masked_and_abuse_is_not_learned(app: App) -> None:
    await learn(app, "I want my money back, mail me at jo.doe@example.com")
    (learned,) = await app.learning.learned()
    assert "jo.doe@example.com" not in learned.text and "[email]" in learned.text
    _, kb = await app.knowledge.live()
    assert learned.text in kb["return-item"].alternatives
    await learn(app, "give me my fucking money back you idiots")
    assert len(await app.learning.learned()) == 1
    assert (await app.learning.stats())["skip:abusive"] == 2


async def test_confusable_candidates_go_to_the_suggestions_queue_once(app: App) -> None:
    # A question near another entry is not added: an operator decides (a phrasing of the entry).
    app.learning.rules = LearningRules(min_customers=2, max_other_similarity=0.3)
    await learn(app, MONEY_BACK)
    await learn(app, MONEY_BACK)
    assert await app.learning.learned() == []
    (suggestion,) = await app.knowledge.pending_suggestions()
    assert (suggestion.question, suggestion.entry_id) == (MONEY_BACK, "return-item")
    assert suggestion.created_by.startswith("learned")
    approved, result = await app.knowledge.approve(suggestion.id, "ops-alice")
    assert approved.entry_id == "return-item"
    assert MONEY_BACK in result.kb["return-item"].alternatives


async def test_undo_is_a_new_version_and_rollback_brings_it_back(app: App) -> None:
    await learn(app, MONEY_BACK)
    (learned,) = await app.learning.learned()
    record, result = await app.learning.undo(learned.id, "ops-bob")
    assert record.status == LearnedStatus.UNDONE and record.ended_by == "ops-bob"
    assert result.version.number == learned.version + 1
    assert "ops-bob" in result.version.author
    assert MONEY_BACK not in result.kb["return-item"].alternatives
    with pytest.raises(KbEditError, match="already undone"):
        await app.learning.undo(learned.id, "ops-bob")
    with pytest.raises(KbEditError, match="no learned phrasing #99"):
        await app.learning.undo("99", "ops-bob")
    await learn(app, MONEY_BACK)  # confirmed again: an undone phrasing is not learned again
    assert len(await app.learning.learned()) == 1
    assert (await app.learning.stats())["skip:taken_out"] == 2
    back = await app.knowledge.rollback(learned.version, "ops-bob")
    assert MONEY_BACK in back.kb["return-item"].alternatives


async def test_undo_leaves_an_operators_edit_made_meanwhile(app: App) -> None:
    await learn(app, MONEY_BACK)
    await learn(app, "refund?")
    first, second = sorted(await app.learning.learned(), key=lambda r: int(r.id))
    # Meanwhile an operator rewords the first learned phrasing and removes the second by hand.
    _, kb = await app.knowledge.live()
    alternatives = [
        "I'd like my money back" if a == MONEY_BACK else a
        for a in kb["return-item"].alternatives
        if a != "refund?"
    ]
    edit = await app.knowledge.edit_entry("return-item", "ops-carol", alternatives=alternatives)
    for record in (first, second):
        ended, result = await app.learning.undo(record.id, "ops-bob")
        assert result is None and ended.status == LearnedStatus.GONE
    version, kb = await app.knowledge.live()
    assert version == edit.version.number  # no version: nothing was taken out
    assert list(kb["return-item"].alternatives) == alternatives


async def test_a_phrasing_an_operator_removed_by_hand_is_not_learned_again(app: App) -> None:
    await learn(app, MONEY_BACK)
    await app.knowledge.remove_phrasing("return-item", MONEY_BACK, "ops-carol")
    await learn(app, MONEY_BACK)
    (record,) = await app.learning.learned()
    assert (record.status, record.ended_by) == (LearnedStatus.GONE, "operator")
    _, kb = await app.knowledge.live()
    assert MONEY_BACK not in kb["return-item"].alternatives


async def test_candidates_are_personal_data_for_mydata_and_forget(app: App) -> None:
    await app.learning.confirmed(ALICE, MONEY_BACK, "return-item", Evidence.THUMBS_UP, 0.8)
    privacy = app.privacy()
    export = await privacy.export(ALICE)
    (candidate,) = export["data"]["learning_candidates"]
    assert candidate["question"] == MONEY_BACK
    assert str(ALICE) not in json.dumps(candidate)
    assert await privacy.export(BOB) is None
    forgotten = await privacy.forget(ALICE)
    assert forgotten.removed["learning_candidates"] == 1
    assert await app.learning.repository.pending() == []
    assert await app.learning.repository.customers("return-item") == 0


async def test_retention_sweep_drops_old_candidates(stores: Stores) -> None:
    repository = LearningRepository(stores.redis, stores.keys, window_s=3600)
    key = await repository.customer_key(ALICE)
    await repository.keep_pending(
        PendingCandidate(MONEY_BACK, "return-item", "thumbs_up", key, 0.8, at=1.0)
    )
    from common.privacy import Cutoffs

    assert await repository.age_out(Cutoffs(0, 0, 0)) == 1
    assert await repository.export(Customer(ALICE)) == []


def test_settings_map_onto_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNING__MIN_CUSTOMERS", "5")
    monkeypatch.setenv("LEARNING__PER_CUSTOMER_PER_DAY", "1")
    monkeypatch.setenv("LEARNING__AUTO_ADD", "false")
    rules = load_settings(_env_file=None).learning.rules()
    assert (rules.min_customers, rules.per_customer_per_day, rules.auto_add) == (5, 1, False)
    assert rules.duplicate_similarity == LearningRules().duplicate_similarity  # policy default
    monkeypatch.setenv("LEARNING__MIN_CUSTOMERS", "0")
    with pytest.raises(Exception, match="LEARNING__MIN_CUSTOMERS"):
        load_settings(_env_file=None)


# ------------------------------------------------------------------ console


@pytest_asyncio.fixture
async def console(app: App) -> AsyncIterator[str]:
    async with FakeBotAPI() as api:
        bot = api.make_bot()
        extra = {"knowledge": app.knowledge, "learning": app.learning}
        web = create_app(
            ConsoleServices(app.stores, app.escalation(bot), app.catalog, extra=extra),
            app.settings,
        )
        try:
            async with served(web) as url:
                yield url
        finally:
            await bot.session.close()


async def test_console_lists_learned_phrasings_and_undoes_one(app: App, console: str) -> None:
    await learn(app, MONEY_BACK)
    (learned,) = await app.learning.learned()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{console}/kb/learned", allow_redirects=False) as resp:
            assert resp.status == 303  # login first
        await http.post(f"{console}/login", data={"username": USER, "password": PASSWORD})
        async with http.get(f"{console}/kb/learned") as resp:
            page = await resp.text()
        assert f'data-learned="{learned.id}"' in page and MONEY_BACK in page
        assert f"v{learned.version}" in page and "thumbs_up" in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        async with http.post(
            f"{console}/kb/learned/{learned.id}/undo", data={"csrf": "forged"}
        ) as resp:
            assert resp.status == 403
        async with http.post(
            f"{console}/kb/learned/{learned.id}/undo", data={"csrf": csrf}
        ) as resp:
            page = await resp.text()
        assert f"learned phrasing #{learned.id} of return-item undone" in page
        assert "undone (agent (console))" in page
        async with http.post(
            f"{console}/kb/learned/{learned.id}/undo", data={"csrf": csrf}
        ) as resp:
            page = await resp.text()
        assert "Not undone" in page and "already undone" in page
    _, kb = await app.knowledge.live()
    assert MONEY_BACK not in kb["return-item"].alternatives


async def test_console_suggestion_from_learning_names_its_entry(app: App, console: str) -> None:
    app.learning.rules = LearningRules(min_customers=2, max_other_similarity=0.3)
    await learn(app, MONEY_BACK)  # confusable: queued for an operator
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(f"{console}/login", data={"username": USER, "password": PASSWORD})
        async with http.get(f"{console}/kb/suggestions") as resp:
            page = await resp.text()
    assert MONEY_BACK in page and 'name="entry_id" value="return-item"' in page


# ------------------------------------------------------------------ command line


def test_cli_lists_learned_phrasings_and_undoes_one(
    kb_env: Path, key_prefix: str, capsys: pytest.CaptureFixture
) -> None:
    async def learned_one() -> None:
        from redis.asyncio import Redis

        from bot.store import Keys

        client = Redis.from_url(REDIS_URL, decode_responses=True)
        store = KnowledgeBaseStore(client, key_prefix)
        await store.seed(SMALL_KB)
        result = await store.add_phrasing("return-item", MONEY_BACK, "learned")
        repository = LearningRepository(client, Keys(key_prefix))
        await repository.save_learned("return-item", MONEY_BACK, "thumbs_up", 3, 2)
        await repository.count("add", "confirmed")
        assert result.version.number == 2
        await client.aclose()

    asyncio.run(learned_one())
    assert main(["kb", "learned"]) == 0
    out = capsys.readouterr().out
    assert "return-item" in out and MONEY_BACK in out and "v2" in out and "live" in out
    assert "decisions: add:confirmed 1" in out
    assert main(["kb", "--author", "ops-alice", "learned", "--undo", "1"]) == 0
    out = capsys.readouterr().out
    assert (
        TEXTS.get(
            "kb-learned-undone", id="1", entry="return-item", commit="v3: changed 1: return-item"
        )
        in out
    )
    assert main(["kb", "learned", "--undo", "1"]) == 2
    assert "already undone" in capsys.readouterr().err
    assert main(["kb", "learned", "--undo", "7"]) == 2
    assert "no learned phrasing #7" in capsys.readouterr().err
    assert main(["kb", "history", "-n", "1"]) == 0
    assert "ops-alice: undo learned #1" in capsys.readouterr().out


# ------------------------------------------------------------------ Telegram


async def test_operators_list_and_undo_learned_phrasings_in_telegram(
    stores: Stores, retriever: FaqRetriever, key_prefix: str
) -> None:
    from bot.settings import Settings
    from tests.support.fake_bot_api import DEFAULT_TOKEN
    from tests.support.handoff import running_bot

    operator, stranger = 900, 901
    settings = Settings(
        _env_file=None,
        telegram={"token": DEFAULT_TOKEN},
        redis={"prefix": key_prefix},
        operators={"ids": [operator]},
        learning={"min_customers": 2, "commit_every_s": 0},
    )
    live = LiveModels(retriever, VerbatimGenerator(), version=1, kb=SMALL_KB)
    async with (
        open_app(settings, stores=stores, live=live, watch=False) as opened,
        FakeBotAPI() as api,
        running_bot(api, opened) as run,
    ):

        async def command(user: int, text: str) -> str:
            start = len(api.calls)
            await run.say(user, text, user_id=user)
            reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == user, start=start)
            return reply.params["text"]

        assert await command(operator, "/kb_learned") == TEXTS.get("kb-learned-none")
        await learn(opened, MONEY_BACK)
        listed = await command(operator, "/kb_learned")
        assert f"#1 return-item ← “{MONEY_BACK}”" in listed and "live" in listed
        assert await command(stranger, "/kb_learned undo 1") == TEXTS.get("operator-only")
        assert await command(operator, "/kb_learned undo") == TEXTS.get("kb-learned-usage")
        undone = await command(operator, "/kb_learned undo 1")
        assert undone.startswith("learned phrasing #1 of return-item undone: v3")
        assert "already undone" in await command(operator, "/kb_learned undo 1")
    _, kb = await opened.knowledge.live()
    assert MONEY_BACK not in kb["return-item"].alternatives


async def test_a_learned_phrasing_that_keeps_helping_survives_a_stray_thumbs_down(
    app: App,
) -> None:
    from bot.store import AnswerRecord

    app.learning.rules = LearningRules(min_customers=2, withdraw_after_downvotes=1)
    await learn(app, MONEY_BACK)

    def answered(answer_id: str, chat_id: int) -> AnswerRecord:
        return AnswerRecord(
            answer_id, chat_id, "money back?", "return-item", 0.8, phrasing=MONEY_BACK
        )

    await app.learning.thumbs_up(answered("a1", 6001))
    assert await app.learning.thumbs_down(answered("a2", 6002)) is None  # 1 👎, 1 👍: stays
    assert await app.learning.thumbs_down(answered("a2", 6002)) is None  # the same vote again
    withdrawn = await app.learning.thumbs_down(answered("a3", 6003))
    assert withdrawn is not None and withdrawn.status == LearnedStatus.WITHDRAWN
    assert (withdrawn.upvotes, withdrawn.downvotes) == (1, 2)
    _, kb = await app.knowledge.live()
    assert MONEY_BACK not in kb["return-item"].alternatives
    assert (await app.knowledge.history(1))[
        0
    ].author == f"learned: withdrawn #{withdrawn.id} (downvotes)"


async def test_the_same_question_confirmed_at_once_is_added_once(app: App) -> None:
    await app.learning.confirmed(ALICE, MONEY_BACK, "return-item", Evidence.THUMBS_UP, 0.8)
    await asyncio.gather(
        *(
            app.learning.confirmed(chat_id, MONEY_BACK, "return-item", Evidence.THUMBS_UP, 0.8)
            for chat_id in range(7001, 7006)
        )
    )
    assert len(await app.learning.learned()) == 1
    _, kb = await app.knowledge.live()
    assert kb["return-item"].alternatives.count(MONEY_BACK) == 1


async def test_a_vote_older_than_the_conversations_retention_teaches_nothing(app: App) -> None:
    import time

    from bot.store import AnswerRecord

    # The answer (and its buttons) outlive the conversation; learning does not use them then.
    old = time.time() - app.stores.conversations.ttl - 60
    record = AnswerRecord("old1", ALICE, MONEY_BACK, "return-item", 0.8, at=old)
    verdict = await app.learning.thumbs_up(record)
    assert (verdict.action, verdict.reason) == ("skip", "too_old")
    assert await app.learning.repository.pending() == []
    assert await app.learning.repository.customers("return-item") == 0

"""Assembling the product: settings → stores → models → services → dispatcher, and closing it all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram.types import BotCommand
from redis.asyncio import Redis

from bot.errors import ConfigurationError
from bot.handlers import get_routers
from bot.services.agents_chat import TelegramAgentsChat
from bot.services.answering import AnsweringService
from bot.services.escalation import EscalationService
from bot.services.knowledge import KnowledgeService
from bot.services.sentiment import SentimentAnalyzer
from bot.settings import Settings
from bot.store import Stores, connect_redis, in_process_redis
from knowledge_base import KnowledgeBase, bundled_path, load_knowledge_base
from knowledge_base.watcher import KbWatcher
from models.generator import Generator, VerbatimGenerator
from retrieval import FaqRetriever
from retrieval.embedder import make_embedder

log = logging.getLogger(__name__)


def product_name(kb_path: Path) -> str:
    """The product name declared at the top of a YAML knowledge base, else a neutral one."""
    if kb_path.suffix.lower() in (".yaml", ".yml"):
        try:
            with kb_path.open(encoding="utf-8") as fh:
                head = yaml.safe_load(fh)
            if isinstance(head, dict) and isinstance(head.get("product"), str):
                return head["product"]
        except (OSError, yaml.YAMLError):
            pass
    return "our"


@dataclass
class Core:
    """Everything that answers questions, independent of Telegram."""

    settings: Settings
    stores: Stores
    kb: KnowledgeBase
    kb_path: Path
    retriever: FaqRetriever
    generator: Generator
    answering: AnsweringService
    executor: ThreadPoolExecutor
    closers: list = field(default_factory=list)
    knowledge: KnowledgeService | None = None
    watcher: KbWatcher | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def product(self) -> str:
        return product_name(self.kb_path)

    def start_watcher(self) -> None:
        """Follow the live knowledge base in Redis (hot reload) until ``close``."""
        if self.watcher is not None:
            self.tasks.append(asyncio.create_task(self.watcher.run(), name="kb-watcher"))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.stores.close()
        self.executor.shutdown(wait=False, cancel_futures=True)


async def build_core(settings: Settings, *, require_redis: bool) -> Core:
    """Open the store, load the knowledge base and the models; raise a clear error if one fails."""
    redis: Redis
    if settings.redis.url:
        redis = await connect_redis(settings.redis.url)
    elif require_redis:
        raise ConfigurationError(
            "REDIS__URL: not set; the Telegram bot keeps conversations and tickets in Redis "
            "(e.g. REDIS__URL=redis://127.0.0.1:6379/0)"
        )
    else:
        log.info("REDIS__URL not set: using an in-process store (nothing is kept after exit)")
        redis = in_process_redis()
    stores = Stores.build(
        redis,
        settings.redis.prefix,
        history_ttl_hours=settings.redis.history_ttl_hours,
        history_max_turns=settings.redis.history_max_turns,
    )
    try:
        kb_path = settings.kb.path or bundled_path()
        executor = ThreadPoolExecutor(settings.retrieval.workers, thread_name_prefix="answer")
        knowledge = KnowledgeService.build(
            redis,
            settings.redis.prefix,
            keep_versions=settings.kb.keep_versions,
            executor=executor,
        )
        # The file seeds Redis on the very first start; afterwards the live version in Redis wins.
        await knowledge.store.seed(load_knowledge_base(kb_path))
        version, kb = await knowledge.live()
        model = await _retrained_model(knowledge, settings)
        retriever = _make_retriever(settings, model)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor, retriever.warm_up)
        await loop.run_in_executor(executor, retriever.load, kb)
        sentiment = SentimentAnalyzer(settings.escalation.sentiment_threshold)
        sentiment.warm_up()
        generator: Generator = VerbatimGenerator()
        log.info("replies: verbatim FAQ answers (no fine-tuned generator configured)")
        answering = AnsweringService(
            retriever,
            generator,
            stores,
            threshold=settings.retrieval.threshold,
            top_k=settings.retrieval.top_k,
            executor=executor,
            sentiment=sentiment,
        )
    except BaseException:
        await stores.close()
        raise
    log.info("knowledge base v%d: %d entries, %d phrasings", version, len(kb), kb.phrasing_count())
    core = Core(settings, stores, kb, kb_path, retriever, generator, answering, executor)
    knowledge.vectors = lambda texts: answering.retriever.phrasing_vectors(texts)
    core.knowledge = knowledge

    def on_loaded(number: int, live: KnowledgeBase) -> None:
        core.kb = live

    def on_swap(fresh: FaqRetriever) -> None:
        answering.retriever = core.retriever = fresh

    core.watcher = KbWatcher(
        knowledge.store,
        retriever,
        interval=settings.kb.reload_seconds,
        executor=executor,
        on_loaded=on_loaded,
        retriever_for_model=lambda path: _make_retriever(settings, path),
        on_swap=on_swap,
        loaded_version=version,
    )
    core.watcher.model = model
    core.start_watcher()
    return core


def _make_retriever(settings: Settings, model: str | None) -> FaqRetriever:
    return FaqRetriever(
        make_embedder(settings.retrieval.embedder, model or settings.retrieval.model_path),
        cache_dir=settings.retrieval.cache_dir,
    )


async def _retrained_model(knowledge: KnowledgeService, settings: Settings) -> str | None:
    """The retriever model most recently retrained from the live knowledge base, if it exists here."""
    if settings.retrieval.embedder != "minilm":
        return None
    raw = await knowledge.store.redis.get(knowledge.store.keys.model())
    path = json.loads(raw)["path"] if raw else None
    if path and not Path(path).is_dir():
        log.warning("retrained model %s not found on this host; using the configured one", path)
        return None
    return path


def build_bot(settings: Settings) -> Bot:
    if settings.telegram.token is None:
        raise ConfigurationError("TELEGRAM__TOKEN: not set; get a token from @BotFather")
    session = AiohttpSession(api=TelegramAPIServer.from_base(str(settings.telegram.api_base)))
    return Bot(
        token=settings.telegram.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=None, link_preview_is_disabled=True),
    )


def build_dispatcher(core: Core, bot: Bot) -> Dispatcher:
    key_builder = DefaultKeyBuilder(prefix=core.stores.keys.fsm_prefix(), with_destiny=True)
    storage = RedisStorage(core.stores.redis, key_builder=key_builder)
    isolation = RedisEventIsolation(core.stores.redis, key_builder=key_builder)
    dp = Dispatcher(storage=storage, events_isolation=isolation)
    dp["settings"] = core.settings
    dp["stores"] = core.stores
    dp["answering"] = core.answering
    dp["escalation"] = build_escalation(core.settings, core.stores, bot)
    dp["product_name"] = core.product
    dp["knowledge"] = core.knowledge or KnowledgeService.build(
        core.stores.redis,
        core.stores.keys.prefix,
        lambda texts: core.answering.retriever.phrasing_vectors(texts),
        executor=core.executor,
    )
    dp.include_routers(*get_routers())
    return dp


def build_escalation(settings: Settings, stores: Stores, bot: Bot) -> EscalationService:
    """Human handoff through the agents' forum supergroup (if configured)."""
    agents = None
    if settings.escalation.agents_chat_id is not None:
        agents = TelegramAgentsChat(bot, settings.escalation.agents_chat_id, stores)
    return EscalationService(stores, agents, bot, settings.escalation)


BOT_COMMANDS = [
    BotCommand(command="start", description="Start / greeting"),
    BotCommand(command="help", description="What the bot can do"),
]

OPERATOR_COMMANDS = [
    BotCommand(command="kb_help", description="Knowledge base: all operator commands"),
    BotCommand(command="kb_history", description="Knowledge base versions"),
    BotCommand(
        command="kb_suggestions", description="Pending 'add to knowledge base' suggestions"
    ),
    BotCommand(command="kb_gaps", description="What customers ask that we don't answer"),
]

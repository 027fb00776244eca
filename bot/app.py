"""Assembling the product in one place: settings → stores → models → services, and closing it all.

Every surface opens the same ``App`` with ``open_app``: the Telegram bot (``bot/runner.py``), the
terminal chat and the ``kb`` commands (``bot/cli.py``, ``bot/cli_kb.py``), the agents' console
(``bot/console/server.py``) and the tests' fixtures, which hand in their own small models.

Importing this module imports neither aiogram nor the retrieval and generation stack: the ``kb``
commands need neither, so those imports wait until a builder needs them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.errors import ConfigurationError
from bot.i18n import Catalog
from bot.services.events import EventRecorder, RedisEventLog
from bot.services.knowledge import KnowledgeService, LazyVectors
from bot.settings import GeneratorSettings, Settings
from bot.store import Stores, connect_redis, in_process_redis, key_prefix
from common.privacy import PersonalData
from knowledge_base import bundled_path, load_knowledge_base
from knowledge_base.loaders import KnowledgeBaseError, OutOfScopeFile
from knowledge_base.registry import ModelKind, PublishedModel

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher
    from aiogram.types import BotCommand
    from redis.asyncio import Redis

    from bot.sending import DeliveryMiddleware
    from bot.services.answering import AnsweringService
    from bot.services.delivery import CustomerDelivery
    from bot.services.drafts import DraftService
    from bot.services.escalation import EscalationService
    from bot.services.learning import LearningService
    from bot.services.live import LiveModels
    from bot.services.privacy import PrivacyService
    from bot.services.related import RelatedQuestions
    from bot.services.watcher import KbWatcher
    from common.moderation import AbuseDetector
    from knowledge_base.model import KnowledgeBase
    from models.drafting import DraftWriter
    from models.generator import Generator
    from retrieval import FaqRetriever
    from retrieval.embedder import Embedder

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


class Models(StrEnum):
    """What a surface needs of the models."""

    LIVE = "live"  # answer questions: load the retriever and generator, follow the live KB
    LAZY = "lazy"  # operators' tools: an embedder loaded on first use, for quality checks only


@dataclass
class App:
    """One assembled process: its store and knowledge service, and the models when it answers.

    Built by ``build_app`` (or ``open_app``) for every surface; ``close`` stops its background
    tasks and closes what the builder opened, in one place.
    """

    settings: Settings
    stores: Stores
    knowledge: KnowledgeService
    executor: ThreadPoolExecutor
    events: EventRecorder
    catalog: Catalog
    live: LiveModels | None = None
    answering: AnsweringService | None = None
    abuse: AbuseDetector | None = None  # abusive language, in customers' and generated words
    learning: LearningService | None = None  # confirmed answers → phrasings
    watcher: KbWatcher | None = None
    related: RelatedQuestions | None = None  # "People also ask" under answers
    bot: Bot | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    resources: AsyncExitStack = field(default_factory=AsyncExitStack, repr=False)
    draft_writer: DraftWriter | None = field(default=None, repr=False)  # operators' tools only

    @property
    def product(self) -> str:
        return product_name(self.settings.kb.path or bundled_path())

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        """Run ``work`` in the background until ``close``."""
        task = asyncio.create_task(work, name=name)
        self.tasks.append(task)
        return task

    def privacy(self, escalation: EscalationService | None = None) -> PrivacyService:
        """``/mydata``, ``/forget`` and the retention sweep over every store of personal data;
        with ``escalation``, an active ticket is closed with a note to the agents first."""
        from bot.services.privacy import PrivacyService

        return PrivacyService(
            self.stores,
            personal_data(self.settings, self.stores, self.knowledge, self.events),
            self.settings.privacy,
            close_ticket=escalation.close_for_privacy if escalation is not None else None,
        )

    def escalation(
        self, bot: Bot | None = None, delivery: CustomerDelivery | None = None
    ) -> EscalationService:
        return build_escalation(
            self.settings,
            self.stores,
            bot,
            catalog=self.catalog,
            knowledge=self.knowledge,
            events=self.events,
            delivery=delivery,
        )

    def drafts(self) -> DraftService:
        """Drafts for operators (``/draft``, ``/kb/drafts``, ``supportbot kb draft``)."""
        from bot.services.drafts import DraftService
        from knowledge_base.drafts import DraftStore

        store = DraftStore(self.stores.redis, self.stores.keys.prefix)
        return DraftService(self.knowledge, store, self._draft_writer, executor=self.executor)

    def _draft_writer(self) -> DraftWriter:
        """The served generator's writer when this process answers questions; otherwise one built
        from settings on first use and kept (blocking: called on a worker thread)."""
        from bot.services.drafts import writer_for

        min_similarity = self.settings.generator.min_similarity
        if self.live is not None:
            return writer_for(self.live.generator, self.live.retriever.embedder, min_similarity)
        if self.draft_writer is None:
            from retrieval.embedder import make_embedder

            retrieval = self.settings.retrieval
            embedder = make_embedder(retrieval.embedder, retrieval.model_path)
            embedder.warm_up()
            generator = build_generator(self.settings.generator, embedder)
            generator.warm_up()
            self.draft_writer = writer_for(generator, embedder, min_similarity)
        return self.draft_writer

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            # Bounded: a background task that does not finish its cancellation must not keep the
            # process from exiting (a library that swallows the cancellation; see the watcher).
            _, pending = await asyncio.wait(self.tasks, timeout=5)
            for task in pending:
                log.warning("background task %s did not stop in 5 s; leaving it", task.get_name())
        await self.resources.aclose()


@asynccontextmanager
async def open_app(settings: Settings, **options: Any) -> AsyncIterator[App]:
    """``build_app`` for the length of an ``async with`` block, closed at its end."""
    app = await build_app(settings, **options)
    try:
        yield app
    finally:
        await app.close()


async def build_app(
    settings: Settings,
    *,
    models: Models = Models.LIVE,
    needs_redis: str | None = None,
    telegram: bool = False,
    seed: bool = True,
    watch: bool = True,
    live: LiveModels | None = None,
    stores: Stores | None = None,
    catalog: Catalog | None = None,
) -> App:
    """Open the store, load the knowledge base and the models; raise a clear error if one fails.

    ``needs_redis`` says why this surface cannot run without ``REDIS__URL`` (None: an in-process
    store will do). ``telegram`` builds the Bot from settings. ``seed`` puts the configured
    knowledge base in Redis when none is stored yet; ``watch`` follows the live one (hot reload).
    Tests hand in their own ``stores`` and already loaded ``live`` models; what is handed in is
    not closed by ``App.close``.
    """
    if needs_redis and stores is None and not settings.redis.url:
        raise ConfigurationError(
            f"REDIS__URL: not set; {needs_redis} (e.g. REDIS__URL=redis://127.0.0.1:6379/0)"
        )
    # A broken text file stops the start before anything opens; a surface that already loaded
    # the catalog from these settings hands it in.
    catalog = catalog or load_catalog(settings)
    resources = AsyncExitStack()
    try:
        bot = build_bot(settings) if telegram else None
        if bot is not None:
            resources.push_async_callback(bot.session.close)
        if stores is None:
            stores = await _open_stores(settings)
            resources.push_async_callback(stores.close)
        if bot is not None:
            sending_path(bot, stores, settings)
        executor = ThreadPoolExecutor(settings.retrieval.workers, thread_name_prefix="answer")
        resources.callback(executor.shutdown, wait=False, cancel_futures=True)
        events = RedisEventLog(stores.redis, stores.keys)  # the one recorder of this process
        knowledge = KnowledgeService.build(
            stores.redis,
            stores.keys.prefix,
            keep_versions=settings.kb.keep_versions,
            executor=executor,
            events=events,
        )
        if seed:
            # The file seeds Redis on the very first start; afterwards the live version wins.
            first = live.kb if live is not None else None
            if first is None:
                first = load_knowledge_base(settings.kb.path or bundled_path())
            await knowledge.store.seed(first)
        app = App(
            settings, stores, knowledge, executor, events, catalog, bot=bot, resources=resources
        )
        app.learning = build_learning(settings, stores, knowledge, events, executor)
        if models is Models.LAZY:
            knowledge.vectors = LazyVectors(
                settings.retrieval.embedder, settings.retrieval.model_path
            )
            return app
        await _serve_questions(app, live, watch=watch)
        return app
    except BaseException:
        await resources.aclose()
        raise


def personal_data(
    settings: Settings, stores: Stores, knowledge: KnowledgeService, events: EventRecorder
) -> list[PersonalData]:
    """Every store that keeps a customer's words or identity: what ``/mydata`` exports,
    ``/forget`` deletes and the retention sweep ages out. A new store of personal data (e.g.
    moderation's mutes) implements ``common.privacy.PersonalData`` and is added here."""
    from bot.inbox import InboxRecords
    from bot.middlewares.flood import FloodCounts
    from bot.sending import UndeliveredStore
    from bot.services.related import related_store
    from bot.services.topics import QuestionLog
    from knowledge_base.drafts import DraftStore

    found: list[PersonalData] = [
        stores.conversations,
        stores.answers,
        stores.tickets,
        stores.languages,
        FloodCounts(stores.redis, stores.keys, settings.flood.per_customer),
        UndeliveredStore(stores.redis, stores.keys),
        InboxRecords(stores.redis, stores.keys),
        knowledge.gaps,
        knowledge.suggestions,
        stores.moderation,
        stores.clarifications,
        QuestionLog(stores.redis, stores.keys),
        related_store(stores, settings),
        learning_repository(settings, stores),
        DraftStore(stores.redis, stores.keys.prefix),  # entry drafts: tickets' words, masked
    ]
    if isinstance(events, PersonalData):  # the recorder of this process, when it keeps events
        found.append(events)
    return found


def learning_repository(settings: Settings, stores: Stores):
    """What learning from confirmed answers keeps in Redis (customers' masked candidates)."""
    from bot.store.learning import DAY_S, LearningRepository

    return LearningRepository(
        stores.redis, stores.keys, window_s=settings.learning.window_days * DAY_S
    )


def build_learning(
    settings: Settings,
    stores: Stores,
    knowledge: KnowledgeService,
    events: EventRecorder,
    executor: ThreadPoolExecutor,
) -> LearningService:
    """Learning from confirmed answers (``LEARNING__*``); it judges candidates once a surface
    that answers sets its ``live`` models, and lists and undoes what was learned everywhere."""
    from bot.services.learning import LearningService

    return LearningService(
        knowledge,
        learning_repository(settings, stores),
        settings.learning.rules(),
        events=events,
        executor=executor,
        vote_ttl_s=stores.answers.ttl,
        max_age_s=stores.conversations.ttl,
        commit_every_s=settings.learning.commit_every_s,
    )


def load_catalog(settings: Settings) -> Catalog:
    """The text catalog from ``TEXTS__PATH`` (default: the bundled texts), checked whole."""
    texts = settings.texts
    if texts.path is None:
        return Catalog.load(default_locale=texts.default_locale)
    return Catalog.load(texts.path, default_locale=texts.default_locale)


async def _serve_questions(app: App, live: LiveModels | None, *, watch: bool) -> None:
    """Load (or take) the live models, and the answering service and watcher that use them."""
    from bot.services.answering import AnsweringService
    from bot.services.related import RelatedQuestions
    from bot.services.sentiment import SentimentAnalyzer
    from bot.services.watcher import KbWatcher
    from common.moderation import AbuseDetector

    settings = app.settings
    loader = ModelLoader.from_settings(settings)
    model = None
    if live is None:
        live, model = await loader.load(app.knowledge, app.executor)
    app.knowledge.vectors = live.phrasing_vectors
    sentiment = SentimentAnalyzer(settings.escalation.sentiment_threshold)
    sentiment.warm_up()
    app.live = live
    app.abuse = AbuseDetector()
    app.related = RelatedQuestions.build(live, app.stores, settings, executor=app.executor)
    if app.learning is not None:  # learning compares candidates with the served phrasings
        app.learning.live, app.learning.abusive = live, app.abuse.is_abusive
    app.answering = AnsweringService(
        live,
        app.stores,
        threshold=settings.retrieval.threshold,
        top_k=settings.retrieval.top_k,
        suggest_floor=settings.retrieval.suggest_floor,
        executor=app.executor,
        sentiment=sentiment,
        generation_timeout_s=settings.generator.timeout_s,
        generation_queue=settings.generator.queue_size,
        events=app.related.learning(app.events),  # answers also teach "People also ask"
        abuse=app.abuse,
        record_gap=app.knowledge.record_gap,
        learning=app.learning,
    )
    app.resources.callback(app.answering.generation.close)
    if watch:
        app.watcher = KbWatcher(
            app.knowledge.store,
            live,
            loader,
            interval=settings.kb.reload_seconds,
            executor=app.executor,
            model=model,
        )
        app.spawn(app.watcher.run(), "kb-watcher")


async def _open_stores(settings: Settings) -> Stores:
    redis: Redis
    if settings.redis.url:
        redis = await connect_redis(settings.redis.url, cluster=settings.redis.cluster)
    else:
        log.info("REDIS__URL not set: using an in-process store (nothing is kept after exit)")
        redis = in_process_redis()
    return Stores.build(
        redis,
        key_prefix(settings.redis.prefix, cluster=settings.redis.cluster),
        history_ttl_hours=settings.redis.history_ttl_hours,
        history_max_turns=settings.redis.history_max_turns,
    )


@dataclass
class ModelLoader:
    """Builds this process's models from settings: at start, and when a retrained one is published.

    It is the watcher's ``ModelFactory``.
    """

    settings: Settings
    out_of_scope: OutOfScopeFile | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelLoader:
        path = settings.retrieval.out_of_scope_path
        return cls(settings, OutOfScopeFile(path) if path else None)

    async def load(
        self, knowledge: KnowledgeService, executor: ThreadPoolExecutor
    ) -> tuple[LiveModels, str | None]:
        """The models serving the live knowledge base at start, and the retrained model used."""
        from bot.services.live import LiveModels

        retriever, version, kb, model = await self.load_retriever(knowledge, executor)
        loop = asyncio.get_running_loop()
        generator = build_generator(self.settings.generator, retriever.embedder)
        await loop.run_in_executor(executor, generator.warm_up)
        log.info(
            "knowledge base v%d: %d entries, %d phrasings", version, len(kb), kb.phrasing_count()
        )
        return LiveModels(retriever, generator, version=version, kb=kb), model

    async def load_retriever(
        self, knowledge: KnowledgeService, executor: ThreadPoolExecutor
    ) -> tuple[FaqRetriever, int, KnowledgeBase, str | None]:
        """The retriever as it serves the live knowledge base (its version and content, and the
        retrained model it uses), loaded with the configured out-of-scope questions."""
        version, kb = await knowledge.live()
        model = await _retrained_model(knowledge, self.settings)
        retriever = self.retriever(model, _out_of_scope(self.out_of_scope))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor, retriever.warm_up)
        await loop.run_in_executor(executor, retriever.load, kb)
        return retriever, version, kb, model

    def locate(self, model: PublishedModel) -> str | None:
        """A published model's folder on this host (under this host's models folders)."""
        return model.on_this_host(_model_roots(self.settings, model.kind))

    def retriever(self, model_path: str | None, out_of_scope: Sequence[str]) -> FaqRetriever:
        """A retriever on ``model_path`` (default: the configured model), not loaded yet."""
        from retrieval.routing import make_retriever

        retrieval = self.settings.retrieval
        return make_retriever(
            retrieval.embedder,
            model_path or retrieval.model_path,
            runtime=retrieval.runtime,
            cache_dir=retrieval.cache_dir,
            threads=retrieval.threads,
            out_of_scope=out_of_scope,
        )

    def generator(self, model_path: str, embedder: Embedder) -> Generator:
        return _load_generator(self.settings, model_path, embedder)


def build_generator(settings: GeneratorSettings, embedder: Embedder) -> Generator:
    """The fine-tuned generator when ``GENERATOR__MODEL_PATH`` holds one, else verbatim answers.

    The guard shares the retriever's embedder, so it costs no second model in memory.
    """
    from models.generator import VerbatimGenerator
    from models.smollm import read_metadata, resolve_generator_dir

    model_dir = resolve_generator_dir(settings.model_path) if settings.model_path else None
    if model_dir is None:
        where = f" in {settings.model_path}" if settings.model_path else ""
        log.info(
            "replies: verbatim FAQ answers (no fine-tuned generator%s; train one with "
            "`supportbot train-generator`)",
            where,
        )
        return VerbatimGenerator()
    from models.grounding import GroundingGuard
    from models.llm import SmolLMGenerator, make_backend

    backend = make_backend(model_dir, str(settings.backend), threads=settings.threads)
    generator = SmolLMGenerator(
        backend,
        GroundingGuard(embedder, settings.min_similarity),
        max_new_tokens=settings.max_new_tokens,
        model_dir=model_dir,
    )
    meta = read_metadata(model_dir)
    log.info(
        "replies: generated by %s (%s, %s backend), checked against the FAQ before sending",
        model_dir.name,
        meta.get("method", "?"),
        backend.name,
    )
    return generator


def _load_generator(settings: Settings, path: str, embedder: Embedder) -> Generator:
    """A retrained generator version, loaded and warmed up (runs in a worker thread)."""
    from models.generator import VerbatimGenerator

    generator = build_generator(
        settings.generator.model_copy(update={"model_path": Path(path)}), embedder
    )
    if isinstance(generator, VerbatimGenerator):
        raise ConfigurationError(f"{path}: not a generator model folder")
    generator.warm_up()
    return generator


def _out_of_scope(source: OutOfScopeFile | None) -> list[str]:
    """The out-of-scope questions at start; a file that cannot be used stops the start."""
    if source is None:
        return []
    try:
        return source.load()
    except KnowledgeBaseError as exc:
        raise ConfigurationError(
            "RETRIEVAL__OUT_OF_SCOPE_PATH: " + "; ".join(exc.problems)
        ) from None


async def _retrained_model(knowledge: KnowledgeService, settings: Settings) -> str | None:
    """The retriever model most recently retrained from the live knowledge base, if it exists here."""
    if settings.retrieval.embedder == "e5":  # retraining fine-tunes MiniLM
        return None
    published = await knowledge.store.models.current(ModelKind.RETRIEVER)
    if published is None:
        return None
    path = published.on_this_host(_model_roots(settings, ModelKind.RETRIEVER))
    if path is None:
        log.warning(
            "retrained model %s not found on this host (KB__MODELS_DIR=%s): mount the shared "
            "models volume there; serving the configured model meanwhile",
            published.name,
            settings.kb.models_dir,
        )
    return path


def _model_roots(settings: Settings, kind: ModelKind) -> list[Path | None]:
    """Where this host keeps versions of ``kind``: the folders named in its settings."""
    if kind is ModelKind.RETRIEVER:
        return [settings.kb.models_dir]
    path = settings.generator.model_path
    return [path, path.parent] if path is not None else []


def build_bot(settings: Settings) -> Bot:
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    if settings.telegram.token is None:
        raise ConfigurationError("TELEGRAM__TOKEN: not set; get a token from @BotFather")
    session = AiohttpSession(api=TelegramAPIServer.from_base(str(settings.telegram.api_base)))
    return Bot(
        token=settings.telegram.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=None, link_preview_is_disabled=True),
    )


def sending_path(bot: Bot, stores: Stores, settings: Settings) -> DeliveryMiddleware:
    """Put every call of ``bot`` through the one sending path (``bot/sending.py``), once."""
    from bot.sending import DeliveryMiddleware, OutgoingLimiter, UndeliveredStore

    for middleware in bot.session.middleware:
        if isinstance(middleware, DeliveryMiddleware):
            return middleware
    middleware = DeliveryMiddleware(
        settings.sending,
        UndeliveredStore(stores.redis, stores.keys),
        OutgoingLimiter(stores.redis, stores.keys, settings.sending),
    )
    bot.session.middleware(middleware)
    return middleware


def build_dispatcher(app: App, bot: Bot) -> Dispatcher:
    """The Telegram bot's dispatcher; needs an app opened with its models (``Models.LIVE``)."""
    from aiogram import Dispatcher
    from aiogram.fsm.storage.base import DefaultKeyBuilder

    from bot.handlers import get_routers
    from bot.inbox import FsmStorage, LeasedEventIsolation
    from bot.middlewares import setup_middlewares
    from bot.middlewares.flood import FloodControlMiddleware
    from bot.middlewares.moderation import ModerationMiddleware
    from bot.services.canned import CannedReplies
    from bot.services.moderation import ModerationService

    if app.answering is None:
        raise RuntimeError("the dispatcher needs an app opened with its models")
    sending_path(bot, app.stores, app.settings)
    key_builder = DefaultKeyBuilder(prefix=app.stores.keys.fsm_prefix(), with_destiny=True)
    storage = FsmStorage(app.stores.redis, key_builder=key_builder)
    isolation = LeasedEventIsolation(
        app.stores.redis, key_builder, lease_s=app.settings.inbox.claim_after_s
    )
    # The FSM middleware (and its chat lock) is registered by setup_middlewares, after the
    # middlewares that must run before the lock.
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True)
    dp["settings"] = app.settings
    dp["stores"] = app.stores
    dp["answering"] = app.answering
    dp["related"] = app.related
    dp["escalation"] = escalation = app.escalation(bot)
    dp["privacy"] = app.privacy(escalation)
    dp["product_name"] = app.product
    dp["knowledge"] = app.knowledge
    dp["learning"] = app.learning  # an agent's /reply kb:ENTRY teaches a phrasing
    dp["drafts"] = app.drafts()  # /draft for operators
    dp["catalog"] = app.catalog  # handlers read ``i18n``; the errors router falls back on this
    flood = FloodControlMiddleware(
        app.stores.redis,
        app.stores.keys,
        app.settings.flood.per_customer,
        app.events,
        exempt=frozenset(app.settings.operators.ids),
    )
    moderation = ModerationService(
        app.stores.moderation,
        app.events,
        app.settings.moderation,
        escalation,
        detector=app.abuse,
    )
    dp["moderation"] = moderation  # /unmute in a ticket's topic
    dp["canned"] = CannedReplies(app.stores.canned, app.catalog.texts())  # /reply NAME
    exempt = frozenset(app.settings.operators.ids) | frozenset(app.settings.escalation.agent_ids)
    setup_middlewares(
        dp,
        app.events,
        app.catalog,
        app.stores.languages,
        flood,
        ModerationMiddleware(moderation, exempt) if app.settings.moderation.enabled else None,
        sentiment=app.answering.sentiment,
        operators=frozenset(app.settings.operators.ids),
    )
    dp.include_routers(*get_routers())
    return dp


def build_escalation(
    settings: Settings,
    stores: Stores,
    bot: Bot | None,
    *,
    catalog: Catalog | None = None,
    knowledge: KnowledgeService | None = None,
    events: EventRecorder | None = None,
    delivery: CustomerDelivery | None = None,
) -> EscalationService:
    """Human handoff through the agents' forum supergroup (if configured and there is a bot).

    ``catalog``: the app's texts (default: loaded from settings, as the app loads them);
    ``delivery``: how agents' messages reach customers (default: through ``bot``).
    """
    from bot.services.agents_chat import TelegramAgentsChat
    from bot.services.escalation import EscalationService

    catalog = catalog or load_catalog(settings)
    agents = None
    if bot is not None and settings.escalation.agents_chat_id is not None:
        chat_id = settings.escalation.agents_chat_id
        agents = TelegramAgentsChat(bot, chat_id, stores, catalog.texts())
    return EscalationService(
        stores,
        agents,
        bot,
        settings.escalation,
        catalog=catalog,
        knowledge=knowledge,
        events=events,
        delivery=delivery,
    )


# The command menus: aiogram's BotCommand lists ``BOT_COMMANDS`` and ``OPERATOR_COMMANDS``, built
# on first use (see ``__getattr__``) so that importing this module does not import aiogram.
_MENUS = {
    "BOT_COMMANDS": (
        ("start", "Start / greeting"),
        ("help", "What the bot can do"),
        ("language", "Choose the bot's language"),
        ("mydata", "Get everything we keep about you"),
        ("forget", "Delete everything we keep about you"),
    ),
    "OPERATOR_COMMANDS": (
        ("kb_help", "Knowledge base: all operator commands"),
        ("kb_history", "Knowledge base versions"),
        ("kb_suggestions", "Pending 'add to knowledge base' suggestions"),
        ("kb_gaps", "What customers ask that we don't answer"),
        ("kb_oos", "Questions we hand to a person, never answer"),
        ("stats", "Today's and this week's support figures"),
        ("kb_learned", "Phrasings learned from customers; undo one"),
        ("draft", "Drafts: rewrite an answer, product copy, an entry (never sent)"),
    ),
}


def __getattr__(name: str) -> list[BotCommand]:
    if name not in _MENUS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from aiogram.types import BotCommand

    menu = [BotCommand(command=command, description=text) for command, text in _MENUS[name]]
    globals()[name] = menu
    return menu

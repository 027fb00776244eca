"""``supportbot console``: the console app over Redis and a Bot built from settings, via uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from bot.app import build_bot, build_escalation
from bot.console import ConsoleServices, create_app
from bot.errors import ConfigurationError
from bot.services.knowledge import KnowledgeService, LazyVectors
from bot.settings import Settings
from bot.store import Stores, connect_redis
from knowledge_base import bundled_path, load_knowledge_base

log = logging.getLogger(__name__)


async def serve_console(settings: Settings, host: str | None = None, port: int | None = None):
    """Run the console until interrupted; replies go to customers through the bot's token."""
    if not settings.redis.url:
        raise ConfigurationError("REDIS__URL: not set; the console reads tickets from Redis")
    bot = build_bot(settings)
    redis = await connect_redis(settings.redis.url)
    stores = Stores.build(
        redis,
        settings.redis.prefix,
        history_ttl_hours=settings.redis.history_ttl_hours,
        history_max_turns=settings.redis.history_max_turns,
    )
    try:
        knowledge = KnowledgeService.build(
            redis,
            settings.redis.prefix,
            LazyVectors(settings.retrieval.embedder, settings.retrieval.model_path),
            keep_versions=settings.kb.keep_versions,
        )
        await knowledge.store.seed(load_knowledge_base(settings.kb.path or bundled_path()))
        services = ConsoleServices(
            stores,
            build_escalation(settings, stores, bot, knowledge),
            extra={"knowledge": knowledge},
        )
        app = create_app(services, settings)
        config = uvicorn.Config(
            app,
            host=host or settings.console.host,
            port=port or settings.console.port,
            log_config=None,
            access_log=False,
        )
        log.info("console on http://%s:%s", config.host, config.port)
        await uvicorn.Server(config).serve()
    finally:
        await bot.session.close()
        await stores.close()

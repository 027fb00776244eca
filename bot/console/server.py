"""``supportbot console``: the console app over Redis and a Bot built from settings, via uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from bot.app import Models, open_app
from bot.console import ConsoleServices, create_app
from bot.settings import Settings

log = logging.getLogger(__name__)


async def serve_console(settings: Settings, host: str | None = None, port: int | None = None):
    """Run the console until interrupted; replies go to customers through the bot's token."""
    async with open_app(
        settings,
        models=Models.LAZY,
        needs_redis="the console reads tickets from Redis",
        telegram=True,
    ) as app:
        services = ConsoleServices(
            app.stores,
            app.escalation(app.bot),
            app.catalog,
            extra={"knowledge": app.knowledge, "learning": app.learning, "drafts": app.drafts()},
        )
        has_accounts = await app.stores.users.count() > 0
        config = uvicorn.Config(
            create_app(services, settings, has_accounts=has_accounts),
            host=host or settings.console.host,
            port=port or settings.console.port,
            log_config=None,
            access_log=False,
        )
        log.info("console on http://%s:%s", config.host, config.port)
        await uvicorn.Server(config).serve()

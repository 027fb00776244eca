"""``supportbot related rebuild``: recount what customers asked next ("People also ask") from the
event stream, e.g. after changing ``RELATED__WINDOW_MINUTES``."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.i18n import TextSource
    from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``related`` and its subcommand to the ``supportbot`` parser."""
    related = sub.add_parser("related", help='"People also ask": what customers asked next')
    ops = related.add_subparsers(dest="related_command", metavar="COMMAND", required=True)
    ops.add_parser(
        "rebuild", help="recount what customers asked next from the recorded answers"
    ).set_defaults(func=cmd_related_rebuild)


def cmd_related_rebuild(args: argparse.Namespace, texts: TextSource) -> int:
    from bot.settings import load_settings

    settings = load_settings()
    counted = asyncio.run(_rebuild(settings))
    print(texts.get("cli-related-rebuilt", count=str(counted)))
    return 0


async def _rebuild(settings: Settings) -> int:
    from bot.app import Models, open_app
    from bot.services.events import RedisEventLog
    from bot.services.related import rebuild, related_store

    needs = "what customers asked next is counted from the events in the bot's Redis"
    async with open_app(settings, models=Models.LAZY, needs_redis=needs, seed=False) as app:
        events = RedisEventLog(app.stores.redis, app.stores.keys)
        window = settings.related.window_minutes * 60
        return await rebuild(related_store(app.stores, settings), events, window)

"""``supportbot canned …``: the canned replies agents send with ``/reply NAME`` (list, add, delete).

The same rules as the console's page: a bad name or an unknown placeholder is a ``UserFacingError``
printed by ``bot.cli.main`` (exit 2), and nothing is stored.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from bot.errors import ConfigurationError

if TYPE_CHECKING:
    from bot.i18n import TextSource
    from bot.services.canned import CannedReplies


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``canned`` and its subcommands to the ``supportbot`` parser."""
    canned = sub.add_parser("canned", help="canned replies agents send with /reply NAME")
    ops = canned.add_subparsers(dest="canned_command", metavar="CANNED_COMMAND", required=True)
    ops.add_parser("list", help="the canned replies")
    p = ops.add_parser("add", help="add a canned reply, or replace the one of that name")
    p.add_argument("name")
    p.add_argument("--text", required=True, help="may use {name}, {agent} and {ticket}")
    p = ops.add_parser("delete", help="delete a canned reply")
    p.add_argument("name")
    canned.set_defaults(func=cmd_canned)


def cmd_canned(args: argparse.Namespace, texts: TextSource) -> int:
    from bot.settings import load_settings

    return asyncio.run(_run(load_settings(), args, texts))


async def _run(settings, args: argparse.Namespace, texts: TextSource) -> int:
    from bot.services.canned import CannedReplies
    from bot.store import CannedReplyRepository, Keys, connect_redis, key_prefix

    if not settings.redis.url:
        raise ConfigurationError(
            "REDIS__URL: not set; canned replies are kept in Redis "
            "(e.g. REDIS__URL=redis://127.0.0.1:6379/0)"
        )
    redis = await connect_redis(settings.redis.url, cluster=settings.redis.cluster)
    try:
        keys = Keys(key_prefix(settings.redis.prefix, cluster=settings.redis.cluster))
        return await _dispatch(
            CannedReplies(CannedReplyRepository(redis, keys), texts), args, texts
        )
    finally:
        await redis.aclose()


async def _dispatch(canned: CannedReplies, args: argparse.Namespace, texts: TextSource) -> int:
    if args.canned_command == "list":
        replies = await canned.list_all()
        if not replies:
            print(texts.get("cli-canned-none"))
        for reply in replies:
            print(f"{reply.name}\t{reply.text}")
    elif args.canned_command == "add":
        reply = await canned.save(args.name, args.text, "supportbot canned")
        print(texts.get("cli-canned-saved", name=reply.name))
    else:
        await canned.delete(args.name)
        print(texts.get("cli-canned-deleted", name=args.name.strip().lower()))
    return 0

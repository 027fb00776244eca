"""``supportbot users …``: the team's console accounts (admin, operator, agent) in Redis.

A password is asked twice on a terminal; piped in, it is read as one line from stdin, so account
set-up can be scripted. Refusals (unknown role or account, weak password, a name or Telegram id
already taken) are ``UserFacingError``s printed by ``bot.cli.main`` (exit 2); nothing changes.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TYPE_CHECKING

from bot.errors import ConfigurationError, UserFacingError

if TYPE_CHECKING:
    from bot.i18n import TextSource
    from bot.services.accounts import AccountService


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``users`` and its subcommands to the ``supportbot`` parser."""
    users = sub.add_parser("users", help="console accounts: add, list, set-role, disable…")
    ops = users.add_subparsers(dest="users_command", metavar="USERS_COMMAND", required=True)

    p = ops.add_parser("add", help="add an account (password asked, or one line on stdin)")
    p.add_argument("name")
    p.add_argument("--role", required=True, help="admin, operator or agent")
    p.add_argument("--telegram-id", help="the person's Telegram user id (the same agent there)")

    ops.add_parser("list", help="the accounts, their roles and state")

    p = ops.add_parser("set-role", help="change an account's role (ends its sessions)")
    p.add_argument("name")
    p.add_argument("role", help="admin, operator or agent")

    p = ops.add_parser("disable", help="stop an account signing in (ends its sessions)")
    p.add_argument("name")
    p = ops.add_parser("enable", help="let a disabled account sign in again")
    p.add_argument("name")

    p = ops.add_parser("reset-password", help="set a new password (ends the account's sessions)")
    p.add_argument("name")
    users.set_defaults(func=cmd_users)


def cmd_users(args: argparse.Namespace, texts: TextSource) -> int:
    from bot.settings import load_settings

    return asyncio.run(_run(load_settings(), args, texts))


def read_password(name: str, texts: TextSource) -> str:
    """Twice with getpass on a terminal; one line from stdin otherwise."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(texts.get("cli-users-password", name=name))
    if getpass.getpass(texts.get("cli-users-password-again")) != first:
        raise UserFacingError(texts.get("cli-users-password-mismatch"))
    return first


def _telegram_id(value: str | None, texts: TextSource) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise UserFacingError(texts.get("account-bad-telegram-id", value=value)) from None


async def _run(settings, args: argparse.Namespace, texts: TextSource) -> int:
    from bot.services.accounts import AccountService
    from bot.store import Keys, UserRepository, connect_redis, key_prefix

    if not settings.redis.url:
        raise ConfigurationError(
            "REDIS__URL: not set; console accounts are kept in Redis "
            "(e.g. REDIS__URL=redis://127.0.0.1:6379/0)"
        )
    redis = await connect_redis(settings.redis.url, cluster=settings.redis.cluster)
    try:
        keys = Keys(key_prefix(settings.redis.prefix, cluster=settings.redis.cluster))
        accounts = AccountService(UserRepository(redis, keys), texts)
        return await _dispatch(accounts, args, texts)
    finally:
        await redis.aclose()


async def _dispatch(accounts: AccountService, args: argparse.Namespace, texts: TextSource) -> int:
    command = args.users_command
    if command == "list":
        return await _list(accounts, texts)
    if command == "add":
        name = accounts.name(args.name)
        role = accounts.role(args.role)
        telegram_id = _telegram_id(args.telegram_id, texts)
        if await accounts.users.get(name) is not None:  # say so before asking for a password
            raise UserFacingError(texts.get("account-name-taken", name=name))
        account = await accounts.add(name, role, read_password(name, texts), telegram_id)
        print(texts.get("cli-users-added", name=account.name, role=account.role.value))
    elif command == "set-role":
        account = await accounts.set_role(args.name, args.role)
        print(texts.get("cli-users-role-set", name=account.name, role=account.role.value))
    elif command == "disable":
        account = await accounts.set_disabled(args.name, True)
        print(texts.get("cli-users-disabled", name=account.name))
    elif command == "enable":
        account = await accounts.set_disabled(args.name, False)
        print(texts.get("cli-users-enabled", name=account.name))
    elif command == "reset-password":
        name = args.name.strip().lower()
        if await accounts.users.get(name) is None:
            raise UserFacingError(texts.get("account-unknown", name=name))
        account = await accounts.reset_password(name, read_password(name, texts))
        print(texts.get("cli-users-password-reset", name=account.name))
    return 0


async def _list(accounts: AccountService, texts: TextSource) -> int:
    from rich.console import Console
    from rich.table import Table

    rows = await accounts.users.list_all()
    if not rows:
        print(texts.get("cli-users-none"))
        return 0
    table = Table(box=None)
    for column in ("name", "role", "telegram", "state"):
        table.add_column(texts.get(f"cli-users-col-{column}"))
    for a in rows:
        state = texts.get("cli-users-disabled-state" if a.disabled else "cli-users-active")
        telegram = str(a.telegram_id) if a.telegram_id is not None else ""
        table.add_row(a.name, a.role.value, telegram, state)
    Console(width=100).print(table)
    return 0

"""Team accounts: the repository and its rules (``AccountService``) over the real Redis, and
``supportbot users …`` as an admin types it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import redis

from bot.cli import main
from bot.errors import UserFacingError
from bot.i18n import Catalog
from bot.services.accounts import AccountService
from bot.store import Role, Stores
from tests.conftest import REDIS_URL

STRONG = "violet-harbour-trombone-42"
texts = Catalog.load().texts()


@pytest.fixture
def accounts(stores: Stores) -> AccountService:
    return AccountService(stores.users, texts)


def test_roles_rank() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.ADMIN.allows(Role.AGENT)
    assert Role.OPERATOR.allows(Role.AGENT) and not Role.OPERATOR.allows(Role.ADMIN)
    assert not Role.AGENT.allows(Role.OPERATOR)


async def test_add_sign_in_and_change(accounts: AccountService, stores: Stores) -> None:
    added = await accounts.add("Alice", "operator", STRONG, telegram_id=555)
    assert added.name == "alice" and added.role is Role.OPERATOR and added.epoch == 1
    assert STRONG not in added.password_hash and added.password_hash.startswith("$argon2")
    assert (await stores.users.by_telegram(555)).name == "alice"
    assert (await accounts.authenticate("alice", STRONG)).name == "alice"
    assert await accounts.authenticate("alice", STRONG + "x") is None
    assert await accounts.authenticate("nobody", STRONG) is None

    changed = await accounts.set_role("alice", "agent")
    assert changed.role is Role.AGENT and changed.epoch == 2
    disabled = await accounts.set_disabled("alice", True)
    assert disabled.disabled and disabled.epoch == 3
    assert await accounts.authenticate("alice", STRONG) is None  # disabled: no way in
    await accounts.set_disabled("alice", False)
    new = "quartz-lantern-meadow-77"
    reset = await accounts.reset_password("alice", new)
    assert reset.epoch == 5 and reset.telegram_id == 555
    assert await accounts.authenticate("alice", STRONG) is None
    assert (await accounts.authenticate("alice", new)).role is Role.AGENT
    assert [a.name for a in await stores.users.list_all()] == ["alice"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.add("bob", "boss", STRONG), "no role boss; the roles are: admin, operator"),
        (lambda a: a.add("bob", "agent", "short"), "too short: at least 10"),
        (lambda a: a.add("bob", "agent", "password123"), "too easy to guess"),
        (lambda a: a.add("b ob", "agent", STRONG), "cannot be an account name"),
        (lambda a: a.add("alice", "agent", STRONG), "an account named alice already exists"),
        (lambda a: a.add("bob", "agent", STRONG, 555), "Telegram id 555 is already linked"),
        (lambda a: a.set_role("ghost", "agent"), "no account named ghost"),
        (lambda a: a.set_role("alice", "root"), "no role root"),
        (lambda a: a.set_disabled("ghost", True), "no account named ghost"),
        (lambda a: a.reset_password("ghost", STRONG), "no account named ghost"),
        (lambda a: a.reset_password("alice", "alice12345"), "too easy to guess"),
    ],
)
async def test_refusals_change_nothing(
    accounts: AccountService, stores: Stores, redis_client, call, message: str
) -> None:
    await accounts.add("alice", "operator", STRONG, telegram_id=555)
    before = await redis_client.hgetall(stores.keys.user("alice"))
    with pytest.raises(UserFacingError, match=message):
        await call(accounts)
    assert await redis_client.hgetall(stores.keys.user("alice")) == before
    assert [a.name for a in await stores.users.list_all()] == ["alice"]
    assert await redis_client.hgetall(stores.keys.user_by_telegram()) == {"555": "alice"}


async def test_weak_password_says_why(accounts: AccountService) -> None:
    with pytest.raises(UserFacingError) as refused:
        await accounts.add("bob", "agent", "qwertyuiop")
    assert "too easy to guess:" in str(refused.value)
    assert len(str(refused.value)) > len("the password is too easy to guess: ") + 5  # advice


async def test_the_same_name_added_at_once_is_one_account(
    accounts: AccountService, stores: Stores
) -> None:
    import asyncio

    results = await asyncio.gather(
        *(accounts.add("carol", "agent", STRONG, telegram_id=900 + n) for n in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, UserFacingError) for r in results if isinstance(r, Exception))
    assert len(await stores.users.list_all()) == 1


def users(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", *args])


def test_cli_add_list_set_role_disable_reset(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    assert users(monkeypatch, "list") == 0
    assert "no accounts yet" in capsys.readouterr().out
    assert users(monkeypatch, "add", "dana", "--role", "admin", stdin=STRONG + "\n") == 0
    assert (
        users(
            monkeypatch,
            "add",
            "eve",
            "--role",
            "agent",
            "--telegram-id",
            "4242",
            stdin=STRONG + "\n",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "added dana (admin)" in out and "added eve (agent)" in out
    assert users(monkeypatch, "set-role", "eve", "operator") == 0
    assert users(monkeypatch, "disable", "eve") == 0
    assert users(monkeypatch, "reset-password", "dana", stdin="quartz-lantern-meadow-77\n") == 0
    out = capsys.readouterr().out
    assert "eve is now operator" in out and "eve is disabled" in out
    assert "new password set for dana" in out
    assert users(monkeypatch, "list") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [["dana", "admin", "active"], ["eve", "operator", "4242", "disabled"]]
    assert users(monkeypatch, "enable", "eve") == 0
    assert "eve is enabled again" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "stdin", "error"),
    [
        (("add", "fred", "--role", "wizard"), STRONG, "no role wizard"),
        (("add", "fred", "--role", "agent"), "password1", "too short"),
        (("add", "fred", "--role", "agent"), "1234567890", "too easy to guess"),
        (("add", "dana", "--role", "agent"), STRONG, "an account named dana already exists"),
        (("add", "fred", "--role", "agent", "--telegram-id", "77"), STRONG, "already linked"),
        (("add", "fred", "--role", "agent", "--telegram-id", "x1"), STRONG, "is a number"),
        (("set-role", "ghost", "agent"), "", "no account named ghost"),
        (("disable", "ghost"), "", "no account named ghost"),
        (("reset-password", "ghost"), STRONG, "no account named ghost"),
        (("reset-password", "dana"), "short", "too short"),
    ],
)
def test_cli_refusals_exit_2_and_change_nothing(
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    key_prefix: str,
    args: tuple[str, ...],
    stdin: str,
    error: str,
) -> None:
    assert (
        users(
            monkeypatch,
            "add",
            "dana",
            "--role",
            "admin",
            "--telegram-id",
            "77",
            stdin=STRONG + "\n",
        )
        == 0
    )
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    keys = sorted(client.scan_iter(match=f"{key_prefix}*"))
    before = {
        k: client.hgetall(k) if client.type(k) == "hash" else client.smembers(k) for k in keys
    }
    capsys.readouterr()
    assert users(monkeypatch, *args, stdin=stdin + "\n") == 2
    assert error in capsys.readouterr().err
    after = {
        k: client.hgetall(k) if client.type(k) == "hash" else client.smembers(k)
        for k in sorted(client.scan_iter(match=f"{key_prefix}*"))
    }
    client.close()
    assert after == before

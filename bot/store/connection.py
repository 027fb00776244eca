"""Opening the Redis connection: the real server, or an in-process stand-in for the terminal chat."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StoreUnavailableError


async def connect_redis(url: str) -> Redis:
    """A client that has answered PING, or StoreUnavailableError saying where it tried."""
    client = Redis.from_url(url, decode_responses=True, socket_connect_timeout=3, socket_timeout=5)
    try:
        await client.ping()
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        await client.aclose()
        raise StoreUnavailableError(
            f"cannot reach Redis at {_safe_url(url)} ({exc.__class__.__name__}: {exc}); "
            "check REDIS__URL and that the server is running"
        ) from exc
    return client


def in_process_redis() -> Redis:
    """An in-process Redis-compatible store for the local terminal chat (nothing survives exit)."""
    from fakeredis import FakeAsyncRedis

    return FakeAsyncRedis(decode_responses=True)


def _safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"

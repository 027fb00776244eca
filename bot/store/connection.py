"""Opening the Redis connection: the real server, or an in-process stand-in for the terminal chat."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StoreUnavailableError


async def connect_redis(url: str, *, cluster: bool = False) -> Redis | RedisCluster:
    """A client that has answered PING, or StoreUnavailableError saying where it tried.

    ``cluster``: ``url`` names one node of a Redis Cluster; the cluster client finds the others
    (and follows the slots as they move). Keys must then carry the deployment's hash tag
    (``bot.store.keys.key_prefix``).
    """
    options = {"decode_responses": True, "socket_connect_timeout": 3, "socket_timeout": 5}
    client = RedisCluster.from_url(url, **options) if cluster else Redis.from_url(url, **options)
    try:
        await client.ping()
    except (RedisConnectionError, RedisTimeoutError, RedisClusterException, OSError) as exc:
        await client.aclose()
        what = "the Redis Cluster" if cluster else "Redis"
        raise StoreUnavailableError(
            f"cannot reach {what} at {_safe_url(url)} ({exc.__class__.__name__}: {exc}); "
            "check REDIS__URL, REDIS__CLUSTER and that the server is running"
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

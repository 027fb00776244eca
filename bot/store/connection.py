"""Opening the Redis connection: the real server, or an in-process stand-in for the terminal chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StoreUnavailableError

if TYPE_CHECKING:
    from limits.aio.storage import RedisStorage


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


def limits_storage(redis: Redis, key_prefix: str) -> RedisStorage:
    """The ``limits`` storage over the bot's own Redis client, so it opens no connections of its
    own and closes with the store. Its keys start with ``key_prefix``, so on a cluster they carry
    the deployment's hash tag too.

    ``limits`` takes a connection pool, which a cluster client has not: on a Redis Cluster its
    storage is built for the same nodes and then handed the bot's cluster client (the one it
    built is never used, so it never connects), with its scripts registered on that client.
    """
    from limits.aio.storage import RedisClusterStorage, RedisStorage

    if not isinstance(redis, RedisCluster):
        return RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=redis.connection_pool,
            key_prefix=key_prefix,
        )
    nodes = ",".join(f"{node.host}:{node.port}" for node in redis.get_primaries())
    storage = RedisClusterStorage(
        f"async+redis+cluster://{nodes}", implementation="redispy", key_prefix=key_prefix
    )
    storage.bridge.storage = redis
    storage.bridge.connection_getter = lambda _readonly: redis
    storage.bridge.register_scripts()
    return storage

"""Prometheus metrics of the bot process (``prometheus_client``), served on ``METRICS__PORT``
(or on the webhook server's ``/metrics``) and on the console's ``/metrics``.

Each worker process serves its own numbers; Prometheus adds them up over the workers it scrapes.
Several workers behind one port set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess
mode): each writes its numbers there and whichever serves the scrape adds them up. Counters only
grow while a process lives; a gauge that describes shared state (tickets waiting, messages kept in
Redis for redelivery) is set from Redis by whichever worker last looked.

What happened to customers is counted from the domain events (``observe``, called by the one event
recorder), so a new kind of event is counted without touching the code that records it.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:  # the event recorder imports this module
    from bot.services.events import DomainEvent

log = logging.getLogger(__name__)

OUTGOING_RETRIES = Counter(
    "supportbot_outgoing_retries",
    "Bot API calls tried again, by why (flood_wait, server_error, network)",
    ["reason"],
)
OUTGOING_KEPT = Counter(
    "supportbot_outgoing_kept",
    "Messages not delivered after their retries and kept in Redis for redelivery",
)
OUTGOING_LOST = Counter(
    "supportbot_outgoing_lost",
    "Messages given up: not kept (Redis unreachable too), a file upload, or kept past "
    "SENDING__KEEP_HOURS",
    ["why"],
)
OUTGOING_REDELIVERED = Counter(
    "supportbot_outgoing_redelivered", "Kept messages delivered on a later try"
)
OUTGOING_BLOCKED = Counter(
    "supportbot_outgoing_blocked_chats",
    "Chats found to have blocked the bot (counted once a week)",
)
KEPT_WAITING = Gauge(
    "supportbot_outgoing_kept_waiting",
    "Messages kept in Redis waiting for redelivery (all workers)",
)
INBOX_DEAD_LETTERS = Counter(
    "supportbot_inbox_dead_letters",
    "Updates set aside after INBOX__MAX_DELIVERIES deliveries that never finished",
)


EVENTS = Counter("supportbot_events", "Domain events recorded, by kind", ["kind"])
MESSAGES = Counter(
    "supportbot_messages", "Customers' messages and button presses, by kind", ["kind"]
)
ANSWERS = Counter("supportbot_answers", "Answers the bot gave, by how they were made", ["source"])
ESCALATIONS = Counter(
    "supportbot_escalations", "Cases handed to a person (new tickets), by reason", ["reason"]
)
FEEDBACK = Counter("supportbot_feedback", "👍 / 👎 on answers", ["vote"])
RATINGS = Counter("supportbot_ratings", "Customers' 1–5 ratings after tickets", ["score"])
TICKETS_OPENED = Counter("supportbot_tickets_opened", "Tickets opened")
TICKETS_CLOSED = Counter("supportbot_tickets_closed", "Tickets closed")
CONFIDENCE = Histogram(
    "supportbot_retrieval_confidence",
    "Confidence of the best entry for customers' questions (answered or handed over)",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)
ANSWER_SECONDS = Histogram(
    "supportbot_answer_seconds",
    "From a customer's question to the bot's reply or handoff notice",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0),
)
OPEN_TICKETS = Gauge(
    "supportbot_tickets_open", "Tickets open or claimed (all workers)", multiprocess_mode="max"
)
UNCLAIMED_TICKETS = Gauge(
    "supportbot_tickets_unclaimed",
    "Tickets nobody has claimed yet (all workers)",
    multiprocess_mode="max",
)
KB_VERSION = Gauge(
    "supportbot_kb_version",
    "Knowledge-base version this process answers from",
    multiprocess_mode="max",
)


def observe(event: DomainEvent) -> None:
    """Count what an event says happened (the event recorder calls this for every event)."""
    kind = str(event.kind)  # an EventKind; compared by value
    EVENTS.labels(kind).inc()
    if kind == "message_received":
        MESSAGES.labels(event.message_kind or "text").inc()
    elif kind == "answered":
        ANSWERS.labels(event.source or "unknown").inc()
        if event.confidence is not None:
            CONFIDENCE.observe(event.confidence)
    elif kind == "escalated" and event.is_new:
        TICKETS_OPENED.inc()
        ESCALATIONS.labels(event.reason or "unknown").inc()
        if event.confidence is not None:
            CONFIDENCE.observe(event.confidence)
    elif kind == "ticket_closed":
        TICKETS_CLOSED.inc()
    elif kind == "feedback":
        FEEDBACK.labels("up" if event.helpful else "down").inc()
    elif kind == "rating" and event.score is not None:
        RATINGS.labels(str(event.score)).inc()


def timed(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``handler``, its time observed in ``supportbot_answer_seconds`` (aiogram still sees the
    handler's own parameters: ``functools.wraps`` keeps its signature)."""

    @functools.wraps(handler)
    async def observed(*args: Any, **kwargs: Any) -> Any:
        with ANSWER_SECONDS.time():
            return await handler(*args, **kwargs)

    return observed


def set_tickets(open_count: int, unclaimed: int) -> None:
    OPEN_TICKETS.set(open_count)
    UNCLAIMED_TICKETS.set(unclaimed)


def render() -> tuple[bytes, str]:
    """The exposition text of this process (or of every process in multiprocess mode) and its
    content type: for a ``/metrics`` route of a web server the process already runs."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def _registry():
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import REGISTRY

        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def authorized(header: str | None, token: str | None) -> bool:
    """No token configured: anyone who reaches the port may scrape; else ``Bearer <token>``."""
    if not token:
        return True
    given = (header or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def aiohttp_handler(token: str | None) -> Callable[[Any], Awaitable[Any]]:
    """``GET /metrics`` for an aiohttp server (the metrics port, the webhook server)."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        if not authorized(request.headers.get("Authorization"), token):
            return web.Response(status=401, text="Unauthorized")
        body, content_type = await asyncio.to_thread(render)
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle


async def serve_metrics(host: str, port: int, token: str | None = None) -> Any | None:
    """Serve ``/metrics`` on ``host:port`` in this event loop; the aiohttp runner to clean up,
    or None if the port is taken (the bot goes on without it: a second worker on one machine
    needs its own port, or ``PROMETHEUS_MULTIPROC_DIR`` and one port for all)."""
    from aiohttp import web

    app = web.Application()
    app.router.add_get("/metrics", aiohttp_handler(token))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        log.warning("metrics not served on %s:%s: %s", host, port, exc)
        return None
    log.info("metrics on http://%s:%s/metrics", host, port)
    return runner

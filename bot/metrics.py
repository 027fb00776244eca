"""Prometheus metrics of the bot process (``prometheus_client``), served on ``METRICS__PORT``.

Each worker process serves its own numbers; Prometheus adds them up over the workers it scrapes.
Counters only grow while a process lives; a gauge that describes shared state (messages kept in
Redis for redelivery) is set from Redis by whichever worker last looked.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, start_http_server

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


def serve_metrics(host: str, port: int) -> bool:
    """Serve ``/metrics`` on ``host:port`` from a background thread; False if the port is taken
    (the bot goes on without it: a second worker on one machine needs its own port)."""
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("metrics not served on %s:%s: %s", host, port, exc)
        return False
    log.info("metrics on http://%s:%s/metrics", host, port)
    return True

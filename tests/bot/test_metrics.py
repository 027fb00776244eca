"""The bot process serves its Prometheus metrics over HTTP."""

from __future__ import annotations

import socket
import urllib.request

from bot import metrics


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_metrics_are_served_and_a_taken_port_is_not_fatal() -> None:
    port = _free_port()
    metrics.OUTGOING_KEPT.inc()
    assert metrics.serve_metrics("127.0.0.1", port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    assert "supportbot_outgoing_kept_total" in body
    assert "supportbot_outgoing_kept_waiting" in body
    kept = next(
        line for line in body.splitlines() if line.startswith("supportbot_outgoing_kept_total")
    )
    assert float(kept.split()[-1]) >= 1
    # A second worker on the same machine finds the port taken: it goes on without metrics.
    assert metrics.serve_metrics("127.0.0.1", port) is False

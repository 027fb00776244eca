"""Prometheus metrics: counted from what happens to customers, served by the bot and the console,
parsed with prometheus_client's own parser."""

from __future__ import annotations

import socket

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from tests.bot.conftest import RunningBot

CUSTOMER = 5301


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def now() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return samples(metrics.render()[0].decode())


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_port_serves_and_a_taken_port_is_not_fatal() -> None:
    port = _free_port()
    metrics.OUTGOING_KEPT.inc()
    runner = await metrics.serve_metrics("127.0.0.1", port)
    assert runner is not None
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            assert resp.status == 200
            body = await resp.text()
        found = samples(body)
        assert found[("supportbot_outgoing_kept_total", ())] >= 1
        assert ("supportbot_outgoing_kept_waiting", ()) in found
        # A second worker on the same machine finds the port taken: it goes on without metrics.
        assert await metrics.serve_metrics("127.0.0.1", port) is None
    finally:
        await runner.cleanup()


async def test_a_token_protects_the_metrics_port() -> None:
    port = _free_port()
    runner = await metrics.serve_metrics("127.0.0.1", port, token="scrape-me")
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/metrics"
            async with http.get(url) as resp:
                assert resp.status == 401
            async with http.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
            async with http.get(url, headers={"Authorization": "Bearer scrape-me"}) as resp:
                assert resp.status == 200
                assert "supportbot_messages_total" in await resp.text()
    finally:
        await runner.cleanup()


async def test_answers_handoffs_and_feedback_are_counted(running_bot: RunningBot) -> None:
    api = running_bot.api
    before = now()
    reply = await running_bot.ask(CUSTOMER, "when will my parcel arrive?")
    vote = next(
        b["callback_data"]
        for row in reply.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == "👍"
    )
    start = len(api.calls)
    api.push_update(
        api.callback_update(CUSTOMER, CUSTOMER, vote, message_id=reply.result["message_id"])
    )
    await api.wait_for("answerCallbackQuery", start=start)
    await running_bot.ask(CUSTOMER, "I want to talk to a human")
    after = now()
    assert delta(before, after, "supportbot_messages_total", kind="text") == 2
    assert delta(before, after, "supportbot_messages_total", kind="callback") == 1
    assert delta(before, after, "supportbot_answers_total", source="faq") == 1
    assert delta(before, after, "supportbot_feedback_total", vote="up") == 1
    assert delta(before, after, "supportbot_escalations_total", reason="asked_for_human") == 1
    assert delta(before, after, "supportbot_tickets_opened_total") == 1
    assert delta(before, after, "supportbot_answer_seconds_count") == 2
    assert delta(before, after, "supportbot_retrieval_confidence_count") == 1
    assert delta(before, after, "supportbot_events_total", kind="answered") == 1


def test_workers_sharing_a_multiprocess_folder_are_added_up(tmp_path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, any one worker's scrape shows every worker's counts."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = (
        "from bot import metrics\n"
        "from bot.services.events import DomainEvent, EventKind\n"
        "metrics.observe(DomainEvent(EventKind.ESCALATED, is_new=True, reason='asked_for_human'))\n"
    )
    for _ in range(2):  # two workers, each counts one handoff and exits
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    scrape = "from bot import metrics\nprint(metrics.render()[0].decode())"
    out = subprocess.run(
        [sys.executable, "-c", scrape], env=env, check=True, timeout=60, capture_output=True
    ).stdout.decode()
    found = samples(out)
    assert found[("supportbot_escalations_total", (("reason", "asked_for_human"),))] == 2
    assert found[("supportbot_tickets_opened_total", ())] == 2

"""``supportbot report`` reads the bot's events from Redis: a table, or one JSON object."""

from __future__ import annotations

import dataclasses
import json
import re
import time

import pytest
from redis.asyncio import Redis

from bot.cli import main
from bot.services.events import RedisEventLog
from bot.store import Keys
from tests.bot.services.test_analytics import SCRIPT, T0
from tests.conftest import REDIS_URL


@pytest.fixture
async def recorded(redis_client: Redis, key_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripted conversations, moved to three days ago, recorded as the bot records them."""
    monkeypatch.setenv("REDIS__URL", REDIS_URL)
    monkeypatch.setenv("REDIS__PREFIX", key_prefix)
    log = RedisEventLog(redis_client, Keys(key_prefix))
    shift = time.time() - 3 * 24 * 3600 - T0
    for event in SCRIPT:
        await log.record(dataclasses.replace(event, at=event.at + shift))


def test_report_json_has_the_metrics_by_name(recorded: None, capsys) -> None:
    assert main(["report", "--since", "7d", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["conversations"] == 7
    assert figures["tickets"] == 2
    # three days on, chat 6's answer has had a day of silence: assumed too
    assert (figures["resolution_confirmed"], figures["resolution_assumed"]) == (1, 2)
    assert figures["resolution_rate"] == 0.6
    assert figures["csat"] == 0.5
    assert figures["escalations_by_reason"] == {"asked_for_human": 1, "low_confidence": 1}
    for key in (
        "involvement_rate",
        "escalation_rate",
        "thumbs_up_share",
        "first_response_p50_s",
        "resolution_time_p50_s",
        "messages",
        "sentiment_mean",
        "entries",
        "topics",
    ):
        assert key in figures


def test_report_table_and_an_empty_period(recorded: None, capsys) -> None:
    assert main(["report", "--since", "7d"]) == 0
    out = capsys.readouterr().out
    assert "Conversations" in out and "Answers to fix" in out and "refunds" in out
    assert "60.0 %" in out  # the resolution rate
    assert main(["report", "--since", "1h", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["conversations"] == 0


def test_report_refuses_a_period_it_cannot_read(recorded: None, capsys) -> None:
    assert main(["report", "--since", "last tuesday"]) == 2
    assert "cannot read last tuesday as a period" in capsys.readouterr().err
    assert main(["report", "--since", "1d", "--until", "7d"]) == 2
    assert "--until must be later than --since" in capsys.readouterr().err


def test_report_html_is_one_self_contained_page(recorded: None, capsys, tmp_path) -> None:
    page = tmp_path / "report.html"
    assert main(["report", "--since", "7d", "--html", str(page), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["conversations"] == 7  # stdout is still the one JSON object
    assert f"wrote {page}" in out.err
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 5  # the plots, inline
    assert "60.0 %" in html and "refunds" in html
    assert re.search(r"""(src|href)=["']https?:""", html) is None  # nothing to load
    assert main(["report", "--html", str(tmp_path / "no" / "such" / "dir.html")]) == 2
    assert "No such file or directory" in capsys.readouterr().err

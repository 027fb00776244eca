"""Settings: the documented environment names, clear messages for bad values, no secrets in logs."""

from __future__ import annotations

import logging

import pytest

from bot.errors import ConfigurationError
from bot.logging_setup import RedactSecrets
from bot.settings import Mode, load_settings

TOKEN = "123456789:AAE-secret-token-value-0123456789"


def test_environment_names_are_the_documented_contract(monkeypatch, tmp_path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text("entries: []\n")
    env = {
        "TELEGRAM__TOKEN": TOKEN,
        "TELEGRAM__API_BASE": "http://127.0.0.1:8081",
        "TELEGRAM__MODE": "webhook",
        "TELEGRAM__WEBHOOK_URL": "https://bot.example/tg",
        "TELEGRAM__WEBHOOK_SECRET": "s3cret_value",
        "REDIS__URL": "redis://127.0.0.1:6379/3",
        "ESCALATION__AGENTS_CHAT_ID": "-100777",
        "ESCALATION__AGENT_IDS": "11, 22,33",
        "KB__PATH": str(kb),
        "RETRIEVAL__THRESHOLD": "0.42",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = load_settings()
    assert s.telegram.token.get_secret_value() == TOKEN
    assert str(s.telegram.api_base) == "http://127.0.0.1:8081/"
    assert s.telegram.mode is Mode.WEBHOOK
    assert str(s.telegram.webhook_url) == "https://bot.example/tg"
    assert s.redis.url == "redis://127.0.0.1:6379/3"
    assert s.escalation.agents_chat_id == -100777
    assert s.escalation.agent_ids == [11, 22, 33]
    assert s.kb.path == kb
    assert s.retrieval.threshold == 0.42
    assert TOKEN not in repr(s)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RETRIEVAL__THRESHOLD": "1.5"}, "RETRIEVAL__THRESHOLD: Input should be less than"),
        ({"TELEGRAM__TOKEN": "nonsense"}, "TELEGRAM__TOKEN: expected a bot token"),
        ({"TELEGRAM__MODE": "carrier-pigeon"}, "TELEGRAM__MODE: Input should be 'polling'"),
        (
            {"TELEGRAM__MODE": "webhook"},
            "TELEGRAM: TELEGRAM__MODE=webhook needs TELEGRAM__WEBHOOK_URL",
        ),
        ({"REDIS__URL": "localhost:6379"}, "REDIS__URL: expected a URL like redis://"),
        (
            {"REDIS__CLUSTER": "true", "REDIS__PREFIX": "{acme}"},
            "REDIS: REDIS__PREFIX: with REDIS__CLUSTER the prefix becomes the keys' hash tag",
        ),
        (
            {"REDIS__CLUSTER": "true", "REDIS__URL": "redis://127.0.0.1:7000/3"},
            "REDIS: REDIS__URL: a Redis Cluster is reached over TCP and has only database 0",
        ),
        ({"ESCALATION__AGENT_IDS": "12,abc"}, "ESCALATION__AGENT_IDS:"),
        ({"KB__PATH": "/nonexistent/kb.yaml"}, "KB__PATH: file not found"),
        ({"TELEGRAM__WEBHOOK_SECRET": "has spaces"}, "TELEGRAM__WEBHOOK_SECRET: expected 1–256"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch, env: dict, message: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert message in str(info.value)
    assert "nonsense" not in str(info.value) or "TELEGRAM__TOKEN" in str(info.value)


def test_token_is_redacted_from_logs(caplog) -> None:
    logger = logging.getLogger("test.redaction")
    handler = logging.Handler()
    records: list[str] = []
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    handler.addFilter(RedactSecrets([TOKEN]))
    logger.addHandler(handler)
    try:
        logger.error("request to https://api.telegram.org/bot%s/getMe failed", TOKEN)
        logger.error("other token 987654321:ZZZZZZZZZZZZZZZZZZZZZZZZZZ leaked")
        logger.warning("could not parse %r", "mail me at ana@example.com or call +44 20 7946 0958")
        logger.warning("update %s for chat %s: order %s", 41, 900001, "BC-2024-000123")
    finally:
        logger.removeHandler(handler)
    assert records == [
        "request to https://api.telegram.org/bot***/getMe failed",
        "other token *** leaked",
        "could not parse 'mail me at [email] or call [phone]'",  # a customer's words
        "update 41 for chat 900001: order BC-2024-000123",  # ids and order numbers stay
    ]


def test_operator_ids_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATORS__IDS", "123, 456")
    assert load_settings(_env_file=None).operators.ids == [123, 456]
    monkeypatch.setenv("OPERATORS__IDS", "123,alice")
    with pytest.raises(ConfigurationError, match="OPERATORS__IDS: expected Telegram user ids"):
        load_settings(_env_file=None)


def test_a_redis_cluster_is_off_unless_asked_for(monkeypatch) -> None:
    assert load_settings().redis.cluster is False
    monkeypatch.setenv("REDIS__CLUSTER", "true")
    monkeypatch.setenv("REDIS__URL", "redis://10.0.0.5:7000")
    assert load_settings().redis.cluster is True

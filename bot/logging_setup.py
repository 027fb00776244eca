"""Logging for every command, with secrets and customers' personal data masked wherever they
would appear."""

from __future__ import annotations

import logging
import re

from bot.settings import Settings
from common.pii import mask

_TOKEN_RE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")


class RedactSecrets(logging.Filter):
    """Replace configured secrets and anything shaped like a bot token with ``***``, and
    customers' personal data (``common/pii.py``) with ``[email]``, ``[phone]``…."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return mask(_TOKEN_RE.sub("***", text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(settings: Settings | None, level: str = "INFO") -> None:
    secrets: list[str] = []
    if settings is not None:
        level = settings.log_level
        tg = settings.telegram
        secrets = [s.get_secret_value() for s in (tg.token, tg.webhook_secret) if s is not None]
        if settings.redis.url and "@" in settings.redis.url:
            secrets.append(settings.redis.url.split("://", 1)[-1].rsplit("@", 1)[0])
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    # The handler has the level too: a library that sets its own logger to DEBUG (bm25s does, on
    # import) still propagates its records to this handler.
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "sentence_transformers", "faiss", "urllib3", "filelock", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

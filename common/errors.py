"""The one exception hierarchy of the product, shared by every layer.

``SupportBotError`` is the root of every error the product raises on purpose. Each surface turns
them into a message in one place: the Telegram errors router (``bot/handlers/errors.py``), the
console's exception handlers (``bot/console/refusals.py``) and the CLI's ``main``.
"""

from __future__ import annotations


class SupportBotError(Exception):
    """Root of every error the product raises on purpose."""


class ConfigurationError(SupportBotError):
    """Settings that cannot work; the message names the setting and what is expected."""


class StoreUnavailableError(SupportBotError):
    """The state store (Redis) cannot be reached."""


class UserFacingError(SupportBotError):
    """An error whose message is shown to the person who caused it.

    ``problems`` lists what to show, one item a problem: the message itself unless the error
    carries several (a knowledge-base file refused for every bad line, say).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]

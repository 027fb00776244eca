"""One exception hierarchy for the product; user-facing ones carry a message a person can act on."""

from __future__ import annotations


class SupportBotError(Exception):
    """Root of every error the product raises on purpose."""


class ConfigurationError(SupportBotError):
    """Settings that cannot work; the message names the setting and what is expected."""


class StoreUnavailableError(SupportBotError):
    """The state store (Redis) cannot be reached."""


class UserFacingError(SupportBotError):
    """An error whose message is shown to the person who caused it."""

"""The product's error hierarchy, as the bot imports it (defined in the layer-neutral ``common``)."""

from __future__ import annotations

from common.errors import (
    ConfigurationError,
    StoreUnavailableError,
    SupportBotError,
    UserFacingError,
)

__all__ = ["ConfigurationError", "StoreUnavailableError", "SupportBotError", "UserFacingError"]

"""What the bot says, for tests' expectations: the bundled catalog in its default language."""

from __future__ import annotations

from bot.i18n import Catalog

TEXTS = Catalog.load().texts()

"""The reply language: aiogram-i18n's middleware puts the ``i18n`` texts into every handler's data.

Handlers answer with ``i18n.get(key, **args)`` from the catalog (``bot/i18n.py``), never with a
string of their own. For now every customer gets the configured default language
(``TEXTS__DEFAULT_LOCALE``); choosing it per customer (their Telegram language, ``/language``) is
another manager here, and nothing else changes.
"""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher
from aiogram_i18n import I18nMiddleware
from aiogram_i18n.cores import BaseCore
from aiogram_i18n.managers import ConstManager

from bot.i18n import Catalog


class CatalogCore(BaseCore[Catalog]):
    """aiogram-i18n's view of our catalog: the catalog is loaded and checked once, by the app."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(path=".", default_locale=catalog.default_locale)
        self.catalog = catalog
        self.locales = {locale: catalog for locale in catalog.locales}

    def get(self, message: str, locale: str | None = None, /, **kwargs: Any) -> str:
        return self.catalog.get(message, self.get_locale(locale), **kwargs)

    def find_locales(self) -> dict[str, Catalog]:
        return {locale: self.catalog for locale in self.catalog.locales}

    async def shutdown(self) -> None:
        """The catalog outlives polling (the console and the command line use it too)."""


def setup_locale(dp: Dispatcher, catalog: Catalog) -> I18nMiddleware:
    middleware = I18nMiddleware(
        core=CatalogCore(catalog),
        manager=ConstManager(default_locale=catalog.default_locale),
        default_locale=catalog.default_locale,
    )
    middleware.setup(dispatcher=dp)
    return middleware

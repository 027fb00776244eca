"""The reply language: aiogram-i18n's middleware puts the ``i18n`` texts into every handler's data.

Handlers answer with ``i18n.get(key, **args)`` from the catalog (``bot/i18n.py``), never with a
string of their own. ``CustomerLocaleManager`` picks the language of each update's sender, first
that applies:

1. the language they chose with ``/language`` (remembered in Redis, ``Keys.language``);
2. their Telegram app's language (``language_code``: ``zh-hans``, ``zh-TW``… → ``zh``);
3. the script of what they wrote (mostly Chinese characters → ``zh``);
4. the default language (``TEXTS__DEFAULT_LOCALE``).

Only a language the catalog has is ever chosen. ``i18n.set_locale(code)`` in a handler remembers a
choice. Agents', operators' and command-line texts exist in the default language only, so the
catalog gives them in it whatever is chosen here (a locale falls back per key).
"""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher
from aiogram.types import TelegramObject, Update, User
from aiogram_i18n import I18nMiddleware
from aiogram_i18n.cores import BaseCore
from aiogram_i18n.managers import BaseManager

from bot.i18n import Catalog, script_locale
from bot.store import LanguageRepository


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


class CustomerLocaleManager(BaseManager):
    """Each sender's language: remembered choice > Telegram language > script > default."""

    def __init__(self, catalog: Catalog, languages: LanguageRepository) -> None:
        super().__init__(default_locale=catalog.default_locale)
        self.catalog = catalog
        self.languages = languages

    async def get_locale(
        self, event: TelegramObject | None = None, event_from_user: User | None = None
    ) -> str:
        if event_from_user is not None:
            chosen = self.catalog.match(await self.languages.get(event_from_user.id))
            if chosen is not None:
                return chosen
            telegram = self.catalog.match(event_from_user.language_code)
            if telegram is not None:
                return telegram
        written = self.catalog.match(script_locale(_text_of(event)))
        return written or self.catalog.default_locale

    async def set_locale(self, locale: str, event_from_user: User | None = None) -> None:
        """Remember ``locale`` (a code the catalog has) for the update's sender."""
        matched = self.catalog.match(locale)
        if matched is None:
            raise ValueError(f"no texts for the language {locale!r}")
        if event_from_user is not None:
            await self.languages.set(event_from_user.id, matched)


def _text_of(event: TelegramObject | None) -> str | None:
    message = event.message if isinstance(event, Update) else None
    if message is None:
        return None
    return message.text or message.caption


def setup_locale(
    dp: Dispatcher, catalog: Catalog, languages: LanguageRepository
) -> I18nMiddleware:
    middleware = I18nMiddleware(
        core=CatalogCore(catalog),
        manager=CustomerLocaleManager(catalog, languages),
        default_locale=catalog.default_locale,
    )
    middleware.setup(dispatcher=dp)
    return middleware

"""Cross-cutting concerns that apply to every update, before any handler runs.

Each concern is an aiogram middleware in its own module; ``setup_middlewares`` registers them on
the dispatcher in the order they must run: the reply language, the ``message_received`` event,
flood control, moderation (abusive language; redaction before storage goes here too when it
comes).
"""

from __future__ import annotations

from aiogram import Dispatcher

from bot.i18n import Catalog
from bot.middlewares.events import ReceivedEventsMiddleware
from bot.middlewares.flood import FloodControlMiddleware
from bot.middlewares.locale import setup_locale
from bot.middlewares.moderation import ModerationMiddleware
from bot.services.events import EventRecorder
from bot.services.sentiment import SentimentAnalyzer
from bot.store import LanguageRepository


def setup_middlewares(
    dp: Dispatcher,
    events: EventRecorder,
    catalog: Catalog,
    languages: LanguageRepository,
    flood: FloodControlMiddleware | None = None,
    moderation: ModerationMiddleware | None = None,
    sentiment: SentimentAnalyzer | None = None,
    operators: frozenset[int] = frozenset(),
) -> None:
    setup_locale(dp, catalog, languages)
    if flood is not None:  # before the chat lock: a flood is dropped, not queued per chat
        dp.update.outer_middleware(flood)
    if moderation is not None:  # after flood control: a flood is not counted as abuse twice
        dp.update.outer_middleware(moderation)
    # aiogram's FSM middleware takes the chat lock (events isolation); the dispatcher is built
    # with ``disable_fsm=True`` so that it runs here, after flood control.
    dp.update.outer_middleware(dp.fsm)
    received = ReceivedEventsMiddleware(events, sentiment, operators)
    dp.message.outer_middleware(received)
    dp.callback_query.outer_middleware(received)

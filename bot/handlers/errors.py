"""Where an error from any handler becomes a message: the one place for the Telegram surface.

A ``UserFacingError`` (a refused edit, an invalid knowledge-base file, …) is the answer to the
person who caused it: an alert on the button they pressed, or a reply in their chat. Anything else
is a fault: logged with the update's context, and the chat gets a short apology. A chat that has
blocked the bot was already recorded by the sending path (``bot/sending.py``): no traceback. Either
way the update counts as handled and the bot keeps serving. The texts are the person's ``i18n``; an
update that failed before the locale middleware ran (e.g. the store was down) gets the default
language.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Message

from bot.errors import UserFacingError
from bot.i18n import Catalog, TextSource
from bot.services.delivery import split_message

log = logging.getLogger(__name__)

ALERT_CHARS = 190  # what Telegram shows of a callback query's alert
PROBLEMS_SHOWN = 30  # problems listed in reply to a command
FILE_PROBLEMS_SHOWN = 60  # problems listed for a refused file


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(on_refusal, ExceptionTypeFilter(UserFacingError))
    router.errors.register(on_blocked, ExceptionTypeFilter(TelegramForbiddenError))
    router.errors.register(on_error)
    return router


def refusal_text(texts: TextSource, message: Message, problems: list[str]) -> str:
    """The reply to a refused message; a refused file is named, with how many problems it has."""
    if message.document is None:
        return texts.get("refused", problems="\n".join(problems[:PROBLEMS_SHOWN]))
    shown = problems[:FILE_PROBLEMS_SHOWN]
    hidden = len(problems) - len(shown)
    if hidden > 0:
        shown = [*shown, texts.get("refused-more", count=str(hidden))]
    return texts.get(
        "file-refused",
        name=message.document.file_name or texts.get("file-unnamed"),
        count=str(len(problems)),
        problems="\n".join(shown),
    )


async def on_blocked(event: ErrorEvent) -> bool:
    """The chat blocked the bot: the sending path has recorded it once; nothing to say to it."""
    log.debug("update %s: %s", event.update.update_id, event.exception)
    return True


def _texts(catalog: Catalog, i18n: TextSource | None) -> TextSource:
    return i18n if i18n is not None else catalog.texts()


async def on_refusal(event: ErrorEvent, catalog: Catalog, i18n: TextSource | None = None) -> bool:
    """Tell the person who caused a UserFacingError what was wrong; nothing changed."""
    update, problems = event.update, event.exception.problems
    log.info("update %s refused: %s", update.update_id, "; ".join(problems)[:500])
    try:
        if update.callback_query is not None:
            alert = "; ".join(problems)[:ALERT_CHARS]
            await update.callback_query.answer(alert, show_alert=True)
        elif update.message is not None:
            text = refusal_text(_texts(catalog, i18n), update.message, problems)
            for part in split_message(text):
                await update.message.answer(part)
    except TelegramAPIError as exc:
        log.warning("could not tell update %s's sender why: %s", update.update_id, exc)
    return True


async def on_error(event: ErrorEvent, catalog: Catalog, i18n: TextSource | None = None) -> bool:
    """A fault: logged with the update and chat, and the chat (if any) gets the apology."""
    update = event.update
    chat_id = None
    if update.message:
        chat_id = update.message.chat.id
    elif update.callback_query and update.callback_query.message:
        chat_id = update.callback_query.message.chat.id
    log.error(
        "update %s (chat %s) failed: %r",
        update.update_id,
        chat_id,
        event.exception,
        exc_info=event.exception,
    )
    if chat_id is not None and not isinstance(event.exception, TelegramAPIError):
        try:
            await event.update.bot.send_message(chat_id, _texts(catalog, i18n).get("error"))
        except TelegramAPIError as exc:
            log.warning("could not tell chat %s about the error: %s", chat_id, exc)
    return True

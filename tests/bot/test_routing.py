"""Every filter and handler of the bot's routers runs on the event loop (no thread hop per update)."""

from __future__ import annotations

from aiogram import F

from bot.handlers import get_routers
from bot.handlers.filters import Inline


def test_no_router_registers_a_filter_or_handler_that_aiogram_runs_in_a_thread() -> None:
    checked = 0
    for router in get_routers():
        for name, observer in router.observers.items():
            handlers = [*observer.handlers]
            own = getattr(observer, "_handler", None)  # the observer-wide filters
            if own is not None:
                handlers.append(own)
            for handler in handlers:
                where = f"{router.name}.{name}"
                if handler is not own:
                    assert handler.awaitable, f"{where}: handler {handler.callback} is not async"
                for flt in handler.filters or ():
                    checked += 1
                    assert flt.awaitable, (
                        f"{where}: filter {flt.callback!r} runs in a thread; wrap it in Inline()"
                    )
    assert checked > 10  # the walk saw the routers' filters


async def test_inline_resolves_a_magic_filter_like_aiogram_does() -> None:
    from aiogram.types import Chat, Message

    message = Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": Chat(id=5, type="private").model_dump(),
            "text": "hello",
        }
    )
    assert await Inline(F.text)(message) is True
    assert await Inline(F.chat.type == "private")(message) is True
    assert await Inline(F.document)(message) is False
    assert await Inline(F.text.as_("words"))(message) == {"words": "hello"}

"""Magic filters (``F.text``, ``F.chat.type == …``) checked on the event loop.

aiogram runs a plain (not ``async``) filter with ``asyncio.to_thread``: a hop to a worker thread and
back for every update and every such filter. A magic filter only reads attributes, so ``Inline``
resolves it in place. ``tests/bot/test_routing.py`` fails on a router that registers a filter or a
handler that aiogram would run in a thread.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Inline(Filter):
    """``Inline(F.text)``: the magic filter's answer, computed without leaving the event loop."""

    __slots__ = ("magic",)

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> bool | dict[str, Any]:
        result = self.magic.resolve(event)
        return result if isinstance(result, dict) else bool(result)

    def __str__(self) -> str:
        return f"Inline({self.magic!r})"

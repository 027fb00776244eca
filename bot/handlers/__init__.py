"""One router per audience; ``get_routers`` fixes their order (the customer fallback last)."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import agent, customer, errors, operator


def get_routers() -> list[Router]:
    """Fresh routers in their fixed order: errors first, the customer fallback last."""
    return [
        errors.create_router(),
        agent.create_router(),
        operator.create_router(),
        customer.create_router(),
    ]

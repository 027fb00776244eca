"""One router per audience; ``get_routers`` fixes their order (the customer fallback last)."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import agent, customer, errors


def get_routers() -> list[Router]:
    return [errors.router, agent.router, customer.router]

"""``GET /metrics`` of the console, for Prometheus: outside the login (a scraper has no session),
behind ``METRICS__TOKEN`` when one is set. The gauges of shared state (tickets waiting, the live
knowledge-base version) are read from Redis at each scrape."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from bot import metrics
from bot.store import TicketStatus

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request) -> Response:
    settings = request.app.state.settings
    if not metrics.authorized(
        request.headers.get("authorization"), settings.metrics.token_value()
    ):
        return Response("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    services = request.app.state.services
    waiting = await services.stores.tickets.list_open()
    metrics.set_tickets(len(waiting), sum(t.status == TicketStatus.OPEN for t in waiting))
    knowledge = services.extra.get("knowledge")
    if knowledge is not None:
        metrics.KB_VERSION.set(await knowledge.store.live_version())
    body, content_type = await asyncio.to_thread(metrics.render)
    return Response(body, media_type=content_type)

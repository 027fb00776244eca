"""The console's first page: how support is going over the last 7, 30 or 90 days.

The rates and times of ``supportbot report`` (``bot/services/analytics.py``), plots of each day
(``bot/plots.py``: volume, resolution, tickets by reason, CSAT, mood), the answers to fix and what
customers asked about (``bot/services/topics.py``). Topics embed the period's questions, so they
are kept for ``TOPICS_FRESH_S`` per period.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bot.console.auth import Agent, ConsoleTexts, redirect_with_flash, render
from bot.plots import support_plots
from bot.services.analytics import (
    CONVERSATION_GAP_S,
    resolution_by_answer,
    seconds_text,
    share_text,
)
from bot.services.rollup import DailyFigures
from bot.services.topics import QuestionLog, find_topics

router = APIRouter()
PERIODS = (7, 30, 90)
TOPICS_FRESH_S = 600.0


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request, user: Agent, texts: ConsoleTexts, days: str = str(PERIODS[0])
) -> Response:
    services = request.app.state.services
    stores = services.stores
    if days not in {str(p) for p in PERIODS}:
        periods = ", ".join(str(p) for p in PERIODS)
        flash = texts.get(
            "console-dashboard-period", asked=days[:8], periods=periods, default=PERIODS[0]
        )
        return redirect_with_flash(request, "/dashboard", flash)
    days = int(days)
    figures = DailyFigures(stores.redis, stores.keys, services.escalation.hours)
    now = time.time()
    last = figures.day_of(now)
    first = last - timedelta(days=days - 1)
    since = figures.bounds(first)[0]
    report = await figures.report(since, now, now)
    daily = await figures.days(first, last, now)
    knowledge = services.extra.get("knowledge")
    entries: dict[str, str] = {}
    if knowledge is not None:
        _, kb = await knowledge.live()
        entries = {e.id: e.question for e in kb.entries}
        report.topics = await _topics(request, figures, knowledge.vectors, days, since, now)
    dates = [first + timedelta(days=n) for n in range(len(daily))]
    plots = await asyncio.to_thread(support_plots, dates, daily)
    return render(
        request,
        "dashboard.html",
        days=days,
        periods=PERIODS,
        figures=report.to_json(),
        plots=plots,
        entry_questions=entries,
        share=share_text,
        seconds=seconds_text,
        links=True,
    )


async def _topics(request: Request, figures: DailyFigures, vectors, days: int, since, now):
    cache: dict[int, tuple[float, list[dict[str, Any]]]] | None = getattr(
        request.app.state, "dashboard_topics", None
    )
    if cache is None:
        cache = request.app.state.dashboard_topics = {}
    kept = cache.get(days)
    if kept is not None and now - kept[0] < TOPICS_FRESH_S:
        return kept[1]
    log = QuestionLog(figures.redis, figures.keys)
    asked = await log.between(since - (now - since), now)
    events = await figures.events.between(since - CONVERSATION_GAP_S, now)
    resolved = resolution_by_answer(events, now)
    current = [q for q in asked if q.at >= since]
    previous = [q for q in asked if q.at < since]
    found = await asyncio.to_thread(find_topics, current, previous, vectors, resolved=resolved)
    topics = [t.to_json() for t in found]
    cache[days] = (now, topics)
    return topics

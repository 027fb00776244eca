"""``supportbot report``: how support went over a period, from the domain events in Redis.

A table in the terminal (``rich``), ``--html FILE`` a self-contained page with the plots, or
``--json``: one object whose keys are the metric names the
README defines (``bot/services/analytics.py`` computes them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.i18n import TextSource
    from bot.services.analytics import Report

_SPAN_RE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="resolution, escalation, CSAT, response times of a period")
    p.add_argument(
        "--since",
        default="7d",
        help="a span back from now (30m, 24h, 7d, 4w) or a date (default 7d)",
    )
    p.add_argument("--until", help="a date (YYYY-MM-DD, exclusive) or a span back from now")
    p.add_argument("--json", action="store_true", help="print one JSON object of the metrics")
    p.add_argument("--html", type=Path, help="also write a self-contained page with the plots")
    p.add_argument("--entries", type=int, default=10, help="answers to fix: how many to show")
    p.add_argument(
        "--no-topics", action="store_true", help="skip the topics (they embed the questions)"
    )
    p.set_defaults(func=cmd_report)


def parse_moment(text: str, now: float, texts: TextSource) -> float:
    """``7d`` (a span back from ``now``) or ``2026-11-30`` / an ISO time (UTC unless it says)."""
    value = text.strip().lower()
    span = _SPAN_RE.match(value)
    if span:
        return now - int(span[1]) * _UNIT_S[span[2]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserFacingError(texts.get("cli-report-bad-moment", value=text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def cmd_report(args: argparse.Namespace, texts: TextSource) -> int:
    from bot.settings import load_settings

    now = time.time()
    since = parse_moment(args.since, now, texts)
    until = parse_moment(args.until, now, texts) if args.until else now
    if until <= since:
        raise UserFacingError(texts.get("cli-report-empty-period"))
    report, daily = asyncio.run(
        _report(load_settings(), since, until, now, topics=not args.no_topics)
    )
    figures = report.to_json()
    if args.html:
        write_html(args.html, figures, daily)
        print(texts.get("cli-report-html-written", file=str(args.html)), file=sys.stderr)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print_report(figures, texts, entries=args.entries)
    return 0


async def _report(
    settings: Any, since: float, until: float, now: float, *, topics: bool = True
) -> tuple[Report, list[tuple[date, Report]]]:
    """The period's report, and one per day (for the plots)."""
    from bot.app import Models, open_app
    from bot.services.analytics import CONVERSATION_GAP_S
    from bot.services.hours import BusinessHours
    from bot.services.rollup import DailyFigures
    from bot.services.topics import QuestionLog, period_topics

    hours = BusinessHours.parse(settings.escalation.business_hours, settings.escalation.timezone)
    async with open_app(
        settings, models=Models.LAZY, needs_redis="the report reads the bot's events", seed=False
    ) as app:
        figures = DailyFigures(app.stores.redis, app.stores.keys, hours)
        report = await figures.report(since, until, now)
        if topics:
            events = await figures.events.between(since - CONVERSATION_GAP_S, now)
            found = await period_topics(
                QuestionLog(app.stores.redis, app.stores.keys),
                events,
                app.knowledge.vectors,
                since=since,
                until=until,
                now=now,
            )
            report.topics = [t.to_json() for t in found]
        first, last = figures.day_of(since), figures.day_of(until - 1)
        per_day = await figures.days(first, last, now)
        days = [first + timedelta(days=n) for n in range(len(per_day))]
        return report, list(zip(days, per_day, strict=True))


def write_html(path: Path, figures: dict[str, Any], daily: list[tuple[date, Report]]) -> None:
    """One page, plots inline: it opens anywhere, with nothing to load."""
    import jinja2

    from bot.plots import support_plots
    from bot.services.analytics import seconds_text, share_text

    folder = Path(__file__).parent / "console" / "templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=True)
    page = env.get_template("report.html").render(
        figures=figures,
        plots=support_plots([d for d, _ in daily], [r for _, r in daily]),
        entry_questions={},
        share=share_text,
        seconds=seconds_text,
        links=False,
    )
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UserFacingError(f"{path}: {exc.strerror}") from None


def print_report(figures: dict[str, Any], texts: TextSource, *, entries: int = 10) -> None:
    from rich.console import Console
    from rich.table import Table

    from bot.services.analytics import seconds_text, share_text

    console = Console()
    summary = Table(
        title=texts.get("cli-report-title", since=figures["since"], until=figures["until"]),
        show_header=False,
    )
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    rows = [
        ("conversations", figures["conversations"]),
        ("messages", figures["messages"]),
        ("involvement_rate", share_text(figures["involvement_rate"])),
        (
            "resolution_rate",
            texts.get(
                "cli-report-resolution",
                rate=share_text(figures["resolution_rate"]),
                confirmed=figures["resolution_confirmed"],
                assumed=figures["resolution_assumed"],
                pending=figures["resolution_pending"],
            ),
        ),
        ("escalation_rate", share_text(figures["escalation_rate"])),
        ("tickets", figures["tickets"]),
        (
            "csat",
            texts.get("cli-report-of", value=share_text(figures["csat"]), n=figures["ratings"]),
        ),
        (
            "thumbs_up_share",
            texts.get(
                "cli-report-of",
                value=share_text(figures["thumbs_up_share"]),
                n=figures["rated_answers"],
            ),
        ),
        ("first_response_p50_s", seconds_text(figures["first_response_p50_s"])),
        ("first_response_business_p50_s", seconds_text(figures["first_response_business_p50_s"])),
        ("resolution_time_p50_s", seconds_text(figures["resolution_time_p50_s"])),
        ("unclaimed_wait_p50_s", seconds_text(figures["unclaimed_wait_p50_s"])),
    ]
    for key, value in rows:
        summary.add_row(texts.get(f"cli-report-{key.replace('_', '-')}"), str(value))
    console.print(summary)
    if figures["escalations_by_reason"]:
        reasons = Table(title=texts.get("cli-report-reasons"))
        reasons.add_column(texts.get("cli-report-reason"))
        reasons.add_column(texts.get("cli-report-count"), justify="right")
        for reason, count in sorted(figures["escalations_by_reason"].items(), key=lambda r: -r[1]):
            reasons.add_row(reason, str(count))
        console.print(reasons)
    if figures["entries"] and entries > 0:
        worst = Table(title=texts.get("cli-report-entries"))
        for key in ("entry", "answers", "up", "down", "resolved", "handoffs"):
            worst.add_column(
                texts.get(f"cli-report-col-{key}"), justify="left" if key == "entry" else "right"
            )
        for entry in figures["entries"][:entries]:
            worst.add_row(
                entry["entry_id"],
                str(entry["answers"]),
                str(entry["thumbs_up"]),
                str(entry["thumbs_down"]),
                share_text(entry["resolution_rate"]),
                str(entry["handoffs_after"]),
            )
        console.print(worst)
    if figures["topics"]:
        asked = Table(title=texts.get("cli-report-topics"))
        for key in ("topic", "volume", "trend", "answered", "escalated", "mood", "example"):
            asked.add_column(texts.get(f"cli-report-col-{key}"))
        for topic in figures["topics"]:
            gap = texts.get("cli-report-gap") if topic["gap"] else ""
            asked.add_row(
                topic["name"] + gap,
                str(topic["volume"]),
                texts.get("cli-report-new")
                if topic["trend"] is None
                else f"{topic['trend']:+.0%}",
                share_text(topic["answered_share"]),
                share_text(topic["escalated_share"]),
                "—" if topic["sentiment_mean"] is None else f"{topic['sentiment_mean']:+.2f}",
                topic["examples"][0] if topic["examples"] else "",
            )
        console.print(asked)

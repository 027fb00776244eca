"""Plots of support over time as inline SVG (matplotlib, drawn on the server: the console and the
HTML report load nothing from the internet)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services.analytics import Report

COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")


def line_svg(
    title: str,
    days: Sequence[date],
    series: Mapping[str, Sequence[float | None]],
    *,
    percent: bool = False,
    y_range: tuple[float, float] | None = None,
) -> str:
    """One line per series over the days; a missing value (None) leaves a gap."""
    fig, ax = _figure(title)
    for (label, values), colour in zip(series.items(), COLOURS, strict=False):
        ys = [float("nan") if v is None else (v * 100 if percent else v) for v in values]
        ax.plot(days, ys, marker="o", markersize=3, linewidth=1.6, label=label, color=colour)
    if y_range is not None:
        ax.set_ylim(*(v * 100 if percent else v for v in y_range))
    if percent:
        ax.yaxis.set_major_formatter("{x:.0f} %")
    if len(series) > 1:
        ax.legend(fontsize=8, frameon=False)
    return _svg(fig, ax, days)


def stacked_bars_svg(title: str, days: Sequence[date], stacks: Mapping[str, Sequence[int]]) -> str:
    """Bars per day, stacked by label (e.g. tickets by reason)."""
    fig, ax = _figure(title)
    bottom = [0] * len(days)
    for (label, values), colour in zip(stacks.items(), COLOURS, strict=False):
        ax.bar(days, values, bottom=bottom, label=label, color=colour, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if stacks:
        ax.legend(fontsize=8, frameon=False)
    return _svg(fig, ax, days)


def _figure(title: str):
    from matplotlib.figure import Figure  # no pyplot: safe in any thread, no display

    fig = Figure(figsize=(6.2, 2.4), dpi=100)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _svg(fig, ax, days: Sequence[date]) -> str:
    from datetime import timedelta

    import matplotlib.dates as mdates

    if days:  # the whole period, whatever days have no value
        ax.set_xlim(days[0] - timedelta(hours=12), days[-1] + timedelta(hours=12))

    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline: without the XML prolog


def support_plots(days: Sequence[date], daily: Sequence[Report]) -> dict[str, str]:
    """The dashboard's and the HTML report's plots, one point per day."""
    points = [r.to_json() for r in daily]
    reasons = sorted({reason for r in daily for reason in r.escalations_by_reason})
    return {
        "volume": line_svg(
            "Conversations and tickets per day",
            days,
            {
                "conversations": [p["conversations"] for p in points],
                "tickets": [p["tickets"] for p in points],
            },
        ),
        "resolution": line_svg(
            "Resolution and escalation rate",
            days,
            {
                "resolution": [p["resolution_rate"] for p in points],
                "escalation": [p["escalation_rate"] for p in points],
            },
            percent=True,
            y_range=(0.0, 1.0),
        ),
        "reasons": stacked_bars_svg(
            "Tickets by reason",
            days,
            {
                reason: [r.escalations_by_reason.get(reason, 0) for r in daily]
                for reason in reasons
            },
        ),
        "csat": line_svg(
            "CSAT and share of answers rated helpful",
            days,
            {
                "CSAT": [p["csat"] for p in points],
                "helpful answers": [p["thumbs_up_share"] for p in points],
            },
            percent=True,
            y_range=(0.0, 1.0),
        ),
        "sentiment": line_svg(
            "Customers' mood (mean sentiment, −1 … +1)",
            days,
            {"mood": [p["sentiment_mean"] for p in points]},
            y_range=(-1.0, 1.0),
        ),
    }

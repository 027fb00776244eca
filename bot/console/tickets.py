"""The ticket queue, a ticket's transcript and history, and reply / claim / close / reopen /
unmute from the browser."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.console.auth import Agent, ConsoleTexts, FormAgent, render
from bot.console.canned import canned_replies, rendered_for
from bot.i18n import Texts
from bot.services.escalation import FILE_LIMIT_BYTES, Actor, EscalationService
from bot.services.events import EventKind, RedisEventLog
from bot.services.moderation import ModerationService
from bot.store import Ticket, Turn

router = APIRouter()
# What a ticket's history shows: the domain events of the ticket, each with who and when.
HISTORY_KINDS = {
    EventKind.ESCALATED,
    EventKind.TICKET_CLAIMED,
    EventKind.TICKET_REPLIED,
    EventKind.TICKET_CLOSED,
    EventKind.TICKET_REOPENED,
    EventKind.RATING,
    EventKind.TICKET_ASSIGNED,
}
# The queue's views (``?view=``): every open ticket, the signed-in person's, or nobody's.
QUEUE_VIEWS = ("all", "mine", "unassigned")


def _escalation(request: Request) -> EscalationService:
    return request.app.state.services.escalation


def _moderation(request: Request) -> ModerationService:
    """Lifting mutes needs no detector: built per request from the escalation service's parts."""
    escalation = _escalation(request)
    settings = request.app.state.settings.moderation
    return ModerationService(escalation.stores.moderation, escalation.events, settings, escalation)


def reason_label(reason: str, texts: Texts) -> str:
    """Why a ticket was opened, in words (``reason-…`` in agent.ftl); an unknown one as it is."""
    key = "reason-" + reason.replace("_", "-")
    return texts.get(key) if texts.catalog.has(key) else reason


def ticket_json(ticket: Ticket, now: float, texts: Texts) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "customer": ticket.customer_name,
        "chat_id": ticket.chat_id,
        "status": ticket.status,
        "reason": reason_label(ticket.reason, texts),
        "question": ticket.question,
        "created_at": ticket.created_at,
        "waiting_seconds": round(ticket.waiting_seconds(now), 1),
        "claimed_by": ticket.claimed_by_name or None,
        "customer_blocked": ticket.customer_blocked,
        "rating": ticket.rating,
    }


def turn_json(turn: Turn) -> dict[str, Any]:
    return {"role": turn.role, "text": turn.text, "at": turn.at, "name": turn.meta.get("name")}


async def _ticket_or_404(request: Request, ticket_id: str, texts: Texts) -> Ticket:
    ticket = await _escalation(request).stores.tickets.get(ticket_id)
    if ticket is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, texts.get("console-no-ticket", ticket=ticket_id)
        )
    return ticket


def _back(ticket_id: str) -> RedirectResponse:
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=status.HTTP_303_SEE_OTHER)


async def ticket_history(request: Request, ticket: Ticket) -> list[dict[str, Any]]:
    """What happened to the ticket and who did it, from the domain events still in the (capped)
    stream since the ticket opened: opened, claimed, replied, closed, reopened, rated."""
    stores = _escalation(request).stores
    events = await RedisEventLog(stores.redis, stores.keys).between(
        ticket.created_at - 1, time.time() + 1
    )
    return [
        {
            "kind": e.kind.value,
            "actor": e.actor,
            "at": e.at,
            "score": e.score,
            "new": e.is_new,
            "assignee": e.assignee,
        }
        for e in events
        if e.ticket_id == ticket.id and e.kind in HISTORY_KINDS
    ]


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/dashboard", status_code=status.HTTP_303_SEE_OTHER)


def in_view(ticket: Ticket, view: str, user: str) -> bool:
    """Whether the queue's ``view`` shows the ticket to ``user`` (an unknown view shows all)."""
    if view == "mine":
        return ticket.claimed_by_name == user
    if view == "unassigned":
        return not ticket.claimed_by_name
    return True


@router.get("/api/tickets")
async def api_queue(
    request: Request, user: Agent, texts: ConsoleTexts, view: str = "all"
) -> list[dict[str, Any]]:
    now = time.time()
    tickets = await _escalation(request).stores.tickets.list_open()
    return [ticket_json(t, now, texts) for t in tickets if in_view(t, view, user)]


@router.get("/api/tickets/{ticket_id}")
async def api_ticket(
    request: Request, ticket_id: str, user: Agent, texts: ConsoleTexts
) -> dict[str, Any]:
    ticket = await _ticket_or_404(request, ticket_id, texts)
    transcript = await _escalation(request).stores.tickets.transcript(ticket_id)
    turns = [turn_json(t) for t in transcript]
    return ticket_json(ticket, time.time(), texts) | {"transcript": turns}


@router.get("/tickets", response_class=HTMLResponse)
async def queue_page(
    request: Request, user: Agent, texts: ConsoleTexts, view: str = "all"
) -> Response:
    view = view if view in QUEUE_VIEWS else "all"
    tickets = await api_queue(request, user, texts, view)
    users = _escalation(request).stores.users
    available = await users.is_available(user) if await users.get(user) else None
    return render(
        request, "queue.html", tickets=tickets, view=view, views=QUEUE_VIEWS, available=available
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, ticket_id: str, user: Agent, texts: ConsoleTexts
) -> Response:
    data = await api_ticket(request, ticket_id, user, texts)
    moderation = _moderation(request)
    until = await moderation.muted_until(data["chat_id"])
    muted = texts.get("console-muted-until", **moderation.until_args(until)) if until else None
    ticket = await _ticket_or_404(request, ticket_id, texts)
    history = await ticket_history(request, ticket)
    assignable = [
        a.name for a in await _escalation(request).stores.users.list_all() if not a.disabled
    ]
    canned = await rendered_for(canned_replies(request), ticket, user)
    return render(
        request,
        "ticket.html",
        ticket=data,
        muted=muted,
        history=history,
        assignable=assignable,
        canned=canned,
    )


@router.post("/tickets/{ticket_id}/reply")
async def reply(
    request: Request,
    ticket_id: str,
    user: FormAgent,
    texts: ConsoleTexts,
    text: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    if file is not None and file.filename:
        return await _send_file(request, ticket_id, user, texts, file, text)
    delivery = await _escalation(request).console_reply(ticket_id, Actor(None, user), text)
    request.session["flash"] = texts.get("console-sent") if delivery.delivered else delivery.note
    return _back(ticket_id)


async def _send_file(
    request: Request, ticket_id: str, user: str, texts: Texts, file: UploadFile, caption: str
) -> Response:
    """A file chosen on the reply form, the text as its caption; one byte over the limit is
    enough to refuse it, so no more is read."""
    data = await file.read(FILE_LIMIT_BYTES + 1)
    name = file.filename or "file"
    delivery = await _escalation(request).console_file(
        ticket_id, Actor(None, user), name, data, caption
    )
    if delivery.delivered:
        request.session["flash"] = texts.get("console-file-sent", name=name)
    else:
        request.session["flash"] = texts.get("console-file-not-sent", problems=delivery.note)
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/unmute")
async def unmute(
    request: Request, ticket_id: str, user: FormAgent, texts: ConsoleTexts
) -> Response:
    ticket = await _ticket_or_404(request, ticket_id, texts)
    if await _moderation(request).unmute(ticket, Actor(None, user)):
        request.session["flash"] = texts.get("console-unmuted")
    else:
        request.session["flash"] = texts.get("console-not-muted")
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/{action}")
async def act(
    request: Request, ticket_id: str, action: str, user: FormAgent, texts: ConsoleTexts
) -> Response:
    await _ticket_or_404(request, ticket_id, texts)
    escalation, who = _escalation(request), Actor(None, user)
    texts = escalation.texts
    if action == "claim":
        result = await escalation.claim(ticket_id, who)
        if result.claimed:
            flash = texts.get("agent-claimed-toast", ticket=ticket_id)
        elif result.ticket is not None and result.ticket.is_active:
            flash = texts.get("agent-already-claimed", agent=result.ticket.claimed_by_name)
        else:
            flash = texts.get("agent-ticket-closed-toast", ticket=ticket_id)
    elif action == "close":
        _, closed = await escalation.close(ticket_id, who)
        if closed:
            flash = texts.get("agent-closed-toast", ticket=ticket_id)
        else:
            flash = texts.get("agent-ticket-closed-toast", ticket=ticket_id)
    elif action == "reopen":
        _, refusal = await escalation.reopen(ticket_id, who)
        flash = refusal or texts.get("console-ticket-reopened", ticket=ticket_id)
    else:
        unknown = texts.get("console-unknown-action", action=repr(action))
        raise HTTPException(status.HTTP_404_NOT_FOUND, unknown)
    request.session["flash"] = flash
    return _back(ticket_id)

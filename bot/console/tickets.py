"""The ticket queue, a ticket's transcript, and reply / claim / close / reopen from the browser."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.console.auth import Agent, FormAgent, render
from bot.i18n import TextSource
from bot.services.agents_chat import reason_text
from bot.services.escalation import Actor, EscalationService
from bot.store import Ticket, Turn

router = APIRouter()


def _escalation(request: Request) -> EscalationService:
    return request.app.state.services.escalation


def ticket_json(texts: TextSource, ticket: Ticket, now: float) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "customer": ticket.customer_name,
        "chat_id": ticket.chat_id,
        "status": ticket.status,
        "reason": reason_text(texts, ticket.reason),
        "question": ticket.question,
        "created_at": ticket.created_at,
        "waiting_seconds": round(ticket.waiting_seconds(now), 1),
        "claimed_by": ticket.claimed_by_name or None,
        "customer_blocked": ticket.customer_blocked,
        "rating": ticket.rating,
    }


def turn_json(turn: Turn) -> dict[str, Any]:
    return {"role": turn.role, "text": turn.text, "at": turn.at, "name": turn.meta.get("name")}


async def _ticket_or_404(request: Request, ticket_id: str) -> Ticket:
    ticket = await _escalation(request).stores.tickets.get(ticket_id)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket #{ticket_id}")
    return ticket


def _back(ticket_id: str) -> RedirectResponse:
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/tickets", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/api/tickets")
async def api_queue(request: Request, user: Agent) -> list[dict[str, Any]]:
    now, escalation = time.time(), _escalation(request)
    tickets = await escalation.stores.tickets.list_open()
    return [ticket_json(escalation.texts, t, now) for t in tickets]


@router.get("/api/tickets/{ticket_id}")
async def api_ticket(request: Request, ticket_id: str, user: Agent) -> dict[str, Any]:
    ticket, escalation = await _ticket_or_404(request, ticket_id), _escalation(request)
    transcript = await escalation.stores.tickets.transcript(ticket_id)
    data = ticket_json(escalation.texts, ticket, time.time())
    return data | {"transcript": [turn_json(t) for t in transcript]}


@router.get("/tickets", response_class=HTMLResponse)
async def queue_page(request: Request, user: Agent) -> Response:
    tickets = await api_queue(request, user)
    return render(request, "queue.html", tickets=tickets)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(request: Request, ticket_id: str, user: Agent) -> Response:
    data = await api_ticket(request, ticket_id, user)
    return render(request, "ticket.html", ticket=data)


@router.post("/tickets/{ticket_id}/reply")
async def reply(
    request: Request,
    ticket_id: str,
    user: FormAgent,
    text: Annotated[str, Form()] = "",
) -> Response:
    delivery = await _escalation(request).console_reply(ticket_id, Actor(None, user), text)
    request.session["flash"] = "Sent to the customer." if delivery.delivered else delivery.note
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/{action}")
async def act(request: Request, ticket_id: str, action: str, user: FormAgent) -> Response:
    await _ticket_or_404(request, ticket_id)
    escalation, who = _escalation(request), Actor(None, user)
    texts = escalation.texts
    if action == "claim":
        result = await escalation.claim(ticket_id, who)
        if result.claimed:
            flash = f"You've got ticket #{ticket_id}."
        elif result.ticket is not None and result.ticket.is_active:
            flash = texts.get("agent-already-claimed", agent=result.ticket.claimed_by_name)
        else:
            flash = texts.get("agent-ticket-closed-toast", ticket=ticket_id)
    elif action == "close":
        _, closed = await escalation.close(ticket_id, who)
        flash = (
            texts.get("agent-closed-toast", ticket=ticket_id)
            if closed
            else texts.get("agent-ticket-closed-toast", ticket=ticket_id)
        )
    elif action == "reopen":
        _, refusal = await escalation.reopen(ticket_id, who)
        flash = refusal or f"Ticket #{ticket_id} reopened."
    else:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown action {action!r}")
    request.session["flash"] = flash
    return _back(ticket_id)

"""Assigning a ticket from the browser: the ticket page's "Assign to" form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bot.console.auth import ConsoleTexts, FormAgent
from bot.console.tickets import _back, _escalation, _ticket_or_404
from bot.services.escalation import Actor

router = APIRouter()


@router.post("/tickets/{ticket_id}/assign")
async def assign(
    request: Request,
    ticket_id: str,
    user: FormAgent,
    texts: ConsoleTexts,
    name: Annotated[str, Form()] = "",
) -> Response:
    """Give the ticket to the chosen account; a refusal is shown and changes nothing."""
    await _ticket_or_404(request, ticket_id, texts)
    ticket, refusal = await _escalation(request).assign(ticket_id, name, Actor(None, user))
    assignee = ticket.claimed_by_name if ticket is not None else name
    request.session["flash"] = refusal or texts.get(
        "console-assigned", ticket=ticket_id, agent=assignee
    )
    return _back(ticket_id)

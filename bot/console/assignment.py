"""Assigning a ticket from the browser: the ticket page's "Assign to" form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response

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


@router.post("/me/available")
async def set_available(
    request: Request,
    user: FormAgent,
    texts: ConsoleTexts,
    available: Annotated[str, Form()] = "",
) -> Response:
    """The signed-in agent marks themselves available (or away) for automatic assignment."""
    users = _escalation(request).stores.users
    if await users.get(user) is not None:  # the login from settings is no account
        on = available == "1"
        await users.set_available(user, on)
        request.session["flash"] = texts.get(
            "console-available-on" if on else "console-available-off"
        )
    return RedirectResponse("/tickets", status_code=status.HTTP_303_SEE_OTHER)

"""Canned replies in the console: operators list, add, edit and delete them (``/kb/canned``); the
ticket page offers them, rendered for its ticket, to insert into the reply box.

Every change goes through ``CannedReplies`` (validated; a refused one stores nothing and shows the
form again with what was typed and why).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from bot.console.auth import ConsoleTexts, FormAgent, Require, redirect_with_flash, render
from bot.console.refusals import FormAgain, back_on_refusal, on_refusal
from bot.services.canned import PLACEHOLDERS, CannedReplies, fill
from bot.store import Ticket
from bot.store.users import Role

router = APIRouter(prefix="/kb/canned", dependencies=[Depends(Require(Role.OPERATOR))])
PAGE = "/kb/canned"


def canned_replies(request: Request) -> CannedReplies:
    """Built per request from the stores and the agents' texts (it keeps no state of its own)."""
    services = request.app.state.services
    return CannedReplies(services.stores.canned, services.escalation.texts)


Canned = Annotated[CannedReplies, Depends(canned_replies)]


async def rendered_for(canned: CannedReplies, ticket: Ticket, agent: str) -> list[dict[str, Any]]:
    """Every canned reply as ``agent`` would send it in ``ticket`` (for the ticket page)."""
    return [
        {
            "name": r.name,
            "text": fill(r.text, customer=ticket.customer_name, agent=agent, ticket=ticket.id),
        }
        for r in await canned.list_all()
    ]


async def _page(request: Request, canned: CannedReplies) -> HTMLResponse:
    context = {"replies": await canned.list_all(), "new_name": "", "new_text": ""}
    return render(request, "kb_canned.html", **context, **_placeholders())


@router.get("", response_class=HTMLResponse)
async def canned_page(request: Request, canned: Canned) -> Response:
    return await _page(request, canned)


@router.post("")
async def save_canned(
    request: Request,
    canned: Canned,
    user: FormAgent,
    texts: ConsoleTexts,
    name: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    """Add a reply, or replace the one of that name."""
    context = {"replies": await canned.list_all(), "new_name": name, "new_text": text}
    on_refusal(request, FormAgain("kb_canned.html", context | _placeholders()))
    reply = await canned.save(name, text, user)
    return redirect_with_flash(request, PAGE, texts.get("console-canned-saved", name=reply.name))


@router.post("/{name}/delete", dependencies=[back_on_refusal(PAGE, "console-canned-not-deleted")])
async def delete_canned(
    request: Request, name: str, canned: Canned, user: FormAgent, texts: ConsoleTexts
) -> Response:
    await canned.delete(name)
    return redirect_with_flash(request, PAGE, texts.get("console-canned-deleted", name=name))


def _placeholders() -> dict[str, str]:
    return {"placeholders": ", ".join("{" + p + "}" for p in PLACEHOLDERS)}

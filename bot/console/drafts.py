"""Drafts for operators in the console (``/kb/drafts``): write a rewrite, product copy or an entry
from agents' answers; see each next to what it was written from; edit and approve, or discard.

Every draft is marked DRAFT and is never sent to a customer. A draft whose texts all fail the
grounding checks is shown as REFUSED, with why, and is not stored. Approval goes through
``DraftService`` (a rewrite edits its entry, an entry draft adds one: a new knowledge-base
version each); bad input (an unknown entry or style, no facts, a forged draft id) is refused with
the reason and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from bot.console.auth import Agent, ConsoleTexts, FormAgent, Require, redirect_with_flash, render
from bot.console.refusals import back_on_refusal
from bot.services.drafts import DraftService
from bot.services.knowledge import describe_commit
from bot.store.users import Role
from knowledge_base.drafts import Draft, DraftStatus
from models.drafting import ProductFacts, RewriteStyle

router = APIRouter(prefix="/kb/drafts", dependencies=[Depends(Require(Role.OPERATOR))])
PAGE = "/kb/drafts"


def include_drafts(app: FastAPI, drafts: DraftService) -> None:
    app.state.drafts = drafts
    app.include_router(router)


def _drafts(request: Request) -> DraftService:
    return request.app.state.drafts


Drafts = Annotated[DraftService, Depends(_drafts)]


def _who(user: str) -> str:
    return f"{user} (console)"


def _lines(text: str, sep: str) -> list[str]:
    return [part.strip() for part in text.replace("\r", "").split(sep) if part.strip()]


async def _written(request: Request, draft: Draft, texts) -> Response:
    """A stored draft: its page; a refused one: shown here, with why (422), nothing stored."""
    if draft.status is DraftStatus.REFUSED:
        response = render(request, "kb_draft.html", draft=draft)
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return response
    flash = texts.get("console-draft-written", id=draft.id)
    return redirect_with_flash(request, f"{PAGE}/{draft.id}", flash)


@router.get("", response_class=HTMLResponse)
async def drafts_page(request: Request, drafts: Drafts, user: Agent) -> Response:
    version, live = await drafts.knowledge.live()
    return render(
        request,
        "kb_drafts.html",
        drafts=await drafts.recent(),
        entries=[e.id for e in live],
        styles=[s.value for s in RewriteStyle],
        version=version,
    )


@router.post("/rewrite", dependencies=[back_on_refusal(PAGE, "console-draft-not-written")])
async def write_rewrite(
    request: Request,
    drafts: Drafts,
    user: FormAgent,
    texts: ConsoleTexts,
    entry_id: Annotated[str, Form()] = "",
    style: Annotated[str, Form()] = "",
) -> Response:
    return await _written(request, await drafts.rewrite(entry_id, style, _who(user)), texts)


@router.post("/copy", dependencies=[back_on_refusal(PAGE, "console-draft-not-written")])
async def write_copy(
    request: Request,
    drafts: Drafts,
    user: FormAgent,
    texts: ConsoleTexts,
    name: Annotated[str, Form()] = "",
    features: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
    offer: Annotated[str, Form()] = "",
) -> Response:
    """Features one a line (or separated by commas)."""
    facts = ProductFacts(
        " ".join(name.split()),
        tuple(f for line in _lines(features, "\n") for f in _lines(line, ",")),
        " ".join(price.split()),
        " ".join(offer.split()),
    )
    return await _written(request, await drafts.product_copy(facts, _who(user)), texts)


@router.post("/entry", dependencies=[back_on_refusal(PAGE, "console-draft-not-written")])
async def write_entry(
    request: Request, drafts: Drafts, user: FormAgent, texts: ConsoleTexts
) -> Response:
    return await _written(request, await drafts.entry_from_gaps(_who(user)), texts)


async def _stored(drafts: DraftService, draft_id: str, texts) -> Draft:
    draft = await drafts.store.get(draft_id)
    if draft is None:
        missing = texts.get("console-draft-missing", id=repr(draft_id[:40]))
        raise HTTPException(status.HTTP_404_NOT_FOUND, missing)
    return draft


@router.get("/{draft_id}", response_class=HTMLResponse)
async def draft_page(
    request: Request, drafts: Drafts, draft_id: str, user: Agent, texts: ConsoleTexts
) -> Response:
    return render(request, "kb_draft.html", draft=await _stored(drafts, draft_id, texts))


@router.post(
    "/{draft_id}/approve", dependencies=[back_on_refusal(PAGE, "console-draft-not-decided")]
)
async def approve_draft(
    request: Request,
    drafts: Drafts,
    draft_id: str,
    user: FormAgent,
    texts: ConsoleTexts,
    text: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    phrasings: Annotated[str | None, Form()] = None,
    entry_id: Annotated[str, Form()] = "",
) -> Response:
    """Approve with the operator's edits (the text, and for an entry its question, phrasings
    one a line, and id)."""
    wordings = _lines(phrasings, "\n") if phrasings is not None else None
    draft, result = await drafts.approve(
        draft_id, _who(user), text=text, question=question, phrasings=wordings, entry_id=entry_id
    )
    if result is None:
        flash = texts.get("console-draft-approved-copy", id=draft.id)
    else:
        commit = describe_commit(result, texts)
        flash = texts.get(
            "console-draft-approved", id=draft.id, entry=draft.entry_id, commit=commit
        )
    return redirect_with_flash(request, f"{PAGE}/{draft.id}", flash)


@router.post(
    "/{draft_id}/discard", dependencies=[back_on_refusal(PAGE, "console-draft-not-decided")]
)
async def discard_draft(
    request: Request, drafts: Drafts, draft_id: str, user: FormAgent, texts: ConsoleTexts
) -> Response:
    draft = await drafts.discard(draft_id, _who(user))
    return redirect_with_flash(request, PAGE, texts.get("console-draft-discarded", id=draft.id))

"""Knowledge-base pages of the console: entries, import, history / diff / rollback, suggestions, gaps,
out-of-scope questions.

Every change goes through ``KnowledgeService`` (a new version recorded with the console user's
name); the running bot processes pick it up within seconds. A change route declares where a
refusal goes (``on_refusal``), calls the service and redirects; ``FormAgent`` checks the form's
CSRF token and ``bot.console.refusals`` shows a refused change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from bot.console.auth import Agent, ConsoleTexts, FormAgent, redirect_with_flash, render
from bot.console.refusals import BackTo, FormAgain, back_on_refusal, on_refusal
from bot.i18n import TextSource
from bot.services.knowledge import KnowledgeService, describe_commit
from knowledge_base.formats import EXPORT_FORMATS
from knowledge_base.loaders import KnowledgeBaseError
from knowledge_base.model import text_key

router = APIRouter(prefix="/kb")
GAP_PHRASINGS = 10  # a content-gap cluster's wordings offered as phrasings of a new entry


def include_kb(app: FastAPI, knowledge: KnowledgeService) -> None:
    """Add the knowledge-base pages to the console app."""
    app.state.knowledge = knowledge
    app.state.kb_enabled = True
    app.include_router(router)


def _knowledge(request: Request) -> KnowledgeService:
    return request.app.state.knowledge


Knowledge = Annotated[KnowledgeService, Depends(_knowledge)]


def _who(user: str) -> str:
    return f"{user} (console)"


def _members(raw: str, texts: TextSource) -> list[str]:
    """A content-gap cluster's questions, sent as one JSON list (a cluster may hold hundreds)."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, list) or not all(isinstance(m, str) for m in data):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, texts.get("console-members-invalid"))
    return data


def _lines(text: str, sep: str) -> list[str]:
    return [part.strip() for part in text.replace("\r", "").split(sep) if part.strip()]


@router.get("", response_class=HTMLResponse)
async def entries_page(request: Request, kb: Knowledge, user: Agent, q: str = "") -> Response:
    version, live = await kb.live()
    needle = q.lower().strip()
    entries = [
        e
        for e in live
        if not needle
        or needle in e.id.lower()
        or any(needle in p.lower() for p in e.phrasings)
        or needle in e.answer.lower()
    ]
    return render(
        request,
        "kb_entries.html",
        version=version,
        entries=entries,
        q=q,
        total=len(live),
        formats=EXPORT_FORMATS,
    )


@router.get("/export/{fmt}")
async def export(
    request: Request, kb: Knowledge, fmt: str, user: Agent, texts: ConsoleTexts
) -> Response:
    if fmt not in EXPORT_FORMATS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, texts.get("console-unknown-format", format=repr(fmt))
        )
    version, _ = await kb.live()
    text = await kb.export(fmt, version)
    return PlainTextResponse(
        text,
        headers={"Content-Disposition": f'attachment; filename="knowledge-base-v{version}.{fmt}"'},
    )


@router.get("/entries/new", response_class=HTMLResponse)
async def new_entry_page(
    request: Request, user: Agent, question: str = "", answer: str = ""
) -> Response:
    return render(
        request, "kb_entry.html", entry=None, question=question, answer=answer, errors=[]
    )


@router.post("/entries/draft", response_class=HTMLResponse)
async def entry_from_gap(
    request: Request,
    user: FormAgent,
    texts: ConsoleTexts,
    question: Annotated[str, Form()] = "",
    members: Annotated[str, Form()] = "",
) -> Response:
    """The new-entry form for a content-gap cluster: the customers' other wordings (the most
    typical ones) are offered as phrasings, and the cluster leaves the report once the entry is
    added. A POST, as a large cluster's questions do not fit in a URL."""
    cluster = _members(members, texts)
    others = [m for m in cluster if text_key(m) != text_key(question)]
    return render(
        request,
        "kb_entry.html",
        entry=None,
        question=question,
        answer="",
        alternatives="\n".join(others[:GAP_PHRASINGS]),
        members=cluster,
        errors=[],
    )


@router.post("/entries")
async def add_entry(
    request: Request,
    kb: Knowledge,
    user: FormAgent,
    texts: ConsoleTexts,
    entry_id: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    alternatives: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    members: Annotated[str, Form()] = "",
) -> Response:
    cluster = _members(members, texts)
    typed = {"entry_id": entry_id, "question": question, "answer": answer, "tags": tags}
    context = {**typed, "entry": None, "alternatives": alternatives, "members": cluster}
    on_refusal(request, FormAgain("kb_entry.html", context))
    result = await kb.add_entry(
        entry_id.strip(),
        question,
        answer,
        _who(user),
        alternatives=_lines(alternatives, "\n"),
        tags=_lines(tags, ","),
    )
    if cluster:
        await kb.dismiss_gap(cluster)
    flash = describe_commit(result, texts)
    return redirect_with_flash(request, f"/kb/entries/{entry_id.strip()}", flash)


@router.get("/entries/{entry_id}", response_class=HTMLResponse)
async def entry_page(
    request: Request, kb: Knowledge, entry_id: str, user: Agent, texts: ConsoleTexts
) -> Response:
    version, live = await kb.live()
    entry = live.get(entry_id)
    if entry is None:
        missing = texts.get("console-no-entry", id=repr(entry_id), version=str(version))
        raise HTTPException(status.HTTP_404_NOT_FOUND, missing)
    return render(request, "kb_entry.html", entry=entry, version=version, errors=[])


@router.post("/entries/{entry_id}")
async def edit_entry(
    request: Request,
    kb: Knowledge,
    entry_id: str,
    user: FormAgent,
    texts: ConsoleTexts,
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    alternatives: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
) -> Response:
    draft = {"question": question, "answer": answer, "alternatives": alternatives, "tags": tags}
    on_refusal(request, EditAgain(entry_id, draft))
    result = await kb.edit_entry(
        entry_id,
        _who(user),
        question=question,
        answer=answer,
        alternatives=_lines(alternatives, "\n"),
        tags=_lines(tags, ","),
    )
    return redirect_with_flash(request, f"/kb/entries/{entry_id}", describe_commit(result, texts))


@dataclass(frozen=True, slots=True)
class EditAgain:
    """A refused edit: the entry's form again with what was typed (so nothing is lost while it is
    fixed), or back to the list when the entry is gone (nothing to show the draft against)."""

    entry_id: str
    draft: dict[str, str]

    async def respond(self, request: Request, problems: list[str]) -> Response:
        version, live = await _knowledge(request).live()
        entry = live.get(self.entry_id)
        if entry is None:
            return await BackTo("/kb", "console-not-saved").respond(request, problems)
        context = {"entry": entry, "version": version, "draft": self.draft}
        return await FormAgain("kb_entry.html", context).respond(request, problems)


@router.post(
    "/entries/{entry_id}/delete", dependencies=[back_on_refusal("/kb", "console-not-deleted")]
)
async def delete_entry(
    request: Request, kb: Knowledge, entry_id: str, user: FormAgent, texts: ConsoleTexts
) -> Response:
    result = await kb.delete_entry(entry_id, _who(user))
    return redirect_with_flash(request, "/kb", describe_commit(result, texts))


@router.post("/import", response_class=HTMLResponse)
async def import_file(
    request: Request,
    kb: Knowledge,
    user: FormAgent,
    texts: ConsoleTexts,
    file: UploadFile,
    replace: Annotated[str, Form()] = "",
) -> Response:
    name = file.filename or "upload"
    on_refusal(request, FormAgain("kb_import.html", {"filename": name, "report": None}))
    data = await file.read()
    report = await kb.import_bytes(data, name, _who(user), replace=bool(replace))
    return render(
        request,
        "kb_import.html",
        filename=name,
        errors=[],
        report=report,
        summary=describe_commit(report.result, texts),
    )


@router.get("/history", response_class=HTMLResponse)
async def history_page(
    request: Request, kb: Knowledge, user: Agent, a: int | None = None, b: int | None = None
) -> Response:
    versions = await kb.history(50)
    diff, error = None, None
    if a is not None and b is not None:
        try:
            diff = await kb.diff(a, b)
        except KnowledgeBaseError as exc:
            error = "; ".join(exc.problems)
    return render(request, "kb_history.html", versions=versions, diff=diff, a=a, b=b, error=error)


@router.post("/rollback", dependencies=[back_on_refusal("/kb/history", "console-not-rolled-back")])
async def rollback(
    request: Request,
    kb: Knowledge,
    user: FormAgent,
    texts: ConsoleTexts,
    version: Annotated[int, Form()] = 0,
) -> Response:
    result = await kb.rollback(version, _who(user))
    return redirect_with_flash(request, "/kb/history", describe_commit(result, texts))


@router.get("/suggestions", response_class=HTMLResponse)
async def suggestions_page(request: Request, kb: Knowledge, user: Agent) -> Response:
    pending = await kb.pending_suggestions()
    return render(request, "kb_suggestions.html", pending=pending, draft=None)


@router.get("/suggestions/new", response_class=HTMLResponse)
async def new_suggestion_page(
    request: Request, kb: Knowledge, user: Agent, ticket: str = ""
) -> Response:
    """The "add to knowledge base" form, prefilled from a ticket's customer words and agent reply."""
    draft = await kb.kb_draft(ticket) if ticket else None
    question, answer = draft or ("", "")
    pending = await kb.pending_suggestions()
    return render(
        request,
        "kb_suggestions.html",
        pending=pending,
        draft={"ticket": ticket, "question": question, "answer": answer},
    )


@router.post("/suggestions", dependencies=[back_on_refusal("/kb/suggestions")])
async def create_suggestion(
    request: Request,
    kb: Knowledge,
    user: FormAgent,
    texts: ConsoleTexts,
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
) -> Response:
    suggestion = await kb.suggest(question, answer, _who(user), ticket_id=ticket)
    flash = texts.get("console-suggestion-pending", id=suggestion.id)
    return redirect_with_flash(request, "/kb/suggestions", flash)


@router.post(
    "/suggestions/{suggestion_id}/approve", dependencies=[back_on_refusal("/kb/suggestions")]
)
async def approve(
    request: Request,
    kb: Knowledge,
    suggestion_id: str,
    user: FormAgent,
    texts: ConsoleTexts,
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    entry_id: Annotated[str, Form()] = "",
) -> Response:
    suggestion, result = await kb.approve(
        suggestion_id,
        _who(user),
        entry_id=entry_id.strip() or None,
        question=question or None,
        answer=answer or None,
    )
    flash = texts.get(
        "console-suggestion-approved",
        id=suggestion.id,
        entry=suggestion.entry_id,
        commit=describe_commit(result, texts),
    )
    return redirect_with_flash(request, "/kb/suggestions", flash)


@router.post(
    "/suggestions/{suggestion_id}/reject", dependencies=[back_on_refusal("/kb/suggestions")]
)
async def reject(
    request: Request, kb: Knowledge, suggestion_id: str, user: FormAgent, texts: ConsoleTexts
) -> Response:
    await kb.reject(suggestion_id, _who(user))
    flash = texts.get("kb-suggestion-rejected", id=suggestion_id)
    return redirect_with_flash(request, "/kb/suggestions", flash)


@router.get("/gaps", response_class=HTMLResponse)
async def gaps_page(request: Request, kb: Knowledge, user: Agent) -> Response:
    clusters = await kb.gap_report()
    return render(request, "kb_gaps.html", clusters=clusters)


@router.get("/out-of-scope", response_class=HTMLResponse)
async def out_of_scope_page(request: Request, kb: Knowledge, user: Agent) -> Response:
    version, live = await kb.live()
    return render(request, "kb_out_of_scope.html", version=version, questions=live.out_of_scope)


@router.post("/out-of-scope")
async def add_out_of_scope(
    request: Request,
    kb: Knowledge,
    user: FormAgent,
    texts: ConsoleTexts,
    question: Annotated[str, Form()] = "",
    members: Annotated[str, Form()] = "",
) -> Response:
    """Record a question no entry answers (from this page, or for a content-gap cluster, whose
    questions, ``members``, then leave the report)."""
    cluster = _members(members, texts)
    page = "/kb/gaps" if cluster else "/kb/out-of-scope"
    on_refusal(request, BackTo(page, "console-not-added"))
    result = await kb.add_out_of_scope(question, _who(user))
    if cluster:
        await kb.dismiss_gap(cluster)
    return redirect_with_flash(request, page, describe_commit(result, texts))


@router.post("/gaps/dismiss")
async def dismiss_gap(
    request: Request,
    kb: Knowledge,
    user: FormAgent,
    texts: ConsoleTexts,
    members: Annotated[str, Form()] = "",
) -> Response:
    """Take a content-gap cluster out of the report (handled, or not worth an entry)."""
    removed = await kb.dismiss_gap(_members(members, texts))
    flash = texts.get("console-gap-dismissed", removed=str(removed))
    return redirect_with_flash(request, "/kb/gaps", flash)


@router.post(
    "/out-of-scope/remove",
    dependencies=[back_on_refusal("/kb/out-of-scope", "console-not-removed")],
)
async def remove_out_of_scope(
    request: Request,
    kb: Knowledge,
    user: FormAgent,
    texts: ConsoleTexts,
    question: Annotated[str, Form()] = "",
) -> Response:
    result = await kb.remove_out_of_scope(question, _who(user))
    return redirect_with_flash(request, "/kb/out-of-scope", describe_commit(result, texts))


@router.get("/check", response_class=HTMLResponse)
async def check_page(request: Request, kb: Knowledge, user: Agent) -> Response:
    issues = await kb.check()
    return render(request, "kb_check.html", issues=issues)


@router.post("/retrain")
async def retrain(
    request: Request, kb: Knowledge, user: FormAgent, texts: ConsoleTexts
) -> Response:
    await kb.request_retrain(_who(user))
    return redirect_with_flash(request, "/kb", texts.get("console-retrain-requested"))

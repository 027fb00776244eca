"""Knowledge-base pages of the console: entries, import, history / diff / rollback, suggestions, gaps,
out-of-scope questions.

Every change goes through ``KnowledgeService`` (a new version recorded with the console user's
name); the running bot processes pick it up within seconds. A change route takes a ``KbChange``
(the service, the author, the texts; its ``FormAgent`` checks the form's CSRF token), declares
where a refusal goes (``on_refusal``), calls the service and redirects with what happened
(``change.committed``); ``bot.console.refusals`` shows a refused change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from bot.console.auth import (
    Agent,
    ConsoleTexts,
    FormAgent,
    Require,
    redirect_with_flash,
    render,
)
from bot.console.refusals import BackTo, FormAgain, back_on_refusal, on_refusal
from bot.i18n import Texts, TextSource
from bot.services.knowledge import KnowledgeService, describe_commit
from bot.services.learning import LearningService, undo_learned
from bot.store.users import Role
from knowledge_base.formats import EXPORT_FORMATS
from knowledge_base.loaders import KnowledgeBaseError
from knowledge_base.model import text_key
from knowledge_base.store import CommitResult

router = APIRouter(prefix="/kb", dependencies=[Depends(Require(Role.OPERATOR))])
GAP_PHRASINGS = 10  # a content-gap cluster's wordings offered as phrasings of a new entry


def include_kb(
    app: FastAPI, knowledge: KnowledgeService, learning: LearningService | None = None
) -> None:
    """Add the knowledge-base pages to the console app (/kb/learned with ``learning``)."""
    app.state.knowledge = knowledge
    app.state.learning = learning
    app.state.kb_enabled = True
    app.include_router(router)


def _knowledge(request: Request) -> KnowledgeService:
    return request.app.state.knowledge


Knowledge = Annotated[KnowledgeService, Depends(_knowledge)]


@dataclass(frozen=True, slots=True)
class Change:
    """A form post that changes the knowledge base: the service, who asks (the new version's
    author), the texts, and the redirect that says what happened."""

    request: Request
    kb: KnowledgeService
    who: str
    texts: Texts

    def done(self, page: str, flash: str) -> Response:
        """See other ``page``, which shows ``flash`` once."""
        return redirect_with_flash(self.request, page, flash)

    def committed(self, page: str, result: CommitResult) -> Response:
        """See other ``page``, which says what the new version changed (or that nothing did)."""
        return self.done(page, describe_commit(result, self.texts))


def _change(request: Request, kb: Knowledge, user: FormAgent, texts: ConsoleTexts) -> Change:
    return Change(request, kb, f"{user} (console)", texts)


KbChange = Annotated[Change, Depends(_change)]


@dataclass(frozen=True, slots=True)
class EntryForm:
    """What the entry form sends: alternatives one a line, tags separated by commas."""

    question: str
    answer: str
    alternatives: str
    tags: str

    def fields(self) -> dict[str, object]:
        """The entry's fields as ``KnowledgeService`` takes them."""
        return {
            "question": self.question,
            "answer": self.answer,
            "alternatives": _lines(self.alternatives, "\n"),
            "tags": _lines(self.tags, ","),
        }


def _entry_form(
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    alternatives: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
) -> EntryForm:
    return EntryForm(question, answer, alternatives, tags)


TypedEntry = Annotated[EntryForm, Depends(_entry_form)]


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
    change: KbChange,
    typed: TypedEntry,
    entry_id: Annotated[str, Form()] = "",
    members: Annotated[str, Form()] = "",
) -> Response:
    cluster = _members(members, change.texts)
    context = {"entry_id": entry_id, **asdict(typed), "entry": None, "members": cluster}
    on_refusal(change.request, FormAgain("kb_entry.html", context))
    result = await change.kb.add_entry(entry_id.strip(), author=change.who, **typed.fields())
    if cluster:
        await change.kb.dismiss_gap(cluster)
    return change.committed(f"/kb/entries/{entry_id.strip()}", result)


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
async def edit_entry(change: KbChange, entry_id: str, typed: TypedEntry) -> Response:
    on_refusal(change.request, EditAgain(entry_id, asdict(typed)))
    result = await change.kb.edit_entry(entry_id, change.who, **typed.fields())
    return change.committed(f"/kb/entries/{entry_id}", result)


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
async def delete_entry(change: KbChange, entry_id: str) -> Response:
    return change.committed("/kb", await change.kb.delete_entry(entry_id, change.who))


@router.post("/import", response_class=HTMLResponse)
async def import_file(
    change: KbChange, file: UploadFile, replace: Annotated[str, Form()] = ""
) -> Response:
    name = file.filename or "upload"
    on_refusal(change.request, FormAgain("kb_import.html", {"filename": name, "report": None}))
    data = await file.read()
    report = await change.kb.import_bytes(data, name, change.who, replace=bool(replace))
    return render(
        change.request,
        "kb_import.html",
        filename=name,
        errors=[],
        report=report,
        summary=describe_commit(report.result, change.texts),
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
async def rollback(change: KbChange, version: Annotated[int, Form()] = 0) -> Response:
    return change.committed("/kb/history", await change.kb.rollback(version, change.who))


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
    change: KbChange,
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
) -> Response:
    suggestion = await change.kb.suggest(question, answer, change.who, ticket_id=ticket)
    flash = change.texts.get("console-suggestion-pending", id=suggestion.id)
    return change.done("/kb/suggestions", flash)


@router.post(
    "/suggestions/{suggestion_id}/approve", dependencies=[back_on_refusal("/kb/suggestions")]
)
async def approve(
    change: KbChange,
    suggestion_id: str,
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    entry_id: Annotated[str, Form()] = "",
) -> Response:
    suggestion, result = await change.kb.approve(
        suggestion_id,
        change.who,
        entry_id=entry_id.strip() or None,
        question=question or None,
        answer=answer or None,
    )
    flash = change.texts.get(
        "console-suggestion-approved",
        id=suggestion.id,
        entry=suggestion.entry_id,
        commit=describe_commit(result, change.texts),
    )
    return change.done("/kb/suggestions", flash)


@router.post(
    "/suggestions/{suggestion_id}/reject", dependencies=[back_on_refusal("/kb/suggestions")]
)
async def reject(change: KbChange, suggestion_id: str) -> Response:
    await change.kb.reject(suggestion_id, change.who)
    flash = change.texts.get("kb-suggestion-rejected", id=suggestion_id)
    return change.done("/kb/suggestions", flash)


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
    change: KbChange,
    question: Annotated[str, Form()] = "",
    members: Annotated[str, Form()] = "",
) -> Response:
    """Record a question no entry answers (from this page, or for a content-gap cluster, whose
    questions, ``members``, then leave the report)."""
    cluster = _members(members, change.texts)
    page = "/kb/gaps" if cluster else "/kb/out-of-scope"
    on_refusal(change.request, BackTo(page, "console-not-added"))
    result = await change.kb.add_out_of_scope(question, change.who)
    if cluster:
        await change.kb.dismiss_gap(cluster)
    return change.committed(page, result)


@router.post("/gaps/dismiss")
async def dismiss_gap(change: KbChange, members: Annotated[str, Form()] = "") -> Response:
    """Take a content-gap cluster out of the report (handled, or not worth an entry)."""
    removed = await change.kb.dismiss_gap(_members(members, change.texts))
    return change.done("/kb/gaps", change.texts.get("console-gap-dismissed", removed=str(removed)))


@router.post(
    "/out-of-scope/remove",
    dependencies=[back_on_refusal("/kb/out-of-scope", "console-not-removed")],
)
async def remove_out_of_scope(change: KbChange, question: Annotated[str, Form()] = "") -> Response:
    result = await change.kb.remove_out_of_scope(question, change.who)
    return change.committed("/kb/out-of-scope", result)


@router.get("/check", response_class=HTMLResponse)
async def check_page(request: Request, kb: Knowledge, user: Agent) -> Response:
    issues = await kb.check()
    return render(request, "kb_check.html", issues=issues)


@router.post("/retrain")
async def retrain(change: KbChange) -> Response:
    await change.kb.request_retrain(change.who)
    return change.done("/kb", change.texts.get("console-retrain-requested"))


# ------------------------------------------------------------------ learned phrasings


def _learning(request: Request, texts: ConsoleTexts) -> LearningService:
    learning = request.app.state.learning
    if learning is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, texts.get("console-learning-off"))
    return learning


Learning = Annotated[LearningService, Depends(_learning)]


@router.get("/learned", response_class=HTMLResponse)
async def learned_page(request: Request, learning: Learning, user: Agent) -> Response:
    """What was learned from confirmed answers, newest first, with an undo button each."""
    records = await learning.learned(200)
    return render(request, "kb_learned.html", records=records, stats=await learning.stats())


@router.post(
    "/learned/{learned_id}/undo",
    dependencies=[back_on_refusal("/kb/learned", "console-not-undone")],
)
async def undo_learned_phrasing(change: KbChange, learning: Learning, learned_id: str) -> Response:
    """Take a learned phrasing out (a new version); one an operator changed meanwhile is left."""
    return change.done(
        "/kb/learned", await undo_learned(learning, learned_id, change.who, change.texts)
    )

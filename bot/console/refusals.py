"""How the console answers a refused change: one exception handler for every route.

A route that changes something says where a refusal goes, then just calls the service and
redirects. It says so in its decorator when the place is fixed, in its body when it depends on
what was sent (a form shown again with what was typed)::

    refused = back_on_refusal("/kb/history", "console-not-rolled-back")

    @router.post("/rollback", dependencies=[refused])
    async def rollback(change: KbChange, version: Annotated[int, Form()] = 0) -> Response:
        return change.committed("/kb/history", await change.kb.rollback(version, change.who))

    on_refusal(change.request, FormAgain("kb_import.html", {"filename": name, "report": None}))

When the service raises a ``UserFacingError`` (a ``KnowledgeBaseError`` or ``KbEditError``, say),
``show_refusal``, registered once in ``create_app``, answers as the route declared: ``BackTo``
(the problems become the flash on a page, 303, worded by a ``console.ftl`` key that takes
``$problems``) or ``FormAgain`` (the form once more, 422, with what was typed and the problems). A
route that declared nothing answers 400 with the problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Depends, HTTPException, Request, params, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response

from bot.console.auth import console_texts, redirect_with_flash, render
from bot.errors import UserFacingError


class Refusal(Protocol):
    """What a route shows when the change it asked for is refused."""

    async def respond(self, request: Request, problems: list[str]) -> Response: ...


@dataclass(frozen=True, slots=True)
class BackTo:
    """Back to ``page``, whose flash is the problems, worded by the text ``refused`` if given."""

    page: str
    refused: str | None = None  # a console.ftl key with $problems, e.g. "console-not-deleted"

    async def respond(self, request: Request, problems: list[str]) -> Response:
        flash = "; ".join(problems)
        if self.refused is not None:
            flash = console_texts(request).get(self.refused, problems=flash)
        return redirect_with_flash(request, self.page, flash)


@dataclass(frozen=True, slots=True)
class FormAgain:
    """``template`` rendered again with ``context`` (what was typed) and the problems as ``errors``."""

    template: str
    context: dict[str, Any]

    async def respond(self, request: Request, problems: list[str]) -> Response:
        response = render(request, self.template, **self.context, errors=problems)
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return response


def on_refusal(request: Request, refusal: Refusal) -> None:
    """Declare what this request shows if the change it asks for is refused."""
    request.state.refusal = refusal


def back_on_refusal(page: str, refused: str | None = None) -> params.Depends:
    """A route dependency declaring ``BackTo(page, refused)`` (for a route's ``dependencies``)."""
    refusal = BackTo(page, refused)

    def declare(request: Request) -> None:
        on_refusal(request, refusal)

    return Depends(declare)


async def show_refusal(request: Request, exc: Exception) -> Response:
    """The exception handler for ``UserFacingError``: the refusal the route declared."""
    problems = exc.problems if isinstance(exc, UserFacingError) else [str(exc)]
    refusal: Refusal | None = getattr(request.state, "refusal", None)
    if refusal is None:
        detail = "; ".join(problems)
        return await http_exception_handler(request, HTTPException(400, detail))
    return await refusal.respond(request, problems)

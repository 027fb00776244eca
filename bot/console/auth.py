"""Console login: one username / password from settings, a signed session cookie, CSRF tokens.

Routes declare who may call them with ``Agent`` (a logged-in user: pages) or ``FormAgent`` (a
logged-in user whose form carries this session's CSRF token: every POST that changes something),
and take what they say from ``ConsoleTexts``.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.i18n import Texts

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def console_texts(request: Request) -> Texts:
    """Dependency: the console's texts; every agent gets the catalog's default language for now
    (choosing it per agent, from the browser's language say, is a change here only)."""
    return request.app.state.services.catalog.texts()


ConsoleTexts = Annotated[Texts, Depends(console_texts)]


class LoginRequired(HTTPException):
    def __init__(self, request: Request) -> None:
        if request.url.path.startswith("/api/"):
            texts = console_texts(request)
            super().__init__(status.HTTP_401_UNAUTHORIZED, texts.get("console-log-in-first"))
        else:
            super().__init__(status.HTTP_303_SEE_OTHER, headers={"Location": "/login"})


def require_agent(request: Request) -> str:
    """Dependency: the logged-in console user's name, or a redirect to the login page."""
    user = request.session.get("user")
    if not user:
        raise LoginRequired(request)
    return user


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


Agent = Annotated[str, Depends(require_agent)]


def require_form(
    request: Request, user: Agent, texts: ConsoleTexts, csrf: Annotated[str, Form()] = ""
) -> str:
    """Dependency: the logged-in user of a form post whose CSRF token is this session's (403)."""
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(expected, csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, texts.get("console-form-expired"))
    return user


FormAgent = Annotated[str, Depends(require_form)]


def render(request: Request, name: str, **context: object) -> HTMLResponse:
    context.setdefault("user", request.session.get("user"))
    context.setdefault("kb_enabled", getattr(request.app.state, "kb_enabled", False))
    context["csrf"] = csrf_token(request)
    context["flash"] = request.session.pop("flash", None)
    return templates.TemplateResponse(request, name, context)


def redirect_with_flash(request: Request, path: str, flash: str) -> RedirectResponse:
    """See other ``path``, which shows ``flash`` once (what happened, or why not)."""
    request.session["flash"] = flash
    return RedirectResponse(path, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return render(request, "login.html", error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, texts: ConsoleTexts, username: str = Form(""), password: str = Form("")
) -> Response:
    console = request.app.state.settings.console
    expected = console.password.get_secret_value()
    ok_user = hmac.compare_digest(username.encode(), console.username.encode())
    ok_pass = hmac.compare_digest(password.encode(), expected.encode())
    if not (ok_user and ok_pass):
        response = render(request, "login.html", error=texts.get("console-wrong-login"))
        response.status_code = status.HTTP_401_UNAUTHORIZED
        return response
    request.session.clear()
    request.session["user"] = console.username
    return RedirectResponse("/dashboard", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)

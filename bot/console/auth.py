"""Console login: team accounts (``supportbot users``) or the one login from settings, a signed
session cookie, roles, CSRF tokens, and failed logins throttled.

Routes declare who may call them with ``Agent`` (a signed-in person's name: pages) or ``FormAgent``
(the same, for a form that carries this session's CSRF token: every POST that changes something);
``SignedIn`` gives the whole ``ConsoleUser`` (name and role). A route or router that needs more
than the agent role adds ``Depends(Require(Role.OPERATOR))`` (403, a clear page, otherwise). What
they say comes from ``ConsoleTexts``.

Every request of an account's session checks the account in Redis: a disabled account, or one whose
role or password changed since the session began (its ``epoch`` grew), is logged out. The login
from settings (``CONSOLE__USERNAME`` / ``CONSOLE__PASSWORD``) signs in as an admin unless an
account of that name exists, which then takes over. Sessions end after ``SESSION_HOURS``, checked
on the server too.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from limits import parse

from bot.i18n import Texts
from bot.store.users import Role

SESSION_HOURS = 12
LOGIN_LIMIT = parse("5 per 15 minutes")  # failed logins per username and per client address

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["utc"] = lambda seconds: datetime.fromtimestamp(seconds, UTC).strftime(
    "%Y-%m-%d %H:%M:%S"
)


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


class Forbidden(HTTPException):
    """The signed-in person's role may not do this (shown as a page by ``show_forbidden``)."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """Who is signed in: the account's name (recorded with what they do) and its role."""

    name: str
    role: Role


def _end_session(request: Request, flash: str | None) -> LoginRequired:
    request.session.clear()
    if flash:
        request.session["flash"] = flash
    return LoginRequired(request)


async def signed_in(request: Request) -> ConsoleUser:
    """Dependency: who is signed in, checked against the stored account, or off to /login."""
    session = request.session
    name = session.get("user")
    if not name:
        raise LoginRequired(request)
    texts = console_texts(request)
    if time.time() - float(session.get("since") or 0) > SESSION_HOURS * 3600:
        raise _end_session(request, texts.get("console-log-in-first"))
    account = await request.app.state.services.stores.users.get(name.lower())
    if session.get("legacy"):
        if account is not None:  # an account of that name has taken the settings login over
            raise _end_session(request, texts.get("console-session-ended"))
        return ConsoleUser(name, Role.ADMIN)
    if account is None or account.disabled or account.epoch != session.get("epoch"):
        raise _end_session(request, texts.get("console-session-ended"))
    return ConsoleUser(account.name, account.role)


SignedIn = Annotated[ConsoleUser, Depends(signed_in)]


def require_agent(user: SignedIn) -> str:
    """Dependency: the signed-in person's name, or a redirect to the login page."""
    return user.name


class Require:
    """Dependency: the signed-in person if their role allows ``role`` (``Forbidden`` otherwise)."""

    def __init__(self, role: Role) -> None:
        self.role = role

    def __call__(self, user: SignedIn, texts: ConsoleTexts) -> ConsoleUser:
        if not user.role.allows(self.role):
            raise Forbidden(
                status.HTTP_403_FORBIDDEN, texts.get("console-forbidden", role=user.role)
            )
        return user


async def show_forbidden(request: Request, exc: Exception) -> Response:
    """The exception handler for ``Forbidden``: a page saying so (JSON under /api/)."""
    detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=status.HTTP_403_FORBIDDEN)
    response = render(request, "forbidden.html", message=detail)
    response.status_code = status.HTTP_403_FORBIDDEN
    return response


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
    role = Role(request.session.get("role") or Role.AGENT)
    kb_enabled = getattr(request.app.state, "kb_enabled", False)
    context.setdefault("kb_enabled", kb_enabled and role.allows(Role.OPERATOR))
    context.setdefault("is_admin", bool(context["user"]) and role.allows(Role.ADMIN))
    context.setdefault("is_operator", bool(context["user"]) and role.allows(Role.OPERATOR))
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
    limiter = request.app.state.login_limiter
    address = request.client.host if request.client else "-"
    counters = (f"name:{username.strip().lower()}", f"address:{address}")
    for counter in counters:
        if not await limiter.test(LOGIN_LIMIT, counter):
            stats = await limiter.get_window_stats(LOGIN_LIMIT, counter)
            minutes = max(1, math.ceil((stats.reset_time - time.time()) / 60))
            error = texts.get("console-too-many-logins", minutes=str(minutes))
            response = render(request, "login.html", error=error)
            response.status_code = status.HTTP_429_TOO_MANY_REQUESTS
            return response
    account = await request.app.state.accounts.authenticate(username, password)
    if account is not None:
        signed = {"user": account.name, "role": account.role.value, "epoch": account.epoch}
    elif await _settings_login(request, username, password):
        signed = {"user": username, "role": Role.ADMIN.value, "legacy": True}
    else:
        for counter in counters:
            await limiter.hit(LOGIN_LIMIT, counter)
        response = render(request, "login.html", error=texts.get("console-wrong-login"))
        response.status_code = status.HTTP_401_UNAUTHORIZED
        return response
    request.session.clear()
    request.session.update(signed, since=time.time())
    return RedirectResponse("/dashboard", status_code=status.HTTP_303_SEE_OTHER)


async def _settings_login(request: Request, username: str, password: str) -> bool:
    """The login from settings, unless an account of that name has taken it over."""
    console = request.app.state.settings.console
    if console.password is None or not console.password.get_secret_value():
        return False
    ok_user = hmac.compare_digest(username.encode(), console.username.encode())
    ok_pass = hmac.compare_digest(password.encode(), console.password.get_secret_value().encode())
    if not (ok_user and ok_pass):
        return False
    return await request.app.state.services.stores.users.get(username.lower()) is None


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)

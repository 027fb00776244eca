"""The agents' web console (FastAPI): login, the live ticket queue, transcripts, reply / claim / close,
the knowledge base and canned replies (operators) and the team's accounts (admins).

``create_app(services, settings)`` builds the app; feature routers are added with
``app.include_router``. Routes reach the product through ``request.app.state.services``
(a ``ConsoleServices``) and protect themselves with ``Agent`` / ``FormAgent`` (login, CSRF) and
``Require(role)``; what
they say comes from the catalog through ``ConsoleTexts`` (``console.ftl``); a refused change (a
``UserFacingError``) is answered by ``refusals.show_refusal``, registered here.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.middleware.sessions import SessionMiddleware

from bot.console import assignment, auth, canned, dashboard, prometheus, tickets, users
from bot.console.auth import Forbidden, show_forbidden
from bot.console.refusals import show_refusal
from bot.errors import ConfigurationError, UserFacingError
from bot.i18n import Catalog
from bot.services.accounts import AccountService
from bot.services.escalation import EscalationService
from bot.settings import Settings
from bot.store import Stores
from bot.store.connection import limits_storage

log = logging.getLogger(__name__)


@dataclass
class ConsoleServices:
    """What console routes may use; ``extra`` holds services other features add (e.g. the KB)."""

    stores: Stores
    escalation: EscalationService
    catalog: Catalog
    extra: dict[str, Any] = field(default_factory=dict)


def create_app(
    services: ConsoleServices, settings: Settings, *, has_accounts: bool = False
) -> FastAPI:
    """The console app; raises ConfigurationError if nobody could log in: no login in settings
    and (``has_accounts`` False) no team account in Redis."""
    console = settings.console
    legacy = console.password is not None and bool(console.password.get_secret_value())
    if not legacy and not has_accounts:
        raise ConfigurationError(
            "CONSOLE__PASSWORD: not set and no console accounts yet; the agents' console needs a "
            "login: add an admin with `supportbot users add NAME --role admin`, or set "
            "CONSOLE__USERNAME (default 'agent') and CONSOLE__PASSWORD"
        )
    if console.secret_key is not None:
        secret = console.secret_key.get_secret_value()
    else:
        secret = secrets.token_urlsafe(32)
        log.info("CONSOLE__SECRET_KEY not set: sessions end when the console restarts")
    app = FastAPI(title="Support console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.state.settings = settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="supportbot_console",
        max_age=auth.SESSION_HOURS * 3600,
        same_site="strict",
    )
    app.state.accounts = AccountService(services.stores.users, services.catalog.texts())
    app.state.login_limiter = MovingWindowRateLimiter(
        limits_storage(services.stores.redis, services.stores.keys.login_limits())
    )
    app.add_exception_handler(UserFacingError, show_refusal)
    app.add_exception_handler(Forbidden, show_forbidden)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(assignment.router)  # before tickets' catch-all /tickets/{id}/{action}
    app.include_router(tickets.router)
    app.include_router(dashboard.router)
    app.include_router(prometheus.router)
    app.include_router(canned.router)  # /kb/canned: before the knowledge base's /kb pages
    drafts = services.extra.get("drafts")
    if drafts is not None:  # /kb/drafts: before the knowledge base's /kb pages
        from bot.console.drafts import include_drafts

        include_drafts(app, drafts)
    knowledge = services.extra.get("knowledge")
    if knowledge is not None:
        from bot.console.kb import include_kb

        include_kb(app, knowledge, services.extra.get("learning"))
    return app

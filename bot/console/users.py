"""The admin page of the console: the team's accounts — add, change role, disable / enable, reset
a password. Every change goes through ``AccountService`` (the same rules as ``supportbot users``);
a refused one comes back to the page with why, and nothing stored changes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from bot.console.auth import ConsoleTexts, FormAgent, Require, redirect_with_flash, render
from bot.console.refusals import back_on_refusal
from bot.errors import UserFacingError
from bot.services.accounts import AccountService
from bot.store.users import Role

PAGE = "/admin/users"
router = APIRouter(prefix=PAGE, dependencies=[Depends(Require(Role.ADMIN))])
refused = back_on_refusal(PAGE, "console-not-changed")


def _accounts(request: Request) -> AccountService:
    return request.app.state.accounts


Accounts = Annotated[AccountService, Depends(_accounts)]


@router.get("", response_class=HTMLResponse)
async def users_page(request: Request, accounts: Accounts) -> Response:
    rows = await accounts.users.list_all()
    roles = [role.value for role in reversed(Role)]
    return render(request, "users.html", accounts=rows, roles=roles)


@router.post("", dependencies=[refused])
async def add_user(
    request: Request,
    accounts: Accounts,
    admin: FormAgent,
    texts: ConsoleTexts,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    telegram_id: Annotated[str, Form()] = "",
) -> Response:
    tg: int | None = None
    if telegram_id.strip():
        try:
            tg = int(telegram_id.strip())
        except ValueError:
            raise UserFacingError(
                texts.get("account-bad-telegram-id", value=telegram_id)
            ) from None
    account = await accounts.add(name, role, password, tg)
    flash = texts.get("console-account-added", name=account.name, role=account.role.value)
    return redirect_with_flash(request, PAGE, flash)


@router.post("/{name}/role", dependencies=[refused])
async def set_role(
    request: Request,
    name: str,
    accounts: Accounts,
    admin: FormAgent,
    texts: ConsoleTexts,
    role: Annotated[str, Form()] = "",
) -> Response:
    if name == admin and accounts.role(role) is not Role.ADMIN:
        raise UserFacingError(texts.get("console-not-yourself"))
    account = await accounts.set_role(name, role)
    flash = texts.get("console-account-role-set", name=account.name, role=account.role.value)
    return redirect_with_flash(request, PAGE, flash)


@router.post("/{name}/{state}", dependencies=[refused])
async def set_state(
    request: Request,
    name: str,
    state: str,
    accounts: Accounts,
    admin: FormAgent,
    texts: ConsoleTexts,
    password: Annotated[str, Form()] = "",
) -> Response:
    if state == "password":
        account = await accounts.reset_password(name, password)
        flash = texts.get("console-account-password-reset", name=account.name)
    elif state == "disable" and name == admin:
        raise UserFacingError(texts.get("console-not-yourself"))
    elif state in ("disable", "enable"):
        account = await accounts.set_disabled(name, state == "disable")
        flash = texts.get(f"console-account-{state}d", name=account.name)
    else:
        raise UserFacingError(texts.get("console-unknown-action", action=repr(state)))
    return redirect_with_flash(request, PAGE, flash)

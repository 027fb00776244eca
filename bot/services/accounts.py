"""Team accounts of the console: who may sign in, with which role, and checking their passwords.

The CLI (``supportbot users``) and the console's admin page both change accounts through
``AccountService``; a refused change (unknown role or account, weak password, a name or Telegram id
already taken) is a ``UserFacingError`` worded from the catalog, and nothing stored changes.
Passwords are hashed with Argon2 (``argon2-cffi``) and judged by ``zxcvbn``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.errors import UserFacingError
from bot.i18n import TextSource
from bot.store.users import Account, AccountConflict, Role, UserRepository

MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3  # zxcvbn's 0-4: 3 is "safely unguessable" for an online attack
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")


class AccountService:
    """Adding and changing console accounts, and signing in with one."""

    def __init__(self, users: UserRepository, texts: TextSource) -> None:
        self.users, self.texts = users, texts
        self.hasher = PasswordHasher()
        # Verified against when the name is unknown, so a wrong name takes as long as a wrong
        # password and the timing tells nothing.
        self._dummy_hash = self.hasher.hash("not a password of anyone")

    def role(self, text: str) -> Role:
        try:
            return Role(text.strip().lower())
        except ValueError:
            roles = ", ".join(r.value for r in reversed(Role))
            raise UserFacingError(
                self.texts.get("account-unknown-role", role=text, roles=roles)
            ) from None

    def name(self, text: str) -> str:
        name = text.strip().lower()
        if not _NAME_RE.match(name):
            raise UserFacingError(self.texts.get("account-bad-name", name=text))
        return name

    def check_password(self, password: str, name: str = "") -> None:
        """UserFacingError unless the password is long and hard to guess (with advice)."""
        from zxcvbn import zxcvbn

        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserFacingError(
                self.texts.get("account-short-password", least=str(MIN_PASSWORD_LENGTH))
            )
        verdict = zxcvbn(password[:100], user_inputs=[name] if name else [])
        if verdict["score"] < MIN_PASSWORD_SCORE:
            feedback = verdict.get("feedback") or {}
            advice = " ".join(
                [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
            ).strip()
            raise UserFacingError(self.texts.get("account-weak-password", advice=advice or "-"))

    async def add(
        self, name: str, role: str, password: str, telegram_id: int | None = None
    ) -> Account:
        name, role_ = self.name(name), self.role(role)
        self.check_password(password, name)
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        account = Account(name, role_, hashed, telegram_id=telegram_id)
        try:
            return await self.users.add(account)
        except AccountConflict as exc:
            raise self._refusal(exc, name, telegram_id) from None

    async def set_role(self, name: str, role: str) -> Account:
        role_ = self.role(role)
        return await self._update(name, lambda a: replace(a, role=role_))

    async def set_disabled(self, name: str, disabled: bool) -> Account:
        return await self._update(name, lambda a: replace(a, disabled=disabled))

    async def reset_password(self, name: str, password: str) -> Account:
        name = name.strip().lower()
        if await self.users.get(name) is None:
            raise UserFacingError(self.texts.get("account-unknown", name=name))
        self.check_password(password, name)
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        return await self._update(name, lambda a: replace(a, password_hash=hashed))

    async def authenticate(self, name: str, password: str) -> Account | None:
        """The enabled account with this name and password, else None (which part was wrong is
        not said)."""
        account = await self.users.get(name.strip().lower()) if name.strip() else None
        stored = account.password_hash if account is not None else self._dummy_hash
        try:
            await asyncio.to_thread(self.hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if account is None or account.disabled:
            return None
        return account

    async def _update(self, name: str, change) -> Account:
        name = name.strip().lower()
        try:
            return await self.users.update(name, change)
        except AccountConflict as exc:
            raise self._refusal(exc, name, None) from None

    def _refusal(self, exc: AccountConflict, name: str, telegram_id: int | None) -> Exception:
        if exc.what == "name-taken":
            return UserFacingError(self.texts.get("account-name-taken", name=name))
        if exc.what == "telegram-taken":
            return UserFacingError(
                self.texts.get("account-telegram-taken", telegram_id=str(telegram_id))
            )
        return UserFacingError(self.texts.get("account-unknown", name=name))

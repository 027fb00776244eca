"""The seam for customers' personal data: every store that keeps a customer's words or identity.

A store that keeps something about a customer implements ``PersonalData``: ``export`` gives what
it holds (for ``/mydata``) and ``forget`` deletes it, or masks what cannot be deleted (for
``/forget``). The privacy service (``bot/services/privacy.py``) runs every registered store;
the list is assembled in one place, ``bot/app.py``'s ``personal_data``. A new store that keeps a
customer's data adds itself there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# What takes the place of a customer's words that cannot be deleted with them (a suggestion
# made from their ticket keeps the agent's answer, not their question).
FORGOTTEN = "[forgotten]"


@dataclass(frozen=True, slots=True)
class Customer:
    """Whose data: the Telegram id (in a private chat, chat and user are the same), and what
    identifies their data in stores that do not keep the id: the words they wrote (the
    content-gap log keeps questions without who asked) and their ticket ids (suggestions)."""

    id: int
    words: tuple[str, ...] = ()
    tickets: tuple[str, ...] = ()


@runtime_checkable
class PersonalData(Protocol):
    """A store holding customers' data."""

    # The name of what it keeps: a key of /mydata's JSON and of /forget's report.
    data_kind: str

    async def export(self, customer: Customer) -> Any:
        """What it holds about ``customer``, as JSON-ready data; empty (or None) when nothing."""
        ...

    async def forget(self, customer: Customer) -> int:
        """Delete (or mask) what it holds about ``customer``; how many items went."""
        ...


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """The retention sweep's limits, as Unix times (from ``PRIVACY__*`` and the sweep's now)."""

    mask_before: float  # a ticket closed before this has its transcript masked
    delete_before: float  # a record from before this is deleted
    handled_before: float  # a handled update received before this is deleted


@runtime_checkable
class AgesOut(Protocol):
    """A store whose records do not expire by themselves: the sweep ages them out."""

    data_kind: str

    async def age_out(self, cutoffs: Cutoffs) -> int:
        """Mask or delete what the cutoffs say; how many records changed."""
        ...

"""Follow-up questions: "and how long does that take?" only makes sense with the turn before it.

A short message that leans on the conversation (starts with "and", "what about", refers to "it" or
"that") is searched together with the customer's previous question; the answering service keeps
whichever reading retrieval is confident about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_FOLLOW_UP_WORDS = 9
_OPENERS = re.compile(
    r"^(and|but|also|so|then|plus|what about|how about|and what about|what if|same for|"
    r"ok(ay)?,? (and|but|so)|what else)\b",
    re.IGNORECASE,
)
_REFERENCES = re.compile(
    r"\b(it|its|that|this|those|these|they|them|there|one|ones|he|she|the same)\b", re.IGNORECASE
)
_WORDS = re.compile(r"\w+")


def is_follow_up(text: str) -> bool:
    """A short message that refers back to the conversation instead of standing alone."""
    words = _WORDS.findall(text)
    if not words or len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    return bool(_OPENERS.search(text.strip()) or _REFERENCES.search(text))


def contextual_query(text: str, earlier_questions: Sequence[str]) -> str | None:
    """The follow-up joined to the customer's previous question, or None if it stands alone."""
    if not earlier_questions or not is_follow_up(text):
        return None
    return f"{earlier_questions[-1]} {text}"

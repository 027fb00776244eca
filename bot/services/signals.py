"""What a customer's words say beyond the question (a request for a person), and the reasons a
case goes to a person."""

from __future__ import annotations

import re
from enum import StrEnum


class EscalationReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    ASKED_FOR_HUMAN = "asked_for_human"
    LONG_MESSAGE = "long_message"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    REPEATED_DISLIKES = "repeated_dislikes"
    REPEATED_QUESTION = "repeated_question"
    UNCLEAR = "unclear"  # no question (emoji, mash, code…), still unclear after asking back


_HUMAN_PATTERNS = [
    r"\b(talk|speak|chat)\s+(to|with)\s+(a|an|some|the)?\s*(real\s+)?"
    r"(human|person|agent|operator|someone|somebody|representative|rep|manager|support)\b",
    r"\b(real|live|actual)\s+(human|person|agent)\b",
    r"\b(human|live)\s+(agent|support|operator)\b",
    r"\bcustomer\s+(service|support)\s+(agent|representative|rep)\b",
    r"\b(connect|transfer|put)\s+me\s+(to|through|with)\b",
    r"\b(get|want|need)\s+(me\s+)?(a|an)\s+(human|person|agent|operator)\b",
    r"^\s*(human|agent|operator|representative)\s*[!.?]*\s*$",
    r"\bare\s+you\s+(a\s+)?(bot|robot|human)\b",
    r"\b(human|person|agent|operator)\s+please\b",
    r"\b(let|can|could|may)\s+(me|i)\s+(talk|speak|chat)\s+(to|with)\s+(a|an|some)?\s*"
    r"(human|person|agent|operator|someone|somebody)\b",
    r"\bi\s+(want|need|would\s+like)\s+(to\s+talk\s+to\s+)?(a\s+)?(real\s+)?"
    r"(human|person|agent)\b",
    r"人工|真人|客服人员|人工客服|转人工|找客服|联系客服|找个人|跟人说|和人说|活人|接线员",
]
_HUMAN_RE = re.compile("|".join(f"(?:{p})" for p in _HUMAN_PATTERNS), re.IGNORECASE)


def wants_human(text: str) -> bool:
    """True when the customer asks for a person instead of the bot (English and Chinese)."""
    return bool(_HUMAN_RE.search(text))


def normalize_question(text: str) -> str:
    """Lower-case words only, so "Where is my order?" and "where is my order" compare equal."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def same_question(texts: list[str], times: int) -> bool:
    """True when the last ``times`` texts are the same question."""
    if len(texts) < times:
        return False
    normalized = {normalize_question(t) for t in texts[-times:]}
    return len(normalized) == 1 and "" not in normalized

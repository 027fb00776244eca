"""Messages that are no question at all: emoji only, punctuation, keyboard mash, code or an
injection attempt, a bare link.

Such a message gets a short request to rephrase and a "talk to a person" button instead of a
ticket (``AnsweringService``). The checks are cheap and conservative: a short real question
("refund?", "退款", "hi") is never junk; what is unsure goes on to the retriever, whose confidence
decides.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import urlsplit

import emoji


class SmallTalk(StrEnum):
    """A message that is no question but needs no help either."""

    GREETING = "greeting"  # "hi", "你好": welcomed and asked what they need
    THANKS = "thanks"  # "thanks", "ok bye", "谢谢": acknowledged


class JunkKind(StrEnum):
    EMOJI = "emoji"
    PUNCTUATION = "punctuation"
    RANDOM = "random"  # keyboard mash: "asdfgh", "jkjkjk"
    CODE = "code"  # code, SQL / HTML / shell injection, a stack trace, a prompt injection
    LINK = "link"  # nothing but one or more links


_CODE_PATTERNS = [
    # SQL
    r"\bunion\s+(all\s+)?select\b",
    r"\bselect\s+(\*|[\w.,\s`\"]+)\s+from\s+[\w.`\"\[\]]+\s*(where\b|limit\b|;|--|$)",
    r"\b(drop|truncate|alter)\s+(table|database)\b",
    r"\binsert\s+into\s+\S+.*\bvalues\b",
    r"\bdelete\s+from\s+\w+",
    r"\bupdate\s+\w+\s+set\s+\w+\s*=",
    r"['\"]\s*(or|and)\s+['\"]?\w+['\"]?\s*=\s*['\"]?\w+",
    r"['\"];?\s*--\s*$",
    r"\b(sleep|benchmark|waitfor\s+delay)\s*\(\s*\d",
    # HTML / script injection and templates
    r"</?(script|iframe|img|svg|object|embed|body|html|style|div|form|input)\b[^>]*>",
    r"\bjavascript\s*:",
    r"\bon(error|load|click|mouseover)\s*=",
    r"\{\{.*\}\}|\$\{.*\}",
    # shell
    r"\brm\s+-\w*[rf]",
    r"\bsudo\s+\w+",
    r"\bchmod\s+[0-7+]",
    r"\b(curl|wget)\s+(-\w|https?://)",
    r"/etc/(passwd|shadow)|/bin/(ba)?sh\b|\bcmd\.exe\b|\bpowershell\b",
    r"\$\([^)]*\)|`[^`]+`",
    r"(\||;|&&)\s*(ls|cat|rm|wget|curl|echo|bash|sh|nc|whoami|id)(\s+[-/$]\S*|\s*$)",
    # stack traces
    r"\bTraceback \(most recent call last\)",
    r"\bFile \"[^\"]+\", line \d+",
    r"\bat\s+[\w$.]+\([\w$]+\.(java|kt|scala|js|ts|cs):\d+\)",
    r"\bException in thread\b",
    # source code
    r"\bdef\s+\w+\s*\(.*\)\s*:",
    r"\bfunction\s*\w*\s*\([^)]*\)\s*\{",
    r"#include\s*<|\bconsole\.log\s*\(|\bSystem\.out\.|\bprintf\s*\(",
    r"\b(var|let|const)\s+\w+\s*=",
    # prompt injection
    r"\b(ignore|disregard|forget)\s+(all\s+)?(of\s+)?(the\s+|your\s+|my\s+)?"
    r"(previous|prior|above|earlier|preceding|system)\s+(instructions|prompts?|rules|directions)",
    r"\b(reveal|show|print|repeat|tell)\s+(me\s+)?(your\s+(system\s+)?|the\s+system\s+)"
    r"(prompt|instructions)\b",
    r"\bsystem\s+prompt\b",
    r"\byou\s+are\s+now\s+(a|an|in|dan)\b",
    r"\b(jailbreak|developer\s+mode|DAN\s+mode)\b",
    r"忽略(之前|以上|上面|前面|所有)(的)?(所有)?(指令|指示|提示|规则)",
]
_CODE_RE = re.compile("|".join(f"(?:{p})" for p in _CODE_PATTERNS), re.IGNORECASE)
# Characters that are rare in a customer's words and common in code.
_CODE_CHARS = frozenset("{}[]<>;=$|\\`")
_DOMAIN_RE = re.compile(r"^(www\.)?([a-z0-9-]+\.)+[a-z]{2,24}(:\d+)?(/\S*)?$", re.IGNORECASE)
_PUNCT_TAIL = r"[\s!.,。！，~?？:)]*$"
_GREETING_RE = re.compile(
    r"^(hi+|hello|hey|hey there|hi there|hello there|hallo|hola|yo|good\s+(morning|afternoon|"
    r"evening|day)|你好|您好|嗨|哈喽|在吗|在不在|有人吗)" + _PUNCT_TAIL,
    re.IGNORECASE,
)
_THANKS_RE = re.compile(
    r"^((ok(ay)?|great|perfect|cool|got it|nice)[\s,!.]*)?(thanks?( you)?( a lot| so much)?|thx|ty|"
    r"cheers|bye|goodbye|see you|got it|ok(ay)?|谢谢(你|您)?|多谢|好的|好|再见|拜拜|明白了?)"
    + _PUNCT_TAIL,
    re.IGNORECASE,
)
_TOKEN_RE = re.compile(r"[^\W\d_]+")
# Runs along a keyboard row that no word has ("erty" of "property" is left out).
_KEYBOARD_RUNS = ("qwer", "wert", "asdf", "sdfg", "dfgh", "fghj", "ghjk", "hjkl", "zxcv", "xcvb")
_VOWELS = frozenset("aeiouy")


def junk_kind(text: str) -> JunkKind | None:
    """What kind of non-question ``text`` is, or None when it may be a question."""
    text = text.strip()
    if not text:
        return JunkKind.PUNCTUATION
    if emoji.emoji_count(text) and not _has_word_chars(emoji.replace_emoji(text, "")):
        return JunkKind.EMOJI
    if not _has_word_chars(text):
        return JunkKind.PUNCTUATION
    if all(_is_link(token) for token in text.split()):
        return JunkKind.LINK
    if _CODE_RE.search(text) or _looks_like_code(text):
        return JunkKind.CODE
    if _is_mash(text):
        return JunkKind.RANDOM
    return None


def small_talk(text: str) -> SmallTalk | None:
    """A greeting or a thank-you and nothing else, or None."""
    text = text.strip()
    if _GREETING_RE.match(text):
        return SmallTalk.GREETING
    if _THANKS_RE.match(text):
        return SmallTalk.THANKS
    return None


def _has_word_chars(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _is_link(token: str) -> bool:
    token = token.strip("<>()[]\"'.,!?")
    if not token:
        return False
    parts = urlsplit(token)
    if parts.scheme in ("http", "https", "ftp") and parts.netloc:
        return True
    return bool(_DOMAIN_RE.match(token))


def _looks_like_code(text: str) -> bool:
    """Many code characters for the message's length: JSON, markup, a pasted snippet."""
    visible = [ch for ch in text if not ch.isspace()]
    symbols = sum(1 for ch in visible if ch in _CODE_CHARS)
    return symbols >= 4 and symbols / len(visible) >= 0.12


def _is_mash(text: str) -> bool:
    """Every word is keyboard mash; words in other scripts (Chinese, Cyrillic…) never are."""
    tokens = _TOKEN_RE.findall(text)
    return bool(tokens) and all(_is_mash_word(token) for token in tokens)


def _is_mash_word(word: str) -> bool:
    if not word.isascii() or len(word) < 4 or (word.isupper() and len(word) <= 5):
        return False  # another script, a short word, an acronym ("HTML", "IBAN")
    word = word.casefold()
    if len(set(word)) <= 2:  # "aaaa", "jkjkjk"
        return True
    if not _VOWELS.intersection(word):  # "dfgdfg", "zxcvb"
        return True
    if re.search(r"[^aeiouy]{5,}", word):  # "ajsdkfj"
        return True
    return any(run in word for run in _KEYBOARD_RUNS)  # "asdf", "qwerty"

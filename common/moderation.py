"""Abusive language in what customers write and in what the generator composes.

``AbuseDetector.is_abusive(text)`` is the one check both paths use: the moderation middleware
(``bot/middlewares/moderation.py``) on each customer message, and the generation service
(``bot/services/generation.py``) on each generated reply before it is sent.

English: the ``glin-profanity`` lexicon (MIT), matched on word boundaries (so "Scunthorpe",
"assess", "class" and "cocktail" are clean) and through the obfuscations it decodes ("f*ck",
"fvck", "sh1t", "b!tch", "f u c k"). The lexicon also lists sexual and anatomical words and
exclamations of frustration; ``ORDINARY_WORDS`` takes back those a support conversation uses
plainly (a "nipple" for a baby bottle, "panties" in a lingerie shop, "xx" as a size, "this
sucks"): a warning is for insults, slurs and strong swearing, not for a customer's vocabulary.

Chinese: our own list, ``common/data/abuse-zh.txt`` (why not the library's Chinese dictionary: it
lists single characters such as 奶 and 乳, which Chinese, written without spaces, would find in
牛奶 and 乳液). Its entries match anywhere once whitespace and punctuation are taken out.

Nothing here logs or keeps the words it finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from glin_profanity import Filter

ZH_LIST = Path(__file__).parent / "data" / "abuse-zh.txt"

# In the English lexicon, but ordinary words in a support conversation (or only frustration).
ORDINARY_WORDS = (
    "anal", "anus", "big black", "bondage", "bs", "busty", "butt", "cock", "cocks", "domination",
    "erotic", "escort", "eunuch", "genitals", "girl on", "grope", "hard core", "hardcore", "hoe",
    "hooker", "hot chick", "how to kill", "how to murder", "huge fat", "intercourse", "kinky",
    "lmfao", "lolita", "mf", "negro", "nipple", "nipples", "nude", "nudity", "omfg", "panties",
    "panty", "penis", "pissed", "playboy", "poof", "rape", "rectum", "scat", "sex", "sexo", "sexy",
    "snatch", "spread legs", "strap on", "strapon", "suck", "sucks", "swinger", "taste my",
    "tainted love", "tied up", "tight white", "tit", "tongue in a", "topless", "twinkie",
    "undressing", "vagina", "vibrator", "voyeur", "vulva", "wtf", "xx", "xxx",
)  # fmt: skip

# Taken out of a message before the Chinese list is matched: "傻 逼", "傻*逼" read as "傻逼".
_NOT_A_LETTER = re.compile(r"[\W_]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def read_word_list(path: Path) -> list[str]:
    """One entry a line; blank lines and ``#`` comments skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


class AbuseDetector:
    """Says whether a text holds abusive language (English lexicon, Chinese list).

    Built once per process (the lexicon is compiled in ``__init__``) and safe to share between
    threads: a check only reads.
    """

    def __init__(
        self,
        *,
        chinese: Iterable[str] | None = None,
        ordinary_words: Iterable[str] = ORDINARY_WORDS,
    ) -> None:
        self._english = Filter(
            {
                "languages": ["english"],
                "word_boundaries": True,
                "allow_obfuscated_match": True,
                "detect_leetspeak": True,
                "ignore_words": list(ordinary_words),
            }
        )
        words = read_word_list(ZH_LIST) if chinese is None else list(chinese)
        words = sorted({_NOT_A_LETTER.sub("", w).lower() for w in words} - {""}, key=len)
        self._chinese = re.compile("|".join(map(re.escape, reversed(words)))) if words else None

    def is_abusive(self, text: str) -> bool:
        if not text or text.isspace():
            return False
        if self._chinese is not None and _HAN.search(text):
            squeezed = _NOT_A_LETTER.sub("", text).lower()
            if self._chinese.search(squeezed):
                return True
        return self._english.is_profane(text)

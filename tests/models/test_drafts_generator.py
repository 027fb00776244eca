"""Drafts through the real fine-tuned generator: a tiny training, then rewrites and an entry draft
written by the model and checked by the grounding guard (passed, or refused with a reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import build_generator
from bot.services.drafts import writer_for
from bot.settings import GeneratorSettings
from knowledge_base import KnowledgeBase
from models.drafting import Method
from models.grounding import source_texts, unsupported_facts
from models.llm import SmolLMGenerator
from models.training import GeneratorTrainingConfig, train_generator
from retrieval import SentenceTransformerEmbedder
from tests.models.test_drafting import CANCEL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(1200)  # training and generation on a shared 2-core machine
def test_rewrites_and_entry_drafts_by_the_trained_generator(
    small_kb: KnowledgeBase, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    config = GeneratorTrainingConfig(
        max_examples=8, grad_accumulation=2, heldout_loss_examples=2, time_budget_s=180
    )
    train_generator(
        small_kb, tmp_path / "gen", embedder, config, cache_dir=ROOT / ".cache" / "supportbot"
    )
    generator = build_generator(GeneratorSettings(model_path=tmp_path / "gen"), embedder)
    assert isinstance(generator, SmolLMGenerator)
    generator.warm_up()
    writer = writer_for(generator, embedder, 0.5)
    assert writer.has_generator and writer.model_name.startswith("generator-")

    shorter = writer.rewrite(CANCEL, "shorter")
    assert shorter.method == Method.GENERATOR and shorter.text.strip()
    if shorter.ok:
        assert unsupported_facts(shorter.text, source_texts([CANCEL])) == []
        assert len(shorter.text.split()) < len(CANCEL.answer.split())
    else:  # refused by the guard or the length check, and it says why
        assert shorter.why()
    # The rule-based styles are not the model's, and say so.
    assert writer.rewrite(CANCEL, "steps").method == Method.RULES

    replies = [
        f"Hi! {CANCEL.answer} Anything else?",
        "Hello, thanks for waiting. Refunds take 3–7 business days. Have a nice day!",
    ]
    composed = writer.entry(CANCEL.question, ["how to cancel my order"], replies)
    answer = composed.answer
    assert answer.ok and answer.method in (Method.GENERATOR, Method.EXTRACTIVE)
    assert unsupported_facts(answer.text, list(composed.sources)) == []
    if answer.method == Method.GENERATOR:  # condensed: kept only because it is shorter
        assert len(answer.text.split()) < len(CANCEL.answer.split())

"""Drafts for operators without a trained generator: the rules, the extracts and their refusals."""

from __future__ import annotations

import pytest

from knowledge_base import FaqEntry
from models.drafting import (
    FRIENDLY_OPENING,
    DraftInputError,
    DraftWriter,
    Method,
    ProductFacts,
    answering_sentences,
    as_steps,
    friendlier,
)
from models.grounding import GroundingGuard, unsupported_facts
from retrieval import SentenceTransformerEmbedder
from tests.conftest import SMALL_KB

CANCEL = FaqEntry(
    "cancel",
    "How do I cancel an order?",
    "You can cancel an order within 1 hour of placing it: open My Orders and choose "
    '"Cancel order"; then confirm. After that, e-mail support@shop.example, and we will stop it '
    "if it has not shipped. Refunds take 3–7 business days.",
)


@pytest.fixture
def writer(embedder: SentenceTransformerEmbedder) -> DraftWriter:
    return DraftWriter(GroundingGuard(embedder, 0.5))


def test_friendlier_keeps_every_fact_and_contracts() -> None:
    text = friendlier(CANCEL.answer)
    assert text.startswith(FRIENDLY_OPENING) and "we'll stop it if it hasn't shipped" in text
    assert unsupported_facts(text, [CANCEL.answer]) == []


def test_steps_split_sentences_and_clauses_in_order() -> None:
    steps = as_steps(CANCEL.answer)
    assert steps[1] == "Confirm." and steps[0].endswith('choose "Cancel order".')
    assert steps[2].startswith("E-mail support@shop.example")


def test_rewrites_pass_the_guard_and_say_how_they_were_written(writer: DraftWriter) -> None:
    steps = writer.rewrite(CANCEL, "steps")
    assert steps.ok and steps.method == Method.RULES
    assert steps.text.splitlines()[1] == "2. Confirm."  # numbered, the numbers not checked
    friendly = writer.rewrite(CANCEL, "friendlier")
    assert friendly.ok and friendly.method == Method.RULES
    shorter = writer.rewrite(CANCEL, "shorter")
    assert shorter.ok and shorter.method == Method.EXTRACTIVE
    assert len(shorter.text.split()) < len(CANCEL.answer.split())
    assert all(s in CANCEL.answer for s in shorter.text.split(". "))


def test_refused_rewrites_say_why(writer: DraftWriter) -> None:
    one_liner = SMALL_KB["payment-methods"]
    assert writer.rewrite(one_liner, "shorter").reason == "one sentence"
    assert writer.rewrite(one_liner, "steps").reason == "a single step"
    with pytest.raises(DraftInputError, match="unknown style 'poem'"):
        writer.rewrite(one_liner, "poem")
    # A rewrite naming a fact the entry lacks is refused by the same guard as replies.
    part = writer.checked("answer", "Cancel within 2 hours via PayPal.", [CANCEL.answer], "x")
    assert not part.ok and part.why() == "unsupported facts: 2, PayPal"


def test_product_copy_states_the_given_facts_only(writer: DraftWriter) -> None:
    facts = ProductFacts.parse(
        "name=Brightcart Mini Blender; features=600 W motor, 3 speeds, dishwasher-safe jar; "
        "price=€39; offer=10% off until Sunday"
    )
    description, post = writer.product_copy(facts)
    assert description.ok and post.ok, (description, post)
    assert description.text.startswith("Brightcart Mini Blender: 600 W motor, 3 speeds and")
    assert "• 3 speeds" in post.text and "🎁 10% off until Sunday" in post.text
    for part in (description, post):
        assert unsupported_facts(part.text, [facts.source()]) == []


def test_product_copy_refuses_what_the_facts_cannot_carry(writer: DraftWriter) -> None:
    with pytest.raises(DraftInputError, match="no facts given"):
        writer.product_copy(ProductFacts.parse("  "))
    with pytest.raises(DraftInputError, match="name is needed"):
        writer.product_copy(ProductFacts.parse("price=€5"))
    with pytest.raises(DraftInputError, match="'colour=red' is not one of"):
        ProductFacts.parse("name=Mug; colour=red")
    description, post = writer.product_copy(ProductFacts.parse("name=Mug; features=holds tea"))
    assert description.ok and not post.ok and post.reason == "no price or offer given"


def test_entry_composed_from_agents_answers(writer: DraftWriter) -> None:
    replies = [
        "Hi Anna! Yes, we ship to Norway. Delivery takes 5–7 business days and costs €14.90. "
        "Have a nice day!",
        "Hello, thanks for waiting. We ship to Norway; delivery takes 5-7 business days. "
        "Could you send me your order number? My e-mail is ola@example.com.",
    ]
    assert "Hi Anna!" not in answering_sentences(replies)
    composed = writer.entry(
        "Do you ship to Norway?",
        ["Do you ship to Norway?", "delivery to norway possible?", "call me on +47 912 34 567"],
        replies,
    )
    assert composed.question == "Do you ship to Norway?"
    assert composed.phrasings == ("delivery to norway possible?", "call me on [phone]")
    answer = composed.answer
    assert answer.ok and answer.method == Method.EXTRACTIVE
    # Greetings, questions back and a repeat are left out; the agents' words are kept.
    assert (
        answer.text == "Yes, we ship to Norway. Delivery takes 5–7 business days and costs €14.90."
    )
    assert "ola@example.com" not in " ".join(composed.sources)  # masked
    nothing = writer.entry("Do you ship to Norway?", [], ["Hi! Let me check.", "Thanks!"])
    assert not nothing.answer.ok and "no answering sentence" in nothing.answer.reason

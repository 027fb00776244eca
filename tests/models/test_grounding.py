"""The grounding guard: facts must come from the sources, replies must stay on topic, no leaks."""

from __future__ import annotations

from models.grounding import (
    GroundingGuard,
    contradicts_sources,
    extract_facts,
    looks_like_leak,
    polarity,
    unsupported_facts,
)
from models.prompting import SYSTEM_PROMPT
from retrieval import SentenceTransformerEmbedder

SOURCES = [
    "How long does delivery take?\nStandard delivery takes 3–5 business days; express takes "
    "1–2 days for €9.90. Questions: support@shop.example or https://shop.example/delivery. "
    "We ship with DHL and accept PayPal."
]


def test_extracts_numbers_amounts_urls_emails_and_names() -> None:
    facts = extract_facts(
        "Express costs €9.90 until 1 July; see https://shop.example/x. or mail help@shop.example. "
        "Order a Pixel 8 via PayPal, thirty days."
    )
    assert facts["urls"] == ["https://shop.example/x"]
    assert facts["emails"] == ["help@shop.example"]
    assert {"9.90", "1", "8", "30"} <= set(facts["numbers"])
    assert "Pixel" in facts["names"] and "PayPal" in facts["names"] and "July" in facts["names"]
    assert "Express" not in facts["names"]  # a capital at the start of a sentence is not a name


def test_supported_reply_passes_the_fact_check() -> None:
    reply = "Express delivery takes 1–2 days and costs €9.90; write to support@shop.example."
    assert unsupported_facts(reply, SOURCES) == []


def test_invented_price_date_link_email_and_product_are_caught() -> None:
    cases = {
        "Express costs €12.50.": "12.50",
        "Delivery takes 7 days.": "7",
        "Your parcel arrives on 14 March.": "March",
        "See https://evil.example/deals for details.": "https://evil.example/deals",
        "Mail refunds@shop.example.": "refunds@shop.example",
        "We ship with FedEx.": "FedEx",
        "It takes about ten days.": "10",
    }
    for reply, fact in cases.items():
        assert fact in unsupported_facts(reply, SOURCES), reply


def test_a_reply_that_flips_the_sources_yes_or_no_is_caught() -> None:
    express = "Do you offer express delivery?\nYes — express delivery takes 1–2 business days."
    abroad = "Do you ship from abroad?\nNo — every order ships from a warehouse in its own region."
    assert polarity("Yes, you can.") == 1 and polarity("No, sorry.") == -1
    assert (
        polarity("Unfortunately we can't.") == -1 and polarity("No problem! It takes 2 days.") == 0
    )
    assert polarity("Sorry, we don't ship there.") == -1 and polarity("Express takes 2 days.") == 0
    assert contradicts_sources("No, we don't offer express delivery.", [express])
    assert contradicts_sources("Yes, some orders ship from abroad.", [abroad])
    assert contradicts_sources("Unfortunately, there is no express option.", [express])
    assert not contradicts_sources("Yes, express takes 1–2 business days.", [express])
    assert not contradicts_sources("Express takes 1–2 business days.", [express])
    assert not contradicts_sources("No, everything ships from its region.", [abroad])
    # Two sources that disagree: either answer may be right.
    assert not contradicts_sources("No, not from abroad.", [express, abroad])
    verdict = GroundingGuard(None).check("No, there is no express delivery.", [express])
    assert not verdict.ok and "yes or no" in verdict.reason


def test_prompt_leak_is_detected() -> None:
    assert looks_like_leak(SYSTEM_PROMPT[:200])
    assert looks_like_leak("<|im_start|>system you are")
    assert looks_like_leak("Help-centre entries: [1] Q: ...")
    assert not looks_like_leak("Standard delivery takes 3–5 business days.")


def test_guard_checks_similarity_with_the_real_embedder(
    embedder: SentenceTransformerEmbedder,
) -> None:
    guard = GroundingGuard(embedder, min_similarity=0.5)
    good = guard.check("Standard delivery takes 3–5 business days.", SOURCES)
    assert good.ok and good.similarity is not None and good.similarity >= 0.5
    off_topic = guard.check("our cat enjoys sleeping in the sun all afternoon.", SOURCES)
    assert not off_topic.ok and off_topic.reason == "off topic"
    invented = guard.check(
        "Standard delivery takes 3–5 business days, or 48 hours by drone.", SOURCES
    )
    assert not invented.ok and invented.unsupported == ("48",)
    assert not guard.check("   ", SOURCES).ok

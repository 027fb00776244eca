"""The abusive-language detector: real abuse (English, Chinese, obfuscated) is found; ordinary
support words that contain or resemble it are not."""

from __future__ import annotations

import pytest

from common.moderation import ZH_LIST, AbuseDetector, read_word_list

DETECTOR = AbuseDetector()

ABUSE = [
    "fuck you",
    "you stupid bitch",
    "where the fuck is my parcel",
    "this is bullshit, you asshole",
    "you are a f*cking idiot",  # masked
    "fvck this shop",  # look-alike letters
    "sh1t service",  # leetspeak
    "you b!tch",
    "a$$hole",
    "f u c k you",  # spaced out
    "FUCK YOU",
    "你们这些傻逼",
    "你他妈的什么时候发货",
    "傻 逼",  # spaced out
    "傻*逼",
    "客服都是王八蛋",
    "去死吧",
    "where is my 包裹, 傻B",
]

CLEAN = [
    "I live in Scunthorpe",
    "Please assess my class order",
    "A cocktail shaker arrived broken",
    "Can I return the glass set?",
    "I'm from Essex, is shipping free?",
    "My stopcock kit is missing a part",
    "The baby bottle nipple leaks",
    "Do you have this in size XX?",
    "The LED strip doesn't light up",
    "Cumberland sausages are out of stock",
    "Do you sell shiitake mushrooms?",
    "This sucks, my order is late again",  # frustration, not abuse
    "Where is my damn parcel?",
    "What the hell happened to my refund?",
    "Dick Smith electronics charger",
    "我妈妈的手机坏了",  # contains 妈的
    "我想买牛奶和乳液",  # 奶, 乳
    "我想去死海旅游",  # 去死
    "滚动条不能用",  # 滚
    "垃圾分类的袋子什么时候到",  # 垃圾
    "我的订单什么时候到？",
    "",
    "   ",
]


@pytest.mark.parametrize("text", ABUSE)
def test_abuse_is_found(text: str) -> None:
    assert DETECTOR.is_abusive(text)


@pytest.mark.parametrize("text", CLEAN)
def test_ordinary_support_words_are_not_abuse(text: str) -> None:
    assert not DETECTOR.is_abusive(text)


def test_the_chinese_list_has_no_single_characters_or_everyday_phrases() -> None:
    """Chinese is matched without word boundaries: a one-character entry, or one that is part of
    everyday words, would flag ordinary messages."""
    words = read_word_list(ZH_LIST)
    assert len(words) > 40
    assert all(len(w) >= 2 for w in words)
    for everyday in ("妈的", "去死", "垃圾", "废物", "奶", "滚"):
        assert everyday not in words


def test_a_custom_chinese_list_replaces_ours() -> None:
    detector = AbuseDetector(chinese=["坏蛋"])
    assert detector.is_abusive("你这个坏蛋")
    assert not detector.is_abusive("你们这些傻逼")  # ours is not loaded
    assert not AbuseDetector(chinese=[]).is_abusive("你这个坏蛋")

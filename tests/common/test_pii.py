"""Personal data is found (and masked); order numbers, tracking numbers, dates, prices and product
codes are left as they are."""

from __future__ import annotations

import pytest

from common.pii import find_personal_data, mask


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("write to dana.k+shop@example.co.uk today", "write to [email] today"),
        ("call me on +44 20 7946 0958", "call me on [phone]"),
        ("my number is (212) 555-0134", "my number is [phone]"),
        ("我的手机是13800138000", "我的手机是[phone]"),
        ("手机 +86 138 0013 8000", "手机 [phone]"),
        ("phone: 2125550134", "phone: [phone]"),
        ("card 4111 1111 1111 1111 exp 12/27", "card [card] exp 12/27"),
        ("Mastercard 5555-5555-5555-4444", "Mastercard [card]"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN [iban]"),
        ("身份证号 11010519491231002X", "身份证号 [national_id]"),
        ("SSN 536-22-8726", "SSN [national_id]"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "order #100234567 was placed on 2024-05-01",
        "order 2125550134 is late",  # a number that is a valid phone, said to be an order
        "tracking 1Z999AA10123456784 and 9400111899223817468712",
        "DHL 1234567890, SF Express SF1234567890123",
        "it cost $1,299.00 (€1.199,00) on 05/01/2024 at 14:30",
        "model RTX-4090, SKU BC-2024-000123, invoice 2024000123",
        "order 4111111111111112",  # 16 digits that fail the Luhn check
    ],
)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert find_personal_data(text) == []
    assert mask(text) == text


def test_findings_say_what_and_where_without_overlaps() -> None:
    text = "mail a@b.io or call +1 212 555 0134"
    findings = find_personal_data(text)
    assert [(f.kind, text[f.start : f.end]) for f in findings] == [
        ("email", "a@b.io"),
        ("phone", "+1 212 555 0134"),
    ]

"""Personal data in free text: found with kept libraries, masked before it is stored or shown.

``find_personal_data`` returns where a text holds an e-mail address, a phone number
(``phonenumbers``: international and local formats, Chinese mobiles included), a payment card
number (Luhn, ``python-stdnum``, and a card network's prefix), an IBAN or a national identity
number (``python-stdnum``: the Chinese resident ID, the US SSN), each validated, not just
pattern-matched. ``mask`` replaces each with a placeholder such as ``[phone]``.

What must survive — order and tracking numbers, dates, prices, product codes — is not personal
data: a bare run of digits counts as a phone number only when written like one (``+``, spaces,
dashes, brackets), when it is a Chinese mobile number (11 digits from 13–19), or when the words
just before it say it is one ("call", "phone", "电话" …). ``benchmarks/pii.py`` measures recall on
personal data and false positives on such look-alikes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.cn import ric
from stdnum.us import ssn

# Regions whose local formats are tried for phone numbers without a country code.
DEFAULT_REGIONS = ("US", "GB", "DE", "CN")

_FIVE_DIGITS = re.compile(r"\d(?:\D*?\d){4}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_RIC = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_CUE = re.compile(
    r"(?:call|phone|tel|mobile|cell|whatsapp|number|reach me|text me|电话|手机|号码|联系)"
    r"\W{0,3}(?:is|at|on|:)?\W{0,3}$",
    re.IGNORECASE,
)
_PART_OF_CODE_BEFORE = re.compile(r"[A-Za-z0-9][-/]$")
_PART_OF_CODE_AFTER = re.compile(r"[-/]?[A-Za-z]")
# Card networks' leading digits: Visa, Mastercard, Amex, Discover, JCB, UnionPay, Diners, Maestro.
_CARD_PREFIX = re.compile(
    r"^(?:4|5[1-5]|2[2-7]|3[47]|6011|65|64[4-9]|35|62|30[0-5]|36|38|5[06-9]|6)"
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data: its kind and where it is (``text[start:end]``)."""

    kind: str  # email, phone, card, iban, national_id
    start: int
    end: int


def find_personal_data(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> list[Finding]:
    """Every piece of personal data in ``text``, in order, without overlaps."""
    if "@" not in text and not _FIVE_DIGITS.search(text):
        return []  # every kind needs an "@" or at least five digits: most messages have neither
    found: list[Finding] = []
    found += [Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for m in _IBAN.finditer(text):
        if iban.is_valid(m.group()):
            found.append(Finding("iban", m.start(), m.end()))
    for m in _RIC.finditer(text):
        if ric.is_valid(m.group()):
            found.append(Finding("national_id", m.start(), m.end()))
    for m in _SSN.finditer(text):
        if ssn.is_valid(m.group()):
            found.append(Finding("national_id", m.start(), m.end()))
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and luhn.is_valid(digits):
            found.append(Finding("card", m.start(), m.end()))
    found += _phones(text, regions)
    return _without_overlaps(found)


def mask(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> str:
    """``text`` with each piece of personal data replaced by ``[kind]``."""
    out, last = [], 0
    for finding in find_personal_data(text, regions):
        out.append(text[last : finding.start])
        out.append(f"[{finding.kind}]")
        last = finding.end
    out.append(text[last:])
    return "".join(out)


def _phones(text: str, regions: tuple[str, ...]) -> list[Finding]:
    found = []
    for region in regions:
        matcher = phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID)
        for match in matcher:
            raw = match.raw_string
            if _PART_OF_CODE_BEFORE.search(text[: match.start]) or _PART_OF_CODE_AFTER.match(
                text[match.end :]
            ):
                continue  # inside a product or order code such as BC-2024-000123
            digits = re.sub(r"\D", "", raw)
            written_like_a_phone = raw.startswith("+") or re.search(r"[ ()\-.]", raw.strip())
            if (
                written_like_a_phone
                or _CN_MOBILE.fullmatch(digits)
                or _PHONE_CUE.search(text[: match.start])
            ):
                found.append(Finding("phone", match.start, match.end))
    return found


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    """The earliest, then longest, of overlapping findings (an IBAN is not also a phone)."""
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept

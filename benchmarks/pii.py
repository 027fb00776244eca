"""Personal-data detection (``common/pii.py``): recall on personal data, false positives on
look-alikes, from one run over a generated corpus (seeded, so every run sees the same texts).

Personal data, each in a short sentence: e-mail addresses; phone numbers in international and
local formats (US, UK, German, Chinese mobiles and landlines); card numbers of several networks
(valid Luhn, with and without separators); IBANs of several countries; Chinese resident IDs;
US SSNs. Look-alikes that must NOT be masked: order numbers, tracking numbers (UPS, USPS, DHL,
SF Express), dates, times, prices, product codes and invoice numbers. Usage:
    python benchmarks/pii.py [--per-kind 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stdnum import iban, luhn
from stdnum.cn import ric

from common.pii import find_personal_data


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def email(rng):
    user = rng.choice(["dana", "li.wei", "j.smith+shop", "mario_rossi", "zhang3"])
    host = rng.choice(["example.com", "mail.example.co.uk", "163.com", "qq.com", "web.de"])
    return f"{user}{rng.randint(1, 99)}@{host}"


def phone(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return f"+1 {rng.randint(201, 989)} {rng.randint(200, 999)} {_digits(rng, 4)}"
    if kind == 1:
        return f"({rng.choice(['212', '415', '617'])}) {rng.randint(200, 999)}-{_digits(rng, 4)}"
    if kind == 2:
        return f"+44 20 7946 0{_digits(rng, 3)}"
    if kind == 3:
        return f"030 {rng.randint(2, 9)}{_digits(rng, 7)}"
    if kind == 4:
        return f"1{rng.choice('3456789')}{_digits(rng, 9)}"  # a Chinese mobile, unformatted
    return f"+86 1{rng.choice('3589')}{_digits(rng, 1)} {_digits(rng, 4)} {_digits(rng, 4)}"


def card(rng):
    prefix = rng.choice(["4", "51", "55", "37", "6011", "62"])
    length = 15 if prefix == "37" else 16
    body = prefix + _digits(rng, length - len(prefix) - 1)
    number = body + luhn.calc_check_digit(body)
    sep = rng.choice(["", " ", "-"])
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def make_iban(rng):
    country, length = rng.choice([("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14), ("AT", 16)])
    if country in ("GB", "NL"):
        bban = rng.choice(["NWBK", "ABNA", "BARC"]) + _digits(rng, length - 4)
    else:
        bban = _digits(rng, length)
    number = country + iban.calc_check_digits(country + "00" + bban) + bban
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def resident_id(rng):
    body = (
        rng.choice(["110105", "310104"])
        + f"{rng.randint(1980, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        + _digits(rng, 3)
    )
    return body + ric.calc_check_digit(body + "0")  # it reads the number with a check digit


def us_ssn(rng):
    return f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


PERSONAL = {
    "email": (email, ["write to {}", "my e-mail is {}", "邮箱 {}"]),
    "phone": (phone, ["call me on {}", "my number is {}", "我的手机 {}", "reach me at {}"]),
    "card": (card, ["card {} exp 12/27", "I paid with {}", "卡号 {}"]),
    "iban": (make_iban, ["IBAN {}", "refund to {} please"]),
    "national_id": (resident_id, ["身份证号 {}", "my ID is {}"]),
    "ssn": (us_ssn, ["SSN {}", "my social security number is {}"]),
}


def look_alike(rng):
    kind = rng.randrange(9)
    if kind == 0:
        return f"order #{rng.randint(100000, 999999999)} is late"
    if kind == 1:
        return f"tracking 1Z{_digits(rng, 3)}AA1{_digits(rng, 8)}"
    if kind == 2:
        return f"USPS tracking 9400{_digits(rng, 18)}"
    if kind == 3:
        return f"DHL waybill {_digits(rng, 10)}"
    if kind == 4:
        return f"SF Express SF{_digits(rng, 13)}"
    if kind == 5:
        return f"ordered on 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} at 14:{_digits(rng, 2)}"
    if kind == 6:
        return f"it cost ${rng.randint(1, 9)},{_digits(rng, 3)}.{_digits(rng, 2)}"
    if kind == 7:
        return f"SKU BC-{rng.randint(2019, 2026)}-{_digits(rng, 6)}, model RTX-{rng.randint(1000, 9999)}"
    return f"invoice {rng.randint(2019, 2026)}{_digits(rng, 6)} for order {_digits(rng, 8)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    found, total = Counter(), Counter()
    for kind, (make, templates) in PERSONAL.items():
        for _ in range(args.per_kind):
            value = make(rng)
            text = rng.choice(templates).format(value)
            total[kind] += 1
            start = text.index(value)
            hits = find_personal_data(text)
            if any(f.start <= start and f.end >= start + len(value) for f in hits):
                found[kind] += 1
    negatives = [look_alike(rng) for _ in range(args.per_kind * 5)]
    flagged = [t for t in negatives if find_personal_data(t)]
    print(
        f"personal data: {sum(found.values())}/{sum(total.values())} found "
        f"(recall {sum(found.values()) / sum(total.values()):.3f})"
    )
    for kind in PERSONAL:
        print(f"  {kind:12s} {found[kind]}/{total[kind]} ({found[kind] / total[kind]:.3f})")
    print(
        f"look-alikes: {len(flagged)}/{len(negatives)} wrongly flagged "
        f"(false-positive rate {len(flagged) / len(negatives):.3f})"
    )
    for text in flagged[:5]:
        print(f"  e.g. {text}")


if __name__ == "__main__":
    main()

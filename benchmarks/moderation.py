"""Cost of the abusive-language check (``common/moderation.py``) per message, on the event loop.

Every customer message is checked once by the moderation middleware (and every generated reply
once before it is sent), on the event loop: this is what each one costs there. Messages are
support questions of several kinds and lengths, clean and abusive, English and Chinese; each is
checked ``--rounds`` times. Prints the mean, the median and the 99th percentile in µs per
message (a busy machine shows in the mean and p99, hardly in the median). Usage:
    python benchmarks/moderation.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.moderation import AbuseDetector

KINDS = {
    "english, short": [
        "Where is my parcel?",
        "How do I reset my password?",
        "Can I pay with PayPal?",
        "My order 12345 arrived broken",
    ],
    "english, long (~600 chars)": [
        "Hello, I ordered a cocktail shaker set and a class of glass tumblers from your shop two "
        "weeks ago, order number 884213, and the tracking page still says it is waiting in "
        "Scunthorpe. I was told delivery would take 3 to 5 business days. Could you please assess "
        "what happened, tell me whether it is lost, and if so send a replacement or refund me to "
        "the card I paid with? I also had to pay a customs fee I was not told about, which I "
        "would like back. I have written twice already without an answer, and I am getting a bit "
        "annoyed, to be honest. Thanks in advance for your help with this, Jane",
    ],
    "english, abusive": [
        "where the fuck is my parcel",
        "you stupid bitch, answer me",
        "f*cking useless shop",
        "sh1t service",
    ],
    "chinese": [
        "我的包裹什么时候到？",
        "怎么修改收货地址？",
        "我妈妈的手机坏了，可以退货吗？",
        "订单已经等了一个星期了，请尽快处理，谢谢。",
    ],
    "chinese, abusive": ["你们这些傻逼", "你他妈的什么时候发货", "客服都是王八蛋", "去死吧"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    detector = AbuseDetector()
    print(f"detector built in {(time.perf_counter() - started) * 1000:.1f} ms")
    every: list[float] = []
    for kind, texts in KINDS.items():
        costs = []
        for _ in range(args.rounds):
            for text in texts:
                t0 = time.perf_counter()
                detector.is_abusive(text)
                costs.append((time.perf_counter() - t0) * 1e6)
        every += costs
        p99 = statistics.quantiles(costs, n=100)[98]
        print(
            f"{kind:28} {statistics.fmean(costs):7.1f} µs/message "
            f"(median {statistics.median(costs):7.1f}, p99 {p99:7.1f})"
        )
    p99 = statistics.quantiles(every, n=100)[98]
    print(
        f"{'all':28} {statistics.fmean(every):7.1f} µs/message "
        f"(median {statistics.median(every):7.1f}, p99 {p99:7.1f})"
    )


if __name__ == "__main__":
    main()

""" "People also ask": how often the customer's actual next question was among the buttons.

There is no real log of conversations, so one is **generated** from the bundled knowledge base
(``knowledge_base/data/brightcart.yaml``, 96 entries in 8 topics: orders, shipping, returns, …).
The generator is a hidden model the recommender does not see; it is described here in full
because the figures depend on it:

* **Topic transitions.** Every entry gets ``SUCCESSORS`` plausible follow-up entries, drawn at
  random (seeded): two from its own topic (``orders-tracking`` → another ``orders-…`` or
  ``shipping-…`` entry of the same tag) and one from any other topic, with weights 0.5 / 0.3 /
  0.2. They are *not* chosen by embedding similarity, so the nearest-entries baseline gets no
  help from how the log was made.
* **Customers with their own preferences.** Each customer has ``FAVOURITES`` favourite entries
  (drawn by a Zipf popularity over entries, the same for everyone) they keep coming back to.
* **A session** (one conversation) starts at a favourite (half the time) or a popular entry, and
  goes on for 1–5 more questions (geometric). Each next question is a successor of the current
  entry with probability ``P_SUCCESSOR``, one of the customer's favourites with ``P_FAVOURITE``,
  and otherwise a popular entry (noise). An entry already answered in the session is not asked
  again (drawn anew). Questions are 1–6 minutes apart; sessions are days apart.
* **Train / held-out.** ``--customers`` customers have ``--sessions`` sessions each; the last
  session of every customer is held out, and ``--new`` customers appear only in the held-out
  set (no history of their own).

Learning goes through the product: every answer of a train session is an ``answered`` domain
event recorded through ``LearningRecorder`` into a ``RedisEventLog`` (fakeredis), which updates
the co-occurrence counts and the customer's own counts exactly as in production. Held-out sessions
are replayed the same way, predict-then-learn: after each answer the buttons are asked for
(``RelatedQuestions.suggest``, the real code), compared with the question that actually came next,
and only then is that question's answer recorded. Variants scored on the same state:

* **co-occurrence + personal**: the product's ranking (``RELATED__PERSONAL_WEIGHT``, 0.25),
  and the same signals ranked at other personal weights (``--sweep``);
* **co-occurrence only**: personal weight 0;
* **nearest only**: the fallback alone — the entries nearest to the answered one by embedding
  (all-MiniLM-L6-v2, the product's retriever) — what the bot would offer without learning.

Since the hidden model *has* the shape the recommender assumes (a successor structure plus
personal favourites), the figures say that the code learns what is there and how fast, not how
real customers behave: real logs would be noisier.

Usage:
  python benchmarks/related_questions.py [--customers 600] [--sessions 4] [--new 150] [--seed 7]
      [--p-successor 0.6] [--p-favourite 0.2] [--personal-weight W] [--sweep W ...]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fakeredis

from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.services.live import LiveModels
from bot.services.related import LearningRecorder, RelatedQuestions, rank_related
from bot.settings import RelatedSettings, Settings
from bot.store import Stores, new_id
from knowledge_base import bundled_path, load_knowledge_base
from knowledge_base.model import KnowledgeBase
from models.generator import VerbatimGenerator
from retrieval import FaqRetriever, SentenceTransformerEmbedder

SUCCESSORS = 3
SUCCESSOR_WEIGHTS = (0.5, 0.3, 0.2)
FAVOURITES = 3
P_SUCCESSOR = 0.6  # defaults of --p-successor / --p-favourite; the rest: a popular entry
P_FAVOURITE = 0.2
ZIPF = 1.0
K = 3
DAY = 24 * 3600.0


@dataclass
class World:
    """The hidden model: successors per entry, popularity, favourites per customer."""

    entries: list[str]
    successors: dict[str, list[str]]
    popularity: list[float]
    favourites: dict[int, list[str]]

    def popular(self, rng: random.Random) -> str:
        return rng.choices(self.entries, self.popularity)[0]


def topic(entry_id: str) -> str:
    return entry_id.split("-", 1)[0]


def make_world(kb: KnowledgeBase, customers: list[int], rng: random.Random) -> World:
    entries = [e.id for e in kb.entries]
    by_topic: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        by_topic[topic(e)].append(e)
    successors = {}
    for e in entries:
        same = [x for x in by_topic[topic(e)] if x != e]
        other = [x for x in entries if topic(x) != topic(e)]
        successors[e] = [*rng.sample(same, 2), rng.choice(other)]
    order = entries[:]
    rng.shuffle(order)
    rank = {e: i + 1 for i, e in enumerate(order)}
    popularity = [1 / rank[e] ** ZIPF for e in entries]
    favourites = {}
    for c in customers:
        chosen: list[str] = []
        while len(chosen) < FAVOURITES:
            e = rng.choices(entries, popularity)[0]
            if e not in chosen:
                chosen.append(e)
        favourites[c] = chosen
    return World(entries, successors, popularity, favourites)


def session(
    world: World, customer: int, rng: random.Random, p_successor: float, p_favourite: float
) -> list[str]:
    """One conversation: the entries asked, in order, none twice."""
    first = rng.choice(world.favourites[customer]) if rng.random() < 0.5 else world.popular(rng)
    asked = [first]
    more = 1
    while more < 5 and rng.random() < 0.7:
        more += 1
    for _ in range(more):
        for _attempt in range(20):
            roll = rng.random()
            if roll < p_successor:
                nxt = rng.choices(world.successors[asked[-1]], SUCCESSOR_WEIGHTS)[0]
            elif roll < p_successor + p_favourite:
                nxt = rng.choice(world.favourites[customer])
            else:
                nxt = world.popular(rng)
            if nxt not in asked:
                asked.append(nxt)
                break
    return asked


def answered(chat: int, entry: str, at: float) -> DomainEvent:
    return DomainEvent(
        EventKind.ANSWERED, chat_id=chat, answer_id=new_id(), entry_id=entry, source="faq", at=at
    )


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    kb = load_knowledge_base(bundled_path())
    returning = list(range(1, args.customers + 1))
    newcomers = list(range(args.customers + 1, args.customers + args.new + 1))
    world = make_world(kb, returning + newcomers, rng)

    started = time.perf_counter()
    retriever = FaqRetriever(SentenceTransformerEmbedder())
    retriever.warm_up()
    retriever.load(kb)
    loaded = time.perf_counter() - started

    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    stores = Stores.build(redis, "bench", history_ttl_hours=24, history_max_turns=20)
    live = LiveModels(retriever, VerbatimGenerator(), kb=kb)
    settings = Settings(_env_file=None, related={"personal_weight": args.personal_weight})
    related = RelatedQuestions.build(live, stores, settings)
    recorder = LearningRecorder(RedisEventLog(stores.redis, stores.keys), related)
    # Train: every returning customer's sessions but the last, in time order.
    t0 = 1_700_000_000.0
    held_out: list[tuple[int, list[str], float]] = []
    train_events = 0
    timeline: list[tuple[float, int, list[str]]] = []
    for c in returning:
        for s in range(args.sessions):
            at = t0 + s * 3 * DAY + rng.uniform(0, DAY)
            timeline.append((at, c, session(world, c, rng, args.p_successor, args.p_favourite)))
    timeline.sort()
    last_of = {c: max(at for at, cc, _ in timeline if cc == c) for c in returning}
    learn_started = time.perf_counter()
    for at, c, asked in timeline:
        if at == last_of[c]:
            held_out.append((c, asked, at))
            continue
        for entry in asked:
            await recorder.record(answered(c, entry, at))
            train_events += 1
            at += rng.uniform(60, 360)
    for c in newcomers:
        held_out.append(
            (
                c,
                session(world, c, rng, args.p_successor, args.p_favourite),
                t0 + args.sessions * 3 * DAY,
            )
        )
    learned = time.perf_counter() - learn_started

    # Held-out: predict, then learn, one answer at a time. The product's ``suggest`` gives the
    # buttons at the configured weight; the same signals ranked at other weights give the sweep.
    weights = sorted({0.0, args.personal_weight, *args.sweep})
    variants = [*(f"w={w:g}" for w in weights), "nearest"]
    hits = {name: {"returning": [0, 0], "new": [0, 0]} for name in variants}
    eval_started = time.perf_counter()
    for c, asked, at in held_out:
        group = "new" if c in newcomers else "returning"
        for current, actual in itertools.pairwise(asked):
            event = answered(c, current, at)
            await recorder.record(event)
            at += rng.uniform(60, 360)
            product = [e.id for e in await related.suggest(c, event.answer_id, current)]
            signals = await related.repository.signals(c, current)
            nearest = retriever.nearest_entries(current, 10)
            exclude = {current, *signals.conversation}
            offered = {
                f"w={w:g}": rank_related(
                    signals.following,
                    signals.asked,
                    nearest,
                    exclude=exclude,
                    k=K,
                    personal_weight=w,
                )
                for w in weights
            }
            assert offered[f"w={args.personal_weight:g}"] == product  # the product's ranking
            offered["nearest"] = rank_related(
                {}, {}, nearest, exclude=exclude, k=K, personal_weight=0
            )
            for name, buttons in offered.items():
                hits[name][group][0] += actual in buttons
                hits[name][group][1] += 1
    evaluated = time.perf_counter() - eval_started
    transitions = hits["nearest"]["returning"][1] + hits["nearest"]["new"][1]

    noise = 1 - args.p_successor - args.p_favourite
    print(
        f"knowledge base: {len(kb)} entries; seed {args.seed}; next question: successor "
        f"{args.p_successor:.0%}, favourite {args.p_favourite:.0%}, popular {noise:.0%}"
    )
    print(
        f"train: {len(returning)} customers × {args.sessions - 1} sessions, "
        f"{train_events} answered events; held-out: {len(held_out)} sessions "
        f"({args.new} of new customers), {transitions} next questions"
    )
    print(
        f"time: model + index {loaded:.1f}s, learning {learned:.1f}s "
        f"({train_events / learned:.0f} events/s), evaluation {evaluated:.1f}s"
    )
    print(f"\nhit rate @{K} (the actual next question among the buttons)")
    print(f"{'variant':<36}{'all':>8}{'returning':>11}{'new':>8}")
    labels = {
        name: (f"co-occurrence + personal {name}" if name != "w=0" else "co-occurrence only (w=0)")
        for name in variants[:-1]
    }
    labels[f"w={args.personal_weight:g}"] += " *"
    labels["nearest"] = "nearest only (baseline)"
    for name, label in labels.items():
        ret, new = hits[name]["returning"], hits[name]["new"]
        total = (ret[0] + new[0]) / max(1, ret[1] + new[1])
        print(
            f"{label:<36}{total:>8.1%}{ret[0] / max(1, ret[1]):>11.1%}"
            f"{new[0] / max(1, new[1]):>8.1%}"
        )
    print("* the product's setting (RELATED__PERSONAL_WEIGHT); w: the personal weight")
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--sessions", type=int, default=4, help="per customer, the last held out")
    parser.add_argument("--new", type=int, default=150, help="held-out customers with no history")
    parser.add_argument("--personal-weight", type=float, default=RelatedSettings().personal_weight)
    parser.add_argument("--sweep", type=float, nargs="*", default=[0.1, 0.5, 1.0])
    parser.add_argument("--p-successor", type=float, default=P_SUCCESSOR)
    parser.add_argument("--p-favourite", type=float, default=P_FAVOURITE)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

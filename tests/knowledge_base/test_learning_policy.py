"""The learning policy: which confirmed questions become phrasings, which go to an operator."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.learning import (
    Action,
    Candidate,
    Evidence,
    LearningRules,
    Neighbours,
    Verdict,
    judge,
    neighbours,
    should_withdraw,
)

RULES = LearningRules()
CLEAR = Neighbours(own=0.80, other=0.40, other_entry="fees", out_of_scope=0.10)


def candidate(
    evidence: Evidence = Evidence.THUMBS_UP,
    confidence: float = 0.95,
    text: str = "where is my card",
) -> Candidate:
    return Candidate(
        text=text, entry_id="card-arrival", evidence=evidence, customer="c1", confidence=confidence
    )


def verdict(
    cand: Candidate | None = None,
    near: Neighbours = CLEAR,
    rules: LearningRules = RULES,
    *,
    customers: int = 10,
    today: int = 0,
) -> Verdict:
    return judge(cand or candidate(), near, rules, entry_customers=customers, customer_today=today)


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_strong_confirmation_is_added() -> None:
    assert verdict() == Verdict(Action.ADD, "confirmed")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"rules": LearningRules(enabled=False)}, Verdict(Action.SKIP, "disabled")),
        ({"cand": candidate(text="   ")}, Verdict(Action.SKIP, "empty")),
        ({"today": RULES.per_customer_per_day}, Verdict(Action.SKIP, "customer_cap")),
        (
            {"near": Neighbours(own=0.99, other=0.4, other_entry="fees", out_of_scope=0.1)},
            Verdict(Action.SKIP, "duplicate"),
        ),
        (
            {"near": Neighbours(own=0.7, other=0.4, other_entry="fees", out_of_scope=0.95)},
            Verdict(Action.SKIP, "out_of_scope"),
        ),
        (
            {"near": Neighbours(own=0.95, other=0.93, other_entry="fees", out_of_scope=0.1)},
            Verdict(Action.SUGGEST, "near_other_entry"),
        ),
        (
            {
                "cand": candidate(Evidence.DID_YOU_MEAN),
                "near": Neighbours(own=0.60, other=0.70, other_entry="fees", out_of_scope=0.1),
            },
            Verdict(Action.SUGGEST, "near_other_entry"),
        ),
        ({"cand": candidate(confidence=0.1)}, Verdict(Action.SUGGEST, "low_confidence")),
        ({"customers": 1}, Verdict(Action.SUGGEST, "few_customers")),
        ({"rules": LearningRules(auto_add=False)}, Verdict(Action.SUGGEST, "auto_add_off")),
    ],
)
def test_each_rule_has_its_verdict(change: dict, expected: Verdict) -> None:
    assert verdict(**change) == expected


def test_flood_from_one_customer_never_adds() -> None:
    """One customer's 👍 alone never adds, however confident, and a flood is capped per day."""
    assert verdict(customers=1).action is Action.SUGGEST
    many = [verdict(today=n, customers=1) for n in range(20)]
    assert not any(v.action is Action.ADD for v in many)
    assert sum(v.reason == "customer_cap" for v in many) == 20 - RULES.per_customer_per_day


def test_did_you_mean_choice_has_its_own_confidence_floor() -> None:
    below_answer = RULES.min_choice_confidence + 0.01
    assert below_answer < RULES.min_confidence
    assert verdict(candidate(Evidence.DID_YOU_MEAN, below_answer)).action is Action.ADD
    assert verdict(candidate(Evidence.THUMBS_UP, below_answer)).reason == "low_confidence"


def test_agent_evidence_needs_no_other_customers_unless_asked() -> None:
    agent = candidate(Evidence.AGENT, confidence=1.0)
    assert verdict(agent, customers=1, today=50) == Verdict(Action.ADD, "confirmed")
    strict = LearningRules(agent_needs_customers=True)
    assert verdict(agent, rules=strict, customers=1).reason == "few_customers"


def test_already_there_is_skipped_before_it_reaches_an_operator() -> None:
    """A duplicate is never queued, even when automatic adds are off."""
    near = Neighbours(own=0.995, other=0.2, other_entry="fees", out_of_scope=0.0)
    assert verdict(near=near, rules=LearningRules(auto_add=False)).action is Action.SKIP


@pytest.mark.parametrize(
    "bad",
    [
        {"min_customers": 0},
        {"per_customer_per_day": 0},
        {"withdraw_after_downvotes": 0},
        {"min_confidence": 1.5},
        {"duplicate_similarity": -2.0},
        {"min_margin": 3.0},
    ],
)
def test_rules_reject_impossible_values(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        LearningRules(**bad)


def test_neighbours_split_own_other_and_out_of_scope() -> None:
    rows = np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(0, 1, 0), unit(0, 0, 1)])
    entries = ["a", "a", "b", "c"]
    oos = np.stack([unit(1, 0, 1)])
    near = neighbours(unit(1, 0.2, 0), rows, entries, "a", oos)
    q = unit(1, 0.2, 0)
    assert near.own == pytest.approx(float(rows[0] @ q), abs=1e-6)
    assert near.other == pytest.approx(float(rows[2] @ q), abs=1e-6)
    assert near.other_entry == "b"
    assert near.out_of_scope == pytest.approx(float(oos[0] @ q), abs=1e-6)
    assert near.margin == pytest.approx(near.own - near.other)


def test_neighbours_of_a_new_entry_and_without_out_of_scope() -> None:
    rows = np.stack([unit(0, 1, 0)])
    near = neighbours(unit(1, 0, 0), rows, ["b"], "new", None)
    assert (near.own, near.other_entry, near.out_of_scope) == (0.0, "b", 0.0)
    alone = neighbours(unit(1, 0, 0), np.zeros((0, 3), np.float32), [], "a", None)
    assert alone == Neighbours(own=0.0, other=0.0, other_entry=None, out_of_scope=0.0)


def test_neighbours_reject_mismatched_inputs() -> None:
    rows = np.stack([unit(1, 0, 0), unit(0, 1, 0)])
    with pytest.raises(ValueError, match="entry ids"):
        neighbours(unit(1, 0, 0), rows, ["a"], "a", None)
    with pytest.raises(ValueError, match="do not match"):
        neighbours(unit(1, 0), rows, ["a", "b"], "a", None)


def test_downvotes_withdraw_a_learned_phrasing() -> None:
    rules = LearningRules(withdraw_after_downvotes=2)
    assert not should_withdraw(1, 0, rules)
    assert should_withdraw(2, 0, rules)
    assert not should_withdraw(2, 5, rules)  # it keeps helping: one wrong 👎 is not enough
    assert should_withdraw(6, 5, rules)
    assert should_withdraw(
        2, 5, LearningRules(withdraw_after_downvotes=2, withdraw_only_outvoted=False)
    )


def test_a_choice_must_be_nearer_its_entry_than_an_answer_needs_to_be() -> None:
    """A button pressed by mistake names an entry nearer to another one; a confident answer's 👍
    is trusted unless the rules ask for a margin too."""
    nearer_other = Neighbours(own=0.60, other=0.70, other_entry="fees", out_of_scope=0.1)
    assert verdict(candidate(Evidence.THUMBS_UP), nearer_other).action is Action.ADD
    assert verdict(candidate(Evidence.DID_YOU_MEAN), nearer_other).reason == "near_other_entry"
    strict = LearningRules(min_margin=0.0)
    assert verdict(candidate(), nearer_other, strict).reason == "near_other_entry"


def test_neighbours_can_leave_out_the_rejected_entry() -> None:
    """A choice made after a 👎 is near the rejected entry by construction: with ``exclude`` its
    phrasings are not "another entry's", so the margin rule compares with the rest only."""
    rows = np.stack([unit(0.2, 1, 0), unit(1, 0.2, 0), unit(1, -1, 0), unit(0, 0, 1)])
    entries = ["chosen", "rejected", "rejected", "third"]
    q = unit(1, 0.8, 0.3)  # cosines ≈ 0.75 (chosen), 0.86 (rejected), 0.23 (third)
    plain = neighbours(q, rows, entries, "chosen", None)
    assert plain.other_entry == "rejected" and plain.margin < 0.0
    near = neighbours(q, rows, entries, "chosen", None, exclude="rejected")
    assert near.own == pytest.approx(plain.own)
    assert near.other_entry == "third"
    assert near.other == pytest.approx(float(rows[3] @ q), abs=1e-6)
    assert near.margin > 0.0
    choice = candidate(Evidence.DID_YOU_MEAN, confidence=0.6)
    assert verdict(choice, plain).reason == "near_other_entry"
    assert verdict(choice, near) == Verdict(Action.ADD, "confirmed")
    # Leaving out every other entry: nothing else to be near; the own entry is never left out.
    alone = neighbours(q, rows[:3], entries[:3], "chosen", None, exclude="rejected")
    assert (alone.other, alone.other_entry) == (0.0, None)
    assert neighbours(q, rows, entries, "chosen", None, exclude="chosen") == plain

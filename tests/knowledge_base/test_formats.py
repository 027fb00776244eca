"""Import and export of every format; an invalid file is refused whole with every problem listed."""

from __future__ import annotations

import json

import pytest

from knowledge_base import KnowledgeBase, KnowledgeBaseError
from knowledge_base.formats import export_knowledge_base
from knowledge_base.loaders import parse_knowledge_base
from tests.conftest import SMALL_KB

MARKDOWN = """# Shop FAQ

## How long does delivery take? {#delivery}

Standard delivery takes 3–5 business days.

- express: 1–2 days

Also asked as:
- When will my order arrive?
- shipping time?

Tags: shipping, orders

## How do I return an item?

Go to https://shop.example/returns.
"""


def test_markdown_heading_per_question_body_as_answer() -> None:
    kb = parse_knowledge_base(MARKDOWN, ".md", "faq.md")
    assert [e.id for e in kb] == ["delivery", "how-do-i-return-an-item"]
    delivery = kb["delivery"]
    assert delivery.question == "How long does delivery take?"
    assert delivery.answer == "Standard delivery takes 3–5 business days.\n\n- express: 1–2 days"
    assert delivery.alternatives == ("When will my order arrive?", "shipping time?")
    assert delivery.tags == ("shipping", "orders")
    assert kb["how-do-i-return-an-item"].answer == "Go to https://shop.example/returns."


@pytest.mark.parametrize(
    "fmt,suffix", [("yaml", ".yaml"), ("jsonl", ".jsonl"), ("csv", ".csv"), ("md", ".md")]
)
def test_every_format_round_trips(fmt: str, suffix: str) -> None:
    text = export_knowledge_base(SMALL_KB, fmt)
    back = parse_knowledge_base(text, suffix, f"kb{suffix}")
    assert back.entries == SMALL_KB.entries


BROKEN = {
    "broken.csv": (
        "id,question,answer,alternatives,tags\n"
        "ok,What is it?,A thing.,,\n"
        ",No id here?,Answer.,,\n"
        "two,,Missing question.,,\n"
        "ok,Duplicate id?,Yes.,,\n",
        [
            "broken.csv:3: id: missing or empty",
            "broken.csv:4: question: missing or empty",
            "broken.csv:5: id: duplicate id 'ok' (first at line 2)",
        ],
    ),
    "broken.jsonl": (
        json.dumps({"id": "a", "question": "Q?", "answer": "A."}) + "\n"
        "{not json\n"
        + json.dumps({"id": "b", "question": "Q2?"})
        + "\n"
        + json.dumps({"id": "c", "question": 5, "answer": "A.", "alternatives": [1]})
        + "\n",
        [
            "broken.jsonl:2: json:",
            "broken.jsonl:3: answer: missing or empty",
            "broken.jsonl:4: question: expected text, got int",
            "broken.jsonl:4: alternatives: expected a list of texts",
        ],
    ),
    "broken.yaml": (
        "entries:\n  - id: a\n    question: Q?\n    answer: A.\n"
        "  - id: b\n    question: Q2?\n  - id: 'with space'\n    question: Q3?\n    answer: A3\n",
        [
            "broken.yaml:5: answer: missing or empty",
            "broken.yaml:7: id: 'with space' is not a valid id",
        ],
    ),
    "broken.md": (
        "## First question {#first}\n\nAn answer.\n\n## Second question {#first}\n\nAnother.\n\n"
        "## Third question\n\n",
        [
            "broken.md:5: id: duplicate id 'first' (first at line 1)",
            "broken.md:9: answer: missing or empty",
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_list_every_problem(name: str) -> None:
    text, expected = BROKEN[name]
    with pytest.raises(KnowledgeBaseError) as info:
        parse_knowledge_base(text, "." + name.rsplit(".", 1)[1], name)
    problems = info.value.problems
    assert len(problems) == len(expected), problems
    for want, got in zip(expected, problems, strict=True):
        assert got.startswith(want), (want, got)


def test_an_export_masks_customers_personal_data_in_out_of_scope_questions() -> None:
    kb = KnowledgeBase(SMALL_KB.entries, out_of_scope=("my e-mail dana.k@example.org is hacked",))
    exported = export_knowledge_base(kb, "yaml")
    assert "dana.k@example.org" not in exported
    assert "my e-mail [email] is hacked" in exported
    assert parse_knowledge_base(exported, ".yaml").out_of_scope == ("my e-mail [email] is hacked",)

"""Knowledge-base files: each format loads; an invalid file is refused whole with file:line: field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge_base import KnowledgeBaseError, bundled_path, load_knowledge_base
from knowledge_base.loaders import load_out_of_scope, load_queries

Writer = Callable[[str, str], Path]

# One entry in four lines: an out-of-scope section after it starts at line 5.
ONE_ENTRY_YAML = (
    "entries:\n"
    "  - id: returns\n"
    "    question: How do I return an item?\n"
    "    answer: Within 30 days.\n"
)


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Writes a UTF-8 file into the test's own folder and returns its path."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write_file


def test_bundled_knowledge_base_is_complete() -> None:
    kb = load_knowledge_base(bundled_path())
    assert len(kb) >= 60
    assert all(len(entry.alternatives) >= 3 for entry in kb)
    tags = {entry.tags[0] for entry in kb}
    assert {"orders", "shipping", "returns", "payments", "account", "troubleshooting"} <= tags


def test_yaml_jsonl_and_csv_load_the_same_entry(write: Writer) -> None:
    yaml_path = write(
        "kb.yaml",
        "entries:\n  - id: ship\n    question: How long is shipping?\n"
        '    alternatives: ["delivery time?", when does it come]\n'
        "    answer: 3-5 days.\n    tags: [shipping]\n",
    )
    jsonl_path = write(
        "kb.jsonl",
        json.dumps(
            {
                "id": "ship",
                "question": "How long is shipping?",
                "alternatives": ["delivery time?", "when does it come"],
                "answer": "3-5 days.",
                "tags": ["shipping"],
            }
        )
        + "\n",
    )
    csv_path = write(
        "kb.csv",
        "id,question,answer,alternatives,tags\n"
        'ship,How long is shipping?,3-5 days.,"delivery time?|when does it come",shipping\n',
    )
    loaded = [load_knowledge_base(p) for p in (yaml_path, jsonl_path, csv_path)]
    assert loaded[0].entries == loaded[1].entries == loaded[2].entries
    assert loaded[0]["ship"].phrasings == (
        "How long is shipping?",
        "delivery time?",
        "when does it come",
    )


def test_shared_dataset_format_without_alternatives(write: Writer) -> None:
    path = write(
        "kb.jsonl",
        '{"id": "bank:card_arrival", "question": "Where is my card?", "answer": "[x]", '
        '"tags": ["bank"]}\n'
        '{"id": "bank:pin?", "question": "How do I get my PIN?", "answer": "[y]", "tags": []}\n',
    )
    kb = load_knowledge_base(path)
    assert [e.id for e in kb] == ["bank:card_arrival", "bank:pin?"]


def test_invalid_yaml_lists_every_problem_with_its_line(write: Writer) -> None:
    path = write(
        "bad.yaml",
        "entries:\n"
        "  - id: a\n    question: Q1\n    answer: A1\n"  # line 2: fine
        "  - id: a\n    question: Q2\n    answer: A2\n"  # line 5: duplicate id
        "  - id: c\n    question: ''\n    answer: A3\n"  # line 8: empty question (line 9)
        "  - id: d\n    question: Q4\n    answer: [not, text]\n",  # line 11: answer not text
    )
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(path)
    problems = info.value.problems
    assert f"{path}:5: id: duplicate id 'a' (first at line 2)" in problems
    assert f"{path}:9: question: missing or empty" in problems
    assert f"{path}:13: answer: expected text, got list" in problems
    assert len(problems) == 3


def test_invalid_jsonl_and_csv_rows(write: Writer) -> None:
    jsonl = write(
        "bad.jsonl",
        '{"id": "x", "question": "Q", "answer": "A"}\n{"id": "y", "question": "Q"\n'
        '{"id": "z", "answer": "A"}\n',
    )
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(jsonl)
    assert info.value.problems[0].startswith(f"{jsonl}:2: json:")
    assert f"{jsonl}:3: question: missing or empty" in info.value.problems

    csv_path = write("bad.csv", "id,question\nx,Q\n")
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(csv_path)
    assert info.value.problems == [f"{csv_path}:1: header: missing column(s) answer"]


def test_broken_yaml_syntax_and_unsupported_files(write: Writer, tmp_path: Path) -> None:
    broken = write("broken.yaml", "entries:\n  - id: a\n   question: [\n")
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(broken)
    assert info.value.problems[0].startswith(f"{broken}:")
    with pytest.raises(KnowledgeBaseError, match=r"unsupported format \.txt"):
        load_knowledge_base(write("kb.txt", "hello"))
    with pytest.raises(KnowledgeBaseError, match="file not found"):
        load_knowledge_base(tmp_path / "missing.yaml")
    with pytest.raises(KnowledgeBaseError, match="no entries"):
        load_knowledge_base(write("empty.jsonl", "\n"))
    binary = tmp_path / "kb.csv"
    binary.write_bytes(b"\xff\xfe\x00id")
    with pytest.raises(KnowledgeBaseError, match="not UTF-8"):
        load_knowledge_base(binary)


def test_queries_file(write: Writer) -> None:
    path = write(
        "q.jsonl",
        '{"text": "where is my card", "faq_id": "a"}\n{"text": "weather?", "faq_id": null}\n',
    )
    queries = load_queries(path)
    assert [(q.text, q.faq_id) for q in queries] == [("where is my card", "a"), ("weather?", None)]
    bad = write("bad.jsonl", '{"faq_id": "a"}\n')
    with pytest.raises(KnowledgeBaseError, match=r"bad\.jsonl:1: text: missing or empty"):
        load_queries(bad)


def test_out_of_scope_questions_file(write: Writer, tmp_path: Path) -> None:
    text = write(
        "oos.txt",
        "# not ours\nwho won the match\n\nwrite me a poem\nwho won the match\n",
    )
    assert load_out_of_scope(text) == ["who won the match", "write me a poem"]
    rows = write("oos.jsonl", '{"text": "tell me a joke", "faq_id": null}\n{"text": "a poem"}\n')
    assert load_out_of_scope(rows) == ["tell me a joke", "a poem"]
    answerable = write("bad.jsonl", '{"text": "where is my parcel", "faq_id": "x"}\n')
    with pytest.raises(KnowledgeBaseError, match="out-of-scope rows must have none"):
        load_out_of_scope(answerable)
    with pytest.raises(KnowledgeBaseError, match="file not found"):
        load_out_of_scope(tmp_path / "missing.txt")


def test_yaml_out_of_scope_section_loads_and_exports(write: Writer) -> None:
    from knowledge_base.formats import export_knowledge_base

    text = ONE_ENTRY_YAML + (
        "out_of_scope:\n  - Where can I eat near your store?\n  - Do   you sell cars?\n"
    )
    kb = load_knowledge_base(write("kb.yaml", text))
    assert kb.out_of_scope == ("Where can I eat near your store?", "Do you sell cars?")
    again = load_knowledge_base(write("again.yaml", export_knowledge_base(kb, "yaml")))
    assert again.entries == kb.entries and again.out_of_scope == kb.out_of_scope
    # Formats without a place for the list export the entries only.
    assert "cars" not in export_knowledge_base(kb, "jsonl")


def test_bad_out_of_scope_section_is_refused_with_lines(write: Writer) -> None:
    text = ONE_ENTRY_YAML + (
        "out_of_scope:\n"  # line 5
        "  - Do you sell cars?\n"
        "  - ''\n"  # line 7: empty
        "  - do you sell CARS?\n"  # line 8: the question of line 6 again
        "  - [not, text]\n"  # line 9: not a question
    )
    path = write("kb.yaml", text)
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(path)
    assert caught.value.problems == [
        f"{path}:7: out_of_scope: expected a non-empty question",
        f"{path}:8: out_of_scope: 'do you sell CARS?' repeats line 6",
        f"{path}:9: out_of_scope: expected a non-empty question",
    ]
    not_a_list = "entries:\n  - {id: a, question: 'q?', answer: a.}\nout_of_scope: cars\n"
    with pytest.raises(KnowledgeBaseError, match=":3: out_of_scope: expected a list"):
        load_knowledge_base(write("kb2.yaml", not_a_list))

"""``supportbot kb …`` against the real Redis: import/export, edits, history, diff, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def kb(*args: str) -> int:
    return main(["kb", "--author", "ops-alice", *args])


def test_cli_edits_history_diff_rollback(kb_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert kb("list") == 0
    assert "v1: 4 entries" in capsys.readouterr().out
    assert (
        kb("add", "gift-cards", "--question", "Do you sell gift cards?", "--answer", "Yes.") == 0
    )
    assert kb("edit", "return-item", "--answer", "60 days, free.") == 0
    assert kb("phrasing", "add", "gift-cards", "voucher?") == 0
    assert kb("phrasing", "remove", "return-item", "return policy") == 0
    out = capsys.readouterr().out
    assert "v2: added 1: gift-cards" in out and "v5: changed 1: return-item" in out
    assert kb("history", "-n", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("v5 · ") and "ops-alice" in lines[0]
    assert kb("diff", "1", "5") == 0
    out = capsys.readouterr().out
    assert "+ gift-cards: Do you sell gift cards?" in out
    assert "alternatives - return policy" in out and "answer: You can return" in out
    assert kb("rollback", "1") == 0
    assert "v6: changed 1: return-item; removed 1: gift-cards" in capsys.readouterr().out
    assert kb("delete", "nope") == 2
    assert "no entry 'nope'" in capsys.readouterr().err
    assert kb("diff", "1", "99") == 2


def test_cli_import_is_all_or_nothing_and_export_round_trips(
    kb_env: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = kb_env / "broken.yaml"
    broken.write_text(
        "entries:\n  - id: a\n    question: Q?\n  - question: Q2?\n    answer: A2\n"
        "  - id: c\n    question: Q3?\n    answer: A3\n    alternatives: 5\n",
        encoding="utf-8",
    )
    assert kb("import", str(broken), "--no-check") == 2
    err = capsys.readouterr().err
    assert f"{broken}:2: answer: missing or empty" in err
    assert f"{broken}:4: id: missing or empty" in err
    assert f"{broken}:9: alternatives: expected a list of texts" in err
    assert kb("history") == 0
    assert capsys.readouterr().out.count("\n") == 1  # only the initial version
    for fmt in ("yaml", "jsonl", "csv", "md"):
        assert kb("export", f"out.{fmt}") == 0
        assert kb("import", f"out.{fmt}", "--replace", "--no-check") == 0
        assert "Nothing changed" in capsys.readouterr().out
    md = kb_env / "new.md"
    md.write_text("## Do you ship to Norway? {#norway}\n\nYes, in 5–7 days.\n", encoding="utf-8")
    assert kb("import", str(md), "--no-check") == 0
    assert "v2: added 1: norway" in capsys.readouterr().out
    assert kb("import", str(md), "--no-check") == 0
    assert "Nothing changed" in capsys.readouterr().out  # a re-upload makes no duplicates
    assert kb("export", "out.txt") == 2
    assert capsys.readouterr().err == (
        "supportbot: out.txt: unknown format .txt; use .yaml, .jsonl, .csv or .md\n"
    )


def test_cli_out_of_scope_questions(kb_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert kb("out-of-scope") == 0
    assert "v1: 0 out-of-scope questions" in capsys.readouterr().out
    assert kb("out-of-scope", "add", "Do you sell cars?") == 0
    assert "v2: out of scope +1: “Do you sell cars?”" in capsys.readouterr().out
    assert kb("out-of-scope", "add") == 2
    assert "needs the question" in capsys.readouterr().err
    assert kb("out-of-scope", "add", "return policy") == 2
    assert "is also a phrasing of 'return-item'" in capsys.readouterr().err
    # The YAML export carries the list and imports back without a change.
    assert kb("export", "kb.yaml") == 0
    assert "out_of_scope:\n- Do you sell cars?" in (kb_env / "kb.yaml").read_text()
    assert kb("import", "kb.yaml", "--no-check") == 0
    assert "Nothing changed" in capsys.readouterr().out
    assert kb("out-of-scope", "remove", "do you sell cars?") == 0
    assert kb("out-of-scope", "list") == 0
    assert "v3: 0 out-of-scope questions" in capsys.readouterr().out


def test_cli_drafts_written_approved_and_refused(
    kb_env: Path, capsys: pytest.CaptureFixture
) -> None:
    assert kb("draft", "rewrite", "delivery-time", "steps") == 0
    out = capsys.readouterr().out
    assert out.startswith("📝 DRAFT ") and "not sent to customers" in out
    assert "1. Standard delivery takes 3–5 business days.\n2. Express takes 1–2 days" in out
    draft_id = out.split()[2]
    assert kb("draft", "approve", draft_id) == 0
    assert "→ delivery-time: v2: changed 1: delivery-time" in capsys.readouterr().out
    # A refused rewrite is printed with why, and not kept (exit 2); bad input changes nothing.
    assert kb("draft", "rewrite", "return-item", "steps") == 2
    assert "REFUSED answer (rules): a single step" in capsys.readouterr().out
    assert kb("draft", "copy") == 2
    assert "no facts given" in capsys.readouterr().err
    assert kb("draft", "show", "0123456789") == 2
    assert "no draft '0123456789'" in capsys.readouterr().err
    assert kb("draft", "list") == 0
    assert f"{draft_id} · rewrite · approved" in capsys.readouterr().out
    assert kb("history") == 0
    assert capsys.readouterr().out.startswith("v2 · ")

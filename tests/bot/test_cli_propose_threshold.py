"""``supportbot kb propose-threshold`` against the real Redis and the real MiniLM."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.out_of_scope import UNANSWERABLE


@pytest.fixture
def live_kb(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled knowledge base live in Redis; an out-of-scope file in RETRIEVAL__*."""
    monkeypatch.setenv("RETRIEVAL__EMBEDDER", "minilm")
    monkeypatch.setenv("RETRIEVAL__CACHE_DIR", str(cli_env / "cache"))
    monkeypatch.setenv("RETRIEVAL__OUT_OF_SCOPE_PATH", str(cli_env / "oos.txt"))
    return cli_env


def kb(*args: str) -> int:
    return main(["kb", "--author", "ops-alice", *args])


def test_proposes_a_threshold_with_its_promise(
    live_kb: Path, capsys: pytest.CaptureFixture
) -> None:
    (live_kb / "oos.txt").write_text("\n".join(UNANSWERABLE[:-1]) + "\n", encoding="utf-8")
    assert kb("out-of-scope", "add", UNANSWERABLE[-1]) == 0
    capsys.readouterr()
    assert kb("propose-threshold") == 0
    out = capsys.readouterr().out
    threshold = float(re.search(r"^RETRIEVAL__THRESHOLD=(0\.\d{4}|1\.0000)$", out, re.M)[1])
    assert 0.0 < threshold <= 1.0
    recall = re.search(r"out-of-scope recall on unseen questions: ([\d.]+)% \(95% interval", out)
    assert 90.0 < float(recall[1]) <= 100.0
    assert "at least 90.0% with 95% confidence" in out
    assert re.search(r"in-scope questions: [\d.]+% answered, [\d.]+% answered with the right", out)
    n = len(UNANSWERABLE)
    assert (
        f"evidence (v2): {n} out-of-scope questions (1 in the knowledge base, {n - 1} more" in out
    )
    assert "the current RETRIEVAL__THRESHOLD=0.5500 escalates" in out
    # A less sure promise needs fewer questions and never a higher threshold.
    assert kb("propose-threshold", "--confidence", "0.8") == 0
    out = capsys.readouterr().out
    assert "at least 90.0% with 80% confidence" in out
    assert float(re.search(r"RETRIEVAL__THRESHOLD=([\d.]+)", out)[1]) <= threshold
    # A looser promise never asks for a higher threshold.
    assert kb("propose-threshold", "--recall", "0.5") == 0
    looser = float(re.search(r"RETRIEVAL__THRESHOLD=([\d.]+)", capsys.readouterr().out)[1])
    assert looser <= threshold


def test_too_few_out_of_scope_questions_and_bad_input(
    live_kb: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (live_kb / "oos.txt").write_text("\n".join(UNANSWERABLE[:5]) + "\n", encoding="utf-8")
    assert kb("propose-threshold") == 2
    err = capsys.readouterr().err
    assert "no threshold proposed: 5 out-of-scope questions known (v1: 0 in the knowledge" in err
    assert "at least 29 are needed to promise 90.0% recall with 95% confidence" in err
    assert "RETRIEVAL__THRESHOLD=" not in capsys.readouterr().out
    for bad in ("1", "0", "1.5", "-0.2"):
        assert kb("propose-threshold", "--recall", bad) == 2
        assert f"--recall: expected a share above 0 and below 1 (e.g. 0.9), got {float(bad)}" in (
            capsys.readouterr().err
        )
    assert kb("propose-threshold", "--confidence", "1") == 2
    assert "--confidence: expected a share above 0 and below 1 (e.g. 0.95), got 1.0" in (
        capsys.readouterr().err
    )
    # A missing out-of-scope file is named, and nothing was stored meanwhile.
    monkeypatch.setenv("RETRIEVAL__OUT_OF_SCOPE_PATH", str(live_kb / "missing.txt"))
    assert kb("propose-threshold") == 2
    assert "RETRIEVAL__OUT_OF_SCOPE_PATH:" in capsys.readouterr().err
    assert kb("history") == 0
    assert capsys.readouterr().out.count("\n") == 1  # only the seeded version
    # Without Redis there is no live knowledge base to read.
    monkeypatch.delenv("REDIS__URL")
    assert kb("propose-threshold") == 2
    assert "REDIS__URL: not set" in capsys.readouterr().err


def test_eval_reports_the_recall_to_expect_on_unseen_questions(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from knowledge_base import bundled_path

    def jsonl(name: str, rows: list[tuple[str, str | None]]) -> Path:
        path = tmp_path / name
        path.write_text(
            "".join(json.dumps({"text": t, "faq_id": f}) + "\n" for t, f in rows), "utf-8"
        )
        return path

    train = jsonl("train.jsonl", [(t, None) for t in UNANSWERABLE[:26]])
    dev = jsonl(
        "dev.jsonl",
        [("how can I follow my package", "orders-tracking")]
        + [(t, None) for t in UNANSWERABLE[26:32]],
    )
    queries = jsonl(
        "q.jsonl",
        [("my parcel still hasn't arrived, where is it?", "orders-tracking")]
        + [(t, None) for t in UNANSWERABLE[32:]],
    )
    common = [
        "eval",
        "--kb",
        str(bundled_path()),
        "--queries",
        str(queries),
        "--train",
        str(train),
    ]
    common += ["--dev", str(dev), "--embedder", "minilm", "--json", "--latency-queries", "2"]
    common += ["--cache-dir", str(tmp_path / "cache")]
    assert main(common) == 0
    captured = capsys.readouterr()
    assert (
        "cross-validation over 32 out-of-scope questions (0 knowledge base, 26 train, 6 dev)"
        in (captured.err)
    )
    assert "expected OOS recall (unseen)" in captured.out
    assert "expected in-scope (unseen)" in captured.out
    metrics = json.loads(captured.out.strip().splitlines()[-1])
    assert metrics["oos_questions"] == 32
    low, high = metrics["expected_oos_recall_low"], metrics["expected_oos_recall_high"]
    assert low < 0.9 < metrics["expected_oos_recall"] <= high
    assert metrics["threshold"] > 0
    assert main([*common, "--confidence", "1"]) == 2
    assert "--confidence: expected a share above 0 and below 1, got 1.0" in capsys.readouterr().err
    # The old way on request: dev's point estimate, no promise for unseen questions.
    assert main([*common, "--threshold-method", "point"]) == 0
    captured = capsys.readouterr()
    assert "threshold chosen on dev (7 queries" in captured.err
    assert "expected_oos_recall" not in json.loads(captured.out.strip().splitlines()[-1])

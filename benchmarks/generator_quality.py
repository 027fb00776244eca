"""Generated replies vs the verbatim FAQ baseline on held-out phrasings of the bundled knowledge base.

`supportbot train-generator` holds out one phrasing per entry (with three or more) and saves them
as heldout.jsonl next to the model; this script runs `supportbot eval-generator` on them for the
verbatim baseline and for the fine-tuned generator, and prints the training time from the model's
metadata.

Usage: python benchmarks/generator_quality.py [--model var/generator] [--backend auto]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base import bundled_path  # noqa: E402
from models.smollm import read_metadata, resolve_generator_dir  # noqa: E402

METRICS = ("faithfulness", "draft_faithfulness", "rouge_l", "answer_similarity", "fallback_rate",
           "handoff_rate", "p50_ms", "p99_ms")  # fmt: skip


def evaluate(queries: Path, *extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "eval-generator", "--kb", str(bundled_path()),
         "--queries", str(queries), "--json", *extra],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"eval-generator failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=Path("var/generator"))
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    model_dir = resolve_generator_dir(args.model)
    if model_dir is None:
        sys.exit(
            f"no fine-tuned generator in {args.model}: run `supportbot train-generator` first"
        )
    meta = read_metadata(model_dir)
    queries = model_dir / "heldout.jsonl"
    print(
        f"{model_dir.name}: {meta['method']}, {meta['steps']}/{meta['planned_steps']} steps on "
        f"{meta['examples']} examples, training {meta['train_seconds']:.0f}s "
        f"(total with data and export {meta['seconds']:.0f}s), held-out loss "
        f"{meta['heldout_loss_before']} → {meta['heldout_loss_after']}"
    )
    rows = {
        "verbatim FAQ answer": evaluate(queries, "--verbatim"),
        f"fine-tuned ({args.backend})": evaluate(
            queries, "--model", str(model_dir), "--backend", args.backend
        ),
    }
    n = next(iter(rows.values()))["queries"]
    print(f"held-out phrasings: {n}")
    print(f"{'':<26}" + "".join(f"{m:>20}" for m in METRICS))
    for name, summary in rows.items():
        print(f"{name:<26}" + "".join(f"{summary[m]:>20}" for m in METRICS))


if __name__ == "__main__":
    main()

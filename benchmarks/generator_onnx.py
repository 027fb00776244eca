"""Latency of the reply model on ONNX Runtime, to compare with benchmarks/generator_speed.py.

The decoder is exported with its KV cache by optimum (``text-generation-with-past``) and run by
ONNX Runtime in fp32 and with int8 dynamic quantisation (avx2 kernels), on the same prompts and
with the same 60-token replies (end of sequence suppressed) and thread count as generator_speed.py.

optimum-onnx needs transformers < 4.58 and the product runs on transformers 5, so this script runs
in an environment of its own; the prompts come from the product's environment:

  python3.11 -m venv .venv-onnx
  .venv-onnx/bin/pip install torch==2.13.0 "optimum-onnx[onnxruntime]"
  .venv/bin/python benchmarks/generator_speed.py --dump-prompts var/bench-prompts.json
  .venv-onnx/bin/python benchmarks/generator_onnx.py --model var/generator \
      --prompts var/bench-prompts.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

TOKENS = 60


def model_folder(path: Path) -> Path:
    """A version folder, or a versions folder whose ``LATEST`` names one."""
    latest = path / "LATEST"
    if latest.is_file():
        return path / latest.read_text(encoding="utf-8").strip()
    return path


def staged(model_dir: Path, out: Path) -> Path:
    """The model folder as transformers 4.x reads it.

    transformers 5 names its tokenizer class ``TokenizersBackend``, unknown to 4.x; the same
    ``tokenizer.json`` loads as ``PreTrainedTokenizerFast``. Weights are linked, not copied.
    """
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json"):
        target = out / name
        if not target.exists():
            target.symlink_to((model_dir / name).resolve())
    config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


def export(model_dir: Path, out: Path) -> tuple[Path, Path, float]:
    """fp32 and int8 ONNX exports of the model (reused when present), and the seconds it took."""
    from optimum.onnxruntime import ORTModelForCausalLM, ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    fp32, int8 = out / "fp32", out / "int8"
    started = time.perf_counter()
    if not (fp32 / "model.onnx").is_file():
        model = ORTModelForCausalLM.from_pretrained(model_dir, export=True, use_cache=True)
        model.save_pretrained(fp32)
    if not int8.is_dir():
        quantizer = ORTQuantizer.from_pretrained(fp32)
        config = AutoQuantizationConfig.avx2(is_static=False, per_channel=True)
        quantizer.quantize(save_dir=int8, quantization_config=config)
    return fp32, int8, time.perf_counter() - started


def measure(folder: Path, tokenizer, prompts: list[str], threads: int) -> dict[str, float]:
    import onnxruntime as ort
    from optimum.onnxruntime import ORTModelForCausalLM

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    files = sorted(p.name for p in folder.glob("*.onnx"))
    model = ORTModelForCausalLM.from_pretrained(
        folder, file_name=files[0], session_options=options, use_cache=True
    )

    def generate(prompt: str, tokens: int) -> str:
        inputs = tokenizer(prompt, return_tensors="pt", return_token_type_ids=False)
        out = model.generate(
            **inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False
        )
        return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    generate(prompts[0], 8)  # warm-up
    times = []
    for prompt in prompts:
        started = time.perf_counter()
        generate(prompt, TOKENS)
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "p50_s": statistics.median(times),
        "p90_s": times[int(0.9 * (len(times) - 1))],
        "tokens_per_s": TOKENS / statistics.median(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=Path("var/generator"))
    parser.add_argument("--prompts", type=Path, required=True, help="from generator_speed.py")
    parser.add_argument("--out", type=Path, default=Path(".cache/supportbot/onnx-generator"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    try:
        from transformers import AutoTokenizer
    except ImportError:
        sys.exit("run this in the environment with optimum-onnx (see the module docstring)")
    model_dir = model_folder(args.model)
    if not (model_dir / "config.json").is_file():
        sys.exit(f"{model_dir}: no model here; run `supportbot train-generator` first")
    try:
        prompts = json.loads(args.prompts.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        sys.exit(f"{args.prompts}: cannot read the prompts ({exc})")
    source = staged(model_dir, args.out / model_dir.name / "source")
    tokenizer = AutoTokenizer.from_pretrained(source)
    fp32, int8, seconds = export(source, args.out / model_dir.name)
    print(f"{model_dir.name}: exported to ONNX in {seconds:.0f}s (0 when cached)")
    print(f"{'path':<34}{'p50':>8}{'p90':>8}{'tok/s':>8}")
    for label, folder, layout in (
        ("onnxruntime fp32", fp32, "served"),
        ("onnxruntime fp32, two sources", fp32, "two"),
        ("onnxruntime int8", int8, "served"),
        ("onnxruntime int8, two sources", int8, "two"),
    ):
        r = measure(folder, tokenizer, prompts[layout], args.threads)
        print(
            f"{label:<34}{r['p50_s'] * 1000:>6.0f}ms{r['p90_s'] * 1000:>6.0f}ms"
            f"{r['tokens_per_s']:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

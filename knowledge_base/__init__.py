"""FAQ data of the product: entries, loaders and their validation."""

from __future__ import annotations

from knowledge_base.loaders import KnowledgeBaseError, bundled_path, load_knowledge_base
from knowledge_base.model import FaqEntry, KnowledgeBase

__all__ = [
    "FaqEntry",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "bundled_path",
    "load_knowledge_base",
]

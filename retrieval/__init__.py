"""Finding the FAQ entries that answer a customer's question: embeddings, FAISS, scoring."""

from __future__ import annotations

from retrieval.embedder import Embedder, SentenceTransformerEmbedder
from retrieval.retriever import FaqRetriever, RetrievedFaq, SearchResult

__all__ = [
    "Embedder",
    "FaqRetriever",
    "RetrievedFaq",
    "SearchResult",
    "SentenceTransformerEmbedder",
]

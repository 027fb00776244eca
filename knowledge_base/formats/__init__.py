"""Knowledge-base file formats beyond the loaders: the Markdown reader and exporters for all four."""

from __future__ import annotations

from knowledge_base.formats.export import (
    EXPORT_FORMATS,
    ExportError,
    export_knowledge_base,
    format_for_path,
)

__all__ = ["EXPORT_FORMATS", "ExportError", "export_knowledge_base", "format_for_path"]

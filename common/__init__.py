"""Layer-neutral pieces every package may import: the error hierarchy, shared defaults.

Nothing here imports ``bot/``, ``retrieval/``, ``models/`` or ``knowledge_base/``.
"""

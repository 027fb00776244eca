"""The one place that names the knowledge base's Redis keys (all under ``<prefix>:kb:``).

``prefix`` is the deployment's key prefix as ``bot.store.keys.key_prefix`` writes it: on a Redis
Cluster the hash tag ``{<prefix>}``, which keeps these keys in the slot of the bot's own keys.
"""

from __future__ import annotations


class KbKeys:
    """The one place that names the knowledge base's Redis keys."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix.rstrip(':')}:kb"

    def version(self) -> str:
        return f"{self.base}:version"

    def snapshot(self, number: int) -> str:
        return f"{self.base}:snapshot:{number}"

    def versions(self) -> str:
        return f"{self.base}:versions"

    def events(self) -> str:
        return f"{self.base}:events"

    def gaps(self) -> str:
        return f"{self.base}:gaps"

    def gap_cluster(self, cluster_id: str) -> str:
        """A reported gap cluster held for a button pressed later."""
        return f"{self.base}:gaps:held:{cluster_id}"

    def suggestion(self, suggestion_id: str) -> str:
        return f"{self.base}:suggestion:{suggestion_id}"

    def suggestion_seq(self) -> str:
        return f"{self.base}:suggestion-seq"

    def suggestions_pending(self) -> str:
        return f"{self.base}:suggestions:pending"

    def suggestion_offered(self, ticket_id: str) -> str:
        return f"{self.base}:suggestion-offered:{ticket_id}"

    def model(self) -> str:
        """The published retriever model (see registry.py)."""
        return f"{self.base}:model"

    def generator_model(self) -> str:
        """The published generator model (see registry.py)."""
        return f"{self.base}:generator-model"

    def retrain_request(self) -> str:
        return f"{self.base}:retrain:request"

    def retrain_lock(self) -> str:
        return f"{self.base}:retrain:lock"

    def generator_training_failed(self) -> str:
        """Why the last generator training failed (cleared when one is published): a bot with no
        generator does not start another on its own meanwhile (retrain.py)."""
        return f"{self.base}:retrain:generator-failed"

    # -- drafts for operators

    def draft(self, draft_id: str) -> str:
        return f"{self.base}:draft:{draft_id}"

    def drafts(self) -> str:
        """Every kept draft's id, scored by when it was written."""
        return f"{self.base}:drafts"

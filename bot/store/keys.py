"""The one place that names the bot's Redis keys."""

from __future__ import annotations


class Keys:
    """Every key name of the bot, built from one prefix.

    Two deployments (or a test run) can share a Redis server without touching each other's data.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip(":")

    def history(self, chat_id: int) -> str:
        return f"{self.prefix}:conv:{chat_id}"

    def answer(self, answer_id: str) -> str:
        return f"{self.prefix}:answer:{answer_id}"

    def feedback(self, answer_id: str) -> str:
        return f"{self.prefix}:feedback:{answer_id}"

    def feedback_stats(self) -> str:
        return f"{self.prefix}:stats:feedback"

    def ticket(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{ticket_id}"

    def ticket_seq(self) -> str:
        return f"{self.prefix}:ticket-seq"

    def open_ticket(self, chat_id: int) -> str:
        return f"{self.prefix}:open-ticket:{chat_id}"

    def open_tickets(self) -> str:
        return f"{self.prefix}:tickets:open"

    def heartbeat(self, host: str) -> str:
        return f"{self.prefix}:heartbeat:{host}"

    def ticket_transcript(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{ticket_id}:transcript"

    def ticket_lock(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{ticket_id}:lock"

    def thread_tickets(self) -> str:
        return f"{self.prefix}:tickets:by-thread"

    def dislikes(self, chat_id: int) -> str:
        return f"{self.prefix}:dislikes:{chat_id}"

    def fsm_prefix(self) -> str:
        return f"{self.prefix}:fsm"

    def events(self) -> str:
        return f"{self.prefix}:events"

    def webhook_secret(self) -> str:
        return f"{self.prefix}:webhook-secret"

    def undelivered(self) -> str:
        return f"{self.prefix}:outbox:undelivered"

    def blocked_chat(self, chat_id: int | str) -> str:
        return f"{self.prefix}:outbox:blocked:{chat_id}"

    def rate_limits(self) -> str:
        return f"{self.prefix}:outbox:limits"

    def inbox(self) -> str:
        return f"{self.prefix}:inbox"

    def inbox_dead(self) -> str:
        return f"{self.prefix}:inbox:dead"

    def inbox_update(self, update_id: int) -> str:
        return f"{self.prefix}:inbox:update:{update_id}"

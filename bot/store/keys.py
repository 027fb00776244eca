"""The one place that names the bot's Redis keys.

Every key of a deployment starts with one prefix (``REDIS__PREFIX``): the bot's keys (``Keys``),
the knowledge base's (``KbKeys``, under ``<prefix>:kb:``), aiogram's FSM state and chat locks
(``fsm_prefix``) and the ``limits`` library's rate-limit windows (``rate_limits``).

On a Redis Cluster (``REDIS__CLUSTER=true``) the prefix is written as a hash tag, ``{<prefix>}``
(see ``key_prefix``): Redis hashes only the part between the braces, so every key of a deployment
lives in one hash slot. A MULTI/EXEC, a Lua script or a WATCH transaction on a cluster must keep
to one slot, and ours span a chat's keys, a ticket's keys and the deployment's global sets (a
ticket's hash, the chat's open-ticket pointer and the open-tickets set are written together), so
tags per chat or per ticket could not keep them together. A cluster then spreads deployments
(several businesses, each with its own prefix) over its shards and gives failover; one
deployment's load (a few hundred commands a second per 100 answers a second) is far below what
one shard serves. Off a cluster the names stay ``<prefix>:...``, so data kept on a single server
keeps its names.
"""

from __future__ import annotations


def key_prefix(prefix: str, *, cluster: bool = False) -> str:
    """What every key of the deployment starts with: ``prefix``, or ``{prefix}`` on a cluster."""
    prefix = prefix.rstrip(":")
    return f"{{{prefix}}}" if cluster else prefix


class Keys:
    """Every key name of the bot, built from one prefix (``key_prefix``'s result).

    Two deployments (or a test run) can share a Redis server without touching each other's data.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip(":")

    def history(self, chat_id: int) -> str:
        return f"{self.prefix}:conv:{chat_id}"

    def answer(self, answer_id: str) -> str:
        return f"{self.prefix}:answer:{answer_id}"

    def clarification(self, clarification_id: str) -> str:
        return f"{self.prefix}:clarify:{clarification_id}"

    def chat_clarifications(self, chat_id: int) -> str:
        """The ids of the clarifications a customer was asked (to export or forget them)."""
        return f"{self.prefix}:clarify-of:{chat_id}"

    def chat_answers(self, chat_id: int) -> str:
        """The ids of the answers a customer was sent (to export or forget them)."""
        return f"{self.prefix}:answers-of:{chat_id}"

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

    def chat_tickets(self, chat_id: int) -> str:
        """The ids of every ticket a customer has had (to export or forget them)."""
        return f"{self.prefix}:tickets-of:{chat_id}"

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

    def language(self, user_id: int) -> str:
        """The reply language a customer chose with ``/language``."""
        return f"{self.prefix}:lang:{user_id}"

    def dislikes(self, chat_id: int) -> str:
        return f"{self.prefix}:dislikes:{chat_id}"

    def fsm_prefix(self) -> str:
        return f"{self.prefix}:fsm"

    def events(self) -> str:
        return f"{self.prefix}:events"

    def questions(self) -> str:
        """The questions asked, masked, for the topics report (``bot/services/topics.py``)."""
        return f"{self.prefix}:questions"

    def stats_day(self, day: str) -> str:
        """One day's support figures (``bot/services/rollup.py``), ``day`` as ``YYYY-MM-DD``."""
        return f"{self.prefix}:stats:day:{day}"

    def stats_lock(self) -> str:
        return f"{self.prefix}:stats:lock"

    def webhook_secret(self) -> str:
        return f"{self.prefix}:webhook-secret"

    def undelivered(self) -> str:
        return f"{self.prefix}:outbox:undelivered"

    def blocked_chat(self, chat_id: int | str) -> str:
        return f"{self.prefix}:outbox:blocked:{chat_id}"

    def rate_limits(self) -> str:
        return f"{self.prefix}:outbox:limits"

    def flood(self) -> str:
        """Prefix of the incoming-message counters per customer (``limits`` adds the rest)."""
        return f"{self.prefix}:flood"

    def flood_notice(self, user_id: int) -> str:
        return f"{self.prefix}:flood:notified:{user_id}"

    def abuse_strikes(self, chat_id: int) -> str:
        """Abusive messages of a customer in the current moderation window."""
        return f"{self.prefix}:moderation:strikes:{chat_id}"

    def muted(self, chat_id: int) -> str:
        """A muted customer: until when (epoch seconds), expiring then."""
        return f"{self.prefix}:moderation:muted:{chat_id}"

    def forget_request(self, chat_id: int) -> str:
        """A customer's /forget waiting for its confirmation (minutes)."""
        return f"{self.prefix}:privacy:forget:{chat_id}"

    def privacy_sweep(self) -> str:
        """Held by the worker running the retention sweep (one at a time)."""
        return f"{self.prefix}:privacy:sweep"

    def inbox(self) -> str:
        return f"{self.prefix}:inbox"

    def inbox_dead(self) -> str:
        return f"{self.prefix}:inbox:dead"

    def inbox_update(self, update_id: int) -> str:
        return f"{self.prefix}:inbox:update:{update_id}"

    def user(self, name: str) -> str:
        """A console account (``bot/store/users.py``)."""
        return f"{self.prefix}:user:{name}"

    def users(self) -> str:
        return f"{self.prefix}:users"

    def users_available(self) -> str:
        """Names of the accounts marked available for automatic assignment."""
        return f"{self.prefix}:users:available"

    def assign_pointer(self) -> str:
        """The round-robin counter of automatic assignment (shared by all workers)."""
        return f"{self.prefix}:assign:pointer"

    def user_by_telegram(self) -> str:
        """Telegram user id → console account name (an id belongs to one account)."""
        return f"{self.prefix}:users:by-telegram"

    def login_limits(self) -> str:
        """Prefix of the console's failed-login counters (``limits`` adds the rest)."""
        return f"{self.prefix}:login:limits"

    def canned(self) -> str:
        """The canned replies agents send by name (``bot/store/canned.py``)."""
        return f"{self.prefix}:canned"

    # ---------------------------------------------------------------- related questions

    def related_next(self, entry_id: str) -> str:
        """How often each entry was asked next after ``entry_id`` (a sorted set of counts; ids
        only, no chat)."""
        return f"{self.prefix}:related:next:{entry_id}"

    def related_sources(self) -> str:
        """The entries that have a ``related_next`` set (to rebuild them all)."""
        return f"{self.prefix}:related:sources"

    def related_recent(self, chat_id: int) -> str:
        """The entries answered in a customer's current conversation, scored by when."""
        return f"{self.prefix}:related:recent:{chat_id}"

    def related_asked(self, chat_id: int) -> str:
        """How often a customer was answered from each entry (their own history)."""
        return f"{self.prefix}:related:asked:{chat_id}"

    def related_offers(self, chat_id: int) -> str:
        """The "People also ask" buttons sent to a customer: answer id → the offered entries."""
        return f"{self.prefix}:related:offers:{chat_id}"

    # ------------------------------------------------------------------ learning

    def learning(self, part: str) -> str:
        """Learning from confirmed answers (``bot/store/learning.py``): ``part`` names the key
        under ``<prefix>:learn:`` (``salt``, ``pending``, ``learned:<id>``, …)."""
        return f"{self.prefix}:learn:{part}"

"""All configuration in one pydantic-settings object, read from the environment and ``.env``.

Nested sections use ``__`` as the delimiter: ``TELEGRAM__TOKEN``, ``REDIS__URL``, ``RETRIEVAL__THRESHOLD``…
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigurationError
from common.paths import CACHE_DIR, GENERATOR_MODELS_DIR, RETRIEVER_MODELS_DIR

if TYPE_CHECKING:
    from knowledge_base.learning import LearningRules

OFFICIAL_API_BASE = "https://api.telegram.org"


class Mode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


def _int_list(value: Any) -> Any:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
        return [int(p) for p in parts]
    if isinstance(value, int):
        return [value]
    return value


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    api_base: AnyHttpUrl = AnyHttpUrl(OFFICIAL_API_BASE)
    mode: Mode = Mode.POLLING
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(8080, ge=1, le=65535)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        head, _, tail = raw.partition(":")
        if not head.isdigit() or len(tail) < 20:
            raise ValueError("expected a bot token like 123456:ABC… from @BotFather")
        return SecretStr(raw)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        raw = value.get_secret_value()
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        if not 1 <= len(raw) <= 256 or set(raw) - allowed:
            raise ValueError("expected 1–256 characters of A–Z, a–z, 0–9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.mode is Mode.WEBHOOK and self.webhook_url is None:
            raise ValueError(
                "TELEGRAM__MODE=webhook needs TELEGRAM__WEBHOOK_URL (the public https URL)"
            )
        return self


class RedisSettings(BaseModel):
    url: str | None = None
    prefix: str = "supportbot"
    # A Redis Cluster behind REDIS__URL (any one of its nodes): the cluster client, and every key
    # under the hash tag ``{prefix}`` so that a deployment's transactions keep to one slot.
    cluster: bool = False
    history_ttl_hours: float = Field(72.0, gt=0)
    history_max_turns: int = Field(20, ge=1, le=200)

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a URL like redis://127.0.0.1:6379/0")
        return value

    @model_validator(mode="after")
    def _cluster_ready(self) -> RedisSettings:
        if not self.cluster:
            return self
        prefix = self.prefix.rstrip(":")
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError(
                "REDIS__PREFIX: with REDIS__CLUSTER the prefix becomes the keys' hash tag "
                f"{{prefix}}, so it must be non-empty and without braces (got {self.prefix!r})"
            )
        if self.url is not None:
            scheme, _, rest = self.url.partition("://")
            database = rest.split("?", 1)[0].partition("/")[2]
            if scheme == "unix" or database not in ("", "0"):
                raise ValueError(
                    "REDIS__URL: a Redis Cluster is reached over TCP and has only database 0 "
                    "(e.g. redis://10.0.0.5:6379)"
                )
        return self


class EmbedderKind(StrEnum):
    """``auto``: English questions on MiniLM, Chinese ones on e5 (``retrieval/routing.py``)."""

    AUTO = "auto"
    MINILM = "minilm"
    E5 = "e5"


class EmbedderRuntime(StrEnum):
    """What encodes queries: ONNX Runtime when installed (``auto``), or torch."""

    AUTO = "auto"
    ONNX = "onnx"
    TORCH = "torch"


class RetrievalSettings(BaseModel):
    embedder: EmbedderKind = EmbedderKind.AUTO
    runtime: EmbedderRuntime = EmbedderRuntime.AUTO
    threshold: float = Field(0.55, ge=0.0, le=1.0)
    top_k: int = Field(3, ge=1, le=20)
    # Below the threshold the bot asks back; an entry scoring at least this is offered as a
    # "Did you mean …?" button (benchmarks/clarification.py tunes it on dev sets).
    suggest_floor: float = Field(0.45, ge=0.0, le=2.0)
    model_path: Path | None = None
    cache_dir: Path = CACHE_DIR
    workers: int = Field(2, ge=1, le=16)
    # CPU threads that encode questions in a serving process. One: the event loop keeps the other
    # core, and questions asked together are encoded in one batch (less CPU per question than two
    # threads on one question). More processes, not more threads, use a bigger machine.
    threads: int = Field(1, ge=1, le=64)
    # Questions the bot should hand to a person (one per line, or JSONL {"text"}).
    out_of_scope_path: Path | None = None


class GeneratorBackend(StrEnum):
    AUTO = "auto"
    LLAMA_CPP = "llama_cpp"
    TORCH = "torch"
    TORCH_INT8 = "torch_int8"


class GeneratorSettings(BaseModel):
    """Generated replies (``supportbot train-generator``); without a model, verbatim FAQ answers."""

    model_path: Path | None = GENERATOR_MODELS_DIR
    backend: GeneratorBackend = GeneratorBackend.AUTO
    max_new_tokens: int = Field(96, ge=8, le=512)
    timeout_s: float = Field(15.0, gt=0)
    min_similarity: float = Field(0.5, ge=0.0, le=1.0)
    queue_size: int = Field(8, ge=0, le=1000)
    stream_interval_s: float = Field(1.0, ge=0.2)
    threads: int = Field(2, ge=1, le=64)
    # Issue 20, generated replies switch on by themselves: a bot started with no generator in
    # ``model_path`` trains one in a low-priority background process (knowledge_base/retrain.py).
    auto_train: bool = True


class EscalationSettings(BaseModel):
    agents_chat_id: int | None = None
    agent_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    sla_minutes: float = Field(15.0, gt=0)
    sla_check_seconds: float = Field(30.0, gt=0)
    business_hours: str = ""
    timezone: str = "UTC"
    sentiment_threshold: float = Field(-0.6, ge=-1.0, le=0.0)
    auto_assign: bool = False  # new tickets go round-robin to accounts marked available

    @field_validator("agent_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _int_list(value)

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        from bot.services.hours import BusinessHours

        BusinessHours.parse(value, "UTC")  # raises ValueError with what is wrong
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; expected e.g. Europe/Berlin") from None
        return value


class ConsoleSettings(BaseModel):
    """The agents' web console (``supportbot console``)."""

    username: str = "agent"
    password: SecretStr | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=1, le=65535)


class KnowledgeBaseSettings(BaseModel):
    """Where the first knowledge base comes from, and how the live one in Redis is followed."""

    path: Path | None = None
    reload_seconds: float = Field(0.25, gt=0, le=5)
    keep_versions: int = Field(100, ge=2)
    models_dir: Path = RETRIEVER_MODELS_DIR
    retrain_hours: float = Field(0.0, ge=0)
    retrain_budget_seconds: float = Field(900.0, gt=0)
    # Issue 20, retraining follows the traffic: retrain once the live knowledge base holds this
    # many phrasings the served retriever was not trained on (0 = off).
    retrain_after_phrasings: int = Field(1000, ge=0)

    @field_validator("path")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value


class OperatorSettings(BaseModel):
    """Operators own the knowledge base: only they may change it from Telegram."""

    ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    @field_validator("ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        try:
            return _int_list(value)
        except ValueError:
            raise ValueError(
                "expected Telegram user ids separated by commas, e.g. 123456,234567"
            ) from None


def _rate(value: str) -> str:
    from limits import parse

    try:
        parse(value)
    except ValueError:
        raise ValueError(
            f"expected a rate like '30 per 1 second' or '20/minute', got {value!r}"
        ) from None
    return value


Rate = Annotated[str, AfterValidator(_rate)]


class SendingSettings(BaseModel):
    """The one sending path (``bot/sending.py``): Telegram's limits, retries, kept messages."""

    per_chat: Rate = "3 per 3 seconds"  # about one a second, short bursts allowed
    per_group: Rate = "20 per 1 minute"
    overall: Rate = "30 per 1 second"
    attempts: int = Field(6, ge=1, le=20)  # tries of one call before it is kept
    backoff_s: float = Field(0.5, gt=0)  # first pause after a 5xx or a timeout; doubles
    max_backoff_s: float = Field(15.0, gt=0)
    max_wait_s: float = Field(60.0, gt=0)  # a longer flood wait keeps the message instead
    redeliver_every_s: float = Field(10.0, gt=0)
    keep_hours: float = Field(24.0, gt=0)  # a kept message older than this is given up


class FloodSettings(BaseModel):
    """Flood control of incoming messages (``bot/middlewares/flood.py``), shared by all workers."""

    # Enough for a customer who splits a question over several messages; a flood beyond it is
    # not answered (one notice per window).
    per_customer: Rate = "8 per 10 seconds"


class ModerationSettings(BaseModel):
    """Abusive language from customers (``bot/middlewares/moderation.py``): a calm warning first,
    then a mute; counted in Redis, so every worker shares them. Generated replies are checked
    whatever ``enabled`` says."""

    enabled: bool = True
    # Abusive messages in one window that get a warning (and an answer); the next one mutes.
    warnings: int = Field(1, ge=0, le=10)
    window_minutes: float = Field(60.0, gt=0)  # counted from the first warned message
    mute_minutes: float = Field(15.0, gt=0, le=1440)  # "until 14:35" names no day: a day at most


class InboxSettings(BaseModel):
    """The update inbox (``bot/inbox.py``): updates kept in Redis until handled, at least once."""

    # Updates one worker handles at a time: enough for every chat waiting on the generator to
    # hold a place while quicker answers go on (the generator's own queue bounds its work).
    consumers: int = Field(64, ge=1, le=1024)
    claim_after_s: float = Field(30.0, gt=0)  # a worker silent this long is taken over
    max_len: int = Field(1_000_000, ge=1000)  # about how many entries the stream keeps
    max_deliveries: int = Field(5, ge=1)  # an update delivered more often goes to the dead letters


class MetricsSettings(BaseModel):
    """Prometheus metrics of a bot process (``bot/metrics.py``); ``port`` 0 turns them off."""

    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)
    # Optional: scrapes must send ``Authorization: Bearer <token>`` (bot, webhook server, console).
    token: SecretStr | None = None

    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token is not None else None


class TextsSettings(BaseModel):
    """The text catalog: Fluent files, one folder per language (see ``bot/i18n.py``)."""

    path: Path | None = None  # a folder like bot/locales (default: the bundled texts)
    default_locale: str = Field("en", pattern=r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


class PrivacySettings(BaseModel):
    """How long customers' words and identity are kept (``bot/services/privacy.py``)."""

    # Agents may need a closed ticket's transcript for a while (a follow-up, a complaint); after
    # this its personal data is masked and the customer's name dropped.
    transcript_days: float = Field(30.0, gt=0)
    # A closed ticket, the analytics events, the content-gap log and decided knowledge-base
    # suggestions older than this are deleted.
    retention_days: float = Field(365.0, gt=0)
    # Updates the inbox keeps after handling them (their raw text and sender).
    inbox_hours: float = Field(24.0, gt=0)
    sweep_every_s: float = Field(3600.0, gt=0)

    @model_validator(mode="after")
    def _transcripts_first(self) -> PrivacySettings:
        if self.transcript_days > self.retention_days:
            raise ValueError(
                "PRIVACY__TRANSCRIPT_DAYS: must not be longer than PRIVACY__RETENTION_DAYS "
                f"({self.transcript_days:g} > {self.retention_days:g})"
            )
        return self


class RelatedSettings(BaseModel):
    """ "People also ask" buttons under an answer (``bot/services/related.py``)."""

    enabled: bool = True
    max_buttons: int = Field(3, ge=0, le=5)
    # An answer this soon after the previous one in the same chat counts as "asked next".
    window_minutes: float = Field(30.0, gt=0)
    # How much a customer's own earlier questions count against what all customers asked next.
    personal_weight: float = Field(0.25, ge=0)


class LearningSettings(BaseModel):
    """Learning from confirmed answers (``bot/services/learning.py``): a customer's question whose
    answer was confirmed (👍, a "Did you mean …?" choice, an agent's ``/reply kb:ID``) becomes a
    phrasing of that entry, added at once or queued for an operator by ``knowledge_base.learning``.
    Unset numbers keep the policy's tuned defaults (``LearningRules``)."""

    enabled: bool = True
    auto_add: bool = True  # false: every candidate goes to the suggestions queue
    # Distinct customers who confirmed an entry (within ``window_days``) before an automatic add.
    min_customers: int | None = Field(None, ge=1, le=1000)
    # Candidates one customer may contribute per day; more are skipped (a flood of 👍 teaches nothing).
    per_customer_per_day: int | None = Field(None, ge=1, le=1000)
    # A 👍 on an answer given with less confidence than this is queued for an operator instead.
    min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    # A learned phrasing whose answers collect this many 👎 (and more 👎 than 👍) is withdrawn.
    withdraw_after_downvotes: int | None = Field(None, ge=1, le=1000)
    window_days: float = Field(30.0, gt=0, le=365)  # how long a confirmation counts
    # Automatic adds wait in a Redis queue and are committed as ONE knowledge-base version at most
    # this often (0: each at once, as its own version), so learning does not flood the kept
    # versions nor reload every worker once per phrasing.
    commit_every_s: float = Field(60.0, ge=0, le=24 * 3600)

    def rules(self) -> LearningRules:
        """These settings over the policy's defaults, as ``knowledge_base.learning.LearningRules``."""
        from dataclasses import replace

        from knowledge_base.learning import LearningRules

        given = {
            name: getattr(self, name)
            for name in (
                "min_customers",
                "per_customer_per_day",
                "min_confidence",
                "withdraw_after_downvotes",
            )
            if getattr(self, name) is not None
        }
        return replace(LearningRules(), enabled=self.enabled, auto_add=self.auto_add, **given)


class Settings(BaseSettings):
    """Everything the product can be configured with."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="ignore",
    )

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    kb: KnowledgeBaseSettings = Field(default_factory=KnowledgeBaseSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    operators: OperatorSettings = Field(default_factory=OperatorSettings)
    texts: TextsSettings = Field(default_factory=TextsSettings)
    sending: SendingSettings = Field(default_factory=SendingSettings)
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    flood: FloodSettings = Field(default_factory=FloodSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    related: RelatedSettings = Field(default_factory=RelatedSettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    log_level: str = "INFO"


def _setting_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).isdigit()]
    return "__".join(parts).upper() if parts else "settings"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings or raise ConfigurationError naming each bad setting and what it expects."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False, include_input=False):
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{_setting_name(error['loc'])}: {message}")
        raise ConfigurationError("invalid settings:\n  " + "\n  ".join(lines)) from None

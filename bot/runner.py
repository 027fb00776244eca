"""Running the Telegram bot: long polling or webhook into the update inbox, a graceful shutdown.

Both modes keep each update in Redis (``bot/inbox.py``) before Telegram hears it arrived, and this
worker's consumers handle the inbox: an update in flight when a worker dies is handled by another.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import signal
import socket
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommandScopeChat
from aiohttp import web

from bot.app import (
    BOT_COMMANDS,
    OPERATOR_COMMANDS,
    App,
    build_app,
    build_dispatcher,
    sending_path,
)
from bot.inbox import DispatcherHandler, UpdateInbox, poll_into
from bot.metrics import aiohttp_handler, serve_metrics
from bot.sending import Redeliverer
from bot.services.live import LiveModels
from bot.services.rollup import DailyFigures
from bot.services.sla import SlaMonitor, telegram_admins
from bot.settings import Mode, Settings
from bot.store import Stores
from knowledge_base.retrain import Retrainer
from models.generator import VerbatimGenerator
from retrieval.training import TrainingConfig

HEARTBEAT_SECONDS = 15
# Loading the base model, building examples and the GGUF export, around the training budget.
GENERATOR_OVERHEAD_SECONDS = 120
NEEDS_REDIS = "the Telegram bot keeps conversations and tickets in Redis"

log = logging.getLogger(__name__)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Start the bot with the configured mode and run until ``stop`` is set or a signal arrives."""
    app = await build_app(settings, needs_redis=NEEDS_REDIS, telegram=True)
    if settings.metrics.port:
        metrics_server = await serve_metrics(
            settings.metrics.host, settings.metrics.port, settings.metrics.token_value()
        )
        if metrics_server is not None:
            app.resources.push_async_callback(metrics_server.cleanup)
    try:
        bot = app.bot
        app.spawn(_heartbeat(app.stores), "heartbeat")
        _start_retrainer(app)
        dp = build_dispatcher(app, bot)
        monitor = SlaMonitor(
            dp["escalation"],
            settings.escalation.sla_check_seconds,
            admins=telegram_admins(app.stores, bot),
        )
        app.spawn(monitor.run(), "sla-monitor")
        app.spawn(
            DailyFigures(app.stores.redis, app.stores.keys, monitor.escalation.hours).run(),
            "daily-figures",
        )
        app.spawn(dp["privacy"].run(), "privacy-sweep")
        if app.learning is not None and settings.learning.commit_every_s > 0:
            app.spawn(app.learning.run(), "learning-commit")  # learned phrasings, in batches
        sending = sending_path(bot, app.stores, settings)
        app.spawn(Redeliverer(bot, sending.store, settings.sending).run(), "redelivery")
        me = await bot.get_me()
        log.info("connected to Telegram as @%s (%s mode)", me.username, settings.telegram.mode)
        await bot.set_my_commands(BOT_COMMANDS)
        await _operator_commands(bot, settings)
        inbox = UpdateInbox(app.stores.redis, app.stores.keys, settings.inbox)
        await inbox.ensure_group()
        if settings.telegram.mode is Mode.WEBHOOK:
            await _run_webhook(settings, dp, bot, inbox, app.stores, stop)
        else:
            await _run_polling(dp, bot, inbox, stop)
    finally:
        await app.close()
        log.info("stopped")


async def _operator_commands(bot: Bot, settings: Settings) -> None:
    """Operators see the /kb_* commands in their command menu (customers never do)."""
    for user_id in settings.operators.ids:
        try:
            await bot.set_my_commands(
                [*BOT_COMMANDS, *OPERATOR_COMMANDS], scope=BotCommandScopeChat(chat_id=user_id)
            )
        except TelegramAPIError as exc:  # e.g. the operator has not started the bot yet
            log.info("command menu for operator %s not set: %s", user_id, exc)


def _start_retrainer(app: App) -> None:
    """Retrain the (fine-tunable MiniLM) retriever when asked, on schedule or after enough new
    phrasings, off the event loop; and train the first reply generator of a bot that has none."""
    settings = app.settings
    if app.live is None:
        return
    minilm = settings.retrieval.embedder == "minilm"
    trainer = _generator_trainer(app.live, settings)
    missing = trainer is not None and isinstance(app.live.generator, VerbatimGenerator)
    if not minilm and trainer is None:  # nothing this process could train
        return
    retrainer = Retrainer(
        app.knowledge.store,
        settings.kb.models_dir,
        schedule_hours=settings.kb.retrain_hours,
        config=TrainingConfig(time_budget_s=settings.kb.retrain_budget_seconds),
        train_generator=trainer,
        out_of_scope=app.live.out_of_scope,  # the list served when training starts
        after_phrasings=settings.kb.retrain_after_phrasings,
        generator_missing=missing,
        retrain_retriever=minilm,
    )
    app.spawn(retrainer.run(), "kb-retrainer")


def _generator_trainer(live: LiveModels, settings: Settings):
    """Trains the reply generator in a low-priority background process, where the bot replies
    with a fine-tuned one, or has none yet and ``GENERATOR__AUTO_TRAIN`` lets it train the first."""
    out_root = settings.generator.model_path
    verbatim = isinstance(live.generator, VerbatimGenerator)
    if out_root is None or (verbatim and not settings.generator.auto_train):
        return None
    budget = settings.kb.retrain_budget_seconds

    async def train(kb, retriever: Path | None) -> Path:
        from common.background import run_in_background
        from models.training import GeneratorTrainingConfig, train_generator_for_retriever

        log.info(
            "training the reply generator in a background process at the lowest CPU priority: "
            "about %d minutes (%d s of training, KB__RETRAIN_BUDGET_SECONDS, plus loading and "
            "export); %s meanwhile",
            round((budget + GENERATOR_OVERHEAD_SECONDS) / 60),
            budget,
            "replies are the verbatim FAQ answers"
            if verbatim
            else "the current generator replies",
        )
        config = GeneratorTrainingConfig(time_budget_s=budget)
        report = await run_in_background(
            train_generator_for_retriever,
            kb,
            out_root,
            retriever if retriever is not None else settings.retrieval.model_path,
            config,
            settings.retrieval.cache_dir,
            name="generator-training",
        )
        log.info(
            "generator %s trained in %.0f s (%d of %d steps, held-out loss %.3f → %.3f)",
            report.model_dir.name,
            report.seconds,
            report.steps,
            report.planned_steps,
            report.heldout_loss_before,
            report.heldout_loss_after,
        )
        return report.model_dir

    return train


async def _heartbeat(stores: Stores) -> None:
    """Tell `supportbot health` (the container health check) that this process is alive."""
    key = stores.keys.heartbeat(socket.gethostname())
    while True:
        try:
            await stores.redis.set(key, str(time.time()), ex=HEARTBEAT_SECONDS * 4)
        except Exception as exc:  # Redis hiccup: the health check will notice, keep serving
            log.warning("heartbeat failed: %s", exc)
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _run_polling(
    dp: Dispatcher, bot: Bot, inbox: UpdateInbox, stop: asyncio.Event | None
) -> None:
    """Long polling into the inbox; this worker's consumers handle what is there."""
    await bot.delete_webhook(drop_pending_updates=False)
    stop = stop or _signal_event()
    receiving = poll_into(inbox, bot, stop, allowed_updates=dp.resolve_used_update_types())
    await _handle_inbox(dp, bot, inbox, stop, receiving)


async def _handle_inbox(
    dp: Dispatcher,
    bot: Bot,
    inbox: UpdateInbox,
    stop: asyncio.Event,
    receiving: Coroutine[Any, Any, None],
) -> None:
    """Receive (polling or webhook) and handle the inbox until ``stop``; the dispatcher's
    start-up and shut-down hooks run around it as with aiogram's own polling."""
    workflow = {**dp.workflow_data, "dispatcher": dp, "bots": [bot]}
    workflow.pop("bot", None)
    await dp.emit_startup(bot=bot, **workflow)
    receiver = asyncio.create_task(receiving, name="inbox-receive")
    consumers = asyncio.create_task(inbox.consume(DispatcherHandler(dp, bot), stop), name="inbox")
    stopping = asyncio.create_task(stop.wait())
    tasks = (receiver, consumers, stopping)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in (receiver, consumers):
            if task.done():
                task.result()  # a loop that ended before ``stop`` failed: say why
        stop.set()
        receiver.cancel()  # an update received but not yet kept is not confirmed either
        await consumers  # the updates in hand are finished
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await dp.emit_shutdown(bot=bot, **workflow)


async def webhook_secret(settings: Settings, stores: Stores) -> str:
    """The secret Telegram sends with every update: ``TELEGRAM__WEBHOOK_SECRET``, else one made
    by the first worker and kept in Redis, so that every worker behind the proxy checks the same
    one (a secret per worker would make the others answer Telegram with 401)."""
    if settings.telegram.webhook_secret is not None:
        return settings.telegram.webhook_secret.get_secret_value()
    key = stores.keys.webhook_secret()
    await stores.redis.set(key, secrets.token_urlsafe(32), nx=True)
    return await stores.redis.get(key)


async def _run_webhook(
    settings: Settings,
    dp: Dispatcher,
    bot: Bot,
    inbox: UpdateInbox,
    stores: Stores,
    stop: asyncio.Event | None,
) -> None:
    tg = settings.telegram
    url = str(tg.webhook_url)
    path = urlparse(url).path or "/"
    secret = await webhook_secret(settings, stores)
    app = web.Application()
    app.router.add_post(path, WebhookReceiver(inbox, secret).receive)
    app.router.add_get("/metrics", aiohttp_handler(settings.metrics.token_value()))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, tg.webhook_host, tg.webhook_port)
    await site.start()
    await bot.set_webhook(url, secret_token=secret, allowed_updates=dp.resolve_used_update_types())
    log.info("webhook listening on %s:%s%s", tg.webhook_host, tg.webhook_port, path)
    stop = stop or _signal_event()
    try:
        await _handle_inbox(dp, bot, inbox, stop, stop.wait())
    finally:
        await runner.cleanup()


class WebhookReceiver:
    """Telegram's POST: checked against the secret, kept in the inbox, then answered 200 (an
    error answer makes Telegram send the update again)."""

    def __init__(self, inbox: UpdateInbox, secret: str) -> None:
        self.inbox = inbox
        self.secret = secret

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=401, text="Unauthorized")
        body = await request.text()
        try:
            update = json.loads(body)
            int(update["update_id"])
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="not a Telegram update")
        await self.inbox.put(body)
        return web.Response()


def _signal_event() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)
    return event

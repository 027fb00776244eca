"""The terminal chat (``supportbot chat``, and ``make run`` without a token): the whole product on
one machine with nothing configured.

The customer types in the terminal; a question the bot hands over opens a ticket, and the agent
side runs in the same process: the web console is served on localhost over the same store, with a
login printed at start (``CONSOLE__PASSWORD`` when set, else a new one-time password). What an
agent replies, and the ticket's closing, is printed in the terminal; while the ticket is open the
customer's lines go to the agent instead of the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
import time
from typing import Any

from bot.i18n import TextSource
from bot.services.delivery import CustomerDelivery, Delivery

log = logging.getLogger(__name__)

CHAT_ID = 1  # the one customer of the terminal


class TerminalDelivery(CustomerDelivery):
    """What agents send the customer, printed in the terminal above the prompt."""

    def __init__(self, texts: TextSource, prompt: str, out: Any = None) -> None:
        self.texts, self.prompt, self.out = texts, prompt, out or sys.stdout

    async def send_text(self, chat_id: int, text: str, reply_markup: Any = None) -> Delivery:
        line = self.texts.get("terminal-from-agent", text=text)
        # the customer may be at the prompt: start a fresh line, then show the prompt again
        self.out.write(f"\r{line}\n\n{self.prompt}")
        self.out.flush()
        return Delivery(True)

    async def copy(self, chat_id: int, from_chat_id: int, message_id: int) -> Delivery:
        return await self.send_text(chat_id, self.texts.get("terminal-agent-attachment"))

    async def send_file(
        self, chat_id: int, filename: str, data: bytes, caption: str = ""
    ) -> Delivery:
        await self.send_text(chat_id, self.texts.get("terminal-agent-file", name=filename))
        return await self.send_text(chat_id, caption) if caption else Delivery(True)


async def chat(settings: Any) -> int:
    from bot.app import load_catalog, open_app
    from bot.services.answering import Answer, Clarification

    started = time.perf_counter()
    catalog = load_catalog(settings)
    texts = catalog.texts()  # the customer's language (the default, for now)
    print(texts.get("terminal-loading"), flush=True)
    prompt = texts.get("terminal-prompt") + " "
    async with open_app(settings, catalog=catalog) as app:
        escalation = app.escalation(delivery=TerminalDelivery(texts, prompt))
        ready = texts.get(
            "terminal-ready",
            product=app.product,
            seconds=f"{time.perf_counter() - started:.1f}",
            entries=str(len(app.live.kb)),
        )
        print(ready, flush=True)
        async with _console(app, escalation, settings, texts):
            print(flush=True)
            try:
                while True:
                    try:
                        line = await asyncio.to_thread(input, prompt)
                    except EOFError:
                        break
                    text = line.strip()
                    if not text:
                        continue
                    if text in ("/quit", "/exit"):
                        break
                    ticket = await escalation.current(CHAT_ID)
                    if ticket is not None:  # a person has the conversation
                        await escalation.customer_wrote(ticket, text)
                        continue
                    result = await app.answering.answer(CHAT_ID, text)
                    if isinstance(result, Answer):
                        answer = texts.get(
                            "terminal-answer",
                            text=result.text,
                            entry=result.entry_id,
                            confidence=f"{result.confidence:.2f}",
                        )
                        print(answer + "\n")
                        continue
                    if isinstance(result, Clarification):
                        print(_clarification(texts, result) + "\n")
                        continue
                    customer = texts.get("terminal-customer")
                    outcome = await escalation.escalate(CHAT_ID, customer, result)
                    handoff = texts.get(
                        "terminal-handoff", ticket=outcome.ticket.id, reason=result.reason.value
                    )
                    print(handoff + "\n")
            except KeyboardInterrupt:
                pass
    print(texts.get("terminal-bye"))
    return 0


@contextlib.asynccontextmanager
async def _console(app: Any, escalation: Any, settings: Any, texts: TextSource):
    """The agents' console on localhost for as long as the chat runs (not if its port is taken)."""
    import uvicorn
    from pydantic import SecretStr

    from bot.console import ConsoleServices, create_app

    console = settings.console
    password = console.password.get_secret_value() if console.password else None
    if not password:  # a one-time login for this chat (the caller's settings stay as they are)
        password = secrets.token_urlsafe(9)
        console = console.model_copy(update={"password": SecretStr(password)})
        settings = settings.model_copy(update={"console": console})
    services = ConsoleServices(
        app.stores, escalation, app.catalog, extra={"knowledge": app.knowledge}
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services, settings),
            host=console.host,
            port=console.port,
            log_config=None,
            access_log=False,
            log_level="warning",
        )
    )
    server.install_signal_handlers = lambda: None  # Ctrl-C belongs to the chat
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # a taken port: said below
    task = asyncio.create_task(server.serve(), name="console")
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    logging.getLogger("uvicorn.error").setLevel(logging.NOTSET)  # a console failure is logged
    if server.started:
        url = f"http://{console.host}:{console.port}"
        print(
            texts.get("terminal-console", url=url, user=console.username, password=password),
            flush=True,
        )
    else:
        print(texts.get("terminal-no-console", port=str(console.port)), flush=True)
    try:
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, SystemExit, Exception):
            await asyncio.wait_for(task, timeout=5)


def _clarification(texts: TextSource, result: Any) -> str:
    """ "Did you mean …?" with the offered entries numbered (a terminal has no buttons)."""
    from bot.services.unclear import SmallTalk

    questions = [c.entry.question for c in result.candidates]
    if result.reason == SmallTalk.THANKS:
        said = texts.get("clarify-thanks")
    elif result.reason == SmallTalk.GREETING:
        said = texts.get("clarify-greeting")
    else:
        said = texts.get("clarify-did-you-mean" if questions else "clarify-rephrase")
    lines = [
        texts.get("terminal-suggestion", number=str(n), question=q)
        for n, q in enumerate(questions, 1)
    ]
    return texts.get(
        "terminal-clarify",
        text=said,
        suggestions="\n".join(lines),
    ).rstrip()

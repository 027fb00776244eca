"""The terminal chat (``supportbot chat``, and ``make run`` without a token): the whole product on
one machine with nothing configured.

The customer types in the terminal; a question the bot hands over opens a ticket, and the agent
side runs in the same process: the web console is served on localhost over the same store, with a
login printed at start (``CONSOLE__PASSWORD`` when set, else a new one-time password). What an
agent replies, and the ticket's closing, is printed in the terminal; while the ticket is open the
customer's lines go to the agent instead of the bot.

What the Telegram bot offers as buttons is typed (``TerminalConversation``), through the same
services as the buttons' handlers: the "Did you mean …?" and "People also ask" suggestions are
numbered and a typed number picks one; ``/good`` and ``/bad`` are the 👍 / 👎 of the last answer
(after ``/bad`` the other answers for its question are numbered too);
``/human`` is "Talk to a human" (under "Did you mean …?", "None of these").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
import time
from dataclasses import dataclass
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

    started = time.perf_counter()
    catalog = load_catalog(settings)
    texts = catalog.texts()  # the customer's language (the default, for now)
    print(texts.get("terminal-loading"), flush=True)
    prompt = texts.get("terminal-prompt") + " "
    async with open_app(settings, catalog=catalog) as app:
        escalation = app.escalation(delivery=TerminalDelivery(texts, prompt))
        if app.learning is not None and settings.learning.commit_every_s > 0:
            app.spawn(app.learning.run(), "learning-commit")  # as the bot: learned, in batches
        ready = texts.get(
            "terminal-ready",
            product=app.product,
            seconds=f"{time.perf_counter() - started:.1f}",
            entries=str(len(app.live.kb)),
        )
        print(ready, flush=True)
        print(texts.get("terminal-commands"), flush=True)
        conversation = TerminalConversation(app, escalation, texts)
        async with _console(app, escalation, settings, texts):
            print(flush=True)
            try:
                while True:
                    try:
                        line = await asyncio.to_thread(input, prompt)
                    except EOFError:
                        break
                    text = line.strip()
                    if text in ("/quit", "/exit"):
                        break
                    if text:
                        await conversation.said(text)
            except KeyboardInterrupt:
                pass
    print(texts.get("terminal-bye"))
    return 0


@dataclass(frozen=True, slots=True)
class Choices:
    """The numbered suggestions last shown: under "Did you mean …?" (``of`` is the
    clarification's id) or under an answer, "People also ask" (``of`` is the answer's id)."""

    kind: str  # CLARIFY or RELATED
    of: str
    count: int


CLARIFY, RELATED = "clarify", "related"
GOOD, BAD, HUMAN = ("/good",), ("/bad",), ("/human",)


class TerminalConversation:
    """The customer's side of the terminal chat: what the Telegram bot does with buttons is done
    here with typed lines — a number picks a suggestion, ``/good`` / ``/bad`` rate the last answer,
    ``/human`` asks for a person — through the same services as the buttons' handlers."""

    def __init__(self, app: Any, escalation: Any, texts: TextSource) -> None:
        self.app, self.escalation, self.texts = app, escalation, texts
        self.last_answer: str | None = None  # the answer /good and /bad rate
        self.choices: Choices | None = None  # what a typed number picks

    def say(self, key: str, **args: Any) -> None:
        print(self.texts.get(key, **args) + "\n", flush=True)

    def bot(self, key: str, **args: Any) -> None:
        """A reply the Telegram bot sends with the same text, with the terminal's "bot>"."""
        self.say("terminal-bot", text=self.texts.get(key, **args))

    async def said(self, text: str) -> None:
        """One line the customer typed (not empty, not /quit)."""
        command = text.lower()
        if command in GOOD or command in BAD:
            await self.rate(command in GOOD)
            return
        ticket = await self.escalation.current(CHAT_ID)
        if ticket is not None:  # a person has the conversation
            if command in HUMAN:
                self.say("terminal-human-already", ticket=ticket.id)
            else:
                await self.escalation.customer_wrote(ticket, text)
            return
        if command in HUMAN:
            await self.human()
        elif text.isdecimal():
            await self.pick(int(text))
        else:
            await self.ask(text)

    async def ask(self, text: str) -> None:
        from bot.services.answering import Answer, Clarification

        result = await self.app.answering.answer(CHAT_ID, text)
        if isinstance(result, Answer):
            await self.show(result)
        elif isinstance(result, Clarification):
            self.show_clarification(result)
        else:
            await self.hand_off(result)

    async def show(self, answer: Any) -> None:
        """An answer, its entry and confidence, and what people also ask, numbered."""
        self.last_answer, self.choices = answer.answer_id, None
        lines = [
            self.texts.get(
                "terminal-answer",
                text=answer.text,
                entry=answer.entry_id,
                confidence=f"{answer.confidence:.2f}",
            )
        ]
        also = await self.app.related.suggest(CHAT_ID, answer.answer_id, answer.entry_id)
        if also:
            self.choices = Choices(RELATED, answer.answer_id, len(also))
            lines.append(self.texts.get("terminal-related"))
            lines += _numbered(self.texts, [e.question for e in also])
        print("\n".join(lines) + "\n", flush=True)

    def show_clarification(self, result: Any) -> None:
        said = _clarification(self.texts, result)
        count = len(result.candidates)
        self.choices = Choices(CLARIFY, result.clarification_id, count) if count else None
        if count:
            said += "\n" + self.texts.get("terminal-pick-hint")
        print(said + "\n", flush=True)

    async def pick(self, number: int) -> None:
        """A typed number: the suggestion of that number, as if its button were pressed."""
        choices = self.choices
        if choices is None:
            self.say("terminal-no-choices", number=str(number))
            return
        if not 1 <= number <= choices.count:
            self.say("terminal-no-such-choice", number=str(number), count=str(choices.count))
            return
        if choices.kind == RELATED:
            await self.pick_related(choices.of, number - 1)
        else:
            await self.pick_clarified(choices.of, number - 1)

    async def pick_related(self, answer_id: str, choice: int) -> None:
        """As ``on_related_choice``: that entry's answer, recorded as picked under "People also
        ask" — or, for an entry deleted since, a notice and the nearest entry's answer."""
        pick = await self.app.related.pressed(CHAT_ID, answer_id, choice)
        if pick is None:  # its record expired: nothing changes
            self.bot("related-unavailable")
            return
        if pick.entry is None:
            self.choices = None
            self.bot("related-gone", question=pick.offered)
            return
        if pick.gone:
            self.bot("related-gone-nearest", question=pick.offered, nearest=pick.entry.question)
        said = self.escalation.texts.get("turn-picked-related", question=pick.entry.question)
        answer = await self.app.answering.answer_picked(
            CHAT_ID, pick.entry.question, pick.entry, said, confidence=1.0, source=pick.source
        )
        await self.show(answer)

    async def pick_clarified(self, clarification_id: str, choice: int) -> None:
        """As ``on_clarify_choice``: the entry picked under "Did you mean …?"."""
        record = await self.app.stores.clarifications.get(clarification_id)
        if record is None:
            self.choices = None
            self.bot("clarify-expired")
            return
        entry = self.app.answering.offered_entry(record, choice)
        if entry is None:  # removed from the knowledge base since
            self.bot("clarify-entry-gone")
            return
        said = self.escalation.texts.get("turn-picked-suggestion", question=entry.question)
        await self.show(await self.app.answering.answer_entry(record, entry, said))
        await self.app.answering.learn_choice(record, entry)  # as the button: after the answer

    async def rate(self, helpful: bool) -> None:
        """``/good`` / ``/bad``: as 👍 / 👎 under the last answer (a 👎: the other answers for
        its question, numbered; two 👎 in a row: a person)."""
        from bot.services.answering import Dislike, Escalation

        if self.last_answer is None:
            self.say("terminal-nothing-to-rate")
            return
        record, result = await self.app.answering.feedback(
            self.last_answer, helpful, chat_id=CHAT_ID
        )
        if record is None:
            self.bot("feedback-expired")
            return
        self.say("terminal-rated-good" if helpful else "terminal-rated-bad")
        try:
            if isinstance(result, Escalation):
                await self.hand_off(result)
            elif isinstance(result, Dislike) and await self.escalation.current(CHAT_ID) is None:
                await self.offer_alternatives(record)
        finally:  # as the 👍 / 👎 button: learning after the reply
            await self.app.answering.learn_from_feedback(record, helpful)

    async def offer_alternatives(self, record: Any) -> None:
        """As ``offer_alternatives`` after a 👎: the other answers numbered (a number picks one
        as under "Did you mean …?"), or the offer of a person."""
        offer = await self.app.answering.alternatives(record)
        if offer is None:
            self.bot("dislike-no-alternatives")
            return
        questions = [c.entry.question for c in offer.candidates]
        said = self.texts.get(
            "terminal-clarify",
            text=self.texts.get("dislike-alternatives"),
            suggestions="\n".join(_numbered(self.texts, questions)),
        ).rstrip()
        self.choices = Choices(CLARIFY, offer.clarification_id, len(questions))
        print(said + "\n" + self.texts.get("terminal-pick-hint") + "\n", flush=True)

    async def human(self) -> None:
        """``/human``: as "Talk to a human" under the last answer or "None of these" under
        "Did you mean …?"."""
        from bot.services.answering import Escalation, EscalationReason
        from bot.store import Turn, TurnRole

        texts = self.escalation.texts  # the agents': they read the question and the transcript
        stores, choices = self.app.stores, self.choices
        record = None
        if choices is not None and choices.kind == CLARIFY:
            record = await stores.clarifications.get(choices.of)
        if record is not None:
            pressed = texts.get("turn-pressed-none-of-these")
            result = self.app.answering.none_of_these(record)
        else:
            answered = await stores.answers.get(self.last_answer) if self.last_answer else None
            pressed = texts.get("turn-pressed-human")
            question = (
                answered.question if answered else texts.get("ticket-question-pressed-human")
            )
            result = Escalation(EscalationReason.ASKED_FOR_HUMAN, question)
        await stores.conversations.append(CHAT_ID, Turn(TurnRole.CUSTOMER, pressed))
        await self.hand_off(result)

    async def hand_off(self, result: Any) -> None:
        self.choices = None
        customer = self.texts.get("terminal-customer")
        outcome = await self.escalation.escalate(CHAT_ID, customer, result)
        if not outcome.is_new:  # e.g. a 👎 streak while a person has the conversation
            self.say("terminal-human-already", ticket=outcome.ticket.id)
            return
        self.say("terminal-handoff", ticket=outcome.ticket.id, reason=result.reason.value)


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
    return texts.get(
        "terminal-clarify",
        text=said,
        suggestions="\n".join(_numbered(texts, questions)),
    ).rstrip()


def _numbered(texts: TextSource, questions: list[str]) -> list[str]:
    """Suggestions one per line, numbered from 1 (what the person types to pick one)."""
    return [
        texts.get("terminal-suggestion", number=str(n), question=q)
        for n, q in enumerate(questions, 1)
    ]

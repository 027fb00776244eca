"""Customers in private chats: questions, feedback, asking for a person.

Every reply is in the customer's language: ``i18n``, which the locale middleware injects.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart, Filter
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.chat_action import ChatActionSender
from aiogram_i18n import I18nContext

from bot import metrics
from bot.errors import UserFacingError
from bot.handlers.filters import Inline
from bot.i18n import Catalog, TextSource
from bot.keyboards import (
    NONE_OF_THESE,
    RELATED_PREFIX,
    ClarifyCallback,
    FeedbackCallback,
    ForgetCallback,
    HumanCallback,
    LanguageCallback,
    RatingCallback,
    RelatedCallback,
    answer_keyboard,
    clarify_keyboard,
    forget_keyboard,
    human_keyboard,
    language_keyboard,
)
from bot.services.agents_chat import display_name
from bot.services.answering import (
    Answer,
    AnsweringService,
    Clarification,
    Dislike,
    Escalation,
    EscalationReason,
    NotYourAnswer,
)
from bot.services.escalation import EscalationService
from bot.services.privacy import PrivacyService
from bot.services.related import RelatedQuestions
from bot.services.unclear import SmallTalk
from bot.settings import Settings
from bot.store import AnswerRecord, Stores, Ticket, Turn, TurnRole
from bot.streaming import ReplyStream

log = logging.getLogger(__name__)

# "typing…" is shown once an answer has taken this long: a quicker one arrives before the
# indicator would, and skipping it spares a Bot API call per answer under load.
TYPING_AFTER_S = 0.5


def create_router() -> Router:
    """A fresh router for private chats (a router can belong to one dispatcher only)."""
    router = Router(name=__name__)
    router.message.filter(Inline(F.chat.type == ChatType.PRIVATE))
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_language, Command("language"))
    router.message.register(cmd_mydata, Command("mydata"))
    router.message.register(cmd_forget, Command("forget"))
    router.message.register(relay_to_agents, InHandoff())
    router.message.register(metrics.timed(handle_question), Inline(F.text))
    router.message.register(handle_other)
    router.callback_query.register(on_feedback, FeedbackCallback.filter())
    router.callback_query.register(on_talk_to_human, HumanCallback.filter())
    router.callback_query.register(on_clarify_choice, ClarifyCallback.filter())
    router.callback_query.register(on_rating, RatingCallback.filter())
    router.callback_query.register(on_language, LanguageCallback.filter())
    router.callback_query.register(on_forget, ForgetCallback.filter())
    register_related(router)
    return router


async def cmd_start(message: Message, product_name: str, i18n: TextSource) -> None:
    name = f", {message.from_user.first_name}" if message.from_user else ""
    await message.answer(i18n.get("start", name=name, product=product_name))


async def cmd_help(message: Message, i18n: TextSource) -> None:
    await message.answer(i18n.get("help"))


async def cmd_language(
    message: Message, command: CommandObject, catalog: Catalog, i18n: I18nContext
) -> None:
    """``/language``: a button per language; ``/language zh``: that language at once."""
    code = (command.args or "").strip()
    if not code:
        choices = [(locale, catalog.language_name(locale)) for locale in catalog.locales]
        await message.answer(i18n.get("language-choose"), reply_markup=language_keyboard(choices))
        return
    locale = catalog.match(code)
    if locale is None:
        codes = ", ".join(catalog.locales)
        await message.answer(i18n.get("language-unknown", code=code, codes=codes))
        return
    await i18n.set_locale(locale)
    await message.answer(i18n.get("language-set", language=catalog.language_name(locale)))


async def on_language(
    query: CallbackQuery, callback_data: LanguageCallback, catalog: Catalog, i18n: I18nContext
) -> None:
    locale = catalog.match(callback_data.locale)
    if locale is None:  # a button from a release that had this language
        await query.answer(
            i18n.get(
                "language-unknown", code=callback_data.locale, codes=", ".join(catalog.locales)
            )
        )
        return
    await i18n.set_locale(locale)
    done = i18n.get("language-set", language=catalog.language_name(locale))
    await query.answer(done)
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(done)


class InHandoff(Filter):
    """The customer has an active ticket: a person, not the bot, answers them."""

    async def __call__(self, message: Message, escalation: EscalationService) -> bool | dict:
        ticket = await escalation.current(message.chat.id)
        return {"ticket": ticket} if ticket is not None else False


async def relay_to_agents(message: Message, ticket: Ticket, escalation: EscalationService) -> None:
    """While a ticket is open everything the customer sends goes to the agents' topic."""
    await escalation.customer_message(ticket, message)


async def handle_question(
    message: Message,
    bot: Bot,
    answering: AnsweringService,
    escalation: EscalationService,
    related: RelatedQuestions,
    settings: Settings,
    i18n: TextSource,
    abusive: bool | None = None,  # moderation's verdict on the text (bot/middlewares)
) -> None:
    if not message.text.strip():
        await message.answer(i18n.get("empty"))
        return
    stream = ReplyStream(bot, message.chat.id, interval=settings.generator.stream_interval_s)
    typing = ChatActionSender.typing(
        bot=bot, chat_id=message.chat.id, initial_sleep=TYPING_AFTER_S
    )
    async with typing:
        result = await answering.answer(
            message.chat.id, message.text, on_text=stream.update, abusive=abusive
        )
        if isinstance(result, Answer):
            also = await related.suggest(message.chat.id, result.answer_id, result.entry_id)
            keyboard = answer_keyboard(i18n, result.answer_id, [e.question for e in also])
            await stream.finish(result.text, keyboard)
            return
        await stream.discard()
    if isinstance(result, Clarification):
        await ask_back(message, result, i18n)
        return
    await hand_off(message.chat.id, display_name(message.from_user), result, bot, escalation, i18n)


async def hand_off(
    chat_id: int,
    customer: str,
    result: Escalation,
    bot: Bot,
    escalation: EscalationService,
    i18n: TextSource,
) -> None:
    """Open (or join) the customer's ticket and tell them a person will answer."""
    outcome = await escalation.escalate(chat_id, customer, result, locale=i18n.locale)
    if not outcome.is_new:
        await bot.send_message(chat_id, i18n.get("handoff-existing", ticket=outcome.ticket.id))
        return
    parts = [i18n.get("handoff-new", ticket=outcome.ticket.id)]
    if result.reason is EscalationReason.LOW_CONFIDENCE:
        parts.insert(0, i18n.get("low-confidence-prefix"))
    parts.append(escalation.wait_notice(texts=i18n))
    await bot.send_message(chat_id, " ".join(parts))


async def ask_back(message: Message, result: Clarification, i18n: TextSource) -> None:
    """ "Did you mean …?" with the plausible entries, a request to rephrase or a welcome, each
    offering a person; a thank-you is only acknowledged."""
    if result.reason == SmallTalk.THANKS:
        await message.answer(i18n.get("clarify-thanks"))
        return
    questions = [c.entry.question for c in result.candidates]
    if result.reason == SmallTalk.GREETING:
        text = i18n.get("clarify-greeting")
    else:
        text = i18n.get("clarify-did-you-mean" if questions else "clarify-rephrase")
    await message.answer(
        text, reply_markup=clarify_keyboard(i18n, result.clarification_id, questions)
    )


async def on_clarify_choice(
    query: CallbackQuery,
    callback_data: ClarifyCallback,
    bot: Bot,
    stores: Stores,
    answering: AnsweringService,
    escalation: EscalationService,
    related: RelatedQuestions,
    i18n: TextSource,
) -> None:
    """A press under "Did you mean …?": that entry's answer, or a person for "None of these"."""
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    record = await stores.clarifications.get(callback_data.clarification_id)
    if record is None:  # expired: a person can still be asked for
        await bot.send_message(
            chat_id,
            i18n.get("clarify-expired"),
            reply_markup=human_keyboard(i18n, callback_data.clarification_id),
        )
        return
    texts = escalation.texts  # the agents': they read the transcript
    if callback_data.choice == NONE_OF_THESE:
        await stores.conversations.append(
            chat_id, Turn(TurnRole.CUSTOMER, texts.get("turn-pressed-none-of-these"))
        )
        result = answering.none_of_these(record)
        await hand_off(chat_id, display_name(query.from_user), result, bot, escalation, i18n)
        return
    entry = answering.offered_entry(record, callback_data.choice)
    if entry is None:  # removed from the knowledge base since the buttons were sent
        await bot.send_message(
            chat_id,
            i18n.get("clarify-entry-gone"),
            reply_markup=clarify_keyboard(i18n, record.clarification_id, []),
        )
        return
    said = texts.get("turn-picked-suggestion", question=entry.question)
    answer = await answering.answer_entry(record, entry, said)
    await send_answer(bot, chat_id, answer, related, i18n)
    await answering.learn_choice(record, entry)  # after the answer: the customer does not wait


async def handle_other(message: Message, i18n: TextSource) -> None:
    """Photos, stickers, voice, files…: a polite request for text."""
    await message.answer(i18n.get("not-text"))


async def on_feedback(
    query: CallbackQuery,
    callback_data: FeedbackCallback,
    bot: Bot,
    answering: AnsweringService,
    escalation: EscalationService,
    i18n: TextSource,
) -> None:
    try:
        record, result = await answering.feedback(
            callback_data.answer_id, callback_data.helpful, chat_id=query.from_user.id
        )
    except NotYourAnswer:  # a forged button: another chat's answer (learning)
        await query.answer(i18n.get("feedback-not-yours"), show_alert=True)
        return
    if record is None:
        await query.answer(i18n.get("feedback-expired"))
        return
    thanks = "feedback-thanks-up" if callback_data.helpful else "feedback-thanks-down"
    await query.answer(i18n.get(thanks))
    try:
        if isinstance(result, Escalation):  # two different answers in a row did not help
            await hand_off(
                record.chat_id, display_name(query.from_user), result, bot, escalation, i18n
            )
        elif isinstance(result, Dislike) and await escalation.current(record.chat_id) is None:
            await offer_alternatives(bot, record, answering, i18n)
    finally:
        # Learning last (awaited here; it logs its own faults): the toast does not wait for it.
        await answering.learn_from_feedback(record, callback_data.helpful)


async def offer_alternatives(
    bot: Bot, record: AnswerRecord, answering: AnsweringService, i18n: TextSource
) -> None:
    """After a 👎: "Did you mean one of these?" with the other plausible entries for the question
    (a pick goes to ``on_clarify_choice``, as under "Did you mean …?") and a person; with none,
    the offer of a person alone."""
    offer = await answering.alternatives(record)
    if offer is None:
        await bot.send_message(
            record.chat_id,
            i18n.get("dislike-no-alternatives"),
            reply_markup=human_keyboard(i18n, record.answer_id),
        )
        return
    questions = [c.entry.question for c in offer.candidates]
    await bot.send_message(
        record.chat_id,
        i18n.get("dislike-alternatives"),
        reply_markup=clarify_keyboard(i18n, offer.clarification_id, questions),
    )


async def on_rating(
    query: CallbackQuery,
    callback_data: RatingCallback,
    escalation: EscalationService,
    i18n: TextSource,
) -> None:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    ticket = await escalation.rate(callback_data.ticket_id, callback_data.score, chat_id)
    if ticket is None:
        await query.answer(i18n.get("rating-already"))
        return
    thanks = i18n.get("rating-thanks", score=callback_data.score)
    await query.answer(thanks)
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(thanks)


async def on_talk_to_human(
    query: CallbackQuery,
    callback_data: HumanCallback,
    bot: Bot,
    stores: Stores,
    escalation: EscalationService,
    i18n: TextSource,
) -> None:
    await query.answer()
    record = await stores.answers.get(callback_data.answer_id)
    chat_id = query.message.chat.id if query.message else query.from_user.id
    texts = escalation.texts  # the agents': they read the ticket's question and the transcript
    question = record.question if record else texts.get("ticket-question-pressed-human")
    pressed = Turn(TurnRole.CUSTOMER, texts.get("turn-pressed-human"))
    await stores.conversations.append(chat_id, pressed)
    result = Escalation(EscalationReason.ASKED_FOR_HUMAN, question)
    await hand_off(chat_id, display_name(query.from_user), result, bot, escalation, i18n)


async def cmd_mydata(
    message: Message, bot: Bot, privacy: PrivacyService, settings: Settings, i18n: TextSource
) -> None:
    """``/mydata``: everything kept about the customer, as a JSON file."""
    export = await privacy.export(message.chat.id)
    if export is None:
        days = f"{settings.privacy.retention_days:g}"
        await message.answer(i18n.get("mydata-nothing", days=days))
        return
    document = BufferedInputFile(privacy.to_json(export), filename="my-data.json")
    await bot.send_document(message.chat.id, document, caption=i18n.get("mydata-caption"))


async def cmd_forget(message: Message, privacy: PrivacyService, i18n: TextSource) -> None:
    """``/forget``: what deleting means, and buttons to confirm or cancel."""
    token = await privacy.ask_to_forget(message.chat.id)
    await message.answer(
        i18n.get("forget-confirm"), reply_markup=forget_keyboard(i18n, message.chat.id, token)
    )


async def on_forget(
    query: CallbackQuery,
    callback_data: ForgetCallback,
    bot: Bot,
    privacy: PrivacyService,
    i18n: TextSource,
) -> None:
    """Delete / Cancel under /forget: only its customer's press of its latest request counts."""
    if query.from_user.id != callback_data.customer_id:
        await query.answer(i18n.get("forget-not-yours"), show_alert=True)
        return
    if not await privacy.answer_request(callback_data.customer_id, callback_data.token):
        await query.answer(i18n.get("forget-stale"), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
    chat_id = callback_data.customer_id  # a private chat: the customer's own
    if not callback_data.confirm:
        await bot.send_message(chat_id, i18n.get("forget-cancelled"))
        return
    forgotten = await privacy.forget(callback_data.customer_id)
    if not forgotten.reported:
        await bot.send_message(chat_id, i18n.get("forget-nothing"))
        return
    what = ", ".join(
        i18n.get("privacy-kind", kind=kind, count=count)
        for kind, count in forgotten.reported.items()
    )
    if forgotten.closed_ticket:
        done = i18n.get("forget-done-ticket", what=what, ticket=forgotten.closed_ticket)
    else:
        done = i18n.get("forget-done", what=what)
    await bot.send_message(chat_id, done)


# ---------------------------------------------------------------- "People also ask"


def register_related(router: Router) -> None:
    """The "People also ask" buttons under answers; a garbled one (a forged or truncated
    callback with the buttons' prefix) is told so rather than left spinning."""
    router.callback_query.register(on_related_choice, RelatedCallback.filter())
    router.callback_query.register(on_related_garbled, Inline(F.data.startswith(RELATED_PREFIX)))


async def send_answer(
    bot: Bot, chat_id: int, answer: Answer, related: RelatedQuestions, i18n: TextSource
) -> None:
    """An answer picked by a button, with 👍 / 👎, "Talk to a human" and what people also ask."""
    also = await related.suggest(chat_id, answer.answer_id, answer.entry_id)
    keyboard = answer_keyboard(i18n, answer.answer_id, [e.question for e in also])
    await bot.send_message(chat_id, answer.text, reply_markup=keyboard)


async def on_related_choice(
    query: CallbackQuery,
    callback_data: RelatedCallback,
    bot: Bot,
    answering: AnsweringService,
    escalation: EscalationService,
    related: RelatedQuestions,
    i18n: TextSource,
) -> None:
    """A "People also ask" press: that entry's answer at once — or, for an entry deleted since,
    a notice and the nearest entry's answer."""
    chat_id = query.message.chat.id if query.message else query.from_user.id
    pick = await related.pressed(chat_id, callback_data.answer_id, callback_data.choice)
    if pick is None:  # never offered to this chat, or expired: nothing changes
        raise UserFacingError(i18n.get("related-unavailable"))
    await query.answer()
    if pick.entry is None:
        await bot.send_message(
            chat_id,
            i18n.get("related-gone", question=pick.offered),
            reply_markup=human_keyboard(i18n, callback_data.answer_id),
        )
        return
    if pick.gone:
        notice = i18n.get(
            "related-gone-nearest", question=pick.offered, nearest=pick.entry.question
        )
        await bot.send_message(chat_id, notice)
    said = escalation.texts.get("turn-picked-related", question=pick.entry.question)
    answer = await answering.answer_picked(
        chat_id, pick.entry.question, pick.entry, said, confidence=1.0, source=pick.source
    )
    await send_answer(bot, chat_id, answer, related, i18n)


async def on_related_garbled(query: CallbackQuery, i18n: TextSource) -> None:
    raise UserFacingError(i18n.get("related-unavailable"))

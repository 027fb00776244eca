start =
    Hi{ $name }! I'm the { $product } support assistant.
    
    Ask me anything about orders, delivery, returns, payments, your account or our products — in your own words. If I'm not sure, I'll pass you to a person from our support team.
    
    /help shows what I can do.
help =
    Just type your question, for example “Where is my order?” or “How do I return an item?”.
    
    • 👍 / 👎 under an answer tells us whether it helped.
    • “Talk to a human” hands your question to our support team.
    • /start shows the greeting again.
    • /language changes the language I answer in.
    • /mydata sends you what we keep about you; /forget deletes it.
not-text = Sorry, I can only read text messages. Please type your question — or tap “Talk to a human” if you'd like a person to look at it.
empty = Please type your question in words, and I'll look it up.
feedback-thanks-up = Thanks for the feedback! 🙌
feedback-thanks-down = Thanks for telling us. Tap “Talk to a human” if you'd like a person to help.
feedback-expired = This answer is too old to rate.
handoff-new = I've passed your question to our support team (ticket #{ $ticket }). A person will reply here in this chat — you don't need to do anything else.
handoff-existing = Your question is already with our support team (ticket #{ $ticket }); I've added this message to it. A person will reply here.
# Put before handoff-new (with a space) when the bot was not confident enough to answer.
low-confidence-prefix = I'm not sure I have the right answer to that, so I'm getting a person to help.
error = Sorry, something went wrong on our side. Please try again in a moment.
button-helpful = 👍
button-not-helpful = 👎
button-human = Talk to a human
button-rating = { $score }⭐
wait-soon = A person usually replies within about { $minutes } minutes.
# $when is one of the wait-back-… texts below.
wait-offline = Our team is offline right now; they're back { $when } ({ $tz }). Your message is saved, and a person will reply here then.
wait-back-today = today at { $time }
wait-back-tomorrow = tomorrow at { $time }
# $day: the weekday's name
wait-back-on = on { $day } at { $time }
handoff-agent-joined = 👋 { $agent } from our support team is looking at your question now.
handoff-closed = Your conversation with our support team is closed (ticket #{ $ticket }) — I'm back to answer your questions. How did we do? Tap 1 (poor) to 5 (excellent).
rating-thanks = Thank you for rating us { $score }/5!
rating-already = This conversation was already rated — thank you!

## /language: the customer's reply language

# How this language names itself, on its /language button.
language-name = English
language-choose = Which language should I answer you in?
# $language: the chosen language's language-name
language-set = Done — from now on I'll answer you in { $language }.
# $code: what the customer typed; $codes: the available codes, e.g. "en, zh"
language-unknown = Sorry, I don't know the language “{ $code }”. Available: { $codes } — for example /language en, or just /language to pick from a list.

## Any chat: a refused request (a UserFacingError) — in reply to a command, or to a file sent

refused = ❌ { $problems }
# $problems: one per line, the last one may be refused-more
file-refused =
    ❌ { $name } refused ({ $count } problem(s)); the knowledge base is unchanged:
    { $problems }
refused-more = … and { $count } more
# The name of a file sent without one.
file-unnamed = upload

## The terminal chat (`supportbot chat`)

terminal-loading = Loading the knowledge base and models…
terminal-ready = { $product } support bot ready in { $seconds }s ({ $entries } FAQ entries). Type your question; /quit to leave.
# The prompt for the person typing (a space follows it).
terminal-prompt = you>
terminal-answer =
    bot> { $text }
         { "[" }{ $entry }, confidence { $confidence }]
# $reason: the reason's code, e.g. low_confidence
terminal-handoff = bot> I'm handing this to a person from our support team (ticket #{ $ticket }, reason: { $reason }).
terminal-bye = Bye!
# The customer's name on a ticket opened from the terminal chat (agents read it).
terminal-customer = terminal user
# What an agent wrote to the customer, shown in the terminal chat.
terminal-from-agent = agent> { $text }
terminal-agent-attachment = (the agent sent a file: the terminal cannot show it)
# The agent side of the terminal chat: the console on this machine and its login.
terminal-console = Agents: the console is at { $url } (user { $user }, password { $password }). A question the bot hands over appears there; your answer comes back here.
terminal-no-console = The agents' console could not start on port { $port } (in use?); set CONSOLE__PORT to another port to answer handed-over questions.

# Sent once when a customer writes faster than the flood limit; later messages in that window get no answer.
flood-notice = You're sending messages very quickly, so I'll pause for a few seconds. Please send your question in one message, and I'll answer it.

## Moderation: abusive language (bot/middlewares/moderation.py)

# The first abusive message in a window: a calm warning; the message is still answered.
moderation-warning = I understand this is frustrating, and I want to help. Please keep the language respectful, though — another message like that and I'll have to pause our chat for a while.
# Abusive again within the window: one notice; nothing the customer writes is answered or passed on until then.
# $minutes: the mute's length; $time: when it ends (HH:MM); $tz: the time zone of $time
moderation-muted = I've paused our chat for { $minutes } minutes because of the language used. You can write again at { $time } ({ $tz }), and I'll be glad to help then.
# An agent lifted the mute early.
moderation-unmuted = Our support team has resumed the chat — you can write again, and we'll help.
## Unclear messages: the bot asks back before it opens a ticket

# Above up to three "Did you mean …?" buttons (the entries the bot thinks of).
clarify-did-you-mean = I'm not sure I understood. Did you mean one of these?
# A greeting alone ("hi", "你好").
clarify-greeting = Hi! What can I help you with? Just ask your question here.
# A thank-you or goodbye alone ("thanks", "ok bye", "谢谢").
clarify-thanks = You're welcome! If there's anything else, just ask.
# Nothing plausible to offer (emoji, symbols, random letters, code, a bare link, or a vague question).
clarify-rephrase = Sorry, I didn't quite get that. Could you tell me in a few words what you need help with?
# $question: an FAQ entry's question, shortened
button-did-you-mean = ❓ { $question }
button-none-of-these = None of these — talk to a person
# A "Did you mean" button whose entry was removed from the FAQ since.
clarify-entry-gone = Sorry, that answer is no longer in our FAQ. Would you like a person to help?
# Buttons from a clarification that has expired.
clarify-expired = These suggestions have expired. Please ask your question again, or talk to a person.
# The terminal chat: $text is clarify-did-you-mean or clarify-rephrase; $suggestions one per line
terminal-clarify =
    bot> { $text }
    { $suggestions }
# $number: 1, 2, 3; $question: an FAQ entry's question
terminal-suggestion = {"     "}{ $number }) { $question }
## Customers' data: /mydata and /forget (bot/handlers/customer.py)

# $days: PRIVACY__RETENTION_DAYS
mydata-nothing = We keep nothing about you: no conversation, tickets, feedback or preferences. (Only a technical record that you wrote to us, without your words, deleted within { $days } days.)
mydata-caption = Everything we keep about you, as a JSON file.
forget-confirm = This deletes everything we keep about you: your conversation with the bot, your tickets (an open one is closed), your feedback, your language choice and the questions you asked. It cannot be undone. Delete it?
button-forget-confirm = 🗑 Delete my data
button-forget-cancel = Cancel
forget-cancelled = Cancelled: nothing was deleted.
forget-not-yours = These buttons belong to someone else's request; nothing was changed. Send /forget to delete your own data.
forget-stale = This request was already answered or has expired; nothing was changed. Send /forget again if you want to delete your data.
forget-nothing = We kept nothing about you but a technical record that you wrote to us (without your words); that is deleted too.
# $what: a list of privacy-kind texts
forget-done = Done. We deleted { $what }.
forget-done-ticket = Done. Your open ticket #{ $ticket } is closed and we deleted { $what }.
# One kind of data that was deleted; $count: how many items
privacy-kind = { $kind ->
    [conversation] your conversation with the bot
    [answers] { $count } answer(s) with your feedback
    [tickets] { $count } ticket(s) with their transcripts
    [language] your language choice
    [unanswered_questions] { $count } question(s) kept for improving our answers
    [kb_suggestions] { $count } suggestion(s) for our FAQ made from your tickets (your words removed)
    [undelivered_messages] { $count } message(s) waiting to be delivered to you
    [moderation] your moderation state (warnings, mute)
    [clarifications] { $count } question(s) the bot asked back about
    [questions] { $count } question(s) kept for the topics report
    [related_questions] which FAQ answers you got and the questions suggested to you
    [learning_candidates] { $count } question(s) waiting to be learned as a wording of an FAQ answer
    [kb_drafts] { $count } draft(s) for our FAQ written from your tickets
   *[other] { $kind } ({ $count })
}

## Canned replies and files from the console

terminal-agent-file = (the agent sent a file: { $name })

## "People also ask": related questions under an answer

# A question other customers asked next, as a button under an answer
button-related = People also ask: { $question }
related-unavailable = That suggestion is not available (any more); nothing was changed. Please type your question.
related-gone = Sorry, “{ $question }” is no longer in our FAQ. Please type your question, or talk to a person.
related-gone-nearest = Sorry, “{ $question }” is no longer in our FAQ. Here is the closest one we have: “{ $nearest }”.

## Learning from confirmed answers

feedback-not-yours = This answer was sent to someone else; your vote was not counted.

## The terminal chat: picking suggestions by number, rating answers, asking for a person (bot/terminal.py)

# Printed under terminal-ready: what can be typed besides questions.
terminal-commands = Type the number of a suggestion to pick it; /good or /bad rates the last answer; /human asks for a person.
# A reply the Telegram bot sends with the same $text (e.g. related-gone), in the terminal chat.
terminal-bot = bot> { $text }
# Under an answer; the questions follow numbered, one per line (terminal-suggestion).
terminal-related = {"     "}People also ask (type a number):
# Under the numbered "Did you mean …?" suggestions.
terminal-pick-hint = {"     "}Type a number to pick one, or /human for a person.
# $number: what was typed; $count: how many suggestions are shown (numbered from 1).
terminal-no-such-choice = bot> There is no suggestion { $number }: type a number from 1 to { $count }, or your question.
terminal-no-choices = bot> There are no numbered suggestions to pick from right now (you typed { $number }): please type your question.
terminal-nothing-to-rate = bot> There is no answer to rate yet: ask a question first, then type /good or /bad.
terminal-rated-good = bot> Thanks for the feedback! 🙌
terminal-rated-bad = bot> Thanks for telling us. Type /human if you'd like a person to help.
terminal-human-already = bot> A person from our support team already has your conversation (ticket #{ $ticket }): type here and they will read it.

## After a 👎: the other answers for the same question (bot/handlers/customer.py offer_alternatives)

# Above up to three buttons (button-did-you-mean) and button-none-of-these.
dislike-alternatives = Sorry that didn't help. Did you mean one of these?
# No other FAQ answer fits the question: only the "Talk to a human" button follows.
dislike-no-alternatives = Sorry that didn't help. I have no other answer for this question — would you like a person to help?

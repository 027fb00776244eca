button-claim = 🙋 Claim
button-close = ✅ Close
button-reopen = ↩️ Reopen
agent-not-allowed = Only support agents can do that — nothing was changed.
agent-not-allowed-reply = ⛔ Only support agents can write to customers; your message was not sent.
agent-unknown-ticket = This ticket no longer exists.
agent-claimed = 🙋 Claimed by { $agent }.
agent-claimed-toast = You've got ticket #{ $ticket }.
agent-already-claimed = Already claimed by { $agent }.
agent-ticket-closed-toast = Ticket #{ $ticket } is closed.
agent-closed = ✅ Closed by { $agent }; the customer is back with the bot and was asked for a rating.
agent-closed-toast = Ticket #{ $ticket } closed.
agent-reopened = ↩️ Reopened by { $agent }.
agent-reopen-refused = The customer already has another open ticket (#{ $ticket }).
agent-reply-to-closed = This ticket is closed, so your message was not sent. Press “Reopen” to write to the customer.
agent-customer-blocked = ⛔ The customer has blocked the bot, so messages can't be delivered. The ticket is marked “customer blocked”; it will clear if they write again.
agent-not-delivered = ⚠️ Not delivered to the customer ({ $error }). Please try again.
agent-topic-recreated = ♻️ The previous topic of this ticket was deleted or could not be found; here is the conversation so far.
agent-rating = ⭐ The customer rated this conversation { $score }/5.
agent-console-reply =
    🧑‍💼 { $agent } (web console):
    { $text }
agent-sla-reminder = ⏰ Ticket #{ $ticket } — { $customer } has waited { $minutes } min and nobody has claimed it yet.
agent-sla-reply-reminder = ⏰ Ticket #{ $ticket } — { $customer } has waited { $minutes } min for a reply from { $agent }.
# To the admins from a ticket's second reminder on; $reminder is the reminder itself.
agent-sla-admins = Still waiting after repeated reminders — please step in. { $reminder }
button-add-to-kb = 📚 Add to knowledge base
agent-kb-offer = 💡 Was this a question others will ask too? Suggest your reply for the knowledge base (operators approve it).
agent-kb-suggested = Suggestion #{ $id } is waiting for an operator: “{ $question }”.
agent-kb-no-reply = There is no agent reply in this ticket yet.
reason-low-confidence = bot not confident
reason-asked-for-human = customer asked for a person
reason-long-message = long message
reason-negative-sentiment = customer is upset
reason-repeated-dislikes = two 👎 in a row
reason-repeated-question = same question three times
reason-console = opened from the console

## A ticket's topic in the agents' chat

# The topic's name (code keeps it within Telegram's 128 characters).
ticket-topic-name = #{ $ticket } { $customer } · { $summary }
ticket-topic-closed = ✅ { $name }
# A customer without a name.
ticket-customer-unnamed = customer
ticket-opening-header = 🆕 Ticket #{ $ticket } — { $customer } (chat { $chat })
ticket-opening-reason = Reason: { $reason }
ticket-opening-transcript = Transcript:
ticket-opening-empty = (empty)
# $confidence: a percentage, e.g. 42%
ticket-best-guess = 🤖 Bot's best guess ({ $confidence } confident): { $guess }
ticket-no-good-guess = 🤖 No good guess (best confidence { $confidence }).
ticket-opening-footer = Anything you write in this topic goes to the customer.
# The question of a ticket opened by the button when the answer it was under is gone.
ticket-question-pressed-human = (customer pressed “Talk to a human”)

## The transcript: one line per turn, and the markers kept in it

turn-role =
    { $role ->
        [customer] 👤
        [bot] 🤖
        [agent] 🧑‍💼
       *[other] { $role }
    }
turn = { turn-role } { $text }
turn-named = { turn-role } { $name }: { $text }
turn-pressed-human = [pressed “Talk to a human”]
# $reason: one of the reason-… texts
turn-escalated = [{ $reason }]
# A message that is not text: $kind is its type (photo, voice, …).
turn-attachment = [{ $kind }]
turn-attachment-caption = [{ $kind }] { $caption }
turn-rated = [rated { $score }/5]
turn-claimed = [claimed by { $agent }]
turn-reopened = [reopened by { $agent }]
turn-handed-back = [handed back to the bot]
turn-customer-blocked = [customer has blocked the bot]

## Replies the console shows for a reply that was not sent

agent-nothing-to-send = Nothing to send.
agent-no-bot = no bot configured
agent-delivery-kept = ⏳ Telegram is not answering ({ $error }); the message is kept and will reach the customer when it does — no need to send it again.

## Moderation: abusive language (bot/services/moderation.py, /unmute)

# In the ticket's topic when its customer is muted. $minutes, $time (HH:MM), $tz: the mute's length and end.
agent-customer-muted = 🔇 Customer muted for abusive language until { $time } ({ $tz }): their messages are not answered or relayed. /unmute to lift.
# In the ticket's topic when an agent lifts the mute (here or in the console).
agent-unmuted = 🔊 { $agent } lifted the mute: the customer can write again.
agent-not-muted = This customer is not muted.
## Unclear messages: asked back first ("Did you mean …?"), a person the second time

reason-unclear = unclear message (emoji, symbols, random letters, code or a link) — the bot asked back first
# In a ticket's transcript: what the customer pressed under "Did you mean …?"
turn-picked-suggestion = [picked “{ $question }” under “Did you mean …?”]
turn-pressed-none-of-these = [pressed “None of these — talk to a person”]
## Customers' data (/forget)

# Who closed a ticket whose customer asked us to delete their data.
agent-closed-by-customer = the customer (data deletion)
agent-customer-forgot = 🗑 The customer asked us to delete their data: ticket #{ $ticket } is closed and its transcript deleted. Please don't contact them about it.

## Assignment: /assign NAME in a ticket's topic, and the console's Assign
agent-assigned = 👤 #{ $ticket } assigned to { $agent } by { $by }.
agent-assign-unknown = No enabled account is called “{ $name }” — nothing was changed.
agent-assign-usage = Write /assign and an account's name, e.g. /assign Bob.
agent-auto-assigner = automatic assignment
agent-available-usage = Write /available on (new tickets may be given to you) or /available off (away).
agent-available-no-account = Your Telegram account is linked to no console account, so tickets cannot be given to you automatically — ask an admin to link it.
agent-available-on = { $agent } is available: new tickets may be assigned automatically.
agent-available-off = { $agent } is away: no new tickets will be assigned automatically.
## Canned replies (/reply NAME in a ticket's topic, the console's canned replies page)

# /reply alone; $names: the saved replies' names, comma-separated.
agent-canned-list = Canned replies: { $names }. Send one with /reply NAME, or a knowledge-base answer with /reply kb:ENTRY_ID.
# Shown in the ticket's topic after /reply sent a canned reply or a knowledge-base answer.
agent-canned-sent =
    📨 { $agent } sent “{ $what }”:
    { $text }
canned-unknown = There is no canned reply “{ $name }”. Known: { $known }.
canned-unknown-kb = There is no knowledge-base entry “{ $id }”.
canned-bad-name = “{ $name }” can't be a canned reply's name: use 1–32 lowercase letters, digits, - or _, starting with a letter or digit.
canned-empty = A canned reply needs a text.
canned-too-long = A canned reply can be at most { $limit } characters long.
# $placeholder: e.g. {order}; $allowed: {name}, {agent}, {ticket}
canned-bad-placeholder = Unknown placeholder { $placeholder }: a canned reply may use { $allowed }.
# A file sent from the console, in the ticket's transcript and topic.
turn-agent-file = [file: { $name }]
turn-agent-file-caption = [file: { $name }] { $caption }
agent-console-file = 🧑‍💼 { $agent } (web console) sent a file: { $name }
agent-file-too-big = The file is too big: at most { $limit } MB can be sent.
agent-file-empty = The file is empty or none was chosen.

## "People also ask": related questions under an answer

turn-picked-related = [picked “{ $question }” under “People also ask”]

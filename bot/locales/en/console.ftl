# What the agents' web console says from Python (bot/console/*.py): flashes, refusals, errors.
# The pages' own words are in its templates. Numbers arrive formatted as text.

console-log-in-first = log in first
console-form-expired = the form expired; reload the page
console-wrong-login = Wrong username or password.

## Tickets

console-no-ticket = no ticket #{ $ticket }
console-unknown-action = unknown action { $action }
console-sent = Sent to the customer.
console-ticket-reopened = Ticket #{ $ticket } reopened.

## Knowledge base

console-members-invalid = members: expected a JSON list of texts
console-unknown-format = unknown format { $format }
console-no-entry = no entry { $id } in v{ $version }
console-suggestion-pending = Suggestion #{ $id } is pending.
console-suggestion-approved = Suggestion #{ $id } → { $entry }: { $commit }
console-gap-dismissed = Dismissed { $removed } logged question(s).
console-retrain-requested = Retraining requested; the current model answers until the new one is ready.
# A change that was refused: the flash on the page the agent is sent back to.
console-not-saved = Not saved: { $problems }
console-not-deleted = Not deleted: { $problems }
console-not-added = Not added: { $problems }
console-not-removed = Not removed: { $problems }
console-not-rolled-back = Not rolled back: { $problems }

## Moderation: abusive language (the ticket page's Unmute button)

# $minutes, $time (HH:MM), $tz: the mute's length and end.
console-muted-until = customer muted for abusive language until { $time } ({ $tz })
console-unmuted = Mute lifted: the customer can write again.
console-not-muted = This customer is not muted.
## Team accounts (bot/services/accounts.py, bot/console/users.py): refusals are shown to the admin
## in the console and printed by `supportbot users`.

account-unknown-role = no role { $role }; the roles are: { $roles }
account-bad-name = { $name } cannot be an account name: 2 to 32 letters a-z, digits, '.', '_' or '-'
account-name-taken = an account named { $name } already exists
account-telegram-taken = Telegram id { $telegram_id } is already linked to another account
account-unknown = no account named { $name }
account-short-password = the password is too short: at least { $least } characters
account-weak-password = the password is too easy to guess: { $advice }
account-bad-telegram-id = a Telegram id is a number, not { $value }
console-forbidden = Your role ({ $role }) may not open this page.
console-session-ended = Your session ended (your account was changed or disabled); log in again.
console-too-many-logins = Too many failed logins; try again in { $minutes } minute(s).
console-account-added = Account { $name } ({ $role }) added.
console-account-role-set = { $name } is now { $role }; their open sessions ended.
console-account-disabled = { $name } is disabled; their open sessions ended.
console-account-enabled = { $name } is enabled again.
console-account-password-reset = New password set for { $name }; their open sessions ended.
console-not-changed = Not changed: { $problems }
console-not-yourself = you cannot disable your own account or take its admin role; another admin (or `supportbot users`) can

## Assignment: the ticket page's "Assign to" form
console-assigned = Ticket #{ $ticket } is now { $agent }'s.
console-available-on = You are available: new tickets may be assigned to you automatically.
console-available-off = You are away: no new tickets will be assigned to you automatically.
## Canned replies (/kb/canned) and files from the ticket page

console-canned-saved = Canned reply “{ $name }” saved.
console-canned-deleted = Canned reply “{ $name }” deleted.
console-canned-not-deleted = Not deleted: { $problems }
console-file-sent = File sent: { $name }
console-file-not-sent = File not sent: { $problems }

# dashboard periods
console-dashboard-period = There is no { $asked }-day view; the dashboard covers { $periods } days. Showing the last { $default }.

## Learning from confirmed answers

console-learning-off = Learning from confirmed answers is not available in this console.
console-not-undone = Not undone: { $problems }

## Drafts for operators: /kb/drafts. A draft is never sent to a customer.

console-draft-written = Draft { $id } written: read it, edit it, approve or discard it.
console-draft-approved = Draft { $id } approved → { $entry }: { $commit }
console-draft-approved-copy = Draft { $id } approved (copy: the knowledge base is unchanged).
console-draft-discarded = Draft { $id } discarded.
console-draft-missing = No draft { $id } (mistyped, or expired).
console-draft-not-written = Not written: { $problems }
console-draft-not-decided = Not done: { $problems }

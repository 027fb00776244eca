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

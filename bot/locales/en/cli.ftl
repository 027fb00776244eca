# What the `supportbot` command prints (bot/cli.py, bot/cli_kb.py). Numbers arrive formatted as
# text; argparse's own help stays in the code.

# A refused input, bad settings or Redis away (on stderr; the command exits with 2).
cli-error = supportbot: { $error }
cli-share = expected a number from 0 to 1, got { $got }
cli-start-chat = TELEGRAM__TOKEN is not set: starting a chat with the bot in this terminal.
cli-healthy = healthy
cli-unhealthy = unhealthy: no recent heartbeat from the bot on this host
cli-unhealthy-no-redis = unhealthy: REDIS__URL is not set
cli-index-ready = index ready: { $entries } entries, { $phrasings } phrasings

## Training and evaluating models

cli-training = training on { $entries } entries, { $phrasings } phrasings
cli-training-with-negatives = training on { $entries } entries, { $phrasings } phrasings, { $negatives } out-of-scope questions as negatives
# Appended right after the seconds of a "saved" line, hence the leading space.
cli-stopped-by-budget = {" "}(stopped by the time budget)
cli-retriever-saved = saved { $model }: { $steps }/{ $planned } steps in { $seconds }s{ $budget }; use it with --model { $out } or RETRIEVAL__MODEL_PATH={ $out }
cli-generator-saved = saved { $model }: { $steps }/{ $planned } steps on { $examples } examples in { $seconds }s{ $budget }; held-out loss { $before } → { $after }; { $heldout } held-out phrasings in { $heldout_file }. The bot uses it with GENERATOR__MODEL_PATH={ $out }
cli-no-generator = no fine-tuned generator in { $path }: evaluating verbatim answers
# One row of the evaluation table; the name arrives right-aligned.
cli-metric = { $name }: { $value }
cli-latency-label = latency p50 / p99
cli-latency = { $p50 } / { $p99 } ms
cli-queries-label = queries
cli-queries = { $queries } ({ $skipped } out of scope skipped)
cli-reply =
    ? { $query }
    {"["}{ $source }] { $reply }

## supportbot kb …

cli-kb-file-not-found = { $file }: file not found
cli-kb-imported = imported { $entries } entries from { $file }
cli-kb-warning = warning: { $issue }
cli-kb-exported = wrote v{ $version } to { $file } ({ $format })
cli-kb-entries = v{ $version }: { $entries } entries
cli-kb-no-entry = no entry { $id } in v{ $version }
cli-kb-entry =
    id: { $id }
    question: { $question }
    answer: { $answer }
cli-kb-entry-also = also: { $phrasing }
cli-kb-entry-tags = tags: { $tags }
cli-kb-nothing-to-change = nothing to change; give --question, --answer, …
cli-kb-out-of-scope = v{ $version }: { $count } out-of-scope questions
cli-kb-needs-question = kb out-of-scope { $action } needs the question
cli-kb-issues = { $count } issue(s)
cli-kb-gaps-none = no unanswered or escalated questions recorded
cli-kb-gap = { $count }× { $label }  [{ $reasons }]
cli-kb-retrain-requested = retraining requested; a running bot trains and swaps the model when ready
cli-kb-suggestions-none = no pending suggestions
cli-kb-suggestion =
    #{ $id } by { $by }
    {"  "}Q: { $question }
    {"  "}A: { $answer }
cli-kb-suggestion-from-ticket =
    #{ $id } by { $by } ticket #{ $ticket }
    {"  "}Q: { $question }
    {"  "}A: { $answer }
cli-kb-needs-suggestion = kb suggestions { $action } needs a suggestion id
cli-kb-approved = suggestion #{ $id } → { $entry }
cli-kb-rejected = suggestion #{ $id } rejected

## supportbot report

cli-report-bad-moment = cannot read { $value } as a period: give a span back from now (30m, 24h, 7d, 4w) or a date (2026-11-30)
cli-report-empty-period = --until must be later than --since
cli-report-title = Support from { $since } to { $until }
cli-report-conversations = Conversations
cli-report-messages = Customer messages
cli-report-involvement-rate = Involvement (bot answered)
cli-report-resolution-rate = Resolution
cli-report-resolution = { $rate } ({ $confirmed } confirmed, { $assumed } assumed, { $pending } pending)
cli-report-escalation-rate = Escalation
cli-report-tickets = Tickets opened
cli-report-csat = CSAT (4–5 of 5)
cli-report-thumbs-up-share = 👍 share of rated answers
cli-report-of = { $value } of { $n }
cli-report-first-response-p50-s = First response, median
cli-report-first-response-business-p50-s = First response in business hours, median
cli-report-resolution-time-p50-s = Resolution time, median
cli-report-unclaimed-wait-p50-s = Wait until claimed, median
cli-report-reasons = Tickets by reason
cli-report-reason = Reason
cli-report-count = Tickets
cli-report-entries = Answers to fix (worst first)
cli-report-col-entry = Entry
cli-report-col-answers = Answers
cli-report-col-up = 👍
cli-report-col-down = 👎
cli-report-col-resolved = Resolved
cli-report-col-handoffs = Handoffs after
cli-report-topics = What customers asked about
cli-report-col-topic = Topic
cli-report-col-volume = Questions
cli-report-col-trend = vs. before
cli-report-col-answered = Answered
cli-report-col-escalated = To a person
cli-report-col-mood = Mood
cli-report-col-example = Example
# After a topic's name when most of its questions went to a person: see `supportbot kb gaps`.
cli-report-gap = {" "}(gap: see kb gaps)
cli-report-new = new
cli-report-html-written = wrote { $file }
## supportbot privacy …

# One line per kind of data the retention sweep looked at; $count: records masked or deleted
cli-privacy-swept = { $kind }: { $count } masked or deleted

## Team accounts: `supportbot users` (bot/cli_users.py)

cli-users-password = Password for { $name }:{" "}
cli-users-password-again = The same password again:{" "}
cli-users-password-mismatch = the two passwords differ; nothing changed
cli-users-added = added { $name } ({ $role })
cli-users-role-set = { $name } is now { $role }
cli-users-disabled = { $name } is disabled; their console sessions ended
cli-users-enabled = { $name } is enabled again
cli-users-password-reset = new password set for { $name }; their console sessions ended
cli-users-none = no accounts yet; add one with `supportbot users add NAME --role admin`
cli-users-col-name = Name
cli-users-col-role = Role
cli-users-col-telegram = Telegram id
cli-users-col-state = State
cli-users-active = active
cli-users-disabled-state = disabled

## Canned replies (supportbot canned)

cli-canned-none = no canned replies yet; add one with `supportbot canned add NAME --text TEXT`
cli-canned-saved = canned reply “{ $name }” saved
cli-canned-deleted = canned reply “{ $name }” deleted

## "People also ask": related questions under an answer

cli-related-rebuilt = counted { $count } questions asked next, from the recorded answers

## Learning from confirmed answers (supportbot kb learned)

cli-kb-learned-none = nothing learned yet
cli-kb-learned-col-id = #
cli-kb-learned-col-entry = entry
cli-kb-learned-col-text = phrasing
cli-kb-learned-col-evidence = evidence
cli-kb-learned-col-customers = customers
cli-kb-learned-col-version = version
cli-kb-learned-col-when = when (UTC)
cli-kb-learned-col-status = status
cli-kb-learned-counts = decisions: { $counts }

## A threshold that keeps its promise (supportbot kb propose-threshold)

cli-kb-threshold-proposed = RETRIEVAL__THRESHOLD={ $threshold }
cli-kb-threshold-recall = expected out-of-scope recall on unseen questions: { $recall } ({ $level } interval { $low } – { $high }); at least { $target } with { $level } confidence
cli-kb-threshold-in-scope = expected on in-scope questions: { $answered } answered, { $right } answered with the right entry
cli-kb-threshold-in-scope-unknown = expected on in-scope questions: unknown — no entry has 3 or more phrasings to hold one out (the confidence is borrowed from the bundled knowledge base)
cli-kb-threshold-evidence = evidence (v{ $version }): { $oos } out-of-scope questions ({ $kb } in the knowledge base, { $file } more from RETRIEVAL__OUT_OF_SCOPE_PATH), each scored by a confidence fitted without it; { $phrasings } held-out phrasings
cli-kb-threshold-current = the current RETRIEVAL__THRESHOLD={ $threshold } escalates { $recall } of them ({ $low } – { $high })
cli-kb-threshold-too-few = no threshold proposed: { $have } out-of-scope questions known (v{ $version }: { $kb } in the knowledge base, { $file } more from RETRIEVAL__OUT_OF_SCOPE_PATH); at least { $needed } are needed to promise { $recall } recall with { $level } confidence. Add questions no entry answers with `supportbot kb out-of-scope add "…"` or in RETRIEVAL__OUT_OF_SCOPE_PATH
cli-kb-threshold-bad-recall = --recall: expected a share above 0 and below 1 (e.g. 0.9), got { $got }; nothing changed
cli-kb-threshold-empty = the live knowledge base (v{ $version }) has no entries: there is no threshold to propose
cli-kb-threshold-bad-confidence = --confidence: expected a share above 0 and below 1 (e.g. 0.95), got { $got }; nothing changed

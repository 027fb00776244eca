button-approve = ✅ Approve
button-reject = 🗑 Reject
button-gap-out-of-scope = 🚫 Not ours: out of scope
button-gap-dismiss = ✓ Dismiss
kb-gap-expired = This report is out of date; send /kb_gaps again.
operator-only = Only knowledge-base operators (OPERATORS__IDS) can do that — nothing was changed.
kb-help =
    Knowledge base commands (operators):
    /kb_show ID — one entry
    /kb_add ID | question | answer — new entry
    /kb_edit ID question|answer|tags = text — change one field
    /kb_delete ID — remove an entry
    /kb_phrasing_add ID | text, /kb_phrasing_remove ID | text
    /kb_oos — questions no entry answers (handed to a person); /kb_oos_add text, /kb_oos_remove text
    /kb_history, /kb_diff A B, /kb_rollback N
    /kb_check — near-duplicates and misplaced phrasings
    /kb_gaps — what customers ask that the knowledge base does not answer
    /kb_suggestions, /kb_approve ID [entry], /kb_reject ID
    /kb_export yaml|jsonl|csv|md, /kb_retrain
    /stats — today's and this week's figures
    /draft — drafts: rewrite an answer, product copy, an entry from agents' answers
    Send a .yaml / .jsonl / .csv / .md file to import it (caption “replace” to replace all).
kb-suggestion =
    Suggestion #{ $id } (from { $by }):
    Q: { $question }
    A: { $answer }
kb-suggestion-from-ticket =
    Suggestion #{ $id } (from { $by }, ticket #{ $ticket }):
    Q: { $question }
    A: { $answer }

## Replies to operators' /kb… commands. Numbers (versions, counts) arrive formatted as text.

kb-nothing-changed = Nothing changed (the knowledge base already says that).
kb-commit = v{ $version }: { $summary }
kb-committed = ✅ { $commit }
kb-version-line = v{ $version } · { $when } UTC · { $author } · { $summary }
kb-none = (none)
kb-quoted = “{ $text }”
kb-show-missing = No entry { $id } in v{ $version }. Usage: /kb_show ID
kb-entry =
    { $id } (v{ $version })
    Q: { $question }
    A: { $answer }
    Also asked as:
    { $phrasings }
    Tags: { $tags }
kb-add-usage = Usage: /kb_add ID | question | answer [| phrasing; phrasing]
kb-edit-usage = Usage: /kb_edit ID question|answer|tags|alternatives NEW TEXT (tags with commas, alternatives with ;)
kb-delete-usage = Usage: /kb_delete ID
kb-phrasing-usage = Usage: /{ $command } ID | phrasing
kb-oos-list =
    v{ $version }: out-of-scope questions
    { $questions }
kb-oos-usage = Usage: /{ $command } question
kb-history-empty = No knowledge base is stored yet.
kb-diff-same = v{ $a } and v{ $b } have the same content.
kb-diff-head = v{ $a } → v{ $b }: { $summary }
kb-diff-usage = Usage: /kb_diff A B (version numbers, see /kb_history)
kb-rollback-usage = Usage: /kb_rollback N (a version number, see /kb_history)
kb-check-clean = No near-duplicates or misplaced phrasings found.
kb-gaps-none = No unanswered or escalated questions recorded yet.
kb-gaps-head = What customers ask that the knowledge base does not answer:
kb-gaps-head-largest = What customers ask that the knowledge base does not answer (the { $shown } largest of { $total }):
kb-gap-card = { $count }× { $examples }
kb-gap-dismissed = { $removed } logged question(s) left the report.
kb-gap-out-of-scope = { $commit }; { $removed } logged question(s) left the report.
kb-gap-decided = “{ $label }”: { $note }
kb-suggestions-none = No pending suggestions.
kb-approve-usage = Usage: /{ $command } SUGGESTION_ID [ENTRY_ID]
kb-reject-usage = Usage: /{ $command } SUGGESTION_ID
kb-suggestion-approved = ✅ Suggestion #{ $id } added to { $entry }: { $commit }
kb-suggestion-rejected = Suggestion #{ $id } rejected.
kb-suggestion-added-as = Added as { $entry } ({ $commit })
kb-suggestion-rejected-toast = Rejected.
kb-suggestion-decided = Suggestion #{ $id }: { $note }
kb-export-usage = Usage: /kb_export { $formats }
kb-export-caption = Knowledge base v{ $version }
kb-retrain-requested = Retraining requested. The current model keeps answering until the new one is ready.
kb-imported = ✅ Imported { $count } entries → { $commit }
kb-quality-issues = ⚠️ { $count } quality issue(s):
kb-not-a-kb-file = { $name }: not a knowledge-base file; send { $suffixes }

## /stats

stats-today = Today
stats-week = Last 7 days
stats-period =
    { $title }: { $conversations } conversations, { $messages } messages
    Bot answered { $involvement } · resolved { $resolution } ({ $confirmed } confirmed, { $assumed } assumed)
    Handed to a person { $escalation } · { $tickets } tickets
    CSAT { $csat } of { $ratings } ratings · helpful answers { $helpful }
    First response { $first_response } · resolution time { $resolution_time } (medians)
stats-now = Now: { $open } tickets open, { $unclaimed } unclaimed. Details: supportbot report, or the console's dashboard.

## Learning from confirmed answers

kb-learned-undone = learned phrasing #{ $id } of { $entry } undone: { $commit }
kb-learned-gone = learned phrasing #{ $id } of { $entry } was already removed or reworded by an operator; their change is kept
kb-learned-none = Nothing learned from customers yet.
kb-learned-head = Learned from confirmed answers (newest first; /kb_learned undo ID takes one out):
kb-learned-line = #{ $id } { $entry } ← “{ $text }” ({ $evidence }, { $customers } customers, v{ $version }, { $status })
kb-learned-usage = Usage: /kb_learned, or /kb_learned undo ID

## Drafts for operators: /draft. A draft is never sent to a customer.
## $kind: entry | rewrite | copy; $label: answer | description | post;
## $method: generator | extractive | rules | template; $status: pending | approved | discarded.

draft-usage =
    Drafts (never sent to customers until you approve them):
    /draft rewrite ENTRY_ID shorter|friendlier|steps
    /draft copy name=…; features=a, b; price=…; offer=…
    /draft entry — an entry from agents' answers to the largest content gap
    /draft show|approve|discard DRAFT_ID
draft-head = 📝 DRAFT { $id } · { $kind } · { $status } · not sent to customers
draft-refused-head = ⛔ REFUSED { $kind } draft · not stored, not sent
draft-rewrite-of =
    Rewrite of { $entry } ({ $style }). Original:
    { $original }
draft-copy-of = Product copy from: { $facts }
draft-entry-of =
    New entry from agents' replies (tickets { $tickets }).
    Question: { $question }
    Phrasings (customers' words):
    { $phrasings }
draft-part =
    DRAFT { $label } ({ $method }):
    { $text }
draft-part-refused =
    REFUSED { $label } ({ $method }): { $why }
    { $text }
draft-decide = Draft { $id }: approve or discard?
draft-list-line = { $id } · { $kind } · { $status } · { $about }
draft-approved = ✅ Draft { $id } approved → { $entry }: { $commit }
draft-approved-copy = ✅ Draft { $id } approved (copy: the knowledge base is unchanged).
draft-discarded = Draft { $id } discarded.
draft-button-approve = ✅ Approve
draft-button-discard = 🗑 Discard

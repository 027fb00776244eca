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
    Send a .yaml / .jsonl / .csv / .md file to import it (caption “replace” to replace all).
kb-suggestion =
    Suggestion #{ $id } (from { $by }{ $ticket }):
    Q: { $question }
    A: { $answer }

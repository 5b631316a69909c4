"""The delivery ledger: one row per planned action key, so nothing is sent twice.

States (a key moves only along these arrows):

    (new) -> pending -> sending -> sent | failed | unknown | awaiting_confirmation | skipped
    (new) -> sending                           a dispatch's first chunk, in one INSERT
    failed  -> sending                         retry, while attempts < max_attempts
    sending | unknown | awaiting_confirmation -> sent | failed | pending   (reconciliation)
    sending -> unknown                         found by the next run (crash) or no result
    unknown | failed -> pending                an operator requeues after checking
    awaiting_confirmation -> failed            a run cancels a mass send never confirmed
                                               (follow_up `cancelled`; settled by hand only)
    anything not sent or done -> done          an operator posted it by hand

`sending` is written and committed before a channel is called; a row still `sending` when a
later run starts was left by a crash, so that run marks it `unknown` instead of resending.
`attempts` counts the runs that handed the key to a channel. Rows hold ids, never
credentials or webhook URLs.
"""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "model": (
            "AWAITING",
            "CANCELLED",
            "REMINDED",
            "Claim",
            "DONE",
            "FAILED",
            "MAX_ATTEMPTS",
            "ON_TIME_WINDOW",
            "MISSED",
            "NOT_SENT",
            "PENDING",
            "RESOLVABLE",
            "RESULT_STATUSES",
            "SENDING",
            "SENT",
            "SETTLED",
            "SKIPPED",
            "TAKEN",
            "UNKNOWN",
            "Delivery",
            "DeliveryOutcome",
            "LedgerError",
            "LedgerState",
            "UnknownDeliveryError",
            "is_sendable",
            "punctuality",
            "slot_key",
            "unique_actions",
        ),
        "lease": ("LEASE", "Heartbeat", "wall_clock"),
        "reads": (
            "GroupSummary",
            "LedgerView",
            "get_deliveries",
            "get_states",
            "group_summary",
            "list_deliveries",
            "needing_attention",
            "read_ledger",
        ),
        "sending": (
            "add_missed",
            "add_rows",
            "claim",
            "extend_lease",
            "mark_sending",
            "record_results",
            "write_results",
        ),
        "settling": (
            "apply_reconciliation",
            "is_cancelled",
            "note_follow_ups",
            "mark_done",
            "mark_stale_sending_unknown",
            "requeue",
            "settle",
            "settleable",
        ),
    },
)

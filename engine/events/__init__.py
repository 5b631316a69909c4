"""Event data in: the event schema, checked imports, and the Parquet event store.

See `schema.py` (and SCHEMA.md) for the columns and the rules a row must meet.
"""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "schema": ("EVENT_TYPES", "GROUP_EVENTS", "MEMBER_EVENTS", "EventRowsError", "RowProblem"),
        "store": ("EventStore", "EventSummary", "ImportResult"),
        "attribution": ("Attribution",),
    },
)

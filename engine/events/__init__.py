"""Event data in: the event schema, checked imports, and the Parquet event store.

See `schema.py` (and SCHEMA.md) for the columns and the rules a row must meet.
"""

from engine.events.schema import (
    EVENT_TYPES,
    GROUP_EVENTS,
    MEMBER_EVENTS,
    EventRowsError,
    RowProblem,
)
from engine.events.store import EventStore, EventSummary, ImportResult

__all__ = [
    "EVENT_TYPES",
    "GROUP_EVENTS",
    "MEMBER_EVENTS",
    "EventRowsError",
    "EventStore",
    "EventSummary",
    "ImportResult",
    "RowProblem",
]

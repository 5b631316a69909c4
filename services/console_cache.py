"""Memos for the console's slow reads, keyed only by what fully determines their result.

A long-lived console process asks for the same answers on every page load: a saved version's
parsed document (a git commit never changes, so the commit id is its key) and KPI rows (a
function of the stored event files, whose manifest lists every import by its SHA-256: the
manifest's bytes are the key; the ledger's sends they also count, by the minute). A new
import, a removed batch or a new version is a new key at once; new sends show within a minute.
Parsing one document takes tens of milliseconds and a KPI query over a million events seconds;
the CLI never needs these.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from typing import Any, TypeVar

import pyarrow as pa

from engine.events.store import MANIFEST
from services.kpis import AlertHit, alert_hits, kpi_table
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from versions.store import VersionInfo

T = TypeVar("T")
MAX_ENTRIES = 256
_memo: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """The value stored under `key`, computed (outside the lock) when absent; least recently
    used entries go beyond MAX_ENTRIES."""
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _memo[key] = value
        while len(_memo) > MAX_ENTRIES:
            _memo.popitem(last=False)
    return value


def forget_all() -> None:
    """Drop every memo (tests start from nothing)."""
    with _lock:
        _memo.clear()


LEDGER_SECONDS = 60
"""KPIs also count the ledger's sends (services.kpis_sends), which change with every run and
have no cheap version stamp to key on: a KPI memo is kept at most this long."""


def events_state(ws: Workspace) -> str:
    """The SHA-256 of the event store's manifest: it changes with every import and removal."""
    path = ws.events_dir / MANIFEST
    data = path.read_bytes() if path.exists() else b""
    return f"{ws.events_dir.resolve()}:{hashlib.sha256(data).hexdigest()}"


def kpi_state(ws: Workspace) -> tuple[str, int]:
    """What KPI rows depend on: the event store's state and the ledger's, the latter by the
    minute (see LEDGER_SECONDS)."""
    return events_state(ws), int(time.monotonic() // LEDGER_SECONDS)


def document(ws: Workspace, info: VersionInfo) -> SopDocument:
    """A saved version's document, parsed once per commit."""
    return remembered(
        ("document", info.commit, info.tag),
        lambda: parse_document(ws.store.content(info), info.tag),
    )


def document_data(ws: Workspace, info: VersionInfo) -> dict[str, Any]:
    """A saved version's document as JSON-ready data (for diffs); callers must not change it."""
    return remembered(
        ("document-data", info.commit, info.tag),
        lambda: document(ws, info).model_dump(mode="json"),
    )


def kpi_rows(
    ws: Workspace,
    *,
    sop_id: str,
    by: Sequence[str],
    metrics: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pa.Table:
    """`services.kpis.kpi_table`, computed once per state of the events and ledger."""
    key = ("kpis", kpi_state(ws), sop_id, tuple(by), tuple(metrics or ()), start, end)
    return remembered(
        key,
        lambda: kpi_table(ws, sop_id=sop_id, by=by, metrics=metrics, start=start, end=end),
    )


def alert_days(ws: Workspace, info: VersionInfo) -> list[AlertHit]:
    """`services.kpis.alert_hits` of version `info`'s rules, once per state of the events."""
    key = ("alerts", kpi_state(ws), info.commit, info.tag)
    return remembered(key, lambda: alert_hits(ws, document(ws, info)))


def change_lines(ws: Workspace, before: VersionInfo, after: VersionInfo) -> list[str]:
    """The changelog lines (field paths) from version `before` to `after`, once per pair."""
    from versions.diff import diff_documents, format_changes

    def lines() -> list[str]:
        changes = diff_documents(document_data(ws, before), document_data(ws, after))
        return format_changes(changes).splitlines()

    return list(remembered(("changes", before.commit, after.commit), lines))

"""WeCom customer-group statistics fetched into the workspace's event store folder.

`externalcontact/groupchat/statistic` (by owner, per ≤30-day window) and
`statistic_group_by_day` (by day) are stored as Parquet datasets beside the events
(`events/wecom/`), one file per fetch, written atomically; DuckDB reads them with the events.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.wecom.statistics import fetch_daily_stats, fetch_owner_stats, wecom_today
from services.channels import wecom_client, wecom_credentials
from services.workspace import Workspace


def _write(rows: list[dict[str, object]], path: Path) -> Path:
    table = pa.Table.from_pylist(rows)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    pq.write_table(table, tmp)
    Path(tmp).replace(path)
    return path


def fetch_into_store(
    ws: Workspace,
    *,
    start: date,
    end: date,
    owners: list[str] | None,
    now: datetime,
) -> dict[str, Path | int]:
    """Fetch both statistics for [start, end] and store them; returns files and row counts.
    WeCom keeps days up to yesterday in Beijing at `now` (not the machine's or UTC's day)."""
    today = wecom_today(now)
    wecom_credentials(ws)  # fail before making folders when unconfigured
    folder = ws.events_dir / "wecom"
    folder.mkdir(exist_ok=True)
    span = f"{start.isoformat()}_{end.isoformat()}"
    with wecom_client(ws) as c:
        by_owner = fetch_owner_stats(c, start=start, end=end, owners=owners, today=today)
        by_day = fetch_daily_stats(c, start=start, end=end, owners=owners, today=today)
    owner_rows = [asdict(row) for row in by_owner]
    day_rows = [asdict(row) for row in by_day]
    return {
        "owner_file": _write(owner_rows, folder / f"owner-{span}.parquet") if owner_rows else 0,
        "day_file": _write(day_rows, folder / f"day-{span}.parquet") if day_rows else 0,
        "owner_rows": len(owner_rows),
        "day_rows": len(day_rows),
    }

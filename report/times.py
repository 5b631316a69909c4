"""How a stored time is shown to people: in the workspace's timezone, with its UTC offset.

Stored times are UTC (git tag dates, audit rows); an ops lead in Beijing reads 07:31, not
23:31 the day before. `sop log`, `sop audit`, `sop list` and the report all print through
`local_time`, so the same instant reads the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def local_time(at: datetime, zone: tzinfo, *, seconds: bool = False) -> str:
    """`at` in `zone` as `2026-11-27 07:31 +08:00` (a naive `at` is taken as UTC)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    offset = local.strftime("%z")  # "+0800"
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return f"{local.strftime(f'%Y-%m-%d {clock}')} {offset[:3]}:{offset[3:]}"

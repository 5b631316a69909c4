"""The event table the simulator writes and event ingestion reads: schema, builder, writers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulator.errors import SimulationError

TIMEZONE = "Asia/Shanghai"
EVENT_TYPES = (
    "exposure",
    "join",
    "leave",
    "message",
    "delivered",
    "open",
    "click",
    "participate",
    "order",
    "coupon_issued",
    "coupon_use",
    "referral",
    "ugc",
    "profile_complete",
    "cost",
)
EVENT_CODE = {name: code for code, name in enumerate(EVENT_TYPES)}
EVENT_SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("member", pa.string()),
        ("time", pa.timestamp("us", tz=TIMEZONE)),
        ("event", pa.string()),
        ("value", pa.float64()),
        ("sop_version", pa.string()),
        ("sop", pa.string()),
        ("message", pa.string()),  # message key sop:version:slot:date of a push's answers
    ]
)
_US = 1_000_000


class EventBuffer:
    """Events of one group on one day, as column chunks; times are seconds after local midnight.

    `member` is an index into the day's member ids (-1: a group-level event); `label` is an
    index into the day's (sop_version, sop, message) labels.
    """

    def __init__(self) -> None:
        self._chunks: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        event: str,
        seconds: np.ndarray | float,
        *,
        member: np.ndarray | int = -1,
        value: np.ndarray | float = np.nan,
        label: int = 0,
    ) -> None:
        """Append events of one type; scalars broadcast to the length of `seconds`."""
        sec = np.atleast_1d(np.floor(np.asarray(seconds, dtype=np.float64))).astype(np.int64)
        n = sec.size
        if n == 0:
            return
        self._chunks.append(
            (
                np.full(n, EVENT_CODE[event], dtype=np.int8),
                _column(member, n, np.int64),
                sec,
                _column(value, n, np.float64),
                np.full(n, label, dtype=np.int32),
            )
        )

    def finish(
        self, *, group: str, member_ids: np.ndarray, labels: Sequence[tuple[str | None, ...]],
        day_start_us: int,
    ) -> DayEvents:  # fmt: skip
        """Freeze the buffer into time-ordered rows (stable, so ties keep insertion order)."""
        empty = tuple(np.zeros(0, t) for t in (np.int8, np.int64, np.int64, np.float64, np.int32))
        chunks = self._chunks or [empty]
        code, member, sec, value, label = (np.concatenate(c) for c in zip(*chunks, strict=True))
        order = np.argsort(sec, kind="stable")
        return DayEvents(
            group=group,
            member_ids=list(member_ids),
            member=member[order],
            time_us=day_start_us + sec[order] * _US,
            event=code[order],
            value=value[order],
            labels=list(labels),
            label=label[order],
        )


def _column(values: np.ndarray | float, n: int, dtype: type) -> np.ndarray:
    if np.ndim(values) == 0:
        return np.full(n, values, dtype=dtype)
    return np.asarray(values, dtype=dtype)


@dataclass(frozen=True)
class DayEvents:
    """Finished rows of one group-day, ready to become part of a table."""

    group: str
    member_ids: list[str]  # the day's members; `member` indexes into it
    member: np.ndarray  # int64, -1 for group-level events
    time_us: np.ndarray  # int64 microseconds since the epoch (UTC)
    event: np.ndarray  # int8 codes into EVENT_TYPES
    value: np.ndarray  # float64, NaN for null
    labels: list[tuple[str | None, ...]]  # (sop_version, sop[, message]) labels
    label: np.ndarray  # int32 index into labels


def _dictionary(indices: np.ndarray, values: list[str | None]) -> pa.Array:
    """Strings looked up by index (negative index: null), without building Python strings."""
    index = pa.array(indices.astype(np.int32), mask=indices < 0)
    return pa.DictionaryArray.from_arrays(index, pa.array(values, type=pa.string())).cast(
        pa.string()
    )


def _offsets(parts: Sequence[DayEvents], codes: str, names: str) -> tuple[np.ndarray, list]:
    """Concatenate per-part index arrays into one, shifting each by the sizes before it."""
    values: list = []
    shifted = []
    for part in parts:
        index = getattr(part, codes)
        shifted.append(np.where(index >= 0, index + len(values), -1))
        values.extend(getattr(part, names))
    return np.concatenate(shifted), values


def build_table(parts: Sequence[DayEvents]) -> pa.Table:
    """Concatenate group-days into one table with EVENT_SCHEMA."""
    parts = [p for p in parts if p.event.size]
    if not parts:
        return EVENT_SCHEMA.empty_table()
    groups = np.repeat(np.arange(len(parts)), [p.event.size for p in parts])
    members, member_ids = _offsets(parts, "member", "member_ids")
    labels, triples = _offsets(parts, "label", "labels")
    value = np.concatenate([p.value for p in parts])
    columns = [
        _dictionary(groups, [p.group for p in parts]),
        _dictionary(members, member_ids),
        pa.array(np.concatenate([p.time_us for p in parts]), type=EVENT_SCHEMA.field("time").type),
        _dictionary(np.concatenate([p.event for p in parts]), list(EVENT_TYPES)),
        pa.array(value, mask=np.isnan(value), type=pa.float64()),
        _dictionary(labels, [t[0] for t in triples]),
        _dictionary(labels, [t[1] for t in triples]),
        _dictionary(labels, [t[2] if len(t) > 2 else None for t in triples]),
    ]
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)


def write_events(table: pa.Table, path: str | Path) -> Path:
    """Write events as Parquet (`.parquet`) or UTF-8 CSV (`.csv`, ISO-8601 times with +08:00)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(table, target)
    elif suffix == ".csv":
        pacsv.write_csv(_with_iso_times(table), target)
    else:
        raise SimulationError(f"{target}: unknown events format {suffix!r} (use .parquet or .csv)")
    return target


def read_events(path: str | Path) -> pa.Table:
    """Read a file written by `write_events` back into a table with EVENT_SCHEMA."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix == ".parquet":
        table = pq.read_table(source)
    elif suffix == ".csv":
        # Empty cells are nulls; "1.0" stays a version string, not a number.
        options = pacsv.ConvertOptions(
            column_types={f.name: f.type for f in EVENT_SCHEMA},
            strings_can_be_null=True,
            include_columns=EVENT_SCHEMA.names,
        )
        table = pacsv.read_csv(source, convert_options=options)
    else:
        raise SimulationError(f"{source}: unknown events format {suffix!r} (use .parquet or .csv)")
    return table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)


def _with_iso_times(table: pa.Table) -> pa.Table:
    """Replace the time column by ISO-8601 strings in local time with a `+08:00` style offset."""
    index = table.schema.get_field_index("time")
    times = table.column(index)
    # Arrow prints "%S" with the unit's fraction: drop an all-zero fraction, add the colon.
    text = pc.strftime(times, format="%Y-%m-%dT%H:%M:%S%z")
    text = pc.replace_substring_regex(text, pattern=r"\.0+([+-])", replacement=r"\1")
    text = pc.replace_substring_regex(text, pattern=r"([+-]\d\d)(\d\d)$", replacement=r"\1:\2")
    return table.set_column(index, pa.field("time", pa.string()), text)

"""Attribute checked event rows before they are stored: group names -> ids, missing sop and
sop_version from the group registry and the delivery ledger, message keys completed, row hashes.

All steps work on the temp table `checked` (validate.py) in one DuckDB connection. The registry
and the ledger live in the database, which the engine does not open: the caller hands them over
as an `Attribution` (plain mappings and a function), so the store stays a pure file store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pyarrow as pa

from sop_models.errors import DataFileError

#: (group ids, first day, last day) -> rows (group, day, sop, version): the version each group
#: ran on each day, as the ledger knows it.
DayVersions = Callable[[Sequence[str], date, date], Sequence[tuple[str, date, str, str]]]


def _no_versions(groups: Sequence[str], first: date, last: date) -> list:
    return []


@dataclass(frozen=True)
class Attribution:
    """How an import names groups and fills a row's missing `sop` / `sop_version`.

    `groups` maps every registered group id and unambiguous name to its id; `ambiguous` maps a
    name several groups share to their ids; `sop_of` maps a group id to its registry SOP.
    """

    groups: Mapping[str, str]
    sop_of: Mapping[str, str] = field(default_factory=dict)
    versions: DayVersions = _no_versions
    ambiguous: Mapping[str, Sequence[str]] = field(default_factory=dict)


UNKNOWN_SHOWN = 20


def add_day(con: duckdb.DuckDBPyConnection, tz: str) -> None:
    """Add `day`, each row's local calendar date in zone `tz`."""
    con.execute("ALTER TABLE checked ADD COLUMN day DATE")
    con.execute(f"UPDATE checked SET day = CAST(timezone('{tz}', ts) AS DATE)")


def resolve_groups(con: duckdb.DuckDBPyConnection, source: str, attribution: Attribution) -> None:
    """Replace group names by ids; DataFileError listing every unknown or ambiguous name."""
    names = [r[0] for r in con.execute("SELECT DISTINCT g FROM checked ORDER BY g").fetchall()]
    unknown = [n for n in names if n not in attribution.groups and n not in attribution.ambiguous]
    faults = []
    if unknown:
        counts = dict(
            con.execute(
                "SELECT g, count(*) FROM checked WHERE list_contains($u, g) GROUP BY g",
                {"u": unknown},
            ).fetchall()
        )
        shown = [f"{n} ({counts[n]} row{'s' if counts[n] != 1 else ''})" for n in unknown]
        more = len(shown) - UNKNOWN_SHOWN
        listed = ", ".join(shown[:UNKNOWN_SHOWN]) + (f" and {more} more" if more > 0 else "")
        faults.append(f"unknown group(s) {listed}")
    for name in names:
        if name in attribution.ambiguous and name not in attribution.groups:
            ids = ", ".join(attribution.ambiguous[name])
            faults.append(f"group name {name} is shared by {ids}: use the id")
    if faults:
        raise DataFileError(
            f"{source}: {'; '.join(faults)}; nothing imported"
            " (register groups with `sop groups add`/`import`, or write a group id)"
        )
    pairs = {n: attribution.groups[n] for n in names}
    con.register("group_ids", pa.table({"k": list(pairs), "id": list(pairs.values())}))
    con.execute("UPDATE checked SET g = group_ids.id FROM group_ids WHERE checked.g = group_ids.k")
    con.unregister("group_ids")


def fill_labels(con: duckdb.DuckDBPyConnection, attribution: Attribution) -> None:
    """Rows without `sop` take their group's registry SOP; rows without `sop_version` take the
    version the ledger shows their group ran that day (for that SOP)."""
    split_message_keys(con)
    groups = [r[0] for r in con.execute("SELECT DISTINCT g FROM checked ORDER BY g").fetchall()]
    sops = {g: attribution.sop_of[g] for g in groups if g in attribution.sop_of}
    if sops:
        con.register("reg", pa.table({"g": list(sops), "sop": list(sops.values())}))
        con.execute(
            "UPDATE checked SET sop = reg.sop FROM reg"
            " WHERE checked.sop IS NULL AND checked.g = reg.g"
        )
        con.unregister("reg")
    first, last = con.execute(
        "SELECT min(day), max(day) FROM checked WHERE ver IS NULL"
    ).fetchall()[0]
    if first is None:
        return
    rows = attribution.versions(groups, first, last)
    if not rows:
        return
    g, d, s, v = (list(col) for col in zip(*rows, strict=True))
    labels = pa.table({"g": g, "day": pa.array(d, pa.date32()), "sop": s, "ver": v})
    con.register("labels", labels)
    con.execute(
        """UPDATE checked SET ver = labels.ver FROM labels
           WHERE checked.ver IS NULL AND checked.g = labels.g AND checked.day = labels.day
             AND checked.sop = labels.sop"""
    )
    con.unregister("labels")


def split_message_keys(con: duckdb.DuckDBPyConnection) -> None:
    """A full message key `sop:version:slot:date` names the row's sop and version if missing."""
    con.execute(
        """UPDATE checked SET
             sop = coalesce(sop, split_part(msg, ':', 1)),
             ver = coalesce(ver, ltrim(split_part(msg, ':', 2), 'vV'))
           WHERE msg LIKE '%:%'"""
    )


def finish_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Add `row_hash`, which identifies a row across imports whatever its labels, and complete
    message keys (a bare slot becomes `sop:version:slot:day` once both are known)."""
    split_message_keys(con)
    con.execute("ALTER TABLE checked ADD COLUMN row_hash VARCHAR")
    con.execute(
        """UPDATE checked SET row_hash = md5(concat_ws(chr(31), g, coalesce(m, ''),
             CAST(ts AS VARCHAR), e, coalesce(CAST(v AS VARCHAR), ''), coalesce(msg, '')))"""
    )
    con.execute(
        """UPDATE checked SET msg = CASE
             WHEN msg LIKE '%:%' THEN split_part(msg, ':', 1) || ':'
                  || ltrim(split_part(msg, ':', 2), 'vV') || ':' || split_part(msg, ':', 3)
                  || ':' || split_part(msg, ':', 4)
             WHEN sop IS NOT NULL AND ver IS NOT NULL
                  THEN sop || ':' || ver || ':' || msg || ':' || CAST(day AS VARCHAR)
             ELSE msg END
           WHERE msg IS NOT NULL"""
    )


def batch_hash(con: duckdb.DuckDBPyConnection) -> str:
    """The content hash of the rows in `checked`: the same rows in any order or file format
    (or naming groups by name instead of id) give the same hash."""
    row = con.execute(
        "SELECT sha256(coalesce(string_agg(row_hash, ',' ORDER BY row_hash), '')) FROM checked"
    ).fetchall()[0]
    assert row is not None
    return str(row[0])

"""The event store: a directory of Parquet files, one per import, plus `manifest.json`.

    <root>/manifest.json            {"timezone": ..., "imports": [{sha256, file, source, rows}]}
    <root>/events-<sha256>.parquet  one import, columns STORED_COLUMNS

An import is all or nothing: rows are checked first, before anything is created in the store
directory (a refused import leaves no file behind, not even the lock or the directory); then,
under an exclusive lock on `<root>/.lock`, the Parquet file and the new manifest are written to
temp files in the store directory and moved into place with `os.replace`; a Parquet file whose
manifest entry could not be written is removed again. Event times must fall in the window of
`TimeLimits` (from 2000 to a year after the `now` the caller passes; see schema.py).

Each import is a batch named by the SHA-256 of its rows (the same rows in another order, format
or with group names for ids give the same hash). Importing rows that are already stored is
refused, naming the batch that holds them (`sop events remove BATCH` takes a batch out again),
unless the rows carry an `event_id`: rows whose id is already stored are then skipped. Callers
that retry (flows handing over simulator rows) may pass `again="reuse"` to get the earlier batch
back for exactly the same rows. Given an `Attribution`, groups are matched by id or registered
name (an unknown name fails the import) and missing sop/sop_version are filled (attribution.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa

from engine.events.attribution import (
    Attribution,
    add_day,
    batch_hash,
    fill_labels,
    finish_rows,
    resolve_groups,
)
from engine.events.batches import EMPTY_SQL, Again, ImportResult, against_stored
from engine.events.readers import file_format, load_raw, load_table
from engine.events.schema import DEFAULT_TIME_LIMITS, DEFAULT_TZ, EventRowsError, TimeLimits
from engine.events.validate import check_raw, normalised_sql
from sop_models.errors import DataFileError

MANIFEST = "manifest.json"

_EMPTY = EMPTY_SQL


@dataclass(frozen=True)
class EventSummary:
    """What is stored: rows, first and last local day, latest time, rows lacking version/sop."""

    rows: int
    first_day: date | None
    last_day: date | None
    latest: datetime | None
    without_version: int
    without_sop: int


class EventStore:
    """All imported events of one workspace; query them with `relation(con)` or `source_sql()`."""

    def __init__(self, root: Path, *, tz: str | None = None) -> None:
        self.root = Path(root)
        stored = self._manifest().get("timezone")
        if tz is not None and stored is not None and tz != stored:
            raise DataFileError(f"{self.root}: event store days are in {stored}, not {tz}")
        self.tz: str = stored or tz or DEFAULT_TZ
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise DataFileError(f"{self.root}: unknown time zone {self.tz!r}") from None

    # -- reading -----------------------------------------------------------------------------

    def imports(self) -> list[ImportResult]:
        """Every import so far, oldest first."""
        return [
            ImportResult(
                e["rows"],
                self.root / e["file"],
                e["sha256"],
                e["source"],
                new=False,
                skipped=e.get("skipped", 0),
                imported_at=e.get("imported_at"),
            )
            for e in self._manifest().get("imports", [])
        ]

    def summary(self) -> EventSummary:
        """Row counts and time range of everything stored, from the manifest (no data read)."""
        entries = self._manifest().get("imports", [])
        firsts = [datetime.fromisoformat(e["first"]) for e in entries if e.get("first")]
        lasts = [datetime.fromisoformat(e["last"]) for e in entries if e.get("last")]
        zone = ZoneInfo(self.tz)
        return EventSummary(
            rows=sum(e["rows"] for e in entries),
            first_day=min(firsts).astimezone(zone).date() if firsts else None,
            last_day=max(lasts).astimezone(zone).date() if lasts else None,
            latest=max(lasts) if lasts else None,
            without_version=sum(e.get("no_version", e["rows"]) for e in entries),
            without_sop=sum(e.get("no_sop", e["rows"]) for e in entries),
        )

    @property
    def paths(self) -> list[Path]:
        """The Parquet files of all imports (the manifest's list, never a directory listing)."""
        return [entry.file for entry in self.imports()]

    @property
    def glob(self) -> str:
        """A glob over the store's Parquet files, for hand-written queries and benchmarks."""
        return str(self.root / "events-*.parquet")

    def source_sql(self) -> str:
        """A FROM-clause item reading all events (an empty, typed table when nothing is stored)."""
        if not self.paths:
            return f"({_EMPTY})"
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in self.paths)
        # Union with the typed empty table: files written before a column existed lack it.
        parquet = f"read_parquet([{files}], union_by_name=true)"
        return f"({_EMPTY} UNION ALL BY NAME SELECT * FROM {parquet})"

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """All events as a DuckDB relation on `con`."""
        return con.sql(f"SELECT * FROM {self.source_sql()}")

    # -- writing -----------------------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        *,
        now: datetime | None = None,
        naive_tz: str | None = None,
        limits: TimeLimits = DEFAULT_TIME_LIMITS,
        attribution: Attribution | None = None,
        again: Again = "refuse",
    ) -> ImportResult:
        """Check and store one CSV, JSONL or Parquet file as one batch; all rows or none.

        Raises EventRowsError (listing bad rows by line) or DataFileError (a file fault, an
        unknown group, rows already stored). `now` is the time of the import (aware), which
        bounds event times from above (`limits.ahead` after it); without it
        `limits.latest_without_now` does. `naive_tz` names the zone of times written without an
        offset; by default such times are refused.
        """
        path = Path(path)
        file_format(path)
        if not path.is_file():
            raise DataFileError(f"{path}: no such event file")
        checks = _Checks(naive_tz, limits, now, attribution, again)
        return self._store(str(path), checks, lambda con: load_raw(con, path))

    def import_rows(
        self,
        table: pa.Table,
        source: str,
        *,
        now: datetime | None = None,
        naive_tz: str | None = None,
        limits: TimeLimits = DEFAULT_TIME_LIMITS,
        attribution: Attribution | None = None,
        again: Again = "reuse",
    ) -> ImportResult:
        """Check and store rows handed over in memory (a fetcher, a simulator); all or none.

        Columns as in the event schema; `time` may be text or a timestamp. Bad rows are named
        by their 0-based row index. Exactly the same rows again return the earlier batch
        (`new=False`) unless `again="refuse"`; the rest as for `import_file`.
        """

        def load(con: duckdb.DuckDBPyConnection) -> str:
            load_table(con, table, source)
            return "row"

        return self._store(source, _Checks(naive_tz, limits, now, attribution, again), load)

    def remove(self, batch: str) -> ImportResult:
        """Take one batch (id or a unique prefix of its hash, 6+ characters) out of the store."""
        entry = self.find(batch)
        with self._lock():
            manifest = self._manifest()
            manifest["imports"] = [
                e for e in manifest.get("imports", []) if e["sha256"] != entry.sha256
            ]
            _atomic_write(self.root / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
            entry.file.unlink(missing_ok=True)
        return entry

    def find(self, batch: str) -> ImportResult:
        """The batch a user names by its id; DataFileError naming the known ones otherwise."""
        key = batch.strip().lower()
        found = [i for i in self.imports() if len(key) >= 6 and i.sha256.startswith(key)]
        if len(found) != 1:
            known = ", ".join(i.batch for i in self.imports()[-10:]) or "none"
            why = "matches several batches" if found else "is not an event batch"
            raise DataFileError(f"{batch!r} {why} (batches: {known}; see `sop events list`)")
        return found[0]

    def _store(
        self, source: str, checks: _Checks, load: Callable[[duckdb.DuckDBPyConnection], str]
    ) -> ImportResult:
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            where = load(con)
            problems, total = check_raw(
                con,
                where=where,
                naive_tz=checks.naive_tz,
                window=checks.limits.window(checks.now),
                latest_why=checks.latest_why,
            )
            if total:
                raise EventRowsError(source, problems, total)
            add_day(con, self.tz)
            if checks.attribution is not None:
                resolve_groups(con, source, checks.attribution)
                fill_labels(con, checks.attribution)
            finish_rows(con)
            sha = batch_hash(con)
            earlier = against_stored(con, self.imports(), source, where, sha, checks.again)
            if earlier is not None:
                return earlier
            first, last, rows, no_version, no_sop = con.execute(
                """SELECT min(ts), max(ts), count(*), count(*) FILTER (WHERE ver IS NULL),
                          count(*) FILTER (WHERE sop IS NULL) FROM checked"""
            ).fetchall()[0]
            skipped = con.execute("SELECT count(*) FROM dropped").fetchall()[0][0]
            if rows == 0 and skipped:
                return ImportResult(0, Path(), sha, source, new=False, skipped=skipped)
            # Checked: only now does anything get created in the store directory.
            self.root.mkdir(parents=True, exist_ok=True)
            with self._lock():
                earlier = against_stored(con, self.imports(), source, where, sha, checks.again)
                if earlier is not None:
                    return earlier
                name = f"events-{sha}.parquet"
                rows = self._write_parquet(con, name)
                entry = {
                    "sha256": sha,
                    "file": name,
                    "source": source,
                    "rows": rows,
                    "first": first.isoformat() if first else None,
                    "last": last.isoformat() if last else None,
                    "no_version": no_version,
                    "no_sop": no_sop,
                    "skipped": skipped,
                    "imported_at": checks.now.isoformat() if checks.now else None,
                }
                try:
                    manifest = self._manifest()
                    manifest["timezone"] = self.tz
                    manifest.setdefault("imports", []).append(entry)
                    text = json.dumps(manifest, ensure_ascii=False, indent=1)
                    _atomic_write(self.root / MANIFEST, text)
                except BaseException:
                    (self.root / name).unlink(missing_ok=True)
                    raise
                return ImportResult(
                    rows, self.root / name, sha, source, True, skipped, entry["imported_at"]
                )
        finally:
            con.close()

    def _write_parquet(self, con: duckdb.DuckDBPyConnection, name: str) -> int:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        try:
            quoted = tmp.replace("'", "''")
            sql = normalised_sql()
            con.execute(f"COPY ({sql}) TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)")
            rows = con.execute(f"SELECT count(*) FROM read_parquet('{quoted}')").fetchall()[0]
            Path(tmp).replace(self.root / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return int(rows[0])

    def _manifest(self) -> dict:
        path = self.root / MANIFEST
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DataFileError(f"{path}: unreadable event store manifest ({err})") from None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with (self.root / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class _Checks:
    """What an import checks times against: naive times' zone, the limits, the import's time."""

    naive_tz: str | None
    limits: TimeLimits
    now: datetime | None
    attribution: Attribution | None = None
    again: Again = "refuse"

    @property
    def latest_why(self) -> str:
        if self.now is None:
            return "the latest time allowed"
        return f"{self.limits.ahead.days} days after the import"


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Recording hand posts: the keys and tick marks people type, judged on the time they posted.

A post is named by its full key (`sop:version:group:slot:date[:member]`, as the checklist
CSV carries it), its slot key (`sop:group:slot:date[:member]`, the same post whatever the
version) or its short key (`group:slot:date[:member]`, what the Markdown checklist shows).
A post that was planned but never run gets its ledger row when it is marked done, so the
checklist works without a run. A ticked CSV's `done` cell takes the marks people type on any
keyboard (√ ✓ x 是 已完成 done ok 1 ...); a mark that is neither done nor clearly not done
refuses the file, by line, instead of being read as "not done".
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from engine import ledger
from engine.group_csv import read_text_file
from engine.groups import Group
from engine.ledger import Delivery, LedgerError
from services.today import day_actions
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sop_models.errors import BadRowsError, DataFileError, Problem

DONE_MARKS = frozenset(
    {"x", "√", "✓", "✔", "☑", "✅", "1", "y", "yes", "done", "ok", "是", "对", "好"}
    | {"已发", "已发送", "发了", "完成", "已完成", "已做", "搞定"}
)
NOT_DONE_MARKS = frozenset({"", "0", "n", "no", "-", "否", "未", "没", "未发", "未完成"})
ON_TIME_WINDOW = ledger.ON_TIME_WINDOW
"""A hand post up to this long after its time is on time (`sop deliveries summary`'s default)."""
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def mark_means_done(mark: str) -> bool | None:
    """True for a done mark, False for an empty or "not done" one, None when it is unclear."""
    text = unicodedata.normalize("NFKC", mark).strip().casefold()
    if text in DONE_MARKS:
        return True
    return False if text in NOT_DONE_MARKS else None


def ticked(path: Path) -> dict[str, str]:
    """Keys ticked in a checklist CSV (ours or the task list's) with who ticked them ("").

    Refuses a file without `done` and `key` columns, and every row whose mark is unclear.
    """
    reader = csv.DictReader(io.StringIO(read_text_file(path), newline=""))
    header = reader.fieldnames or []
    missing = [name for name in ("done", "key") if name not in header]
    if missing:
        raise DataFileError(f"{path}: not a checklist CSV (no {' or '.join(missing)} column)")
    found: dict[str, str] = {}
    problems: list[Problem] = []
    line = reader.line_num + 1
    for row in reader:
        first, line = line, reader.line_num + 1  # a text may span lines: name the row's first
        mark, key = (row.get("done") or "").strip(), _uncell(row.get("key") or "")
        meaning = mark_means_done(mark)
        if meaning is None:
            problems.append(
                Problem(
                    str(path),
                    f"line {first}",
                    f"done: {mark!r} is not a mark we know (done: √ ✓ x 是 已完成 done ok 1;"
                    " not done: leave it empty)",
                )
            )
        elif meaning and key:
            found[key] = _uncell((row.get("done_by") or "").strip())
    if problems:
        raise BadRowsError(problems)
    return found


def _uncell(value: str) -> str:
    value = value.strip()
    return value[1:] if value.startswith("'") and value[1:2] in ("=", "+", "-", "@") else value


def judge(due: datetime, at: datetime, window: timedelta = ON_TIME_WINDOW) -> str:
    """`on_time`, `late` or `early` (before its time: not on time either)."""
    return ledger.punctuality(due, at, window)


@dataclass(frozen=True)
class DoneReport:
    """Keys marked done now with their verdict (on_time, late, early), and keys left alone."""

    changed: dict[str, str]
    unchanged: list[str]
    typed: dict[str, str]  # what was typed -> the ledger key it named


def record_done(
    ws: Workspace,
    *,
    keys: Sequence[str],
    by: str,
    at: datetime,
    now: datetime,
    checklist: Path | None = None,
) -> DoneReport:
    """Record that people posted these by hand at `at`, all or none.

    Keys come from `keys` (posted by `by`) and the ticked rows of a checklist CSV (whose
    `done_by` wins over `by`). A key naming no delivery and no planned post refuses the lot.
    """
    if at > now + timedelta(minutes=1):
        raise LedgerError(f"--at: {at.isoformat()} is in the future (a post is marked once made)")
    who_of: dict[str, str] = dict.fromkeys(keys, by)
    if checklist is not None:
        who_of.update((key, who or by) for key, who in ticked(checklist).items())
    if not who_of:
        raise LedgerError("done: give delivery keys or --from CHECKLIST.csv")
    planned = _planned_for(ws, list(who_of))
    with ws.session() as session:
        typed = _resolve(session, list(who_of), planned, now)
        missing = [k for k in who_of if k not in typed]
        if missing:
            known = [k.split(":", 1)[1] for k in planned]  # the short keys the checklist shows
            raise ledger.UnknownDeliveryError(missing, known)
        by_key = {typed[k]: who for k, who in who_of.items()}
        changed: list[str] = []
        for who in dict.fromkeys(by_key.values()):
            mine = [key for key, name in by_key.items() if name == who]
            changed += ledger.mark_done(session, mine, who, now)
        rows = ledger.get_deliveries(session, changed)
        verdicts = {}
        for key in changed:
            rows[key].sent_at = at  # when it went out: judged on this, not on `now`
            session.add(rows[key])
            verdicts[key] = judge(rows[key].due_at, at)
        session.commit()
    return DoneReport(verdicts, [k for k in by_key if k not in verdicts], typed)


def _slot_key(sop_of: Mapping[str, str], short_of: Mapping[str, str], typed: str) -> str | None:
    """The slot key a typed key names (full, slot or short form), or None.

    A short key names the planned post of that group, slot and day whichever SOP plans it (an
    overlay's post is not the group's own SOP's); else the group's SOP is assumed.
    """
    parts = typed.split(":")
    where = next((n for n, part in enumerate(parts) if _DAY.fullmatch(part)), None)
    if where == 4:
        return ":".join([parts[0], *parts[2:]])
    if where == 3:
        return typed
    if where == 2 and typed in short_of:
        return short_of[typed]
    if where == 2 and parts[0] in sop_of:
        return f"{sop_of[parts[0]]}:{typed}"
    return None


def _planned_for(ws: Workspace, typed: Sequence[str]) -> dict[str, PlannedAction]:
    """Planned actions by slot key, for the days the typed keys name that have no ledger row."""
    with ws.session() as session:
        known = ledger.get_deliveries(session, typed)
    days: set[date] = set()
    for key in typed:
        if key not in known:
            days.update(date.fromisoformat(p) for p in key.split(":") if _DAY.fullmatch(p))
    found: dict[str, PlannedAction] = {}
    for day in sorted(days):
        actions, _ = day_actions(ws, day)
        found.update((ledger.slot_key(a), a) for a, _ in actions)
    return found


def _resolve(
    session: Session, typed: Sequence[str], planned: Mapping[str, PlannedAction], now: datetime
) -> dict[str, str]:
    """Typed key -> ledger key; planned posts with no row yet get a pending row first."""
    exact = ledger.get_deliveries(session, typed)
    groups = dict(session.exec(select(Group.id, Group.sop_id)).all())
    short_of = {slot.split(":", 1)[1]: slot for slot in planned}
    wanted = {
        k: s for k in typed if k not in exact and (s := _slot_key(groups, short_of, k)) is not None
    }
    rows: dict[str, Delivery] = {}
    slots = sorted(set(wanted.values()))
    for start in range(0, len(slots), 500):
        query = select(Delivery).where(col(Delivery.slot_key).in_(slots[start : start + 500]))
        for row in session.exec(query.order_by(col(Delivery.key))).all():
            rows.setdefault(row.slot_key, row)
    new = [planned[s] for s in dict.fromkeys(wanted.values()) if s not in rows and s in planned]
    ledger.add_rows(session, new, now)
    found = {k: k for k in exact}
    for key, slot in wanted.items():
        if slot in rows:
            found[key] = rows[slot].key
        elif slot in planned:
            found[key] = planned[slot].key
    return found

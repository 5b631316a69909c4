"""Task list channel: the day's actions as a checklist for people who post by hand.

For channels without an API (personal WeChat, teams that post themselves) every action
becomes a line in `<prefix>-YYYY-MM-DD.csv` and an item in `<prefix>-YYYY-MM-DD.md`, one pair
per local day. The CSV is UTF-8 with a BOM so Excel shows Chinese correctly (other tools
ignore the BOM); the Markdown checklist pastes into a shared doc. Results are
`awaiting_confirmation` until an operator marks the action done (fill the `done` column and
read it back with `done_keys`, or mark it in the ledger).

Internal tasks (operator work such as month-end RFM lists, `sop_models.actions.is_internal`:
the same rule as `sop today`) are never listed among the posts: they go to their own pair,
`<prefix>-YYYY-MM-DD-internal.csv|md`, headed as internal tasks not to paste into a group.

A CSV cell that starts with = + - @ gets a leading apostrophe, so Excel shows it as text
instead of running it as a formula; the Markdown file keeps every text exactly.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from engine.channels.base import AWAITING, UNKNOWN, DeliveryResult, Now, local, shanghai_now
from sop_models.actions import PlannedAction, is_internal
from sop_models.i18n import tr

CSV_COLUMNS = (
    "done",
    "due_at",
    "time",
    "group",
    "target",
    "member",
    "channel",
    "kind",
    "slot",
    "msgtype",
    "text",
    "content_tag",
    "key",
    "done_by",
)
FORMULA_STARTS = ("=", "+", "-", "@")
DONE_MARKS = frozenset({"x", "X", "✓", "✔", "1", "y", "yes", "done", "是", "已发", "完成"})


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _uncell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def csv_row(action: PlannedAction) -> dict[str, str]:
    """The CSV row of one action (done/done_by left for the operator), formula-safe."""
    at = local(action.at)
    row = {
        "done": "",
        "due_at": at.isoformat(),
        "time": at.strftime("%H:%M"),
        "group": action.group_id,
        "target": action.target,
        "member": action.member_id or "",
        "channel": action.channel,
        "kind": action.kind,
        "slot": action.slot,
        "msgtype": action.msgtype,
        "text": action.text,
        "content_tag": action.content_tag or "",
        "key": action.key,
        "done_by": "",
    }
    return {name: _cell(value) for name, value in row.items()}


def markdown_item(action: PlannedAction) -> str:
    """One unchecked checklist item; the text follows as a quote, line by line."""
    at = local(action.at).strftime("%H:%M")
    where = tr("group {id}").format(id=action.group_id)
    where += f" → {action.target}" if action.target else ""
    member = " · " + tr("member {id}").format(id=action.member_id) if action.member_id else ""
    head = f"- [ ] **{at}** {where}{member} · {action.kind} / {action.slot} · `{action.key}`"
    quoted = "\n".join(f"  > {line}".rstrip() for line in action.text.splitlines() or [""])
    return f"{head}\n{quoted}\n"


def done_keys(csv_path: Path) -> dict[str, str]:
    """Keys an operator ticked in a checklist CSV, with who did it (`done_by`, may be "")."""
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            _uncell(row["key"]): _uncell((row.get("done_by") or "").strip())
            for row in csv.DictReader(handle)
            if (row.get("done") or "").strip() in DONE_MARKS and row.get("key")
        }


class TaskListChannel:
    """Appends actions to per-day CSV and Markdown checklists under `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        now: Now = shanghai_now,
        name: str = "tasklist",
        prefix: str = "tasks",
    ) -> None:
        self.name = name
        self.directory = Path(directory)
        self.prefix = prefix
        self._now = now

    def __repr__(self) -> str:
        return f"TaskListChannel(directory={str(self.directory)!r})"

    def paths_for(self, day: date, *, internal: bool = False) -> tuple[Path, Path]:
        """The (CSV, Markdown) checklist files of one local day (its internal tasks' pair)."""
        stem = f"{self.prefix}-{day.isoformat()}" + ("-internal" if internal else "")
        return self.directory / f"{stem}.csv", self.directory / f"{stem}.md"

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        """Add the actions to their day's checklists; `awaiting_confirmation` per key."""
        by_day: dict[tuple[date, bool], list[PlannedAction]] = {}
        for action in sorted(actions, key=lambda a: (local(a.at), a.group_id, a.key)):
            where = (local(action.at).date(), is_internal(action.kind))
            by_day.setdefault(where, []).append(action)
        results: dict[str, DeliveryResult] = {}
        for (day, internal), todo in by_day.items():
            csv_path, md_path = self.paths_for(day, internal=internal)
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._append_csv(csv_path, todo)
                self._append_markdown(md_path, day, todo, internal=internal)
            except OSError as exc:  # some rows may be written: let a person look
                error = f"task list {csv_path}: {exc.strerror or exc}"
                results.update((a.key, DeliveryResult(a.key, UNKNOWN, error=error)) for a in todo)
                continue
            results.update(
                (a.key, DeliveryResult(a.key, AWAITING, response_id=csv_path.name)) for a in todo
            )
        return [results[a.key] for a in actions]

    def _append_csv(self, path: Path, actions: Sequence[PlannedAction]) -> None:
        new = not path.exists() or path.stat().st_size == 0
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        if new:
            writer.writeheader()
        writer.writerows(csv_row(a) for a in actions)
        _append(path, ("\ufeff" if new else "") + buffer.getvalue())

    def _append_markdown(
        self, path: Path, day: date, actions: Sequence[PlannedAction], *, internal: bool = False
    ) -> None:
        new = not path.exists() or path.stat().st_size == 0
        head = "# " + tr("Tasks {day}").format(day=day.isoformat()) + "\n\n" if new else ""
        if new and internal:
            head += "## " + tr("Internal tasks — never paste into a customer group") + "\n\n"
        _append(path, head + "".join(markdown_item(a) for a in actions))


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())

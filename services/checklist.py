"""The operator's checklist for one day: the ledger's rows that need a person, and rendering.

`services.today` builds the day from the plan and lays these ledger rows over it.

A row needs a person when it is on the task list channel and not yet done, when a WeCom mass
send waits for its sender's confirmation, when its fate is unknown, or when it failed with no
automatic retries left. The ledger keeps no message text, so texts come from the task list
channel's CSV of that day where there is one. CSV output protects cells from Excel formulas
the same way the task list does, and carries `done`/`done_by` columns, so a ticked copy can
be fed back with `sop deliveries done --from`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from sqlmodel import Session, select

from engine import ledger
from engine.channels.tasklist import FORMULA_STARTS
from engine.group_csv import read_text_file
from engine.groups import Group
from engine.ledger import Delivery
from sop_models.i18n import N_, tr

CHECKLIST_COLUMNS = (
    *("done", "time", "section", "post", "group", "group_name", "owner", "channel", "todo"),
    *("kind", "slot", "member", "status", "text", "key", "short_key", "done_by"),
)


def group_names(session: Session) -> dict[str, str]:
    """Group id -> group name for every registered group."""
    return {g.id: g.name for g in session.exec(select(Group)).all()}


def todo_for(row: Delivery) -> str | None:
    """What a person must do about a row that day, or None when the machines have it."""
    if row.status in (ledger.SENT, ledger.DONE):
        return None
    if row.channel == "tasklist":
        return tr("post by hand")
    if row.status == ledger.AWAITING:
        return tr("confirm the mass send in WeCom")
    if row.status == ledger.UNKNOWN:
        return tr("check whether it went out")
    if row.status == ledger.FAILED and row.attempts >= ledger.MAX_ATTEMPTS:
        return tr("failed: post by hand")
    return None


def task_texts(tasks_dir: Path, day: date) -> dict[str, str]:
    """Message texts by key from the task list channel's CSVs of that day (the ledger has none):
    the posts' and the internal tasks'."""
    found: dict[str, str] = {}
    for name in (f"tasks-{day.isoformat()}.csv", f"tasks-{day.isoformat()}-internal.csv"):
        path = tasks_dir / name
        if path.exists():
            rows = csv.DictReader(io.StringIO(read_text_file(path), newline=""))
            found.update((_uncell(r.get("key") or ""), _uncell(r.get("text") or "")) for r in rows)
    return found


def _uncell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def csv_cell(value: str) -> str:
    """A CSV cell Excel shows as text, never runs as a formula (same rule as the task list)."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def checklist_rows(
    session: Session, *, day: date, zone: tzinfo, tasks_dir: Path
) -> list[dict[str, str]]:
    """The day's open hand work from the ledger, one dict per row (CHECKLIST_COLUMNS).

    `day` is a local day in `zone`; texts come from the task list files in `tasks_dir`.
    """
    start = datetime.combine(day, time(), zone)
    rows = ledger.list_deliveries(session, since=start, until=start + timedelta(days=1))
    names, texts = group_names(session), task_texts(tasks_dir, day)
    found = []
    for row in rows:
        todo = todo_for(row)
        if todo is None:
            continue
        found.append(
            {
                **dict.fromkeys(CHECKLIST_COLUMNS, ""),
                "time": row.due_at.astimezone(zone).strftime("%H:%M"),
                **{"group": row.group_id, "group_name": names.get(row.group_id, "")},
                **{"channel": row.channel, "todo": todo, "kind": row.kind, "slot": row.slot},
                **{"member": row.member_id or "", "status": row.status, "key": row.key},
                "text": texts.get(row.key, ""),
            }
        )
    return found


SECTIONS = {
    "post": N_("Posts by hand"),
    "internal": N_("Internal tasks — never paste into a customer group"),
    "check": N_("To check"),
}


def render_checklist(day: date, rows: Sequence[dict[str, str]], fmt: str) -> str:
    """The checklist as CSV (formula-safe cells) or a Markdown task list in sections."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CHECKLIST_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(r.get(k, "")) for k in CHECKLIST_COLUMNS} for r in rows)
        return buffer.getvalue()
    lines = ["# " + tr("Checklist {day} ({count})").format(day=day.isoformat(), count=len(rows))]
    for section, title in SECTIONS.items():
        mine = [r for r in rows if r.get("section", "check") == section]
        if mine:
            lines += ["", "## " + tr("{title} ({count})").format(title=tr(title), count=len(mine))]
        for r in mine:
            who = f"{r['group_name']} ({r['group']})" if r["group_name"] else r["group"]
            owner = " · " + tr("owner {name}").format(name=r["owner"]) if r.get("owner") else ""
            member = " · " + tr("member {id}").format(id=r["member"]) if r["member"] else ""
            post = r.get("post") or r["slot"]
            lines.append(
                f"- [ ] **{r['time']}** {post} · {who}{owner}{member} · {r['todo']}"
                f" · `{r.get('short_key') or r['key']}`"
            )
            lines += [f"  > {line}".rstrip() for line in r["text"].splitlines()]
    if not rows:
        lines += ["", tr("Nothing to do by hand.")]
    return "\n".join(lines) + "\n"

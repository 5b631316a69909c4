"""Delivery ledger services: list and summarise deliveries, record hand posts, confirm mass
sends, list what needs a person and settle it, build the operator's checklist. Changes commit
their own transaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from engine import ledger
from engine.channels.tasklist import done_keys
from engine.group_csv import read_text_file
from engine.ledger import Delivery, LedgerError
from services.channels import ConfirmReport, confirm_mass_sends, pending_mass_sends
from services.checklist import checklist_rows, group_names
from services.workspace import Workspace
from sop_models.errors import DataFileError
from sop_models.i18n import N_, tr
from versions import audit
from versions.approvals import required

STATUSES = (ledger.PENDING, ledger.SENDING, ledger.SENT, ledger.FAILED, ledger.UNKNOWN)
STATUSES += (ledger.AWAITING, ledger.DONE, ledger.SKIPPED)
EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def deliveries(
    ws: Workspace,
    *,
    sop_id: str | None = None,
    group_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Delivery]:
    """Ledger rows by due time, filtered by SOP, group, status and due time."""
    if status is not None and status not in STATUSES:
        raise LedgerError(f"--status: {status!r} is not one of {', '.join(STATUSES)}")
    with ws.session() as session:
        return ledger.list_deliveries(
            session, sop_id=sop_id, group_id=group_id, status=status, since=since, until=until
        )


def summary(
    ws: Workspace,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    late_after: timedelta,
) -> list[dict[str, Any]]:
    """Per group (with its name): planned, sent, done, failed, unknown, awaiting, on time, late."""
    with ws.session() as session:
        found = ledger.group_summary(
            session, since=since or EVER[0], until=until or EVER[1], late_after=late_after
        )
        names = group_names(session)
    rows = []
    for s in found:
        counts = asdict(s)
        del counts["group_id"]
        rows.append({"group": s.group_id, "name": names.get(s.group_id, ""), **counts})
    return rows


@dataclass(frozen=True)
class DoneResult:
    """Keys marked done by hand now, and keys that were already sent or done."""

    changed: list[str]
    unchanged: list[str]


def mark_done(
    ws: Workspace,
    *,
    keys: Sequence[str],
    by: str,
    now: datetime,
    checklist: Path | None = None,
) -> DoneResult:
    """Record that people posted these actions by hand, all or none.

    Keys come from `keys` (posted by `by`) and from the ticked rows of a checklist CSV, whose
    `done_by` wins over `by`. Unknown keys refuse the whole request.
    """
    who_of: dict[str, str] = dict.fromkeys(keys, by)
    if checklist is not None:
        who_of.update((key, who or by) for key, who in ticked(checklist).items())
    if not who_of:
        raise LedgerError("done: give delivery keys or --from CHECKLIST.csv")
    changed: list[str] = []
    with ws.session() as session:
        missing = [k for k in who_of if k not in ledger.get_deliveries(session, list(who_of))]
        if missing:
            raise ledger.UnknownDeliveryError(missing)
        for who in dict.fromkeys(who_of.values()):
            mine = [key for key, name in who_of.items() if name == who]
            changed += ledger.mark_done(session, mine, who, now)
        session.commit()
    return DoneResult(changed, [key for key in who_of if key not in changed])


def ticked(path: Path) -> Mapping[str, str]:
    """Keys ticked in a checklist CSV (ours or the task list's), with who ticked them."""
    header = next(csv.reader(io.StringIO(read_text_file(path))), [])
    missing = [name for name in ("done", "key") if name not in header]
    if missing:
        raise DataFileError(f"{path}: not a checklist CSV (no {' or '.join(missing)} column)")
    return done_keys(path)


@dataclass
class Confirmation:
    """Mass sends polled (None when nothing awaited confirmation) and keys that cannot be."""

    report: ConfirmReport | None
    skipped: dict[str, str] = field(default_factory=dict)


def confirm(ws: Workspace, *, now: datetime) -> Confirmation:
    """Ask WeCom which mass sends their senders confirmed; record sent or failed."""
    with ws.session() as session:  # read, then release the database before polling WeCom
        pending, skipped = pending_mass_sends(session)
    if not pending:
        return Confirmation(None, skipped)
    with ws.session() as session:
        report = confirm_mass_sends(ws, session, now, pending=pending)
        session.commit()
    return Confirmation(report, skipped)


def checklist(ws: Workspace, *, day: date) -> list[dict[str, str]]:
    """The operator's rows for one local day (hand posts, mass sends to confirm, unclear fates)."""
    with ws.session() as session:
        return checklist_rows(session, day=day, zone=ws.settings.zone, tasks_dir=ws.root / "tasks")


# What to do about a row of unclear fate, by status.
NEXT_STEP = {
    ledger.UNKNOWN: N_(
        "check the channel, then: sop deliveries settle KEY sent|not-sent --by NAME"
    ),
    ledger.AWAITING: N_("the sender confirms it in WeCom, then: sop deliveries confirm"),
    ledger.SENDING: N_("left by a stopped run: the next run reconciles it, or settle it by hand"),
}
CANCELLED_STEP = N_(
    "the sender never confirmed it and the run cancelled it: post it by hand, then"
    " sop deliveries done KEY --at TIME, or send it again: sop deliveries settle KEY not-sent"
    " --by NAME"
)
MISSED_STEP = N_(
    "a run found it past the lateness window and did not send it: send it late with"
    " sop run PLAYBOOK --date DAY --catch-up, post it by hand and mark it done, or leave it"
)
REMINDED_STEP = N_("the sender was reminded; the next run cancels it at wecom_cancel_after_hours")


@dataclass(frozen=True)
class AttentionItem:
    """A ledger row a person must look at, and the step to take."""

    key: str
    group_id: str
    channel: str
    status: str
    due_at: datetime
    note: str
    action: str
    follow_up: str = ""  # what runs did about an unconfirmed mass send


def _follow_up(row: Delivery, zone: tzinfo) -> str:
    if ledger.is_cancelled(row):
        return tr("cancelled")
    if row.status == ledger.AWAITING and row.follow_up == ledger.REMINDED and row.reminded_at:
        last = row.reminded_at.astimezone(zone).strftime("%m-%d %H:%M")
        return tr("reminded ({count} that day, last {last})").format(count=row.reminders, last=last)
    return ""


def _next_step(row: Delivery, done: str) -> str:
    if ledger.is_cancelled(row):
        return tr(CANCELLED_STEP)
    if row.status == ledger.PENDING and row.error == ledger.MISSED:
        return tr(MISSED_STEP)
    if done:
        return tr("{reminded}; or {step}").format(
            reminded=tr(REMINDED_STEP), step=tr(NEXT_STEP[row.status])
        )
    return tr(NEXT_STEP[row.status])


def attention(ws: Workspace, *, now: datetime) -> list[AttentionItem]:
    """Rows of unclear fate (unknown, awaiting confirmation, a mass send cancelled for want of
    it, abandoned sending) by due time, with what runs did about them and the next step."""
    with ws.session() as session:
        rows = ledger.needing_attention(session, wall=now)
    items = []
    for r in rows:
        done = _follow_up(r, ws.settings.zone)
        note = tr("missed") if r.error == ledger.MISSED else r.error or r.response_id or ""
        items.append(
            AttentionItem(
                r.key, r.group_id, r.channel, r.status, r.due_at, note, _next_step(r, done), done
            )
        )
    return items


SETTLE_OUTCOMES = {"sent": ledger.SENT, "not-sent": ledger.NOT_SENT}


def settle(ws: Workspace, *, key: str, outcome: str, by: str, now: datetime) -> Delivery:
    """An operator's verdict on one row of unclear fate, with its audit record, together.

    `sent`: it went out (never sent again); `not-sent`: it did not (the next run sends it).
    """
    if outcome not in SETTLE_OUTCOMES:
        raise LedgerError(f"OUTCOME: {outcome!r} is not one of {', '.join(SETTLE_OUTCOMES)}")
    who = required(by, "--by")
    with ws.session() as session:
        row, before = ledger.settle(session, key, SETTLE_OUTCOMES[outcome], now, by=who)
        audit.append(
            session,
            actor=who,
            action="delivery_settle",
            sop_id=row.sop_id,
            version=row.version,
            before={"key": key, "status": before},
            after={"key": key, "status": row.status},
            note=f"{key}: {before} -> {outcome} (settled by hand)",
            now=now,
        )
        session.commit()
        session.refresh(row)
    return row

"""WeCom mass sends around a run: setup check, the cap warning, reminders and cancellation.

`check_wecom_setup` stops a run before its first batch when WeCom refuses the app (wrong
secret or corp id, a system-app secret, an untrusted server IP), naming the setting.
`mass_cap_warnings` adds what WeCom already reports for the current period to the planner's
cap warning. `follow_up_mass_sends` reminds senders of unconfirmed mass sends and cancels
them at the deadline (`wecom_remind_after_hours`, `wecom_cancel_after_hours`);
`follow_up_unconfirmed` does that for a run from the ledger (a task's age counts from its
posts' due time) and records the outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select

from engine import ledger
from engine.channels import WeComMassSendChannel
from engine.channels.mass_followup import FollowUp, FollowUpPolicy, UnconfirmedTask
from engine.groups import Group
from engine.quota import cap_period, quota_warnings
from services.channels import MASS_SEND, build_channel, confirm_mass_sends, pending_mass_sends
from services.settings import Settings
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sop_models.errors import ChannelError, WorkspaceError, one_line


def check_wecom_setup(ws: Workspace) -> None:
    """Stop before a run if WeCom refuses the app: raises WeComSetupError naming the setting.

    Call it once before sending mass messages; a wrong secret or corp id, a system-app
    secret or an untrusted server IP would otherwise fail every batch in turn.
    """
    channel = build_channel(MASS_SEND, ws)
    assert isinstance(channel, WeComMassSendChannel)
    channel.check_setup()


def check_setup_before_run(ws: Workspace, *, dry_run: bool) -> None:
    """`sop run`'s check before Prefect starts: when a group of the workspace is on the mass
    channel, a WeCom setup error stops the run here in one line (the flow checks again)."""
    if dry_run:
        return
    with ws.session() as session:
        query = select(Group.id).where(Group.channel == MASS_SEND, col(Group.archived_at).is_(None))
        on_mass = session.exec(query.limit(1)).first() is not None
    if on_mass:
        check_wecom_setup(ws)


def mass_cap_warnings(ws: Workspace, actions: Sequence[PlannedAction], now: datetime) -> list[str]:
    """The planner's cap warning with what WeCom already reports for the current period.

    Sends in the period containing `now` are counted from WeCom (every creator) for the
    chats of the planned `wecom_mass` actions; later periods count the plan alone.
    """
    mass = [a for a in actions if a.channel == MASS_SEND and a.target]
    rule = ws.settings.wecom_mass_cap
    if not mass:
        return quota_warnings(actions, rule=rule)
    channel = build_channel(MASS_SEND, ws)
    assert isinstance(channel, WeComMassSendChannel)
    chats = {a.target: a.group_id for a in mass}
    counts = channel.sent_this_period(set(chats), now)
    start = cap_period(rule, now)[0]
    sent = {(chats[chat], start): count for chat, count in counts.items() if count}
    return quota_warnings(actions, rule=rule, sent=sent)


def follow_up_policy(settings: Settings) -> FollowUpPolicy:
    """When to remind and when to cancel unconfirmed mass sends, from the settings."""
    remind = timedelta(hours=settings.wecom_remind_after_hours)
    cancel = timedelta(hours=settings.wecom_cancel_after_hours)
    if remind >= cancel:
        raise WorkspaceError(
            "wecom_remind_after_hours must be less than wecom_cancel_after_hours "
            f"({settings.wecom_remind_after_hours} >= {settings.wecom_cancel_after_hours})"
        )
    return FollowUpPolicy(remind_after=remind, remind_every=remind, cancel_after=cancel)


def follow_up_mass_sends(ws: Workspace, tasks: Sequence[UnconfirmedTask]) -> list[FollowUp]:
    """Remind or cancel unconfirmed mass sends as the workspace settings say.

    The caller builds `tasks` from the ledger (msgid, sender, creation time, keys, reminders
    so far) and records each FollowUp's result; nothing is written here.
    """
    if not tasks:
        return []
    channel = build_channel(MASS_SEND, ws)
    assert isinstance(channel, WeComMassSendChannel)
    return channel.follow_up(tasks, follow_up_policy(ws.settings))


@dataclass
class FollowUpReport:
    """What a run did about mass sends awaiting confirmation, as lists of ledger keys."""

    confirmed: list[str] = field(default_factory=list)  # sent or failed since the last look
    reminded: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    error: str = ""  # why the follow-up could not be done this time (the run went on)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def before_sending(
    ws: Workspace, actions: Sequence[PlannedAction], *, now: datetime
) -> FollowUpReport:
    """A run's start: when it has mass sends, check WeCom's setup first (WeComSetupError,
    naming the setting, stops the run before anything is claimed); then follow up the
    unconfirmed mass sends of earlier runs (a failure there is reported, not fatal)."""
    if any(a.channel == MASS_SEND for a in actions):
        check_wecom_setup(ws)
    try:
        return follow_up_unconfirmed(ws, now=now)
    except ChannelError as exc:
        return FollowUpReport(error=one_line(exc))


def follow_up_unconfirmed(ws: Workspace, *, now: datetime) -> FollowUpReport:
    """Poll WeCom for awaiting mass sends, then remind or cancel those still unconfirmed.

    A task's age counts from the earliest due time of its posts. Results go to the ledger
    (a cancelled post is failed and not sent again by a run); makes no WeCom call when
    nothing awaits confirmation.
    """
    report = FollowUpReport()
    with ws.session() as session:  # read, then release the database before calling WeCom
        pending, _ = pending_mass_sends(session)
    if not pending:
        return report
    with ws.session() as session:
        polled = confirm_mass_sends(ws, session, now, pending=pending)
        session.commit()
    report.confirmed = [*polled.sent, *polled.failed]
    still = [item for item in pending if item.key in set(polled.awaiting)]
    with ws.session() as session:
        rows = ledger.get_deliveries(session, [item.key for item in still])
    by_task: dict[tuple[str, str], list[str]] = {}
    for item in still:
        by_task.setdefault((item.msgid, item.sender), []).append(item.key)
    tasks = [_task(task, [rows[k] for k in keys], now) for task, keys in by_task.items()]
    done = follow_up_mass_sends(ws, tasks)
    buckets = {"reminded": report.reminded, "cancelled": report.cancelled, "sent": report.confirmed}
    for item in done:
        buckets.get(item.action, report.waiting).append(item.key)
    with ws.session() as session:
        ledger.record_results(session, [item.result for item in done if item.result], now)
        ledger.note_follow_ups(session, report.reminded, report.cancelled, now)
        session.commit()
    return report


def _task(task: tuple[str, str], rows: Sequence[ledger.Delivery], now: datetime) -> UnconfirmedTask:
    """The task (msgid, sender) of these awaiting rows, aged from their earliest due time."""
    reminded = [r.reminded_at for r in rows if r.reminded_at is not None]
    last = max(reminded) if reminded else None
    today = last is not None and last.astimezone(now.tzinfo).date() == now.date()
    return UnconfirmedTask(
        *task,
        min(r.due_at for r in rows),
        tuple(r.key for r in rows),
        last,
        max(r.reminders for r in rows) if today else 0,
    )

"""WeCom mass sends around a run: setup check, the cap warning, reminders and cancellation.

`check_wecom_setup` stops a run before its first batch when WeCom refuses the app (wrong
secret or corp id, a system-app secret, an untrusted server IP), naming the setting.
`mass_cap_warnings` adds what WeCom already reports for the current period to the planner's
cap warning. `follow_up_mass_sends` reminds senders of unconfirmed mass sends and cancels
them at the deadline (`wecom_remind_after_hours`, `wecom_cancel_after_hours`); the caller
records the results in the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from engine.channels import WeComMassSendChannel
from engine.channels.mass_followup import FollowUp, FollowUpPolicy, UnconfirmedTask
from engine.quota import cap_period, quota_warnings
from services.channels import MASS_SEND, build_channel
from services.settings import Settings
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sop_models.errors import WorkspaceError


def check_wecom_setup(ws: Workspace) -> None:
    """Stop before a run if WeCom refuses the app: raises WeComSetupError naming the setting.

    Call it once before sending mass messages; a wrong secret or corp id, a system-app
    secret or an untrusted server IP would otherwise fail every batch in turn.
    """
    channel = build_channel(MASS_SEND, ws)
    assert isinstance(channel, WeComMassSendChannel)
    channel.check_setup()


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

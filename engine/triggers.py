"""Threshold triggers: which posts live counts fire. Pure: counts and the ledger come in.

A campaign's `triggers` watch a count (the group's orders for that campaign by default: the
caller counts only events whose message names the campaign) inside the campaign window that
contains the day. `at: 10` fires once when the count reaches 10; `every: 20`
fires at 20, 40, ...: when one evaluation finds several multiples reached at once, only the
highest is posted (one progress post, not a burst). Each fired threshold is an action with the
stable key `sop:version:group:triggers.<campaign>.<trigger>.<threshold>:<window's first day>`,
so a threshold fires at most once per group per window: the caller passes the slot keys the
ledger already holds (`fired`), and the ledger refuses a key twice anyway. Nothing fires in
the SOP's quiet hours; the first evaluation after them does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from engine import render as rendering
from engine.calendar import occurrences
from engine.planner.core import GroupLike
from engine.planner.slots import TZ
from engine.planner.variables import campaign_variables, content_variables
from sop_models import WEEKDAY_NUMBERS, Campaign, CountTrigger, SopDocument
from sop_models.actions import PlannedAction, action_key

KIND = "trigger"


@dataclass(frozen=True)
class Watch:
    """One campaign run whose triggers count `event` in the groups from `first` to `last`."""

    campaign: Campaign
    event: str
    first: date
    last: date


def window_on(campaign: Campaign, day: date) -> tuple[date, date] | None:
    """The campaign's run (first day, last day) that contains `day`, if any."""
    window = campaign.window
    span = timedelta(window.length - 1)
    if window.weekly is not None:
        back = (day.weekday() - WEEKDAY_NUMBERS[window.weekly.first_weekday]) % 7
        first = day - timedelta(back)
        return (first, first + span) if back <= span.days else None
    if window.anchor is not None:
        after, before = timedelta(window.days_after or 0), timedelta(window.days_before or 0)
        for anchor in occurrences(window.anchor, day - after, day + before):
            first = window.first_day(anchor)
            if first <= day <= first + span:
                return first, first + span
        return None
    if window.start is not None and window.end is not None and window.start <= day <= window.end:
        return window.start, window.end
    return None


def watches(doc: SopDocument, day: date) -> list[Watch]:
    """What must be counted on `day`: each running campaign with triggers, per counted event."""
    found: list[Watch] = []
    for campaign in doc.playbooks.campaigns:
        run = window_on(campaign, day) if campaign.triggers else None
        if run is not None:
            for event in sorted({t.event for t in campaign.triggers}):
                found.append(Watch(campaign, event, *run))
    return found


def slot_name(campaign: Campaign, trigger: CountTrigger, threshold: int) -> str:
    """The trigger's slot: the threshold is part of it, so each threshold has its own key."""
    return f"triggers.{campaign.id}.{trigger.id}.{threshold}"


def in_quiet_hours(doc: SopDocument, now: datetime) -> bool:
    """True inside the SOP's quiet hours: triggers wait, and the first evaluation after them
    (the welcome loop) posts what is still due while the campaign run lasts."""
    quiet = doc.schedule.quiet_hours
    local = now.astimezone(TZ)
    return quiet is not None and quiet.contains(local.hour * 60 + local.minute)


def fired_key(sop_id: str, group_id: str, watch: Watch, trigger: CountTrigger, at: int) -> str:
    """The unversioned key (`sop:group:slot:date`) threshold `at` has in the ledger."""
    return action_key(sop_id, group_id, slot_name(watch.campaign, trigger, at), str(watch.first))


def due(trigger: CountTrigger, count: int) -> int | None:
    """The threshold to post at `count`: `at` once reached; for `every` the highest reached."""
    reached = trigger.thresholds(count)
    return reached[-1] if reached else None


def fired_actions(
    *,
    doc: SopDocument,
    version: str,
    groups: Sequence[GroupLike],
    counts: Mapping[tuple[str, str, str], int],
    day: date,
    now: datetime,
    fired: Collection[str] = (),
) -> list[PlannedAction]:
    """The trigger posts to send at `now` for `groups` on `day`.

    `counts` maps (campaign id, event, group id) to the count in the campaign's run that
    contains `day`; `fired` holds the unversioned keys (`sop:group:slot:date`) already in
    the ledger. Only the highest threshold reached is due: once it fired, lower ones never do.
    """
    if in_quiet_hours(doc, now):
        return []
    base = doc.document_variables()
    found: list[PlannedAction] = []
    for watch in watches(doc, day):
        campaign = watch.campaign
        static = campaign_variables(campaign)
        number = (day - watch.first).days + 1
        for trigger in (t for t in campaign.triggers if t.event == watch.event):
            for group in groups:
                count = counts.get((campaign.id, watch.event, group.id), 0)
                threshold = due(trigger, count)
                if threshold is None:
                    continue
                if fired_key(doc.id, group.id, watch, trigger, threshold) in fired:
                    continue
                values = {
                    **base, **content_variables(doc, trigger.content_tag), **static,
                    "count": count, "threshold": threshold, "day": number,
                    "date": now.astimezone(TZ).date().isoformat(), "group_name": group.name,
                }  # fmt: skip
                slot = slot_name(campaign, trigger, threshold)
                key = action_key(doc.id, version, group.id, slot, str(watch.first))
                found.append(_action(doc, version, trigger, group, (key, slot), values, now))
    return found


def _action(
    doc: SopDocument,
    version: str,
    trigger: CountTrigger,
    group: GroupLike,
    key_slot: tuple[str, str],
    values: dict[str, object],
    now: datetime,
) -> PlannedAction:
    key, slot = key_slot
    message = rendering.render(doc, trigger.template, values)
    return PlannedAction(
        key=key,
        sop_id=doc.id,
        version=version,
        group_id=group.id,
        at=now,
        kind=KIND,
        slot=slot,
        text=message.text,
        msgtype=message.msgtype,
        content_tag=trigger.content_tag,
        channel=group.channel,
        target=group.target,
        sender=group.sender,
        extra=message.extra,
    )

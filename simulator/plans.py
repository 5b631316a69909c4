"""Hand-made plans for the simulator when no SOP planner is at hand (tests, quick demos)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from simulator.clock import TZ
from simulator.community import Joiner
from simulator.population import GroupSpec
from sop_models.actions import ActionKind, PlannedAction


def push_action(
    *,
    group_id: str,
    sop_id: str,
    version: str,
    at: datetime,
    kind: ActionKind = "column",
    slot: str | None = None,
) -> PlannedAction:
    """One push to a whole group at `at` (timezone-aware)."""
    slot = slot or f"{kind}.{at:%H%M}"
    return PlannedAction(
        key=f"{sop_id}@{version}:{group_id}:{slot}:{at.isoformat()}",
        sop_id=sop_id,
        version=version,
        group_id=group_id,
        at=at,
        kind=kind,
        slot=slot,
        text=f"[{slot}]",
    )


def welcome_action(
    *, joiner: Joiner, sop_id: str, version: str, delay_seconds: float = 5.0
) -> PlannedAction:
    """The on-join welcome for `joiner`, `delay_seconds` after the join (same local day)."""
    local = joiner.time.astimezone(TZ)
    last_second = datetime.combine(local.date(), time(23, 59, 59), tzinfo=TZ)
    at = min(local + timedelta(seconds=delay_seconds), last_second)
    return PlannedAction(
        key=f"{sop_id}@{version}:{joiner.group}:on_join.welcome:{joiner.member}",
        sop_id=sop_id,
        version=version,
        group_id=joiner.group,
        at=at,
        kind="welcome",
        slot="on_join.welcome",
        text="欢迎入群！",
        member_id=joiner.member,
    )


def daily_plan(
    *,
    day: date,
    groups: Sequence[GroupSpec],
    version_by_group: Mapping[str, str],
    joiners: Sequence[Joiner] = (),
    hours: Sequence[int] = (10, 15, 20),
    flash_sale_weekday: int | None = 2,
    flash_sale_hour: int = 20,
    cold_start_days: int = 3,
    welcome: bool = True,
) -> list[PlannedAction]:
    """A mature-phase day: columns at `hours`, a weekly flash sale (Wednesday = 2), cold-start
    pushes at 19:00 in the first days of new groups, and a welcome for every joiner."""
    actions: list[PlannedAction] = []
    started = {g.id: g for g in groups if g.start_date <= day}
    for spec in started.values():
        version = version_by_group.get(spec.id, "1.0")

        def at(hour: int) -> datetime:
            return datetime.combine(day, time(hour), tzinfo=TZ)

        for hour in hours:
            actions.append(
                push_action(group_id=spec.id, sop_id=spec.sop_id, version=version, at=at(hour))
            )
        if flash_sale_weekday is not None and day.weekday() == flash_sale_weekday:
            actions.append(
                push_action(
                    group_id=spec.id, sop_id=spec.sop_id, version=version,
                    at=at(flash_sale_hour), kind="flash_sale",
                )
            )  # fmt: skip
        if spec.new_group and (day - spec.start_date).days < cold_start_days:
            actions.append(
                push_action(
                    group_id=spec.id, sop_id=spec.sop_id, version=version, at=at(19),
                    kind="cold_start", slot=f"cold_start.day{(day - spec.start_date).days + 1}",
                )
            )  # fmt: skip
    if welcome:
        for joiner in joiners:
            spec = started.get(joiner.group)
            if spec is not None:
                version = version_by_group.get(spec.id, "1.0")
                actions.append(welcome_action(joiner=joiner, sop_id=spec.sop_id, version=version))
    return actions

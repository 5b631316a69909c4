"""Cron deployments built from the SOPs' own schedules (Asia/Shanghai).

Every distinct send time in the production SOPs becomes one deployment per playbook, e.g.
`mature_day-1000` on `0 10 * * *`: the times written in the SOPs and the times the planner can
move posts to (the end of the quiet hours, a collision's shift; `send_times`), so a moved post
has a run at its own time instead of being missed by the later ones. The flow decides at run
time which groups and which day rule (workday, weekday, lunar date) apply, so calendars need no
cron gymnastics and a promotion needs no redeploy. Welcomes run every five minutes. Each run
sends what is due at the minute it was scheduled for (`services.playbooks.plan_due`): the 10:00
run sends the 10:00 posts and nothing of 15:00, and a later run also sends what an earlier one
missed (the ledger skips what was sent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.planner import Layer, plan_layers
from flows.deploy import DeploymentSpec
from flows.playbooks import FLOWS
from services.playbooks import PLAYBOOK_KINDS
from sop_models import SopDocument

TIMEZONE = "Asia/Shanghai"
WELCOME_CRON = "*/5 * * * *"
YEAR = timedelta(days=366)
PLAYBOOK_OF = {
    kind: name for name, kinds in PLAYBOOK_KINDS.items() if name != "all" for kind in kinds
}
"""The playbook (flow) that sends each kind of action."""


def _minus_minutes(clock: str, minutes: int) -> str:
    hours, mins = (int(part) for part in clock.split(":"))
    total = (hours * 60 + mins - minutes) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def slot_times(doc: SopDocument) -> dict[str, list[str]]:
    """Playbook -> the local times ("HH:MM") written in the SOP, one entry per slot."""
    times: dict[str, list[str]] = defaultdict(list)
    times["mature_day"] += [column.time for column in doc.schedule.columns]
    times["mature_day"] += [column.time for column in doc.schedule.calendar_columns]
    books = doc.playbooks
    if books.mature and books.mature.flash_sale:
        sale = books.mature.flash_sale
        times["mature_day"].append(sale.time)
        if sale.countdown:
            times["mature_day"].append(_minus_minutes(sale.time, sale.countdown.minutes_before))
    if books.cold_start:
        times["cold_start"] += [action.time for action in books.cold_start.actions]
    for campaign in books.campaigns:
        times["campaign"] += [action.time for action in campaign.actions]
        if campaign.check_in:
            times["campaign"].append(campaign.check_in.time)
    return {name: found for name, found in times.items() if found}


def send_times(
    doc: SopDocument, overlays: Sequence[SopDocument] = (), *, today: date | None = None
) -> dict[str, set[str]]:
    """Playbook -> every local send time ("HH:MM") its actions can have.

    The times written in the SOP, plus the times the planner gives its posts over a year from
    `today` (default: today in Shanghai) with `overlays` laid over it: where quiet hours defer
    a post to and where a collision shifts one (`engine.planner.spacing`). A year covers every
    day rule (weekly, monthly, yearly and lunar dates); probe groups starting on each of the
    next seven days cover the cold start."""
    times = {name: set(found) for name, found in slot_times(doc).items()}
    if doc.playbooks.mature and doc.playbooks.mature.rfm:
        times.setdefault("mature_day", set()).add(doc.playbooks.mature.rfm.time)
    first = today or datetime.now(ZoneInfo(TIMEZONE)).date()
    for playbook, found in _planned_times(doc, overlays, first).items():
        times.setdefault(playbook, set()).update(found)
    return times


@dataclass(frozen=True)
class _Probe:
    """A group that exists only to see when the planner places posts."""

    id: str
    start_date: date | None
    name: str = "示例群"
    channel: str = "outbox"
    target: str = ""
    sender: str = ""


def _planned_times(
    doc: SopDocument, overlays: Sequence[SopDocument], first: date
) -> dict[str, set[str]]:
    cold = doc.playbooks.cold_start
    runs: list[tuple[list[_Probe], date, date]] = [([_Probe("mature", None)], first, first + YEAR)]
    if cold is not None:
        starts = [_Probe(f"day-{n}", first + timedelta(n)) for n in range(7)]
        runs.append((starts, first, first + timedelta(cold.days + 7)))
    laid = [Layer(o, "probe", o.overlay.priority if o.overlay else 0) for o in overlays]
    times: dict[str, set[str]] = defaultdict(set)
    for groups, start, end in runs:
        try:
            found = plan_layers(
                base=Layer(doc, "probe"), overlays=laid, groups=groups, start=start, end=end
            )
        except Exception:  # the written times stay; a plan that fails shows in the runs
            continue
        for action in found.actions:  # the overlays' too: a run lays them over the base
            times[PLAYBOOK_OF[action.kind]].add(f"{action.at:%H:%M}")
    return times


def cron_for(clock: str) -> str:
    """`"10:30"` -> `"30 10 * * *"`."""
    hours, minutes = clock.split(":")
    return f"{int(minutes)} {int(hours)} * * *"


def deployment_specs(
    workspace: str, docs: Iterable[SopDocument], *, today: date | None = None
) -> list[DeploymentSpec]:
    """One cron deployment per (playbook, send time) across all SOPs, plus the welcome loop.
    Overlays may be attached to any base SOP, so each base's times count all of them."""
    docs = list(docs)
    overlays = [doc for doc in docs if doc.overlay is not None]
    merged: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        laid = overlays if doc.overlay is None else []  # overlays may lie over any base
        for playbook, found in send_times(doc, laid, today=today).items():
            merged[playbook].update(found)
    specs = [
        DeploymentSpec(
            name="welcome-every-5-min",
            flow=FLOWS["welcome"],
            cron=WELCOME_CRON,
            timezone=TIMEZONE,
            parameters={"workspace": workspace},
            description="On-join welcomes for new members, and threshold triggers",
            tags=("sopflow", "welcome"),
        )
    ]
    for playbook in sorted(merged):
        for clock in sorted(merged[playbook]):
            specs.append(
                DeploymentSpec(
                    name=f"{playbook}-{clock.replace(':', '')}",
                    flow=FLOWS[playbook],
                    cron=cron_for(clock),
                    timezone=TIMEZONE,
                    parameters={"workspace": workspace},
                    description=f"{playbook} actions due by {clock} (Asia/Shanghai)",
                    tags=("sopflow", playbook),
                )
            )
    return specs

"""Cron deployments built from the SOPs' own schedules (Asia/Shanghai).

Every distinct send time in the production SOPs becomes one deployment per playbook, e.g.
`mature_day-1000` on `0 10 * * *`. The flow decides at run time which groups and which day rule
(workday, weekday, lunar date) apply, so calendars need no cron gymnastics and a promotion needs
no redeploy. Welcomes run every five minutes. Each run sends what is due at the minute it was
scheduled for (`services.playbooks.plan_due`): the 10:00 run sends the 10:00 posts and nothing
of 15:00, and a later run also sends what an earlier one missed (the ledger skips what was sent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from flows.deploy import DeploymentSpec
from flows.playbooks import FLOWS
from sop_models import SopDocument

TIMEZONE = "Asia/Shanghai"
WELCOME_CRON = "*/5 * * * *"


def _minus_minutes(clock: str, minutes: int) -> str:
    hours, mins = (int(part) for part in clock.split(":"))
    total = (hours * 60 + mins - minutes) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def send_times(doc: SopDocument) -> dict[str, set[str]]:
    """Playbook -> the local send times ("HH:MM") its actions use."""
    times: dict[str, set[str]] = defaultdict(set)
    times["mature_day"].update(column.time for column in doc.schedule.columns)
    times["mature_day"].update(column.time for column in doc.schedule.calendar_columns)
    books = doc.playbooks
    if books.mature and books.mature.flash_sale:
        sale = books.mature.flash_sale
        times["mature_day"].add(sale.time)
        if sale.countdown:
            times["mature_day"].add(_minus_minutes(sale.time, sale.countdown.minutes_before))
    if books.mature and books.mature.rfm:
        times["mature_day"].add(books.mature.rfm.time)
    if books.cold_start:
        times["cold_start"].update(action.time for action in books.cold_start.actions)
    for campaign in books.campaigns:
        times["campaign"].update(action.time for action in campaign.actions)
        if campaign.check_in:
            times["campaign"].add(campaign.check_in.time)
    return {name: found for name, found in times.items() if found}


def cron_for(clock: str) -> str:
    """`"10:30"` -> `"30 10 * * *"`."""
    hours, minutes = clock.split(":")
    return f"{int(minutes)} {int(hours)} * * *"


def deployment_specs(workspace: str, docs: Iterable[SopDocument]) -> list[DeploymentSpec]:
    """One cron deployment per (playbook, send time) across all SOPs, plus the welcome loop."""
    merged: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        for playbook, found in send_times(doc).items():
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

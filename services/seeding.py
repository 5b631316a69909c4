"""Seed a workspace with an experiment on simulated groups, as the demo and the tests do.

    seed_production(ws, ...)   V1 saved by the author, promoted by the approver, groups
                               registered on the outbox channel (returned as simulator specs)
    seed_candidate(ws, ...)    V2 saved and made the candidate on a share of the groups
    with_new_welcome(text)     the demo's V2: a new welcome text, open rate the primary metric
    admit_joiners(ws, ...)     the simulated community's joiners of a day, stored as joins
    record_answers(ws, ...)    the community's answer to the day's plan, imported as events

Between the last two, the caller sends the day (through a flow, or the playbook services).
Each step is one or more user actions through the same services the CLI uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import yaml

from engine.members import MemberJoin
from services import groups, playbooks
from services.experiments import Assignment, start_experiment
from services.groups import NewGroup
from services.kpis import event_store
from services.workspace import Workspace
from simulator import Community, GroupSpec
from sop_models import parse_document
from versions import services
from versions.store import VersionInfo

NEW_WELCOME = (
    "{{ member_name }}，欢迎来到{{ group_name }}！🎉 我是你的育儿顾问小满。\n"
    "进群先领👉 0-3 岁宝宝辅食地图 + 新人专享券；每晚 8 点有免费育儿直播。\n"
    "群公告里有群规，请改群昵称为「宝宝月龄-城市」，禁止广告哦～"
)
CITIES = ("上海", "北京", "杭州", "成都", "广州", "深圳")


@dataclass(frozen=True)
class Seeded:
    """Production V1 and the registered groups, as the simulator needs them."""

    production: VersionInfo
    groups: list[GroupSpec]

    @property
    def sop_id(self) -> str:
        return self.production.sop_id


def with_new_welcome(text: str, *, primary: str = "open_rate") -> str:
    """`text` with a new on-join welcome and `primary` as the primary metric of its check (the
    demo passes welcome_open_rate: the welcome's own opens over welcomes delivered)."""
    data = parse_document(text).model_dump(mode="json", exclude_none=True)
    template_id = data["schedule"]["on_join"][0]["template"]
    for template in data["templates"]:
        if template["id"] == template_id:
            template["body"] = NEW_WELCOME
            template["variables"] = sorted(
                {*template.get("variables", []), "member_name", "group_name"}
            )
    targets = [t for t in data["kpis"]["targets"] if t["metric"] != primary]
    data["kpis"]["targets"] = [
        {"metric": primary, "target": 0.25, "direction": "higher"},
        *targets,
    ]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def seed_production(
    ws: Workspace,
    *,
    text: str,
    source: str,
    author: str,
    approver: str,
    groups_count: int,
    members: int,
    start: date,
    now: datetime,
) -> Seeded:
    """Save `text` as V1.0, promote it, and register `groups_count` new groups on the outbox."""
    v1 = services.save_version(
        ws.uow(), text=text, source=source, author=author, message="首版 SOP", major=False, now=now
    )
    services.promote(
        ws.uow(), sop_id=v1.sop_id, version="1.0", approver=approver, policy=ws.policy, now=now
    )
    new = [
        NewGroup(
            id=f"mb-{n:02d}",
            name=f"宝妈成长营{n}群",
            sop_id=v1.sop_id,
            owner=author,
            sender="xiaowang",
            channel="outbox",
            target=f"mb-{n:02d}",
            start_date=start,
            member_count=members,
            tags=(f"city:{CITIES[n % len(CITIES)]}",),
        )
        for n in range(1, groups_count + 1)
    ]
    groups.add_groups(ws, groups=new, now=now)
    specs = [GroupSpec(g.id, members, start, v1.sop_id, new_group=True) for g in new]
    return Seeded(v1, specs)


def seed_candidate(
    ws: Workspace,
    *,
    sop_id: str,
    text: str,
    source: str,
    author: str,
    message: str,
    share: float,
    salt: str,
    now: datetime,
) -> tuple[VersionInfo, Assignment]:
    """Save `text` as the next major version, make it the candidate, assign `share` of groups."""
    saved = services.save_version(
        ws.uow(), text=text, source=source, author=author, message=message, major=True, now=now
    )
    services.set_candidate(
        ws.uow(), sop_id=sop_id, version=str(saved.version), actor=author, now=now
    )
    split = start_experiment(ws, sop_id=sop_id, share=share, author=author, now=now, salt=salt)
    return saved, split


def group_versions(ws: Workspace, *, sop_id: str) -> dict[str, str]:
    """Group id -> the version its alias points at now (what the simulator reacts to)."""
    aliases = {name: str(v) for name, v in ws.store.aliases(sop_id).items()}
    return {
        g.id: aliases.get(g.alias, aliases["production"])
        for g in groups.list_groups(ws, sop_id=sop_id)
    }


def admit_joiners(ws: Workspace, *, community: Community, sop_id: str, day: date) -> dict[str, str]:
    """Store the day's simulated joiners; returns the group versions they joined under."""
    versions = group_versions(ws, sop_id=sop_id)
    joins = [
        MemberJoin(
            group_id=j.group,
            member_id=j.member,
            member_name=f"宝妈{j.member[-4:]}",
            joined_at=j.time,
        )
        for j in community.joiners(day, version_by_group=versions)
    ]
    groups.add_joins(ws, joins=joins)
    return versions


def record_answers(
    ws: Workspace, *, community: Community, day: date, versions: dict[str, str]
) -> int:
    """Simulate the community's answer to the day's plan and import it as events; how many."""
    actions = playbooks.plan_day(ws, playbook="all", day=day).actions
    result = community.simulate_day(day, actions=actions, version_by_group=versions)
    imported = event_store(ws).import_rows(result.events, source=f"simulator {day.isoformat()}")
    return imported.rows

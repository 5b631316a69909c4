"""`sop demo`: the whole PDCA loop on embedded defaults, in about a minute.

Plan: save V1.0 of the mother-and-baby SOP and promote it. Do: register groups, then run the
daily playbook flows through Prefect (ephemeral) while a seeded community simulator answers
what each group received. Check: save V2.0 (new welcome text) as candidate on half of the
groups, simulate two more weeks, run the check flow. Act: the run pauses for approval; demo
mode approves it (saying so), production moves, the changelog line carries the measured
effect. With `worse=True` V2.0 hurts and the check ends in REJECT.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from engine import groups as group_registry
from engine.members import MemberJoin
from services import playbooks
from services.experiments import start_experiment
from services.kpis import event_store
from services.report_data import write_workspace_report
from services.workspace import Workspace, init_workspace
from simulator import Community, GroupSpec, SimulationParams
from sop_models import parse_document
from sop_models.errors import SopflowError
from versions import services

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mombaby-refined.yaml"
AUTHOR, APPROVER = "运营小王", "李经理"
NEW_WELCOME = (
    "{{ member_name }}，欢迎来到{{ group_name }}！🎉 我是你的育儿顾问小满。\n"
    "进群先领👉 0-3 岁宝宝辅食地图 + 新人专享券；每晚 8 点有免费育儿直播。\n"
    "群公告里有群规，请改群昵称为「宝宝月龄-城市」，禁止广告哦～"
)
BETTER = {"2.0": {"open": 1.2}}
WORSE = {"2.0": {"open": 0.85, "leave": 1.4}}


@dataclass
class DemoConfig:
    """Knobs of the demo; defaults finish in about a minute on 2 cores."""

    workspace: Path
    seed: int = 7
    groups: int = 24
    members: int = 200
    start: date = date(2026, 9, 1)
    days_before: int = 7
    days_experiment: int = 14
    worse: bool = False


@dataclass
class DemoResult:
    """What the demo ended with."""

    decision: str
    changelog: str
    reasons: list[str]
    workspace: Path
    report: Path | None = None
    run_id: str = ""
    assignment: dict[str, list[str]] = field(default_factory=dict)


Say = Callable[[str], None]
Progress = Callable[[str, int, int], None]


def _new_welcome(text: str) -> str:
    data = parse_document(text).model_dump(mode="json", exclude_none=True)
    template_id = data["schedule"]["on_join"][0]["template"]
    for template in data["templates"]:
        if template["id"] == template_id:
            template["body"] = NEW_WELCOME
            template["variables"] = sorted(
                {*template.get("variables", []), "member_name", "group_name"}
            )
    # This version's change aims at the open rate: make it the primary metric of its check.
    targets = [t for t in data["kpis"]["targets"] if t["metric"] != "open_rate"]
    data["kpis"]["targets"] = [
        {"metric": "open_rate", "target": 0.25, "direction": "higher"},
        *targets,
    ]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _register_groups(ws: Workspace, cfg: DemoConfig, sop_id: str) -> list[GroupSpec]:
    cities = ["上海", "北京", "杭州", "成都", "广州", "深圳"]
    specs = []
    with ws.session() as session:
        for n in range(1, cfg.groups + 1):
            group_id = f"mb-{n:02d}"
            group_registry.add_group(
                session,
                id=group_id,
                name=f"宝妈成长营{n}群",
                sop_id=sop_id,
                now=datetime.now(UTC),
                owner=AUTHOR,
                sender="xiaowang",
                channel="outbox",
                target=group_id,
                start_date=cfg.start,
                member_count=cfg.members,
                tags=[f"city:{cities[n % len(cities)]}"],
            )
            specs.append(
                GroupSpec(
                    id=group_id,
                    size=cfg.members,
                    start_date=cfg.start,
                    sop_id=sop_id,
                    new_group=True,
                )
            )
        session.commit()
    return specs


def _versions(ws: Workspace, sop_id: str) -> dict[str, str]:
    aliases = {name: str(v) for name, v in ws.store.aliases(sop_id).items()}
    with ws.session() as session:
        groups = group_registry.list_groups(session, sop_id=sop_id)
    return {g.id: aliases.get(g.alias, aliases["production"]) for g in groups}


def _simulate_day(ws: Workspace, community: Community, sop_id: str, day: date) -> int:
    """Joins in, playbook flow through Prefect, the community's answer back as events."""
    from flows.playbooks import playbook_day

    versions = _versions(ws, sop_id)
    joiners = community.joiners(day, version_by_group=versions)
    with ws.session() as session:
        session.add_all(
            MemberJoin(
                group_id=j.group,
                member_id=j.member,
                member_name=f"宝妈{j.member[-4:]}",
                joined_at=j.time,
            )
            for j in joiners
        )
        session.commit()
    summary = playbook_day(workspace=str(ws.root), day=day.isoformat(), scheduled_clock=True)
    actions = playbooks.plan_day(ws, playbook="all", day=day).actions
    result = community.simulate_day(day, actions=actions, version_by_group=versions)
    event_store(ws).import_rows(result.events, source=f"simulator {day.isoformat()}")
    return int(summary["planned"])


def _approve_when_paused(result_box: dict[str, Any], say: Say) -> None:
    from flows.approval import approve_run, paused_runs

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "result" not in result_box:
        waiting = [run for run in paused_runs() if run.flow_name == "check"]
        if waiting:
            run = waiting[0]
            say(
                f"check run {run.id} paused for approval; demo mode approves it as {APPROVER} "
                "(in real use: the Prefect UI or `sop approve RUN_ID --approver NAME`)"
            )
            approve_run(run.id, APPROVER, "演示模式自动批准 (demo mode)")
            return
        time.sleep(0.5)


def run_demo(cfg: DemoConfig, *, say: Say, progress: Progress) -> DemoResult:
    """Run the PDCA loop end to end in `cfg.workspace` (created if needed)."""
    from flows.check import check as check_flow
    from sopflow.prefect_context import prefect_for

    ws = init_workspace(cfg.workspace)
    try:
        base = EXAMPLE.read_text(encoding="utf-8")
        v1 = services.save_version(
            ws.uow(),
            text=base,
            source=str(EXAMPLE),
            author=AUTHOR,
            message="首版 SOP",
            major=False,
            now=datetime.now(UTC),
        )
        sop_id = v1.sop_id
        services.promote(
            ws.uow(),
            sop_id=sop_id,
            version="1.0",
            approver=APPROVER,
            policy=ws.policy,
            now=datetime.now(UTC),
        )
        say(f"Plan: saved {v1.tag} and promoted it to production (approved by {APPROVER})")
        specs = _register_groups(ws, cfg, sop_id)
        params = SimulationParams(seed=cfg.seed, version_effects=WORSE if cfg.worse else BETTER)
        community = Community.create(params=params, groups=specs)
        total_days = cfg.days_before + cfg.days_experiment
        days = [cfg.start + timedelta(n) for n in range(total_days)]
        with prefect_for(ws.root) as where:
            say(f"Do: {cfg.groups} groups x {cfg.members} members, {total_days} days via {where}")
            sent = 0
            for index, day in enumerate(days):
                if index == cfg.days_before:
                    v2 = services.save_version(
                        ws.uow(),
                        text=_new_welcome(base),
                        source="V2.0 新欢迎语",
                        author=AUTHOR,
                        message="新欢迎语",
                        major=True,
                        now=datetime.now(UTC),
                    )
                    services.set_candidate(
                        ws.uow(), sop_id=sop_id, version="2.0", actor=AUTHOR, now=datetime.now(UTC)
                    )
                    split = start_experiment(
                        ws,
                        sop_id=sop_id,
                        share=0.5,
                        author=AUTHOR,
                        now=datetime.now(UTC),
                        salt=f"demo-{cfg.seed}",
                    )
                    say(
                        f"Do: saved {v2.tag} (new welcome text) as candidate on "
                        f"{len(split.candidate)} of {cfg.groups} groups"
                    )
                sent += _simulate_day(ws, community, sop_id, day)
                progress("simulated days", index + 1, total_days)
            say(f"Do: {sent} actions sent to the outbox, events imported for KPIs")
            experiment_start = days[cfg.days_before]
            box: dict[str, Any] = {}
            approver = threading.Thread(target=_approve_when_paused, args=(box, say), daemon=True)
            approver.start()
            box["result"] = check_flow(
                workspace=str(ws.root),
                sop=sop_id,
                start=experiment_start.isoformat(),
                end=(days[-1] + timedelta(1)).isoformat(),
                sequential=False,
                poll_interval_s=1,
                approval_timeout_s=300,
            )
            approver.join(timeout=5)
        result = box["result"]
        report = write_workspace_report(ws, sop_id, ws.dir("reports") / f"{sop_id}.html")
        return DemoResult(
            report=report,
            decision=result["decision"],
            changelog=result["changelog"],
            reasons=result["reasons"],
            workspace=ws.root,
            run_id=result["run_id"],
            assignment={"candidate": split.candidate, "production": split.production},
        )
    except SopflowError:
        raise
    finally:
        ws.close()

"""`sop demo`: the whole PDCA loop on embedded defaults, in about a minute and a half.

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

from services import preflight
from services.report_data import write_workspace_report
from services.seeding import (
    admit_joiners,
    record_answers,
    seed_candidate,
    seed_production,
    with_new_welcome,
)
from services.settings import declare_guardrail_margin
from services.workspace import Workspace, init_workspace
from simulator import Community, SimulationParams
from sop_models.i18n import tr

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mombaby-refined.yaml"
AUTHOR, APPROVER = "运营小王", "李经理"
# V2.0 changes the welcome text: only the welcome's own opens move (message-level events).
BETTER = {"2.0/welcome": {"open": 1.2}}  # the true effect: +20% welcome open propensity
WORSE = {"2.0": {"open": 0.85, "leave": 1.4}}


@dataclass
class DemoConfig:
    """Knobs of the demo; defaults finish in about a minute and a half on 2 cores."""

    workspace: Path
    seed: int = 7
    groups: int = 32
    members: int = 200
    start: date = date(2026, 9, 1)
    # Two weeks of V1.0 before the experiment: CUPED's pre-period (as long as the window) then
    # has as many welcomes per group as the window; with one week seed 2 of 10 stayed CONTINUE.
    days_before: int = 14
    days_experiment: int = 14
    worse: bool = False
    # A community in its acquisition phase: new members a day per group (welcomes to measure).
    joins_per_day: float = 10.0

    def simulation(self) -> SimulationParams:
        """The simulated community: the seed, V2.0's effect and the joins a day."""
        return SimulationParams(
            seed=self.seed,
            version_effects=WORSE if self.worse else BETTER,
            joins_per_day=self.joins_per_day,
        )


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


def _simulate_day(ws: Workspace, community: Community, sop_id: str, day: date) -> int:
    """Joins in, playbook flow through Prefect, the community's answer back as events."""
    from flows.playbooks import playbook_day

    versions = admit_joiners(ws, community=community, sop_id=sop_id, day=day)
    summary = playbook_day(workspace=str(ws.root), day=day.isoformat(), scheduled_clock=True)
    record_answers(ws, community=community, day=day, versions=versions)
    return int(summary["planned"])


def _approve_when_paused(result_box: dict[str, Any], say: Say) -> None:
    from flows.approval import approve_run, paused_runs

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "result" not in result_box:
        waiting = [run for run in paused_runs() if run.flow_name == preflight.CHECK_FLOW]
        if waiting:
            run = waiting[0]
            say(
                tr(
                    "check run {run} paused for approval; demo mode approves it as {name} "
                    "(in real use: the Prefect UI or `sop approve RUN_ID --approver NAME`)"
                ).format(run=run.id, name=APPROVER)
            )
            approve_run(run.id, APPROVER, "演示模式自动批准 (demo mode)")
            return
        time.sleep(0.5)


DEMO_GUARDRAIL_MARGIN = 0.5


def run_demo(cfg: DemoConfig, *, say: Say, progress: Progress) -> DemoResult:
    """Run the PDCA loop end to end in `cfg.workspace` (created if needed)."""
    from flows.check import check as check_flow
    from sopflow.prefect_context import prefect_for

    ws = init_workspace(cfg.workspace)
    # The demo's declared guardrail: leave rate may not rise by more than half. 32 groups over
    # two weeks cannot bound it within the product's default 10% (the check would CONTINUE).
    declare_guardrail_margin(ws.root, DEMO_GUARDRAIL_MARGIN)
    try:
        base = EXAMPLE.read_text(encoding="utf-8")
        seeded = seed_production(
            ws,
            text=base,
            source=str(EXAMPLE),
            author=AUTHOR,
            approver=APPROVER,
            groups_count=cfg.groups,
            members=cfg.members,
            start=cfg.start,
            now=datetime.now(UTC),
        )
        sop_id = seeded.sop_id
        say(
            tr("Plan: saved {tag} and promoted it to production (approved by {name})").format(
                tag=seeded.production.tag, name=APPROVER
            )
        )
        params = cfg.simulation()
        community = Community.create(params=params, groups=seeded.groups)
        total_days = cfg.days_before + cfg.days_experiment
        days = [cfg.start + timedelta(n) for n in range(total_days)]
        with prefect_for(ws.root) as where:
            say(
                tr("Do: {groups} groups x {members} members, {days} days via {where}").format(
                    groups=cfg.groups, members=cfg.members, days=total_days, where=where
                )
            )
            sent = 0
            for index, day in enumerate(days):
                if index == cfg.days_before:
                    v2, split = seed_candidate(
                        ws,
                        sop_id=sop_id,
                        text=with_new_welcome(base, primary="welcome_open_rate"),
                        source="V2.0 新欢迎语",
                        author=AUTHOR,
                        message="新欢迎语",
                        share=0.5,
                        salt=f"demo-{cfg.seed}",
                        now=datetime.now(UTC),
                    )
                    say(
                        tr(
                            "Do: saved {tag} (new welcome text) as candidate on "
                            "{count} of {groups} groups"
                        ).format(tag=v2.tag, count=len(split.candidate), groups=cfg.groups)
                    )
                sent += _simulate_day(ws, community, sop_id, day)
                progress(tr("simulated days"), index + 1, total_days)
            say(
                tr("Do: {count} actions sent to the outbox, events imported for KPIs").format(
                    count=sent
                )
            )
            experiment_start = days[cfg.days_before]
            preflight.for_check(ws, sop_id=sop_id)
            box: dict[str, Any] = {}
            approver = threading.Thread(target=_approve_when_paused, args=(box, say), daemon=True)
            approver.start()
            box["result"] = check_flow(
                workspace=str(ws.root),
                sop=sop_id,
                start=experiment_start.isoformat(),
                end=(days[-1] + timedelta(1)).isoformat(),
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
    finally:
        ws.close()

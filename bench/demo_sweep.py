"""The demo's verdict over seeds: `python -m bench.demo_sweep [--seeds 1-10] [--effects better]`.

Runs the demo's experiment for each seed (its DemoConfig: 32 groups x 200 members, 14 days of
V1.0, then V2.0 on half the groups for 14 days; the simulator's welcome effect of the demo, +20%
open propensity of the welcome, and its `--worse` effect; `--groups/--joins/--days-before`
try other designs) through the same services the demo uses, but without
Prefect (planning and sending are called directly, as tests/support/experiments.py does), then
runs `services.check.evaluate` in both modes with the demo's declared guardrail margin. Prints
one line per (seed, effect) and the counts.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from services import playbooks, sending
from services.check import evaluate
from services.seeding import (
    admit_joiners,
    record_answers,
    seed_candidate,
    seed_production,
    with_new_welcome,
)
from services.settings import declare_guardrail_margin
from services.workspace import Workspace, init_workspace, open_workspace
from simulator import Community
from sopflow.demo import (
    APPROVER,
    AUTHOR,
    DEMO_GUARDRAIL_MARGIN,
    EXAMPLE,
    DemoConfig,
)


def _day(ws: Workspace, community: Community, sop_id: str, day: date) -> None:
    versions = admit_joiners(ws, community=community, sop_id=sop_id, day=day)
    actions = playbooks.plan_day(ws, playbook="all", day=day).actions
    for batch in sending.batches(actions):
        sending.send_batch(ws, batch, now=max(a.at for a in batch.actions))
    record_answers(ws, community=community, day=day, versions=versions)


def one(seed: int, worse: bool, root: Path, **design: Any) -> dict[str, str]:
    """Verdicts (fixed, sequential) for one seeded demo experiment; `design` overrides
    DemoConfig's fields (groups, joins_per_day, days_before, ...)."""
    cfg = DemoConfig(workspace=root, seed=seed, worse=worse, **design)
    now = datetime.now(UTC)
    with init_workspace(root) as ws:
        declare_guardrail_margin(root, DEMO_GUARDRAIL_MARGIN)
        base = EXAMPLE.read_text(encoding="utf-8")
        seeded = seed_production(
            ws, text=base, source="v1", author=AUTHOR, approver=APPROVER,
            groups_count=cfg.groups, members=cfg.members, start=cfg.start, now=now,
        )  # fmt: skip
        params = cfg.simulation()
        community = Community.create(params=params, groups=seeded.groups)
        days = [cfg.start + timedelta(n) for n in range(cfg.days_before + cfg.days_experiment)]
        for index, day in enumerate(days):
            if index == cfg.days_before:
                seed_candidate(
                    ws, sop_id=seeded.sop_id, source="v2",
                    text=with_new_welcome(base, primary="welcome_open_rate"),
                    author=AUTHOR, message="新欢迎语", share=0.5, salt=f"demo-{seed}", now=now,
                )  # fmt: skip
            _day(ws, community, seeded.sop_id, day)
    found = {}
    with open_workspace(root) as ws:
        for mode, sequential in (("fixed", False), ("sequential", True)):
            outcome = evaluate(
                ws, sop_id=seeded.sop_id, now=now, sequential=sequential,
                start=days[cfg.days_before], end=days[-1] + timedelta(1),
            )  # fmt: skip
            found[mode] = outcome.verdict
            found[f"{mode}_line"] = outcome.changelog
            found[f"{mode}_why"] = "; ".join(outcome.decision.reasons)
            found[f"{mode}_method"] = outcome.decision.primary.method
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="1-10", help="e.g. 1-10 or 3,7")
    parser.add_argument("--effects", default="better,worse", help="better, worse or both")
    parser.add_argument("--groups", type=int, help="override the demo's group count")
    parser.add_argument("--joins", type=float, help="override the demo's joins per group-day")
    parser.add_argument("--days-before", type=int, help="override the demo's V1.0-only days")
    parser.add_argument("--verbose", action="store_true", help="print reasons and method")
    args = parser.parse_args()
    design = {
        field: value
        for field, value in (
            ("groups", args.groups),
            ("joins_per_day", args.joins),
            ("days_before", args.days_before),
        )
        if value is not None
    }
    if "-" in args.seeds:
        first, last = (int(x) for x in args.seeds.split("-"))
        seeds = list(range(first, last + 1))
    else:
        seeds = [int(x) for x in args.seeds.split(",")]
    counts: Counter[tuple[str, str, str]] = Counter()
    for worse in [e == "worse" for e in args.effects.split(",")]:
        for seed in seeds:
            with tempfile.TemporaryDirectory() as tmp:
                found = one(seed, worse, Path(tmp) / "ws", **design)
            effect = "worse" if worse else "better"
            for mode in ("fixed", "sequential"):
                counts[(effect, mode, found[mode])] += 1
            print(
                f"seed {seed:>2} {effect:<6} fixed {found['fixed']:<8} sequential "
                f"{found['sequential']:<8} {found['fixed_line']}",
                flush=True,
            )
            if args.verbose:
                print(f"    {found['sequential_method']}\n    {found['sequential_why']}")
    print()
    for (effect, mode, verdict), n in sorted(counts.items()):
        print(f"{effect:<6} {mode:<10} {verdict:<8} {n}/{len(seeds)}")


if __name__ == "__main__":
    main()

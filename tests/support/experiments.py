"""A finished experiment in a real workspace, seeded like the demo (`services.seeding`).

V1.0 in production, V2.0 (the demo's new welcome, open rate primary) the candidate on about
half of GROUPS groups, DAYS days planned, sent through the outbox channel and answered by a
seeded simulator whose events are imported. Shared by the end-to-end check tests.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services import playbooks, sending
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
from tests.support.examples import example_text

SOP = "mombaby-refined"
AUTHOR, APPROVER = "运营小王", "李经理"
START, DAYS, GROUPS = date(2026, 9, 1), 10, 16
BETTER = {"2.0": {"open": 1.6}}
WORSE = {"2.0": {"open": 0.6}}
WINDOW = {"start": START.isoformat(), "end": (START + timedelta(DAYS)).isoformat()}


def build_experiment(root: Path, effects: Mapping[str, Mapping[str, float]]) -> None:
    """Seed a workspace at `root` and run DAYS simulated days of the experiment."""
    now = datetime.now(UTC)
    with init_workspace(root) as ws:
        # These tests exercise approval, not the guardrail: 16 groups cannot bound leave rate
        # within the default 10% margin, so the experiment declares a wide one.
        declare_guardrail_margin(root, 5.0)
        base = example_text(SOP)
        seeded = seed_production(
            ws,
            text=base,
            source="v1",
            author=AUTHOR,
            approver=APPROVER,
            groups_count=GROUPS,
            members=120,
            start=START,
            now=now,
        )
        seed_candidate(
            ws,
            sop_id=SOP,
            text=with_new_welcome(base),
            source="v2",
            author=AUTHOR,
            message="新欢迎语",
            share=0.5,
            salt="e2e",
            now=now,
        )
        community = Community.create(
            params=SimulationParams(seed=3, version_effects=effects), groups=seeded.groups
        )
        for day in (START + timedelta(n) for n in range(DAYS)):
            simulate_day(ws, community, day)


_TEMPLATES: dict[str, Path] = {}


def copy_of_experiment(
    root: Path, effects: Mapping[str, Mapping[str, float]], factory: pytest.TempPathFactory
) -> Path:
    """A fresh copy at `root` of `build_experiment(effects)`, built once per test session.

    Building takes seconds (DAYS simulated days); a copy, milliseconds. The template itself
    is never handed to a test, so no test sees another's changes.
    """
    key = json.dumps(effects, sort_keys=True)
    if key not in _TEMPLATES:
        template = factory.mktemp("experiment-template") / "ws"
        build_experiment(template, effects)
        _TEMPLATES[key] = template
    return Path(shutil.copytree(_TEMPLATES[key], root))


def simulate_day(ws: Workspace, community: Community, day: date) -> None:
    """Joins in, the day's plan sent per channel batch, the community's events imported."""
    versions = admit_joiners(ws, community=community, sop_id=SOP, day=day)
    actions = playbooks.plan_day(ws, playbook="all", day=day).actions
    for batch in sending.batches(actions):
        report = sending.send_batch(ws, batch, now=max(a.at for a in batch.actions))
        assert not report.needs_attention, report
    record_answers(ws, community=community, day=day, versions=versions)

"""An overlay is experimented on like any SOP: the groups that follow a base with the overlay
attached are its units, each follows its own arm of the overlay in plans and runs, and
`sop check OVERLAY` compares the overlay's candidate with its production over those groups."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow as pa

from engine.events.store import EventStore
from engine.groups import add_group
from services import playbooks
from services.check import evaluate
from services.overlays import Attachment, arms, attach
from services.workspace import Workspace
from tests.support.planning import local
from tests.support.workspaces import Cli, in_production, with_candidate

NOW = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
BASE, OVERLAY = "mombaby-refined", "mombaby-weekly-jielong"
GROUPS = [f"g{i:02d}" for i in range(16)]
START = date(2026, 9, 21)  # a Monday: the weekly 接龙 opens at 20:00


def new_open_text(data: dict) -> None:
    (template,) = [t for t in data["templates"] if t["id"] == "jielong-open"]
    template["body"] = "{{ date }} 新版接龙（{{ content_title }}）：前 10 单包邮！"


def experiment(ws: Workspace, cli: Cli) -> dict[str, str]:
    """The base in production on 16 groups, the overlay attached with v2.0 its candidate, an
    experiment on the overlay at half and half; group -> the overlay's alias it follows."""
    in_production(ws, BASE, now=NOW)
    with_candidate(ws, OVERLAY, new_open_text, message="新开团文案", now=NOW)
    with ws.session() as session:
        for n, gid in enumerate(GROUPS):
            add_group(session, id=gid, name=f"{n}群", sop_id=BASE, now=NOW,
                      member_count=100 + 10 * n, tags=["北京" if n % 2 else "上海"])  # fmt: skip
        session.commit()
    attach(ws, Attachment(OVERLAY, BASE, start=START), by="李经理", now=NOW)
    out = cli("experiment", "start", OVERLAY, "--share", "0.5", "--author", "小王").stdout
    assert f"{OVERLAY}@v2.0: 8 group(s) on candidate, 8 on production" in out
    return arms(ws, overlay=OVERLAY)


def test_an_experiment_on_an_overlay_puts_the_bases_groups_on_its_two_versions(
    workspace: Workspace, cli: Cli
) -> None:
    arm = experiment(workspace, cli)
    assert sorted(arm) == GROUPS and sorted(arm.values()) == ["candidate"] * 8 + ["production"] * 8
    with workspace.session() as session:  # the base SOP's aliases are untouched
        from engine.groups import list_groups

        assert {g.alias for g in list_groups(session, sop_id=BASE)} == {"production"}
    args = ["plan", BASE, "--from", str(START), "--to", str(START), "--json"]
    rows = json.loads(cli(*args).stdout)
    opened = {r["group"]: (r["version"], r["text"]) for r in rows if r["sop"] == OVERLAY}
    assert sorted(opened) == GROUPS
    for group, (version, text) in opened.items():
        assert version == ("2.0" if arm[group] == "candidate" else "1.0")
        assert ("前 10 单包邮" in text) == (arm[group] == "candidate")
    base = {r["version"] for r in rows if r["sop"] == BASE}
    assert base == {"1.0"}


def test_a_run_sends_each_group_its_own_arm_of_the_overlay(workspace: Workspace, cli: Cli) -> None:
    arm = experiment(workspace, cli)
    planned = playbooks.plan_due(workspace, playbook="campaign", now=local(2026, 9, 21, 20, 5))
    opened = {a.group_id: a.version for a in planned.actions if a.sop_id == OVERLAY}
    assert opened == {g: "2.0" if a == "candidate" else "1.0" for g, a in arm.items()}


def test_once_the_overlays_candidate_is_rejected_every_group_follows_production_again(
    workspace: Workspace, cli: Cli
) -> None:
    experiment(workspace, cli)
    cli("reject", OVERLAY, "--author", "李经理", "-m", "文案没效果")
    planned = playbooks.plan_due(workspace, playbook="campaign", now=local(2026, 9, 21, 20, 5))
    assert {a.version for a in planned.actions if a.sop_id == OVERLAY} == {"1.0"}


def overlay_events(arm: dict[str, str], days: int) -> pa.Table:
    """Each group: 20 members, the overlay's post delivered daily and opened by 30% on
    production and 50% on the candidate (labelled with the overlay and the arm's version);
    the base SOP's own posts opened the other way round (they must not count)."""
    rng = np.random.default_rng(11)
    columns = ("group", "member", "time", "event", "value", "sop_version", "sop")
    rows: dict[str, list] = {k: [] for k in columns}

    def add(*items: object) -> None:
        for key, item in zip(columns, items, strict=True):
            rows[key].append(item)

    for group, alias in arm.items():
        on_candidate = alias == "candidate"
        version = "2.0" if on_candidate else "1.0"
        for day in range(days):
            when = datetime.combine(START, time(12, 0), tzinfo=UTC) + timedelta(days=day)
            if day == 0:
                for m in range(20):
                    add(group, f"{group}-m{m}", when.isoformat(), "join", None, "1.0", BASE)
            for sop, ver, rate in ((OVERLAY, version, 0.5 if on_candidate else 0.3),
                                   (BASE, "1.0", 0.3 if on_candidate else 0.5)):  # fmt: skip
                add(group, "", when.isoformat(), "delivered", 20.0, ver, sop)
                for m in range(int(rng.binomial(20, rate))):
                    at = (when + timedelta(hours=1)).isoformat()
                    add(group, f"{group}-m{m}", at, "open", None, ver, sop)
    return pa.table(rows)


def test_check_on_an_overlay_compares_its_candidate_with_production_over_those_groups(
    workspace: Workspace, cli: Cli
) -> None:
    arm = experiment(workspace, cli)
    EventStore(workspace.dir("events")).import_rows(overlay_events(arm, 10), "seeded")
    outcome = evaluate(
        workspace, sop_id=OVERLAY, now=NOW, start=START, end=START + timedelta(days=10),
        sequential=False,
    )  # fmt: skip
    assert outcome.groups_per_arm == (8, 8)
    primary = outcome.decision.primary
    assert primary.name == "open_rate"
    assert 0.25 < primary.baseline.value < 0.35 and 0.45 < primary.candidate.value < 0.55
    # the overlay's own opens decide (the base's posts, opened the other way round, do not)
    assert outcome.decision.reasons[0].startswith("主指标 消息打开率：候选 ")
    assert "显著更好" in outcome.decision.reasons[0]

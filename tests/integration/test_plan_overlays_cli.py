"""`sop plan --overlay`: a campaign SOP laid over the base SOP's groups, each action showing the
SOP and version it came from, the declared layer priority winning a collision."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engine.groups import add_group
from services.workspace import Workspace
from tests.support.examples import example_text, modified
from tests.support.workspaces import Cli

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def _overlay(data: dict) -> None:
    data["id"] = "weekly-jielong"
    data["overlay"] = {"priority": 10}
    for section in ("positioning", "community_type", "group_purpose", "roles", "rules"):
        del data[section]  # an overlay inherits them from its base
    del data["base_content"]
    data["schedule"] = {"spacing": {"on_collision": "drop"}}
    campaign = {
        "id": "jielong",
        "name": "周一接龙",
        "kind": "group_buy",
        "window": {"weekly": {"first_weekday": "mon", "last_weekday": "wed"}},
        "actions": [{"id": "open", "day": 1, "time": "10:10", "template": "knowledge"}],
        "group_buy": {"product": "水果箱", "ships_at_orders": 10},
    }
    data["playbooks"] = {"campaigns": [campaign]}
    data["templates"] = [
        {"id": "knowledge", "variables": ["date"], "body": "{{ date }} 本周接龙开团"}
    ] + [t for t in data["templates"] if t["id"] == "welcome"]


@pytest.fixture
def saved(workspace: Workspace, cli: Cli, tmp_path: Path) -> Workspace:
    """mombaby-refined and the weekly-jielong overlay in production, one group on the base."""
    base = tmp_path / "mombaby.yaml"
    base.write_text(example_text("mombaby-refined"), encoding="utf-8")
    overlay = tmp_path / "jielong.yaml"
    overlay.write_text(modified(example_text("mombaby-refined"), _overlay), encoding="utf-8")
    for path, sop in ((base, "mombaby-refined"), (overlay, "weekly-jielong")):
        cli("save", str(path), "--author", "小王", "-m", "首版")
        cli("promote", sop, "1.0", "--approver", "李经理")
    with workspace.session() as session:
        add_group(session, id="g1", name="一群", sop_id="mombaby-refined", now=NOW)
        session.commit()
    return workspace


def test_an_overlay_wins_the_monday_slot_and_each_action_names_its_sop(
    saved: Workspace, cli: Cli
) -> None:
    args = ["plan", "mombaby-refined", "--from", "2026-09-14", "--to", "2026-09-15"]
    rows = json.loads(cli(*args, "--overlay", "weekly-jielong", "--json").stdout)
    monday = [(r["sop"], r["slot"]) for r in rows if r["at"].startswith("2026-09-14T10")]
    assert monday == [("weekly-jielong", "campaigns.jielong.open")]  # 10:00 knowledge dropped
    tuesday = [r["slot"] for r in rows if r["at"].startswith("2026-09-15T10")]
    assert tuesday == ["columns.morning-knowledge"]
    text = cli(*args, "--overlay", "weekly-jielong@1.0")
    line = next(x for x in text.stdout.splitlines() if "campaigns.jielong.open" in x)
    assert "weekly-jielong v1.0" in line and "2026-09-14 本周接龙开团" in line
    assert "丢弃 columns.morning-knowledge" in text.stderr
    without = json.loads(cli(*args, "--json").stdout)
    assert not [r for r in without if r["sop"] != "mombaby-refined"]
    assert date(2026, 9, 14).isoformat() in {r["at"][:10] for r in without}


def test_an_attached_overlay_is_planned_inside_its_window_until_detached(
    saved: Workspace, cli: Cli
) -> None:
    cli("overlay", "attach", "weekly-jielong", "--base", "mombaby-refined", "--from", "2026-09-21")
    listed = json.loads(cli("overlay", "list", "--json").stdout)
    assert listed == [
        {
            "overlay": "weekly-jielong",
            "base": "mombaby-refined",
            "ref": "production",
            "from": "2026-09-21",
            "until": None,
        }
    ]
    args = ["plan", "mombaby-refined", "--from", "2026-09-14", "--to", "2026-09-27", "--json"]
    opened = [r["at"][:10] for r in json.loads(cli(*args).stdout) if r["sop"] == "weekly-jielong"]
    assert opened == ["2026-09-21"]  # not the Monday before the window
    cli("overlay", "detach", "weekly-jielong", "--base", "mombaby-refined")
    assert not [r for r in json.loads(cli(*args).stdout) if r["sop"] == "weekly-jielong"]
    unknown = cli("overlay", "attach", "nope", "--base", "mombaby-refined", ok=False)
    assert unknown.exit_code == 2 and "nope" in unknown.stderr


def test_validate_warns_about_a_collision_with_an_attached_overlay_and_still_exits_0(
    saved: Workspace, cli: Cli, tmp_path: Path
) -> None:
    base = str(tmp_path / "mombaby.yaml")
    before = cli("validate", base, "--from", "2026-09-14").output
    assert "weekly-jielong" not in before and "campaigns.jielong.open" not in before
    cli("overlay", "attach", "weekly-jielong", "--base", "mombaby-refined", "--from", "2026-09-21")
    result = cli("validate", base, "--from", "2026-09-14")
    (line,) = [x for x in result.output.splitlines() if "campaigns.jielong.open" in x]
    assert line.startswith(f"warn  {base}: 撞车（间隔 30 分钟）：")
    # the overlay's window starts 09-21: its first Monday in the 28 days, and priority 10 wins
    assert "首例 sample 2026-09-21 10:00/10:10" in line
    assert "丢弃 columns.morning-knowledge，保留 campaigns.jielong.open" in line

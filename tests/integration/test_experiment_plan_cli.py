"""`sop experiment plan` from a real workspace's history; `sop experiment SOP` still starts one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.experiments import BETTER, SOP, copy_of_experiment
from tests.support.workspaces import Cli


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_of_experiment(tmp_path_factory.mktemp("plan") / "ws", BETTER, tmp_path_factory)


def test_plan_reports_groups_and_days_from_the_workspace_history(root: Path) -> None:
    cli = Cli(root)
    out = json.loads(cli("experiment", "plan", SOP, "--mde", "18%", "--json").output)
    assert out["metric"] == "open_rate" and out["mde"] == pytest.approx(0.18)
    assert out["available_groups"] == 16 and out["history"]["groups"] == 16
    assert 0 < out["history"]["mean"] < 1
    days = [r["days"] for r in out["rows"]]
    needs = [r["groups_per_arm"] for r in out["rows"]]
    assert days == [7, 14, 21, 28] and needs == sorted(needs, reverse=True) and needs[0] >= 2
    text = cli("experiment", "plan", SOP, "--mde", "0.01").output
    assert "groups per arm" in text and "warning: 16 groups cannot reach 80% power" in text


def test_plan_refuses_an_unknown_metric_with_one_line(root: Path) -> None:
    result = Cli(root)("experiment", "plan", SOP, "--metric", "open_rat", "--mde", "18%", ok=False)
    assert result.exit_code == 2 and "unknown metric 'open_rat'" in result.stderr


def test_experiment_without_subcommand_still_assigns_groups(root: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    out = Cli(copy)("experiment", SOP, "--share", "0.5", "--salt", "again").output
    assert "group(s) on candidate" in out
    warned = Cli(copy)("experiment", SOP, "--salt", "third", "--mde", "1%")
    assert "warning: 16 groups cannot reach 80% power for +1% on open_rate" in warned.stderr

"""The check-step commands through the real CLI: init, events import, kpi, experiment, check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.workspace import init_workspace
from sopflow.cli.main import app
from tests.support.experiments import BETTER, SOP, copy_of_experiment
from tests.support.workspaces import EXAMPLES, Cli
from versions.services import promote, save_version

SOP_BIN = Path(sys.executable).with_name("sop")
NOW = datetime(2026, 9, 1, tzinfo=UTC)
V1 = {
    "text": (EXAMPLES / f"{SOP}.yaml").read_text(encoding="utf-8"),
    "source": "v1",
    "author": "运营小王",
    "message": "首版 SOP",
    "major": False,
}
GOOD_CSV = """group,member,time,event,value,sop_version,sop
宝妈1群,m1,2026-09-01T10:00:00+08:00,join,,1.0,mombaby-refined
宝妈1群,,2026-09-01T10:05:00+08:00,delivered,1,1.0,mombaby-refined
宝妈1群,m1,2026-09-01T10:06:00+08:00,open,,1.0,mombaby-refined
"""
BAD_CSV = """group,member,time,event,value,sop_version,sop
宝妈1群,m1,2026-09-01T10:00:00+08:00,join,,1.0,mombaby-refined
,m2,2026-09-01T10:00:00+08:00,join,,1.0,mombaby-refined
宝妈1群,m3,yesterday,open,,1.0,mombaby-refined
"""


@pytest.fixture(scope="module")
def experiment_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_of_experiment(tmp_path_factory.mktemp("cli-check") / "ws", BETTER, tmp_path_factory)


def test_init_creates_a_workspace_that_commands_accept(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "新工作区")])
    assert result.exit_code == 0 and "workspace ready" in result.output
    cli = Cli(tmp_path / "新工作区")
    cli("save", str(EXAMPLES / "flash-sale-promo.yaml"), "--author", "小王", "-m", "首版")
    assert (tmp_path / "新工作区" / "sopflow.toml").exists()


def test_events_import_is_all_or_nothing_with_line_numbers(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    result = cli("events", "import", str(bad), ok=False)
    assert result.exit_code == 2
    assert "line 3" in result.output and "line 4" in result.output
    assert "Traceback" not in result.output
    assert not list((cli.root / "events").glob("*.parquet"))
    # Event rows name registered groups (by id or name): register 宝妈1群 first.
    cli("save", str(EXAMPLES / f"{SOP}.yaml"), "--author", "小王", "-m", "首版")
    cli("groups", "add", "g1", "--name", "宝妈1群", "--sop", SOP)
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    assert "导入 3 条事件" in cli("events", "import", str(good)).output


def test_kpi_by_version_and_day_with_alerts(experiment_root: Path) -> None:
    cli = Cli(experiment_root)
    rows = json.loads(cli("kpi", SOP, "--by", "version", "--metric", "open_rate", "--json").output)[
        "rows"
    ]
    assert {r["sop_version"] for r in rows} == {"1.0", "2.0"}
    assert all(0 < r["value"] < 1 for r in rows)
    daily = json.loads(cli("kpi", SOP, "--by", "day", "--json").output)
    assert {"rows", "alerts"} <= daily.keys()
    assert len({r["day"] for r in daily["rows"]}) == 10
    text = cli("kpi", SOP, "--by", "version", "--metric", "open_rate").output
    assert "open_rate" in text


def test_experiment_assigns_groups_and_records_it(experiment_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(experiment_root, root)
    cli = Cli(root)
    out = cli("experiment", SOP, "--share", "0.5", "--salt", "second", "--author", "小王").output
    assert "group(s) on candidate" in out
    records = json.loads(cli("audit", "--action", "experiment", "--json").output)
    assert len(records) == 2
    assignment = records[-1]["after"]["assignment"]
    assert len(assignment) == 16 and set(assignment.values()) <= {"candidate", "production"}


@pytest.mark.e2e
def test_check_without_waiting_records_evidence_and_leaves_production(
    experiment_root: Path, tmp_path: Path, prefect_server: object
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(experiment_root, root)
    cli = Cli(root)
    result = json.loads(
        cli(
            "check",
            SOP,
            "--no-wait",
            "--fixed-horizon",
            "--from",
            "2026-09-01",
            "--to",
            "2026-09-11",
            "--json",
        ).output
    )
    assert result["decision"] == "PROMOTE"
    assert result["awaiting_approval"] is True
    log = {v["version"]: v["aliases"] for v in json.loads(cli("log", SOP, "--json").output)}
    assert log["1.0"] == ["production"] and log["2.0"] == ["candidate"]
    shown = json.loads(cli("show", f"{SOP}@2.0", "--json").output)
    assert shown["evidence"][-1]["decision"] == "PROMOTE"


@pytest.mark.e2e
def test_before_after_check_is_labelled_weaker_evidence(
    experiment_root: Path, tmp_path: Path, prefect_server: object
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(experiment_root, root)
    cli = Cli(root)
    result = json.loads(
        cli(
            "check",
            SOP,
            "--no-wait",
            "--fixed-horizon",
            "--before-after",
            "--from",
            "2026-09-06",
            "--to",
            "2026-09-11",
            "--json",
        ).output
    )
    assert result["decision"] in {"PROMOTE", "REJECT", "CONTINUE"}
    assert any("证据弱于随机分组实验" in reason for reason in result["reasons"])
    shown = json.loads(cli("show", f"{SOP}@2.0", "--json").output)
    assert shown["evidence"][-1]["check"]["design"] == "before_after"


@pytest.mark.e2e
def test_check_without_a_candidate_is_one_error_line_before_any_flow_run(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    with init_workspace(root) as ws:  # production only, no candidate
        save_version(ws.uow(), **V1, now=NOW)
        promote(ws.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=ws.policy, now=NOW)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["HOME"] = str(tmp_path / "home")  # no git identity, no Prefect profile

    result = subprocess.run(
        [str(SOP_BIN), "--workspace", str(root), "check", SOP, "--no-wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"sop: error: {SOP}: no candidate to check"), line
    assert not (root / ".prefect").exists()  # no Prefect run was even prepared

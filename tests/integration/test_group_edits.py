"""`sop groups show|edit|remove`, referential checks on add/import/edit, and their audit records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from services.workspace import Workspace, open_workspace
from sopflow.cli import main
from tests.support.workspaces import Cli, save_example_as

ROBOTS = '[robot_keys]\nops-robot = "k-123"\n'


@pytest.fixture
def ws(workspace: Workspace, cli: Cli) -> Workspace:
    """Two saved SOPs, one robot configured, group g1 on the console."""
    save_example_as(workspace, "mombaby-refined")
    save_example_as(workspace, "flash-sale", name="flash-sale-promo")
    (workspace.root / "sopflow.toml").write_text(ROBOTS, encoding="utf-8")
    cli("groups", "add", "g1", "--name", "一群", "--sop", "mombaby-refined", "--by", "小王")
    return workspace


def shown(cli: Cli, gid: str) -> dict[str, Any]:
    return json.loads(cli("groups", "show", gid, "--json").output)


def audit_rows(cli: Cli) -> list[dict[str, Any]]:
    return json.loads(cli("audit", "--json").output)


def error(result: Any) -> list[str]:
    return result.stderr.strip().splitlines()


def test_add_refuses_an_unsaved_sop_naming_close_matches(ws: Workspace, cli: Cli) -> None:
    typo = cli("groups", "add", "g2", "--name", "二群", "--sop", "mombaby-refine", ok=False)
    assert error(typo) == [
        "sop: error: group g2: sop: no SOP 'mombaby-refine' in the store"
        " (did you mean: mombaby-refined; known: flash-sale, mombaby-refined)"
    ]
    assert "g2" not in [g["id"] for g in json.loads(cli("groups", "list", "--json").output)]


def test_robot_and_mass_send_groups_need_their_settings(ws: Workspace, cli: Cli) -> None:
    robot = cli("groups", "add", "g2", "--name", "二群", "--sop", "flash-sale",
                "--channel", "robot", "--target", "sales-robot", ok=False)  # fmt: skip
    [line] = error(robot)
    assert "target: no robot key for 'sales-robot': set robot_keys.sales-robot" in line
    cli("groups", "add", "g2", "--name", "二群", "--sop", "flash-sale", "--channel", "robot",
        "--target", "ops-robot")  # fmt: skip
    mass = cli("groups", "edit", "g1", "--channel", "wecom_mass", "--target", "wrX",
               "--sender", "zhangsan", ok=False)  # fmt: skip
    [line] = error(mass)
    assert "channel wecom_mass: set wecom_corp_id and wecom_corp_secret" in line
    assert shown(cli, "g1")["channel"] == "console"  # nothing half-written


def test_import_checks_references_and_imports_nothing_on_a_problem(
    ws: Workspace, cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(
        "id,name,sop,channel,target\ng2,二群,mombaby-refined,,\ng3,三群,nope,robot,ops-robot\n",
        encoding="utf-8",
    )
    result = cli("groups", "import", str(path), ok=False)
    assert error(result) == [
        f"sop: error: {path}: group g3: sop: no SOP 'nope' in the store"
        " (known: flash-sale, mombaby-refined)"
    ]
    assert [g["id"] for g in json.loads(cli("groups", "list", "--json").output)] == ["g1"]


def test_edit_changes_fields_keeps_the_id_and_is_audited(ws: Workspace, cli: Cli) -> None:
    result = cli("groups", "edit", "g1", "--owner", "小李", "--name", "上海一群",
                 "--tag", "city:上海", "--by", "李经理")  # fmt: skip
    assert "edited group g1 上海一群" in result.output
    group = shown(cli, "g1")
    assert (group["owner"], group["name"], group["tags"]) == ("小李", "上海一群", ["city:上海"])
    record = audit_rows(cli)[-1]
    assert (record["action"], record["actor"], record["sop_id"]) == (
        "group_edit", "李经理", "mombaby-refined",
    )  # fmt: skip
    assert record["before"]["group"]["owner"] == "" and record["after"]["group"]["owner"] == "小李"
    assert "name, owner, tags" in record["note"]
    bad = cli("groups", "edit", "g1", "--alias", "staging", ok=False)
    assert "alias: 'staging' is not one of production, candidate" in bad.stderr
    nothing = cli("groups", "edit", "g1", ok=False)
    assert "give at least one field to change" in nothing.stderr
    unknown = cli("groups", "edit", "g11", "--owner", "x", ok=False)
    assert error(unknown) == ["sop: error: unknown group id(s): g11 (did you mean: g1)"]
    assert cli("audit", "verify").exit_code == 0


def test_remove_deletes_a_group_without_history(ws: Workspace, cli: Cli) -> None:
    assert "removed group g1" in cli("groups", "remove", "g1", "--by", "李经理").output
    assert cli("groups", "show", "g1", ok=False).exit_code == 2
    assert [r["action"] for r in audit_rows(cli)][-2:] == ["group_add", "group_remove"]


def test_remove_archives_a_group_with_history_and_keeps_it(
    ws: Workspace, cli: Cli, tmp_path: Path
) -> None:
    joins = tmp_path / "joins.csv"
    joins.write_text("group,member,joined_at\ng1,wm1,2025-03-08T09:30:00+08:00\n", "utf-8")
    cli("members", "joined", str(joins))
    assert "archived group g1" in cli("groups", "remove", "g1", "--by", "李经理").output
    assert json.loads(cli("groups", "list", "--json").output) == []
    archived = json.loads(cli("groups", "list", "--archived", "--json").output)
    assert [g["id"] for g in archived] == ["g1"] and archived[0]["archived_at"]
    assert shown(cli, "g1")["history"] == 1
    again = cli("groups", "add", "g1", "--name", "一群", "--sop", "mombaby-refined", ok=False)
    assert "already registered" in again.stderr  # the id stays taken: it names history
    assert "archived" in cli("groups", "edit", "g1", "--owner", "x", ok=False).stderr
    assert audit_rows(cli)[-1]["action"] == "group_archive"
    assert cli("audit", "verify").exit_code == 0


@pytest.mark.parametrize("name", ["show", "edit", "remove"])
def test_new_group_commands_have_help_with_an_example(name: str) -> None:
    result = CliRunner().invoke(main.app, ["groups", name, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_a_registry_made_before_archiving_gains_the_column(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:  # the registry as sopflow left it before 0150
        conn.execute(text("ALTER TABLE groups DROP COLUMN archived_at"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = '0150_group_archived_at'"))
    workspace.close()
    with open_workspace(workspace.root) as reopened:
        columns = {c["name"] for c in inspect(reopened.engine).get_columns("groups")}
    assert "archived_at" in columns

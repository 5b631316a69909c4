"""`sop groups ...` and `sop members joined` through the real CLI on a real workspace."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sopflow.cli import groups_cmd, main
from tests.support.workspaces import Cli, save_example_as

if "groups_cmd" not in main.COMMAND_MODULES:
    groups_cmd.register(main.app)

HEADER = "id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags\n"


SAVED = ("demo", "other", "mombaby-refined", "mombaby", "not-saved-yet")
CONFIG = 'wecom_corp_id = "ww-test"\nwecom_corp_secret = "s3cret"\n[robot_keys]\nops-robot = "k"\n'


@pytest.fixture(autouse=True)
def saved(request: pytest.FixtureRequest) -> None:
    """The SOPs the tests' groups follow are saved, and the channels' settings configured."""
    if "cli" not in request.fixturenames:
        return
    ws = request.getfixturevalue("workspace")
    for sop_id in SAVED:
        save_example_as(ws, sop_id)
    (ws.root / "sopflow.toml").write_text(CONFIG, encoding="utf-8")


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    return json.loads(cli("groups", "list", "--json", *args).output)


def column(line: str, word: str) -> int:
    """The terminal column where `word` starts (CJK characters are two columns wide)."""
    before = line[: line.index(word)]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)


def errors(result: Any) -> list[str]:
    return result.stderr.strip().splitlines()


@pytest.mark.parametrize(
    "path",
    [["groups", name] for name in ("add", "import", "list", "set-alias")]
    + [["groups"], ["members"], ["members", "joined"]],
)
def test_group_and_member_commands_have_help_with_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(main.app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_add_then_list_keeps_chinese_in_table_and_json(cli: Cli) -> None:
    added = cli(
        "groups", "add", "wrOgAAA1", "--name", "上海宝妈福利群", "--sop", "mombaby-refined",
        "--owner", "小美", "--sender", "zhangsan", "--channel", "wecom_mass",
        "--target", "wrOgAAA1", "--start-date", "2025-03-01", "--members", "186",
        "--tag", "city:上海", "--tag", "stage:成熟期",
    )  # fmt: skip
    assert "added group wrOgAAA1 上海宝妈福利群 -> mombaby-refined@production" in added.output
    cli("groups", "add", "g2", "--name", "北京宝妈群", "--sop", "other", "--tag", "city:北京")

    table = cli("groups", "list").output.splitlines()
    assert table[0].split() == [
        *("id", "name", "sop", "alias", "channel", "target", "owner", "members", "tags")
    ]
    assert table[1].split() == [
        *("g2", "北京宝妈群", "other", "production", "console", "-", "-", "0", "city:北京")
    ]
    assert (
        column(table[2], "mombaby-refined") == column(table[1], "other") == column(table[0], "sop")
    )

    raw = cli("groups", "list", "--json", "--tag", "city:上海").output
    assert "上海宝妈福利群" in raw and "\\u" not in raw
    (group,) = json.loads(raw)
    assert group["id"] == "wrOgAAA1" and group["sop"] == "mombaby-refined"
    assert group["tags"] == ["city:上海", "stage:成熟期"]
    assert group["start_date"] == "2025-03-01" and group["member_count"] == 186
    assert [g["id"] for g in listed(cli, "--sop", "other")] == ["g2"]


def test_add_refuses_duplicates_and_bad_values_in_one_line_each(cli: Cli) -> None:
    cli("groups", "add", "g1", "--name", "一群", "--sop", "demo")
    duplicate = cli("groups", "add", "g1", "--name", "一群", "--sop", "demo", ok=False)
    assert duplicate.exit_code == 2
    assert errors(duplicate) == ["sop: error: group 'g1' is already registered"]

    bad = cli(
        "groups", "add", "g2", "--name", "二群", "--sop", "demo", "--channel", "robot",
        "--target", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", ok=False,
    )  # fmt: skip
    assert bad.exit_code == 2
    (line,) = errors(bad)
    assert "target: give the robot's name, not its webhook URL or key" in line

    when = cli("groups", "add", "g3", "--name", "三群", "--sop", "demo", "--start-date", "3月1日",
               ok=False)  # fmt: skip
    assert errors(when) == ["sop: error: --start-date: not a date: '3月1日' (YYYY-MM-DD)"]
    assert [g["id"] for g in listed(cli)] == ["g1"]


def test_add_notes_when_the_sop_has_no_version_behind_the_alias(cli: Cli) -> None:
    result = cli("groups", "add", "g1", "--name", "一群", "--sop", "not-saved-yet")
    assert "'not-saved-yet' has no production version yet" in result.stderr


def test_import_csv_with_bom_and_chinese(cli: Cli, tmp_path: Path) -> None:
    csv_file = write(
        tmp_path / "groups.csv",
        HEADER
        + "wrA,上海宝妈福利群,小美,zhangsan,wecom_mass,wrA,mombaby,production,2025-03-01,186,"
        "city:上海;stage:成熟期\n"
        "wrB,杭州福利群,小李,,tasklist,,mombaby,candidate,,50,city:杭州\n",
        bom=True,
    )
    assert "imported 2 group(s)" in cli("groups", "import", str(csv_file)).output
    groups = {g["id"]: g for g in listed(cli)}
    assert groups["wrA"]["name"] == "上海宝妈福利群"
    assert groups["wrA"]["tags"] == ["city:上海", "stage:成熟期"]
    assert groups["wrB"]["alias"] == "candidate" and groups["wrB"]["channel"] == "tasklist"


def test_import_reports_every_bad_row_and_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    cli("groups", "add", "taken", "--name", "已有群", "--sop", "demo")
    csv_file = write(
        tmp_path / "groups.csv",
        HEADER
        + "ok1,好群,,,console,,demo,,,,\n"
        + "bad1,坏群,,,sms,,demo,,,,\n"
        + "bad2,,,,console,,demo,,2025-13-01,,\n"
        + "taken,重复群,,,console,,demo,,,,\n"
        + "bad3,机器人群,,,robot,,demo,,,-5,\n",
    )
    result = cli("groups", "import", str(csv_file), ok=False)
    assert result.exit_code == 2
    lines = errors(result)
    assert all(line.startswith(f"sop: error: {csv_file}: line ") for line in lines)
    assert [line.split(": ")[3] for line in lines] == [
        "line 3",
        "line 4",
        "line 4",
        "line 5",
        "line 6",
        "line 6",
    ]
    assert "channel: 'sms' is not one of" in lines[0]
    assert any("id: 'taken' is already registered" in line for line in lines)
    assert [g["id"] for g in listed(cli)] == ["taken"]


def test_import_refuses_a_file_without_required_columns(cli: Cli, tmp_path: Path) -> None:
    csv_file = write(tmp_path / "groups.csv", "id,名字\ng1,一群\n")
    result = cli("groups", "import", str(csv_file), ok=False)
    assert result.exit_code == 2
    (line,) = errors(result)
    assert "missing column(s) name, sop" in line and "unknown column(s) 名字" in line


def test_set_alias_moves_named_groups_or_all_of_an_sop(cli: Cli) -> None:
    for gid, sop in (("g1", "demo"), ("g2", "demo"), ("g3", "other")):
        cli("groups", "add", gid, "--name", f"群{gid}", "--sop", sop)
    moved = cli("groups", "set-alias", "candidate", "g2")
    assert "1 group(s) now follow the candidate version: g2" in moved.output
    assert {g["id"]: g["alias"] for g in listed(cli)} == {
        "g1": "production",
        "g2": "candidate",
        "g3": "production",
    }
    cli("groups", "set-alias", "candidate", "--sop", "demo", "--all")
    assert [g["alias"] for g in listed(cli, "--sop", "demo")] == ["candidate", "candidate"]
    assert listed(cli, "--sop", "other")[0]["alias"] == "production"


def test_set_alias_refuses_unknown_ids_and_unclear_targets(cli: Cli) -> None:
    cli("groups", "add", "g1", "--name", "一群", "--sop", "demo")
    unknown = cli("groups", "set-alias", "candidate", "g1", "nope", "gone", ok=False)
    assert errors(unknown) == ["sop: error: unknown group id(s): nope, gone"]
    assert listed(cli)[0]["alias"] == "production"  # nothing moved
    for args in (
        ["candidate"],
        ["candidate", "g1", "--all", "--sop", "demo"],
        ["candidate", "--all"],
    ):
        result = cli("groups", "set-alias", *args, ok=False)
        assert result.exit_code == 2
        assert "give group ids, or --sop SOP --all" in result.stderr
    bad_alias = cli("groups", "set-alias", "staging", "g1", ok=False)
    assert errors(bad_alias) == ["sop: error: alias 'staging' is not one of production, candidate"]
    empty = cli("groups", "set-alias", "candidate", "--sop", "nobody", "--all", ok=False)
    assert errors(empty) == ["sop: error: no groups follow SOP 'nobody'"]


def test_members_joined_stores_new_joins_once_from_csv_and_jsonl(cli: Cli, tmp_path: Path) -> None:
    cli("groups", "add", "g1", "--name", "上海宝妈福利群", "--sop", "demo")
    joins = write(
        tmp_path / "joins.csv",
        "group,member,name,joined_at\n"
        "g1,wm001,王小丫,2025-03-08T09:30:00+08:00\n"
        "g1,wm002,李妈妈,2025-03-08T10:15:00+08:00\n",
    )
    assert "stored 2 new member join(s)" in cli("members", "joined", str(joins)).output
    assert "stored 0 new member join(s)" in cli("members", "joined", str(joins)).output
    jsonl = write(
        tmp_path / "joins.jsonl",
        '{"group": "g1", "member": "wm002", "name": "李妈妈", "joined_at": "2025-03-08T02:15Z"}\n'
        '{"group": "g1", "member": "wm003", "name": "赵", "joined_at": "2025-03-08T11:00+08:00"}\n',
    )
    assert "stored 1 new member join(s)" in cli("members", "joined", str(jsonl)).output


def test_members_joined_reports_bad_rows_and_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    cli("groups", "add", "g1", "--name", "一群", "--sop", "demo")
    joins = write(
        tmp_path / "joins.csv",
        "group,member,name,joined_at\n"
        "g1,wm001,王小丫,2025-03-08T09:30:00+08:00\n"
        "g9,wm002,李妈妈,2025-03-08T10:15:00+08:00\n"
        "g1,wm003,赵姐,2025-03-08 11:00\n",
    )
    result = cli("members", "joined", str(joins), ok=False)
    assert result.exit_code == 2
    assert errors(result) == [
        f"sop: error: {joins}: line 3: group: unknown group 'g9'",
        f"sop: error: {joins}: line 4: joined_at: '2025-03-08 11:00' has no UTC offset"
        " (e.g. +08:00)",
    ]
    assert "stored 1 new" in cli("members", "joined", str(write(
        tmp_path / "fixed.csv", "group,member,joined_at\ng1,wm001,2025-03-08T09:30:00+08:00\n"
    ))).output  # fmt: skip

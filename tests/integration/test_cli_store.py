"""The `sop` CLI over a real workspace: every store command, errors as one line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import git
from typer.main import get_command
from typer.testing import CliRunner

from sopflow.cli.main import app
from tests.support.workspaces import EXAMPLES, Cli, example_text, modified

MOMBABY = EXAMPLES / "mombaby-refined.yaml"


def _all_commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        found.append(path)
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(get_command(app), [])
    return found


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    commands = _all_commands()
    assert len(commands) > 12
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        if path and path != ["audit"]:
            assert "Example:" in result.output, f"sop {' '.join(path)} --help lacks an example"


def test_init_validate_save_log_show_diff(cli: Cli, tmp_path: Path) -> None:
    out = cli("validate", str(EXAMPLES)).output
    assert out.count("ok ") == len(list(EXAMPLES.glob("*.yaml")))  # every example
    saved = cli("save", str(MOMBABY), "--author", "小王", "-m", "首版").output
    assert "mombaby-refined/v1.0" in saved and "首版" in saved
    changed = tmp_path / "v2.yaml"
    changed.write_text(
        modified(
            example_text("mombaby-refined"),
            lambda d: d.update(title="母婴精细化运营 SOP（新欢迎语）"),
        ),
        encoding="utf-8",
    )
    cli("save", str(changed), "--author", "小王", "-m", "新欢迎语", "--major")
    log = json.loads(cli("log", "mombaby-refined", "--json").output)
    assert [v["version"] for v in log] == ["2.0", "1.0"]
    assert "新欢迎语" in cli("log", "mombaby-refined").output
    shown = cli("show", "mombaby-refined@1.0").output
    assert "\\u" not in shown and "mombaby-refined/v1.0" in shown
    doc = json.loads(cli("show", "mombaby-refined@v2.0", "--json").output)
    assert doc["document"]["title"] == "母婴精细化运营 SOP（新欢迎语）"
    changes = json.loads(cli("diff", "mombaby-refined", "1.0", "2.0", "--json").output)
    assert [c["path"] for c in changes] == ["title"]
    assert "~ title:" in cli("diff", "mombaby-refined", "1.0", "2.0").output


def test_alias_commands_and_audit(cli: Cli, tmp_path: Path) -> None:
    cli("save", str(MOMBABY), "--author", "小王", "-m", "首版")
    second = tmp_path / "b.yaml"
    second.write_text(
        modified(example_text("mombaby-refined"), lambda d: d.update(title="二")), encoding="utf-8"
    )
    cli("save", str(second), "--author", "小王", "-m", "第二版")
    refused = cli("promote", "mombaby-refined", "1.0", "--approver", "小王", ok=False)
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    promoted = cli("promote", "mombaby-refined", "1.0", "--approver", "李经理").output
    assert promoted.strip() == "mombaby-refined 的生产版本现为 v1.0（李经理 批准）"
    candidate = cli("candidate", "mombaby-refined", "1.1", "--author", "小王").output
    assert candidate.strip() == "mombaby-refined 的候选版本现为 v1.1"
    evidence = tmp_path / "e.json"
    evidence.write_text(json.dumps({"summary": "打开率 +18%"}, ensure_ascii=False), "utf-8")
    attached = cli("evidence", "mombaby-refined@1.1", str(evidence), "--author", "数据组").output
    assert attached.startswith("证据已附到 ")
    rejected = cli("reject", "mombaby-refined", "--author", "李经理", "-m", "样本不足").output
    assert rejected.strip() == "mombaby-refined 的候选版本 v1.1 已否决"
    cli("promote", "mombaby-refined", "1.1", "--approver", "李经理")
    assert (
        "mombaby-refined 的生产版本已回滚到 v1.0"
        in cli("rollback", "mombaby-refined", "--author", "李经理", "-m", "投诉").output
    )
    records = json.loads(cli("audit", "--json").output)
    assert [r["action"] for r in records] == [
        "save",
        "save",
        "promote",
        "candidate",
        "evidence",
        "reject",
        "promote",
        "rollback",
    ]
    promotes = json.loads(cli("audit", "--action", "promote", "--actor", "李经理", "--json").output)
    assert len(promotes) == 2
    assert "李经理" in cli("audit", "--sop", "mombaby-refined").output
    assert json.loads(cli("audit", "--since", "2999-01-01", "--json").output) == []
    assert "intact" in cli("audit", "verify").output


def test_audit_verify_fails_on_an_edited_or_deleted_row(cli: Cli) -> None:
    cli("save", str(MOMBABY), "--author", "小王", "-m", "首版")
    cli("promote", "mombaby-refined", "1.0", "--approver", "李经理")
    db = cli.root / "sopflow.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET actor = '小王' WHERE action = 'promote'")
    edited = cli("audit", "verify", ok=False)
    assert edited.exit_code != 0 and "edited" in edited.output


def test_audit_verify_fails_when_an_alias_moves_with_plain_git(cli: Cli) -> None:
    cli("save", str(MOMBABY), "--author", "小王", "-m", "首版")
    repo = git.Repo(cli.root / "store.git")
    try:
        repo.git.update_ref(
            "refs/aliases/mombaby-refined/production", "refs/tags/mombaby-refined/v1.0^{}"
        )
    finally:
        repo.close()
    result = cli("audit", "verify", ok=False)
    assert result.exit_code != 0
    assert "refs/aliases/mombaby-refined/production" in result.output


def test_user_errors_are_one_line_without_traceback(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(example_text("mombaby-refined").replace("10:00", "25:00", 1), "utf-8")
    result = cli("save", str(bad), "--author", "小王", "-m", "x", ok=False)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines and all(line.startswith("sop: error: ") for line in lines)
    assert "Traceback" not in result.output
    assert "25:00" in result.output or "time" in result.output
    missing = cli("show", "nope@1.0", ok=False)
    assert missing.exit_code == 2 and "no SOP 'nope'" in missing.output
    assert cli("log", "nope", ok=False).exit_code == 2


def test_commands_outside_a_workspace_say_how_to_create_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path / "none"), "log", "x"])
    assert result.exit_code == 2
    assert "sop init" in result.output


def test_schema_prints_json_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    schema = json.loads(result.output)
    assert "properties" in schema and "schedule" in schema["properties"]


def test_alias_confirmations_are_in_english_when_the_language_is_english(
    cli: Cli, tmp_path: Path
) -> None:
    config = cli.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    cli("save", str(MOMBABY), "--author", "小王", "-m", "首版")
    promoted = cli("promote", "mombaby-refined", "1.0", "--approver", "李经理").output
    assert promoted.strip() == "production of mombaby-refined is now v1.0 (approved by 李经理)"
    second = tmp_path / "b.yaml"
    second.write_text(
        modified(example_text("mombaby-refined"), lambda d: d.update(title="二")), encoding="utf-8"
    )
    cli("save", str(second), "--author", "小王", "-m", "第二版")
    candidate = cli("candidate", "mombaby-refined", "1.1", "--author", "小王").output
    assert candidate.strip() == "candidate of mombaby-refined is now v1.1"
    rejected = cli("reject", "mombaby-refined", "--author", "李经理").output
    assert rejected.strip() == "candidate v1.1 of mombaby-refined rejected"

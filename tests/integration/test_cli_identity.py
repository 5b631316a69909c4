"""CLI audit records name the OS user beside the typed name; the chain stays verifiable and
the four-eyes rule still compares the typed names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.workspaces import EXAMPLES, Cli, example_text, modified

MOMBABY = EXAMPLES / "mombaby-refined.yaml"


def test_cli_changes_record_the_os_user_beside_the_typed_name(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")  # what getpass.getuser() reads first
    cli("save", str(MOMBABY), "--author", "小王", "-m", "首版")
    second = tmp_path / "b.yaml"
    second.write_text(
        modified(example_text("mombaby-refined"), lambda d: d.update(title="二")), encoding="utf-8"
    )
    cli("save", str(second), "--author", "小王", "-m", "第二版")
    cli("promote", "mombaby-refined", "1.0", "--approver", "李经理")
    monkeypatch.setenv("LOGNAME", "bob")
    cli("candidate", "mombaby-refined", "1.1", "--author", "小王")

    records = json.loads(cli("audit", "--json").output)
    assert [(r["action"], r["actor"]) for r in records] == [
        ("save", "小王 (os:alice)"),
        ("save", "小王 (os:alice)"),
        ("promote", "李经理 (os:alice)"),
        ("candidate", "小王 (os:bob)"),
    ]
    assert "intact" in cli("audit", "verify").output
    by_name = json.loads(cli("audit", "--actor", "李经理", "--json").output)
    assert [r["action"] for r in by_name] == ["promote"]
    assert "李经理 (os:alice)" in cli("audit", "--sop", "mombaby-refined").output


def test_the_os_user_does_not_change_who_may_approve(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    cli("save", str(MOMBABY), "--author", "小王", "-m", "首版")
    refused = cli("promote", "mombaby-refined", "1.0", "--approver", "小王", ok=False)
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert [r["action"] for r in json.loads(cli("audit", "--json").output)] == ["save"]

"""`sop users ...` through the CLI runner: accounts, roles, passwords, audit records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services import audit_trail
from services.accounts import authenticate, list_users
from services.workspace import Workspace
from sop_models.errors import AccountError
from sopflow.cli.main import app
from tests.support.workspaces import Cli

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def _login(ws: Workspace, name: str, password: str) -> str:
    return authenticate(ws, name=name, password=password, address="127.0.0.1", now=NOW).name


def test_users_add_reads_the_password_from_stdin_and_stores_only_an_argon2_hash(
    cli: Cli, workspace: Workspace
) -> None:
    result = cli.runner.invoke(
        app,
        ["--workspace", str(workspace.root), "users", "add", "李经理", "--role", "lead"],
        input="s3cret-pass-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "added 李经理 (lead)" in result.output
    assert _login(workspace, "李经理", "s3cret-pass-1") == "李经理"
    with workspace.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM web_accounts").scalar_one()
    assert stored.startswith("$argon2id$") and "s3cret" not in stored
    record = audit_trail.records(workspace, action="user_add")[-1]
    assert record.actor.startswith("os:") and "李经理" in record.note


def _add(cli: Cli, name: str, role: str, password: str = "s3cret-pass-1") -> None:
    result = cli.runner.invoke(
        app, ["--workspace", str(cli.root), "users", "add", name, "--role", role], input=password
    )
    assert result.exit_code == 0, result.output


def test_users_list_set_role_disable_and_reset_password(cli: Cli, workspace: Workspace) -> None:
    _add(cli, "阿芳", "operator")
    cli("users", "set-role", "阿芳", "lead")
    assert [(u.name, u.role) for u in list_users(workspace)] == [("阿芳", "lead")]
    listed = cli("users", "list", "--json").output
    assert '"name": "阿芳"' in listed and '"role": "lead"' in listed
    result = cli.runner.invoke(
        app, ["--workspace", str(cli.root), "users", "reset-password", "阿芳"], input="n3w-pass-22"
    )
    assert result.exit_code == 0, result.output
    assert _login(workspace, "阿芳", "n3w-pass-22") == "阿芳"
    cli("users", "disable", "阿芳")
    with pytest.raises(AccountError):
        _login(workspace, "阿芳", "n3w-pass-22")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "x", "--role", "boss"], "s3cret-pass-1", "--role: 'boss' is not one of"),
        (["users", "add", "x", "--role", "lead"], "short", "password: at least 8 characters"),
        (["users", "disable", "nobody"], "", "no account named 'nobody'"),
    ],
)
def test_users_refuses_bad_input_in_one_line(
    cli: Cli, args: list[str], stdin: str, message: str
) -> None:
    result = cli.runner.invoke(app, ["--workspace", str(cli.root), *args], input=stdin)
    assert result.exit_code == 2
    assert f"sop: error: {message}" in result.stderr
    assert "Traceback" not in result.output


def test_users_add_refuses_a_name_in_use(cli: Cli) -> None:
    _add(cli, "小王", "operator")
    result = cli.runner.invoke(
        app,
        ["--workspace", str(cli.root), "users", "add", "小王", "--role", "lead"],
        input="s3cret-pass-1",
    )
    assert result.exit_code == 2
    assert "exists already" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["promote", "mombaby-refined", "1.0", "--approver", "李经理"],
        ["approve", "0b6c7c3e-0000-4000-8000-000000000000", "--approver", "李经理"],
        [
            "decline",
            "0b6c7c3e-0000-4000-8000-000000000000",
            "--approver",
            "李经理",
            "--reason",
            "x",
        ],
    ],
)
def test_approvals_in_the_console_only_make_the_cli_refuse_approving(
    cli: Cli, workspace: Workspace, args: list[str]
) -> None:
    from tests.support.examples import example_text
    from versions import services

    services.save_version(
        workspace.uow(),
        text=example_text("mombaby-refined"),
        source="a.yaml",
        author="小王",
        message="首版",
        major=False,
        now=NOW,
    )
    settings = workspace.root / "sopflow.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\napprovals = "console"\n', encoding="utf-8"
    )
    result = cli(*args, ok=False)
    assert result.exit_code == 2
    assert "takes approvals in the console only" in result.stderr
    assert workspace.store.aliases("mombaby-refined") == {}


def _new_welcome(data: dict) -> None:
    data["base_content"]["welcome"]["warmth"] = "欢迎新朋友！"


def test_approvals_in_the_console_only_make_cli_rollback_refuse_and_leave_production(
    cli: Cli, workspace: Workspace
) -> None:
    from tests.support.workspaces import with_candidate
    from versions import services

    with_candidate(workspace, "mombaby-refined", _new_welcome, message="新欢迎语", now=NOW)
    services.promote(
        workspace.uow(),
        sop_id="mombaby-refined",
        version="2.0",
        approver="李经理",
        policy=workspace.policy,
        now=NOW,
    )
    settings = workspace.root / "sopflow.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\napprovals = "console"\n', encoding="utf-8"
    )
    result = cli("rollback", "mombaby-refined", "--author", "X", "-m", "test", ok=False)
    assert result.exit_code == 2
    assert 'approvals = "console"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(workspace.store.aliases("mombaby-refined")["production"]) == "2.0"


def test_approvals_in_the_console_only_still_let_the_cli_set_and_reject_a_candidate(
    cli: Cli, workspace: Workspace
) -> None:
    from tests.support.workspaces import with_candidate

    with_candidate(workspace, "mombaby-refined", _new_welcome, message="新欢迎语", now=NOW)
    settings = workspace.root / "sopflow.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\napprovals = "console"\n', encoding="utf-8"
    )
    cli("reject", "mombaby-refined", "--author", "李经理", "-m", "打开率下降")
    assert "candidate" not in workspace.store.aliases("mombaby-refined")
    cli("candidate", "mombaby-refined", "2.0", "--author", "小王")
    aliases = workspace.store.aliases("mombaby-refined")
    assert (str(aliases["candidate"]), str(aliases["production"])) == ("2.0", "1.0")


def test_sop_init_mentions_the_console_settings_and_they_load_once_uncommented(
    cli: Cli, tmp_path: object
) -> None:
    import re
    from pathlib import Path

    from services.settings import load_settings

    root = Path(str(tmp_path)) / "ops"
    cli.runner.invoke(app, ["init", str(root)])
    text = (root / "sopflow.toml").read_text(encoding="utf-8")
    names = ("approvals", "console_url", "wecom_agent_id", "web_idle_minutes")
    for name in names:
        assert re.search(rf"^# {name} = ", text, re.M), name
    pattern = rf"^# ((?:{'|'.join(names)}) = .*)$"
    (root / "sopflow.toml").write_text(re.sub(pattern, r"\1", text, flags=re.M), "utf-8")
    settings = load_settings(root)
    assert settings.approvals == "console" and settings.wecom_agent_id == "1000002"
    assert settings.console_url == "https://sop.example.com" and settings.web_idle_minutes == 30

"""`sop log`, `sop audit` and `sop report` print times in the workspace's timezone, with the
offset; their JSON keeps ISO-8601 with the offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.workspace import Workspace
from tests.support.workspaces import Cli, example_text
from versions import services

SOP = "mombaby-refined"
# 23:31 UTC on the 26th is 07:31 on the 27th in Beijing (the default workspace timezone).
SAVED_AT = datetime(2026, 11, 26, 23, 31, 5, tzinfo=UTC)


def _save(ws: Workspace, *, now: datetime = SAVED_AT) -> None:
    services.save_version(
        ws.uow(),
        text=example_text(SOP),
        source="mombaby-refined.yaml",
        author="小王",
        message="首版",
        major=False,
        now=now,
    )


def test_log_prints_the_save_time_in_beijing_time_with_its_offset(
    workspace: Workspace, cli: Cli
) -> None:
    _save(workspace)
    out = cli("log", SOP).output
    assert "2026-11-27 07:31 +08:00" in out
    assert "23:31" not in out
    (entry,) = json.loads(cli("log", SOP, "--json").output)
    assert datetime.fromisoformat(entry["at"]) == SAVED_AT


def test_audit_prints_record_times_in_beijing_time_with_its_offset(
    workspace: Workspace, cli: Cli
) -> None:
    _save(workspace)
    out = cli("audit", "--sop", SOP).output
    assert "2026-11-27 07:31:05 +08:00" in out
    assert "23:31" not in out
    (record,) = json.loads(cli("audit", "--sop", SOP, "--json").output)
    assert datetime.fromisoformat(record["at"]) == SAVED_AT


def test_log_follows_the_workspace_timezone_setting(workspace: Workspace, cli: Cli) -> None:
    settings = workspace.root / "sopflow.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace('"Asia/Shanghai"', '"Europe/Berlin"'), encoding="utf-8")
    _save(workspace)
    assert "2026-11-27 00:31 +01:00" in cli("log", SOP).output


def test_report_shows_version_times_in_beijing_time_with_its_offset(
    workspace: Workspace, cli: Cli
) -> None:
    _save(workspace)
    out = workspace.root / "r.html"
    cli("report", SOP, "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert "2026-11-27 07:31 +08:00" in html
    assert "2026-11-26 23:31" not in html

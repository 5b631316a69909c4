"""`sop plan` through the real CLI on a real workspace (git store + SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from engine.groups import add_group
from engine.members import MemberJoin
from services.workspace import Workspace, init_workspace
from tests.support.examples import example_text, modified
from tests.support.planning import local
from versions import services

NOW = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """The real root app (`plan` is in its command table)."""
    from sopflow.cli import main

    return main.app


def _warm(data: dict[str, Any]) -> None:
    data["base_content"]["welcome"]["warmth"] = "新版欢迎语：欢迎来到宝妈成长营！"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """Mombaby 1.0 in production, 1.1 as candidate, three groups and two member joins."""
    ws = init_workspace(tmp_path / "ws")
    text = example_text("mombaby-refined")
    for body, message in ((text, "首版"), (modified(text, _warm), "新欢迎语")):
        services.save_version(
            ws.uow(),
            text=body,
            source="mombaby.yaml",
            author="小王",
            message=message,
            major=False,
            now=NOW,
        )
    services.promote(
        ws.uow(),
        sop_id="mombaby-refined",
        version="1.0",
        approver="李经理",
        policy=ws.policy,
        now=NOW,
    )
    services.set_candidate(ws.uow(), sop_id="mombaby-refined", version="1.1", actor="小王", now=NOW)
    with ws.session() as session:
        add_group(
            session,
            id="g1",
            name="上海宝妈一群",
            sop_id="mombaby-refined",
            now=NOW,
            start_date=date(2026, 9, 1),
        )
        add_group(
            session,
            id="g2",
            name="杭州宝妈二群",
            sop_id="mombaby-refined",
            now=NOW,
            channel="wecom_mass",
            target="wrOgAAA2",
            sender="anan",
            alias="candidate",
            start_date=date(2026, 8, 1),
        )
        add_group(session, id="fruit", name="鲜果群", sop_id="flash-sale-promo", now=NOW)
        session.add(
            MemberJoin(
                group_id="g1",
                member_id="wm-001",
                member_name="小红",
                joined_at=local(2026, 9, 2, 10),
            )
        )
        session.add(
            MemberJoin(
                group_id="g1",
                member_id="wm-000",
                member_name="豆豆妈",
                joined_at=local(2026, 8, 31, 23, 50),
            )
        )
        session.commit()
    try:
        yield ws
    finally:
        ws.close()


def sop(app: typer.Typer, ws: Workspace, *args: str) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(ws.root), *args])


def plan_json(app: typer.Typer, ws: Workspace, *args: str) -> list[dict[str, Any]]:
    result = sop(app, ws, "plan", *args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def test_plan_json_lists_a_weeks_actions_with_local_times_and_chinese_text(
    app: typer.Typer, ws: Workspace
) -> None:
    result = sop(
        app,
        ws,
        "plan",
        "mombaby-refined@1.0",
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-07",
        "--json",
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "小红" in result.stdout and "\\u" not in result.stdout
    actions = json.loads(result.stdout)
    assert {a["version"] for a in actions} == {"1.0"} and {a["group"] for a in actions} == {
        "g1",
        "g2",
    }
    assert all(a["at"].endswith("+08:00") for a in actions)
    assert [a["at"] for a in actions] == sorted(a["at"] for a in actions)
    first = actions[0]
    assert (first["key"], first["at"], first["kind"], first["member"]) == (
        "mombaby-refined:1.0:g1:on_join.self-intro:2026-09-01:merged",  # a 23:50 join's 00:20
        "2026-09-01T08:00:00+08:00",  # self-intro waits for the end of the quiet hours
        "welcome",
        None,
    )
    welcome = next(a for a in actions if a["member"] == "wm-001" and a["slot"] == "on_join.welcome")
    assert welcome["key"] == "mombaby-refined:1.0:g1:on_join.welcome:2026-09-02:wm-001"
    assert welcome["at"] == "2026-09-02T10:00:00+08:00" and welcome["text"].startswith(
        "@小红 欢迎新妈妈"
    )
    # joined 08-31 23:50 inside the quiet hours: its welcome and self-intro wait for 08:00 the
    # next morning, merged per group (never also as the member's own actions)
    assert not [a for a in actions if a["member"] == "wm-000"]
    late = [a for a in actions if a["key"].endswith(":merged")]
    assert [(a["slot"], a["at"]) for a in late] == [
        ("on_join.self-intro", "2026-09-01T08:00:00+08:00"),
        ("on_join.welcome", "2026-09-01T08:00:00+08:00"),
    ]
    rules = next(a for a in actions if a["slot"] == "cold_start.day1-rules")
    assert (rules["group"], rules["at"], rules["channel"]) == (
        "g1",
        "2026-09-01T09:30:00+08:00",
        "console",
    )
    topic = next(
        a for a in actions if a["group"] == "g2" and a["slot"] == "columns.afternoon-topic"
    )
    assert topic["channel"] == "wecom_mass" and topic["content_tag"] == "202503 促活-妈妈话题-图文"
    assert {
        "key",
        "group",
        "at",
        "kind",
        "text",
        "slot",
        "member",
        "content_tag",
        "channel",
    } <= set(first)


def test_without_a_version_each_group_follows_its_own_alias(
    app: typer.Typer, ws: Workspace
) -> None:
    actions = plan_json(
        app,
        ws,
        "mombaby-refined",
        "--from",
        "2026-09-02",
        "--to",
        "2026-09-02",
        "--group",
        "g1",
        "--group",
        "g2",
    )
    assert {(a["group"], a["version"]) for a in actions} == {("g1", "1.0"), ("g2", "1.1")}
    only_g2 = plan_json(
        app, ws, "mombaby-refined", "--from", "2026-09-02", "--to", "2026-09-02", "--group", "g2"
    )
    assert {a["group"] for a in only_g2} == {"g2"}
    assert all(a["key"].startswith("mombaby-refined:1.1:g2:") for a in only_g2)


def test_plan_prints_a_table_and_reports_bad_input_in_one_line(
    app: typer.Typer, ws: Workspace
) -> None:
    table = sop(
        app,
        ws,
        "plan",
        "mombaby-refined@1.0",
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-01",
        "--group",
        "g1",
    )
    assert table.exit_code == 0, table.output + table.stderr
    assert "2026-09-01 09:30  g1  v1.0  cold_start" in table.stdout and "新妈妈必看" in table.stdout
    bad_date = sop(app, ws, "plan", "mombaby-refined", "--from", "2026-13-01", "--to", "2026-09-01")
    assert bad_date.exit_code == 2
    assert bad_date.stderr.strip() == "sop: error: --from: not a date: '2026-13-01' (YYYY-MM-DD)"
    other = sop(
        app,
        ws,
        "plan",
        "mombaby-refined",
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-01",
        "--group",
        "fruit",
    )
    assert other.exit_code == 2 and "fruit follows flash-sale-promo" in other.stderr
    unknown = sop(app, ws, "plan", "no-such-sop", "--from", "2026-09-01", "--to", "2026-09-01")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("sop: error:")


def test_plan_warnings_go_to_stderr_and_the_help_has_an_example(
    app: typer.Typer, ws: Workspace
) -> None:
    result = sop(
        app,
        ws,
        "plan",
        "mombaby-refined@1.0",
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-30",
        "--group",
        "g2",
        "--json",
    )
    assert result.exit_code == 0, result.output + result.stderr
    json.loads(result.stdout)  # stdout stays pure JSON
    assert (
        "sop: warning: 群 g2：2026-09：" in result.stderr
        and "企业微信上限每月 30 条" in result.stderr
    )
    helped = sop(app, ws, "plan", "--help")
    assert helped.exit_code == 0 and "Example: sop plan mombaby-refined@1.0" in helped.stdout


def test_plan_warnings_and_the_action_count_are_in_english_when_the_language_is_english(
    app: typer.Typer, ws: Workspace
) -> None:
    config = ws.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    args = ("plan", "mombaby-refined@1.0", "--from", "2026-09-01", "--to", "2026-09-30")
    result = sop(app, ws, *args, "--group", "g2")
    assert result.exit_code == 0, result.output + result.stderr
    assert "sop: warning: group g2: 2026-09: " in result.stderr
    assert "mass messages planned, WeCom cap 30 per month" in result.stderr
    count = len(result.stdout.splitlines())
    assert result.stderr.splitlines()[-1] == f"{count} action(s)"

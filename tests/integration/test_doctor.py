"""`sop doctor`: every health line in its ok and its problem state, without a Prefect server
(the server, pool and worker lines against a real one are in tests/e2e/test_doctor_prefect.py)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from engine.groups import add_group
from services.calendar import mark_complete, set_day
from services.doctor import Check, run_checks
from services.workspace import Workspace
from sop_models.i18n import use_language
from tests.support.examples import EXAMPLES
from tests.support.wecom_fake import FakeWeCom
from tests.support.workspaces import Cli

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)  # official data covers 2026 to its end: the calendar line is ok


def checks(
    ws: Workspace, *, prefect_url: str | None = None, pool: str | None = None
) -> dict[str, list[Check]]:
    """The checks by the first word of their subject (database, store, prefect, ...)."""
    found: dict[str, list[Check]] = {}
    for check in run_checks(ws, today=TODAY, now=NOW, prefect_url=prefect_url, pool=pool):
        found.setdefault(check.what.split()[0].rstrip(":"), []).append(check)
    return found


def only(ws: Workspace, subject: str) -> Check:
    (check,) = checks(ws)[subject]
    return check


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group(ws: Workspace, group_id: str, channel: str, target: str) -> None:
    with ws.session() as session:
        add_group(session, id=group_id, name=f"群 {group_id}", sop_id="mombaby",
                  now=NOW, channel=channel, target=target, sender="zhangsan")  # fmt: skip
        session.commit()


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        yield fake


def test_a_fresh_workspace_is_healthy_line_by_line(workspace: Workspace) -> None:
    found = run_checks(workspace, today=TODAY, now=NOW, prefect_url=None, pool=None)

    assert all(check.ok for check in found), [c.line() for c in found]
    lines = [check.line() for check in found]
    assert (
        lines[0].startswith("ok  database sqlite:///") and "0502_console_tracked_links" in lines[0]
    )
    assert "临时模式" in checks(workspace)["prefect"][0].what
    assert "未指定" in checks(workspace)["work"][0].what


def test_a_database_behind_or_ahead_of_this_sopflow_is_a_problem_not_migrated(
    workspace: Workspace,
) -> None:
    with workspace.engine.begin() as conn:
        conn.execute(text("DELETE FROM schema_migrations WHERE name = '0107_wecom_shared_state'"))
    behind = only(workspace, "database")
    assert not behind.ok and "有 1 个迁移未应用（第一个是 0107_wecom_shared_state）" in (
        behind.what
    )
    assert "sop init" in behind.fix
    assert only(workspace, "database") == behind  # doctor only reads: still behind

    with workspace.engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_migrations VALUES ('0107_wecom_shared_state', 'x')"))
        conn.execute(text("INSERT INTO schema_migrations VALUES ('9001_from_the_future', 'y')"))
    ahead = only(workspace, "database")
    assert not ahead.ok and "已被更新版本的 sopflow 迁移（9001_from_the_future）" in ahead.what
    assert ahead.fix == "升级本机的 sopflow"


def test_a_database_that_does_not_answer_is_a_problem(workspace: Workspace) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/sopflow?connect_timeout=3"
    workspace.settings = workspace.settings.model_copy(update={"database_url": url})
    found = checks(workspace)
    (database,) = found["database"]
    assert not database.ok and "连不上" in database.what
    assert "database_url" in database.fix
    assert [c.ok for c in found["wecom"] + found["robots"]] == [True, True]  # no group read


def test_an_unreadable_local_store_is_a_problem(workspace: Workspace) -> None:
    (workspace.store_path / "HEAD").write_text("garbage\n", encoding="utf-8")
    (store,) = checks(workspace)["store"]
    assert not store.ok and "无法读取" in store.what and "版本库远端" in store.fix


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_the_store_remote_reachable_and_in_sync_then_ahead_then_gone(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    cli("save", str(EXAMPLES / "mombaby-refined.yaml"), "--author", "运营小王", "-m", "首版")
    remote = tmp_path / "remote.git"
    _git("clone", "--mirror", str(workspace.store_path), str(remote))
    workspace.settings = workspace.settings.model_copy(update={"store_url": f"file://{remote}"})

    local, synced = checks(workspace)["store"]
    assert local.ok and "1 个版本标签" in local.what
    assert synced.ok and synced.what.endswith("可访问，镜像已同步")

    # Another machine saved a version: the remote has a tag this mirror lacks.
    _git("--git-dir", str(remote), "tag", "other/v1.0", "refs/heads/main")
    _, behind = checks(workspace)["store"]
    assert not behind.ok and "本地镜像有 1 个 ref 不一致，例如 refs/tags/other/v1.0" in behind.what
    assert behind.fix.startswith(f"更新镜像：git --git-dir {workspace.store_path} fetch")

    workspace.settings = workspace.settings.model_copy(
        update={"store_url": f"file://{tmp_path / 'nowhere.git'}"}
    )
    _, gone = checks(workspace)["store"]
    assert not gone.ok and "无法访问" in gone.what and "store_url" in gone.fix


def test_a_fresh_cache_without_its_mirror_is_ok_and_the_remote_is_still_checked(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    cli("save", str(EXAMPLES / "mombaby-refined.yaml"), "--author", "运营小王", "-m", "首版")
    remote = tmp_path / "remote.git"
    _git("clone", "--mirror", str(workspace.store_path), str(remote))
    workspace.store_path.rename(tmp_path / "elsewhere.git")  # a worker cache before its first run
    workspace.settings = workspace.settings.model_copy(update={"store_url": f"file://{remote}"})

    with use_language("en"):
        fresh, reachable = checks(workspace)["store"]
    assert (
        fresh.ok and "no mirror yet (cloned from the store remote on the first run)" in fresh.what
    )
    assert reachable.ok and reachable.what.startswith(f"store remote file://{remote}: reachable")

    workspace.settings = workspace.settings.model_copy(
        update={"store_url": f"file://{tmp_path / 'nowhere.git'}"}
    )
    _, gone = checks(workspace)["store"]
    assert not gone.ok and "无法访问" in gone.what


def test_the_events_line_asks_for_a_shared_event_store_once_the_store_is_shared(
    workspace: Workspace, tmp_path: Path
) -> None:
    with use_language("en"):
        alone = only(workspace, "events")
        assert alone.ok and alone.what == f"events {workspace.root / 'events'}: 0 file(s)"

        shared = {"store_url": f"file://{tmp_path / 'remote.git'}"}
        workspace.settings = workspace.settings.model_copy(update=shared)
        own = only(workspace, "events")
        assert not own.ok and "this machine's own folder (0 file(s)), not shared" in own.what
        assert own.fix.startswith("set events_url / SOPFLOW_EVENTS_URL")

        missing = tmp_path / "mnt" / "sop-events"
        workspace.settings = workspace.settings.model_copy(update={"events_url": str(missing)})
        unmounted = only(workspace, "events")
        assert not unmounted.ok and unmounted.what == f"events {missing}: no such folder"
        assert not missing.exists()  # a check never creates it

        missing.mkdir(parents=True)
        (missing / "orders-2026-03.parquet").write_bytes(b"PAR1")
        assert only(workspace, "events").what == f"events {missing}: 1 file(s)"


def test_a_store_url_with_a_password_is_shown_masked(workspace: Workspace) -> None:
    url = f"https://ops:s3cret-token@127.0.0.1:{_free_port()}/store.git"
    workspace.settings = workspace.settings.model_copy(update={"store_url": url})
    _, remote = checks(workspace)["store"]
    assert not remote.ok and "https://ops:***@127.0.0.1:" in remote.what
    assert "s3cret-token" not in remote.line()


def test_a_prefect_server_that_does_not_answer_is_a_problem_and_so_is_its_pool(
    workspace: Workspace,
) -> None:
    url = f"http://127.0.0.1:{_free_port()}/api"
    found = checks(workspace, prefect_url=url, pool="sopflow")
    (server,) = found["prefect"]
    assert not server.ok and f"{url} 的服务器没有响应" in server.what
    assert "PREFECT_API_URL" in server.fix
    (pool,) = found["work"]
    assert not pool.ok and "work pool sopflow: 无法询问服务器" in pool.what


def test_a_pool_without_a_server_is_a_problem(workspace: Workspace) -> None:
    (pool,) = checks(workspace, pool="sopflow")["work"]
    assert not pool.ok and "临时模式" in pool.what and "PREFECT_API_URL" in pool.fix


def _calendar_line(ws: Workspace, today: date) -> str:
    (calendar,) = [c for c in run_checks(ws, today=today, now=NOW, prefect_url=None, pool=None)
                   if c.what.startswith("calendar")]  # fmt: skip
    return calendar.line()


def test_holiday_data_running_out_is_a_problem_naming_the_year_and_the_import(
    workspace: Workspace,
) -> None:
    line = _calendar_line(workspace, date(2026, 12, 1))
    assert line.startswith(
        "problem  calendar: 节假日数据到 2026-12-31 为止（还有 30 天），2027 年没有数据"
    )
    assert line.endswith(
        "— 用 `sop calendar import FILE` 录入 2027 年的官方安排；"
        "录入之前工作日时段按 workday_fallback = 'weekdays' 处理"
    )
    with use_language("en"):
        line = _calendar_line(workspace, date(2026, 12, 1))
    assert line.startswith(
        "problem  calendar: holiday data ends 2026-12-31 (30 days from now), none for 2027 ("
    )
    assert line.endswith(
        "— enter 2027's official schedule with `sop calendar import FILE`; "
        "until then workday slots follow workday_fallback = 'weekdays'"
    )


def test_a_next_year_marked_complete_makes_the_calendar_line_ok_and_one_set_day_does_not(
    workspace: Workspace,
) -> None:
    set_day(workspace, day=date(2027, 2, 8), workday=False, name="春节", by="李经理", now=NOW)
    assert _calendar_line(workspace, date(2026, 12, 1)).startswith("problem  calendar: ")
    mark_complete(workspace, year=2027, by="李经理", now=NOW)
    zh = _calendar_line(workspace, date(2026, 12, 1))
    with use_language("en"):
        en = _calendar_line(workspace, date(2026, 12, 1))
    assert zh == "ok  calendar: 节假日数据覆盖未来 45 天（2027 年为录入的安排）"
    assert en == "ok  calendar: holiday data covers the next 45 days (2027 entered)"


def test_a_year_without_any_data_is_a_problem_from_its_first_day(workspace: Workspace) -> None:
    with use_language("en"):
        line = _calendar_line(workspace, date(2027, 1, 4))
    assert line.startswith("problem  calendar: no holiday data for 2027 (chinese-calendar ")
    assert "— enter it with `sop calendar import FILE`; until then" in line


def test_wecom_credentials_that_get_a_token_are_ok_and_refused_ones_name_the_setting(
    workspace: Workspace, wecom: FakeWeCom
) -> None:
    _group(workspace, "g1", "wecom_mass", "wr-1")
    (unset,) = checks(workspace)["wecom"]
    assert not unset.ok and "未设置 wecom_corp_id 和 wecom_corp_secret（1 个群" in unset.what
    assert "SOPFLOW_WECOM_CORP_ID" in unset.fix

    workspace.settings = workspace.settings.model_copy(
        update={
            "wecom_base_url": wecom.base_url,
            "wecom_corp_id": wecom.corpid,
            "wecom_corp_secret": SecretStr(wecom.corpsecret),
        }
    )
    (works,) = checks(workspace)["wecom"]
    assert works.ok and f"企业 {wecom.corpid} 的 gettoken 正常" in works.what

    wecom.misconfigure(40001)
    (refused,) = checks(workspace)["wecom"]
    assert not refused.ok and "errcode 40001" in refused.what
    assert "wecom_corp_secret is wrong" in refused.fix
    assert wecom.corpsecret not in refused.line()


def test_every_robot_a_group_posts_through_needs_a_key(workspace: Workspace) -> None:
    _group(workspace, "g1", "robot", "ops")
    _group(workspace, "g2", "robot", "sales")
    workspace.settings = workspace.settings.model_copy(
        update={"robot_keys": {"ops": SecretStr("k-ops")}}
    )
    (missing,) = checks(workspace)["robots"]
    assert not missing.ok and missing.what == "robots: sales 没有 key（1 个群）"
    assert "[robot_keys]" in missing.fix

    workspace.settings = workspace.settings.model_copy(
        update={"robot_keys": {"ops": SecretStr("k-ops"), "sales": SecretStr("k-sales")}}
    )
    (ok,) = checks(workspace)["robots"]
    assert ok.ok and "2 个机器人" in ok.what


def test_the_command_prints_one_line_per_check_and_exits_1_on_a_problem(
    workspace: Workspace, cli: Cli
) -> None:
    _group(workspace, "g1", "robot", "ops")  # no robot key configured
    result = cli("doctor", ok=False)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 10 and all(line.split()[0] in ("ok", "problem") for line in lines)
    assert "problem  robots: ops 没有 key（1 个群） — 在 " in result.stdout
    assert "Traceback" not in result.output


def test_the_health_lines_are_in_english_when_the_language_is_english(
    workspace: Workspace, cli: Cli
) -> None:
    _group(workspace, "g1", "robot", "ops")
    config = workspace.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    out = cli("doctor", ok=False).stdout
    assert "problem  robots: no key for ops (1 group(s)) — add them under [robot_keys]" in out
    assert "ok  wecom: not configured (no group uses wecom_mass)" in out
    assert "ok  work pool: none named (sop serve runs deployments in its process)" in out

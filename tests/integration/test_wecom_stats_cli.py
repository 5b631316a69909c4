"""`sop events wecom-stats` against the local fake WeCom server: fetched, stored, no secrets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from engine.wecom.statistics import CST
from services.wecom_stats import fetch_into_store
from services.workspace import Workspace, open_workspace
from tests.support.wecom_fake import FakeWeCom
from tests.support.workspaces import Cli


def test_group_statistics_are_fetched_into_the_store(workspace: Workspace, cli: Cli) -> None:
    today = datetime.now(CST).date()  # WeCom's day, as the command computes it
    start, end = today - timedelta(days=40), today - timedelta(days=1)
    with FakeWeCom() as fake:
        (workspace.root / "sopflow.toml").write_text(
            f'wecom_corp_id = "{fake.corpid}"\nwecom_corp_secret = "{fake.corpsecret}"\n'
            f'wecom_base_url = "{fake.base_url}"\n',
            encoding="utf-8",
        )
        for offset in range(40):
            fake.add_stats(
                "zhangsan",
                start + timedelta(offset),
                new_member_cnt=2,
                member_total=200,
                msg_total=30,
            )
        # by owner, WeCom answers each <=30-day window as a whole (the fake sums no days)
        middle = start + timedelta(29)
        fake.add_window_stats("zhangsan", start, middle, new_member_cnt=60, member_total=200)
        fake.add_window_stats("zhangsan", middle + timedelta(1), end, new_member_cnt=20)
        result = cli(
            "events",
            "wecom-stats",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--owner",
            "zhangsan",
        )
    assert "保存 2 行群主数据和 40 行按天数据" in result.output
    assert fake.corpsecret not in result.output
    folder = workspace.root / "events" / "wecom"
    days = pq.read_table(next(folder.glob("day-*.parquet"))).to_pylist()
    assert len(days) == 40 and days[0]["new_member_cnt"] == 2 and days[0]["msg_total"] == 30
    owners = pq.read_table(next(folder.glob("owner-*.parquet"))).to_pylist()
    assert {row["owner"] for row in owners} == {"zhangsan"}
    assert sum(row["new_member_cnt"] for row in owners) == 80


def test_missing_credentials_name_the_setting(cli: Cli, tmp_path: Path) -> None:
    result = cli("events", "wecom-stats", "--from", "2026-11-01", "--to", "2026-11-02", ok=False)
    assert result.exit_code == 2
    assert "wecom_corp" in result.output and "Traceback" not in result.output


def test_yesterday_in_beijing_can_be_fetched_just_after_beijing_midnight(
    workspace: Workspace,
) -> None:
    now = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # 00:30 on 11-28 in Beijing, UTC's 11-27
    yesterday = date(2026, 11, 27)
    with FakeWeCom() as fake:
        (workspace.root / "sopflow.toml").write_text(fake.settings_toml(), encoding="utf-8")
        fake.add_stats("zhangsan", yesterday, new_member_cnt=2, member_total=200, msg_total=30)
        fake.add_window_stats("zhangsan", yesterday, yesterday, new_member_cnt=2)
        ws = open_workspace(workspace.root)  # with the settings just written
        try:
            stored = fetch_into_store(
                ws, start=yesterday, end=yesterday, owners=["zhangsan"], now=now
            )
        finally:
            ws.close()
    assert (stored["owner_rows"], stored["day_rows"]) == (1, 1)

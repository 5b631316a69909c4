"""`sop events import|list|remove` and `sop kpi` through the real CLI on a real workspace:
batches that cannot double-count, groups by id or name, labels from the registry and ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.ledger.model import SENT, Delivery
from services.workspace import Workspace
from sopflow.cli import events_cmd, main
from tests.support.workspaces import Cli, in_production

if "events_cmd" not in main.COMMAND_MODULES:
    events_cmd.register(main.app)

SOP = "mombaby-refined"
NOW = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)
GROUPS = (
    "id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags\n"
    f"g1,一群,小王,,console,,{SOP},production,,200,\n"
    f"g2,二群,小王,,console,,{SOP},production,,200,\n"
)
# No sop / sop_version columns, groups by name and by id, times without an offset.
FIRST = """group,member,time,event,value
一群,,2026-09-01T10:00,delivered,4
一群,m1,2026-09-01T10:05,open,
一群,m2,2026-09-01T10:06,open,
g2,,2026-09-01T10:00,delivered,5
g2,m3,2026-09-01T11:00,open,
"""
SECOND = """group,member,time,event,value
二群,m4,2026-09-02T10:30,open,
二群,,2026-09-02T10:00,delivered,2
"""


@pytest.fixture
def ws_cli(workspace: Workspace, tmp_path: Path) -> Cli:
    in_production(workspace, SOP, now=NOW)
    cli = Cli(workspace.root)
    (tmp_path / "groups.csv").write_text(GROUPS, encoding="utf-8")
    cli("groups", "import", str(tmp_path / "groups.csv"))
    with workspace.session() as session:  # the ledger shows v1.0 posted to both groups
        for group in ("g1", "g2"):
            for day in (1, 2):
                due = datetime(2026, 9, day, 2, 0, tzinfo=UTC)
                key = f"{SOP}:1.0:{group}:daily-1000:2026-09-0{day}"
                session.add(
                    Delivery(
                        key=key,
                        slot_key=key.replace(":1.0", ""),
                        sop_id=SOP,
                        version="1.0",
                        group_id=group,
                        kind="post",
                        slot="daily-1000",
                        due_at=due,
                        channel="console",
                        status=SENT,
                        sent_at=due,
                        updated_at=due,
                    )
                )
        session.commit()
    return cli


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def kpis(cli: Cli) -> dict[str, Any]:
    return json.loads(cli("kpi", SOP, "--by", "version,group", "--json").output)


def test_a_reimported_file_is_refused_and_removing_a_batch_restores_the_kpis_exactly(
    ws_cli: Cli, tmp_path: Path
) -> None:
    first = write(tmp_path, "first.csv", FIRST)
    ws_cli("events", "import", first)
    before = kpis(ws_cli)
    assert before["events"] == {"used": 5, "unattributed": 0}
    rates = {
        (r["group"], r["sop_version"]): r["value"]
        for r in before["rows"]
        if r["metric"] == "open_rate"
    }
    assert rates == {("g1", "1.0"): 2 / 4, ("g2", "1.0"): 1 / 5}

    out = ws_cli("events", "import", write(tmp_path, "second.csv", SECOND)).output
    assert out.startswith(f"已从 {tmp_path / 'second.csv'} 导入 2 条事件，批次 ")
    batch = out.split("批次 ")[1].split()[0]
    after = kpis(ws_cli)
    assert after != before

    again = ws_cli("events", "import", first, ok=False)
    assert again.exit_code == 2
    assert "already imported as batch" in again.stderr and "Traceback" not in again.output
    # The same rows with another row order are the same batch; mixed with new rows, refused.
    mixed = write(
        tmp_path,
        "mixed.csv",
        SECOND.splitlines()[0]
        + "\n"
        + "\n".join(FIRST.splitlines()[1:][::-1])
        + "\n一群,m9,2026-09-03T09:00,open,\n",
    )
    refused = ws_cli("events", "import", mixed, ok=False)
    assert refused.exit_code == 2 and "5 row(s)" in refused.stderr
    assert kpis(ws_cli) == after

    listed = json.loads(ws_cli("events", "list", "--json").output)
    assert [b["rows"] for b in listed] == [5, 2]
    ws_cli("events", "remove", batch, "--by", "小王")
    assert kpis(ws_cli) == before
    audit = json.loads(ws_cli("audit", "--action", "events-remove", "--json").output)
    assert [a["actor"] for a in audit] == ["小王"]
    assert "intact" in ws_cli("audit", "verify").output


def test_an_unknown_group_name_fails_the_import_listing_the_names(
    ws_cli: Cli, tmp_path: Path
) -> None:
    bad = write(
        tmp_path,
        "bad.csv",
        FIRST + "三群,m5,2026-09-01T10:00,open,\n三群,m6,2026-09-01T10:01,open,\n"
        "g7,m7,2026-09-01T10:00,open,\n",
    )
    result = ws_cli("events", "import", bad, ok=False)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "unknown group(s) g7 (1 row), 三群 (2 rows)" in line and "nothing imported" in line
    assert json.loads(ws_cli("events", "list", "--json").output) == []


def test_times_without_an_offset_take_the_workspace_zone_or_tz(ws_cli: Cli, tmp_path: Path) -> None:
    late = "group,member,time,event\n一群,m1,2026-09-01T23:30,open\n"
    ws_cli("events", "import", write(tmp_path, "shanghai.csv", late))
    ws_cli("events", "import", write(tmp_path, "utc.csv", late.replace("m1", "m2")), "--tz", "UTC")
    rows = json.loads(ws_cli("kpi", SOP, "--by", "day", "--metric", "open_rate", "--json").output)
    # 23:30 in Shanghai stays on the 1st; 23:30 UTC is 07:30 on the 2nd in Shanghai.
    days = sorted(r["day"] for r in rows["rows"])
    assert days == ["2026-09-01", "2026-09-02"]
    bad = ws_cli("events", "import", write(tmp_path, "x.csv", late), "--tz", "Mars/Base", ok=False)
    assert bad.exit_code == 2 and "--tz" in bad.stderr


def test_kpi_says_how_many_events_it_could_not_attribute(ws_cli: Cli, tmp_path: Path) -> None:
    # A day the ledger knows nothing of and rows naming no version: not attributable.
    text = "group,member,time,event,sop\n一群,m1,2026-08-01T10:00+08:00,open,other-sop\n"
    ws_cli("events", "import", write(tmp_path, "e.csv", text))
    out = ws_cli("kpi", SOP).output
    assert "用到 0 条；1 条无法归到某个 SOP 版本" in out


def test_events_and_kpi_lines_are_in_english_when_the_language_is_english(
    ws_cli: Cli, workspace: Workspace, tmp_path: Path
) -> None:
    config = workspace.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    assert ws_cli("events", "list").output.strip() == "no event batches imported"
    first = write(tmp_path, "first.csv", FIRST)
    out = ws_cli("events", "import", first).output
    assert out.startswith(f"imported 5 event(s) from {first} as batch ")
    batch = out.split("as batch ")[1].split()[0]
    listed = ws_cli("events", "list").output
    header, row = listed.splitlines()
    assert header.split() == ["batch", "events", "imported", "at", "file"]
    assert row.split()[:2] == [batch, "5"]
    assert row.split()[4] == "+08:00"  # imported in UTC, shown in the workspace's zone
    assert (
        ws_cli("kpi", SOP)
        .output.splitlines()[-1]
        .startswith(f"events: 5 used for {SOP}; 0 could not be attributed to an SOP version")
    )
    removed = ws_cli("events", "remove", batch, "--by", "小王").output
    assert removed.strip() == f"removed batch {batch}: 5 event(s) from {first}"


@pytest.mark.parametrize(
    "path", [["events", "import"], ["events", "list"], ["events", "remove"], ["kpi"]]
)
def test_event_commands_have_help_with_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(main.app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_a_name_two_groups_share_must_be_written_as_an_id(ws_cli: Cli, tmp_path: Path) -> None:
    ws_cli("groups", "add", "g3", "--name", "一群", "--sop", SOP)
    text = "group,member,time,event\n一群,m1,2026-09-01T10:00+08:00,open\n"
    result = ws_cli("events", "import", write(tmp_path, "e.csv", text), ok=False)
    assert (
        result.exit_code == 2 and "group name 一群 is shared by g1, g3: use the id" in result.stderr
    )
    ws_cli("events", "import", write(tmp_path, "ids.csv", text.replace("一群", "g3")))


def test_the_event_time_window_is_a_workspace_setting(
    ws_cli: Cli, workspace: Workspace, tmp_path: Path
) -> None:
    with (workspace.root / "sopflow.toml").open("a", encoding="utf-8") as toml:
        toml.write('\nevents_earliest = "2026-09-02"\n')

    refused = ws_cli("events", "import", write(tmp_path, "first.csv", FIRST), ok=False)

    assert refused.exit_code != 0
    assert "line 2" in refused.stderr and "2026-09-02" in refused.stderr
    assert json.loads(ws_cli("events", "list", "--json").stdout) == []
    ws_cli("events", "import", write(tmp_path, "second.csv", SECOND))  # inside the window
    assert len(json.loads(ws_cli("events", "list", "--json").stdout)) == 1

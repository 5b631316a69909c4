"""`sop init --store-url` and the events location through the real CLI: two workspace folders
(two machines) on one shared store, one database and one event folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner, Result

from services.workspace import open_workspace
from sopflow.cli import events_cmd, main
from tests.support.workspaces import Cli, in_production

if "events_cmd" not in main.COMMAND_MODULES:
    events_cmd.register(main.app)

SOP = "mombaby-refined"
NOW = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)
GROUPS = (
    "id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags\n"
    f"g1,一群,小王,,console,,{SOP},production,,200,\n"
)
EVENTS = f"""group,member,time,event,value,sop,sop_version
一群,,2026-09-01T10:00,delivered,4,{SOP},1.0
一群,m1,2026-09-01T10:05,open,,{SOP},1.0
一群,m2,2026-09-01T10:06,open,,{SOP},1.0
"""


def sop(*args: str) -> Result:
    return CliRunner().invoke(main.app, list(args))


def test_init_with_a_store_url_creates_the_shared_store_and_a_second_machine_joins_it(
    tmp_path: Path,
) -> None:
    url = f"file://{tmp_path}/shared/store.git"
    db = f"sqlite:///{tmp_path}/shared.db"
    first = sop("init", str(tmp_path / "a"), "--store-url", url, "--database-url", db)
    assert first.exit_code == 0, first.output
    assert git.Repo(tmp_path / "shared" / "store.git").bare
    second = sop("init", str(tmp_path / "b"), "--store-url", url, "--database-url", db)
    assert f"(version store: {url})" in second.output
    with open_workspace(tmp_path / "a") as a:
        in_production(a, SOP, now=NOW)
    listed = Cli(tmp_path / "b")("list", "--json").output
    assert [row["sop"] for row in json.loads(listed)] == [SOP]
    again = sop("init", str(tmp_path / "b"), "--store-url", f"file://{tmp_path}/other.git")
    assert again.exit_code == 2
    assert "store_url is" in again.stderr and "edit the file" in again.stderr


def test_init_with_an_unreachable_store_url_fails_in_one_line(tmp_path: Path) -> None:
    result = sop("init", str(tmp_path / "a"), "--store-url", "ssh://nohost.invalid/x/store.git")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sop: error: store_url: cannot clone ssh://")


@pytest.mark.parametrize("form", ["file-url", "relative-path"])
def test_events_imported_on_one_machine_are_counted_by_the_other_through_events_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    events = tmp_path / "shared-events"
    monkeypatch.setenv(
        "SOPFLOW_EVENTS_URL", f"file://{events}" if form == "file-url" else "../shared-events"
    )
    url, db = f"file://{tmp_path}/store.git", f"sqlite:///{tmp_path}/shared.db"
    for name in ("a", "b"):
        made = sop("init", str(tmp_path / name), "--store-url", url, "--database-url", db)
        assert made.exit_code == 0, made.output
    with open_workspace(tmp_path / "a") as a:
        in_production(a, SOP, now=NOW)
    a_cli, b_cli = Cli(tmp_path / "a"), Cli(tmp_path / "b")
    (tmp_path / "groups.csv").write_text(GROUPS, encoding="utf-8")
    a_cli("groups", "import", str(tmp_path / "groups.csv"))
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    a_cli("events", "import", str(tmp_path / "e.csv"))

    assert list(events.rglob("*.parquet")) and not (tmp_path / "a" / "events").exists()
    counted = json.loads(b_cli("kpi", SOP, "--json").output)["events"]
    assert counted == {"used": 3, "unattributed": 0}

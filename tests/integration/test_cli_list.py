"""`sop list`: every SOP with its latest, production and candidate versions and last save."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.workspace import Workspace
from tests.support.workspaces import Cli, example_text, modified
from versions import services

MOMBABY = "mombaby-refined"
JEWELRY = "jewelry-service"
T1 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
T2 = datetime(2026, 11, 26, 23, 31, tzinfo=UTC)  # 07:31 on the 27th in Beijing


def _save(ws: Workspace, text: str, *, author: str, major: bool, now: datetime) -> None:
    services.save_version(
        ws.uow(), text=text, source="sop.yaml", author=author, message="改", major=major, now=now
    )


def _two_sops(ws: Workspace) -> None:
    """mombaby: v1.0 production, v2.0 candidate (saved last); jewelry: v1.0 only."""
    base = example_text(MOMBABY)
    _save(ws, base, author="小王", major=False, now=T1)
    _save(ws, example_text(JEWELRY), author="小李", major=False, now=T1)
    newer = modified(base, lambda d: d.update(title="新版"))
    _save(ws, newer, author="小王", major=True, now=T2)
    services.promote(
        ws.uow(), sop_id=MOMBABY, version="1.0", approver="李经理", policy=ws.policy, now=T2
    )
    services.set_candidate(ws.uow(), sop_id=MOMBABY, version="2.0", actor="小王", now=T2)


def test_list_shows_each_sop_with_its_versions_and_last_save_in_local_time(
    workspace: Workspace, cli: Cli
) -> None:
    _two_sops(workspace)
    lines = cli("list").output.splitlines()
    assert lines[0].split() == [
        "SOP",
        "LATEST",
        "PRODUCTION",
        "CANDIDATE",
        "GROUPS",
        "LAST",
        "CHANGE",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[JEWELRY] == [
        *(JEWELRY, "v1.0", "-", "-", "0+0", "2026-11-20", "10:00", "+08:00", "小李", "save")
    ]
    assert rows[MOMBABY] == [
        *(MOMBABY, "v2.0", "v1.0", "v2.0", "0+0", "2026-11-27", "07:31", "+08:00", "小王"),
        "candidate",
    ]


def test_list_counts_groups_per_alias_and_shows_the_last_change(
    workspace: Workspace, cli: Cli
) -> None:
    _two_sops(workspace)
    for gid in ("g1", "g2", "g3"):
        cli("groups", "add", gid, "--name", f"群{gid}", "--sop", MOMBABY, "--by", "小美")
    cli("groups", "set-alias", "candidate", "g3", "--by", "李经理")
    mombaby = next(r for r in json.loads(cli("list", "--json").output) if r["sop"] == MOMBABY)
    assert mombaby["groups"] == {"production": 2, "candidate": 1}
    last = mombaby["last_change"]
    assert (last["actor"], last["action"]) == ("李经理", "group_alias")
    row = next(line for line in cli("list").output.splitlines() if line.startswith(MOMBABY))
    assert row.split()[4] == "2+1" and row.endswith("李经理  group_alias")


def test_an_unknown_sop_id_names_the_close_ones(workspace: Workspace, cli: Cli) -> None:
    _two_sops(workspace)
    result = cli("log", "mombaby-refine", ok=False)
    assert result.stderr.strip() == (
        "sop: error: no SOP 'mombaby-refine' in the store"
        f" (did you mean: {MOMBABY}; known: {JEWELRY}, {MOMBABY})"
    )


def test_list_json_gives_versions_author_and_iso_time_with_offset(
    workspace: Workspace, cli: Cli
) -> None:
    _two_sops(workspace)
    listed = {row["sop"]: row for row in json.loads(cli("list", "--json").output)}
    assert set(listed) == {MOMBABY, JEWELRY}
    mombaby = listed[MOMBABY]
    assert (mombaby["latest"], mombaby["production"], mombaby["candidate"]) == ("2.0", "1.0", "2.0")
    assert mombaby["author"] == "小王"
    assert datetime.fromisoformat(mombaby["at"]) == T2
    jewelry = listed[JEWELRY]
    assert (jewelry["latest"], jewelry["production"], jewelry["candidate"]) == ("1.0", None, None)
    assert jewelry["author"] == "小李"


def test_list_on_an_empty_workspace_says_how_to_save(cli: Cli) -> None:
    assert "no SOPs saved yet" in cli("list").output
    assert json.loads(cli("list", "--json").output) == []

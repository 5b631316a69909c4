"""Overlay attachments live in the workspace database: every workspace cache of a pool (one
database, one shared store) sees what one machine attached, and a workspace's old
`overlays.json` is moved into the database once, audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services import overlays
from services.workspace import Workspace, open_workspace
from sopflow.cli import main
from tests.support.workspaces import Cli, in_production, save_example_as
from versions import audit

NOW = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)
BASE, OVERLAY = "mombaby-refined", "mombaby-weekly-jielong"
GROUPS = (
    "id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags\n"
    f"g1,一群,小王,,console,,{BASE},production,,200,\n"
)


def test_a_second_workspace_cache_on_the_same_database_sees_an_attachment_made_on_the_first(
    tmp_path: Path, db_url: str
) -> None:
    url = f"file://{tmp_path}/shared/store.git"
    for name in ("a", "b"):
        made = CliRunner().invoke(
            main.app, ["init", str(tmp_path / name), "--store-url", url, "--database-url", db_url]
        )
        assert made.exit_code == 0, made.output
    with open_workspace(tmp_path / "a") as a:
        in_production(a, BASE, now=NOW)
        in_production(a, OVERLAY, now=NOW)
    a_cli, b_cli = Cli(tmp_path / "a"), Cli(tmp_path / "b")
    (tmp_path / "groups.csv").write_text(GROUPS, encoding="utf-8")
    a_cli("groups", "import", str(tmp_path / "groups.csv"))
    a_cli("overlay", "attach", OVERLAY, "--base", BASE, "--from", "2026-09-21", "--by", "李经理")
    assert not (tmp_path / "a" / overlays.OVERLAYS_FILE).exists()
    listed = json.loads(b_cli("overlay", "list", "--json").stdout)
    assert [(r["overlay"], r["base"], r["from"]) for r in listed] == [(OVERLAY, BASE, "2026-09-21")]
    args = ["plan", BASE, "--from", "2026-09-21", "--to", "2026-09-21", "--json"]
    assert OVERLAY in {r["sop"] for r in json.loads(b_cli(*args).stdout)}
    b_cli("overlay", "detach", OVERLAY, "--base", BASE)
    assert json.loads(a_cli("overlay", "list", "--json").stdout) == []
    assert OVERLAY not in {r["sop"] for r in json.loads(a_cli(*args).stdout)}


def _records(ws: Workspace, action: str) -> list[audit.AuditRecord]:
    with ws.session() as session:
        return audit.query(session, action=action)


def test_an_overlays_json_from_before_is_moved_into_the_database_once_and_audited(
    workspace: Workspace, cli: Cli
) -> None:
    in_production(workspace, BASE, now=NOW)
    save_example_as(workspace, OVERLAY)
    save_example_as(workspace, "qixi")
    overlays.attach(workspace, overlays.Attachment("qixi", BASE, "1.0"), by="小王", now=NOW)
    rows = [
        {"overlay": OVERLAY, "base": BASE, "ref": "1.0", "start": "2026-09-21", "end": None},
        {"overlay": "qixi", "base": BASE, "ref": "production", "start": None, "end": None},
    ]
    path = workspace.root / overlays.OVERLAYS_FILE
    path.write_text(json.dumps({"overlays": rows}, ensure_ascii=False), encoding="utf-8")
    listed = json.loads(cli("overlay", "list", "--json").stdout)
    # the file's new pair is added; the pair the database holds keeps the database's row
    assert [(r["overlay"], r["ref"], r["from"]) for r in listed] == [
        (OVERLAY, "1.0", "2026-09-21"),
        ("qixi", "1.0", None),
    ]
    assert not path.exists()
    (record,) = _records(workspace, "overlay_import")
    assert [a["overlay"] for a in json.loads(record.after or "{}")["overlays"]] == [OVERLAY]
    assert json.loads(record.after or "{}")["files"] == {overlays.OVERLAYS_FILE: None}
    assert overlays.import_file(workspace) == 0  # once: nothing left to import
    assert len(_records(workspace, "overlay_import")) == 1
    assert cli("audit", "verify").exit_code == 0


def test_an_unreadable_overlays_json_is_one_line_and_stays_where_it_is(
    workspace: Workspace, cli: Cli
) -> None:
    path = workspace.root / overlays.OVERLAYS_FILE
    path.write_text("{not json", encoding="utf-8")
    result = cli("overlay", "list", ok=False)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("sop: error: overlays.json: not an overlay list written by sopflow")
    assert path.exists() and _records(workspace, "overlay_import") == []


@pytest.mark.parametrize("ref", ["production", "9.9"])
def test_attaching_needs_both_sops_and_writes_nothing_when_refused(
    workspace: Workspace, cli: Cli, ref: str
) -> None:
    in_production(workspace, BASE, now=NOW)
    save_example_as(workspace, OVERLAY)  # saved, never promoted: no production alias
    result = cli("overlay", "attach", OVERLAY, "--base", BASE, "--ref", ref, ok=False)
    assert result.exit_code == 2 and OVERLAY in result.stderr
    assert overlays.attachments(workspace) == []
    assert _records(workspace, "overlay_attach") == []

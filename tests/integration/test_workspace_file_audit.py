"""The holiday schedule (in the database) and overlays.json change only through sopflow: every
`sop calendar set|import` and `sop overlay attach|detach` is an audit record (who with the OS
user, what changed, overlays.json's new SHA-256), and `sop audit verify` names a file edited by
hand in one line."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services import overlays
from services.calendar import CALENDAR_FILE, load_entered, set_day
from services.cli_identity import os_user
from services.workspace import Workspace
from sop_models.errors import AuditError
from tests.support.workspaces import Cli, in_production, save_example_as
from versions import audit

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _records(ws: Workspace, action: str) -> list[audit.AuditRecord]:
    with ws.session() as session:
        return audit.query(session, action=action)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_calendar_set_and_import_are_audited_with_who_and_what_changed(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    cli("calendar", "set", "2027-02-06", "holiday", "--name", "春节", "--by", "李经理")
    (record,) = _records(workspace, "calendar_set")
    assert record.actor == f"李经理 (os:{os_user()})"
    assert record.sop_id == "(workspace)"
    after = json.loads(record.after or "{}")
    assert after["days"] == {"2027-02-06": {"workday": False, "name": "春节"}}
    assert json.loads(record.before or "{}")["days"] == {"2027-02-06": None}
    assert not (workspace.root / CALENDAR_FILE).exists()  # the database holds the schedule
    csv = tmp_path / "h.csv"
    csv.write_text("date,type,name\n2027-02-06,休,春节\n2027-02-20,班,\n", encoding="utf-8")
    cli("calendar", "import", str(csv), "--by", "小王")
    (imported,) = _records(workspace, "calendar_import")
    changed = json.loads(imported.after or "{}")["days"]
    assert changed == {"2027-02-20": {"workday": True, "name": None}}  # 02-06 was already so
    assert "1 changed" in imported.note and imported.actor.startswith("小王 (os:")
    assert cli("audit", "verify").exit_code == 0


def test_overlay_attach_and_detach_are_audited_under_the_base_sop(
    workspace: Workspace, cli: Cli
) -> None:
    in_production(workspace, "mombaby-refined", now=NOW)
    save_example_as(workspace, "weekly-jielong")
    cli("overlay", "attach", "weekly-jielong", "--base", "mombaby-refined", "--ref", "1.0",
        "--from", "2026-09-21", "--by", "李经理")  # fmt: skip
    cli("overlay", "detach", "weekly-jielong", "--base", "mombaby-refined")
    attached, detached = _records(workspace, "overlay_attach") + _records(
        workspace, "overlay_detach"
    )
    assert attached.sop_id == detached.sop_id == "mombaby-refined"
    assert json.loads(attached.after or "{}")["overlay"]["start"] == "2026-09-21"
    assert json.loads(detached.after or "{}")["overlay"] is None
    assert detached.actor == f"{os_user()} (os:{os_user()})"  # no --by: the login name
    listed = cli("audit", "--sop", "mombaby-refined", "--action", "overlay_attach").output
    assert "李经理" in listed
    assert cli("audit", "verify").exit_code == 0


def test_an_overlays_json_nobody_audited_is_reported(workspace: Workspace, cli: Cli) -> None:
    rows = [{"overlay": "x", "base": "y", "ref": "production", "start": None, "end": None}]
    (workspace.root / overlays.OVERLAYS_FILE).write_text(
        json.dumps({"overlays": rows}), encoding="utf-8"
    )
    result = cli("audit", "verify", ok=False)
    assert "overlays.json was written outside sopflow: no audit record names it" in result.stderr


def test_a_calendar_write_whose_audit_record_fails_leaves_the_schedule_as_it_was(
    workspace: Workspace,
) -> None:
    set_day(workspace, day=datetime(2027, 2, 6).date(), workday=False, now=NOW)
    with pytest.raises(AuditError):  # an audit time must be aware: the append refuses
        set_day(workspace, day=datetime(2027, 2, 7).date(), workday=True, now=datetime(2027, 1, 1))
    assert list(load_entered(workspace)) == [datetime(2027, 2, 6).date()]
    assert len(_records(workspace, "calendar_set")) == 1


def test_doctor_reports_an_overlays_json_written_by_hand_until_sopflow_moves_it_in(
    workspace: Workspace, cli: Cli
) -> None:
    in_production(workspace, "mombaby-refined", now=NOW)
    save_example_as(workspace, "weekly-jielong")
    cli("overlay", "attach", "weekly-jielong", "--base", "mombaby-refined", "--ref", "1.0")
    (line,) = [x for x in cli("doctor", ok=False).stdout.splitlines() if "workspace files" in x]
    assert line.startswith("ok  workspace files: ")
    rows = [{"overlay": "weekly-jielong", "base": "mombaby-refined", "ref": "production"}]
    path = workspace.root / overlays.OVERLAYS_FILE  # attachments live in the database now
    path.write_text(json.dumps({"overlays": rows}), "utf-8")
    (line,) = [x for x in cli("doctor", ok=False).stdout.splitlines() if "overlays.json was" in x]
    assert line.startswith("problem  workspace files: overlays.json was written outside sopflow")
    listed = json.loads(cli("overlay", "list", "--json").stdout)  # moves it in (audited)
    assert [r["ref"] for r in listed] == ["1.0"]  # the database's row wins
    (line,) = [x for x in cli("doctor", ok=False).stdout.splitlines() if "workspace files" in x]
    assert line.startswith("ok  workspace files: ")

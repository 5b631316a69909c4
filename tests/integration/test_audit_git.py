"""`sop audit verify` covers everything git holds for us (tag objects and types, evidence
notes, a head anchor), and `sop audit repair` mends a save that crashed between git and the
audit trail. Tampering is done with plain git and SQL, as an attacker would."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from services.workspace import Workspace
from tests.support.examples import example_text, modified
from tests.support.workspaces import EXAMPLES, Cli
from versions import audit, services
from versions.numbering import Version

SOP = "mombaby-refined"
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def git(ws: Workspace, *args: str, **env: str) -> str:
    identity = {
        "GIT_COMMITTER_NAME": "x",
        "GIT_COMMITTER_EMAIL": "x@x",
        "GIT_AUTHOR_NAME": "x",
        "GIT_AUTHOR_EMAIL": "x@x",
        **env,
    }
    return subprocess.run(
        ["git", "--git-dir", str(ws.root / "store.git"), *args],
        capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ws.root), **identity},
    ).stdout.strip()  # fmt: skip


def findings(cli: Cli) -> str:
    result = cli("audit", "verify", ok=False)
    assert result.exit_code == 2, result.output
    return result.stderr


@pytest.fixture
def saved(workspace: Workspace, cli: Cli) -> Workspace:
    cli("save", str(EXAMPLES / f"{SOP}.yaml"), "--author", "小王", "-m", "首版")
    cli("promote", SOP, "1.0", "--approver", "李经理")
    assert "intact" in cli("audit", "verify").output
    return workspace


def test_a_tag_re_made_on_the_same_commit_with_another_tagger_shows(
    saved: Workspace, cli: Cli
) -> None:
    commit = git(saved, "rev-parse", f"{SOP}/v1.0^{{commit}}")
    git(saved, "tag", "-a", "-f", f"{SOP}/v1.0", commit, "-m", "v1.0: 李经理写的",
        GIT_COMMITTER_NAME="李经理")  # fmt: skip
    assert f"git ref refs/tags/{SOP}/v1.0 holds object" in findings(cli)
    assert "tag re-made" in findings(cli)


def test_evidence_notes_rewritten_with_git_notes_show(saved: Workspace, cli: Cli) -> None:
    info = saved.store.resolve(SOP, "1.0")
    services.attach_evidence(saved.uow(), sop_id=SOP, version="1.0", actor="小王",
                             evidence={"summary": "首周打开率 41%"}, now=NOW)  # fmt: skip
    assert "intact" in cli("audit", "verify").output
    git(saved, "notes", "--ref=evidence", "add", "-f", "-m", '{"summary":"改过的"}', info.commit)
    assert "evidence notes rewritten" in findings(cli)


def test_the_last_record_deleted_with_the_head_moved_back_shows(saved: Workspace, cli: Cli) -> None:
    with saved.session() as session:  # a record that changes no ref
        audit.append(session, actor="小王", action="note", sop_id=SOP, version=None,
                     before=None, after=None, note="备注", now=NOW)  # fmt: skip
        session.commit()
    assert "intact" in cli("audit", "verify").output
    with saved.engine.begin() as connection:
        last, previous = connection.execute(
            text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 2")
        ).all()
        connection.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": last[0]})
        connection.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash"),
                           {"seq": previous[0], "hash": previous[1]})  # fmt: skip
    assert f"says the chain reached seq {last[0]}" in findings(cli)


def test_a_lightweight_tag_is_reported_and_never_read_as_a_version(
    saved: Workspace, cli: Cli
) -> None:
    commit = git(saved, "rev-parse", f"{SOP}/v1.0^{{commit}}")
    git(saved, "update-ref", f"refs/tags/{SOP}/v1.0", commit)
    assert "is a lightweight tag" in findings(cli)
    result = cli("log", SOP, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("sop: error: ") and "lightweight tag" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def crash_after_git_write(ws: Workspace) -> None:
    """What a save killed between its git write and its audit record leaves behind."""
    text2 = modified(example_text(SOP), lambda d: d.update(title="宝妈成长营 第二版"))
    with ws.store.lock():
        ws.store.write_version(sop_id=SOP, version=Version(1, 1), content=text2,
                               author="小王", message="v1.1: 第二版", at=NOW)  # fmt: skip


def test_repair_records_the_tag_of_a_crashed_save_as_recovered(saved: Workspace, cli: Cli) -> None:
    crash_after_git_write(saved)
    assert f"git ref refs/tags/{SOP}/v1.1 points at" in findings(cli)

    out = cli("audit", "repair", "--by", "李经理").output
    assert f"recorded refs/tags/{SOP}/v1.1 (recovered)" in out and "intact" in out
    [record] = [r for r in audit_rows(cli) if r["version"] == "1.1"]
    assert (record["actor"], record["action"]) == ("小王", "save")
    assert record["after"]["recovered"] is True and "recovered by 李经理" in record["note"]
    assert "v1.1" in cli("log", SOP).output


def test_repair_can_remove_the_orphan_tag_so_the_save_can_be_made_again(
    saved: Workspace, cli: Cli
) -> None:
    crash_after_git_write(saved)
    out = cli("audit", "repair", "--by", "李经理", "--remove").output
    assert f"removed refs/tags/{SOP}/v1.1" in out and "intact" in out
    assert "v1.1" not in cli("log", SOP).output
    assert [r["action"] for r in audit_rows(cli)][-1] == "repair"


def test_repair_re_anchors_a_head_written_before_anchors_existed(
    saved: Workspace, cli: Cli
) -> None:
    git(saved, "update-ref", "-d", "refs/sopflow/audit-head")
    assert "is behind (seq 0 of" in findings(cli)
    assert "anchored the audit head" in cli("audit", "repair", "--by", "李经理").output
    assert "intact" in cli("audit", "verify").output


def audit_rows(cli: Cli) -> list[dict[str, Any]]:
    return list(json.loads(cli("audit", "--json").output))

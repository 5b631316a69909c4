"""The check flow end to end: decide on simulated events, pause, `sop approve` / `sop decline`.

Against the session's real Prefect server (`prefect_server`). A real workspace runs an
experiment: V2.0 (new welcome, open rate as primary metric) on half of 16 groups for 10 days.
Each day is planned with the playbook services and sent through the outbox channel, a seeded
simulator answers with events, and the events are imported. The check flow runs in a
background thread; the test approves or declines its paused run through the real CLI.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.objects import StateType

from flows.approval import paused_runs
from flows.check import check
from flows.runtime import PrefectServer
from services.workspace import Workspace, open_workspace
from tests.support.experiments import (
    APPROVER,
    AUTHOR,
    BETTER,
    GROUPS,
    SOP,
    WINDOW,
    WORSE,
    build_experiment,
    copy_of_experiment,
)
from tests.support.waiting import wait_until
from tests.support.workspaces import Cli
from versions import audit

pytestmark = pytest.mark.e2e

CHANGELOG = re.compile(  # the changelog line in the default language (Chinese)
    r"v2\.0：新欢迎语 — 消息打开率 (?P<lift>[+-]\d+\.\d)%（\d+\.\d% → \d+\.\d%），"
    r"95% 置信区间 \[[+-]\d+\.\d%, [+-]\d+\.\d%\]，(?P<base>\d+)\+(?P<cand>\d+) 个群，10 天"
)


def by_cli(actor: str) -> bool:
    """The approver as `sop approve/decline` records them: typed name, then the OS user."""
    return re.fullmatch(rf"{APPROVER} \(os:[^()]+\)", actor) is not None


@pytest.fixture(scope="module")
def better_experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished experiment where V2.0 clearly lifts the open rate (copied per test)."""
    return copy_of_experiment(tmp_path_factory.mktemp("better") / "ws", BETTER, tmp_path_factory)


@pytest.fixture
def better(better_experiment: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(better_experiment, tmp_path / "ws"))


class CheckInBackground:
    """The check flow running in a thread, as `sop check` would run it on a server."""

    def __init__(self, root: Path) -> None:
        self.outcome: list[Any] = []
        self.before = {r.id for r in paused_runs()}
        self.thread = threading.Thread(target=self._run, args=(root,), daemon=True)
        self.thread.start()

    def _run(self, root: Path) -> None:
        try:
            self.outcome.append(
                check(
                    workspace=str(root),
                    sop=SOP,
                    sequential=False,
                    poll_interval_s=1,
                    approval_timeout_s=120,
                    **WINDOW,
                )
            )
        except BaseException as err:  # reported by result()
            self.outcome.append(err)

    def paused_run(self) -> UUID:
        """The id of this check run once it waits for approval."""

        def waiting() -> UUID | None:
            if self.outcome:
                raise AssertionError(f"check ended without pausing: {self.outcome[0]!r}")
            new = [
                r
                for r in paused_runs()
                if r.flow_name == "check" and r.waits_for_approval and r.id not in self.before
            ]
            return new[0].id if new else None

        return wait_until(waiting, timeout=60, what="the check run to pause for approval")

    def result(self) -> dict[str, Any]:
        self.thread.join(90)
        assert not self.thread.is_alive(), "check flow did not finish after the decision"
        [outcome] = self.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def state_types(run_id: UUID | str) -> list[StateType]:
    with get_client(sync_client=True) as client:
        return [s.type for s in client.read_flow_run_states(UUID(str(run_id)))]


def audit_trail(ws: Workspace) -> list[audit.AuditRecord]:
    with ws.session() as session:
        return audit.query(session, sop_id=SOP)


def evidence(ws: Workspace, version: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ws.store.evidence(ws.store.resolve(SOP, version))]


def test_approved_check_promotes_with_the_measured_changelog(
    prefect_server: PrefectServer, better: Path
) -> None:
    cli = Cli(better)
    run = CheckInBackground(better)
    run_id = run.paused_run()
    listed = json.loads(cli("paused", "--json").stdout)
    assert {"id": str(run_id), "flow": "check"}.items() <= next(
        r for r in listed if r["id"] == str(run_id)
    ).items()

    approved = cli("approve", str(run_id), "--approver", APPROVER)
    result = run.result()

    assert f"运行 {run_id} 已由 {APPROVER} 批准" in approved.stdout
    assert (result["decision"], result["promoted"]) == ("PROMOTE", True)
    assert by_cli(result["approver"])
    assert result["run_id"] == str(run_id)
    assert state_types(run_id)[-1] == StateType.COMPLETED
    assert StateType.PAUSED in state_types(run_id)
    changelog = CHANGELOG.fullmatch(result["changelog"])
    assert changelog is not None, result["changelog"]
    assert float(changelog["lift"]) > 0
    assert int(changelog["base"]) + int(changelog["cand"]) == GROUPS
    with open_workspace(better) as ws:
        aliases = {name: str(v) for name, v in ws.store.aliases(SOP).items()}
        assert aliases == {"production": "2.0"}  # the candidate alias went with the promotion
        v2 = ws.store.resolve(SOP, "2.0")
        assert v2.message == result["changelog"]
        [note] = evidence(ws, "2.0")
        assert (note["decision"], note["summary"]) == ("PROMOTE", result["changelog"])
        assert note["window"] == [WINDOW["start"], WINDOW["end"]]
        trail = audit_trail(ws)
        assert [r.action for r in trail[-3:]] == ["approval", "evidence", "promote"]
        approval, _, promote = trail[-3:]
        assert by_cli(approval.actor) and approval.version == "2.0"
        assert json.loads(approval.after)["run_id"] == str(run_id)
        assert by_cli(promote.actor) and promote.note == result["changelog"]
    assert "audit trail intact" in cli("audit", "verify").stdout
    assert str(run_id) not in cli("paused", "--json").stdout
    # Promotion rewrites the tag message only: V2.0 is still the author's version.
    assert v2.author == AUTHOR


def test_declined_check_leaves_production_and_records_the_reason(
    prefect_server: PrefectServer, better: Path
) -> None:
    cli = Cli(better)
    run = CheckInBackground(better)
    run_id = run.paused_run()

    declined = cli("decline", str(run_id), "--approver", APPROVER, "--reason", "样本太小")
    result = run.result()

    assert f"运行 {run_id} 已被 {APPROVER} 驳回：样本太小" in declined.stdout
    assert (result["decision"], result["approved"], result["promoted"]) == ("PROMOTE", False, False)
    with open_workspace(better) as ws:
        aliases = {name: str(v) for name, v in ws.store.aliases(SOP).items()}
        assert aliases == {"production": "1.0", "candidate": "2.0"}
        assert ws.store.resolve(SOP, "2.0").message == "v2.0: 新欢迎语"
        trail = audit_trail(ws)
        [decline] = [r for r in trail if r.action == "decline"]
        assert by_cli(decline.actor) and (decline.version, decline.note) == ("2.0", "样本太小")
        assert json.loads(decline.after)["approved"] is False
        assert [r.version for r in trail if r.action == "promote"] == ["1.0"]
        assert [n["decision"] for n in evidence(ws, "2.0")] == ["PROMOTE"]
    assert "audit trail intact" in cli("audit", "verify").stdout


def test_author_approving_own_candidate_neither_promotes_nor_ends_the_wait(
    prefect_server: PrefectServer, better: Path
) -> None:
    cli = Cli(better)
    run = CheckInBackground(better)
    run_id = run.paused_run()

    cli("approve", str(run_id), "--approver", AUTHOR, ok=False)

    # Four eyes: the author's word is no approval, so the run must still wait for one.
    wait_until(
        lambda: run.outcome or any(r.id == run_id and r.waits_for_approval for r in paused_runs()),
        timeout=10,
        what="the run to wait for an approver other than the author",
    )
    assert not run.outcome, f"the author's approval ended the check run: {run.outcome[0]!r}"
    with open_workspace(better) as ws:
        assert [r.actor for r in audit_trail(ws) if r.action == "approval"] == []
    cli("approve", str(run_id), "--approver", APPROVER)
    assert run.result()["promoted"] is True


def test_clearly_worse_candidate_is_rejected_without_pausing(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    build_experiment(root, WORSE)

    # A wrong PROMOTE would pause; the short timeout turns that into a failure, not a hang.
    result = check(
        workspace=str(root),
        sop=SOP,
        sequential=False,
        poll_interval_s=1,
        approval_timeout_s=5,
        **WINDOW,
    )

    assert (result["decision"], result["rejected"], result["promoted"]) == ("REJECT", True, False)
    assert any("显著变差" in reason for reason in result["reasons"])
    assert StateType.PAUSED not in state_types(result["run_id"])
    assert state_types(result["run_id"])[-1] == StateType.COMPLETED
    with open_workspace(root) as ws:
        aliases = {name: str(v) for name, v in ws.store.aliases(SOP).items()}
        assert aliases == {"production": "1.0"}
        [note] = evidence(ws, "2.0")
        assert (note["decision"], note["summary"]) == ("REJECT", result["changelog"])
        trail = audit_trail(ws)
        assert [(r.action, r.actor) for r in trail[-2:]] == [
            ("evidence", "sopflow-check"),
            ("reject", "sopflow-check"),
        ]
    assert "audit trail intact" in Cli(root)("audit", "verify").stdout

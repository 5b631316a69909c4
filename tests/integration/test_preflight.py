"""Preconditions checked before any flow run starts: one-line errors, nothing started."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services import preflight
from services.workspace import Workspace
from sop_models.errors import (
    ApprovalError,
    CheckError,
    PrefectApiError,
    SopflowError,
    VersionNotFound,
)
from tests.support.workspaces import example_text, modified
from versions import services

NOW = datetime(2026, 9, 1, tzinfo=UTC)
SOP = "mombaby-refined"


def save(ws: Workspace, title: str, *, major: bool = False) -> None:
    text = modified(example_text(SOP), lambda d: d.update(title=title))
    services.save_version(
        ws.uow(),
        text=text,
        source="sop.yaml",
        author="运营小王",
        message=title,
        major=major,
        now=NOW,
    )


def one_line(err: pytest.ExceptionInfo[SopflowError]) -> str:
    [line] = str(err.value).splitlines()
    return line


def test_check_needs_a_known_sop(workspace: Workspace) -> None:
    with pytest.raises(VersionNotFound) as err:
        preflight.for_check(workspace, sop_id="nosuch")
    assert one_line(err) == (
        "no SOP 'nosuch' in the store (the store is empty: save one with `sop save FILE`)"
    )


def test_check_needs_a_candidate_then_production(workspace: Workspace) -> None:
    save(workspace, "首版")
    with pytest.raises(CheckError, match=f"^{SOP}: no candidate to check") as err:
        preflight.for_check(workspace, sop_id=SOP)
    one_line(err)

    save(workspace, "新版", major=True)
    services.set_candidate(workspace.uow(), sop_id=SOP, version="2.0", actor="运营小王", now=NOW)
    with pytest.raises(CheckError, match="no production version to check the candidate against"):
        preflight.for_check(workspace, sop_id=SOP)

    services.promote(
        workspace.uow(),
        sop_id=SOP,
        version="1.0",
        approver="李经理",
        policy=workspace.policy,
        now=NOW,
    )
    preflight.for_check(workspace, sop_id=SOP)


def test_run_refuses_an_unknown_playbook() -> None:
    assert preflight.for_run(playbook="mature_day") == "mature_day"
    with pytest.raises(SopflowError, match="unknown playbook 'weekly_magic'"):
        preflight.for_run(playbook="weekly_magic")


@pytest.mark.parametrize("run_id", ["run-42", "", "0b6c7c3e"])
def test_a_malformed_run_id_is_refused_before_asking_prefect(
    workspace: Workspace, run_id: str
) -> None:
    with pytest.raises(ApprovalError, match="is not a flow run id"):
        preflight.for_approval(workspace, run_id=run_id, approver="李经理")
    with pytest.raises(ApprovalError, match="is not a flow run id"):
        preflight.for_decline(workspace, run_id=run_id, reason="样本太小")


def test_a_decline_needs_a_reason_and_an_approval_an_approver(workspace: Workspace) -> None:
    run_id = "0b6c7c3e-0000-4000-8000-000000000000"
    with pytest.raises(ApprovalError, match="a decline needs a reason"):
        preflight.for_decline(workspace, run_id=run_id, reason="  ")
    with pytest.raises(ApprovalError, match="--approver must not be empty"):
        preflight.for_approval(workspace, run_id=run_id, approver=" ")


def test_an_unreachable_prefect_server_is_a_prefect_api_error_not_a_bad_run_id(
    workspace: Workspace,
) -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    closed_port = {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    with (
        temporary_settings(closed_port),
        pytest.raises(
            PrefectApiError, match=r"^cannot reach the Prefect server at http://127\.0\.0\.1:9"
        ),
    ):
        preflight.for_decline(
            workspace, run_id="0b6c7c3e-0000-4000-8000-000000000000", reason="样本太小"
        )

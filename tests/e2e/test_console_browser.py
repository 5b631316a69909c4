"""The ops console in a real Chromium (Playwright): a lead approves a paused check run after
opening the diff, the version's author cannot, and an operator on a 375x667 phone marks a hand
post done. Screenshots of every page (the admin's users and settings pages too) are kept under
test-artifacts/console/. Over HTTP: the
approvals inbox draws a paused run's CI chart with every metric of its evidence."""

from __future__ import annotations

import json
import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import ledger
from flows.approval import paused_runs
from flows.check import check
from flows.runtime import PrefectServer
from services import audit_trail
from services.accounts import add_user
from services.workspace import Workspace, open_workspace
from tests.support.browser import artifacts_dir, browser_page, log_in_page, serving
from tests.support.console import (
    PASSWORD,
    client,
    csrf_of,
    log_in,
    with_accounts,
    with_planned_hand_posts,
)
from tests.support.experiments import APPROVER, AUTHOR, BETTER, SOP, WINDOW, copy_of_experiment
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_of_experiment(tmp_path_factory.mktemp("console") / "ws", BETTER, tmp_path_factory)


def _check_in_background(root: Path) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(
                check(
                    workspace=str(root),
                    sop=SOP,
                    sequential=False,
                    poll_interval_s=1,
                    approval_timeout_s=180,
                    **WINDOW,
                )
            )
        except BaseException as err:
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _paused_check() -> str:
    def found() -> str | None:
        runs = [r for r in paused_runs() if r.flow_name == "check" and r.waits_for_approval]
        return str(runs[0].id) if runs else None

    return wait_until(found, timeout=90, what="the check run to pause for approval")


def test_a_lead_opens_the_diff_and_approves_a_paused_check_run_the_author_cannot(
    prefect_server: PrefectServer, experiment: Path, tmp_path: Path, request: Any
) -> None:
    root = Path(shutil.copytree(experiment, tmp_path / "ws"))
    shots = artifacts_dir(request.node.name)
    ws = open_workspace(root)
    for name, role in ((APPROVER, "lead"), (AUTHOR, "lead"), ("管理员", "admin")):
        add_user(
            ws, name=name, role=role, password=PASSWORD, actor="os:test", now=datetime.now(UTC)
        )
    thread, outcome = _check_in_background(root)
    run_id = _paused_check()
    with serving(ws) as base, browser_page() as page:
        # The version's author is refused, and the run keeps waiting.
        log_in_page(page, base, AUTHOR, PASSWORD)
        page.goto(f"{base}/approvals")
        page.screenshot(path=shots / "approvals.png", full_page=True)
        card = page.locator("section.card", has_text=run_id)
        assert card.get_by_role("img", name=re.compile("95% 置信区间")).is_visible()
        card.locator("form", has_text="批准并升级").get_by_label("我确认此操作").check()
        card.get_by_role("button", name="批准并升级").click()
        page.wait_for_load_state()
        assert "必须由另一个人批准" in page.inner_text("main")
        page.screenshot(path=shots / "author-refused.png", full_page=True)
        assert not outcome
        assert str(ws.store.aliases(SOP)["production"]) == "1.0"
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_load_state()

        # The lead reads the SOP list, the history and the diff, then approves.
        log_in_page(page, base, APPROVER, PASSWORD)
        assert page.get_by_role("heading", name="SOP 列表").is_visible()
        page.screenshot(path=shots / "sops.png", full_page=True)
        page.get_by_role("link", name=SOP).click()
        page.wait_for_load_state()
        page.screenshot(path=shots / "history.png", full_page=True)
        page.get_by_label("从").select_option("1.0")
        page.get_by_label("到").select_option("2.0")
        page.get_by_role("button", name="对比").click()
        page.wait_for_load_state()
        assert "kpis.targets[0].metric" in page.inner_text("main")  # open rate comes first
        page.screenshot(path=shots / "diff.png", full_page=True)
        page.goto(f"{base}/sops/{SOP}/v/2.0")
        page.screenshot(path=shots / "version.png", full_page=True)
        page.goto(f"{base}/approvals")
        card = page.locator("section.card", has_text=run_id)
        card.locator("form", has_text="批准并升级").get_by_label("我确认此操作").check()
        card.get_by_role("button", name="批准并升级").click()
        page.wait_for_load_state()
        thread.join(120)
        assert outcome and not isinstance(outcome[0], BaseException), outcome
        assert str(ws.store.aliases(SOP)["production"]) == "2.0"
        page.goto(f"{base}/audit")
        assert "审计链完整" in page.inner_text("main")
        page.screenshot(path=shots / "audit.png", full_page=True)
        page.goto(f"{base}/sops/{SOP}/v/2.0")  # now with the check's evidence
        evidence = page.get_by_role("region", name="证据")
        assert evidence.get_by_role("img", name=re.compile("95% 置信区间")).is_visible()
        evidence.screenshot(path=shots / "version-evidence.png")
        _lead_pages(page, base, shots)
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_load_state()
        log_in_page(page, base, "管理员", PASSWORD)
        for path, name in (("/admin/users", "users"), ("/admin/settings", "settings")):
            page.goto(f"{base}{path}")
            assert page.get_by_role("heading", level=1).is_visible()
            page.screenshot(path=shots / f"{name}.png", full_page=True)
    approvals = audit_trail.records(ws, sop_id=SOP, action="approval")
    promotes = audit_trail.records(ws, sop_id=SOP, action="promote")
    assert approvals[-1].actor == APPROVER
    assert (promotes[-1].actor, promotes[-1].version) == (APPROVER, "2.0")
    ws.close()


def _lead_pages(page: Any, base: str, shots: Path) -> None:
    """Screenshots of the lead pages the approval did not pass through."""
    page.goto(f"{base}/groups")
    page.screenshot(path=shots / "groups.png", full_page=True)
    page.locator("main table a").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).is_visible()
    page.screenshot(path=shots / "group-edit.png", full_page=True)
    for path, name in (
        ("/groups/import", "group-import"),
        (f"/sops/{SOP}/week", "week"),
        (f"/sops/{SOP}/kpis", "kpis"),
    ):
        page.goto(f"{base}{path}")
        page.screenshot(path=shots / f"{name}.png", full_page=True)
    answer = page.goto(f"{base}/sops/{SOP}/v/9.9")
    assert answer is not None and answer.status == 400
    assert page.get_by_role("alert").is_visible()
    page.screenshot(path=shots / "error.png", full_page=True)


def test_the_inbox_draws_a_paused_check_runs_ci_chart_with_every_metric_of_its_evidence(
    prefect_server: PrefectServer, experiment: Path, tmp_path: Path
) -> None:
    root = Path(shutil.copytree(experiment, tmp_path / "ws"))
    ws = open_workspace(root)
    add_user(ws, name=APPROVER, role="lead", password=PASSWORD, actor="os:t", now=datetime.now(UTC))
    thread, outcome = _check_in_background(root)
    run_id = _paused_check()
    web = client(ws)
    log_in(web, APPROVER)

    page = web.get("/approvals").text
    card = page[page.index(f'id="run-{run_id}"') :]
    card = card[: card.index("</section>")]
    svg = re.search(r'<svg class="chart forest".*?</svg>', card, re.S)
    caption = re.search(r"<figcaption.*?</figcaption>", card, re.S)
    web.post(
        f"/approvals/{run_id}/decline",
        data={"csrf": csrf_of(page), "reason": "先看图", "confirm": "yes"},
    )
    thread.join(120)

    assert outcome and not isinstance(outcome[0], BaseException), outcome
    # What the chart must show is what the check concluded on: the evidence note of V2.0.
    [note] = [json.loads(line) for line in ws.store.evidence(ws.store.resolve(SOP, "2.0"))]
    names = [m["name"] for m in note["check"]["metrics"]]
    assert names[0] == "open_rate" and len(names) > 1
    assert svg is not None and caption is not None, card
    assert re.search(r'<figure class="forest" aria-describedby="ci-[^"]+">', card)
    for m in note["check"]["metrics"]:
        assert f"{m['name']} · " in svg.group(0)
        assert m["name"] in caption.group(0)
    ws.close()


def test_the_inbox_lists_only_the_paused_check_runs_of_its_own_workspace(
    prefect_server: PrefectServer, experiment: Path, tmp_path: Path
) -> None:
    roots = [Path(shutil.copytree(experiment, tmp_path / name)) for name in ("ws", "other")]
    spaces = [open_workspace(root) for root in roots]
    for ws in spaces:
        add_user(
            ws, name=APPROVER, role="lead", password=PASSWORD, actor="os:t", now=datetime.now(UTC)
        )
    thread, outcome = _check_in_background(roots[0])
    run_id = _paused_check()
    own, other = client(spaces[0]), client(spaces[1])
    for web in (own, other):
        log_in(web, APPROVER)

    own_page, other_page = own.get("/approvals").text, other.get("/approvals").text
    own.post(
        f"/approvals/{run_id}/decline",
        data={"csrf": csrf_of(own_page), "reason": "只看范围", "confirm": "yes"},
    )
    thread.join(120)

    assert f'id="run-{run_id}"' in own_page
    assert run_id not in other_page
    assert outcome and not isinstance(outcome[0], BaseException), outcome
    for ws in spaces:
        ws.close()


def test_an_operator_on_a_phone_marks_a_hand_post_done(workspace: Workspace, request: Any) -> None:
    shots = artifacts_dir(request.node.name)
    ws = with_planned_hand_posts(with_accounts(workspace))  # planned only: no run, no ledger
    with client(ws):
        pass  # migrations and signing key in place before the server thread starts
    with serving(ws) as base, browser_page(375, 667) as page:
        page.goto(f"{base}/login")
        page.screenshot(path=shots / "login-375.png", full_page=True)
        log_in_page(page, base, "阿芳", PASSWORD)
        assert page.url.endswith("/tasks")
        post = page.get_by_role("article", name="阿芳的福利群 20:00").first  # today's 晚间福利
        assert "晚间福利来啦" in post.inner_text()
        assert post.get_by_role("button", name="复制文案").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the phone page scrolls sideways ({width} px)"
        page.screenshot(path=shots / "tasks-375.png", full_page=True)
        post.get_by_role("button", name="已发送").click()
        page.wait_for_load_state()
        assert "已记录" in page.inner_text("main")
        page.screenshot(path=shots / "tasks-done-375.png", full_page=True)
    with ws.session() as session:
        [row] = ledger.list_deliveries(session)  # the planned post's row, made by "done"
    assert (row.status, row.done_by, row.slot) == (ledger.DONE, "阿芳", "columns.evening-welfare")

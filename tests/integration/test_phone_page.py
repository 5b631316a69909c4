"""The phone page built from the plan: posts before any run, internal tasks apart, "done"
through the CLI's rule (a planned post gets its ledger row), failed sends in any language."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from engine import ledger
from engine.channels import DeliveryResult
from engine.dispatch import dispatch
from services.accounts import User, get_user
from services.hand_posts import day_work
from services.today import day_actions
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sop_models.i18n import use_language
from tests.support.console import client, csrf_of, log_in, with_accounts, with_planned_hand_posts

MONTH_END = date(2026, 9, 30)  # a workday and the month's end (the RFM task's day)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return with_planned_hand_posts(with_accounts(workspace))


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        yield c


def _fang(ws: Workspace) -> User:
    user = get_user(ws, "阿芳")
    assert user is not None
    return user


def test_the_page_lists_todays_and_tomorrows_planned_posts_before_any_run(
    web: TestClient, ws: Workspace
) -> None:
    log_in(web, "阿芳")
    html = web.get("/tasks").text
    today = datetime.now(UTC).astimezone(ws.settings.zone).date()
    for day in (today, today + timedelta(days=1)):
        assert f"mombaby-refined:1.0:g-fang:columns.evening-welfare:{day}" in html
    assert "晚间福利" in html and "columns.evening-welfare" not in html.split("value=")[0]
    assert "阿芳的福利群" in html and "别人的群" not in html
    assert "没有待办" not in html.split("<h2")[1]  # today is not empty
    with ws.session() as session:
        assert ledger.list_deliveries(session) == []


def test_done_on_a_planned_post_with_no_ledger_row_records_it_judged_early(
    web: TestClient, ws: Workspace
) -> None:
    tomorrow = datetime.now(UTC).astimezone(ws.settings.zone).date() + timedelta(days=1)
    key = f"mombaby-refined:1.0:g-fang:columns.evening-welfare:{tomorrow}"
    log_in(web, "阿芳")
    csrf = csrf_of(web.get("/tasks").text)
    answer = web.post("/tasks/done", data={"csrf": csrf, "key": key})
    assert answer.status_code == 303
    with ws.session() as session:
        row = ledger.get_deliveries(session, [key])[key]
    assert (row.status, row.done_by) == (ledger.DONE, "阿芳")
    after = web.get(answer.headers["location"]).text
    assert "已记录：阿芳的福利群 · 晚间福利 · 提前，不算准时" in after.replace(": ", "：")
    assert f'value="{key}"' not in after  # done: no longer listed
    other = f"mombaby-refined:1.0:g-other:columns.evening-welfare:{tomorrow}"
    assert web.post("/tasks/done", data={"csrf": csrf, "key": other}).status_code == 403
    typo = f"mombaby-refined:1.0:g-fang:columns.evening-welfar:{tomorrow}"
    assert web.post("/tasks/done", data={"csrf": csrf, "key": typo}).status_code == 403
    with ws.session() as session:
        assert [r.key for r in ledger.list_deliveries(session)] == [key]


def test_month_end_rfm_lists_are_internal_tasks_never_posts(ws: Workspace) -> None:
    work = day_work(ws, user=_fang(ws), day=MONTH_END)
    assert [(r["post"], r["group"]) for r in work.posts] == [
        ("育儿干货", "g-fang"),
        ("妈妈话题", "g-fang"),
        ("晚间福利", "g-fang"),
    ]
    assert sorted((r["post"], r["group"]) for r in work.internal) == [
        ("月末 RFM 分层", "g-fang"),
        ("月末 RFM 分层", "g-robot"),
    ]
    assert all(r["text"] for r in work.posts)
    assert not any(r["kind"] == "rfm" for r in work.posts + work.other)


class Failing:
    """A console channel whose every send fails."""

    name = "console"

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        return [DeliveryResult(a.key, "failed", error="scripted failure") for a in actions]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_send_that_failed_for_good_is_a_post_by_hand_in_any_language(
    ws: Workspace, language: str
) -> None:
    actions, _ = day_actions(ws, MONTH_END)
    [morning] = [
        a for a, _ in actions if (a.group_id, a.slot) == ("g-robot", "columns.morning-knowledge")
    ]
    for minute in range(ledger.MAX_ATTEMPTS):
        dispatch(ws.session, Failing(), [morning], now=morning.at + timedelta(minutes=minute))
    with use_language(language):
        work = day_work(ws, user=_fang(ws), day=MONTH_END)
    failed = [(r["group"], r["status"], r["todo"]) for r in work.posts if r["group"] == "g-robot"]
    todo = {"zh": "发送失败，手动补发", "en": "failed: post by hand"}[language]
    assert failed == [("g-robot", ledger.FAILED, todo)]
    assert work.other == []

"""The operator's phone page over HTTP: their groups' hand posts, "done" into the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from engine import ledger
from services.workspace import Workspace
from tests.support.console import POSTS, client, csrf_of, log_in, with_accounts, with_hand_posts


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return with_accounts(workspace)


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        yield c


def test_an_operator_sees_the_exact_text_of_their_groups_posts_only(
    web: TestClient, ws: Workspace
) -> None:
    with_hand_posts(ws, now=datetime.now(UTC))
    log_in(web, "阿芳")
    html = web.get("/tasks").text
    assert "阿芳的福利群" in html
    assert "今晚 20:00 会员福利：&lt;b&gt;湿巾&lt;/b&gt;买一送一 ✨" in html
    assert POSTS["g-other"][0] not in html


def test_done_records_the_operator_and_time_in_the_ledger(web: TestClient, ws: Workspace) -> None:
    keys = with_hand_posts(ws, now=datetime.now(UTC))
    log_in(web, "阿芳")
    csrf = csrf_of(web.get("/tasks").text)
    answer = web.post("/tasks/done", data={"csrf": csrf, "key": keys["g-fang"]})
    assert answer.status_code == 303
    assert "verdict=early" in answer.headers["location"]  # due in an hour: posted early
    with ws.session() as session:
        row = ledger.get_deliveries(session, [keys["g-fang"]])[keys["g-fang"]]
    assert (row.status, row.done_by) == (ledger.DONE, "阿芳")
    after = web.get(answer.headers["location"]).text
    assert "已记录" in after and "提前，不算准时" in after
    assert keys["g-fang"] not in after  # done: no longer listed


def test_an_operator_cannot_mark_another_groups_post_done(web: TestClient, ws: Workspace) -> None:
    keys = with_hand_posts(ws, now=datetime.now(UTC))
    log_in(web, "阿芳")
    csrf = csrf_of(web.get("/tasks").text)
    assert web.post("/tasks/done", data={"csrf": csrf, "key": keys["g-other"]}).status_code == 403
    with ws.session() as session:
        row = ledger.get_deliveries(session, [keys["g-other"]])[keys["g-other"]]
    assert row.status != ledger.DONE


def test_the_groups_page_filters_by_owner_and_search_for_leads_only(
    web: TestClient, ws: Workspace
) -> None:
    with_hand_posts(ws, now=datetime.now(UTC))
    log_in(web, "阿芳")
    assert web.get("/groups").status_code == 403
    log_in(web, "李经理")
    every = web.get("/groups").text
    assert "阿芳的福利群" in every and "别人的群" in every
    mine = web.get("/groups", params={"owner": "阿芳"}).text
    assert "阿芳的福利群" in mine and "别人的群" not in mine
    found = web.get("/groups", params={"q": "别人"}).text
    assert "别人的群" in found and "阿芳的福利群" not in found


def test_the_week_view_lists_each_days_planned_posts_of_a_group(
    web: TestClient, ws: Workspace
) -> None:
    from tests.support.console import with_versions

    with_versions(ws)
    with_hand_posts(ws, now=datetime.now(UTC))
    log_in(web, "李经理")
    html = web.get(
        "/sops/mombaby-refined/week", params={"group": "g-fang", "start": "2026-09-07"}
    ).text
    for day in ("2026-09-07", "2026-09-13"):
        assert f'<h2 id="d-{day}">{day}</h2>' in html
    assert "g-fang" in html and "columns." in html
    assert web.get("/sops/mombaby-refined/week", params={"start": "tomorrow"}).status_code == 400


def test_group_search_filters_in_the_database_by_tag_exactly_and_sop(
    web: TestClient, ws: Workspace
) -> None:
    from engine.groups import add_group
    from services.console_reads import find_groups

    now = datetime.now(UTC)
    with ws.session() as session:
        add_group(session, id="g1", name="上海 100% 群", sop_id="a", tags=["city:上海"], now=now)
        add_group(session, id="g2", name="上海二群", sop_id="b", tags=["city:上海浦东"], now=now)
        add_group(session, id="g3", name="杭州群", sop_id="a", now=now)
        session.commit()
    assert [g.id for g in find_groups(ws, tag="city:上海")[0]] == ["g1"]
    assert [g.id for g in find_groups(ws, search="100%")[0]] == ["g1"]
    assert [g.id for g in find_groups(ws, search="上海", sop_id="b")[0]] == ["g2"]
    shown, total = find_groups(ws, limit=2)
    assert ([g.id for g in shown], total) == (["g1", "g2"], 3)


def test_the_week_view_marks_posts_the_quiet_hours_moved(web: TestClient, ws: Workspace) -> None:
    from tests.support.console import T0
    from tests.support.examples import example_text, modified
    from tests.support.workspaces import in_production
    from versions import services

    def quiet_from_19(data: dict) -> None:
        data["schedule"]["quiet_hours"] = {"start": "19:00", "end": "08:00", "action": "defer"}

    in_production(ws, "mombaby-refined", now=T0)
    with_hand_posts(ws, now=datetime.now(UTC))
    text = modified(example_text("mombaby-refined"), quiet_from_19)
    services.save_version(
        ws.uow(), text=text, source="quiet.yaml", author="小王", message="静默时段",
        major=False, now=T0,
    )  # fmt: skip
    services.promote(
        ws.uow(), sop_id="mombaby-refined", version="1.1", approver="李经理",
        policy=ws.policy, now=T0,
    )  # fmt: skip
    log_in(web, "李经理")

    html = web.get(
        "/sops/mombaby-refined/week", params={"group": "g-fang", "start": "2026-09-07"}
    ).text

    assert 'class="marked"' in html
    assert "quiet_hours: deferred from 20:00" in html

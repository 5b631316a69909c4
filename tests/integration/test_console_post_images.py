"""The phone page shows the image of a hand post where the plan has one, served by the
console only for the operator's own groups and only as a JPG/PNG file inside the workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.dispatch import dispatch
from engine.groups import add_group
from services.accounts import add_user
from services.channels import build_channel, close_channels
from services.planning import plan_window
from services.workspace import Workspace
from tests.support.console import T0, client, log_in, with_accounts
from tests.support.examples import example_text, modified
from versions import services

SOP = "mombaby-refined"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _image_topic(where: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        for column in data["schedule"]["columns"]:
            if column["id"] == "afternoon-topic":
                column["days"] = "every_day"
        for template in data["templates"]:
            if template["id"] == "topic":
                template.update(msgtype="image", body=where)

    return change


def _hand_post_with_image(ws: Workspace, where: str) -> None:
    """v1.0 posts its 15:00 topic as the image `where`; 阿芳's task-list group gets today's
    and tomorrow's (written by the real task list channel)."""
    services.save_version(
        ws.uow(), text=modified(example_text(SOP), _image_topic(where)), source="m.yaml",
        author="小王", message="图片话题", major=False, now=T0,
    )  # fmt: skip
    services.promote(
        ws.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=ws.policy, now=T0
    )
    with ws.session() as session:
        add_group(
            session, id="g-fang", name="阿芳的福利群", sop_id=SOP, owner="阿芳",
            channel="tasklist", start_date=date(2026, 1, 1), now=T0,
        )  # fmt: skip
        session.commit()
    now = datetime.now(UTC)
    today = now.astimezone(ws.settings.zone).date()
    plan = plan_window(
        ws, sop_id=SOP, ref="1.0", start=today, end=today + timedelta(days=1), group_ids=["g-fang"]
    )
    topics = [a for a in plan.actions if a.slot.endswith("afternoon-topic")]
    assert len(topics) == 2 and all(a.msgtype == "image" for a in topics)
    try:
        dispatch(ws.session, build_channel("tasklist", ws), topics, now=now)
    finally:
        close_channels()


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return with_accounts(workspace)


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        yield c


def test_the_phone_page_shows_the_image_of_a_hand_post(ws: Workspace, web: TestClient) -> None:
    (ws.root / "posters").mkdir()
    (ws.root / "posters" / "topic.png").write_bytes(PNG)
    _hand_post_with_image(ws, "posters/topic.png")
    log_in(web, "阿芳")
    html = web.get("/tasks").text
    sources = re.findall(r'<img class="post-image" src="([^"]+)"', html)
    assert len(sources) == 2
    answer = web.get(sources[0].replace("&amp;", "&"))
    assert answer.status_code == 200
    assert (answer.headers["content-type"], answer.content) == ("image/png", PNG)


def test_another_operator_gets_no_image_of_a_group_not_theirs(
    ws: Workspace, web: TestClient
) -> None:
    (ws.root / "posters").mkdir()
    (ws.root / "posters" / "topic.png").write_bytes(PNG)
    _hand_post_with_image(ws, "posters/topic.png")
    log_in(web, "阿芳")
    source = re.findall(r'<img class="post-image" src="([^"]+)"', web.get("/tasks").text)[0]
    with client(ws) as other:
        log_in(other, "小王")  # a lead may see any group's image
        assert other.get(source.replace("&amp;", "&")).status_code == 200
    add_user(ws, name="阿强", role="operator", password="correct-horse-9", actor="os:test", now=T0)
    with client(ws) as other:
        log_in(other, "阿强")
        assert other.get(source.replace("&amp;", "&")).status_code == 404


@pytest.mark.parametrize("where", ["sopflow.toml", "../outside.png"])
def test_only_an_image_file_inside_the_workspace_is_served(
    ws: Workspace, web: TestClient, where: str
) -> None:
    (ws.root.parent / "outside.png").write_bytes(PNG)
    _hand_post_with_image(ws, where)
    log_in(web, "阿芳")
    sources = re.findall(r'<img class="post-image" src="([^"]+)"', web.get("/tasks").text)
    assert len(sources) == 2
    assert web.get(sources[0].replace("&amp;", "&")).status_code == 404
